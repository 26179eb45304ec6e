//! The replica file's format: its tables ([`SCHEMA`], [`ATTACHMENT_SCHEMA`]), its version
//! history ([`FORMAT_VERSION`]), the triggers that keep the queue's counts and mark the
//! predictions due, writing a new file's first content and migrating an older file in place.
//!
//! What it must not do: change or drop anything queued when migrating (a step only adds tables,
//! columns and triggers), or open a file whose format it does not know.

use super::attachments;
use super::conflicts::CONFLICT_SCHEMA;
use super::definition::{ReplicaDefinition, store_generations};
use super::server_features::upsert_server_feature;
use super::{AttachmentSetup, ReplicaFile, ReplicaFileError, sql_at, to_json};
use crate::protocol::{FeatureServiceInfo, LayerInfo, ReplicaResponse};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Marks a SQLite file as a syncwatch replica file (stored in `meta`).
const FORMAT_MARKER: &str = "syncwatch-replica";

/// Schema version of replica files written by this build. 1: features and changes;
/// 2: attachments and attachment changes; 3: the editor and predicted refusals;
/// 4: the queue's counts kept by triggers; 5: the conflicts table. Older files are migrated when
/// opened.
pub(super) const FORMAT_VERSION: i64 = 5;
/// What version 3 adds to a version 2 file.
const EDITOR_AND_PREDICTIONS: &str = "
    ALTER TABLE definition ADD COLUMN editor TEXT;
    ALTER TABLE changes ADD COLUMN predicted_code INTEGER;
    ALTER TABLE changes ADD COLUMN predicted_text TEXT;
    ALTER TABLE changes ADD COLUMN predicted_revision INTEGER;
";
/// What version 4 adds: the queue's counts per layer, kept by triggers in the same transaction as
/// every change to the queue, so a summary (built after every local edit and sync step) reads a
/// few rows instead of counting a queue that may hold tens of thousands of changes. (No `OR
/// IGNORE` inside: a trigger takes the conflict policy of the statement that fired it.)
fn queue_counts_sql() -> String {
    // Adds (`+`) or takes away (`-`) one change row's contribution (`NEW` or `OLD`).
    let count = |sign: &str, row: &str| {
        format!(
            "UPDATE queue_counts SET
                adds = adds {sign} ({row}.kind = 'add'),
                updates = updates {sign} ({row}.kind = 'update'),
                deletes = deletes {sign} ({row}.kind = 'delete'),
                failed = failed {sign} ({row}.state = 'failed'),
                predicted = predicted {sign} COALESCE({row}.state <> 'failed'
                    AND {row}.predicted_code IS NOT NULL
                    AND {row}.predicted_revision = {row}.revision, 0)
            WHERE layer_id = {row}.layer_id;"
        )
    };
    let ensure_row = "INSERT INTO queue_counts (layer_id) SELECT NEW.layer_id
        WHERE NOT EXISTS (SELECT 1 FROM queue_counts WHERE layer_id = NEW.layer_id);";
    let (add_new, take_old) = (count("+", "NEW"), count("-", "OLD"));
    format!(
        "CREATE TABLE IF NOT EXISTS queue_counts (
            layer_id INTEGER PRIMARY KEY,
            adds INTEGER NOT NULL DEFAULT 0,
            updates INTEGER NOT NULL DEFAULT 0,
            deletes INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            predicted INTEGER NOT NULL DEFAULT 0
        );
        CREATE TRIGGER IF NOT EXISTS queue_counts_insert AFTER INSERT ON changes BEGIN
            {ensure_row} {add_new}
        END;
        CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON changes BEGIN
            {take_old}
        END;
        CREATE TRIGGER IF NOT EXISTS queue_counts_update
        AFTER UPDATE OF layer_id, kind, state, predicted_code, predicted_revision, revision
        ON changes BEGIN
            {take_old} {ensure_row} {add_new}
        END;"
    )
}
/// Also version 4: any change to the queue makes the stored predictions due (judged again by the
/// next reader), in the same transaction, so no writer can forget it.
const PREDICTIONS_DUE_ON_CHANGE: &str = "
    CREATE TRIGGER IF NOT EXISTS predictions_due_insert AFTER INSERT ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
    CREATE TRIGGER IF NOT EXISTS predictions_due_update
    AFTER UPDATE OF kind, attributes_json, geometry_json, revision, state ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
    CREATE TRIGGER IF NOT EXISTS predictions_due_delete AFTER DELETE ON changes BEGIN
        DELETE FROM meta WHERE key = 'predictions';
        INSERT INTO meta (key, value) VALUES ('predictions', 'due');
    END;
