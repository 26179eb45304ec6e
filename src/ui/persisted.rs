//! What the window keeps between starts ([`Persisted`], in eframe storage), the centre tabs
//! ([`Tab`]) and how the app was started ([`AppConfig`]). Plain data.

use crate::engine::LocalReplicaId;
use crate::model::demo::SeedProgress;
use crate::ui::DemoControls;
use crate::ui::results::Chip;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Auto-sync interval used when the user resumes auto-sync and none was saved.
pub const DEFAULT_AUTO_SYNC_SECS: u64 = 300;

/// The centre tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    Overview,
    Results,
}

/// What survives a restart (eframe storage). `#[serde(default)]` keeps old saves loadable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub selected_replica: Option<LocalReplicaId>,
    pub tab: Tab,
    pub show_log: bool,
    pub auto_sync_paused: bool,
    pub auto_sync_interval_secs: u64,
    pub chip: Chip,
    pub last_service_url: String,
    /// The OAuth client id last used for browser sign-in, per portal origin.
    pub client_ids: std::collections::BTreeMap<String, String>,
    /// Service replicas not synced for this many days are marked stale.
    pub stale_days: u32,
    /// Which desktop notifications to send, and after how long failing syncs are worth one.
    pub notifications: crate::model::NotificationSettings,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            selected_replica: None,
            tab: Tab::Overview,
            show_log: true,
            auto_sync_paused: false,
            auto_sync_interval_secs: DEFAULT_AUTO_SYNC_SECS,
            chip: Chip::All,
            last_service_url: String::new(),
            client_ids: std::collections::BTreeMap::new(),
            stale_days: crate::model::DEFAULT_STALE_DAYS,
            notifications: crate::model::NotificationSettings::default(),
        }
    }
}

/// How the app was started.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// Running against the embedded demo service: show the banner and the demo menu.
    pub demo: bool,
    /// Pre-filled in "Connect to service".
    pub default_service_url: String,
    /// `SYNCWATCH_SCREENSHOT`: save a PNG of the window after a few frames, then close.
    pub screenshot_path: Option<std::path::PathBuf>,
    /// `SYNCWATCH_FIRST_FRAME_FILE`: write this file once the first frame is laid out
    /// (`benches/window.rs` measures start-up with it).
    pub first_frame_marker: Option<std::path::PathBuf>,
    /// Progress of the first-run seeding of the demo replicas (filled by the demo seeder).
    pub demo_seed: Option<tokio::sync::watch::Receiver<SeedProgress>>,
    /// What the Demo menu may ask of the demo service (`None`: the menu item does nothing).
    pub demo_controls: Option<Arc<dyn DemoControls>>,
    /// Shows the desktop notifications (`None`: none are shown; the window still follows them).
    pub notifier: Option<Arc<dyn crate::model::Notifier>>,
    /// Where the notifier puts the replicas of clicked notifications; the window takes them.
    pub notification_clicks: crate::model::NotificationClicks,
}
