//! Direct reads of the SQLite databases behind a test: the reference service's (`ServerDb`) and a
//! replica file's (`local_count`), read-only, to count what each side holds. Never writes.

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use syncwatch::protocol::Guid;

/// Read-only counts over the reference service's database.
pub struct ServerDb {
    conn: rusqlite::Connection,
}

impl ServerDb {
    pub fn open(path: &Path) -> ServerDb {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        ServerDb { conn }
    }

    /// Live features of `layer_id` with this GlobalID.
    pub fn count_global_id(&self, layer_id: i64, global_id: &Guid) -> i64 {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND deleted = 0
                 AND upper(global_id) = upper(?2)",
                rusqlite::params![layer_id, global_id.as_str()],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Live features anywhere whose attributes contain the text `marker` (a value we chose unique).
    pub fn count_marker(&self, marker: &str) -> i64 {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE deleted = 0 AND instr(attributes, ?1) > 0",
                [format!("\"{marker}\"")],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The attributes of a live feature, by GlobalID.
    pub fn attributes(&self, layer_id: i64, global_id: &Guid) -> Option<Value> {
        self.conn
            .query_row(
                "SELECT attributes FROM features WHERE layer_id = ?1 AND deleted = 0
                 AND upper(global_id) = upper(?2)",
                rusqlite::params![layer_id, global_id.as_str()],
                |r| r.get::<_, String>(0),
            )
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
    }

    pub fn replica_count(&self) -> i64 {
        self.conn
            .query_row("SELECT COUNT(*) FROM replicas", [], |r| r.get(0))
            .unwrap()
    }

    pub fn has_replica(&self, guid: &Guid) -> bool {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM replicas WHERE upper(replica_id) = upper(?1)
                 OR upper(replica_id) = upper(?2)",
                [guid.as_str(), guid.bare()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    }
}

/// Where one local change of a replica file stands: in the change queue, in the server version
/// (acknowledged, or downloaded back), and how many rows carry its marker text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCount {
    pub queued: i64,
    pub in_server_version: i64,
    pub marker_rows: i64,
}

impl LocalCount {
    /// Exactly once: the technician sees one feature, queued or acknowledged (a queued add whose
    /// echo was downloaded is both, and still one feature), never two.
    pub fn exactly_once(&self) -> bool {
        self.queued + self.in_server_version >= 1
            && self.queued <= 1
            && self.in_server_version <= 1
            && self.marker_rows <= self.queued + self.in_server_version
    }
}

/// Counts a change (by layer and GlobalID) and its marker text in a replica file, read-only.
pub fn local_count(path: &Path, layer_id: i64, global_id: &Guid, marker: &str) -> LocalCount {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let count = |sql: &str, param: &str| -> i64 {
        conn.query_row(sql, rusqlite::params![layer_id, param], |r| r.get(0))
            .unwrap()
    };
    let queued = count(
        "SELECT COUNT(*) FROM changes WHERE layer_id = ?1 AND upper(global_id) = upper(?2)",
        global_id.as_str(),
    );
    let in_features = count(
        "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND upper(global_id) = upper(?2)",
        global_id.as_str(),
    );
    let marker_text = format!("\"{marker}\"");
    let marker_rows = count(
        "SELECT (SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND instr(attributes_json, ?2) > 0)
              + (SELECT COUNT(*) FROM changes WHERE layer_id = ?1 AND instr(attributes_json, ?2) > 0)",
        &marker_text,
    );
    LocalCount {
        queued,
        in_server_version: in_features,
        marker_rows,
    }
}
