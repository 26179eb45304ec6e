//! The restore job (ARCHITECTURE.md, "Restore from a backup"): re-applies a client reset's
//! backup onto the replica as new local changes (the blocking body is `engine::restore`'s),
//! reports [`Event::BackupRestored`] and the sync error log line, and asks the runner for a
//! sync when something was queued. One job per replica, like every job, so it never runs beside
//! a sync or a reset of the same replica. Talks to no service; the backup is only read.

use super::report::log;
use super::{Done, Failed};
use crate::engine::Deps;
use crate::engine::api::{Event, LocalReplicaId};
use crate::protocol::{Guid, JobState};

/// Restores `backup`'s changes (those of `only`, or all) onto `replica`; `sync`: then syncs.
pub(crate) async fn run(
    deps: &Deps,
    replica: LocalReplicaId,
    backup: &str,
    only: Option<Vec<Guid>>,
    sync: bool,
) -> Result<Done, Failed> {
    let report = crate::engine::restore::restore(deps, replica, backup, only).await?;
    let name = deps
        .with_store(move |s| s.replica(replica).map(|r| r.name))
        .await
        .unwrap_or_default();
    let message = format!(
        "restored from backup {}: {} change(s) queued, {} already restored, {} discarded",
        report.backup,
        report.restored.len(),
        report.already_restored.len(),
        report.discarded.len()
    );
    log(deps, Some(replica), &name, None, &message).await;
    tracing::info!(replica = %replica, backup = %report.backup, restored = report.restored.len(), "restored from a backup");
    let then_sync = sync && !report.restored.is_empty();
    deps.events.send(Event::BackupRestored { report });
    Ok(Done {
        state: Some(JobState::Completed),
        then_sync,
        ..Default::default()
    })
}
