//! `syncwatch service-replicas <url>`: every replica the service lists for the signed-in user
//! (an administrator sees all), with owner, dates, sync model and direction from each one's
//! info, "stale" when not synced for `--stale-days`, and the ones this laptop holds marked.
//! With `--unregister ID…` it unregisters those replicas after a confirmation that names them:
//! `--yes`, or "y" on a terminal; with no terminal and no `--yes` it refuses and says how.

use super::session::{Session, data_dir, print_json, when};
use super::terminal::{errln, outln};
use crate::engine::{Command, Event, ServiceReplica, UnregisterResult};
use crate::model::{DEFAULT_STALE_DAYS, is_stale, now_ms};
use crate::protocol::Guid;
use anyhow::{Context, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ServiceReplicasArgs {
    /// The feature service, `…/FeatureServer`.
    pub url: String,
    /// Mark replicas not synced for this many days as stale (0: none).
    #[arg(long, default_value_t = DEFAULT_STALE_DAYS, value_name = "N")]
    pub stale_days: u32,
    /// Unregister these replicas (replicaIDs) on the service, after a confirmation.
    #[arg(long, num_args = 1.., value_name = "ID")]
    pub unregister: Vec<String>,
    /// Confirm --unregister without asking.
    #[arg(long)]
    pub yes: bool,
    /// Token for a secured service when no account is signed in there (never printed).
    #[arg(long, env = "SYNCWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A row of `--json`: the replica and whether it is stale.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    replica: &'a ServiceReplica,
    stale: bool,
}

pub fn run(args: &ServiceReplicasArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let ids = parse_ids(&args.unregister)?;
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let result = run_in(&session, args, &ids);
    session.shutdown();
    result
}

fn parse_ids(texts: &[String]) -> anyhow::Result<Vec<Guid>> {
    texts
        .iter()
        .map(|t| {
            Guid::parse(t).map_err(|e| anyhow::anyhow!("{t:?} is not a replicaID ({e}); see `syncwatch service-replicas URL` for the ids"))
        })
        .collect()
}

fn run_in(session: &Session, args: &ServiceReplicasArgs, ids: &[Guid]) -> anyhow::Result<u8> {
    let replicas = load(session, args)?;
    if ids.is_empty() {
        print_list(args, &replicas)?;
        return Ok(super::exit::OK);
    }
    let chosen = choose(&replicas, ids, &args.url)?;
    if !args.yes && !confirmed(&chosen)? {
        errln!("nothing unregistered");
        return Ok(super::exit::FAILED);
    }
    let results = session.ask(
        Command::UnregisterServiceReplicas {
            service_url: args.url.clone(),
            token: args.token.clone().map(Into::into),
            replicas: chosen
                .iter()
                .map(|r| (r.replica_id.clone(), r.name.clone()))
                .collect(),
        },
        |e| match e {
            Event::ServiceReplicasUnregistered { results, .. } => Some(results.clone()),
            _ => None,
        },
    )?;
    print_results(args.json, &results)?;
    let all_done = results.iter().all(|r| r.unregistered);
    Ok(if all_done {
        super::exit::OK
    } else {
        super::exit::FAILED
    })
}

fn load(session: &Session, args: &ServiceReplicasArgs) -> anyhow::Result<Vec<ServiceReplica>> {
    let command = Command::LoadServiceReplicas {
        service_url: args.url.clone(),
        token: args.token.clone().map(Into::into),
    };
    session.ask(command, |e| match e {
        Event::ServiceReplicasLoaded { replicas, .. } => Some(replicas.clone()),
        _ => None,
    })
}

/// The listed replicas with these ids; an id the service does not list is an error.
fn choose(
    replicas: &[ServiceReplica],
    ids: &[Guid],
    url: &str,
) -> anyhow::Result<Vec<ServiceReplica>> {
    ids.iter()
        .map(|id| {
            replicas
                .iter()
                .find(|r| &r.replica_id == id)
                .cloned()
                .with_context(|| {
                    format!("the service lists no replica {id} for you; see `syncwatch service-replicas {url}`")
                })
        })
        .collect()
}

/// Names the replicas and asks on the terminal; without one, refuses and says how to confirm.
fn confirmed(chosen: &[ServiceReplica]) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not unregistering {} without a confirmation: standard input is not a terminal; pass --yes to confirm",
            names(chosen)
        );
    }
    errln!("About to unregister on the service: {}", names(chosen));
    for r in chosen.iter().filter(|r| r.held_here) {
        errln!(
            "  {} is held on this laptop: its unsynced edits cannot be sent and it will need a client reset",
            r.name
        );
    }
    eprint!("Unregister {}? [y/N] ", chosen.len());
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn names(chosen: &[ServiceReplica]) -> String {
    chosen
        .iter()
        .map(|r| format!("{} ({})", r.name, r.replica_id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_list(args: &ServiceReplicasArgs, replicas: &[ServiceReplica]) -> anyhow::Result<()> {
    let now = now_ms();
    let stale = |r: &ServiceReplica| is_stale(r.last_activity_ms(), now, args.stale_days);
    if args.json {
        let rows: Vec<JsonRow<'_>> = replicas
            .iter()
            .map(|replica| JsonRow {
                replica,
                stale: stale(replica),
            })
            .collect();
        return print_json(&rows);
    }
    if replicas.is_empty() {
        outln!("the service lists no replicas for you");
    }
    for r in replicas {
        let mut marks = Vec::new();
        if stale(r) {
            marks.push(format!("stale: no sync for {}+ days", args.stale_days));
        }
        if r.held_here {
            marks.push("this laptop".to_owned());
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" [{}]", marks.join(", "))
        };
        outln!("{} {}{marks}", r.name, r.replica_id);
        if let Some(error) = &r.error {
            outln!("    info failed: {error}");
            continue;
        }
        let text = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        outln!("    owner:      {}", text(r.owner.clone()));
        outln!("    created:    {}", when(r.created_ms));
        outln!("    last sync:  {}", when(r.last_sync_ms));
        outln!(
            "    sync model: {} ({})",
            text(r.sync_model.map(|m| m.to_string())),
            text(r.sync_direction.map(|d| d.to_string()))
        );
        outln!("    area:       {}", text(r.area.clone()));
    }
    Ok(())
}

fn print_results(json: bool, results: &[UnregisterResult]) -> anyhow::Result<()> {
    if json {
        return print_json(&results);
    }
    for r in results {
        match (&r.error, r.already_gone) {
            (Some(error), _) => outln!("failed {} ({}): {error}", r.name, r.replica_id),
            (None, true) => outln!("already gone {} ({})", r.name, r.replica_id),
            (None, false) => outln!("unregistered {} ({})", r.name, r.replica_id),
        }
        if r.held_here && r.unregistered {
            outln!(
                "    held on this laptop: its next sync needs a client reset (`syncwatch reset {}`)",
                r.name
            );
        }
    }
    Ok(())
}
