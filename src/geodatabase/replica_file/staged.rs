//! A replica file filled with a createReplica reply's features while they are read (streamed
//! from the downloaded result, one at a time, in one transaction), before the replica's
//! definition is known: [`StagedFeatures`]. It holds the replica file's whole schema and the
//! server's copy of the features, nothing else; [`ReplicaFile::create_from_staged`] moves it to
//! its place and writes the rest (definition, layers, attachments, generations), so a replica of
//! a million features is never held in memory. A staged file holds nothing a technician made:
//! an interrupted one is simply deleted. Blocking (rusqlite).

use super::schema::{create_schema_unkeyed, key_features};
use super::server_features::object_id_of;
use super::{ReplicaFileError, create_private_file, sql_at, to_json};
use crate::protocol::{
    Attributes, ChangeType, Feature, FeatureSink, FrontRead, UnreadableFeature, read_feature,
    read_front_text,
};
use rusqlite::{Connection, OpenFlags, params};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};

/// Page cache of the staging connection (bounded: 32 MiB). Rows are appended without a key;
/// the cache is mostly the sorter's memory when the key is built at the end.
const STAGING_CACHE_KIB: i64 = 32 * 1024;

/// A replica file being filled with downloaded features; see the module docs.
pub struct StagedFeatures {
    conn: Connection,
    path: PathBuf,
    /// Removes the file when staging stops before [`StagedFeatures::finish`].
    file: StagedFile,
    stored: u64,
    skipped: u64,
}

impl StagedFeatures {
    /// Starts a staged file at `path` (which must not exist) and opens its one transaction.
    pub fn begin(path: &Path) -> Result<StagedFeatures, ReplicaFileError> {
        if path.exists() {
            return Err(ReplicaFileError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        create_private_file(path)?;
        let file = StagedFile {
            path: Some(path.to_path_buf()),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| ReplicaFileError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
        // A staged file is thrown away when anything stops it, so it needs no journal on disk;
        // one in memory (nearly empty: the file is new, and pages added after a transaction
        // begins are not journaled) lets one statement fail cleanly, as keying a download
        // that repeats a feature does (`key_features`). The finished replica file is written
        // with the usual durability. The layers are not known yet (they come after the
        // features): `create_from_staged` checks each row has one.
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = OFF; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA cache_size = -{STAGING_CACHE_KIB}; BEGIN;"
        ))
        .map_err(|e| sql_at(path, e))?;
        conn.set_prepared_statement_cache_capacity(4);
        create_schema_unkeyed(&conn, path)?;
        Ok(StagedFeatures {
            conn,
            path: path.to_path_buf(),
            file,
            stored: 0,
            skipped: 0,
        })
    }

    /// Stores one feature as the server's copy (a later one with the same GlobalID replaces it);
    /// a feature without a GlobalID is skipped, as a whole reply's would be.
    pub fn add(&mut self, layer_id: i64, feature: &Feature) -> Result<(), ReplicaFileError> {
        let geometry_json = feature.geometry.as_ref().map(to_json).transpose()?;
        self.insert(layer_id, feature, geometry_json.as_deref())
    }

    /// [`StagedFeatures::add`] for a feature's JSON text, its geometry stored as the text it
    /// came in (never parsed into values and written back: most of a polygon's bytes and
    /// time). A feature that does not read this way is read as `protocol::read_feature` reads
    /// it, so exactly the same features are stored or set aside (returned).
    pub fn add_text(
        &mut self,
        layer_id: i64,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, ReplicaFileError> {
        match serde_json::from_str::<FeatureText<'_>>(text.get()) {
            Ok(parts) if parts.is_shallow() => self.add_parts(layer_id, parts).map(|()| None),
            _ => self.add_whole(layer_id, text, list, position),
        }
    }

    /// A feature `FeatureText` did not read, read as `protocol::read_feature` reads it.
    fn add_whole(
        &mut self,
        layer_id: i64,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, ReplicaFileError> {
        match read_feature(text, list, position) {
            Ok(feature) => self.add(layer_id, &feature).map(|()| None),
            Err(skipped) => Ok(Some(skipped)),
        }
    }

    /// A feature read as its attributes and its geometry's text.
    fn add_parts(&mut self, layer_id: i64, parts: FeatureText<'_>) -> Result<(), ReplicaFileError> {
        let feature = Feature {
            geometry: None,
            attributes: parts.attributes,
        };
        self.insert(layer_id, &feature, parts.geometry.map(RawValue::get))
    }

    fn insert(
        &mut self,
        layer_id: i64,
        feature: &Feature,
        geometry_json: Option<&str>,
    ) -> Result<(), ReplicaFileError> {
        let Some(global_id) = feature.global_id() else {
            self.skipped += 1;
            return Ok(());
        };
        let attributes_json = to_json(&feature.attributes)?;
        self.conn
            .prepare_cached(
                "INSERT INTO features (layer_id, global_id, object_id, attributes_json, geometry_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    layer_id,
                    global_id.as_str(),
                    object_id_of(feature),
                    attributes_json,
                    geometry_json,
                ])
            })
            .map_err(|e| sql_at(&self.path, e))?;
        self.stored += 1;
        Ok(())
    }

    /// Features stored so far.
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Commits what was staged; the file is then ready for [`ReplicaFile::create_from_staged`].
    pub fn finish(self) -> Result<StagedFile, ReplicaFileError> {
        if self.skipped > 0 {
            tracing::warn!(
                skipped = self.skipped,
                "skipped downloaded features without a GlobalID"
            );
        }
        key_features(&self.conn, &self.path)?;
        self.conn
            .execute_batch("COMMIT;")
            .map_err(|e| sql_at(&self.path, e))?;
        drop(self.conn);
        Ok(self.file)
    }
}

