//! syncwatch: watch and drive ArcGIS feature-service replica sync from the desktop or the terminal.
//!
//! The parts, bottom to top (ARCHITECTURE.md is the map, with the rules `tests/it/architecture.rs`
//! checks):
//!
//! * `protocol`: serde wire types, the error-code catalog and the per-edit rules; no I/O.
//! * `model`: the app's plain data (ids, replica summaries, edit results, resets, secrets); no I/O.
//! * `geodatabase`: replica and delta files on disk (rusqlite, blocking calls only).
//! * `store`: syncwatch's own database: replica registry, jobs, edit results, log, reset journal,
//!   and the non-secret record of accounts and stored tokens.
//! * `credentials`: the secrets themselves: the OS keychain, or the chosen secrets file.
//! * `service`: the reqwest client of a feature service.
//! * `engine`: tokio tasks that run sync jobs and client resets: `Command` in, `Event` out.
//! * `ui`: the egui window over a view model fed by events.
//! * `desktop`: the desktop's notifications (notify-rust), shown for the window.
//! * `server`: the axum reference feature service used by tests, benchmarks and the demo.
//! * `demo`: the embedded demo service and the first-run demo replicas.
//! * `cli`: the entry point: start-up of the window (`cli::gui`) and the headless commands.

pub mod cli;
pub mod credentials;
pub mod demo;
pub mod desktop;
pub mod engine;
pub mod geodatabase;
pub mod model;
pub mod protocol;
pub mod server;
pub mod service;
pub mod store;
pub mod ui;
