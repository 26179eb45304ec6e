//! The service's replicas, for the person who looks after a service: loading every replica a
//! service lists (with each one's info, the ones this laptop holds marked by replicaID),
//! unregistering selected ones (one `unRegisterReplica` each, a result per replica) and writing
//! the list as CSV. Each runs as its own task, so the command loop never waits on the network.
//!
//! The client signs in as every other call does: the signed-in account of the service's server
//! (or its portal), else the token given with the command, else the token of a replica this
//! laptop holds on that service. It must not change the replicas this laptop holds: a held
//! replica unregistered here stays in the list and needs a client reset at its next sync.

use super::Deps;
use super::api::{CommandId, Event};
use super::error::{EngineError, chain};
use crate::model::{
    Secret, ServiceReplica, ServiceReplicaLayer, UnregisterResult, area_text, is_stale,
};
use crate::protocol::{Guid, ReplicaInfo, ReplicaListEntry};
use crate::service::{FeatureServiceClient, INFO_CONCURRENCY, ListedReplica, Unregistered};
use crate::store::ReplicaRecord;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Loads the service's replicas and sends [`Event::ServiceReplicasLoaded`], or the command's
/// `CommandFailed` when the list cannot be read.
pub(crate) async fn load(
    deps: Deps,
    command: Option<CommandId>,
    service_url: String,
    token: Option<Secret>,
) {
    match list(&deps, &service_url, token).await {
        Ok(replicas) => deps.events.send(Event::ServiceReplicasLoaded {
            service_url,
            replicas,
        }),
        Err(e) => failed(&deps, command, "list the service's replicas", &e),
    }
}

/// Unregisters each replica (in order) and sends [`Event::ServiceReplicasUnregistered`] with a
/// result per replica; a failure of one does not stop the others.
pub(crate) async fn unregister(
    deps: Deps,
    command: Option<CommandId>,
    service_url: String,
    token: Option<Secret>,
    replicas: Vec<(Guid, String)>,
) {
    let (client, held) = match client_and_held(&deps, &service_url, token).await {
        Ok(both) => both,
        Err(e) => return failed(&deps, command, "unregister the service's replicas", &e),
    };
    let mut results = Vec::with_capacity(replicas.len());
    for (replica_id, name) in replicas {
        let outcome = client.unregister_replica(&replica_id).await;
        let held_here = held.contains_key(&replica_id);
        tracing::info!(replica = %replica_id, ok = outcome.is_ok(), "service replica unregistered");
        results.push(UnregisterResult {
            unregistered: outcome.is_ok(),
            already_gone: matches!(outcome, Ok(Unregistered::AlreadyGone)),
            error: outcome.err().map(|e| chain(&e)),
            held_here,
            replica_id,
            name,
        });
    }
    deps.events.send(Event::ServiceReplicasUnregistered {
        service_url,
        results,
    });
}

/// Writes the rows as CSV (off the runtime's workers) and sends [`Event::ExportFinished`].
pub(crate) async fn export_csv(
    deps: Deps,
    command: Option<CommandId>,
    replicas: Vec<ServiceReplica>,
    stale_days: u32,
    path: PathBuf,
) {
    let target = path.clone();
    let now = crate::model::now_ms();
    let written =
        tokio::task::spawn_blocking(move || write_csv(&replicas, stale_days, now, &target)).await;
    match written.map_err(EngineError::from).and_then(|r| r) {
        Ok(rows) => deps.events.send(Event::ExportFinished { path, rows }),
        Err(e) => failed(&deps, command, "export the service's replicas", &e),
    }
}

fn failed(deps: &Deps, command: Option<CommandId>, what: &str, error: &EngineError) {
    super::job::command_failed(deps, command, what, error);
}

/// Every replica the service lists for the client's user, with its info.
async fn list(
    deps: &Deps,
    service_url: &str,
    token: Option<Secret>,
) -> Result<Vec<ServiceReplica>, EngineError> {
    let (client, held) = client_and_held(deps, service_url, token).await?;
    let listed = client.replicas_with_info(INFO_CONCURRENCY).await?;
    Ok(listed
        .into_iter()
        .map(|l| row(l, |id| held.contains_key(id)))
        .collect())
}

/// The client for a service, signed in the way the service-replica commands are (for other
/// commands that read a service: the wizard's browser and preview, the offline-map check).
pub(crate) async fn client_for_service(
    deps: &Deps,
    service_url: &str,
    token: Option<Secret>,
) -> Result<FeatureServiceClient, EngineError> {
    client_and_held(deps, service_url, token)
        .await
        .map(|(client, _)| client)
}

