//! The app's plain data, shared by `store`, `engine` and both front ends: ids, settings, replica
//! summaries, edit results, desktop notifications, the attribute form of a refused edit, client resets and their backups, log lines, accounts, secrets and the clock.
//!
//! It depends on `protocol` only and does no I/O (the one exception is reading the wall clock in
//! [`now_ms`]). Nothing here knows tokio, egui, files, rusqlite or the network. `engine::api`
//! re-exports all of it, so front ends keep naming these types through the engine.

mod account;
mod backup;
mod conflicts;
pub mod demo;
mod edit_results;
mod extent;
mod feature_map;
mod fix_form;
mod ids;
mod log;
mod notification;
mod offline_map;
mod replica;
mod reset;
mod secret;
mod service_facts;
mod service_replicas;
mod settings;
mod text_enum;
mod time;
mod vertices;
mod work_area;

pub(crate) use text_enum::text_enum;

pub use account::{
    Account, AccountKey, AccountKind, AccountSecrets, ExpiringSecret, SecretKind, SecretStoreKind,
};
pub use backup::{
    BackupChange, BackupCounts, BackupInfo, BackupPreview, RestoreOutcome, RestoreReport,
};
pub use conflicts::{
    Conflict, ConflictField, ConflictKind, ConflictPolicy, ConflictStatus, FieldChoice, Resolution,
    Side, conflicting_fields, value_of,
};
pub use edit_results::{AttachmentDetail, EditResultRecord};
pub use extent::Extent;
pub use feature_map::{
    FeatureMap, MAX_NEIGHBOURS, MapGeometry, NeighbourFeature, PreviewLayer, ServicePreview,
};
pub use fix_form::{FixForm, FixValues, FormField, Refused, field_hint, same_value};
pub use ids::{JobId, LocalReplicaId};
pub use log::{LOG_LIMIT, LogEntry};
pub use notification::{
    DEFAULT_SYNC_FAILING_AFTER_SECS, MAX_WAITING_CLICKS, Notification, NotificationClicks,
    NotificationKind, NotificationSettings, Notifier,
};
pub use offline_map::{
    OfflineApp, OfflineChangeCounts, OfflineChangeKind, OfflineCheck, OfflineDataset,
    OfflineHealth, OfflineMap, OfflinePrediction, OfflineReplica, default_offline_maps_folder,
};
#[cfg(test)]
pub(crate) use replica::summary_for_tests;
pub use replica::{Health, LayerState, ReplicaSummary, SyncHistoryPoint};
pub use reset::{LayerChangeCounts, ObjectOutcome, ResetPlan, ResetReport};
pub use secret::Secret;
pub use service_facts::{
    LayerFacts, ScopeError, ServiceFacts, geometry_label, parse_where, service_name_from_url,
};
pub use service_replicas::{
    DEFAULT_STALE_DAYS, ServiceReplica, ServiceReplicaLayer, UnregisterResult, area_text, is_stale,
};
pub use settings::{DownloadFormat, PredictedPolicy, ResetMode};
pub use time::now_ms;
pub use vertices::{Vertex, vertices_of, with_z_m};
pub use work_area::{AreaGeometry, WorkArea, WorkAreaError};
