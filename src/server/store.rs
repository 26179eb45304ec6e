//! The reference service's SQLite database (rusqlite, blocking): features with their generation
//! and tombstones, attachments (data as blobs, with generation and tombstones), replicas, the generation counter, the sync switch and the current (possibly
//! admin-changed) service definition. Owns the schema and every SQL statement; callers get plain
//! rows. Every write happens inside a transaction; nothing here is async and nothing here
//! decides whether an edit is allowed (that is `checks` and `apply`).

use super::definition::{GLOBAL_ID_FIELD, OBJECT_ID_FIELD, ServiceDefinition};
use crate::protocol::{
    AttachmentsSyncDirection, Attributes, Feature, Guid, QueryOption, SyncDirection, SyncModel,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// A failure of the service database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("service database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("service database holds data that is not valid JSON")]
    Json(#[from] serde_json::Error),
}

/// One stored feature or row (live or tombstone).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub object_id: i64,
    pub global_id: String,
    pub attributes: Attributes,
    pub geometry: Option<Value>,
    pub owner: String,
    /// Generation of the last change.
    pub generation: i64,
    /// Generation of the insert.
    pub created_gen: i64,
    pub deleted: bool,
}

impl StoredRow {
    /// Query-style feature JSON with OBJECTID and GlobalID set.
    pub fn into_feature(self) -> Feature {
        let mut attributes = self.attributes;
        attributes.insert(OBJECT_ID_FIELD.into(), Value::from(self.object_id));
        attributes.insert(GLOBAL_ID_FIELD.into(), Value::from(self.global_id));
        Feature {
            geometry: self.geometry,
            attributes,
        }
    }
}

/// A replica's layer: which rows it takes and (perLayer) its generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaLayerRecord {
    pub id: i64,
    pub query_option: QueryOption,
    pub where_clause: Option<String>,
    pub server_gen: i64,
}

/// A registered replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRecord {
    pub replica_id: Guid,
    pub name: String,
    pub owner: String,
    pub sync_model: SyncModel,
    pub sync_direction: SyncDirection,
    /// createReplica's `returnAttachments` (records from before attachments read false).
    #[serde(default)]
    pub return_attachments: bool,
    /// How attachments sync, fixed at create time (older records: none).
    #[serde(default = "no_attachment_sync")]
    pub attachments_sync_direction: AttachmentsSyncDirection,
    pub layers: Vec<ReplicaLayerRecord>,
    pub server_gen: i64,
    /// Schema version the replica was created against (breaking changes bump the service's).
    pub schema_version: i64,
    pub created_ms: i64,
    pub last_sync_ms: Option<i64>,
}

fn no_attachment_sync() -> AttachmentsSyncDirection {
    AttachmentsSyncDirection::None
}

