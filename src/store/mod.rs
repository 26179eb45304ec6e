//! The app's own state database (one SQLite file, WAL): the replica registry, job history, edit
//! results de-duplicated across syncs, the sync error log, settings, and the one-row-per-replica
//! client-reset guard and journal.
//!
//! Who calls it: the engine, from `spawn_blocking` (everything here is blocking rusqlite), and
//! tests. It must not touch replica files or the network. Tokens are stored here (the file is
//! user-only on unix) and never logged: [`ReplicaRecord`]'s `Debug` hides them.
//! The schema is versioned with `PRAGMA user_version`; [`migrations`] lists every step.

mod migrations;
mod reset_journal;

pub use reset_journal::{ResetJournal, ResetPhase};

use crate::engine::api::{
    EditResultRecord, JobId, LocalReplicaId, LogEntry, PredictedPolicy, ResetMode,
};
use crate::protocol::{ChangeType, EditResultRow, Guid, ObjectType};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a write waits for another syncwatch process (the GUI and a CLI command).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Setting key of the auto-sync interval.
const AUTO_SYNC_KEY: &str = "auto_sync_interval_secs";
/// Log lines kept; older ones are pruned when new ones are written.
const MAX_LOG_ENTRIES: i64 = 5_000;

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

/// One replica syncwatch holds.
#[derive(Clone, PartialEq)]
pub struct ReplicaRecord {
    pub local_id: LocalReplicaId,
    pub name: String,
    pub service_url: String,
    /// Never logged; `Debug` prints `<hidden>`.
    pub token: Option<String>,
    /// The server's replicaID, once created.
    pub replica_guid: Option<Guid>,
    pub file_path: PathBuf,
    pub reset_mode: ResetMode,
    pub paused: bool,
    /// Why the replica needs a client reset, if it does.
    pub reset_required: Option<String>,
    /// The last job's failure, cleared by a successful sync.
    pub last_error: Option<String>,
    pub last_success_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub created_ms: i64,
}

impl std::fmt::Debug for ReplicaRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaRecord")
            .field("local_id", &self.local_id)
            .field("name", &self.name)
            .field("service_url", &self.service_url)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("replica_guid", &self.replica_guid)
            .field("file_path", &self.file_path)
            .field("reset_mode", &self.reset_mode)
            .field("paused", &self.paused)
            .field("reset_required", &self.reset_required)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// What registering a replica needs.
#[derive(Clone)]
pub struct NewReplica {
    pub name: String,
    pub service_url: String,
    pub token: Option<String>,
    pub replica_guid: Option<Guid>,
    pub file_path: PathBuf,
}

/// What a job was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Create,
    Sync,
    Unregister,
    Reset,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Create => "create",
            JobKind::Sync => "sync",
            JobKind::Unregister => "unregister",
            JobKind::Reset => "reset",
        }
    }
}

/// How a job ended, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFinish {
    /// `Completed`, `CompletedWithErrors` or `Failed`.
    pub state: String,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub error: Option<String>,
}

/// One job of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub job_id: JobId,
    pub local_id: LocalReplicaId,
    pub kind: String,
    pub direction: Option<String>,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub state: Option<String>,
    pub uploaded: u32,
    pub downloaded: u32,
    pub failed_edits: u32,
    pub error: Option<String>,
}

/// The reset guard of one replica (DESIGN §3): written before a reset, cleared after the first
/// successful sync, so a reset can never loop.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetGuard {
    pub local_id: LocalReplicaId,
    pub mode: ResetMode,
    pub at_ms: i64,
    pub reason: String,
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

fn reset_mode_text(mode: ResetMode) -> &'static str {
    match mode {
        ResetMode::RecoverOrDiscard => "recover-or-discard",
        ResetMode::Recover => "recover",
        ResetMode::Discard => "discard",
        ResetMode::Manual => "manual",
    }
}

fn parse_reset_mode(text: &str) -> ResetMode {
    match text {
        "recover" => ResetMode::Recover,
        "discard" => ResetMode::Discard,
        "manual" => ResetMode::Manual,
        _ => ResetMode::RecoverOrDiscard,
    }
}

/// Setting key of a replica's predicted-refusal policy.
fn predicted_policy_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.predicted_policy", local_id.0)
}

