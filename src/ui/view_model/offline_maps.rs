//! The offline maps the window shows (issue 22): every ArcGIS offline map the engine read, with
//! its latest service check, the files that could not be read (one line each) and the watch
//! folders. Built only from `Event::OfflineMapRead`, `OfflineMapChecked`, `OfflineMapFailed` and
//! `OfflineMapFolders`; plain data, no egui.
//!
//! What it must not do: read files or ask for syncs; an offline map is synced by its own app.

use crate::engine::{Event, OfflineCheck, OfflineHealth, OfflineMap};
use std::path::{Path, PathBuf};

/// One offline map and its latest check.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineMapEntry {
    pub map: OfflineMap,
    pub check: Option<OfflineCheck>,
}

impl OfflineMapEntry {
    pub fn health(&self) -> OfflineHealth {
        self.map.health(self.check.as_ref())
    }
}

/// The offline maps, in the order they were first read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfflineMaps {
    pub entries: Vec<OfflineMapEntry>,
    /// Files that could not be read: (path, one line).
    pub failures: Vec<(PathBuf, String)>,
    /// The watch folders, once the engine said them.
    pub folders: Option<Vec<PathBuf>>,
}

impl OfflineMaps {
    pub fn get(&self, path: &Path) -> Option<&OfflineMapEntry> {
        self.entries.iter().find(|e| e.map.path == path)
    }

    /// Applies one of the offline-map events; others are ignored.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::OfflineMapRead { map } => {
                self.failures.retain(|(p, _)| p != &map.path);
                match self.entries.iter_mut().find(|e| e.map.path == map.path) {
                    Some(entry) => entry.map = map.clone(),
                    None => self.entries.push(OfflineMapEntry {
                        map: map.clone(),
                        check: None,
                    }),
                }
            }
            Event::OfflineMapChecked { path, check } => {
                if let Some(entry) = self.entries.iter_mut().find(|e| &e.map.path == path) {
                    entry.check = Some(check.clone());
                }
            }
            Event::OfflineMapFolders { folders } => self.folders = Some(folders.clone()),
            Event::OfflineMapFailed { path, error } => {
                self.entries.retain(|e| &e.map.path != path);
                match self.failures.iter_mut().find(|(p, _)| p == path) {
                    Some(slot) => slot.1 = error.clone(),
                    None => self.failures.push((path.clone(), error.clone())),
                }
            }
            _ => {}
        }
    }
}
