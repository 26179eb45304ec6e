//! ArcGIS offline maps on this laptop, as plain data: a mobile geodatabase (`.geodatabase`)
//! another ArcGIS app made and syncs (Collector, Field Maps, ArcGIS Pro), read by syncwatch
//! without ever writing to it. The replica's definition, its datasets with their generations,
//! row counts and local changes, the changes the service's rules would refuse, which app made it,
//! and the result of checking the replica against its service, with the health derived from them.
//!
//! What it must not do: read the file or call the service (the geodatabase and the engine do),
//! or offer to sync such a replica (that stays with the app that made it).

use crate::protocol::{Guid, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One offline map as read from its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineMap {
    pub path: PathBuf,
    pub replica: OfflineReplica,
    pub datasets: Vec<OfflineDataset>,
    /// The app that made it (and syncs it).
    pub made_by: OfflineApp,
    /// `GDB_Version`'s release text, e.g. "10.4.1 Geodatabase".
    pub geodatabase_release: Option<String>,
    /// The layer ids whose definitions `GDB_ServiceItems` holds (the service's own JSON).
    pub layer_definitions: Vec<i64>,
    /// Whether `GDB_ServiceItems` holds the service's root resource.
    pub has_service_definition: bool,
    /// Local changes the service's rules (from `GDB_ServiceItems`) would refuse.
    pub predicted: Vec<OfflinePrediction>,
    /// Rows of the attachment tables (`…__ATTACH`).
    pub attachments: u64,
}

/// The `GPSyncReplica` definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineReplica {
    pub name: String,
    pub replica_id: Guid,
    /// The FeatureServer URL (`ServiceName`).
    pub service_url: String,
    pub owner: String,
    pub role: String,
    pub sync_model: Option<SyncModel>,
    pub direction: Option<SyncDirection>,
    /// `CreationDate`, as written (no zone), in ms since the epoch read as UTC.
    pub created_ms: Option<i64>,
    /// `LastSyncDate` in ms read as UTC; `None` when never synced (`1970-01-01T00:00:01`).
    pub last_sync_ms: Option<i64>,
    pub returns_attachments: bool,
    pub spatial_relation: Option<String>,
    /// The query geometry's extent, `[xmin, ymin, xmax, ymax]`, and its WKID.
    pub extent: Option<[f64; 4]>,
    pub wkid: Option<i64>,
    pub attachments_sync_direction: Option<String>,
}

/// One `GPSyncDataset` and what its table holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineDataset {
    pub dataset_id: i64,
    /// The SQLite table (`DatasetName`).
    pub table: String,
    /// `esriDTFeatureClass` or `esriDTTable`.
    pub dataset_type: String,
    pub layer_id: i64,
    pub layer_name: String,
    pub direction: Option<SyncDirection>,
    pub server_gen: Option<i64>,
    pub client_download_gen: Option<i64>,
    pub client_upload_gen: Option<i64>,
    pub client_acknowledge_upload_gen: Option<i64>,
    pub use_geometry: bool,
    pub include_related: bool,
    pub query_option: Option<String>,
    pub has_attachments: bool,
    pub is_attachment: bool,
    /// Current rows (`gdb_to_date` open); `None` when the table is missing.
    pub rows: Option<u64>,
    /// Every row version, current and closed.
    pub versions: Option<u64>,
    pub changes: OfflineChangeCounts,
}

/// Local changes since the last sync, per dataset, as the change tracking shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OfflineChangeCounts {
    pub adds: u64,
    pub updates: u64,
    pub deletes: u64,
}

impl OfflineChangeCounts {
    pub fn total(&self) -> u64 {
        self.adds + self.updates + self.deletes
    }
}

/// The kind of one local change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfflineChangeKind {
    Add,
    Update,
    Delete,
}

/// A local change the service's rules would refuse, with the server's code and text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflinePrediction {
    pub layer_id: i64,
    pub table: String,
    pub global_id: String,
    pub kind: OfflineChangeKind,
    pub code: i64,
    pub description: String,
}

/// The app that made the offline map and syncs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineApp {
    /// Under `Documents/ArcGIS/OfflineMaps`: ArcGIS Pro's "download map".
    ArcGisPro,
    /// A 10.x geodatabase release elsewhere: Collector for ArcGIS (or another Runtime 10.x app).
    Collector,
    /// A newer release elsewhere: ArcGIS Field Maps (or another ArcGIS Maps SDK app).
    FieldMaps,
}

impl OfflineApp {
    pub fn label(self) -> &'static str {
        match self {
            OfflineApp::ArcGisPro => "ArcGIS Pro",
            OfflineApp::Collector => "Collector for ArcGIS",
            OfflineApp::FieldMaps => "ArcGIS Field Maps",
        }
    }

    /// The one line that says who syncs it.
    pub fn sync_note(self) -> String {
        format!(
            "syncing this offline map stays with {}, the app that made it; syncwatch only reads it",
            self.label()
        )
    }
}

/// The replica checked against its service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum OfflineCheck {
    /// The service still has the replica.
    Registered {
        /// The service's last sync date (ms), if it gives one.
        server_last_sync_ms: Option<i64>,
        /// The service's generation (the replica's, or the highest per layer).
        server_gen: Option<i64>,
        /// The file's highest server generation.
        file_gen: Option<i64>,
    },
    /// The service does not know the replica (unregistered, or sync re-enabled): the app that
    /// made it must download the map again; its unsynced changes would be lost there.
    NotRegistered { message: String },
    /// The service could not be asked (offline, sign-in needed, …).
    Failed { message: String },
}

