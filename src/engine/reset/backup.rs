//! Step one of every client reset, before anything destructive: copy the replica file into a
//! timestamped recovery folder and export its unsynced changes as JSON a person can re-apply,
//! then re-open both to prove they are readable. Blocking (the replica file, std::fs): call it from
//! `spawn_blocking`.

use crate::geodatabase::replica_file::{LocalChange, ReplicaFile, ReplicaFileError};
use crate::protocol::LayerEdits;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a reset's backup went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub dir: PathBuf,
    /// A consistent copy of the replica file (`VACUUM INTO`).
    pub replica_copy: PathBuf,
    /// `unsynced-changes.json`: every queued change, and the same as a synchronizeReplica `edits` value.
    pub changes_export: PathBuf,
    pub change_count: usize,
}

/// The export file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesExport {
    pub replica_name: String,
    pub replica_file: PathBuf,
    pub exported_at: String,
    pub reason: String,
    pub changes: Vec<LocalChange>,
    /// The changes as the `edits` parameter of synchronizeReplica, ready to send again.
    pub edits: Vec<LayerEdits>,
}

/// Why a backup could not be made; the reset must not go on.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("could not create the recovery folder {}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write the export of unsynced changes to {}", path.display())]
    Export {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the backup does not read back as written ({detail}); the reset was not started — {}", path.display())]
    Unverified { path: PathBuf, detail: String },
    #[error(transparent)]
    Replica(#[from] ReplicaFileError),
}

/// A new, unique recovery folder under `root` named after the replica and the time (UTC).
pub fn new_recovery_dir(
    root: &Path,
    replica_name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PathBuf, BackupError> {
    let safe = safe_name(replica_name);
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let folder_err = |path: &Path, source| BackupError::Folder {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(root).map_err(|e| folder_err(root, e))?;
    for n in 0..1000 {
        let name = if n == 0 {
            format!("{safe}-{stamp}")
        } else {
            format!("{safe}-{stamp}-{n}")
        };
        let dir = root.join(name);
        match crate::engine::private_fs::create_dir(&dir, false) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(folder_err(&dir, e)),
        }
    }
    Err(folder_err(
        root,
        std::io::Error::other("no free folder name"),
    ))
}

/// The replica's name as recovery folders start with it: safe characters only, at most 60.
pub fn safe_name(replica_name: &str) -> String {
    replica_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

/// Backs `file` up into `dir` and verifies the copy and the export read back with every change.
pub fn back_up(
    file: &ReplicaFile,
    dir: &Path,
    replica_name: &str,
    reason: &str,
) -> Result<Backup, BackupError> {
    let replica_copy = dir.join("replica.sqlite");
    let changes_export = dir.join("unsynced-changes.json");
    file.copy_consistent_to(&replica_copy)?;
    restrict_to_user(&replica_copy);

    let changes = file.changes()?;
    let export = ChangesExport {
        replica_name: replica_name.to_string(),
        replica_file: file.path().to_path_buf(),
        exported_at: chrono::Utc::now().to_rfc3339(),
        reason: reason.to_string(),
        edits: file.build_edits()?,
        changes,
    };
    let export_err = |source| BackupError::Export {
        path: changes_export.clone(),
        source,
    };
    let text =
        serde_json::to_vec_pretty(&export).map_err(|e| export_err(std::io::Error::other(e)))?;
    write_synced(&changes_export, &text).map_err(export_err)?;

    verify(&replica_copy, &changes_export, export.changes.len())?;
    Ok(Backup {
        dir: dir.to_path_buf(),
        replica_copy,
        changes_export,
        change_count: export.changes.len(),
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn restrict_to_user(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort: the folder itself is already user-only.
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Re-opens the copy and the export and checks both hold `expected` changes.
fn verify(replica_copy: &Path, changes_export: &Path, expected: usize) -> Result<(), BackupError> {
    let copy = ReplicaFile::open(replica_copy).map_err(|e| BackupError::Unverified {
        path: replica_copy.to_path_buf(),
        detail: e.to_string(),
    })?;
    let in_copy = copy.changes().map_err(|e| BackupError::Unverified {
        path: replica_copy.to_path_buf(),
        detail: e.to_string(),
    })?;
    if in_copy.len() != expected {
        return Err(BackupError::Unverified {
            path: replica_copy.to_path_buf(),
            detail: format!("{} changes instead of {expected}", in_copy.len()),
        });
    }
    let text = std::fs::read(changes_export).map_err(|e| BackupError::Unverified {
        path: changes_export.to_path_buf(),
        detail: e.to_string(),
    })?;
    let export: ChangesExport =
        serde_json::from_slice(&text).map_err(|e| BackupError::Unverified {
            path: changes_export.to_path_buf(),
            detail: e.to_string(),
        })?;
    if export.changes.len() != expected {
        return Err(BackupError::Unverified {
            path: changes_export.to_path_buf(),
            detail: format!("{} changes instead of {expected}", export.changes.len()),
        });
    }
    Ok(())
}

/// The backup in `dir` if it is complete, verifies, and holds exactly the changes `file` has
/// queued now (an interrupted reset reuses it); `None` when a new backup is needed.
pub fn reuse(dir: &Path, file: &ReplicaFile) -> Result<Option<Backup>, BackupError> {
    let replica_copy = dir.join("replica.sqlite");
    let changes_export = dir.join("unsynced-changes.json");
    let Ok(text) = std::fs::read(&changes_export) else {
        return Ok(None);
    };
    let Ok(export) = serde_json::from_slice::<ChangesExport>(&text) else {
        return Ok(None);
    };
    if export.changes != file.changes()? {
        return Ok(None);
    }
    if verify(&replica_copy, &changes_export, export.changes.len()).is_err() {
        return Ok(None);
    }
    Ok(Some(Backup {
        dir: dir.to_path_buf(),
        replica_copy,
        changes_export,
        change_count: export.changes.len(),
    }))
}