";
/// Fills the counts of a file migrated to version 4 from the queue it already holds.
const COUNT_EXISTING_QUEUE: &str = "
    DELETE FROM queue_counts;
    INSERT INTO queue_counts (layer_id, adds, updates, deletes, failed, predicted)
    SELECT layer_id, SUM(kind = 'add'), SUM(kind = 'update'), SUM(kind = 'delete'),
        SUM(state = 'failed'),
        SUM(COALESCE(state <> 'failed' AND predicted_code IS NOT NULL
            AND predicted_revision = revision, 0))
    FROM changes GROUP BY layer_id;
";

/// Creates every table and trigger of the current format in an empty file.
pub(super) fn create_schema(conn: &Connection, path: &Path) -> Result<(), ReplicaFileError> {
    create_schema_unkeyed(conn, path)?;
    conn.execute_batch(FEATURES_KEY)
        .map_err(|e| sql_at(path, e))
}

/// [`create_schema`] without the server copy's key ([`FEATURES_KEY`]): the features of a
/// download are appended in the order they come, then keyed once by [`key_features`] (building
/// the index from sorted keys, not a million inserts into it in random GlobalID order).
pub(super) fn create_schema_unkeyed(
    conn: &Connection,
    path: &Path,
) -> Result<(), ReplicaFileError> {
    conn.execute_batch(SCHEMA)
        .and_then(|()| conn.execute_batch(&queue_counts_sql()))
        .and_then(|()| conn.execute_batch(PREDICTIONS_DUE_ON_CHANGE))
        .and_then(|()| conn.execute_batch(ATTACHMENT_SCHEMA))
        .and_then(|()| conn.execute_batch(CONFLICT_SCHEMA))
        .map_err(|e| sql_at(path, e))
}

/// Keys a server copy filled by [`create_schema_unkeyed`]. A feature that came more than once
/// (a later copy replaces an earlier one, as in a reply read whole) keeps only its last row.
pub(super) fn key_features(conn: &Connection, path: &Path) -> Result<(), ReplicaFileError> {
    match conn.execute_batch(FEATURES_KEY) {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            conn.execute_batch(
                "DELETE FROM features WHERE rowid NOT IN
                     (SELECT max(rowid) FROM features GROUP BY layer_id, global_id);",
            )
            .and_then(|()| conn.execute_batch(FEATURES_KEY))
            .map_err(|e| sql_at(path, e))
        }
        other => other.map_err(|e| sql_at(path, e)),
    }
}

/// Staged features were stored before the layers were known: each must belong to one.
fn check_staged_layers(conn: &Connection, path: &Path) -> Result<(), ReplicaFileError> {
    let stray: Option<i64> = conn
        .query_row(
            "SELECT DISTINCT layer_id FROM features
             WHERE layer_id NOT IN (SELECT layer_id FROM layers) LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| sql_at(path, e))?;
    match stray {
        Some(layer_id) => Err(ReplicaFileError::UnknownLayer { layer_id }),
        None => Ok(()),
    }
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE definition (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    service_url TEXT NOT NULL,
    replica_guid TEXT NOT NULL,
    name TEXT NOT NULL,
    sync_model TEXT NOT NULL,
    direction TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    replica_server_gen INTEGER,
    service_info_json TEXT,
    editor TEXT
);
CREATE TABLE layers (
    layer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    query_json TEXT NOT NULL,
    server_gen INTEGER,
    layer_info_json TEXT
);
CREATE TABLE features (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    object_id INTEGER,
    attributes_json TEXT NOT NULL,
    geometry_json TEXT
);
CREATE TABLE changes (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'update', 'delete')),
    attributes_json TEXT NOT NULL,
    geometry_json TEXT,
    before_json TEXT,
    upload_gen INTEGER,
    uploaded_revision INTEGER,
    uploaded_json TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'failed')),
    error_code INTEGER,
    error_text TEXT,
    edited_ms INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    predicted_code INTEGER,
    predicted_text TEXT,
    predicted_revision INTEGER,
    PRIMARY KEY (layer_id, global_id)
);
";

/// The server copy's key: one row per feature of a layer. (Files before this build declare it
/// as the table's `PRIMARY KEY`, which is the same unique index under another name.)
const FEATURES_KEY: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS features_key ON features (layer_id, global_id);";