/// WAL with synchronous=NORMAL: a commit is atomic and survives a crash of the process (the
/// reference service's kill tests), only a power loss may lose the last commits, which is fine
/// for a test and demo service. A 64 MB page cache holds a 100,000-edit sync without spilling.
const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
CREATE TABLE IF NOT EXISTS features (
    object_id INTEGER PRIMARY KEY,
    layer_id INTEGER NOT NULL,
    global_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    geometry TEXT,
    owner TEXT NOT NULL DEFAULT '',
    gen INTEGER NOT NULL,
    created_gen INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS features_global_id ON features(layer_id, global_id);
CREATE INDEX IF NOT EXISTS features_gen ON features(layer_id, gen);
CREATE TABLE IF NOT EXISTS attachments (
    attachment_id INTEGER PRIMARY KEY,
    layer_id INTEGER NOT NULL,
    global_id TEXT NOT NULL,
    parent_global_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB,
    gen INTEGER NOT NULL,
    created_gen INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS attachments_global_id ON attachments(layer_id, global_id);
CREATE INDEX IF NOT EXISTS attachments_gen ON attachments(layer_id, gen);
CREATE INDEX IF NOT EXISTS attachments_parent ON attachments(layer_id, parent_global_id);
CREATE TABLE IF NOT EXISTS replicas (replica_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const ROW_COLUMNS: &str =
    "object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted";

/// With the background checkpointer running, SQLite checkpoints inside a commit only when the
/// write-ahead log grows past this many pages (about 200 MB): a safety net, not the usual path.
const WAL_PAGES_BEFORE_INLINE_CHECKPOINT: i64 = 50_000;

/// The database.
pub struct Store {
    pub(crate) conn: Connection,
    /// `None` when its thread could not start: SQLite then checkpoints inside commits as usual.
    checkpointer: Option<Checkpointer>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let checkpointer = Checkpointer::start(path);
        if checkpointer.is_some() {
            conn.pragma_update(
                None,
                "wal_autocheckpoint",
                WAL_PAGES_BEFORE_INLINE_CHECKPOINT,
            )?;
        }
        Ok(Store { conn, checkpointer })
    }

    /// A large write was committed: copy the write-ahead log into the database soon, off the
    /// request's path.
    pub fn checkpoint_soon(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.nudge();
        }
    }

    /// Loads the stored definition and schema version, or stores `initial` and its seed features
    /// when the database is new. Returns the definition in effect.
    pub fn init(
        &mut self,
        initial: &ServiceDefinition,
    ) -> Result<(ServiceDefinition, i64), StoreError> {
        if let Some(text) = self.meta("definition")? {
            let def: ServiceDefinition = serde_json::from_str(&text)?;
            let version = self.meta_i64("schema_version")?.unwrap_or(1);
            return Ok((def, version));
        }
        let tx = self.conn.transaction()?;
        set_meta(&tx, "definition", &serde_json::to_string(initial)?)?;
        set_meta(&tx, "schema_version", "1")?;
        set_meta(&tx, "gen", "1")?;
        set_meta(&tx, "sync_enabled", "1")?;
        seed(&tx, initial)?;
        tx.commit()?;
        Ok((initial.clone(), 1))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()))
    }

    /// Stores a changed definition under a new schema version.
    pub fn save_definition(
        &mut self,
        def: &ServiceDefinition,
        version: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        set_meta(&tx, "definition", &serde_json::to_string(def)?)?;
        set_meta(&tx, "schema_version", &version.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn sync_enabled(&self) -> Result<bool, StoreError> {
        Ok(self.meta_i64("sync_enabled")?.unwrap_or(1) != 0)
    }

    /// Turns sync off (dropping every replica) or back on.
    pub fn set_sync_enabled(&mut self, enabled: bool) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let dropped = if enabled {
            0
        } else {
            tx.execute("DELETE FROM replicas", [])?
        };
        set_meta(&tx, "sync_enabled", if enabled { "1" } else { "0" })?;
        tx.commit()?;
        Ok(dropped)
    }

    /// The latest generation handed out.
    pub fn current_gen(&self) -> Result<i64, StoreError> {
        Ok(self.meta_i64("gen")?.unwrap_or(1))
    }

    /// Every live row of a layer, in object id order.
    #[cfg(test)]
    pub fn live_rows(&self, layer_id: i64) -> Result<Vec<StoredRow>, StoreError> {
        live_rows(&self.conn, layer_id)
    }

    /// Number of live rows of a layer.
    #[cfg(test)]
    pub fn count_live(&self, layer_id: i64) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND deleted = 0",
            [layer_id],
            |r| r.get(0),
        )?)
    }

    pub fn replica(&self, replica_id: &Guid) -> Result<Option<ReplicaRecord>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM replicas WHERE replica_id = ?1",
                [replica_id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(StoreError::from))
            .transpose()
    }

    pub fn replicas(&self) -> Result<Vec<ReplicaRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT record FROM replicas ORDER BY rowid")?;
        let texts = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(StoreError::from))
            .collect()
    }

    /// Registers a replica at a fresh generation and returns that generation.
    pub fn register_replica(&mut self, record: &mut ReplicaRecord) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        let generation = next_gen(&tx)?;
        record.server_gen = generation;
        for layer in &mut record.layers {
            layer.server_gen = generation;
        }
        put_replica(&tx, record)?;
        tx.commit()?;
        Ok(generation)
    }

    /// Removes one replica; false when it was not registered.
    pub fn delete_replica(&mut self, replica_id: &Guid) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM replicas WHERE replica_id = ?1",
            [replica_id.as_str()],
        )? > 0)
    }

    /// Removes the replicas `owner` may remove (all of them for `None`); returns how many.
    pub fn delete_replicas_of(&mut self, owner: Option<&str>) -> Result<usize, StoreError> {
        let victims: Vec<Guid> = self
            .replicas()?
            .into_iter()
            .filter(|r| owner.is_none_or(|o| r.owner == o))
            .map(|r| r.replica_id)
            .collect();
        let tx = self.conn.transaction()?;
        for id in &victims {
            tx.execute("DELETE FROM replicas WHERE replica_id = ?1", [id.as_str()])?;
        }
        tx.commit()?;
        Ok(victims.len())
    }
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Hands out the next generation (inside the caller's transaction).
pub(crate) fn next_gen(conn: &Connection) -> Result<i64, StoreError> {
    let current: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'gen'", [], |r| r.get(0))
        .optional()?;
    let next = current.and_then(|c| c.parse::<i64>().ok()).unwrap_or(1) + 1;
    set_meta(conn, "gen", &next.to_string())?;
    Ok(next)
}

pub(crate) fn put_replica(conn: &Connection, record: &ReplicaRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO replicas(replica_id, record) VALUES (?1, ?2)
         ON CONFLICT(replica_id) DO UPDATE SET record = excluded.record",
        params![record.replica_id.as_str(), serde_json::to_string(record)?],
    )?;
    Ok(())
}

