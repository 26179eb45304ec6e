//! `syncwatch resolve <replica> <globalid>`: resolve one held conflict, for the whole feature
//! (`--keep mine|server`) or field by field (`--field NAME=mine|server|VALUE`, repeated; a VALUE
//! is JSON when it parses as JSON, else text). The resolved edit goes out on the next sync,
//! checked again first. Talks to no service.

use super::conflicts::{load, print_conflict};
use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{Command, Event, FieldChoice, Resolution, Side};
use crate::protocol::Guid;
use anyhow::{anyhow, bail};
use std::path::Path;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["keep", "field"])))]
pub struct ResolveArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// The conflicting feature's GlobalID.
    pub global_id: String,
    /// The whole feature: keep mine (sent over the server's) or take the server's.
    #[arg(long, value_parser = parse_side)]
    pub keep: Option<Side>,
    /// One field: NAME=mine, NAME=server or NAME=VALUE (repeat for more fields).
    #[arg(long, value_name = "NAME=CHOICE")]
    pub field: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_side(text: &str) -> Result<Side, String> {
    Side::parse(text).ok_or_else(|| format!("{text:?}: use mine or server"))
}

fn resolution(args: &ResolveArgs) -> anyhow::Result<Resolution> {
    if let Some(side) = args.keep {
        return Ok(Resolution::Whole(side));
    }
    let mut choices = Vec::new();
    for text in &args.field {
        let Some((name, choice)) = text.split_once('=') else {
            bail!("--field {text:?}: expected NAME=mine, NAME=server or NAME=VALUE");
        };
        choices.push((name.trim().to_string(), FieldChoice::parse(choice)));
    }
    Ok(Resolution::Fields(choices))
}

pub fn run(args: &ResolveArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let resolution = resolution(args)?;
    let global_id = Guid::parse(&args.global_id).map_err(|e| anyhow!("{e}"))?;
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let done = resolve_in(&session, args, &global_id, resolution);
    session.shutdown();
    let (name, left) = done?;
    if args.json {
        print_json(&serde_json::json!({ "replica": name, "conflicts": left }))?;
    } else {
        match left.iter().find(|c| c.global_id == global_id) {
            Some(still) => {
                outln!("{name}: partly resolved; still in conflict:");
                print_conflict(still);
            }
            None => outln!("{name}: resolved {global_id}; it goes out on the next sync"),
        }
    }
    Ok(super::exit::OK)
}

fn resolve_in(
    session: &Session,
    args: &ResolveArgs,
    global_id: &Guid,
    resolution: Resolution,
) -> anyhow::Result<(String, Vec<crate::engine::Conflict>)> {
    let summary = session.resolve(&args.replica)?;
    let (_, conflicts) = load(session, summary.id)?;
    let Some(conflict) = conflicts.iter().find(|c| &c.global_id == global_id) else {
        bail!("{} has no conflict for {global_id}", summary.name);
    };
    let replica = summary.id;
    let left = session.ask(
        Command::ResolveConflict {
            replica,
            layer_id: conflict.layer_id,
            global_id: global_id.clone(),
            resolution,
        },
        |e| match e {
            Event::ConflictsReady {
                replica: r,
                conflicts,
                ..
            } if *r == replica => Some(conflicts.clone()),
            _ => None,
        },
    )?;
    Ok((summary.name, left))
}
