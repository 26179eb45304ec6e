//! Coalesced refreshes of predicted refusals after local edits. Judging a replica's change queue
//! takes time in proportion to the whole queue, so judging it again on every edit would make a
//! burst of N edits cost N² (10,000 scripted edits took minutes). An edit therefore only marks
//! the replica file's predictions as due ([`ReplicaFile::mark_predictions_due`]) and asks for a
//! refresh here; it runs once the replica has seen no edit for [`QUIET`], and then sends the
//! replica's summary (and its edit results when the predictions changed).
//!
//! Readers that need current predictions judge the queue themselves: edit results, `syncwatch
//! check` and every upload. The mark is on disk, so a one-shot `syncwatch edit` that exits before
//! the timer fires leaves them due for the next reader or engine start.
//!
//! Owns the timers and which replicas are syncing (for the summaries it sends); the judging is
//! the parent module's ([`super::predict_and_store`]). Never holds the app database while judging.

use crate::engine::Deps;
use crate::engine::api::LocalReplicaId;
use crate::engine::error::EngineError;
use crate::engine::job::{send_edit_results, send_summary};
use crate::geodatabase::replica_file::ReplicaFile;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tokio::time::{Duration, Instant};

/// How long a replica must go without a local edit before its predictions are judged again.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

/// Shared by the engine's tasks: refreshes waiting for their quiet period, and the replicas whose
/// job is running.
#[derive(Debug, Default)]
pub(crate) struct PredictionTimers {
    due: Mutex<HashMap<LocalReplicaId, Instant>>,
    syncing: Mutex<HashSet<LocalReplicaId>>,
}

impl PredictionTimers {
    /// The runner says when a replica's job starts and ends.
    pub(crate) fn set_syncing(&self, replica: LocalReplicaId, syncing: bool) {
        let mut set = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        if syncing {
            set.insert(replica);
        } else {
            set.remove(&replica);
        }
    }

    fn is_syncing(&self, replica: LocalReplicaId) -> bool {
        self.syncing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&replica)
    }

    /// Pushes the replica's deadline back; true when no refresh was waiting (start a timer).
    fn postpone(&self, replica: LocalReplicaId) -> bool {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        due.insert(replica, Instant::now() + QUIET).is_none()
    }

    /// `None` once the quiet period is over (the refresh is then no longer waiting), otherwise
    /// the deadline to sleep until.
    fn wait_for(&self, replica: LocalReplicaId) -> Option<Instant> {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        match due.get(&replica).copied() {
            Some(deadline) if deadline > Instant::now() => Some(deadline),
            _ => {
                due.remove(&replica);
                None
            }
        }
    }
}

/// Asks for the replica's predictions to be judged again once it has been quiet for [`QUIET`].
/// Needs a tokio runtime (every engine entry point has one).
pub(crate) fn schedule(deps: &Deps, replica: LocalReplicaId) {
    if !deps.predictions.postpone(replica) {
        return;
    }
    let deps = deps.clone();
    tokio::spawn(async move {
        while let Some(deadline) = deps.predictions.wait_for(replica) {
            tokio::time::sleep_until(deadline).await;
        }
        match refresh_if_due(&deps, replica).await {
            Ok(None) => {}
            Ok(Some(changed)) => {
                send_summary(&deps, replica, deps.predictions.is_syncing(replica)).await;
                if changed {
                    send_edit_results(&deps, replica).await;
                }
            }
            Err(e) => tracing::debug!(replica = %replica, error = %e, "predictions not refreshed"),
        }
    });
}

/// Judges the queue again if the file says its predictions are due: `None` when they were not,
/// otherwise whether the predictions changed.
async fn refresh_if_due(deps: &Deps, replica: LocalReplicaId) -> Result<Option<bool>, EngineError> {
    let path = deps
        .with_store(move |s| s.replica(replica).map(|r| r.file_path))
        .await?;
    tokio::task::spawn_blocking(move || -> Result<Option<bool>, EngineError> {
        let mut file = ReplicaFile::open(&path)?;
        if !file.predictions_due()? {
            return Ok(None);
        }
        let before = file.predicted_refusals()?;
        super::predict_and_store(&mut file)?;
        Ok(Some(file.predicted_refusals()? != before))
    })
    .await?
}