/// Every live row of a layer, in object id order.
pub(crate) fn live_rows(conn: &Connection, layer_id: i64) -> Result<Vec<StoredRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM features WHERE layer_id = ?1 AND deleted = 0 ORDER BY object_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([layer_id], read_row)?;
    collect_rows(rows)
}

/// Rows (live or tombstones) changed in generations `(after, before)`, both exclusive.
pub(crate) fn changes_between(
    conn: &Connection,
    layer_id: i64,
    after: i64,
    before: i64,
) -> Result<Vec<StoredRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM features WHERE layer_id = ?1 AND gen > ?2 AND gen < ?3 ORDER BY object_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![layer_id, after, before], read_row)?;
    collect_rows(rows)
}

pub(crate) fn row_by_global_id(
    conn: &Connection,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<StoredRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted
         FROM features WHERE layer_id = ?1 AND global_id = ?2",
    )?;
    let raw = stmt
        .query_row(params![layer_id, global_id.as_str()], read_row)
        .optional()?;
    raw.map(RawRow::parse).transpose()
}

/// Copies the write-ahead log into the database file on a thread of its own, with its own
/// connection, so that the commit of a large sync does not wait for the checkpoint (SQLite runs
/// it inside the commit that crosses `wal_autocheckpoint` otherwise). A PASSIVE checkpoint never
/// blocks the service's connection. The thread ends when the [`Store`] is dropped.
struct Checkpointer {
    nudge: std::sync::mpsc::SyncSender<()>,
}

impl Checkpointer {
    /// `None` (and a warning) when the connection or the thread cannot be had.
    fn start(path: &Path) -> Option<Self> {
        let conn = match Connection::open(path) {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(%err, "no background checkpoints: cannot open the database");
                return None;
            }
        };
        // One pending nudge is enough: a checkpoint copies everything committed before it.
        let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("service-wal-checkpoint".into())
            .spawn(move || {
                for () in nudged {
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(err) = done {
                        tracing::warn!(%err, "WAL checkpoint failed");
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Checkpointer { nudge }),
            Err(err) => {
                tracing::warn!(%err, "no background checkpoints: cannot start the thread");
                None
            }
        }
    }

    fn nudge(&self) {
        // Full: a checkpoint is already pending. Disconnected: the thread is gone (it only
        // ends with the store), and SQLite's own checkpoints remain.
        let _ = self.nudge.try_send(());
    }
}

/// A row as read, before its JSON columns are parsed (parsing errors are not rusqlite's).
pub(crate) struct RawRow {
    object_id: i64,
    global_id: String,
    attributes: String,
    geometry: Option<String>,
    owner: String,
    generation: i64,
    created_gen: i64,
    deleted: bool,
}

impl RawRow {
    fn parse(self) -> Result<StoredRow, StoreError> {
        Ok(StoredRow {
            object_id: self.object_id,
            global_id: self.global_id,
            attributes: serde_json::from_str(&self.attributes)?,
            geometry: self
                .geometry
                .map(|g| serde_json::from_str::<Value>(&g))
                .transpose()?,
            owner: self.owner,
            generation: self.generation,
            created_gen: self.created_gen,
            deleted: self.deleted,
        })
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        object_id: r.get(0)?,
        global_id: r.get(1)?,
        attributes: r.get(2)?,
        geometry: r.get(3)?,
        owner: r.get(4)?,
        generation: r.get(5)?,
        created_gen: r.get(6)?,
        deleted: r.get::<_, i64>(7)? != 0,
    })
}