/// Key of an edit result: failures by code, successes as 0, a failure without a code as -1.
fn code_key(row: &EditResultRow) -> i64 {
    match (row.success, row.code) {
        (true, _) => 0,
        (false, Some(code)) => code,
        (false, None) => -1,
    }
}

const REPLICA_COLUMNS: &str = "local_id, name, service_url, token, replica_guid, file_path,
    reset_mode, paused, reset_required, last_error, last_success_ms, last_attempt_ms, created_ms";

fn replica_from_row(r: &rusqlite::Row) -> rusqlite::Result<ReplicaRecord> {
    let guid: Option<String> = r.get(4)?;
    let mode: String = r.get(6)?;
    let file_path: String = r.get(5)?;
    Ok(ReplicaRecord {
        local_id: LocalReplicaId(r.get(0)?),
        name: r.get(1)?,
        service_url: r.get(2)?,
        token: r.get(3)?,
        replica_guid: guid.and_then(|g| Guid::parse(&g).ok()),
        file_path: PathBuf::from(file_path),
        reset_mode: parse_reset_mode(&mode),
        paused: r.get(7)?,
        reset_required: r.get(8)?,
        last_error: r.get(9)?,
        last_success_ms: r.get(10)?,
        last_attempt_ms: r.get(11)?,
        created_ms: r.get(12)?,
    })
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

    /// Registers a replica; names are unique.
    pub fn add_replica(&self, replica: &NewReplica) -> Result<LocalReplicaId, StoreError> {
        if self.find_replica(&replica.name)?.is_some() {
            return Err(StoreError::NameTaken(replica.name.clone()));
        }
        self.conn
            .execute(
                "INSERT INTO replicas (name, service_url, token, replica_guid, file_path,
                     reset_mode, paused, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'recover-or-discard', 0, ?6)",
                params![
                    replica.name,
                    replica.service_url,
                    replica.token,
                    replica.replica_guid.as_ref().map(Guid::as_str),
                    replica.file_path.to_string_lossy(),
                    now_ms(),
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(LocalReplicaId(self.conn.last_insert_rowid()))
    }

    /// Every registered replica, by local id.
    pub fn replicas(&self) -> Result<Vec<ReplicaRecord>, StoreError> {
        let sql = format!("SELECT {REPLICA_COLUMNS} FROM replicas ORDER BY local_id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], replica_from_row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// One replica.
    pub fn replica(&self, local_id: LocalReplicaId) -> Result<ReplicaRecord, StoreError> {
        let sql = format!("SELECT {REPLICA_COLUMNS} FROM replicas WHERE local_id = ?1");
        self.conn
            .query_row(&sql, [local_id.0], replica_from_row)
            .optional()
            .map_err(|e| self.sql(e))?
            .ok_or(StoreError::NoSuchReplica(local_id))
    }

    /// The replica with this name, or this server replicaID (braced or not, any case).
    pub fn find_replica(&self, name_or_guid: &str) -> Result<Option<ReplicaRecord>, StoreError> {
        let all = self.replicas()?;
        if let Some(r) = all.iter().find(|r| r.name == name_or_guid) {
            return Ok(Some(r.clone()));
        }
        let Ok(guid) = Guid::parse(name_or_guid) else {
            return Ok(None);
        };
        Ok(all
            .into_iter()
            .find(|r| r.replica_guid.as_ref() == Some(&guid)))
    }

    fn update_replica(
        &self,
        local_id: LocalReplicaId,
        set_sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let sql = format!("UPDATE replicas SET {set_sql} WHERE local_id = ?1");
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&local_id.0];
        all.extend_from_slice(values);
        let changed = self
            .conn
            .execute(&sql, all.as_slice())
            .map_err(|e| self.sql(e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchReplica(local_id));
        }
        Ok(())
    }

    /// Records the server replicaID and file once the replica exists.
    pub fn set_replica_file(
        &self,
        local_id: LocalReplicaId,
        replica_guid: &Guid,
        file_path: &Path,
    ) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "replica_guid = ?2, file_path = ?3",
            &[&replica_guid.as_str(), &file_path.to_string_lossy()],
        )
    }

    /// Sets where the replica's file lives (decided when the replica is registered).
    pub fn set_replica_path(
        &self,
        local_id: LocalReplicaId,
        file_path: &Path,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "file_path = ?2", &[&file_path.to_string_lossy()])
    }

    /// Records the server replicaID once the replica exists.
    pub fn set_replica_guid(
        &self,
        local_id: LocalReplicaId,
        replica_guid: &Guid,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "replica_guid = ?2", &[&replica_guid.as_str()])
    }

    /// Forgets a replica and everything recorded about it.
    pub fn remove_replica(&mut self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for table in ["edit_results", "jobs", "reset_guard", "reset_journal"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE local_id = ?1"),
                [local_id.0],
            )
            .map_err(sql)?;
        }
        tx.execute(
            "UPDATE event_log SET local_id = NULL WHERE local_id = ?1",
            [local_id.0],
        )
        .map_err(sql)?;
        tx.execute(
            "DELETE FROM settings WHERE key = ?1",
            [predicted_policy_key(local_id)],
        )
        .map_err(sql)?;
        let removed = tx
            .execute("DELETE FROM replicas WHERE local_id = ?1", [local_id.0])
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        if removed == 0 {
            return Err(StoreError::NoSuchReplica(local_id));
        }
        Ok(())
    }

    pub fn set_paused(&self, local_id: LocalReplicaId, paused: bool) -> Result<(), StoreError> {
        self.update_replica(local_id, "paused = ?2", &[&paused])
    }

    /// Points every replica of the service at `from_url` to `to_url` (a loopback demo service that
    /// moved to another port). Returns the replicas changed.
    pub fn repoint_service(
        &self,
        from_url: &str,
        to_url: &str,
    ) -> Result<Vec<LocalReplicaId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "UPDATE replicas SET service_url = ?2 WHERE service_url = ?1 RETURNING local_id",
            )
            .map_err(|e| self.sql(e))?;
        let ids = stmt
            .query_map([from_url, to_url], |r| r.get(0).map(LocalReplicaId))
            .map_err(|e| self.sql(e))?;
        ids.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    pub fn set_reset_mode(
        &self,
        local_id: LocalReplicaId,
        mode: ResetMode,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "reset_mode = ?2", &[&reset_mode_text(mode)])
    }

    /// Marks (Some) or clears (None) "needs a client reset".
    pub fn set_reset_required(
        &self,
        local_id: LocalReplicaId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_replica(local_id, "reset_required = ?2", &[&reason])
    }

    /// Records a sync attempt and its error (None when it succeeded).
    pub fn record_attempt(
        &self,
        local_id: LocalReplicaId,
        at_ms: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "last_attempt_ms = ?2, last_error = ?3",
            &[&at_ms, &error],
        )
    }

    /// Records a successful sync (clears the last error).
    pub fn record_success(&self, local_id: LocalReplicaId, at_ms: i64) -> Result<(), StoreError> {
        self.update_replica(
            local_id,
            "last_attempt_ms = ?2, last_success_ms = ?2, last_error = NULL",
            &[&at_ms],
        )
    }

    /// Starts a job in the history.
    pub fn start_job(
        &self,
        local_id: LocalReplicaId,
        kind: JobKind,
        direction: Option<&str>,
    ) -> Result<JobId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO jobs (local_id, kind, direction, started_ms) VALUES (?1, ?2, ?3, ?4)",
                params![local_id.0, kind.as_str(), direction, now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(JobId(self.conn.last_insert_rowid()))
    }

    /// A queued job starts running now (its duration counts from here).
    pub fn mark_job_running(&self, job_id: JobId) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE jobs SET started_ms = ?2 WHERE job_id = ?1",
                params![job_id.0, now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Finishes a job; returns its duration in milliseconds.
    pub fn finish_job(&self, job_id: JobId, finish: &JobFinish) -> Result<i64, StoreError> {
        let finished = now_ms();
        self.conn
            .execute(
                "UPDATE jobs SET finished_ms = ?2, state = ?3, uploaded = ?4, downloaded = ?5,
                     failed_edits = ?6, error = ?7 WHERE job_id = ?1",
                params![
                    job_id.0,
                    finished,
                    finish.state,
                    finish.uploaded,
                    finish.downloaded,
                    finish.failed_edits,
                    finish.error,
                ],
            )
            .map_err(|e| self.sql(e))?;
        let started: i64 = self
            .conn
            .query_row(
                "SELECT started_ms FROM jobs WHERE job_id = ?1",
                [job_id.0],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(finished - started)
    }

    /// The replica's latest finished jobs, newest first.
    pub fn jobs(&self, local_id: LocalReplicaId, limit: u32) -> Result<Vec<JobRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT job_id, local_id, kind, direction, started_ms, finished_ms, state,
                     uploaded, downloaded, failed_edits, error
                 FROM jobs WHERE local_id = ?1 ORDER BY job_id DESC LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![local_id.0, limit], |r| {
                Ok(JobRecord {
                    job_id: JobId(r.get(0)?),
                    local_id: LocalReplicaId(r.get(1)?),
                    kind: r.get(2)?,
                    direction: r.get(3)?,
                    started_ms: r.get(4)?,
                    finished_ms: r.get(5)?,
                    state: r.get(6)?,
                    uploaded: r.get(7)?,
                    downloaded: r.get(8)?,
                    failed_edits: r.get(9)?,
                    error: r.get(10)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Records one sync's edit results. A failure seen again bumps its attempt count and last-seen
    /// time; a success clears the earlier failures of that feature.
    pub fn record_edit_results(
        &mut self,
        local_id: LocalReplicaId,
        job_id: JobId,
        rows: &[(EditResultRow, String)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for (row, layer_name) in rows {
            let gid = row
                .global_id
                .as_ref()
                .map(|g| g.as_str().to_string())
                .unwrap_or_default();
            if row.success && !gid.is_empty() {
                tx.prepare_cached(
                    "DELETE FROM edit_results WHERE local_id = ?1 AND layer_id = ?2
                         AND global_id = ?3 AND code_key != 0",
                )
                .and_then(|mut statement| statement.execute(params![local_id.0, row.layer_id, gid]))
                .map_err(sql)?;
            }
            tx.prepare_cached(
                "INSERT INTO edit_results (local_id, layer_id, global_id, code_key, layer_name,
                     object_id, object_type, change_type, success, code, description,
                     first_seen_ms, last_seen_ms, attempts, last_job_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, 1, ?13)
                 ON CONFLICT (local_id, layer_id, global_id, code_key) DO UPDATE SET
                     layer_name = excluded.layer_name,
                     object_id = COALESCE(excluded.object_id, object_id),
                     change_type = excluded.change_type, description = excluded.description,
                     last_seen_ms = excluded.last_seen_ms, attempts = attempts + 1,
                     last_job_id = excluded.last_job_id",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    local_id.0,
                    row.layer_id,
                    gid,
                    code_key(row),
                    layer_name,
                    row.object_id,
                    row.object_type.code(),
                    row.change_type.code(),
                    row.success,
                    row.code,
                    row.description.as_deref().unwrap_or_default(),
                    at_ms,
                    job_id.0,
                ])
            })
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Forgets the failures of one feature (its edit was dropped).
    pub fn clear_edit_results(
        &self,
        local_id: LocalReplicaId,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM edit_results WHERE local_id = ?1 AND layer_id = ?2 AND global_id = ?3
                     AND code_key != 0",
                params![local_id.0, layer_id, global_id.as_str()],
            )
            .map_err(|e| self.sql(e))
    }

    /// The replica's edit results: failures first (newest first), then successes.
    pub fn edit_results(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Vec<EditResultRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, layer_name, object_id, global_id, object_type, change_type,
                     success, code, description, first_seen_ms, last_seen_ms, attempts
                 FROM edit_results WHERE local_id = ?1
                 ORDER BY success, last_seen_ms DESC, layer_id, global_id",
            )
            .map_err(|e| self.sql(e))?;
        let mut texts = SharedTexts::default();
        let rows = stmt
            .query_map([local_id.0], |r| {
                let gid: String = r.get(3)?;
                Ok(EditResultRecord {
                    layer_id: r.get(0)?,
                    layer_name: texts.get(r.get_ref(1)?.as_str()?),
                    object_id: r.get(2)?,
                    global_id: Guid::parse(&gid).ok(),
                    object_type: ObjectType::from_code(r.get(4)?).unwrap_or(ObjectType::Feature),
                    change_type: ChangeType::from_code(r.get(5)?).unwrap_or(ChangeType::Update),
                    success: r.get(6)?,
                    code: r.get(7)?,
                    description: texts.get(r.get_ref(8)?.as_str()?),
                    first_seen_ms: r.get(9)?,
                    last_seen_ms: r.get(10)?,
                    attempts: r.get(11)?,
                    predicted: false,
                    attachment: None,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Number of distinct features with failed edits, per layer.
    pub fn failed_edit_counts(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Vec<(i64, u32)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, COUNT(DISTINCT global_id) FROM edit_results
                 WHERE local_id = ?1 AND success = 0 GROUP BY layer_id ORDER BY layer_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([local_id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Appends a line to the sync error log (and prunes the oldest beyond the limit).
    pub fn log(&self, entry: &LogEntry) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO event_log (at_ms, local_id, replica_name, code, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    entry.at_ms,
                    entry.replica.map(|r| r.0),
                    entry.replica_name,
                    entry.code,
                    entry.message
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.conn
            .execute(
                "DELETE FROM event_log WHERE id <= (SELECT MAX(id) FROM event_log) - ?1",
                [MAX_LOG_ENTRIES],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest log lines, oldest first.
    pub fn recent_log(&self, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at_ms, local_id, replica_name, code, message FROM
                   (SELECT * FROM event_log ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(LogEntry {
                    at_ms: r.get(0)?,
                    replica: r.get::<_, Option<i64>>(1)?.map(LocalReplicaId),
                    replica_name: r.get(2)?,
                    code: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// A setting's text.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Sets (Some) or removes (None) a setting.
    pub fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => self
                .conn
                .execute("DELETE FROM settings WHERE key = ?1", [key]),
        }
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// What this replica's syncs do with predicted refusals (`Send` unless set).
    pub fn predicted_policy(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<PredictedPolicy, StoreError> {
        Ok(self
            .setting(&predicted_policy_key(local_id))?
            .and_then(|v| PredictedPolicy::parse(&v))
            .unwrap_or_default())
    }

    pub fn set_predicted_policy(
        &self,
        local_id: LocalReplicaId,
        policy: PredictedPolicy,
    ) -> Result<(), StoreError> {
        self.replica(local_id)?;
        self.set_setting(&predicted_policy_key(local_id), Some(policy.as_str()))
    }

    /// The auto-sync interval; `None` when auto-sync is off.
    pub fn auto_sync_interval_secs(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .setting(AUTO_SYNC_KEY)?
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|secs| *secs > 0))
    }

    pub fn set_auto_sync_interval_secs(
        &self,
        interval_secs: Option<u64>,
    ) -> Result<(), StoreError> {
        let text = interval_secs.map(|s| s.to_string());
        self.set_setting(AUTO_SYNC_KEY, text.as_deref())
    }

    /// Writes the reset guard before a reset (replacing an older one).
    pub fn set_reset_guard(&self, guard: &ResetGuard) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO reset_guard (local_id, mode, at_ms, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (local_id) DO UPDATE SET mode = excluded.mode,
                     at_ms = excluded.at_ms, reason = excluded.reason",
                params![
                    guard.local_id.0,
                    reset_mode_text(guard.mode),
                    guard.at_ms,
                    guard.reason
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    pub fn reset_guard(&self, local_id: LocalReplicaId) -> Result<Option<ResetGuard>, StoreError> {
        self.conn
            .query_row(
                "SELECT mode, at_ms, reason FROM reset_guard WHERE local_id = ?1",
                [local_id.0],
                |r| {
                    let mode: String = r.get(0)?;
                    Ok(ResetGuard {
                        local_id,
                        mode: parse_reset_mode(&mode),
                        at_ms: r.get(1)?,
                        reason: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Clears the guard (after the first successful sync following a reset).
    pub fn clear_reset_guard(&self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM reset_guard WHERE local_id = ?1", [local_id.0])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}

/// A read or write that failed because the file is damaged or not a database is an `Open` error
/// (the one that tells the user the way out).
fn damaged_as_open(error: StoreError) -> StoreError {
    match error {
        StoreError::Sqlite { path, source }
            if matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            StoreError::Open { path, source }
        }
        other => other,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Creates an empty file readable and writable by the user only (it holds tokens).
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

/// One shared copy of each distinct text (layer names, server messages) while loading rows.
#[derive(Default)]
struct SharedTexts(std::collections::HashSet<Arc<str>>);

impl SharedTexts {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}
