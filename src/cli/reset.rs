//! `syncwatch reset`: a client reset of one replica (the modes of ARCHITECTURE.md, "Client
//! reset"). Without `--yes`, a manual reset (or an automatic one that fell back to manual) prints
//! its plan and exits 3, changing nothing; with `--yes` the plan is confirmed. Exit 0 when the
//! reset (and the upload of what it recovered) finished, 1 when that upload had refused edits, 2
//! when the reset failed.

use super::session::{Session, data_dir, print_json};
use super::terminal::{errln, outln};
use crate::engine::{
    Command, CommandId, Event, JobId, LocalReplicaId, ResetMode, ResetPlan, ResetReport,
};
use crate::protocol::JobState;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// recover-or-discard, recover, discard or manual (default: the replica's setting).
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<ResetMode>,
    /// Confirm a manual reset (or a fallback to manual) without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_mode(text: &str) -> Result<ResetMode, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "recover-or-discard" | "recoverordiscard" => Ok(ResetMode::RecoverOrDiscard),
        "recover" => Ok(ResetMode::Recover),
        "discard" => Ok(ResetMode::Discard),
        "manual" => Ok(ResetMode::Manual),
        _ => Err(format!(
            "{text:?} is not a mode; use recover-or-discard, recover, discard or manual"
        )),
    }
}

pub fn run(args: &ResetArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let result = session.resolve(&args.replica).and_then(|summary| {
        follow_reset(
            &session,
            args,
            summary.id,
            args.mode.unwrap_or(summary.reset_mode),
        )
    });
    session.shutdown();
    let (code, report) = result?;
    if args.json {
        print_json(&report)?;
    }
    Ok(code)
}

/// Drives the reset through the engine's events; returns the exit code and a JSON report.
fn follow_reset(
    session: &Session,
    args: &ResetArgs,
    replica: LocalReplicaId,
    mode: ResetMode,
) -> anyhow::Result<(u8, serde_json::Value)> {
    let mut ours = vec![session.submit(Command::Reset { replica, mode })?];
    let mut current_job: Option<JobId> = None;
    let mut finished: Option<ResetReport> = None;
    let mut upload_job: Option<JobId> = None;
    loop {
        let event = session.wait_for(|e| concerns(e, replica, &ours).then(|| e.clone()))?;
        match event {
            Event::CommandFailed { error, .. } => {
                return Err(anyhow::anyhow!("{}", error.message));
            }
            Event::JobQueued { job, .. } if finished.is_some() => upload_job = Some(job),
            Event::JobQueued { job, .. } => current_job = Some(job),
            Event::BeforeReset { plan } if !args.json => {
                outln!("backing up to {} …", plan.backup_dir.display());
            }
            Event::ManualResetFallback { error, .. } if !args.json => {
                errln!("syncwatch: the automatic reset fell back to manual: {error}");
            }
            Event::ResetAwaitingConfirmation {
                plan,
                fallback_error,
            } => {
                if !args.yes {
                    return Ok((
                        super::exit::RESET_REQUIRED,
                        awaiting(args.json, &plan, fallback_error.as_deref()),
                    ));
                }
                ours.push(session.submit(Command::ConfirmReset { replica })?);
            }
            Event::AfterRecovery { report } | Event::AfterDiscard { report } => {
                if !args.json {
                    print_report(&report);
                }
                let uploads =
                    report.mode_used == ResetMode::Recover && !report.recovered.is_empty();
                if !uploads {
                    return Ok((super::exit::OK, serde_json::json!({ "reset": report })));
                }
                finished = Some(report);
            }
            Event::JobCompleted { job, outcome, .. } if Some(job) == upload_job => {
                if !args.json {
                    outln!(
                        "uploaded {} recovered edit(s); {} refused",
                        outcome.uploaded,
                        outcome.failed_edits
                    );
                }
                let code = if outcome.state == JobState::CompletedWithErrors {
                    super::exit::EDITS_REFUSED
                } else {
                    super::exit::OK
                };
                return Ok((
                    code,
                    serde_json::json!({ "reset": finished, "upload": outcome }),
                ));
            }
            Event::JobFailed { job, error, .. }
                if Some(job) == current_job || Some(job) == upload_job =>
            {
                let line = error.message.replace('\n', " ");
                errln!("syncwatch: {line}");
                return Ok((
                    super::exit::FAILED,
                    serde_json::json!({ "state": "Failed", "error": line, "reset": finished }),
                ));
            }
            _ => {}
        }
    }
}

fn concerns(event: &Event, replica: LocalReplicaId, ours: &[CommandId]) -> bool {
    match event {
        Event::CommandFailed {
            command: Some(c), ..
        } => ours.contains(c),
        Event::JobQueued { replica: r, .. }
        | Event::JobCompleted { replica: r, .. }
        | Event::JobFailed { replica: r, .. }
        | Event::ManualResetFallback { replica: r, .. } => *r == replica,
        Event::BeforeReset { plan } | Event::ResetAwaitingConfirmation { plan, .. } => {
            plan.replica == replica
        }
        Event::AfterRecovery { report } | Event::AfterDiscard { report } => {
            report.replica == replica
        }
        _ => false,
    }
}

fn awaiting(json: bool, plan: &ResetPlan, fallback_error: Option<&str>) -> serde_json::Value {
    if !json {
        outln!(
            "{} needs a client reset: {}",
            plan.replica_name,
            plan.reason
        );
        if let Some(error) = fallback_error {
            outln!("the automatic reset did not finish: {error}");
        }
        outln!("unsynced local changes (kept only in the backup after a manual reset):");
        for c in &plan.changes {
            outln!(
                "  {} ({}): {} adds, {} updates, {} deletes",
                c.layer_name,
                c.layer_id,
                c.adds,
                c.updates,
                c.deletes
            );
        }
        outln!("backups go to {}", plan.backup_dir.display());
        outln!("nothing was changed; run again with --yes to back up and reset");
    }
    serde_json::json!({ "state": "AwaitingConfirmation", "plan": plan, "fallbackError": fallback_error })
}

fn print_report(report: &ResetReport) {
    outln!(
        "reset done ({}): {} recovered, {} discarded",
        report.mode_used.label(),
        report.recovered.len(),
        report.discarded.len()
    );
    for o in &report.recovered {
        outln!(
            "  kept      layer {} {} — {}",
            o.layer_id,
            o.global_id,
            o.note
        );
    }
    for o in &report.discarded {
        outln!(
            "  discarded layer {} {} — {}",
            o.layer_id,
            o.global_id,
            o.note
        );
    }
    for f in &report.backup_files {
        outln!("backup: {}", f.display());
    }
}