fn collect_rows(
    rows: impl Iterator<Item = rusqlite::Result<RawRow>>,
) -> Result<Vec<StoredRow>, StoreError> {
    rows.map(|r| r.map_err(StoreError::from).and_then(RawRow::parse))
        .collect()
}

/// Loads the definition's seed features at generation 1 (anonymous owner unless the seed names one).
/// Object ids are unique across the service (so they are the table's rowid) and numbered in
/// definition order.
fn seed(conn: &Connection, def: &ServiceDefinition) -> Result<(), StoreError> {
    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO features(layer_id, object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, 0)",
    )?;
    let mut object_id = 0_i64;
    for layer in def.all_layers() {
        for feature in &layer.seed {
            object_id += 1;
            let global_id = feature.global_id().unwrap_or_else(Guid::new_v4);
            let mut attributes = Attributes::new();
            for (name, value) in &feature.attributes {
                if let Some(field) = layer.field(name)
                    && field.name != OBJECT_ID_FIELD
                {
                    attributes.insert(field.name.clone(), value.clone());
                }
            }
            attributes.insert(GLOBAL_ID_FIELD.into(), Value::from(global_id.as_str()));
            let owner = layer
                .owner_field()
                .and_then(|f| attributes.get(f))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let geometry = feature.geometry.as_ref().map(Value::to_string);
            insert.execute(params![
                layer.id,
                object_id,
                global_id.as_str(),
                serde_json::to_string(&attributes)?,
                geometry,
                owner
            ])?;
        }
    }
    Ok(())
}

/// One stored attachment (live or tombstone), without its data.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttachment {
    pub attachment_id: i64,
    pub layer_id: i64,
    pub global_id: String,
    pub parent_global_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Generation of the last change.
    pub generation: i64,
    /// Generation of the insert.
    pub created_gen: i64,
    pub deleted: bool,
}

/// A new or replaced attachment, with its data.
pub struct AttachmentWrite<'a> {
    pub global_id: &'a str,
    pub parent_global_id: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

const ATTACHMENT_COLUMNS: &str = "attachment_id, layer_id, global_id, parent_global_id, name, content_type, size, gen, created_gen, deleted";

fn read_attachment(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAttachment> {
    Ok(StoredAttachment {
        attachment_id: r.get(0)?,
        layer_id: r.get(1)?,
        global_id: r.get(2)?,
        parent_global_id: r.get(3)?,
        name: r.get(4)?,
        content_type: r.get(5)?,
        size: r.get(6)?,
        generation: r.get(7)?,
        created_gen: r.get(8)?,
        deleted: r.get::<_, i64>(9)? != 0,
    })
}

/// An attachment by GlobalID (live or tombstone).
pub(crate) fn attachment_by_global_id(
    conn: &Connection,
    layer_id: i64,
    global_id: &Guid,
) -> Result<Option<StoredAttachment>, StoreError> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE layer_id = ?1 AND global_id = ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![layer_id, global_id.as_str()], read_attachment)
        .optional()?)
}

