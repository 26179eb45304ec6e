//! What every handler shares: the settings fixed at start, the service core behind one mutex
//! (only locked from blocking code), signing in (`auth::Auth`, built from the definition given at
//! start), the result-file directory, the async-job registry and the fault rules; and
//! [`AppState::blocking`], the one way handlers reach the database.

use super::bounds::Bounds;
use super::faults::Faults;
use super::job_registry::Jobs;
use super::output_dir::Outputs;
use super::reply::internal_error;
use crate::server::auth::settings::AuthSettings;
use crate::server::auth::{Account, Auth, OAuthApp};
use crate::server::db::ServiceDb;
use crate::server::definition::ServiceDefinition;
use crate::server::limits::Limits;
use crate::server::ops::{Core, OpError};
use crate::server::own_hosts::OwnHosts;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Settings fixed at start.
pub struct Settings {
    pub data_dir: PathBuf,
    pub result_ttl: Duration,
    pub admin_key: String,
    pub job_step_delay: Duration,
    pub auth: AuthSettings,
    /// The bounds on connections, requests and bodies.
    pub limits: Limits,
    /// The names the service answers to (checked on every request).
    pub(crate) own_hosts: OwnHosts,
    /// Served over TLS: the URLs it hands out say https.
    pub https: bool,
}

impl Settings {
    /// `https` or `http`.
    pub(super) fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }
}

/// Everything the handlers share.
pub struct Shared {
    core: Mutex<Core>,
    pub service_name: String,
    pub(super) require_token: bool,
    /// The service's server is federated to the built-in portal.
    pub(super) federated: bool,
    pub(super) auth: Auth,
    pub settings: Settings,
    pub outputs: Outputs,
    pub jobs: Jobs,
    pub faults: Arc<Faults>,
    pub(super) admission: Bounds,
    /// Bytes of result files and attachments sent so far (`byte_ranges`).
    pub file_bytes_served: Arc<std::sync::atomic::AtomicU64>,
}

impl Shared {
    /// The core, locked. Only from blocking code.
    pub fn core(&self) -> MutexGuard<'_, Core> {
        // A panic inside an operation happened before its transaction committed (SQLite rolled it
        // back), so the core is still consistent: keep serving.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cheap handle on the shared state.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Opens the database under `settings.data_dir` (seeding it from `definition` when new).
    /// Who may sign in, and how, is always `definition`'s (not the stored copy's), so that a
    /// restart with other users or `--user` takes effect.
    pub fn open(definition: ServiceDefinition, settings: Settings) -> std::io::Result<AppState> {
        let auth = auth_of(&definition, settings.auth.clone());
        let (require_token, federated) = (definition.require_token, definition.federated);
        let mut db = ServiceDb::open(&settings.data_dir.join("service.sqlite"))
            .map_err(std::io::Error::other)?;
        let (def, schema_version) = db.init(&definition).map_err(std::io::Error::other)?;
        let outputs = Outputs::new(settings.data_dir.join("arcgisoutput"), settings.result_ttl)?;
        let admission = Bounds::new(settings.limits.clone(), settings.own_hosts.clone());
        let shared = Shared {
            service_name: def.name.clone(),
            require_token,
            federated,
            auth,
            core: Mutex::new(Core {
                db,
                def,
                schema_version,
                last_schema_change: None,
            }),
            settings,
            outputs,
            jobs: Jobs::default(),
            faults: Arc::new(Faults::default()),
            admission,
            file_bytes_served: Arc::default(),
        };
        Ok(AppState {
            shared: Arc::new(shared),
        })
    }

    pub fn service_name(&self) -> String {
        self.shared.service_name.clone()
    }

    /// Removes expired result files periodically.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(shared.outputs.sweep_interval());
            loop {
                tick.tick().await;
                let s = shared.clone();
                let _ = tokio::task::spawn_blocking(move || s.outputs.sweep()).await;
            }
        })
    }

    /// Runs blocking work (SQLite, files) off the runtime.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Shared) -> Result<T, OpError> + Send + 'static,
    ) -> Result<T, OpError> {
        let shared = self.shared.clone();
        match tokio::task::spawn_blocking(move || work(&shared)).await {
            Ok(result) => result,
            Err(err) => {
                tracing::error!(%err, "a service operation panicked");
                Err(OpError::Service(internal_error()))
            }
        }
    }
}

/// The accounts and OAuth apps of a definition.
fn auth_of(definition: &ServiceDefinition, settings: AuthSettings) -> Auth {
    let accounts = definition
        .users
        .iter()
        .map(|u| Account {
            name: u.name.clone(),
            admin: u.admin,
            password_hash: u.password_hash.clone(),
            fixed_token: Some(u.token.clone()).filter(|t| !t.is_empty()),
        })
        .collect();
    let apps = definition
        .oauth_apps
        .iter()
        .map(|a| OAuthApp {
            client_id: a.client_id.clone(),
            redirect_uris: a.redirect_uris.clone(),
        })
        .collect();
    Auth::new(settings, accounts, apps)
}
