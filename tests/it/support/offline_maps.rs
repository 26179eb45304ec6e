//! ArcGIS offline maps for the tests: the two real mobile geodatabases Collector made
//! (`tests/data/mobile-geodatabase/`), copies of them in temp dirs, and the ways tests change a
//! copy: the replica XML in another ArcGIS version's spelling, a replica pointing at a test
//! service, and local adds, updates and deletes written the way ArcGIS's change tracking
//! records them. Expected values come from plain rusqlite queries, never from syncwatch's reader.
//!
//! It must never write to the real files: only to copies.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

pub const SYNC_REPLICA_TYPE: &str = "{5B966567-FB87-4DDE-938B-B4B37423539D}";
/// `gdb_to_date` of a current row: julianday('9999-12-31 23:59:59').
pub const OPEN: f64 = 5373484.49998843;

/// The real files: (file, its feature-class table).
pub fn real_files() -> Vec<(PathBuf, &'static str)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mobile-geodatabase");
    vec![
        (
            dir.join("collector-homesites-2017a.geodatabase"),
            "Homesites",
        ),
        (
            dir.join("collector-homesites-2017b.geodatabase"),
            "homesites",
        ),
    ]
}

/// A copy of `file` in `dir` (writable, for the test to change).
pub fn copy_into(file: &Path, dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    std::fs::copy(file, &target).unwrap();
    let mut perms = std::fs::metadata(&target).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&target, perms).unwrap();
    target
}

/// The bytes and modification time of a file, to compare before and after a read.
pub fn fingerprint(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let bytes = std::fs::read(path).unwrap();
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    (bytes, mtime)
}

/// Opens a file read-only (immutable) for the expected values.
pub fn read_only(path: &Path) -> Connection {
    Connection::open_with_flags(
        format!("file:{}?immutable=1", path.display()),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap()
}

/// The replica's XML, as stored.
pub fn replica_xml(conn: &Connection) -> String {
    conn.query_row(
        "SELECT Definition FROM GDB_Items WHERE Type = ?1",
        [SYNC_REPLICA_TYPE],
        |r| r.get(0),
    )
    .unwrap()
}

/// The text of every `<tag …>text</tag>` in `xml`, in order (a plain string search).
pub fn texts(xml: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let Some(end) = after.find(&close) else { break };
        out.push(after[gt + 1..end].to_string());
        rest = &after[end..];
    }
    out
}

/// Current rows of a table, by its change-tracking columns.
pub fn current_rows(conn: &Connection, table: &str) -> u64 {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM \"{table}\" WHERE gdb_to_date > 5000000"),
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// Rewrites the replica XML of the copy at `path` with `rewrite`.
pub fn rewrite_xml(path: &Path, rewrite: impl FnOnce(&str) -> String) {
    let conn = Connection::open(path).unwrap();
    let xml = replica_xml(&conn);
    conn.execute(
        "UPDATE GDB_Items SET Definition = ?1 WHERE Type = ?2",
        rusqlite::params![rewrite(&xml), SYNC_REPLICA_TYPE],
    )
    .unwrap();
}

/// The other spelling ArcGIS writes: `<typens:GPSyncReplica …>` with double quotes, prefixed
/// children and no `xsi:type` on the generations.
pub fn other_spelling(xml: &str) -> String {
    let mut s = xml.replace(" xsi:type='xs:long'", "").replace('\'', "\"");
    s = s.replacen(
        "<GPSyncReplica xsi:type=\"typens:GPSyncReplica\" ",
        "<typens:GPSyncReplica ",
        1,
    );
    s = s.replacen(
        "xmlns:typens=\"http://www.esri.com/schemas/ArcGIS/10.4\">",
        "xmlns:typens=\"http://www.esri.com/schemas/ArcGIS/10.4\" xsi:type=\"typens:GPSyncReplica\">",
        1,
    );
    s = s.replacen(
        "xmlns:typens=\"http://www.esri.com/schemas/ArcGIS/10.3\">",
        "xmlns:typens=\"http://www.esri.com/schemas/ArcGIS/10.3\" xsi:type=\"typens:GPSyncReplica\">",
        1,
    );
    for tag in ["ReplicaName", "ReplicaID", "ServiceName", "Owner"] {
        s = s
            .replace(&format!("<{tag}>"), &format!("<typens:{tag}>"))
            .replace(&format!("</{tag}>"), &format!("</typens:{tag}>"));
    }
    s.replace("</GPSyncReplica>", "</typens:GPSyncReplica>")
}

