//! ArcGIS offline maps (issue 22): mobile geodatabases other ArcGIS apps made, read (never
//! written) and checked against their service. [`Command::OpenOfflineMap`] reads one file,
//! [`Command::ScanOfflineMaps`] every `.geodatabase` under the watch folders; each file answers
//! with [`Event::OfflineMapRead`] (then [`Event::OfflineMapChecked`] once its service answered)
//! or [`Event::OfflineMapFailed`] (one line). Each runs as its own task, the file is read inside
//! `spawn_blocking`, and the service is asked for the replica's info with the token rules of
//! `service_replicas.rs` (the signed-in account, else a token of a replica held on that service).
//!
//! The watch folders ([`Command::LoadOfflineMapFolders`], [`Command::SetOfflineMapFolders`])
//! are kept in the app database's settings (`offline_map_folders`, a JSON list); without them,
//! the default is ArcGIS Pro's `Documents/ArcGIS/OfflineMaps` of this platform.
//!
//! What it must not do: write to an offline map, sync it, or register it as one of syncwatch's
//! own replicas: syncing it stays with the app that made it.

use super::Deps;
use super::api::{Command, Event};
use super::error::{EngineError, chain};
use crate::geodatabase::mobile;
use crate::model::{OfflineCheck, OfflineMap, Secret};
use std::path::{Path, PathBuf};

/// How deep a watch folder is searched (ArcGIS Pro keeps `OfflineMaps/<id>/p13/<name>.geodatabase`).
const SCAN_DEPTH: usize = 5;
/// The most files one scan reads.
const SCAN_LIMIT: usize = 500;

/// Reads the file (blocking, off the runtime's workers).
pub async fn read(path: PathBuf) -> Result<OfflineMap, String> {
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || mobile::read(&path)).await {
        Ok(Ok(map)) => Ok(map),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("{shown}: {}", EngineError::from(e))),
    }
}

/// The `.geodatabase` files under `folders` (missing folders are skipped), sorted.
pub fn find_files(folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for folder in folders {
        walk(folder, 0, &mut found);
    }
    found.sort();
    found.dedup();
    found.truncate(SCAN_LIMIT);
    found
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > SCAN_DEPTH || found.len() >= SCAN_LIMIT {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, depth + 1, found);
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("geodatabase"))
        {
            found.push(path);
        }
    }
}

/// Checks the replica against its service: still registered? its last sync and generation.
pub(crate) async fn check(deps: &Deps, map: &OfflineMap, token: Option<Secret>) -> OfflineCheck {
    let url = &map.replica.service_url;
    let client = match super::service_replicas::client_for_service(deps, url, token).await {
        Ok(client) => client,
        Err(e) => {
            return OfflineCheck::Failed { message: chain(&e) };
        }
    };
    match client.replica_info(&map.replica.replica_id).await {
        Ok(info) => OfflineCheck::Registered {
            server_last_sync_ms: info.last_sync_date,
            server_gen: info
                .replica_server_gen
                .into_iter()
                .chain(info.layer_server_gens.iter().map(|g| g.server_gen))
                .max(),
            file_gen: map.server_gen(),
        },
        Err(e) if e.needs_client_reset() => OfflineCheck::NotRegistered {
            message: chain(&EngineError::from(e)),
        },
        Err(e) => OfflineCheck::Failed {
            message: chain(&EngineError::from(e)),
        },
    }
}

/// Reads one file and, when it reads, checks it against its service; sends the events.
pub(crate) async fn open_and_check(deps: Deps, path: PathBuf, token: Option<Secret>) {
    match read(path.clone()).await {
        Ok(map) => {
            tracing::info!(path = %path.display(), replica = %map.replica.replica_id, "offline map read");
            deps.events.send(Event::OfflineMapRead { map: map.clone() });
            let check = check(&deps, &map, token).await;
            deps.events.send(Event::OfflineMapChecked { path, check });
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "offline map not read");
            deps.events.send(Event::OfflineMapFailed { path, error });
        }
    }
}

/// The store setting that holds the watch folders.
pub const FOLDERS_SETTING: &str = "offline_map_folders";

/// The platform's default watch folder: ArcGIS Pro's `Documents/ArcGIS/OfflineMaps`.
pub fn default_folders() -> Vec<PathBuf> {
    directories::UserDirs::new()
        .and_then(|d| {
            d.document_dir()
                .map(crate::model::default_offline_maps_folder)
        })
        .into_iter()
        .collect()
}

/// The stored watch folders, else the default.
async fn folders(deps: &Deps) -> Result<Vec<PathBuf>, EngineError> {
    let stored = deps.with_store(|s| s.setting(FOLDERS_SETTING)).await?;
    let parsed = stored.and_then(|text| match serde_json::from_str::<Vec<PathBuf>>(&text) {
        Ok(folders) => Some(folders),
        Err(e) => {
            tracing::warn!(error = %e, "the stored offline-map folders do not parse; using the default");
            None
        }
    });
    Ok(parsed.unwrap_or_else(default_folders))
}

async fn scan(deps: Deps, folders: Vec<PathBuf>) {
    let files = tokio::task::spawn_blocking(move || find_files(&folders))
        .await
        .unwrap_or_default();
    for path in files {
        open_and_check(deps.clone(), path, None).await;
    }
}

fn failed(deps: &Deps, what: &str, error: &EngineError) {
    super::job::command_failed(deps, None, what, error);
}

/// Runs the offline-map commands.
pub(crate) async fn answer(deps: Deps, command: Command) {
    match command {
        Command::OpenOfflineMap { path, token } => open_and_check(deps, path, token).await,
        Command::ScanOfflineMaps { folders } => scan(deps, folders).await,
        Command::LoadOfflineMapFolders => match folders(&deps).await {
            Ok(folders) => {
                deps.events.send(Event::OfflineMapFolders {
                    folders: folders.clone(),
                });
                scan(deps, folders).await;
            }
            Err(e) => failed(&deps, "load the offline-map folders", &e),
        },
        Command::SetOfflineMapFolders { folders } => {
            let text = serde_json::to_string(&folders).unwrap_or_else(|_| "[]".into());
            match deps
                .with_store(move |s| s.set_setting(FOLDERS_SETTING, Some(&text)))
                .await
            {
                Ok(()) => {
                    deps.events.send(Event::OfflineMapFolders {
                        folders: folders.clone(),
                    });
                    scan(deps, folders).await;
                }
                Err(e) => failed(&deps, "keep the offline-map folders", &e),
            }
        }
        _ => {}
    }
}
