//! The job history: one row per create, sync, unregister or reset job, started when it is
//! queued and finished with its counts and error. The replica's history plot reads it.

use super::{Store, StoreError};
use crate::model::{JobId, LocalReplicaId, now_ms, text_enum};
use rusqlite::params;

/// What a job was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Create,
    Sync,
    Unregister,
    Reset,
    Restore,
}

text_enum!(JobKind {
    Create => "create",
    Sync => "sync",
    Unregister => "unregister",
    Reset => "reset",
    Restore => "restore",
});

/// How a job ended, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFinish {
    /// `Completed`, `CompletedWithErrors`, `Failed`, `Cancelled` (dropped before it ran) or
    /// `AwaitingConfirmation` (a manual reset waiting for the user).
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

impl Store {
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
}
