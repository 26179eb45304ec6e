//! ArcGIS mobile geodatabases (`.geodatabase`, one SQLite file per offline map) that other
//! ArcGIS apps made and sync: read, never written. Opened read-only and immutable
//! (`file:…?immutable=1`, `SQLITE_OPEN_READ_ONLY`), so a file another app is using is never
//! changed, locked or given a journal. [`read`] gives the whole [`OfflineMap`]: the replica
//! (`sync_replica.rs`), the service's definitions (`service_items.rs`), row counts and local
//! changes (`change_tracking.rs`) and the predicted refusals (`predictions.rs`).
//!
//! What it must not do: write to, lock or create anything beside the file; panic on what the
//! file holds. Every bad file is one [`MobileGeodatabaseError`] line. Blocking: call it from
//! `spawn_blocking`.

pub mod change_tracking;
pub mod predictions;
pub mod service_items;
pub mod sync_replica;
pub mod xml_tree;

use crate::model::{OfflineApp, OfflineMap};
use rusqlite::{Connection, OpenFlags};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The `GDB_ItemTypes` UUID of a "Sync Replica" item.
pub const SYNC_REPLICA_ITEM_TYPE: &str = "{5B966567-FB87-4DDE-938B-B4B37423539D}";

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Why an offline map could not be read: one line each, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum MobileGeodatabaseError {
    #[error("{path}: cannot be read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a SQLite file, so not a mobile geodatabase")]
    NotSqlite { path: PathBuf },
    #[error("{path}: a SQLite file without GDB_Items, so not an ArcGIS mobile geodatabase")]
    NoGdbItems { path: PathBuf },
    #[error(
        "{path}: a mobile geodatabase without a replica, so not a sync-enabled offline map (nothing to sync)"
    )]
    NoReplica { path: PathBuf },
    #[error("{path}: its replica definition cannot be read: {detail}")]
    BadDefinition { path: PathBuf, detail: String },
    #[error(
        "{path}: in use by another app (it is writing to it: {detail}); close that app or try again later"
    )]
    Locked { path: PathBuf, detail: String },
    #[error("{path}: SQLite could not read it: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Reads the offline map at `path` without changing it.
pub fn read(path: &Path) -> Result<OfflineMap, MobileGeodatabaseError> {
    let conn = open(path)?;
    let sql = |source: rusqlite::Error| sqlite_error(path, source);
    if !has_table(&conn, "GDB_Items").map_err(sql)? {
        return Err(MobileGeodatabaseError::NoGdbItems {
            path: path.to_path_buf(),
        });
    }
    let xml =
        replica_xml(&conn)
            .map_err(sql)?
            .ok_or_else(|| MobileGeodatabaseError::NoReplica {
                path: path.to_path_buf(),
            })?;
    let definition =
        sync_replica::parse(&xml).map_err(|e| MobileGeodatabaseError::BadDefinition {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let items = service_items::read(&conn).map_err(sql)?;
    let mut replica = definition.replica;
    let mut datasets = definition.datasets;
    let mut tracked = Vec::with_capacity(datasets.len());
    let mut earliest: Option<f64> = None;
    for dataset in &mut datasets {
        let t = change_tracking::tracked(&conn, &dataset.table).map_err(sql)?;
        if let Some(t) = &t {
            let (rows, versions) = change_tracking::row_counts(&conn, t).map_err(sql)?;
            dataset.rows = Some(rows);
            dataset.versions = Some(versions);
            if let Some(first) = change_tracking::earliest(&conn, t).map_err(sql)? {
                earliest = Some(earliest.map_or(first, |e: f64| e.min(first)));
            }
        } else if has_table(&conn, &dataset.table).map_err(sql)? {
            let n = plain_count(&conn, &dataset.table).map_err(sql)?;
            dataset.rows = Some(n);
            dataset.versions = Some(n);
        }
        tracked.push(t);
    }
    let baseline = change_tracking::baseline(earliest, replica.created_ms, replica.last_sync_ms);
    let mut predicted = Vec::new();
    for (dataset, t) in datasets.iter_mut().zip(&tracked) {
        let Some(t) = t else { continue };
        let changes = change_tracking::changes(&conn, t, baseline).map_err(sql)?;
        dataset.changes = change_tracking::count(&changes);
        if dataset.is_attachment || changes.is_empty() {
            continue;
        }
        if let (Some(service), Some(layer)) = (&items.service, items.layer(dataset.layer_id)) {
            let rules = predictions::Rules {
                service,
                layer,
                owner: &replica.owner,
                baseline,
            };
            predicted.extend(
                predictions::judge(&conn, &dataset.table, &t.key, &changes, rules).map_err(sql)?,
            );
        }
    }
    let attachments = datasets
        .iter()
        .filter(|d| d.is_attachment)
        .filter_map(|d| d.rows)
        .sum();
    let geodatabase_release = release(&conn).map_err(sql)?;
    if replica.name.is_empty() {
        replica.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(OfflineMap {
        path: path.to_path_buf(),
        made_by: made_by(path, geodatabase_release.as_deref()),
        replica,
        datasets,
        geodatabase_release,
        layer_definitions: items.layers.iter().map(|(id, _)| *id).collect(),
        has_service_definition: items.service.is_some(),
        predicted,
        attachments,
    })
}

/// The service and layer definitions the file carries (for callers that judge edits).
pub fn read_service_items(
    path: &Path,
) -> Result<service_items::ServiceItems, MobileGeodatabaseError> {
    let conn = open(path)?;
    service_items::read(&conn).map_err(|e| sqlite_error(path, e))
}

/// Opens the file read-only and immutable, after checking it is SQLite and not being written.
pub fn open(path: &Path) -> Result<Connection, MobileGeodatabaseError> {
    let io = |source| MobileGeodatabaseError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| locked_or_io(path, e))?;
    let read = read_up_to(&mut file, &mut header).map_err(io)?;
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(MobileGeodatabaseError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    drop(file);
    for suffix in ["-journal", "-wal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        if std::fs::metadata(&side).is_ok_and(|m| m.len() > 0) {
            return Err(MobileGeodatabaseError::Locked {
                path: path.to_path_buf(),
                detail: format!("its {suffix} file is not empty"),
            });
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri(path), flags).map_err(|e| sqlite_error(path, e))?;
    // The header alone does not prove a database: read the schema once.
    conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| sqlite_error(path, e))?;
    Ok(conn)
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..])? {
            0 => break,
            n => total += n,
        }
    }
    Ok(total)
}

