//! The way out of a damaged app database (`syncwatch repair`): the damaged file is renamed aside
//! (never deleted or overwritten), a new database is created, and the replica list is rebuilt
//! from the replica files under `replicas/` (each carries its service URL, replicaID and name).
//! Replica files that cannot be read are listed and left as they are. Tokens lived only in the
//! app database, so rebuilt replicas have none. Blocking; runs before any engine is started.
//! Must not touch a database that opens fine, nor one that cannot be read for another reason
//! than damage (refused access, a full disk): that one may be healthy.

use super::DataDirs;
use crate::geodatabase::replica_file::ReplicaFile;
use crate::store::{NewReplica, Store, StoreError};
use std::path::{Path, PathBuf};

/// What a repair did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepairReport {
    /// False when the app database opened fine and nothing was changed.
    pub repaired: bool,
    /// Where the damaged database was moved (with its `-wal` / `-shm` companions, if any).
    pub set_aside: Option<PathBuf>,
    /// Replicas registered again, by name.
    pub rebuilt: Vec<String>,
    /// Replica files that could not be read, with the reason; left as they are.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Repairs the app database under `data_dir` if it cannot be opened. A database written by a
/// newer syncwatch is not damaged and is refused.
pub fn repair(data_dir: &Path) -> Result<RepairReport, StoreError> {
    let dirs = DataDirs {
        root: data_dir.to_path_buf(),
    };
    let db = dirs.store_path();
    match Store::open(&db) {
        Ok(_) => {
            return Ok(RepairReport {
                repaired: false,
                set_aside: None,
                rebuilt: Vec::new(),
                unreadable: Vec::new(),
            });
        }
        // Only a database SQLite calls corrupt or not a database is set aside; one that is
        // refused (permissions, a full disk, another program) may be healthy and is left alone.
        Err(e) if e.is_damaged() => {}
        Err(other) => return Err(other),
    }
    let set_aside = set_aside(&db)?;
    let store = Store::open(&db)?;
    let mut report = RepairReport {
        repaired: true,
        set_aside: Some(set_aside),
        rebuilt: Vec::new(),
        unreadable: Vec::new(),
    };
    for file in replica_files(&dirs.replicas_dir()) {
        match register(&store, &file) {
            Ok(name) => report.rebuilt.push(name),
            Err(reason) => report.unreadable.push((file, reason)),
        }
    }
    tracing::warn!(
        rebuilt = report.rebuilt.len(),
        unreadable = report.unreadable.len(),
        "the damaged app database was set aside and the replica list rebuilt"
    );
    Ok(report)
}

/// Renames the database (and its WAL companions, which must not meet a new file of the same
/// name) to `syncwatch.db.damaged-<time>`; returns the new name.
fn set_aside(db: &Path) -> Result<PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let aside = db.with_extension(format!("db.damaged-{stamp}"));
    let io = |path: &Path, source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    for suffix in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", db.display()));
        if companion.exists() {
            let target = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&companion, &target).map_err(|e| io(&companion, e))?;
        }
    }
    std::fs::rename(db, &aside).map_err(|e| io(db, e))?;
    Ok(aside)
}

/// The `*.replica` files of the folder, in name order.
fn replica_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "replica"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Registers one replica file under its own name (or `name (2)`, … if taken).
fn register(store: &Store, file: &Path) -> Result<String, String> {
    let definition = ReplicaFile::open(file)
        .and_then(|f| f.definition())
        .map_err(|e| super::error::chain(&e))?;
    for n in 1..1000 {
        let name = if n == 1 {
            definition.name.clone()
        } else {
            format!("{} ({n})", definition.name)
        };
        match store.add_replica(&NewReplica {
            name: name.clone(),
            service_url: definition.service_url.clone(),
            replica_guid: Some(definition.replica_guid.clone()),
            file_path: file.to_path_buf(),
        }) {
            Ok(_) => return Ok(name),
            Err(StoreError::NameTaken(_)) => continue,
            Err(e) => return Err(super::error::chain(&e)),
        }
    }
    Err("no free name".into())
}
