//! The unregister job: gives an interrupted client reset's leftovers back, unregisters the
//! replica on its service and forgets it. The replica file stays on disk as a backup of anything
//! unsynced; the job only says where.

use super::report::{log, replica_client};
use super::{Done, Failed};
use crate::engine::Deps;
use crate::engine::api::LocalReplicaId;
use crate::geodatabase::replica_file::ReplicaFile;
use crate::protocol::JobState;

pub(super) async fn unregister(deps: &Deps, replica: LocalReplicaId) -> Result<Done, Failed> {
    let record = deps.with_store(move |s| s.replica(replica)).await?;
    super::reset::abandon_interrupted(deps, &record).await;
    if let Some(guid) = &record.replica_guid {
        let client = replica_client(deps, &record).await?;
        client.unregister_replica(guid).await?;
    }
    // The replica file stays on disk as a backup of anything unsynced; say where.
    let path = record.file_path.clone();
    let unsynced = tokio::task::spawn_blocking(move || {
        ReplicaFile::open(&path)
            .and_then(|f| f.pending_counts())
            .map(|counts| counts.iter().map(|c| c.total()).sum::<u32>())
            .unwrap_or(0)
    })
    .await
    .unwrap_or(0);
    if unsynced > 0 {
        let message = format!(
            "unregistered with {unsynced} unsynced local edit(s); they remain in {}",
            record.file_path.display()
        );
        log(deps, Some(replica), &record.name, None, &message).await;
    }
    let secrets = deps.secrets.clone();
    deps.with_store(move |s| {
        crate::engine::secrets::forget_replica_token(s, &secrets, replica);
        s.remove_replica(replica)
    })
    .await?;
    Ok(Done {
        state: Some(JobState::Completed),
        removed: true,
        ..Default::default()
    })
}