/// `file:` URI of the path with `immutable=1` (`%`, `?` and `#` escaped).
fn uri(path: &Path) -> String {
    let mut text = path.to_string_lossy().replace('\\', "/");
    if text.as_bytes().get(1) == Some(&b':') {
        text.insert(0, '/');
    }
    let escaped = text
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    format!("file:{escaped}?immutable=1")
}

fn locked_or_io(path: &Path, e: std::io::Error) -> MobileGeodatabaseError {
    // Windows: ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION (33).
    if cfg!(windows) && matches!(e.raw_os_error(), Some(32 | 33)) {
        return MobileGeodatabaseError::Locked {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
    }
    MobileGeodatabaseError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> MobileGeodatabaseError {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => MobileGeodatabaseError::NotSqlite {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            MobileGeodatabaseError::Locked {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        }
        _ => MobileGeodatabaseError::Sqlite {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// The replica's `GPSyncReplica` XML: the "Sync Replica" item, else any item whose definition
/// is a `GPSyncReplica`.
fn replica_xml(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT Definition FROM GDB_Items WHERE Definition IS NOT NULL AND \
         (UPPER(Type) = ?1 OR Definition LIKE '%GPSyncReplica%') \
         ORDER BY UPPER(Type) = ?1 DESC, ObjectID LIMIT 1",
    )?;
    let mut rows = stmt.query([SYNC_REPLICA_ITEM_TYPE])?;
    match rows.next()? {
        Some(row) => Ok(row.get::<_, Option<String>>(0)?),
        None => Ok(None),
    }
}

/// `GDB_Version.description`, e.g. "10.4.1 Geodatabase".
fn release(conn: &Connection) -> rusqlite::Result<Option<String>> {
    if !has_table(conn, "GDB_Version")? {
        return Ok(None);
    }
    let mut stmt = conn.prepare("SELECT description FROM GDB_Version LIMIT 1")?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(row) => Ok(row.get::<_, Option<String>>(0).ok().flatten()),
        None => Ok(None),
    }
}

/// Which app made the file: ArcGIS Pro keeps its offline maps under `ArcGIS/OfflineMaps`; a
/// 10.x geodatabase elsewhere is Collector's era, a newer one Field Maps'.
fn made_by(path: &Path, release: Option<&str>) -> OfflineApp {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
        .collect();
    if parts
        .windows(2)
        .any(|w| w[0] == "arcgis" && w[1] == "offlinemaps")
    {
        return OfflineApp::ArcGisPro;
    }
    let major = release
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.trim().parse::<u32>().ok());
    match major {
        Some(m) if m > 10 => OfflineApp::FieldMaps,
        _ => OfflineApp::Collector,
    }
}

/// Whether the table (or view) exists.
pub(crate) fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table','view') AND name = ?1 COLLATE NOCASE",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The table's columns: (name, declared type).
pub(crate) fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<(String, String)>> {
    if !has_table(conn, table)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quoted(table)))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        ))
    })?;
    rows.collect()
}

fn plain_count(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {}", quoted(table)),
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// A quoted SQLite identifier.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
