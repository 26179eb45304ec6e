//! The reference feature service: the ArcGIS REST sync API (createReplica, synchronizeReplica,
//! unRegisterReplica, replicas, async jobs, expiring result files) over axum, with real constraint
//! checks, tokens, ownership rules, a loopback-only admin API and fault injection; and signing in
//! as ArcGIS does (generateToken on the server and a built-in portal, OAuth 2.0 with PKCE,
//! federation, lock-outs: `docs/arcgis-auth.md`). Used embedded
//! (GUI demo, tests, benchmarks: [`start`] on `127.0.0.1:0`) or standalone (`syncwatch serve`).
//!
//! Layout, top to bottom (each part imports only those below it):
//! * `http`: the axum router, request parsing, replies, async jobs, result files, the admin
//!   API and fault injection. Every database call runs on `spawn_blocking`, never on a
//!   runtime worker.
//! * `ops`: the replica operations as blocking functions over the locked service core.
//! * `apply`: applying a synchronizeReplica's uploaded edits inside its transaction.
//! * `db`: the service's SQLite database (`db::ServiceDb`); every SQL statement.
//!
//! Beside them, used by all: `auth` (accounts, password hashes, issued tokens, lock-outs,
//! PKCE, OAuth apps), `definition` (the service definition file), `where_clause`
//! (layerQueries filters), `curves` (true curves: densify, 1005), `attachment_checks` (the
//! per-attachment rules; the per-edit feature rules are `protocol::rules`, shared with the
//! client's validator), `background_free` and `parcels` (generated polygons for benchmarks).
//!
//! The listener (`listener`, with `limits`, `slots`, `own_hosts` and `tls`) accepts
//! connections under the bounds of [`Limits`], over HTTP or HTTPS, before the router sees them.
//!
//! Shutdown: dropping the [`RunningServer`] (or calling [`RunningServer::shutdown`]) stops
//! accepting connections; a temporary data directory is removed with it.

mod apply;
mod attachment_checks;
mod auth;
mod background_free;
mod curves;
mod db;
pub mod definition;
mod http;
mod limits;
mod listener;
mod ops;
mod own_hosts;
mod parcels;
mod slots;
mod tls;
mod where_clause;

pub use crate::protocol::rules::is_untrusted_html;
pub use auth::password::{PasswordHashError, hash_password};
pub use auth::settings::{AttemptLimit, AuthSettings};
pub use definition::{
    DefinitionError, LayerDef, OAuthAppDef, OwnershipDef, ServiceDefinition, UserDef,
};
pub use http::{FaultKind, FaultRule};
pub use limits::Limits;
pub use tls::{TlsError, TlsSource};
pub use where_clause::{Condition, WhereError};

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

/// Default lifetime of a result file without access (the ArcGIS output directory's 10 minutes).
pub const DEFAULT_RESULT_TTL: Duration = Duration::from_secs(600);

/// How to run the reference service.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Database and output directory; `None` uses a temporary directory removed on shutdown.
    pub data_dir: Option<PathBuf>,
    /// The service; `None` uses the demo water network (`assets/demo/service.json`).
    pub definition: Option<ServiceDefinition>,
    /// Result files are removed after this long without access.
    pub result_ttl: Duration,
    /// Key for the admin API (`X-Admin-Key`); `None` generates a random one.
    pub admin_key: Option<String>,
    /// How long an async job stays Pending and then InProgress (so tests can observe both).
    pub job_step_delay: Duration,
    /// Token lifetimes and attempt limits of signing in.
    pub auth: AuthSettings,
    /// Bounds on connections, requests, bodies and slow clients.
    pub limits: Limits,
    /// Serve HTTPS with this certificate; `None` serves plain HTTP.
    pub tls: Option<TlsSource>,
    /// Host names (`NAME` or `NAME:PORT`) the service also answers to, besides `localhost`
    /// and its addresses; any other `Host` is refused (DNS rebinding).
    pub public_hosts: Vec<String>,
    /// Write this many generated parcels into the service's polygon layer before listening
    /// (`parcels`; a definition without one gets a `Parcels` layer, in a new data directory).
    pub generate_polygons: Option<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            definition: None,
            result_ttl: DEFAULT_RESULT_TTL,
            admin_key: None,
            job_step_delay: Duration::ZERO,
            auth: AuthSettings::default(),
            limits: Limits::default(),
            tls: None,
            public_hosts: Vec::new(),
            generate_polygons: None,
        }
    }
}

/// A running reference service. Dropping it shuts the service down.
#[derive(Debug)]
pub struct RunningServer {
    base_url: String,
    service_name: String,
    admin_key: String,
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    temp_dir: Option<PathBuf>,
    tls_cert_path: Option<PathBuf>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT`, or `https://…` when served over TLS.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/arcgis/rest/services/<Name>/FeatureServer`
    pub fn service_url(&self) -> String {
        format!(
            "{}/arcgis/rest/services/{}/FeatureServer",
            self.base_url, self.service_name
        )
    }

