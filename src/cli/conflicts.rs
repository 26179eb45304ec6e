//! `syncwatch conflicts <replica>`: the replica's recorded conflicts (held ones wait for
//! `syncwatch resolve`), each conflicting field with what the technician started from, their
//! value and the server's, and the server's editor and edit time when the layer tracks them.
//! Exit code 1 while any conflict is held, else 0. Talks to no service.

use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{Command, Conflict, ConflictStatus, Event};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ConflictsArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The replica's conflicts and policy, asked of the engine.
pub(super) fn load(
    session: &Session,
    replica: crate::engine::LocalReplicaId,
) -> anyhow::Result<(crate::engine::ConflictPolicy, Vec<Conflict>)> {
    session.ask(Command::LoadConflicts { replica }, |e| match e {
        Event::ConflictsReady {
            replica: r,
            policy,
            conflicts,
        } if *r == replica => Some((*policy, conflicts.clone())),
        _ => None,
    })
}

/// A value as one short line (`null` for none).
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

pub(super) fn print_conflict(conflict: &Conflict) {
    outln!(
        "{} layer {} ({}) {}: {}",
        conflict.global_id,
        conflict.layer_id,
        conflict.layer_name,
        conflict.kind.as_str(),
        conflict.status.as_str()
    );
    if let Some(editor) = &conflict.server_editor {
        let when = conflict
            .server_edited_ms
            .map(|ms| format!(" at {}", super::session::when(Some(ms))))
            .unwrap_or_default();
        outln!("  server edit by {editor}{when}");
    }
    for field in &conflict.fields {
        outln!(
            "  {}: started from {} | mine {} | server {}",
            field.name,
            shown(&field.started_from),
            shown(&field.mine),
            shown(&field.server)
        );
    }
}

pub fn run(args: &ConflictsArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let loaded = session
        .resolve(&args.replica)
        .and_then(|summary| Ok((summary.clone(), load(&session, summary.id)?)));
    session.shutdown();
    let (summary, (policy, conflicts)) = loaded?;
    let held = conflicts
        .iter()
        .filter(|c| c.status == ConflictStatus::Held)
        .count();
    if args.json {
        print_json(&serde_json::json!({
            "replica": summary.name, "policy": policy, "held": held, "conflicts": conflicts,
        }))?;
    } else {
        outln!(
            "{}: {} conflict(s), {held} held (policy: {})",
            summary.name,
            conflicts.len(),
            policy.label()
        );
        for conflict in &conflicts {
            print_conflict(conflict);
        }
        if held > 0 {
            outln!(
                "resolve with `syncwatch resolve {} <globalid> --keep mine|server` or --field NAME=mine|server|VALUE",
                summary.name
            );
        }
    }
    Ok(if held > 0 {
        super::exit::EDITS_REFUSED
    } else {
        super::exit::OK
    })
}