/// Points the copy's replica at `service_url` with `replica_id` (braced GUID text).
pub fn point_at(path: &Path, service_url: &str, replica_id: &str) {
    rewrite_xml(path, |xml| {
        let old_url = texts(xml, "ServiceName").remove(0);
        let old_id = texts(xml, "ReplicaID").remove(0);
        xml.replace(&old_url, service_url)
            .replace(&old_id, replica_id)
    });
}

/// A Julian day `days_after` the table's latest `gdb_from_date` (after the download).
fn later(conn: &Connection, table: &str, days_after: f64) -> f64 {
    let latest: f64 = conn
        .query_row(
            &format!("SELECT MAX(gdb_from_date) FROM \"{table}\""),
            [],
            |r| r.get(0),
        )
        .unwrap();
    latest.max(2457800.0) + days_after
}

/// The columns of a table but `gdb_archive_oid`.
fn data_columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .filter(|c| c != "gdb_archive_oid")
        .collect()
}

/// Writes local changes into the copy's `table` as ArcGIS's change tracking does (closing the
/// current version and inserting a new one dated now; a delete only closes): `updates` rows get
/// a new version (the first with `climatic_zone = bad_zone` when given), `deletes` rows are
/// closed, `adds` new rows are inserted, and one add that is deleted again (counts as nothing).
/// Esri's spatial-index triggers are dropped in the copy first (their functions exist only in
/// ArcGIS). Returns the GlobalIDs (updated, deleted, added).
pub fn write_changes(
    path: &Path,
    table: &str,
    updates: usize,
    deletes: usize,
    adds: usize,
    bad_zone: Option<i64>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let conn = Connection::open(path).unwrap();
    let triggers: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1")
            .unwrap();
        stmt.query_map([table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for t in triggers {
        conn.execute(&format!("DROP TRIGGER \"{t}\""), []).unwrap();
    }
    let now = later(&conn, table, 2.0);
    let gids: Vec<String> = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT GlobalID FROM \"{table}\" WHERE gdb_to_date > 5000000 ORDER BY OBJECTID"
            ))
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let cols = data_columns(&conn, table);
    let list = cols
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let select_new = |overrides: &[(&str, String)]| {
        cols.iter()
            .map(|c| {
                overrides
                    .iter()
                    .find(|(name, _)| name == c)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| format!("\"{c}\""))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let updated: Vec<String> = gids[..updates].to_vec();
    for (i, gid) in updated.iter().enumerate() {
        conn.execute(
            &format!("UPDATE \"{table}\" SET gdb_to_date = ?1 WHERE GlobalID = ?2 AND gdb_to_date > 5000000"),
            rusqlite::params![now, gid],
        )
        .unwrap();
        let zone = match (i, bad_zone) {
            (0, Some(z)) => z.to_string(),
            _ => "\"climatic_zone\"".into(),
        };
        let sql = format!(
            "INSERT INTO \"{table}\" ({list}) SELECT {} FROM \"{table}\" WHERE GlobalID = ?2 AND gdb_to_date = ?1",
            select_new(&[
                ("gdb_from_date", "?1".into()),
                ("gdb_to_date", OPEN.to_string()),
                ("climatic_zone", zone),
                ("quad_name", "'edited'".into()),
            ])
        );
        conn.execute(&sql, rusqlite::params![now, gid]).unwrap();
    }
    let deleted: Vec<String> = gids[updates..updates + deletes].to_vec();
    for gid in &deleted {
        conn.execute(
            &format!("UPDATE \"{table}\" SET gdb_to_date = ?1 WHERE GlobalID = ?2 AND gdb_to_date > 5000000"),
            rusqlite::params![now, gid],
        )
        .unwrap();
    }
    let template = gids.last().unwrap().clone();
    let max_oid: i64 = conn
        .query_row(&format!("SELECT MAX(OBJECTID) FROM \"{table}\""), [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut added = Vec::new();
    for i in 0..=adds {
        let gid = format!("{{{}}}", uuid::Uuid::new_v4().to_string().to_uppercase());
        // the last one is added and deleted again before any sync
        let to = if i == adds { now + 0.5 } else { OPEN };
        let sql = format!(
            "INSERT INTO \"{table}\" ({list}) SELECT {} FROM \"{table}\" WHERE GlobalID = ?2 AND gdb_to_date > 5000000",
            select_new(&[
                ("OBJECTID", (max_oid + 1 + i as i64).to_string()),
                ("GlobalID", "?3".into()),
                ("gdb_from_date", "?1".into()),
                ("gdb_to_date", to.to_string()),
            ])
        );
        conn.execute(&sql, rusqlite::params![now, template, gid])
            .unwrap();
        if i < adds {
            added.push(gid);
        }
    }
    (updated, deleted, added)
}
