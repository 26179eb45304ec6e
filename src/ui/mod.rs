//! The desktop window (egui/eframe), the only module that imports egui. It owns a view model fed
//! by engine [`crate::engine::Event`]s and sends [`crate::engine::Command`]s; it never opens
//! sockets or databases and starts nothing: `cli::gui` builds the runtime, the engine and the
//! demo and hands the window a [`CommandSink`], an event receiver and [`DemoControls`]. The files
//! it writes itself are developer aids (the `SYNCWATCH_SCREENSHOT` PNG and the
//! first-frame marker, in `app`).
//!
//! * [`app`]           the eframe app: event draining, layout, the eframe hooks; in it `action`
//!   (what panels ask for, [`Action`], and how it becomes commands; CSV export), `top_bar`
//!   (menus, status bar, banners), `sign_in` (the Sign in dialog's commands and events,
//!   Accounts, "Sign in again") and `dev_hooks`.
//! * [`persisted`]     what survives a restart ([`Persisted`], [`Tab`]) and [`AppConfig`].
//! * [`view_model`]    plain data built from events.
//! * [`replica_list`], [`replica_detail`], [`results`], [`reset_modal`], [`log_panel`],
//!   [`dialogs`]       panels: `*_ui(ui, data) -> Action`; [`service_replicas`] the view of a
//!   service's replicas (File → Manage service replicas…).
//! * [`notifications`] when a desktop notification is due (plain data; the app sends them
//!   through the notifier it is given and takes the clicks back).
//! * [`feature_map`]   the detail pane's map of the selected feature (local, server, nearby).
//! * [`map`]           the map widget (pan, zoom, layers, the rectangle tool, the area picker).
//! * [`theme`]         badge colours; [`format`](mod@format) time and byte formatting.
//! * [`command_sink`], [`file_picker`], [`demo_controls`]  what the window is given to talk out.
//! * [`window`]        opens the native window for `cli::gui`.
//!
//! Not part of the window (they draw nothing): [`fixtures`] (realistic fake events for tests,
//! screenshots and benchmarks) and [`bench`](mod@bench) (headless frame-time measurement).

pub mod app;
pub mod bench;
pub mod command_sink;
pub mod conflicts;
pub mod demo_controls;
pub mod dialogs;
pub mod feature_map;
pub mod file_picker;
pub mod fixtures;
pub mod format;
pub mod log_panel;
pub mod map;
pub mod notifications;
pub mod offline_maps;
pub mod persisted;
pub mod replica_detail;
pub mod replica_list;
pub mod reset_modal;
pub mod results;
pub mod service_replicas;
pub mod theme;
pub mod view_model;
pub mod window;

pub use app::Action;
pub use app::SyncwatchApp;
pub use command_sink::CommandSink;
pub use demo_controls::{DemoControls, FixedDemoControls, PendingDemoCall};
pub use file_picker::{FilePicker, FixedPathPicker, PendingPick, RfdFilePicker};
pub use persisted::{AppConfig, Persisted, Tab};
