//! The reference service's SQLite database (rusqlite, blocking): the [`ServiceDb`] handle, its
//! schema, the meta table (generation counter, sync switch, the current and possibly
//! admin-changed service definition with its schema version). The rows live in `features`,
//! `attachments` (with the reads both share in `versioned`), `replicas` and `replica_members` (`members`: what an area-filtered replica holds); `seed` loads a new
//! database's seed features; `bulk` inserts many generated rows in one transaction; `checkpointer` copies the write-ahead log off the request path.
//! Owns the schema and every SQL statement; callers get plain rows. Every write happens inside
//! a transaction; nothing here is async and nothing here decides whether an edit is allowed
//! (that is `protocol::rules`, `attachment_checks` and `apply`).

mod attachments;
mod bulk;
mod checkpointer;
mod features;
pub mod members;
mod replicas;
mod seed;
mod versioned;

pub use attachments::{
    AttachmentWrite, StoredAttachment, attachment_by_global_id, attachment_changes_between,
    attachment_data, attachment_under, delete_attachment, delete_attachments_of, insert_attachment,
    live_attachments, update_attachment,
};
pub use bulk::{Inserted, NewRow};
pub use features::{
    FeatureInsert, StoredRow, delete_feature, existing_global_ids, for_each_change_between,
    for_each_live_row, max_object_id, readable_row_by_global_id, row_by_global_id, unique_values,
    update_feature,
};
pub use replicas::{
    RegisteredReplica, ReplicaArea, ReplicaLayerRecord, delete_replica, put_replica,
};

use super::definition::ServiceDefinition;
use checkpointer::Checkpointer;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// A failure of the service database.
#[derive(Debug, thiserror::Error)]
pub enum ServiceDbError {
    #[error("service database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("service database holds data that is not valid JSON")]
    Json(#[from] serde_json::Error),
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
CREATE TABLE IF NOT EXISTS replica_members (replica_id TEXT NOT NULL, layer_id INTEGER NOT NULL, global_id TEXT NOT NULL,
    PRIMARY KEY (replica_id, layer_id, global_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// With the background checkpointer running, SQLite checkpoints inside a commit only when the
/// write-ahead log grows past this many pages (about 200 MB): a safety net, not the usual path.
const WAL_PAGES_BEFORE_INLINE_CHECKPOINT: i64 = 50_000;

/// The database.
pub struct ServiceDb {
    pub(crate) conn: Connection,
    /// `None` when its thread could not start: SQLite then checkpoints inside commits as usual.
    checkpointer: Option<Checkpointer>,
}

impl ServiceDb {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, ServiceDbError> {
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
        Ok(ServiceDb { conn, checkpointer })
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
    ) -> Result<(ServiceDefinition, i64), ServiceDbError> {
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
        seed::seed(&tx, initial)?;
        tx.commit()?;
        Ok((initial.clone(), 1))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, ServiceDbError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>, ServiceDbError> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()))
    }

    /// Stores a changed definition under a new schema version.
    pub fn save_definition(
        &mut self,
        def: &ServiceDefinition,
        version: i64,
    ) -> Result<(), ServiceDbError> {
        let tx = self.conn.transaction()?;
        set_meta(&tx, "definition", &serde_json::to_string(def)?)?;
        set_meta(&tx, "schema_version", &version.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn sync_enabled(&self) -> Result<bool, ServiceDbError> {
        Ok(self.meta_i64("sync_enabled")?.unwrap_or(1) != 0)
    }

    /// Turns sync off (dropping every replica) or back on.
    pub fn set_sync_enabled(&mut self, enabled: bool) -> Result<usize, ServiceDbError> {
        let tx = self.conn.transaction()?;
        let dropped = if enabled {
            0
        } else {
            tx.execute("DELETE FROM replica_members", [])?;
            tx.execute("DELETE FROM replicas", [])?
        };
        set_meta(&tx, "sync_enabled", if enabled { "1" } else { "0" })?;
        tx.commit()?;
        Ok(dropped)
    }

    /// The latest generation handed out.
    pub fn current_gen(&self) -> Result<i64, ServiceDbError> {
        Ok(self.meta_i64("gen")?.unwrap_or(1))
    }

    /// Every live row of a layer, in object id order.
    #[cfg(test)]
    pub fn live_rows(&self, layer_id: i64) -> Result<Vec<StoredRow>, ServiceDbError> {
        let mut rows = Vec::new();
        for_each_live_row(&self.conn, layer_id, |row| -> Result<(), ServiceDbError> {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Number of live rows of a layer.
    #[cfg(test)]
    pub fn count_live(&self, layer_id: i64) -> Result<i64, ServiceDbError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND deleted = 0",
            [layer_id],
            |r| r.get(0),
        )?)
    }
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), ServiceDbError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Hands out the next generation (inside the caller's transaction).
pub fn next_gen(conn: &Connection) -> Result<i64, ServiceDbError> {
    let current: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'gen'", [], |r| r.get(0))
        .optional()?;
    let next = current.and_then(|c| c.parse::<i64>().ok()).unwrap_or(1) + 1;
    set_meta(conn, "gen", &next.to_string())?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_seeded_once_and_reopens_with_its_definition() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.sqlite");
        let def = ServiceDefinition::demo().unwrap();
        let mut store = ServiceDb::open(&path).unwrap();
        let (_, version) = store.init(&def).unwrap();
        assert_eq!(version, 1);
        let hydrants = store.count_live(0).unwrap();
        assert_eq!(hydrants, def.layer(0).unwrap().seed.len() as i64);
        drop(store);
        let mut again = ServiceDb::open(&path).unwrap();
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
