//! Finding a replica's client-reset backups (ARCHITECTURE.md, "Restore from a backup"): the
//! folders the app database recorded, and any other folder under `recovery/` whose
//! `unsynced-changes.json` names one of the replica's files (older backups made before the
//! record existed). Listing never fails on one folder: an unreadable one is listed with a
//! one-line reason. A backup is only ever read (`std::fs::read` of its export), never written,
//! locked or opened as a database. Blocking (std::fs): call it from `spawn_blocking`.

use super::backup::ChangesExport;
use crate::engine::api::{BackupCounts, BackupInfo, LocalReplicaId};
use crate::geodatabase::replica_file::ChangeKind;
use crate::store::BackupRecord;
use std::path::{Path, PathBuf};

/// The export file every backup folder holds.
pub const EXPORT_FILE: &str = "unsynced-changes.json";

/// The largest export read (a backup holding more is listed as unreadable).
const MAX_EXPORT_BYTES: u64 = 512 * 1024 * 1024;

/// Which replica's backups to find.
#[derive(Debug, Clone)]
pub struct Owner {
    pub local_id: LocalReplicaId,
    pub name: String,
    /// The replica's file now.
    pub file_path: PathBuf,
}

/// Why a backup cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupReadError {
    #[error("its {EXPORT_FILE} cannot be read ({source}) — {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("its {EXPORT_FILE} is not a backup's export ({detail}) — {}", path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error("its {EXPORT_FILE} is larger than {} MiB — {}", MAX_EXPORT_BYTES / 1024 / 1024, path.display())]
    TooLarge { path: PathBuf },
}

/// Reads a backup's export (read-only).
pub fn read_export(dir: &Path) -> Result<ChangesExport, BackupReadError> {
    let path = dir.join(EXPORT_FILE);
    let io = |source| BackupReadError::Io {
        path: path.clone(),
        source,
    };
    let size = std::fs::metadata(&path).map_err(io)?.len();
    if size > MAX_EXPORT_BYTES {
        return Err(BackupReadError::TooLarge { path });
    }
    let bytes = std::fs::read(&path).map_err(io)?;
    serde_json::from_slice(&bytes).map_err(|e| BackupReadError::Damaged {
        path: path.clone(),
        detail: one_line(&e.to_string()),
    })
}

/// The replica's backups, newest first: recorded ones, then the folders under `root` whose
/// export names one of its files. Never fails: what cannot be read is listed as unreadable.
pub fn list(root: &Path, owner: &Owner, recorded: &[BackupRecord]) -> Vec<BackupInfo> {
    let mut files: Vec<PathBuf> = vec![owner.file_path.clone()];
    files.extend(recorded.iter().map(|r| r.replica_file.clone()));
    let mut found: Vec<BackupInfo> = recorded
        .iter()
        .map(|record| info(&record.dir, Some(record)))
        .collect();
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, path = %root.display(), "could not list the recovery folder");
            }
            return sorted(found);
        }
    };
    let folder_prefix = format!("{}-", super::backup::safe_name(&owner.name));
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() || found.iter().any(|b| b.dir == dir) {
            continue;
        }
        match read_export(&dir) {
            Ok(export) if names_owner(&export, owner, &files) => {
                found.push(info_of(&dir, None, Ok(&export)));
            }
            Ok(_) => {}
            // A folder named like this replica's backups whose export cannot be read.
            Err(e)
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&folder_prefix) =>
            {
                found.push(info_of(&dir, None, Err(&e)));
            }
            Err(_) => {}
        }
    }
    sorted(found)
}

/// The listed backup `text` names: its folder name, or its folder's path.
pub fn find<'a>(listed: &'a [BackupInfo], text: &str) -> Option<&'a BackupInfo> {
    let trimmed = text.trim().trim_end_matches(['/', '\\']);
    listed
        .iter()
        .find(|b| b.name == trimmed)
        .or_else(|| listed.iter().find(|b| b.dir == Path::new(trimmed)))
        .or_else(|| {
            let wanted = std::fs::canonicalize(trimmed).ok()?;
            listed
                .iter()
                .find(|b| std::fs::canonicalize(&b.dir).ok().as_ref() == Some(&wanted))
        })
}

/// Whether an export was made of one of the replica's files: the one it has now, one a
/// recorded reset replaced, or (older backups) a file of this local id with this name.
fn names_owner(export: &ChangesExport, owner: &Owner, files: &[PathBuf]) -> bool {
    if files.contains(&export.replica_file) {
        return true;
    }
    let prefix = format!("{}-", owner.local_id.0);
    export.replica_name == owner.name
        && export
            .replica_file
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with(&prefix))
}

fn info(dir: &Path, record: Option<&BackupRecord>) -> BackupInfo {
    match read_export(dir) {
        Ok(export) => info_of(dir, record, Ok(&export)),
        Err(e) => info_of(dir, record, Err(&e)),
    }
}

fn info_of(
    dir: &Path,
    record: Option<&BackupRecord>,
    export: Result<&ChangesExport, &BackupReadError>,
) -> BackupInfo {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let mut info = BackupInfo {
        name,
        dir: dir.to_path_buf(),
        made_ms: record.map(|r| r.made_ms),
        mode: record.map(|r| r.mode),
        mode_used: record.and_then(|r| r.mode_used),
        reason: record.map(|r| r.reason.clone()).unwrap_or_default(),
        counts: BackupCounts::default(),
        unreadable: None,
    };
    match export {
        Ok(export) => {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(&export.exported_at) {
                info.made_ms = Some(at.timestamp_millis());
            }
            if info.reason.is_empty() {
                info.reason = export.reason.clone();
            }
            info.counts = counts(export);
        }
        Err(e) => info.unreadable = Some(one_line(&e.to_string())),
    }
    info
}

/// What an export holds.
pub fn counts(export: &ChangesExport) -> BackupCounts {
    let mut counts = BackupCounts::default();
    for change in &export.changes {
        match change.kind {
            ChangeKind::Add => counts.adds += 1,
            ChangeKind::Update => counts.updates += 1,
            ChangeKind::Delete => counts.deletes += 1,
        }
    }
    counts.attachments = export
        .edits
        .iter()
        .map(|l| {
            (l.attachments.adds.len()
                + l.attachments.updates.len()
                + l.attachments.delete_ids.len()) as u32
        })
        .sum();
    counts
}

fn sorted(mut found: Vec<BackupInfo>) -> Vec<BackupInfo> {
    found.sort_by(|a, b| b.made_ms.cmp(&a.made_ms).then_with(|| b.name.cmp(&a.name)));
    found
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
