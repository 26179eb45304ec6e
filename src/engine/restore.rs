//! Restoring changes from a client reset's backup (ARCHITECTURE.md, "Restore from a backup"):
//! [`Command::ListBackups`](super::api::Command::ListBackups) and
//! [`Command::PreviewBackup`](super::api::Command::PreviewBackup), answered with
//! [`Event::BackupsListed`] and [`Event::BackupPreviewed`], and the blocking body of the restore
//! job ([`restore`], run by `job`'s restore job, one job per replica like every other).
//!
//! What it must not do: write, lock or delete anything in a backup folder (a backup is read
//! through its export only), touch the network, or run rusqlite outside `spawn_blocking`.

use super::Deps;
use super::api::{BackupInfo, BackupPreview, CommandId, Event, LocalReplicaId, RestoreReport};
use super::error::{EngineError, chain};
use super::reset::backups::{self, Owner};
use super::reset::restore as rules;
use crate::geodatabase::replica_file::ReplicaFile;
use crate::protocol::Guid;
use crate::store::ReplicaRecord;

/// The replica's backups, newest first (an unreadable folder is listed with its reason).
pub(crate) async fn list(
    deps: &Deps,
    replica: LocalReplicaId,
) -> Result<(ReplicaRecord, Vec<BackupInfo>), EngineError> {
    let (record, recorded) = deps
        .with_store(move |s| Ok((s.replica(replica)?, s.backups(replica)?)))
        .await?;
    let owner = Owner {
        local_id: replica,
        name: record.name.clone(),
        file_path: record.file_path.clone(),
    };
    let root = deps.dirs.recovery_dir();
    let listed =
        tokio::task::spawn_blocking(move || backups::list(&root, &owner, &recorded)).await?;
    Ok((record, listed))
}

/// The listed backup `text` names (folder name or path); a readable one only.
fn chosen(
    record: &ReplicaRecord,
    listed: &[BackupInfo],
    text: &str,
) -> Result<BackupInfo, EngineError> {
    let Some(found) = backups::find(listed, text) else {
        return Err(EngineError::Unsupported(format!(
            "replica {:?} has no backup {text:?} (see `syncwatch backups {}`)",
            record.name, record.name
        )));
    };
    if let Some(why) = &found.unreadable {
        return Err(EngineError::Unsupported(format!(
            "the backup {} cannot be read: {why}",
            found.name
        )));
    }
    Ok(found.clone())
}

/// Sends [`Event::BackupsListed`], or the command's `CommandFailed`.
pub(crate) async fn answer_list(deps: Deps, command: Option<CommandId>, replica: LocalReplicaId) {
    match list(&deps, replica).await {
        Ok((_, backups)) => deps.events.send(Event::BackupsListed { replica, backups }),
        Err(e) => super::job::answer_failed(&deps, command, "list backups", &e),
    }
}

/// Sends [`Event::BackupPreviewed`], or the command's `CommandFailed`.
pub(crate) async fn answer_preview(
    deps: Deps,
    command: Option<CommandId>,
    replica: LocalReplicaId,
    backup: String,
) {
    match preview(&deps, replica, &backup).await {
        Ok(preview) => deps.events.send(Event::BackupPreviewed {
            preview: Box::new(preview),
        }),
        Err(e) => super::job::answer_failed(&deps, command, "preview the backup", &e),
    }
}

/// A backup's changes, each with what restoring it would do to the replica now. Reads only.
pub(crate) async fn preview(
    deps: &Deps,
    replica: LocalReplicaId,
    backup: &str,
) -> Result<BackupPreview, EngineError> {
    let (record, listed) = list(deps, replica).await?;
    let info = chosen(&record, &listed, backup)?;
    let policy = deps.with_store(move |s| s.conflict_policy(replica)).await?;
    let path = record.file_path.clone();
    tokio::task::spawn_blocking(move || -> Result<BackupPreview, EngineError> {
        let export = backups::read_export(&info.dir).map_err(unsupported)?;
        let file = ReplicaFile::open(&path)?;
        let plan = rules::plan(&file, &export, policy, None).map_err(restore_error)?;
        Ok(BackupPreview {
            replica,
            backup: info,
            changes: plan.changes,
            attachments: plan.attachments,
        })
    })
    .await?
}

/// The restore job's body: re-applies the chosen changes of the backup onto the replica file
/// in one transaction, by the recovery rules and the replica's conflict policy.
pub(crate) async fn restore(
    deps: &Deps,
    replica: LocalReplicaId,
    backup: &str,
    only: Option<Vec<Guid>>,
) -> Result<RestoreReport, EngineError> {
    let (record, listed) = list(deps, replica).await?;
    if let Some(reason) = &record.reset_reason {
        return Err(EngineError::Unsupported(format!(
            "replica {:?} needs a client reset first ({reason}); restore onto it after the reset",
            record.name
        )));
    }
    if record.replica_guid.is_none() {
        return Err(EngineError::NotCreated { replica });
    }
    let info = chosen(&record, &listed, backup)?;
    let policy = deps.with_store(move |s| s.conflict_policy(replica)).await?;
    let path = record.file_path.clone();
    let name = info.name.clone();
    tokio::task::spawn_blocking(move || -> Result<RestoreReport, EngineError> {
        let export = backups::read_export(&info.dir).map_err(unsupported)?;
        let mut file = ReplicaFile::open(&path)?;
        let plan =
            rules::restore(&mut file, &export, policy, only.as_deref()).map_err(restore_error)?;
        let mut report = RestoreReport::new(replica, name);
        for change in plan.changes.iter().chain(&plan.attachments) {
            report.push(change.outcome, rules::outcome_of(change));
        }
        Ok(report)
    })
    .await?
}

fn unsupported(e: backups::BackupReadError) -> EngineError {
    EngineError::Unsupported(format!("the backup cannot be read: {}", chain(&e)))
}

fn restore_error(e: rules::RestoreError) -> EngineError {
    match e {
        rules::RestoreError::Replica(e) => EngineError::ReplicaFile(e),
        other => EngineError::Unsupported(chain(&other)),
    }
}