/// The client for the service, and the replicas this laptop holds by replicaID.
pub(super) async fn client_and_held(
    deps: &Deps,
    service_url: &str,
    token: Option<Secret>,
) -> Result<(FeatureServiceClient, HashMap<Guid, ReplicaRecord>), EngineError> {
    let records = deps.with_store(|s| s.replicas()).await?;
    let held: HashMap<Guid, ReplicaRecord> = records
        .into_iter()
        .filter_map(|r| r.replica_guid.clone().map(|g| (g, r)))
        .collect();
    if let Some((_, provider)) = super::sessions::provider_for(deps, service_url).await {
        let config = deps.client_config();
        let client = FeatureServiceClient::with_token_provider(service_url, provider, config)?;
        return Ok((client, held));
    }
    let token = match token {
        Some(t) => Some(t),
        None => held_token(deps, service_url, &held).await,
    };
    let client = super::job::client_for(deps, service_url, token)?;
    Ok((client, held))
}

/// The token of a replica this laptop holds on `service_url`, if one has a token.
async fn held_token(
    deps: &Deps,
    service_url: &str,
    held: &HashMap<Guid, ReplicaRecord>,
) -> Option<Secret> {
    let wanted = service_url.trim().trim_end_matches('/');
    for record in held.values() {
        if record.service_url.trim().trim_end_matches('/') != wanted {
            continue;
        }
        if let Ok(Some(token)) = super::secrets::replica_token(deps, record).await {
            return Some(token);
        }
    }
    None
}

/// One row from a listed replica; an info failure keeps the list's id and name and the error.
fn row(listed: ListedReplica, held: impl Fn(&Guid) -> bool) -> ServiceReplica {
    let ListedReplica { entry, info } = listed;
    let held_here = held(&entry.replica_id);
    match info {
        Ok(info) => from_info(entry, info, held_here),
        Err(e) => ServiceReplica {
            replica_id: entry.replica_id,
            name: entry.replica_name,
            owner: None,
            created_ms: None,
            last_sync_ms: None,
            sync_model: None,
            sync_direction: None,
            area: None,
            server_gen: None,
            layers: Vec::new(),
            held_here,
            error: Some(chain(&e)),
        },
    }
}

fn from_info(entry: ReplicaListEntry, info: ReplicaInfo, held_here: bool) -> ServiceReplica {
    let per_layer: HashMap<i64, i64> = info
        .layer_server_gens
        .iter()
        .map(|g| (g.id, g.server_gen))
        .collect();
    let layers = info
        .layers
        .iter()
        .map(|l| ServiceReplicaLayer {
            id: l.id,
            server_gen: per_layer.get(&l.id).copied().or(l.server_gen),
        })
        .collect();
    let name = if info.replica_name.is_empty() {
        entry.replica_name
    } else {
        info.replica_name
    };
    ServiceReplica {
        replica_id: entry.replica_id,
        name,
        owner: Some(info.replica_owner).filter(|o| !o.is_empty()),
        created_ms: info.creation_date,
        last_sync_ms: info.last_sync_date,
        sync_model: info.sync_model,
        sync_direction: info.sync_direction,
        area: area_text(info.geometry.as_ref()),
        server_gen: info.replica_server_gen,
        layers,
        held_here,
        error: None,
    }
}

/// The CSV columns, in order.
pub const SERVICE_REPLICAS_CSV_HEADER: [&str; 12] = [
    "replica_id",
    "name",
    "owner",
    "created_ms",
    "last_sync_ms",
    "sync_model",
    "sync_direction",
    "area",
    "layers",
    "stale",
    "this_laptop",
    "error",
];

fn write_csv(
    replicas: &[ServiceReplica],
    stale_days: u32,
    now_ms: i64,
    path: &Path,
) -> Result<usize, EngineError> {
    let csv_err = |source| EngineError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = super::local::csv_file(path, &SERVICE_REPLICAS_CSV_HEADER)?;
    for r in replicas {
        let text = |v: Option<String>| v.unwrap_or_default();
        let layers: Vec<String> = r
            .layers
            .iter()
            .map(|l| match l.server_gen {
                Some(g) => format!("{}:{g}", l.id),
                None => l.id.to_string(),
            })
            .collect();
        writer
            .write_record([
                r.replica_id.to_string(),
                super::local::spreadsheet_safe(&r.name),
                super::local::spreadsheet_safe(&text(r.owner.clone())),
                text(r.created_ms.map(|t| t.to_string())),
                text(r.last_sync_ms.map(|t| t.to_string())),
                text(r.sync_model.map(|m| m.to_string())),
                text(r.sync_direction.map(|d| d.to_string())),
                text(r.area.clone()),
                layers.join(" "),
                is_stale(r.last_activity_ms(), now_ms, stale_days).to_string(),
                r.held_here.to_string(),
                super::local::spreadsheet_safe(&text(r.error.clone())),
            ])
            .map_err(csv_err)?;
    }
    writer.flush().map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(replicas.len())
}
