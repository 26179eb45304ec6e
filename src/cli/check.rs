//! `syncwatch check`: the refusals the service's rules (cached in the replica file, so this works
//! offline) predict for the replica's queued local changes, with the server's description and
//! the catalog's guidance. Exit code 0 when none are predicted, 1 when some are.

use super::session::{Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::EditResultRecord;
use crate::protocol::catalog;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CheckArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let rows = session.edit_results(summary.id);
    session.shutdown();
    let predicted: Vec<EditResultRecord> = rows?.iter().filter(|r| r.predicted).cloned().collect();
    if args.json {
        print_json(&serde_json::json!({
            "replica": summary.name,
            "policy": summary.predicted_policy,
            "predicted": predicted,
        }))?;
    } else if predicted.is_empty() {
        outln!(
            "{}: no queued edit is predicted to be refused",
            summary.name
        );
    } else {
        outln!(
            "{}: {} queued edit(s) predicted to be refused (policy on sync: {})",
            summary.name,
            predicted.len(),
            summary.predicted_policy.label()
        );
        for row in &predicted {
            outln!("{}", super::sync::predicted_line(row));
            if let Some(entry) = row.code.and_then(catalog::for_edit_result) {
                outln!("    to address: {}", entry.how_to_address);
            }
        }
    }
    Ok(if predicted.is_empty() {
        super::exit::OK
    } else {
        super::exit::EDITS_REFUSED
    })
}
