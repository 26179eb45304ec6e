//! `syncwatch serve`: runs the reference feature service standalone until Ctrl-C. Only turns
//! flags into a `server::ServerConfig`; everything else is the `server` module. A service
//! reachable from the network (not bound to loopback) is refused unless it requires tokens or
//! `--allow-anonymous` says the operator means it.

use crate::server::{self, AuthSettings, ServerConfig, ServiceDefinition, TlsSource, UserDef};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Data directory (database and result files); a temporary directory when absent.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Service definition file (JSON, see docs/service-definition.md); the demo water network when absent.
    #[arg(long)]
    pub service: Option<PathBuf>,
    /// Result files are removed after this many seconds without access.
    #[arg(long, default_value_t = 600)]
    pub result_ttl: u64,
    /// Key for the admin API (X-Admin-Key header); a random key is generated and printed when absent.
    #[arg(long, env = "SYNCWATCH_ADMIN_KEY")]
    pub admin_key: Option<String>,
    /// How long async jobs stay Pending, then InProgress, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub job_delay_ms: u64,
    /// Adds a user who signs in with this password, or gives an existing user this password
    /// (repeatable; the password is hashed at start and kept only as a hash).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,
    /// Lifetime of every access token (generateToken's default and cap, OAuth access tokens), in minutes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub token_minutes: Option<u64>,
    /// Lifetime of OAuth refresh tokens, in minutes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh_token_minutes: Option<u64>,
    /// Require a token on every service request (sets the served definition's requireToken).
    #[arg(long)]
    pub require_token: bool,
    /// Serve without tokens on an address reachable from the network (refused otherwise).
    #[arg(long)]
    pub allow_anonymous: bool,
    /// A host name (NAME or NAME:PORT) clients use to reach the service, besides localhost and
    /// its addresses; any other Host header is refused. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub public_host: Vec<String>,
    /// Serve HTTPS with this PEM certificate (chain, server first); needs --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate kept in <data dir>/tls/cert.pem (printed).
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Before serving, write N generated parcels (closed rings of 5-12 points, a few attributes,
    /// GlobalIDs) into the service's first polygon layer, in one transaction; a new data
    /// directory of a definition without one gets a `Parcels` layer. For large-replica
    /// benchmarks (more later: `POST /admin/generate` `{"polygons": N}`).
    #[arg(long, value_name = "N")]
    pub generate_polygons: Option<u64>,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    init_logging();
    let mut definition = match &args.service {
        Some(path) => ServiceDefinition::load(path)?,
        None => ServiceDefinition::demo()?,
    };
    if !args.users.is_empty() {
        definition = with_users(definition, &args.users)?;
    }
    definition.require_token |= args.require_token;
    check_exposure(args, definition.require_token)?;
    let definition = Some(definition);
    let mut auth = AuthSettings::default();
    if let Some(minutes) = args.token_minutes {
        auth = auth.with_token_lifetime(Duration::from_secs(minutes.saturating_mul(60)));
    }
    if let Some(minutes) = args.refresh_token_minutes {
        auth = auth.with_refresh_token_lifetime(Duration::from_secs(minutes.saturating_mul(60)));
    }
    let config = ServerConfig {
        addr: args.addr,
        data_dir: args.data.clone(),
        definition,
        result_ttl: Duration::from_secs(args.result_ttl),
        admin_key: args.admin_key.clone(),
        job_step_delay: Duration::from_millis(args.job_delay_ms),
        auth,
        tls: tls_source(args),
        public_hosts: args.public_host.clone(),
        generate_polygons: args.generate_polygons,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime
        .block_on(server::serve_until_ctrl_c(config))
        .with_context(|| format!("the reference service failed on {}", args.addr))?;
    Ok(super::exit::OK)
}

/// `--user NAME:PASSWORD`s added to (or replacing the passwords of) the definition's users.
fn with_users(mut def: ServiceDefinition, users: &[String]) -> anyhow::Result<ServiceDefinition> {
    for spec in users {
        let Some((name, password)) = spec
            .split_once(':')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        else {
            anyhow::bail!("--user wants NAME:PASSWORD (got a value without both)");
        };
        let user = UserDef::with_password(name, password)
            .with_context(|| format!("could not hash the password of user {name:?}"))?;
        def.add_or_replace_user(user);
    }
    Ok(def)
}

/// Refuses an anonymous service on a non-loopback address unless `--allow-anonymous`; warns
/// about any service reachable from the network.
fn check_exposure(args: &ServeArgs, require_token: bool) -> anyhow::Result<()> {
    let addr = args.addr;
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !require_token && !args.allow_anonymous {
        anyhow::bail!(
            "refusing to serve an anonymous service on {addr}, which is reachable from the network: add --require-token, or --allow-anonymous to serve it to anyone"
        );
    }
    if require_token {
        eprintln!("warning: the service on {addr} is reachable from the network");
    } else {
        eprintln!(
            "warning: the service on {addr} is reachable from the network and anyone can read and change it (--allow-anonymous)"
        );
    }
    if args.tls_cert.is_none() && !args.tls_self_signed {
        eprintln!(
            "warning: plain HTTP: tokens cross the network unencrypted; use --tls-cert/--tls-key or --tls-self-signed"
        );
    }
    Ok(())
}

/// The certificate to serve, from the TLS flags.
fn tls_source(args: &ServeArgs) -> Option<TlsSource> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        return Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    args.tls_self_signed.then(|| {
        let mut names: Vec<String> = args
            .public_host
            .iter()
            .map(|h| {
                h.rsplit_once(':')
                    .map_or(h.as_str(), |(name, _)| name)
                    .to_string()
            })
            .collect();
        if !args.addr.ip().is_unspecified() {
            names.push(args.addr.ip().to_string());
        }
        TlsSource::SelfSigned { names }
    })
}

/// Logs to stderr, `info` unless `RUST_LOG` says otherwise. Another subscriber already set is fine.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
