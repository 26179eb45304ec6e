//! syncwatch: watch and drive ArcGIS feature-service replica sync from the desktop or the terminal.
//!
//! * `cli`, `ui`    front ends: turn flags or clicks into engine `Command`s, show `Event`s;
//!   `cli::gui` starts the window.
//! * `demo`         the embedded demo service, the first-run demo replicas and the demo's admin calls.
//! * `engine`       tokio tasks that run sync jobs and client resets; the only place that awaits the network.
//! * `service`      reqwest client for a feature service's REST sync endpoints.
//! * `geodatabase`  replica and delta files on disk (rusqlite, blocking calls only).
//! * `store`        syncwatch's own state database: replica registry, jobs, edit results, event log.
//! * `server`       axum reference feature service used by tests, benchmarks and the demo.
//! * `model`        plain data shared by the layers above `protocol`.
//! * `protocol`     serde wire types and the error-code catalog shared by `service` and `server`; no I/O.

pub mod cli;
pub mod demo;
pub mod engine;
pub mod geodatabase;
pub mod model;
pub mod protocol;
pub mod server;
pub mod service;
pub mod store;
pub mod ui;
