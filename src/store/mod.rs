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
mod edit_results;
mod jobs;
mod log;
mod migrations;
mod replica_tokens;
mod replicas;
mod reset_guard;
mod reset_journal;
mod settings;

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
    pub fn is_damaged(&self) -> bool {
        match self {
            StoreError::Open { source, .. } | StoreError::Sqlite { source, .. } => {
                is_damage(source)
            }
            _ => false,
        }
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
        if !path.exists() {
            create_private_file(path)?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        store.conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        store
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        migrations::migrate(&mut store.conn, path).map_err(damaged_as_open)?;
        store.check_integrity()?;
        Ok(store)
    }

    /// `PRAGMA quick_check`: a damaged database is refused at open, before anything relies on it.
    fn check_integrity(&self) -> Result<(), StoreError> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source,
            })?;
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

/// A read or write that failed because the file is damaged or not a database is an `Open` error
/// (the one that tells the user the way out).
fn damaged_as_open(error: StoreError) -> StoreError {
    match error {
        StoreError::Sqlite { path, source } if is_damage(&source) => {
            StoreError::Open { path, source }
        }
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
