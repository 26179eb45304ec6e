//! The read-only resources: the server info, the services list, the FeatureServer root and its
//! layers, the replicas list and `replicas/<id>`; and the dispatch of `FeatureServer/<op>` to
//! the replica operations.

use super::replica_ops::{create_replica, synchronize_replica, unregister_replica};
use super::reply::{json, not_found, op_error};
use super::request::{Req, service_caller};
use super::state::AppState;
use super::tokens::server_info;
use crate::protocol::ServiceError;
use crate::server::ops::{self, OpError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use std::net::SocketAddr;

/// `rest/info`: the version, `authInfo` and, when federated, `owningSystemUrl` (`tokens`).
pub(super) async fn info(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    json(&server_info(&state.shared, &req))
}

pub(super) async fn services(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    let name = &state.shared.service_name;
    json(&serde_json::json!({
        "currentVersion": 11.1,
        "folders": [],
        "services": [{"name": name, "type": "FeatureServer",
                      "url": format!("{}/arcgis/rest/services/{name}/FeatureServer", req.base_url(state.shared.settings.scheme()))}],
    }))
}

pub(super) async fn feature_server(
    State(state): State<AppState>,
    Path(service): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    if let Err(r) = service_caller(&state.shared, &service, &req) {
        return *r;
    }
    match state.blocking(|s| Ok(s.core().def.service_info())).await {
        Ok(info) => json(&info),
        Err(e) => op_error(e),
    }
}

pub(super) async fn feature_server_op(
    State(state): State<AppState>,
    Path((service, op)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(peer, &uri, headers, &body);
    let who = match service_caller(&state.shared, &service, &req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let result = match op.to_ascii_lowercase().as_str() {
        "createreplica" => create_replica(&state, &req, who).await,
        "synchronizereplica" => synchronize_replica(&state, &req, who).await,
        "unregisterreplica" => unregister_replica(&state, &req, who).await,
        "replicas" => state
            .blocking(move |s| ops::list(&s.core(), &who))
            .await
            .map(|list| json(&list)),
        other => match other.parse::<i64>() {
            Ok(layer_id) => layer_resource(&state, layer_id).await,
            Err(_) => return not_found(uri).await,
        },
    };
    result.unwrap_or_else(op_error)
}

async fn layer_resource(state: &AppState, layer_id: i64) -> Result<Response, OpError> {
    state
        .blocking(move |s| {
            let core = s.core();
            match core.def.layer(layer_id) {
                Some(layer) => Ok(json(&core.def.layer_info(layer))),
                None => Err(OpError::Service(ServiceError::new(
                    400,
                    "Invalid URL",
                    vec![format!("Layer {layer_id} does not exist in this service")],
                ))),
            }
        })
        .await
}

pub(super) async fn replica_info(
    State(state): State<AppState>,
    Path((service, replica)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    let who = match service_caller(&state.shared, &service, &req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let result = async {
        let id = ops::parse_replica_id(&replica)?;
        state
            .blocking(move |s| ops::info(&s.core(), &who, &id))
            .await
    }
    .await;
    match result {
        Ok(info) => json(&info),
        Err(e) => op_error(e),
    }
}
