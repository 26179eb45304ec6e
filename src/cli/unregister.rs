//! `syncwatch unregister`: unregister a replica on its service and forget it here. Its replica
//! file stays on disk as a backup of anything unsynced.

use super::session::{JobEnd, Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::Command;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct UnregisterArgs {
    /// The replica's name or replicaID.
    pub replica: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &UnregisterArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let (session, summary) =
        Session::start_for(&data_dir(data_dir_flag)?, args.json, &args.replica)?;
    let end = session.run_job(
        Command::Unregister {
            replica: summary.id,
        },
        "unregister",
    );
    session.shutdown();
    match end? {
        JobEnd::Completed { .. } => {
            if args.json {
                print_json(
                    &serde_json::json!({ "unregistered": summary.name, "replicaID": summary.replica_guid }),
                )?;
            } else {
                outln!("unregistered {}", summary.name);
            }
            Ok(super::exit::OK)
        }
        JobEnd::Failed { error, .. } if error.class == crate::engine::FailureClass::SignIn => {
            super::sync::report_sign_in(args.json, &error.message)
        }
        JobEnd::Failed { error, .. } => super::sync::report_failure(args.json, &error.message),
        JobEnd::ResetRequired { reason, .. } => super::sync::report_reset(args.json, &reason),
        JobEnd::SignInNeeded { reason, .. } => super::sync::report_sign_in(args.json, &reason),
    }
}
