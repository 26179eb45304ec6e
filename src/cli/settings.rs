//! `syncwatch settings`: show a replica's settings, or change what its syncs do with local edits
//! the service's rules predict it will refuse (`--predicted send|hold|editable-only`) and with
//! edits that conflict with newer server changes (`--conflicts ask|mine|server`).

use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{
    Command, ConflictPolicy, Event, LocalReplicaId, PredictedPolicy, ReplicaSummary,
};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// What a sync does with edits predicted to be refused: send (send anyway, the default),
    /// hold (keep them queued locally until fixed or dropped) or editable-only (send updates
    /// and adds with only their editable fields).
    #[arg(long, value_parser = parse_policy)]
    pub predicted: Option<PredictedPolicy>,
    /// What a sync does with edits that conflict with newer server changes: ask (hold them
    /// until resolved, the default), mine (the upload wins; recorded) or server (the
    /// conflicting local fields are dropped).
    #[arg(long, value_parser = parse_conflict_policy)]
    pub conflicts: Option<ConflictPolicy>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_policy(text: &str) -> Result<PredictedPolicy, String> {
    PredictedPolicy::parse(text)
        .ok_or_else(|| format!("{text:?} is not a policy; use send, hold or editable-only"))
}

fn parse_conflict_policy(text: &str) -> Result<ConflictPolicy, String> {
    ConflictPolicy::parse(text)
        .ok_or_else(|| format!("{text:?} is not a conflict policy; use ask, mine or server"))
}

/// Whether a replica's summary shows a setting applied.
type Applied = Box<dyn Fn(&ReplicaSummary) -> bool>;

/// Sends one setting change and waits for the replica's summary that shows it applied.
fn set(
    session: &Session,
    replica: LocalReplicaId,
    command: Command,
    applied: &dyn Fn(&ReplicaSummary) -> bool,
) -> anyhow::Result<ReplicaSummary> {
    session.ask(command, |e| match e {
        Event::ReplicaChanged { summary } if summary.id == replica && applied(summary) => {
            Some(summary.clone())
        }
        _ => None,
    })
}

pub fn run(args: &SettingsArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let (session, mut summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let changes = [
        args.predicted.map(|policy| {
            let command = Command::SetPredictedPolicy {
                replica: summary.id,
                policy,
            };
            (
                command,
                Box::new(move |s: &ReplicaSummary| s.predicted_policy == policy) as Applied,
            )
        }),
        args.conflicts.map(|policy| {
            let command = Command::SetConflictPolicy {
                replica: summary.id,
                policy,
            };
            (
                command,
                Box::new(move |s: &ReplicaSummary| s.conflict_policy == policy) as Applied,
            )
        }),
    ];
    for (command, applied) in changes.into_iter().flatten() {
        match set(&session, summary.id, command, &*applied) {
            Ok(s) => summary = s,
            Err(e) => {
                session.shutdown();
                return Err(e);
            }
        }
    }
    session.shutdown();
    if args.json {
        print_json(&serde_json::json!({
            "replica": summary.name,
            "predicted": summary.predicted_policy,
            "conflicts": summary.conflict_policy,
            "resetMode": summary.reset_mode,
        }))?;
    } else {
        outln!("{}", summary.name);
        outln!(
            "  predicted refusals: {} ({})",
            summary.predicted_policy.as_str(),
            summary.predicted_policy.label()
        );
        outln!(
            "  conflicts:          {} ({})",
            summary.conflict_policy.as_str(),
            summary.conflict_policy.label()
        );
        outln!("  client reset mode:  {}", summary.reset_mode.label());
    }
    Ok(super::exit::OK)
}