/// Stores a new attachment at `generation`; returns its attachment id.
pub(crate) fn insert_attachment(
    conn: &Connection,
    layer_id: i64,
    new: &AttachmentWrite<'_>,
    generation: i64,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO attachments(layer_id, global_id, parent_global_id, name, content_type, size, data, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 0)",
    )?
    .execute(params![
        layer_id,
        new.global_id,
        new.parent_global_id,
        new.name,
        new.content_type,
        new.data.len() as i64,
        new.data,
        generation
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces an attachment's name, content type and (when given) data at `generation`.
pub(crate) fn update_attachment(
    conn: &Connection,
    attachment_id: i64,
    name: &str,
    content_type: &str,
    data: Option<&[u8]>,
    generation: i64,
) -> Result<(), StoreError> {
    match data {
        Some(data) => conn
            .prepare_cached(
                "UPDATE attachments SET name = ?2, content_type = ?3, data = ?4, size = ?5, gen = ?6 WHERE attachment_id = ?1",
            )?
            .execute(params![attachment_id, name, content_type, data, data.len() as i64, generation])?,
        None => conn
            .prepare_cached(
                "UPDATE attachments SET name = ?2, content_type = ?3, gen = ?4 WHERE attachment_id = ?1",
            )?
            .execute(params![attachment_id, name, content_type, generation])?,
    };
    Ok(())
}

/// Turns an attachment into a tombstone at `generation` (its data is dropped).
pub(crate) fn delete_attachment(
    conn: &Connection,
    attachment_id: i64,
    generation: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE attachments SET deleted = 1, data = NULL, gen = ?2 WHERE attachment_id = ?1",
    )?
    .execute(params![attachment_id, generation])?;
    Ok(())
}

/// Deletes every live attachment of a deleted feature at `generation`; returns how many.
pub(crate) fn delete_attachments_of(
    conn: &Connection,
    layer_id: i64,
    parent_global_id: &str,
    generation: i64,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE attachments SET deleted = 1, data = NULL, gen = ?3
             WHERE layer_id = ?1 AND parent_global_id = ?2 AND deleted = 0",
        )?
        .execute(params![layer_id, parent_global_id, generation])?)
}

/// Every live attachment of a layer, in attachment id order.
pub(crate) fn live_attachments(
    conn: &Connection,
    layer_id: i64,
) -> Result<Vec<StoredAttachment>, StoreError> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE layer_id = ?1 AND deleted = 0 ORDER BY attachment_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([layer_id], read_attachment)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Attachments (live or tombstones) changed in generations `(after, before)`, both exclusive.
pub(crate) fn attachment_changes_between(
    conn: &Connection,
    layer_id: i64,
    after: i64,
    before: i64,
) -> Result<Vec<StoredAttachment>, StoreError> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE layer_id = ?1 AND gen > ?2 AND gen < ?3 ORDER BY attachment_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![layer_id, after, before], read_attachment)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The data of a live attachment.
pub(crate) fn attachment_data(
    conn: &Connection,
    attachment_id: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT data FROM attachments WHERE attachment_id = ?1 AND deleted = 0")?
        .query_row([attachment_id], |r| r.get::<_, Option<Vec<u8>>>(0))
        .optional()?
        .flatten())
}

/// A live attachment by its id under a layer and its parent's object id (the attachment URL).
pub(crate) fn attachment_under(
    conn: &Connection,
    layer_id: i64,
    parent_object_id: i64,
    attachment_id: i64,
) -> Result<Option<StoredAttachment>, StoreError> {
    let sql = format!(
        "SELECT {} FROM attachments a JOIN features f
           ON f.layer_id = a.layer_id AND f.global_id = a.parent_global_id
         WHERE a.layer_id = ?1 AND f.object_id = ?2 AND a.attachment_id = ?3 AND a.deleted = 0",
        ATTACHMENT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![layer_id, parent_object_id, attachment_id],
            read_attachment,
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_seeded_once_and_reopens_with_its_definition() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.sqlite");
        let def = ServiceDefinition::demo().unwrap();
        let mut store = Store::open(&path).unwrap();
        let (_, version) = store.init(&def).unwrap();
        assert_eq!(version, 1);
        let hydrants = store.count_live(0).unwrap();
        assert_eq!(hydrants, def.layer(0).unwrap().seed.len() as i64);
        drop(store);
        let mut again = Store::open(&path).unwrap();
        let (loaded, _) = again.init(&def).unwrap();
        assert_eq!(loaded, def);
        assert_eq!(again.count_live(0).unwrap(), hydrants);
        let row = &again.live_rows(3).unwrap()[0];
        assert_eq!(
            row.clone().into_feature().global_id().unwrap().as_str(),
            row.global_id
        );
    }
}
