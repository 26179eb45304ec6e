//! `syncwatch service <url>`: the service browser's facts on the terminal — name, description,
//! spatial reference, full extent, sync capabilities, and every layer and table with its id,
//! name, geometry type, feature count, attachments and sync. `--json` prints the facts as the
//! engine gives them. Creates nothing on the service.

use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{Command, Event};
use crate::model::{ServiceFacts, geometry_label};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// The feature service, `…/FeatureServer`.
    pub url: String,
    /// Token for a secured service when no account is signed in there (never printed).
    #[arg(long, env = "SYNCWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ServiceArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let facts = describe(&session, &args.url, args.token.as_deref());
    session.shutdown();
    let facts = facts?;
    if args.json {
        print_json(&facts)?;
    } else {
        print_facts(&facts);
    }
    Ok(super::exit::OK)
}

/// The service's facts through the engine ([`Command::DescribeService`]).
pub(super) fn describe(
    session: &Session,
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<ServiceFacts> {
    let command = Command::DescribeService {
        service_url: url.to_string(),
        token: token.map(|t| t.to_string().into()),
    };
    session.ask(command, |e| match e {
        Event::ServiceDescribed { facts } => Some(facts.as_ref().clone()),
        _ => None,
    })
}

fn print_facts(f: &ServiceFacts) {
    outln!("{}", f.name);
    if !f.description.is_empty() {
        outln!("  {}", f.description);
    }
    let sr = f
        .wkid
        .map(|w| w.to_string())
        .unwrap_or_else(|| "unknown".into());
    outln!("spatial reference: wkid {sr}");
    if let Some(e) = &f.full_extent {
        outln!("full extent: {}", e.to_text());
    }
    let c = &f.sync_capabilities;
    let yes = |b: bool| if b { "yes" } else { "no" };
    outln!(
        "sync: {}; per replica {}, per layer {}, async {}, rollback {}, sync direction control {}, attachments sync direction {}",
        if f.sync_enabled {
            "enabled"
        } else {
            "not enabled"
        },
        yes(c.supports_per_replica_sync),
        yes(c.supports_per_layer_sync),
        yes(c.supports_async),
        yes(c.supports_rollback_on_failure),
        yes(c.supports_sync_direction_control),
        yes(c.supports_attachments_sync_direction),
    );
    outln!(
        "{:>4}  {:<24} {:<10} {:>8}  {:<11} sync",
        "id",
        "name",
        "geometry",
        "features",
        "attachments"
    );
    for l in &f.layers {
        let count = l
            .feature_count
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into());
        outln!(
            "{:>4}  {:<24} {:<10} {:>8}  {:<11} {}",
            l.id,
            l.name,
            geometry_label(l.geometry_type.as_deref()),
            count,
            yes(l.has_attachments),
            yes(l.sync_enabled)
        );
    }
}