impl OfflineCheck {
    /// The service synced the replica after the file's last recorded sync (another copy of the
    /// map, or the file is older than the service's state).
    pub fn service_is_ahead(&self) -> bool {
        match self {
            OfflineCheck::Registered {
                server_gen: Some(server),
                file_gen: Some(file),
                ..
            } => server > file,
            _ => false,
        }
    }

    /// One line for lists and the CLI.
    pub fn summary(&self) -> String {
        match self {
            OfflineCheck::Registered { .. } if self.service_is_ahead() => {
                "registered; the service's generation is ahead of the file's".into()
            }
            OfflineCheck::Registered { .. } => "registered on the service".into(),
            OfflineCheck::NotRegistered { message } => {
                format!("not registered on the service: {message}")
            }
            OfflineCheck::Failed { message } => format!("could not check the service: {message}"),
        }
    }
}

/// An offline map's badge, first that applies wins: not registered › predicted refusals ›
/// check failed › local changes waiting › up to date (as far as the file and the check show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineHealth {
    NotRegistered,
    PredictedRefusals,
    CheckFailed,
    ChangesWaiting,
    Unchecked,
    UpToDate,
}

impl OfflineHealth {
    pub fn label(self) -> &'static str {
        match self {
            OfflineHealth::NotRegistered => "not registered on the service",
            OfflineHealth::PredictedRefusals => "changes the service would refuse",
            OfflineHealth::CheckFailed => "service check failed",
            OfflineHealth::ChangesWaiting => "local changes waiting",
            OfflineHealth::Unchecked => "not checked against the service",
            OfflineHealth::UpToDate => "no local changes",
        }
    }
}

impl OfflineMap {
    /// Local changes over every dataset.
    pub fn changes(&self) -> OfflineChangeCounts {
        self.datasets
            .iter()
            .fold(OfflineChangeCounts::default(), |mut sum, d| {
                sum.adds += d.changes.adds;
                sum.updates += d.changes.updates;
                sum.deletes += d.changes.deletes;
                sum
            })
    }

    /// The highest server generation of the datasets.
    pub fn server_gen(&self) -> Option<i64> {
        self.datasets.iter().filter_map(|d| d.server_gen).max()
    }

    /// Its health with the latest service check, if any.
    pub fn health(&self, check: Option<&OfflineCheck>) -> OfflineHealth {
        if matches!(check, Some(OfflineCheck::NotRegistered { .. })) {
            return OfflineHealth::NotRegistered;
        }
        if !self.predicted.is_empty() {
            return OfflineHealth::PredictedRefusals;
        }
        if matches!(check, Some(OfflineCheck::Failed { .. })) {
            return OfflineHealth::CheckFailed;
        }
        if self.changes().total() > 0 {
            return OfflineHealth::ChangesWaiting;
        }
        match check {
            None => OfflineHealth::Unchecked,
            Some(_) => OfflineHealth::UpToDate,
        }
    }
}

/// The default folder ArcGIS Pro keeps offline maps in, under a documents folder.
pub fn default_offline_maps_folder(documents: &std::path::Path) -> PathBuf {
    documents.join("ArcGIS").join("OfflineMaps")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(changes: u64, predicted: usize) -> OfflineMap {
        OfflineMap {
            path: "x.geodatabase".into(),
            replica: OfflineReplica {
                name: "r".into(),
                replica_id: Guid::new_v4(),
                service_url: "http://h/FeatureServer".into(),
                owner: "o".into(),
                role: "esriReplicaRoleChild".into(),
                sync_model: None,
                direction: None,
                created_ms: None,
                last_sync_ms: None,
                returns_attachments: false,
                spatial_relation: None,
                extent: None,
                wkid: None,
                attachments_sync_direction: None,
            },
            datasets: vec![OfflineDataset {
                dataset_id: 1,
                table: "t".into(),
                dataset_type: "esriDTTable".into(),
                layer_id: 0,
                layer_name: "t".into(),
                direction: None,
                server_gen: Some(5),
                client_download_gen: None,
                client_upload_gen: None,
                client_acknowledge_upload_gen: None,
                use_geometry: false,
                include_related: false,
                query_option: None,
                has_attachments: false,
                is_attachment: false,
                rows: Some(1),
                versions: Some(1),
                changes: OfflineChangeCounts {
                    adds: changes,
                    updates: 0,
                    deletes: 0,
                },
            }],
            made_by: OfflineApp::Collector,
            geodatabase_release: None,
            layer_definitions: vec![],
            has_service_definition: false,
            predicted: (0..predicted)
                .map(|_| OfflinePrediction {
                    layer_id: 0,
                    table: "t".into(),
                    global_id: "g".into(),
                    kind: OfflineChangeKind::Add,
                    code: 1001,
                    description: "d".into(),
                })
                .collect(),
            attachments: 0,
        }
    }

    #[test]
    fn health_follows_its_priority() {
        let gone = OfflineCheck::NotRegistered {
            message: "gone".into(),
        };
        let ok = OfflineCheck::Registered {
            server_last_sync_ms: None,
            server_gen: Some(5),
            file_gen: Some(5),
        };
        assert_eq!(map(0, 1).health(Some(&gone)), OfflineHealth::NotRegistered);
        assert_eq!(
            map(1, 1).health(Some(&ok)),
            OfflineHealth::PredictedRefusals
        );
        assert_eq!(map(1, 0).health(Some(&ok)), OfflineHealth::ChangesWaiting);
        assert_eq!(map(0, 0).health(None), OfflineHealth::Unchecked);
        assert_eq!(map(0, 0).health(Some(&ok)), OfflineHealth::UpToDate);
        assert!(!ok.service_is_ahead());
    }
}
