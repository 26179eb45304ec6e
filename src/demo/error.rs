//! [`DemoError`]: why the demo service or the demo seeding could not be set up. Types only.

use std::path::PathBuf;

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo service could not start on loopback")]
    Start(#[from] std::io::Error),
    #[error("the sync engine has stopped")]
    EngineStopped,
    #[error("timed out waiting for {0}")]
    TimedOut(String),
    #[error("{what} failed: {message}")]
    Step { what: String, message: String },
    #[error("could not write the demo state file {path}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
