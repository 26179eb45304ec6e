//! A create killed mid-way (SIGKILL, power loss) leaves a registered replica with no replicaID
//! ("(not created)"), the createReplica attempts it recorded, perhaps a replica on the service
//! and perhaps a written replica file. Running the same create again picks that entry up: the
//! replicas those attempts registered are given back (matched by their attempt's own service
//! name, never by the technician's name, which another laptop may share), a leftover file is
//! moved aside, and the create starts over. Owns [`CreateLock`], which keeps two syncwatch
//! processes from working on the same create at once. Must not touch a replica that has a
//! replicaID, nor any replica another attempt made.

use crate::engine::error::{EngineError, chain};
use crate::engine::{Deps, now_ms, private_fs};
use crate::model::LocalReplicaId;
use crate::service::{CreateAttempt, FeatureServiceClient};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// An exclusive lock on a replica's create, held by the create job while it runs (a lock file
/// next to the replica file). The operating system releases it when the process dies, so a
/// killed create never blocks the next one; a live one makes the next one wait its turn.
pub(crate) struct CreateLock {
    path: PathBuf,
    _file: File,
}

impl CreateLock {
    /// Takes the lock of the create whose replica file will be `replica_path`.
    pub fn take(replica_path: &Path, name: &str) -> Result<CreateLock, EngineError> {
        let path = lock_path(replica_path);
        let io = |source| EngineError::Io {
            path: path.clone(),
            source,
        };
        let file = private_fs::create_file(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(CreateLock { path, _file: file }),
            Err(TryLockError::WouldBlock) => Err(EngineError::Unsupported(format!(
                "the replica {name:?} is being created by another syncwatch right now; \
                 wait for it to finish"
            ))),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }
}

impl Drop for CreateLock {
    fn drop(&mut self) {
        // Removed while still held; the lock itself goes with the file handle.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock_path(replica_path: &Path) -> PathBuf {
    let mut name = replica_path.as_os_str().to_owned();
    name.push(".creating");
    PathBuf::from(name)
}

/// The attempts an earlier, unfinished create of the replica recorded.
pub(super) async fn earlier_attempts(
    deps: &Deps,
    replica: LocalReplicaId,
) -> Result<Vec<CreateAttempt>, EngineError> {
    let names = deps.with_store(move |s| s.create_attempts(replica)).await?;
    Ok(names
        .iter()
        .filter_map(|n| CreateAttempt::from_service_name(n))
        .collect())
}

/// Cleans up after an earlier, unfinished create before this one starts: every replica its
/// attempts registered is unregistered, and a replica file it left (never registered, so it
/// holds no local edit) is moved aside. A service that cannot be listed fails the create, and
/// the entry stays for the next run to try again.
pub(super) async fn clean_up(
    client: &FeatureServiceClient,
    earlier: &[CreateAttempt],
    replica_path: &Path,
) -> Result<(), EngineError> {
    give_back(client, earlier).await?;
    if replica_path.exists() {
        let aside = aside_path(replica_path);
        std::fs::rename(replica_path, &aside).map_err(|source| EngineError::Io {
            path: aside.clone(),
            source,
        })?;
        tracing::warn!(file = %aside.display(), "an interrupted create's replica file was moved aside");
    }
    Ok(())
}

/// Unregisters every replica the attempts registered; how many.
pub(super) async fn give_back(
    client: &FeatureServiceClient,
    attempts: &[CreateAttempt],
) -> Result<usize, EngineError> {
    let mut removed = 0;
    for attempt in attempts {
        removed += client.remove_attempt_replicas(attempt, None).await?;
    }
    if removed > 0 {
        tracing::info!(
            removed,
            "gave back the replicas an interrupted create registered"
        );
    }
    Ok(removed)
}

/// After the create: an earlier attempt's async job may have registered its replica only now.
pub(super) async fn give_back_late(client: &FeatureServiceClient, earlier: &[CreateAttempt]) {
    if earlier.is_empty() {
        return;
    }
    if let Err(e) = give_back(client, earlier).await {
        tracing::warn!(error = %chain(&e), "could not check for replicas of an interrupted create");
    }
}

fn aside_path(replica_path: &Path) -> PathBuf {
    let mut name = replica_path.as_os_str().to_owned();
    name.push(format!(".interrupted-{}", now_ms()));
    PathBuf::from(name)
}
