//! `syncwatch sync`: synchronize one replica and report how it ended, after the refusals the
//! service's rules predicted before the upload (and what the replica's policy did with them),
//! asking its result in `--download-format`.
//! Exit code 0 when every edit was accepted, 1 when the server refused some (they stay queued)
//! or conflicting edits are held (reported on their own line),
//! 2 when the sync failed, 3 when the replica needs a client reset, 4 when a sign-in is needed
//! (the sync waits in the engine; this command reports and exits).

use super::session::{
    JobEnd, Predicted, Session, data_dir, parse_download_format, print_json, use_download_format,
};
use super::terminal::{errln, outln};
use crate::engine::{Command, DownloadFormat, EditResultRecord, PredictedPolicy, SyncOptions};
use crate::protocol::{JobState, SyncDirection};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// bidirectional (default), upload or download.
    #[arg(long, default_value = "bidirectional", value_parser = parse_direction)]
    pub direction: SyncDirection,
    /// Run it as an async job on the service and poll its status.
    #[arg(long = "async")]
    pub is_async: bool,
    /// One refused edit rolls back every edit of the upload.
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// The result format to ask the service for: auto (the default: SQLite only from a service
    /// that says its SQLite results are syncwatch deltas, the reference service; JSON from
    /// ArcGIS, whose SQLite result is a mobile geodatabase syncwatch cannot read), json or
    /// sqlite.
    #[arg(long, default_value = "auto", value_parser = parse_download_format)]
    pub download_format: DownloadFormat,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_direction(text: &str) -> Result<SyncDirection, String> {
    match text.parse::<SyncDirection>()? {
        SyncDirection::Snapshot => Err("use bidirectional, upload or download".into()),
        direction => Ok(direction),
    }
}

pub fn run(args: &SyncArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    use_download_format(args.download_format);
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let options = SyncOptions {
        direction: args.direction,
        is_async: args.is_async,
        rollback_on_failure: args.rollback_on_failure,
    };
    let end = session.run_job(
        Command::SyncNow {
            replica: summary.id,
            options,
        },
        "sync",
    );
    session.shutdown();
    match end? {
        JobEnd::Completed {
            outcome, predicted, ..
        } => {
            let refused = outcome.state == JobState::CompletedWithErrors;
            if args.json {
                print_json(&serde_json::json!({
                    "replica": summary.name, "outcome": outcome, "predicted": predicted,
                }))?;
            } else {
                if let Some(predicted) = &predicted {
                    print_predicted(predicted);
                }
                outln!(
                    "{}: {} — uploaded {}, downloaded {}, refused {}",
                    summary.name,
                    outcome.state.as_str(),
                    outcome.uploaded,
                    outcome.downloaded,
                    outcome.failed_edits
                );
                if outcome.held_conflicts > 0 {
                    outln!(
                        "{} edit(s) held: they conflict with newer changes on the service; see `syncwatch conflicts {}`",
                        outcome.held_conflicts,
                        summary.name
                    );
                }
                if refused && outcome.failed_edits > 0 {
                    outln!(
                        "refused edits stay queued; see `syncwatch results {} --failed`",
                        summary.name
                    );
                }
            }
            Ok(if refused {
                super::exit::EDITS_REFUSED
            } else {
                super::exit::OK
            })
        }
        JobEnd::Failed { error, .. } if error.class == crate::engine::FailureClass::SignIn => {
            report_sign_in(args.json, &error.message)
        }
        JobEnd::Failed { error, .. } => report_failure(args.json, &error.message),
        JobEnd::ResetRequired { reason, .. } => report_reset(args.json, &reason),
        JobEnd::SignInNeeded { reason, .. } => report_sign_in(args.json, &reason),
    }
}

/// The refusals predicted before the upload, one line each, and what the policy did.
fn print_predicted(predicted: &Predicted) {
    outln!(
        "{} queued edit(s) predicted to be refused (policy: {}):",
        predicted.rows.len(),
        predicted.policy.label()
    );
    for row in &predicted.rows {
        outln!("  {}", predicted_line(row));
    }
    match predicted.policy {
        PredictedPolicy::Hold => outln!(
            "{} held back locally until fixed or dropped",
            predicted.held
        ),
        PredictedPolicy::EditableOnly => {
            outln!("{} sent with only their editable fields", predicted.trimmed)
        }
        PredictedPolicy::Send => {}
    }
}

/// `predicted 1001 layer 0 (Hydrants) update {…}: Field: … is not nullable. …`
pub(super) fn predicted_line(row: &EditResultRecord) -> String {
    format!(
        "predicted {} layer {} ({}) {} {}: {}",
        row.code.map_or_else(|| "-".to_string(), |c| c.to_string()),
        row.layer_id,
        row.layer_name,
        row.change_type.label(),
        row.global_id
            .as_ref()
            .map_or_else(|| "-".to_string(), |g| g.to_string()),
        row.description
    )
}

/// A failed job: the reason on one line (stderr; also JSON on stdout with `--json`).
pub(super) fn report_failure(json: bool, message: &str) -> anyhow::Result<u8> {
    let line = message.replace('\n', " ");
    if json {
        print_json(&serde_json::json!({ "state": "Failed", "error": line }))?;
    }
    errln!("syncwatch: {line}");
    Ok(super::exit::FAILED)
}

/// The service wants a sign-in that only the user can give (exit code 4).
pub(super) fn report_sign_in(json: bool, reason: &str) -> anyhow::Result<u8> {
    let line = reason.replace('\n', " ");
    if json {
        print_json(&serde_json::json!({ "state": "SignInNeeded", "reason": line }))?;
    }
    errln!("syncwatch: sign-in needed: {line}; run `syncwatch login <url>`");
    Ok(super::exit::SIGN_IN_NEEDED)
}

/// The replica needs a client reset.
pub(super) fn report_reset(json: bool, reason: &str) -> anyhow::Result<u8> {
    let line = reason.replace('\n', " ");
    if json {
        print_json(&serde_json::json!({ "state": "ResetRequired", "reason": line }))?;
    }
    errln!("syncwatch: the replica needs a client reset: {line}");
    Ok(super::exit::RESET_REQUIRED)
}
