//! The fresh replica file of a client reset: written and replayed onto under a temporary
//! `.building` name, then renamed to its final name in one step, so a file under the final name is
//! always complete. Also removes the leftovers of an interrupted attempt. Blocking (the replica file, std::fs): call it from `spawn_blocking`. It never changes the
//! old replica file (a recovery only reads its queued attachment changes).

use super::crash_point::crash_point;
use super::create::RequestedReplica;
use crate::engine::api::ObjectOutcome;
use crate::engine::error::{EngineError, chain};
use crate::engine::reset::replay::{replay_attachments, replay_into};
use crate::geodatabase::replica_file::{LocalChange, ReplicaFile};
use std::path::{Path, PathBuf};

/// Where the fresh file is built before it gets its final name.
fn building_path(fresh_path: &Path) -> PathBuf {
    fresh_path.with_extension("building")
}

/// What a recovery replays: the old file's queued feature changes, and the file itself (for its
/// queued attachment changes and their data).
pub(crate) struct OldReplica<'a> {
    pub changes: &'a [LocalChange],
    pub path: &'a Path,
}

/// Writes the fresh replica to `fresh_path` via its temporary name; for a recovery, replays the
/// old replica's queued changes (features, then attachments) onto it first. Returns what was
/// recovered and what was discarded.
pub(crate) fn build(
    requested: &RequestedReplica,
    fresh_path: &Path,
    old: Option<OldReplica<'_>>,
) -> Result<(Vec<ObjectOutcome>, Vec<ObjectOutcome>), EngineError> {
    let building = building_path(fresh_path);
    let mut file = requested.write_file(&building)?;
    let outcomes = match old {
        Some(old) => {
            let mut plan = replay_into(old.changes, &mut file, &requested.layer_infos)
                .map_err(|e| EngineError::Reset(chain(&e)))?;
            let old_file = ReplicaFile::open(old.path)?;
            let (recovered, discarded) = replay_attachments(&old_file, &mut file)?;
            plan.recovered.extend(recovered);
            plan.discarded.extend(discarded);
            (plan.recovered, plan.discarded)
        }
        None => (Vec::new(), Vec::new()),
    };
    drop(file);
    crash_point("replayed");
    if fresh_path.exists() {
        return Err(EngineError::Reset(format!(
            "refusing to overwrite an existing file: {}",
            fresh_path.display()
        )));
    }
    std::fs::rename(&building, fresh_path).map_err(|source| EngineError::Io {
        path: fresh_path.to_path_buf(),
        source,
    })?;
    sync_parent_dir(fresh_path);
    Ok(outcomes)
}

/// Deletes whatever an attempt left of the fresh file at `fresh_path` (final, temporary and
/// half-written names, with SQLite's rollback journals), never touching `keep`.
pub(crate) fn remove(fresh_path: &Path, keep: &Path) {
    let building = building_path(fresh_path);
    let partial = building.with_extension("partial");
    for path in [fresh_path.to_path_buf(), building, partial] {
        let journal = PathBuf::from(format!("{}-journal", path.display()));
        for candidate in [path, journal] {
            if candidate == keep || !candidate.exists() {
                continue;
            }
            if let Err(e) = std::fs::remove_file(&candidate) {
                tracing::warn!(error = %e, path = %candidate.display(), "could not delete an unused fresh replica file");
            }
        }
    }
}

/// Moves the replaced replica file into the backup folder (after the switch). Never overwrites:
/// if the name is taken the file stays where it is.
pub(crate) fn keep_old_file(old_path: &Path, backup_dir: &Path) {
    if !old_path.exists() {
        return;
    }
    let target = backup_dir.join("replica-original.replica");
    if target.exists() {
        tracing::warn!(path = %old_path.display(), "the backup folder already holds an original replica file; the old file stays where it is");
        return;
    }
    match std::fs::rename(old_path, &target) {
        Ok(()) => sync_parent_dir(&target),
        Err(e) => {
            tracing::warn!(error = %e, "could not move the old replica file into the backup folder; it stays where it was")
        }
    }
}

/// Makes a rename durable (the directory entry), where the platform allows it.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(handle) = std::fs::File::open(dir)
        && let Err(e) = handle.sync_all()
    {
        tracing::debug!(error = %e, "could not sync a directory");
    }
    #[cfg(not(unix))]
    let _ = path;
}