/// Geometry nesting up to which the text path is sure to agree with the whole parse. Skipping
/// a value as raw text has no depth limit, but parsing it does (serde_json's 128 levels, the
/// feature's own included); real geometries nest four deep (rings, ring, point), so anything
/// deeper than this is decided by the whole parse instead.
const SHALLOW: usize = 32;

/// How deep arrays and objects nest in a JSON text (brackets inside strings not counted).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A downloaded feature with its geometry left as text.
#[derive(Deserialize)]
struct FeatureText<'a> {
    #[serde(default, borrow)]
    geometry: Option<&'a RawValue>,
    #[serde(default)]
    attributes: Attributes,
}

impl FeatureText<'_> {
    /// Whether its geometry nests no deeper than the whole parse is sure to read.
    fn is_shallow(&self) -> bool {
        self.geometry
            .is_none_or(|g| nesting_depth(g.get()) <= SHALLOW)
    }
}

impl FeatureSink for StagedFeatures {
    type Error = ReplicaFileError;
    fn feature(
        &mut self,
        layer_id: i64,
        _change: ChangeType,
        feature: Feature,
    ) -> Result<(), ReplicaFileError> {
        self.add(layer_id, &feature)
    }

    fn feature_text(
        &mut self,
        layer_id: i64,
        _change: ChangeType,
        text: &RawValue,
        list: &'static str,
        position: usize,
    ) -> Result<Option<UnreadableFeature>, ReplicaFileError> {
        self.add_text(layer_id, text, list, position)
    }

    /// Reads the feature as `FeatureText` straight from the document's bytes: one pass that
    /// both checks the JSON and finds the feature's end. Anything else (a feature that does not
    /// read so, bytes that end inside it, no JSON) is decided as by default.
    fn feature_front(
        &mut self,
        layer_id: i64,
        change: ChangeType,
        json: &[u8],
        list: &'static str,
        position: usize,
    ) -> FrontRead<ReplicaFileError> {
        let mut values = serde_json::Deserializer::from_slice(json).into_iter::<FeatureText<'_>>();
        if let Some(Ok(parts)) = values.next()
            && parts.is_shallow()
        {
            let used = values.byte_offset();
            return Ok(Some((self.add_parts(layer_id, parts).map(|()| None), used)));
        }
        read_front_text(self, layer_id, change, json, list, position)
    }
}

/// A finished staged file on disk; deleted when dropped unless it was taken into a replica file.
#[derive(Debug)]
pub struct StagedFile {
    path: Option<PathBuf>,
}

impl StagedFile {
    /// Where it is.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Moves the file to `target` (which must not exist); from then on it is not deleted.
    pub(super) fn move_to(&mut self, target: &Path) -> Result<(), ReplicaFileError> {
        let Some(from) = self.path.as_deref() else {
            return Err(ReplicaFileError::Missing {
                path: target.to_path_buf(),
            });
        };
        let io = |source| ReplicaFileError::Io {
            path: target.to_path_buf(),
            source,
        };
        if target.exists() {
            return Err(ReplicaFileError::AlreadyExists {
                path: target.to_path_buf(),
            });
        }
        if std::fs::rename(from, target).is_err() {
            // Another file system: copy, then remove the staged one.
            std::fs::copy(from, target).map_err(io)?;
            let _ = std::fs::remove_file(from);
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
