//! The first-run demo, above `engine` and `server`: the embedded demo feature service on loopback
//! ([`service`]), the three demo replicas seeded through the real engine ([`seed`](mod@seed), with the edits
//! in `edits`), the event tap the seeder listens on ([`tap`]) and the demo service's admin API
//! ([`admin`]). It runs on the tokio runtime and never touches egui; the window only sees
//! [`SeedProgress`] (plain data in `model`) and what `cli::gui` hands it.

pub mod admin;
mod edits;
mod error;
pub mod seed;
pub mod service;
pub mod tap;

pub use admin::{AdminError, DemoAdmin};
pub use error::DemoError;
pub use seed::{
    DEMO_REPLICA_NAMES, FAILED_EDITS_NAME, NEEDS_RESET_NAME, SeedProgress, SeedReporter,
    UP_TO_DATE_NAME, seed,
};
pub use service::{DEMO_PORT, DemoService, DemoState, start_service};
pub use tap::EventTap;
