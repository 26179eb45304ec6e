//! `syncwatch create`: create a replica on a feature service and download it.

use super::session::{JobEnd, Session, data_dir, print_json};
use super::terminal::outln;
use crate::engine::{Command, CreateRequest};
use crate::protocol::SyncModel;
use anyhow::bail;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The feature service, `…/FeatureServer`.
    #[arg(long = "service")]
    pub service_url: String,
    /// A name for the replica (unique on this laptop).
    #[arg(long)]
    pub name: String,
    /// Layer ids, comma separated: `0,1`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub layers: Vec<i64>,
    /// perReplica (one generation) or perLayer (one per layer).
    #[arg(long, default_value = "perReplica", value_parser = parse_sync_model)]
    pub sync_model: SyncModel,
    /// Ask the service to create it as an async job and poll its status.
    #[arg(long = "async")]
    pub is_async: bool,
    /// Token for a secured service (stored in the app database, never printed).
    #[arg(long, env = "SYNCWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_sync_model(text: &str) -> Result<SyncModel, String> {
    match text.parse::<SyncModel>()? {
        SyncModel::None => {
            Err("use perReplica or perLayer; syncModel none exports without a replica".into())
        }
        model => Ok(model),
    }
}

pub fn run(args: &CreateArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    // An entry without a replicaID is a create that never finished: the engine takes it over.
    if session
        .replicas()
        .iter()
        .any(|r| r.name == args.name && r.replica_guid.is_some())
    {
        session.shutdown();
        bail!("a replica named {:?} already exists", args.name);
    }
    let request = CreateRequest {
        service_url: args.service_url.clone(),
        token: args.token.clone().map(Into::into),
        name: args.name.clone(),
        layers: args.layers.clone(),
        sync_model: args.sync_model,
        is_async: args.is_async,
    };
    let end = session.run_job(Command::CreateReplica(request), "create");
    let summary = match &end {
        Ok(JobEnd::Completed { replica, .. }) => {
            let replica = *replica;
            session
                .ask(Command::RefreshReplicas, |e| match e {
                    crate::engine::Event::ReplicasLoaded { replicas } => {
                        Some(replicas.iter().find(|r| r.id == replica).cloned())
                    }
                    _ => None,
                })
                .ok()
                .flatten()
        }
        _ => None,
    };
    session.shutdown();
    match end? {
        JobEnd::Completed { outcome, .. } => {
            if args.json {
                print_json(&serde_json::json!({ "replica": summary, "outcome": outcome }))?;
            } else {
                let guid = summary
                    .as_ref()
                    .and_then(|s| s.replica_guid.as_ref())
                    .map(|g| g.to_string())
                    .unwrap_or_default();
                outln!(
                    "created replica {} {guid}: {} features downloaded",
                    args.name,
                    outcome.downloaded
                );
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
