//! The app's own state database (one SQLite file, WAL): the replica registry, job history, edit
//! results de-duplicated across syncs, the sync error log, settings, and the one-row-per-replica
//! client-reset guard and journal. Each table's calls are an `impl Store` in their own file;
//! this file opens the database, checks it and names the errors.
//!
//! Who calls it: the engine, from `spawn_blocking` (everything here is blocking rusqlite), and
//! tests. It must not touch replica files or the network, and imports its data types from
//! `model`, never from `engine`. No secret is stored here: tokens, refresh tokens and passwords
//! are the `credentials` part's; this database records only which store holds them and when they
//! expire (`accounts.rs`, `replica_tokens.rs`), and moves out tokens older versions kept here.
//! The schema is versioned with `PRAGMA user_version`; [`migrations`] lists every step.

mod accounts;
mod backups;
mod create_attempts;
mod edit_results;
mod jobs;
mod log;
mod migrations;
mod replica_tokens;
mod replicas;
mod reset_guard;
mod reset_journal;
mod settings;

pub use backups::BackupRecord;
pub use jobs::{JobFinish, JobKind, JobRecord};
pub use replicas::{NewReplica, ReplicaRecord};
pub use reset_guard::ResetGuard;
pub use reset_journal::{ResetJournal, ResetPhase};

use crate::model::LocalReplicaId;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a write waits for another syncwatch process (the GUI and a CLI command).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a store operation failed. Messages name the file last.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the app database is damaged or not a syncwatch database; it was left as it is \
         (`syncwatch repair` sets it aside and rebuilds the replica list from the replica files): {path}"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A database that may well be healthy but cannot be used now: refused access, a full
    /// disk, a directory in its place, another program holding it. Never "damaged": `repair`
    /// leaves it alone.
    #[error("cannot read or write the app database ({reason}); it was left as it is: {path}")]
    Unavailable { path: PathBuf, reason: String },
    #[error(
        "the app database was written by a newer syncwatch (schema {found}, this build knows {known}): {path}"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("could not read or write the app database: {path}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("could not create the app database: {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no replica {0} in the app database")]
    NoSuchReplica(LocalReplicaId),
    #[error("a replica named {0:?} already exists")]
    NameTaken(String),
    #[error("the app database holds unreadable JSON in {what}: {path}")]
    BadJson {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the app database holds an unknown value {value:?} for {what}: {path}")]
    BadValue {
        what: &'static str,
        value: String,
        path: PathBuf,
    },
    #[error("the client reset of replica {0} has no fresh replica to switch to")]
    IncompleteReset(LocalReplicaId),
}

impl StoreError {
    /// The file is damaged or not a database at all (as opposed to busy, missing or refused):
    /// the engine shows it as a damaged app database, with `syncwatch repair` as the way out.
    /// A permission error, a full disk or a locked file is not damage.
    pub fn is_damaged(&self) -> bool {
        match self {
            StoreError::Open { source, .. } | StoreError::Sqlite { source, .. } => {
                is_damage(source)
            }
            _ => false,
        }
    }

    /// An error of opening the database: `Open` (damaged) only when SQLite says the file is
    /// corrupt or not a database, [`StoreError::Unavailable`] for everything else.
    fn of_open(path: &Path, source: rusqlite::Error) -> StoreError {
        if is_damage(&source) {
            return StoreError::Open {
                path: path.to_path_buf(),
                source,
            };
        }
        StoreError::Unavailable {
            path: path.to_path_buf(),
            reason: sqlite_reason(&source),
        }
    }
}

/// What stops SQLite from using a file that is not damaged, in the user's words.
fn sqlite_reason(source: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    match source.sqlite_error_code() {
        Some(C::DiskFull) => "the disk is full".into(),
        Some(C::PermissionDenied | C::ReadOnly | C::CannotOpen) => {
            "permission denied, or it cannot be opened".into()
        }
        Some(C::DatabaseBusy | C::DatabaseLocked) => "another program is holding it".into(),
        Some(C::SystemIoFailure) => "a read or write of the disk failed".into(),
        _ => source.to_string().replace('\n', " "),
    }
}

/// What stops the file from being opened for reading and writing, in the user's words.
fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "a directory is in its place".into(),
        K::StorageFull => "the disk is full".into(),
        K::ReadOnlyFilesystem => "the disk is read-only".into(),
        _ => error.to_string(),
    }
}

/// Checks that an existing database file can be opened for reading and writing, before SQLite
/// opens it: SQLite's own error for refused access ("unable to open database file") says
/// neither why nor that the file is fine.
fn check_access(path: &Path) -> Result<(), StoreError> {
    let unavailable = |error: &std::io::Error| StoreError::Unavailable {
        path: path.to_path_buf(),
        reason: io_reason(error),
    };
    if std::fs::metadata(path)
        .map_err(|e| unavailable(&e))?
        .is_dir()
    {
        return Err(StoreError::Unavailable {
            path: path.to_path_buf(),
            reason: "a directory is in its place".into(),
        });
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied
                && std::fs::File::open(path).is_ok() =>
        {
            Err(StoreError::Unavailable {
                path: path.to_path_buf(),
                reason: "permission denied for writing".into(),
            })
        }
        Err(e) => Err(unavailable(&e)),
    }
}

/// SQLite's "corrupt" and "not a database" codes.
fn is_damage(source: &rusqlite::Error) -> bool {
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// The open app database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed, user-only) and migrates the app database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        match path.try_exists() {
            Ok(true) => check_access(path)?,
            Ok(false) => create_private_file(path)?,
            Err(e) => {
                return Err(StoreError::Unavailable {
                    path: path.to_path_buf(),
                    reason: io_reason(&e),
                });
            }
        }
        let open_err = |source| StoreError::of_open(path, source);
        let conn = Connection::open(path).map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        store
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(open_err)?;
        migrations::migrate(&mut store.conn, path).map_err(open_failure)?;
        store.check_integrity()?;
        Ok(store)
    }

    /// `PRAGMA quick_check`: a damaged database is refused at open, before anything relies on it.
    fn check_integrity(&self) -> Result<(), StoreError> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|source| StoreError::of_open(&self.path, source))?;
        if verdict == "ok" {
            return Ok(());
        }
        Err(StoreError::Open {
            path: self.path.clone(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(verdict),
            ),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

/// A read or write that failed while opening: damaged (an `Open` error, the one that tells the
/// user the way out) or unavailable, never the generic `Sqlite`.
fn open_failure(error: StoreError) -> StoreError {
    match error {
        StoreError::Sqlite { path, source } => StoreError::of_open(&path, source),
        other => other,
    }
}

/// Creates an empty file readable and writable by the user only (it holds the technician's data).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests;
