//! `syncwatch serve`: runs the reference feature service standalone until Ctrl-C. Only turns
//! flags into a `server::ServerConfig`; everything else is the `server` module.

use crate::server::{self, ServerConfig, ServiceDefinition};
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
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    init_logging();
    let definition = match &args.service {
        Some(path) => Some(ServiceDefinition::load(path)?),
        None => None,
    };
    let config = ServerConfig {
        addr: args.addr,
        data_dir: args.data.clone(),
        definition,
        result_ttl: Duration::from_secs(args.result_ttl),
        admin_key: args.admin_key.clone(),
        job_step_delay: Duration::from_millis(args.job_delay_ms),
    };
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime
        .block_on(server::serve_until_ctrl_c(config))
        .with_context(|| format!("the reference service failed on {}", args.addr))?;
    Ok(super::exit::OK)
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
