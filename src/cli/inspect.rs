//! `syncwatch inspect FILE [--json] [--check]`: an ArcGIS offline map (mobile geodatabase) read
//! without changing it: its replica (id, service, owner, sync model, dates), each dataset's
//! generations, rows and local changes, the changes the service's rules would refuse, which app
//! syncs it and, with `--check`, the replica checked against its service. A file that is not an
//! offline map gets one line and exit code 2; predicted refusals exit 1; with `--check`, a
//! replica the service no longer knows exits 3.
//!
//! What it must not do: write to the file or sync it (the app that made it syncs it).

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use crate::engine::{Command, Event, OfflineCheck, OfflineHealth, OfflineMap};
use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The offline map: a `.geodatabase` file made by ArcGIS Pro, Field Maps or Collector.
    pub file: PathBuf,
    /// Also check the replica against its service (registered? its last sync and generation).
    #[arg(long)]
    pub check: bool,
    /// Token for a secured service when no account is signed in there (never printed).
    #[arg(long, env = "SYNCWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--json`: the map, its health and the check.
#[derive(serde::Serialize)]
struct JsonInspect<'a> {
    #[serde(flatten)]
    map: &'a OfflineMap,
    health: OfflineHealth,
    sync_note: String,
    check: Option<&'a OfflineCheck>,
}

pub fn run(args: &InspectArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let path = std::path::absolute(&args.file)
        .with_context(|| format!("{}: not a usable path", args.file.display()))?;
    let (map, check) = if args.check {
        let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
        let result = read_and_check(&session, &path, args.token.clone());
        session.shutdown();
        let (map, check) = result?;
        (map, Some(check))
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .context("could not start the async runtime")?;
        let map = runtime
            .block_on(crate::engine::offline_maps::read(path))
            .map_err(|e| anyhow!(e))?;
        (map, None)
    };
    let health = map.health(check.as_ref());
    if args.json {
        print_json(&JsonInspect {
            map: &map,
            health,
            sync_note: map.made_by.sync_note(),
            check: check.as_ref(),
        })?;
    } else {
        print_text(&map, check.as_ref(), health);
    }
    Ok(match health {
        OfflineHealth::NotRegistered => super::exit::RESET_REQUIRED,
        OfflineHealth::PredictedRefusals => super::exit::EDITS_REFUSED,
        _ => super::exit::OK,
    })
}

fn read_and_check(
    session: &Session,
    path: &Path,
    token: Option<String>,
) -> anyhow::Result<(OfflineMap, OfflineCheck)> {
    let map = session.ask(
        Command::OpenOfflineMap {
            path: path.to_path_buf(),
            token: token.map(Into::into),
        },
        |e| match e {
            Event::OfflineMapRead { map } if map.path == path => Some(Ok(map.clone())),
            Event::OfflineMapFailed { path: p, error } if p == path => {
                Some(Err(anyhow!("{error}")))
            }
            _ => None,
        },
    )??;
    let check = session.wait_for(|e| match e {
        Event::OfflineMapChecked { path: p, check } if p == path => Some(check.clone()),
        _ => None,
    })?;
    Ok((map, check))
}

fn print_text(map: &OfflineMap, check: Option<&OfflineCheck>, health: OfflineHealth) {
    let r = &map.replica;
    outln!("{} — ArcGIS offline map ({})", r.name, map.path.display());
    outln!("replica {}  owner {}", r.replica_id, r.owner);
    outln!("service {}", r.service_url);
    outln!(
        "sync model {}  direction {}",
        r.sync_model
            .map(|m| m.to_string())
            .unwrap_or_else(|| "?".into()),
        r.direction
            .map(|d| d.to_string())
            .unwrap_or_else(|| "?".into())
    );
    outln!(
        "created {}  last sync {}",
        when(r.created_ms),
        when(r.last_sync_ms)
    );
    outln!(
        "made by {}: {}",
        map.made_by.label(),
        map.made_by.sync_note()
    );
    outln!("health: {}", health.label());
    for d in &map.datasets {
        let generation = |g: Option<i64>| g.map(|g| g.to_string()).unwrap_or_else(|| "?".into());
        outln!(
            "  {} (layer {}, {}): {} rows; server gen {}, upload {}, download {}, ack {}; {} adds, {} updates, {} deletes",
            d.table,
            d.layer_id,
            d.dataset_type,
            d.rows
                .map(|n| n.to_string())
                .unwrap_or_else(|| "no table".into()),
            generation(d.server_gen),
            generation(d.client_upload_gen),
            generation(d.client_download_gen),
            generation(d.client_acknowledge_upload_gen),
            d.changes.adds,
            d.changes.updates,
            d.changes.deletes
        );
    }
    outln!("attachments: {}", map.attachments);
    if map.predicted.is_empty() {
        outln!("predicted refusals: none");
    } else {
        outln!("predicted refusals: {}", map.predicted.len());
        for p in &map.predicted {
            outln!(
                "  {} {:?} {}: {} {}",
                p.table,
                p.kind,
                p.global_id,
                p.code,
                p.description
            );
        }
    }
    if let Some(check) = check {
        outln!("service check: {}", check.summary());
    }
}
