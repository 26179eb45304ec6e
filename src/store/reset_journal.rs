//! The client-reset journal: one row per replica while a reset runs, rewritten after each step,
//! so a reset killed at any point is resumed (after the switch) or restarted cleanly (before it)
//! by the next run. The switch to the fresh replica file and the `Switched` phase are written in
//! one transaction. Blocking rusqlite, like the rest of the store; the decisions are the engine's.

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, ResetMode, ResetReport, text_enum};
use crate::protocol::Guid;
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};

/// How far a client reset got. Each phase is stored *before* the step whose leftovers it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetPhase {
    /// Started: the replica is marked as needing a reset; the backup is being made. The old file
    /// is untouched.
    BackingUp,
    /// The backup (`backup_dir`) is written and verified.
    BackedUp,
    /// A fresh replica is being requested (`strategy` and `fresh_path` are set). The server may
    /// create it before its replicaID reaches us.
    Creating,
    /// The fresh replica exists on the server (`fresh_guid`); its file is being written and
    /// replayed onto under a temporary name. The registry still points at the old file.
    Created,
    /// The registry points at the fresh file (written in the same transaction as this phase);
    /// the old file still has to move into the backup folder and the old server replica to go.
    Switched,
}

text_enum!(ResetPhase {
    BackingUp => "backing-up",
    BackedUp => "backed-up",
    Creating => "creating",
    Created => "created",
    Switched => "switched",
});

/// A client reset that has started and not yet finished.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetJournal {
    pub local_id: LocalReplicaId,
    /// The mode the reset runs in (after the reset guard's decision; `Manual` once confirmed).
    pub mode: ResetMode,
    /// The automatic strategy being tried (`Recover` or `Discard`), once one is.
    pub strategy: Option<ResetMode>,
    pub reason: String,
    /// Whether the replica needed a reset before this one started (a reset the technician asked
    /// for on a healthy replica gives the mark back if it falls back to manual).
    pub required_before: bool,
    pub phase: ResetPhase,
    /// How many times this reset has been started (1 = never interrupted).
    pub attempts: u32,
    pub started_ms: i64,
    /// The replica file and server replicaID the reset replaces.
    pub old_path: PathBuf,
    pub old_guid: Option<Guid>,
    pub backup_dir: Option<PathBuf>,
    pub fresh_path: Option<PathBuf>,
    pub fresh_guid: Option<Guid>,
    /// What the reset reports once switched.
    pub report: Option<ResetReport>,
}

const JOURNAL_COLUMNS: &str = "local_id, mode, strategy, reason, required_before, phase, attempts,
    started_ms, old_path, old_guid, backup_dir, fresh_path, fresh_guid, report_json";

fn path_text(path: &Option<PathBuf>) -> Option<String> {
    path.as_ref().map(|p| p.to_string_lossy().into_owned())
}

