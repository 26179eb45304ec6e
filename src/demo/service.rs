//! The embedded demo feature service: started on loopback (the port it used last time, else a
//! preferred one, else any) with its data under the data directory, and `<data dir>/demo.json`,
//! which remembers the service's address and whether seeding finished, so a second start neither
//! duplicates replicas nor strands them on an old port. It must not talk to the engine except by
//! handing out the command that re-points the demo replicas.

use super::DemoError;
use crate::engine::Command;
use crate::server::{RunningServer, ServerConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default loopback port of the embedded demo service (a fixed port keeps demo replicas working
/// across restarts; when it is taken another port is used and the replicas are re-pointed).
pub const DEMO_PORT: u16 = 47_817;

const STATE_FILE: &str = "demo.json";

/// What `<data dir>/demo.json` keeps between starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DemoState {
    /// The demo service's FeatureServer URL on the last start.
    pub service_url: Option<String>,
    /// Seeding finished (or was not wanted because the technician already had replicas).
    pub seeded: bool,
}

impl DemoState {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(STATE_FILE)
    }

    /// The saved state; a missing or unreadable file counts as a first run.
    pub fn load(data_dir: &Path) -> DemoState {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "demo state unreadable; starting afresh");
                DemoState::default()
            }),
            Err(_) => DemoState::default(),
        }
    }

    /// Writes the state (a temporary file renamed over the old one).
    pub fn save(&self, data_dir: &Path) -> Result<(), DemoError> {
        let path = Self::path(data_dir);
        let state_error = |source| DemoError::State {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(state_error)?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| state_error(e.into()))?;
        std::fs::write(&tmp, text).map_err(state_error)?;
        std::fs::rename(&tmp, &path).map_err(state_error)
    }
}

/// The running demo service and, when it came up on another port than last time, the old URL
/// whose replicas must be re-pointed ([`DemoService::repoint_command`]).
#[derive(Debug)]
pub struct DemoService {
    pub server: RunningServer,
    pub moved_from: Option<String>,
}

impl DemoService {
    /// The command that moves the demo replicas from the old address, if the service moved.
    pub fn repoint_command(&self) -> Option<Command> {
        self.moved_from
            .clone()
            .map(|from_url| Command::RepointService {
                from_url,
                to_url: self.server.service_url(),
            })
    }
}

/// Starts the demo water network on loopback with its data under `data_dir/demo-service`: on the
/// port it used last time if that is free, else `preferred_port`, else any free port. Records the
/// address in `demo.json`. `job_step_delay` makes async jobs visible in the window.
pub async fn start_service(
    data_dir: &Path,
    preferred_port: u16,
    job_step_delay: Duration,
) -> Result<DemoService, DemoError> {
    let mut state = DemoState::load(data_dir);
    let last_port = state.service_url.as_deref().and_then(port_of);
    let mut ports: Vec<u16> = last_port.into_iter().collect();
    if !ports.contains(&preferred_port) {
        ports.push(preferred_port);
    }
    ports.push(0);
    let mut config = ServerConfig {
        data_dir: Some(data_dir.join("demo-service")),
        job_step_delay,
        ..ServerConfig::default()
    };
    let mut last_error = None;
    for port in ports {
        config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match crate::server::start(config.clone()).await {
            Ok(server) => {
                let url = server.service_url();
                let moved_from = state.service_url.clone().filter(|old| *old != url);
                if let Some(old) = &moved_from {
                    tracing::info!(from = %old, to = %url, "the demo service moved to another port");
                }
                state.service_url = Some(url);
                state.save(data_dir)?;
                return Ok(DemoService { server, moved_from });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_error
        .unwrap_or_else(|| std::io::Error::other("no loopback port was free"))
        .into())
}

fn port_of(url: &str) -> Option<u16> {
    url::Url::parse(url).ok()?.port()
}