/// The attachment tables, added in version 2 (also run on version 1 files when they are opened).
const ATTACHMENT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS attachments (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    parent_global_id TEXT NOT NULL,
    attachment_id INTEGER,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (layer_id, global_id)
);
CREATE INDEX IF NOT EXISTS attachments_parent ON attachments(layer_id, parent_global_id);
CREATE TABLE IF NOT EXISTS attachment_changes (
    layer_id INTEGER NOT NULL REFERENCES layers(layer_id),
    global_id TEXT NOT NULL,
    parent_global_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'update', 'delete')),
    name TEXT,
    content_type TEXT,
    size INTEGER,
    data BLOB,
    upload_gen INTEGER,
    uploaded_revision INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'failed')),
    error_code INTEGER,
    error_text TEXT,
    edited_ms INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (layer_id, global_id)
);
";
impl ReplicaFile {
    /// Brings an older file up to [`FORMAT_VERSION`] in one transaction: the tables and columns
    /// it lacks are added, nothing existing is touched, so queued edits are kept as they are.
    pub(super) fn migrate(&mut self, from: i64) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        // Another process may have migrated it while we waited for the lock.
        let found: i64 = tx
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| sql_at(&path, e))?;
        if found != from {
            return Ok(());
        }
        if from < 2 {
            tx.execute_batch(ATTACHMENT_SCHEMA)
                .map_err(|e| sql_at(&path, e))?;
        }
        if from < 3 {
            tx.execute_batch(EDITOR_AND_PREDICTIONS)
                .map_err(|e| sql_at(&path, e))?;
        }
        if from < 4 {
            tx.execute_batch(&queue_counts_sql())
                .and_then(|()| tx.execute_batch(PREDICTIONS_DUE_ON_CHANGE))
                .and_then(|()| tx.execute_batch(COUNT_EXISTING_QUEUE))
                .map_err(|e| sql_at(&path, e))?;
        }
        if from < 5 {
            tx.execute_batch(CONFLICT_SCHEMA)
                .map_err(|e| sql_at(&path, e))?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'version'",
            [FORMAT_VERSION.to_string()],
        )
        .map_err(|e| sql_at(&path, e))?;
        tx.commit().map_err(|e| sql_at(&path, e))?;
        tracing::info!(path = %path.display(), from, to = FORMAT_VERSION, "replica file migrated");
        Ok(())
    }

    /// The file's format version, checked to be one this build reads.
    pub(super) fn check_format(&self) -> Result<i64, ReplicaFileError> {
        let marker: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|source| match source {
                rusqlite::Error::SqliteFailure(ref e, _)
                    if e.code == rusqlite::ErrorCode::NotADatabase
                        || e.code == rusqlite::ErrorCode::DatabaseCorrupt =>
                {
                    ReplicaFileError::Corrupt {
                        path: self.path.clone(),
                        source,
                    }
                }
                other => ReplicaFileError::NotAReplicaFile {
                    path: self.path.clone(),
                    reason: other.to_string(),
                },
            })?;
        if marker.as_deref() != Some(FORMAT_MARKER) {
            return Err(ReplicaFileError::NotAReplicaFile {
                path: self.path.clone(),
                reason: "no format marker".into(),
            });
        }
        let version: i64 = self
            .conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.sql(e))?;
        if version > FORMAT_VERSION {
            return Err(ReplicaFileError::TooNew {
                path: self.path.clone(),
                found: version,
            });
        }
        Ok(version)
    }

    /// Writes a new file's first content; `staged`: the file already holds the schema and the
    /// features (`StagedFeatures`), `response` only the rest.
    pub(super) fn write_initial(
        &mut self,
        staged: bool,
        definition: &ReplicaDefinition,
        response: &ReplicaResponse,
        service_info: Option<&FeatureServiceInfo>,
        layer_infos: &[LayerInfo],
        setup: &AttachmentSetup<'_>,
    ) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        if !staged {
            create_schema(&tx, &path)?;
        }
        attachments::store_direction(&tx, &path, setup.direction)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('format', ?1), ('version', ?2)",
            params![FORMAT_MARKER, FORMAT_VERSION.to_string()],
        )
        .map_err(|e| sql_at(&path, e))?;
        let service_info_json = service_info.map(to_json).transpose()?;
        tx.execute(
            "INSERT INTO definition (singleton, service_url, replica_guid, name, sync_model,
                 direction, created_ms, replica_server_gen, service_info_json)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)",
            params![
                definition.service_url,
                definition.replica_guid.as_str(),
                definition.name,
                definition.sync_model.as_str(),
                definition.direction.as_str(),
                definition.created_ms,
                service_info_json,
            ],
        )
        .map_err(|e| sql_at(&path, e))?;
        for layer in &definition.layers {
            let info = layer_infos.iter().find(|i| i.id == Some(layer.layer_id));
            tx.execute(
                "INSERT INTO layers (layer_id, name, query_json, server_gen, layer_info_json)
                 VALUES (?1, ?2, ?3, NULL, ?4)",
                params![
                    layer.layer_id,
                    layer.name,
                    to_json(&layer.query)?,
                    info.map(to_json).transpose()?,
                ],
            )
            .map_err(|e| sql_at(&path, e))?;
        }
        let mut stored = 0;
        for layer in &response.layers {
            for feature in &layer.features {
                upsert_server_feature(&tx, &path, layer.id, feature, true)?;
            }
            let items: Vec<_> = layer.attachments.iter().collect();
            attachments::apply_download(
                &tx,
                &path,
                layer.id,
                &items,
                &[],
                setup.payloads,
                &mut stored,
            )?;
        }
        if staged {
            check_staged_layers(&tx, &path)?;
        }
        store_generations(&tx, &path, response)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }
}