impl Store {
    /// Starts a reset: writes its journal and marks the replica as needing a reset (keeping an
    /// earlier reason), in one transaction, so an interrupted reset is never mistaken for a
    /// healthy replica.
    pub fn begin_reset(&mut self, journal: &ResetJournal) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_at(&path, e))?;
        let changed = tx
            .execute(
                "UPDATE replicas SET reset_required = COALESCE(reset_required, ?2) WHERE local_id = ?1",
                params![journal.local_id.0, journal.reason],
            )
            .map_err(|e| sql_at(&path, e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchReplica(journal.local_id));
        }
        write_journal(&tx, &path, journal)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Records the reset's progress (replacing the previous step).
    pub fn update_reset(&self, journal: &ResetJournal) -> Result<(), StoreError> {
        write_journal(&self.conn, &self.path, journal)
    }

    /// The reset journal of a replica, if a reset is running or was interrupted.
    pub fn reset_journal(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Option<ResetJournal>, StoreError> {
        let sql = format!("SELECT {JOURNAL_COLUMNS} FROM reset_journal WHERE local_id = ?1");
        let row = self
            .conn
            .query_row(&sql, [local_id.0], journal_columns)
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|columns| columns.into_journal(&self.path))
            .transpose()
    }

    /// Every unfinished reset.
    pub fn reset_journals(&self) -> Result<Vec<ResetJournal>, StoreError> {
        let sql = format!("SELECT {JOURNAL_COLUMNS} FROM reset_journal ORDER BY local_id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], journal_columns)
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        rows.into_iter()
            .map(|columns| columns.into_journal(&self.path))
            .collect()
    }

    /// The reset is over (finished, or fallen back to manual): forget its journal.
    pub fn end_reset(&self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM reset_journal WHERE local_id = ?1",
                [local_id.0],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The reset's commit point, in one transaction: the replica now lives in the journal's
    /// `fresh_path` under its `fresh_guid`, no longer needs a reset, the old replica's edit
    /// results are gone (recovered edits are queued again in the new file), and the journal is
    /// at [`ResetPhase::Switched`] with its report.
    pub fn switch_replica_file(&mut self, journal: &ResetJournal) -> Result<(), StoreError> {
        let path = self.path.clone();
        let (Some(file_path), Some(guid)) = (&journal.fresh_path, &journal.fresh_guid) else {
            return Err(StoreError::IncompleteReset(journal.local_id));
        };
        let switched = ResetJournal {
            phase: ResetPhase::Switched,
            ..journal.clone()
        };
        let tx = self.conn.transaction().map_err(|e| sql_at(&path, e))?;
        let changed = tx
            .execute(
                "UPDATE replicas SET file_path = ?2, replica_guid = ?3, reset_required = NULL, last_error = NULL
                 WHERE local_id = ?1",
                params![journal.local_id.0, file_path.to_string_lossy(), guid.as_str()],
            )
            .map_err(|e| sql_at(&path, e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchReplica(journal.local_id));
        }
        tx.execute(
            "DELETE FROM edit_results WHERE local_id = ?1",
            [journal.local_id.0],
        )
        .map_err(|e| sql_at(&path, e))?;
        write_journal(&tx, &path, &switched)?;
        tx.commit().map_err(|e| sql_at(&path, e))
    }
}

fn sql_at(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn bad_report(path: &Path, source: serde_json::Error) -> StoreError {
    StoreError::BadJson {
        what: "the reset report",
        path: path.to_path_buf(),
        source,
    }
}

fn write_journal(
    conn: &rusqlite::Connection,
    path: &Path,
    j: &ResetJournal,
) -> Result<(), StoreError> {
    let report_json = j
        .report
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|source| bad_report(path, source))?;
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO reset_journal ({JOURNAL_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            j.local_id.0,
            j.mode.as_str(),
            j.strategy.map(ResetMode::as_str),
            j.reason,
            j.required_before,
            j.phase.as_str(),
            j.attempts,
            j.started_ms,
            j.old_path.to_string_lossy(),
            j.old_guid.as_ref().map(|g| g.as_str().to_string()),
            path_text(&j.backup_dir),
            path_text(&j.fresh_path),
            j.fresh_guid.as_ref().map(|g| g.as_str().to_string()),
            report_json,
        ],
    )
    .map_err(|e| sql_at(path, e))?;
    Ok(())
}

/// A journal row as stored, before its text is checked.
struct JournalColumns {
    local_id: i64,
    mode: String,
    strategy: Option<String>,
    reason: String,
    required_before: bool,
    phase: String,
    attempts: u32,
    started_ms: i64,
    old_path: String,
    old_guid: Option<String>,
    backup_dir: Option<String>,
    fresh_path: Option<String>,
    fresh_guid: Option<String>,
    report_json: Option<String>,
}

fn journal_columns(r: &rusqlite::Row) -> rusqlite::Result<JournalColumns> {
    Ok(JournalColumns {
        local_id: r.get(0)?,
        mode: r.get(1)?,
        strategy: r.get(2)?,
        reason: r.get(3)?,
        required_before: r.get(4)?,
        phase: r.get(5)?,
        attempts: r.get(6)?,
        started_ms: r.get(7)?,
        old_path: r.get(8)?,
        old_guid: r.get(9)?,
        backup_dir: r.get(10)?,
        fresh_path: r.get(11)?,
        fresh_guid: r.get(12)?,
        report_json: r.get(13)?,
    })
}

impl JournalColumns {
    fn into_journal(self, path: &Path) -> Result<ResetJournal, StoreError> {
        let report = self
            .report_json
            .as_deref()
            .map(serde_json::from_str::<ResetReport>)
            .transpose()
            .map_err(|source| bad_report(path, source))?;
        let phase = ResetPhase::parse(&self.phase).ok_or_else(|| StoreError::BadValue {
            what: "the reset phase",
            value: self.phase.clone(),
            path: path.to_path_buf(),
        })?;
        Ok(ResetJournal {
            local_id: LocalReplicaId(self.local_id),
            mode: ResetMode::parse(&self.mode).unwrap_or_default(),
            strategy: self
                .strategy
                .as_deref()
                .map(|text| ResetMode::parse(text).unwrap_or_default()),
            reason: self.reason,
            required_before: self.required_before,
            phase,
            attempts: self.attempts,
            started_ms: self.started_ms,
            old_path: PathBuf::from(self.old_path),
            old_guid: self.old_guid.and_then(|g| Guid::parse(&g).ok()),
            backup_dir: self.backup_dir.map(PathBuf::from),
            fresh_path: self.fresh_path.map(PathBuf::from),
            fresh_guid: self.fresh_guid.and_then(|g| Guid::parse(&g).ok()),
            report,
        })
    }
}
