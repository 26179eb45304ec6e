//! `syncwatch create`: create a replica on a feature service and download it: layers by name
//! or id, an optional work area (`--extent`), per-layer `--where` clauses, attachments on or
//! off, a name suggested when none is given, the result format (`--download-format`). Layer names, the area and the clauses are checked
//! against the service's facts first: bad input is one line and creates nothing.

use super::session::{
    JobEnd, Session, data_dir, parse_download_format, print_json, use_download_format,
};
use super::terminal::outln;
use crate::engine::{Command, CreateRequest, CreateScope, DownloadFormat};
use crate::model::{Extent, WorkArea, parse_where};
use crate::protocol::SyncModel;
use anyhow::bail;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The feature service, `…/FeatureServer`.
    #[arg(long = "service")]
    pub service_url: String,
    /// A name for the replica (unique on this laptop); default: suggested from the service
    /// and the area.
    #[arg(long)]
    pub name: Option<String>,
    /// Layers by name or id, comma separated: `Hydrants,Valves` or `0,1`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub layers: Vec<String>,
    /// The work area: `xmin,ymin,xmax,ymax[,wkid]` (default wkid: the service's own; 4326
    /// and 3857 are converted). Without it the whole service.
    #[arg(
        long,
        value_name = "XMIN,YMIN,XMAX,YMAX[,WKID]",
        allow_hyphen_values = true
    )]
    pub extent: Option<String>,
    /// A layer's `where` clause, `LAYER=CLAUSE` (repeatable): `--where "Poles=RANK > 3"`.
    #[arg(long = "where", value_name = "LAYER=CLAUSE")]
    pub wheres: Vec<String>,
    /// Leave attachments out (they are neither downloaded nor synced).
    #[arg(long)]
    pub no_attachments: bool,
    /// perReplica (one generation) or perLayer (one per layer).
    #[arg(long, default_value = "perReplica", value_parser = parse_sync_model)]
    pub sync_model: SyncModel,
    /// Ask the service to create it as an async job and poll its status.
    #[arg(long = "async")]
    pub is_async: bool,
    /// Token for a secured service (stored in the app database, never printed).
    #[arg(long, env = "SYNCWATCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
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

fn parse_sync_model(text: &str) -> Result<SyncModel, String> {
    match text.parse::<SyncModel>()? {
        SyncModel::None => {
            Err("use perReplica or perLayer; syncModel none exports without a replica".into())
        }
        model => Ok(model),
    }
}

pub fn run(args: &CreateArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    // Input that is wrong on its own is refused before anything is started.
    let extent = args
        .extent
        .as_deref()
        .map(Extent::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--extent: {e}"))?;
    let area = extent.map(WorkArea::Extent).unwrap_or_default();
    let wheres = args
        .wheres
        .iter()
        .map(|w| parse_where(w))
        .collect::<Result<Vec<_>, _>>()?;
    use_download_format(args.download_format);
    let session = Session::start(&data_dir(data_dir_flag)?, args.json)?;
    let request = match request(&session, args, area, &wheres) {
        Ok(request) => request,
        Err(e) => {
            session.shutdown();
            return Err(e);
        }
    };
    // An entry without a replicaID is a create that never finished: the engine takes it over.
    if session
        .replicas()
        .iter()
        .any(|r| r.name == request.name && r.replica_guid.is_some())
    {
        session.shutdown();
        bail!("a replica named {:?} already exists", request.name);
    }
    let name = request.name.clone();
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
                let area = summary
                    .as_ref()
                    .and_then(|s| s.work_area.as_ref())
                    .map(|a| a.text())
                    .unwrap_or_else(|| "whole service".into());
                outln!(
                    "created replica {name} {guid}: {} features downloaded ({area})",
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

/// The create request, checked against the service's facts when anything needs them (layer
/// names, an area, `where` clauses, no name); plain layer ids with a name go as they are.
fn request(
    session: &Session,
    args: &CreateArgs,
    area: WorkArea,
    wheres: &[(String, String)],
) -> anyhow::Result<CreateRequest> {
    let ids: Option<Vec<i64>> = args.layers.iter().map(|l| l.trim().parse().ok()).collect();
    let plain = area.is_whole_service() && wheres.is_empty();
    let mut scope = CreateScope {
        area,
        attachments: !args.no_attachments,
        ..Default::default()
    };
    let (layers, name) = match (ids, &args.name) {
        (Some(ids), Some(name)) if plain => (ids, name.clone()),
        _ => {
            let facts =
                super::service::describe(session, &args.service_url, args.token.as_deref())?;
            let layers = facts.resolve_layers(&args.layers)?;
            facts.check_area(&scope.area)?;
            for (layer, clause) in wheres {
                let id = facts.resolve_layers(&[layer])?[0];
                if !layers.contains(&id) {
                    bail!("--where names the layer {layer:?}, which is not among --layers");
                }
                scope.wheres.insert(id, clause.clone());
            }
            let name = args
                .name
                .clone()
                .unwrap_or_else(|| facts.suggested_name(&scope.area));
            (layers, name)
        }
    };
    Ok(CreateRequest {
        service_url: args.service_url.clone(),
        token: args.token.clone().map(Into::into),
        name,
        layers,
        sync_model: args.sync_model,
        is_async: args.is_async,
        scope: Box::new(scope),
    })
}