    /// The service name from the definition.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The key the admin API wants in `X-Admin-Key`.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The PEM certificate a client must trust, when served over TLS.
    pub fn tls_cert_path(&self) -> Option<&std::path::Path> {
        self.tls_cert_path.as_deref()
    }

    /// Stops the service and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The receiver is gone only if the server already stopped.
            let _ = tx.send(());
        }
        if let Some(dir) = self.temp_dir.take()
            && let Err(err) = std::fs::remove_dir_all(&dir)
        {
            tracing::debug!(dir = %dir.display(), %err, "could not remove the temporary data directory");
        }
    }
}

/// Starts the service on the current tokio runtime and returns once it is listening.
///
/// Must be called inside a tokio runtime (multi-threaded: database work uses
/// `spawn_blocking`). Outside async code use [`start_blocking`].
pub async fn start(config: ServerConfig) -> io::Result<RunningServer> {
    let mut definition = match config.definition.clone() {
        Some(def) => def,
        None => ServiceDefinition::demo().map_err(io::Error::other)?,
    };
    if config.generate_polygons.is_some() {
        definition = parcels::with_parcels_layer(definition).map_err(io::Error::other)?;
    }
    let (data_dir, temp_dir) = match &config.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "syncwatch-server-{}",
                uuid::Uuid::new_v4().simple()
            ));
            (dir.clone(), Some(dir))
        }
    };
    std::fs::create_dir_all(&data_dir)?;
    let admin_key = config
        .admin_key
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let tls = match &config.tls {
        Some(source) => Some(tls::prepare(source, &data_dir).map_err(io::Error::other)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let settings = http::Settings {
        data_dir: data_dir.clone(),
        result_ttl: config.result_ttl,
        admin_key: admin_key.clone(),
        job_step_delay: config.job_step_delay,
        auth: config.auth.clone(),
        limits: config.limits.clone(),
        own_hosts: own_hosts::OwnHosts::new(local_addr, tls.is_some(), &config.public_hosts),
        https: tls.is_some(),
    };
    let generate = config.generate_polygons;
    let state = tokio::task::spawn_blocking(move || {
        let state = http::AppState::open(definition, settings)?;
        if let Some(count) = generate {
            let mut core = state.shared.core();
            let core = &mut *core;
            parcels::generate(&mut core.db, &core.def, None, count).map_err(io::Error::other)?;
        }
        Ok::<_, io::Error>(state)
    })
    .await
    .map_err(io::Error::other)??;
    let service_name = state.service_name();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let app = http::router(state.clone());
    let sweeper = state.spawn_sweeper();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (acceptor, tls_cert_path) = match tls {
        Some(tls) => (Some(tls.acceptor), Some(tls.cert_path)),
        None => (None, None),
    };
    let limits = config.limits.clone();
    let task = tokio::spawn(async move {
        listener::serve(listener, app, limits, acceptor, shutdown_rx).await;
        sweeper.abort();
    });
    tracing::info!(%local_addr, service = %service_name, scheme, "reference feature service listening");
    Ok(RunningServer {
        base_url: format!("{scheme}://{}", url_host(local_addr)),
        service_name,
        admin_key,
        local_addr,
        shutdown: Some(shutdown_tx),
        task: Some(task),
        temp_dir,
        tls_cert_path,
    })
}

/// The address to put in the service's own URLs: loopback when bound to every interface.
fn url_host(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(loopback, addr.port())
    } else {
        addr
    }
}

/// A service running on its own tokio runtime, for callers without one (GUI demo mode,
/// synchronous tests). Dropping it shuts the service and its runtime down. Do not drop it
/// inside async code.
#[derive(Debug)]
pub struct BlockingServer {
    server: Option<RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BlockingServer {
    pub fn server(&self) -> &RunningServer {
        // Present from construction until drop.
        self.server
            .as_ref()
            .unwrap_or_else(|| unreachable!("server taken before drop"))
    }
    pub fn base_url(&self) -> &str {
        self.server().base_url()
    }
    pub fn service_url(&self) -> String {
        self.server().service_url()
    }
    pub fn admin_key(&self) -> &str {
        self.server().admin_key()
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        if let (Some(server), Some(runtime)) = (self.server.take(), self.runtime.take()) {
            runtime.block_on(server.shutdown());
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// The wall clock in epoch milliseconds, the unit of every time the service stores and sends.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Starts the service on a private two-thread runtime; see [`BlockingServer`].
pub fn start_blocking(config: ServerConfig) -> io::Result<BlockingServer> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("syncwatch-server")
        .enable_all()
        .build()?;
    let server = runtime.block_on(start(config))?;
    Ok(BlockingServer {
        server: Some(server),
        runtime: Some(runtime),
    })
}

/// Runs the service until Ctrl-C (for `syncwatch serve`).
pub async fn serve_until_ctrl_c(config: ServerConfig) -> io::Result<()> {
    let server = start(config).await?;
    println!(
        "syncwatch reference feature service: {}",
        server.service_url()
    );
    if let Some(cert) = server.tls_cert_path() {
        println!(
            "TLS certificate (trust it with --ca-cert): {}",
            cert.display()
        );
    }
    println!("admin key (X-Admin-Key): {}", server.admin_key());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
