//! `syncwatch serve`: runs the reference feature service standalone until Ctrl-C. Only turns
//! flags into a `server::ServerConfig`; everything else is the `server` module.

use crate::server::{self, AuthSettings, ServerConfig, ServiceDefinition, UserDef};
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
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    init_logging();
    let mut definition = match &args.service {
        Some(path) => Some(ServiceDefinition::load(path)?),
        None => None,
    };
    if !args.users.is_empty() {
        let def = match definition.take() {
            Some(def) => def,
            None => ServiceDefinition::demo()?,
        };
        definition = Some(with_users(def, &args.users)?);
    }
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

/// Logs to stderr, `info` unless `RUST_LOG` says otherwise. Another subscriber already set is fine.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
