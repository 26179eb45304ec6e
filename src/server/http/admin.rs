//! The admin API under `/admin`, answered only on loopback connections that carry the right
//! `X-Admin-Key`: terminate and re-enable sync, expire every result file, inject and clear
//! faults, make breaking schema changes (drop a field or a layer, change a field type), and
//! change a layer's ownership rules (not breaking: replicas keep syncing under the new rules),
//! move replicas' dates back (`admin_clock`), and fill a polygon layer with generated parcels
//! (`parcels`, for large-replica benchmarks).
//! Owns these endpoints and their guard; the effects live in `db`, `output_dir` and `faults`.
//! Never logs the key.

use super::faults::FaultRule;
use super::state::{AppState, Shared};
use crate::protocol::{ErrorEnvelope, FieldType, ServiceError};
use crate::server::definition::{self, ServiceDefinition};
use crate::server::ops::OpError;
use crate::server::parcels;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;

/// The header that carries the admin key.
pub const ADMIN_KEY_HEADER: &str = "x-admin-key";

/// The admin routes, behind the loopback-and-key guard.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/admin/status", get(status))
        .route("/admin/sync/terminate", post(terminate_sync))
        .route("/admin/sync/enable", post(enable_sync))
        .route("/admin/results/expire", post(expire_results))
        .route(
            "/admin/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/admin/schema", post(change_schema))
        .route("/admin/ownership", post(change_ownership))
        .route("/admin/replicas/age", post(age_replicas))
        .route("/admin/generate", post(generate_parcels))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn denied(status: StatusCode, detail: &str) -> Response {
    let error = ServiceError::new(
        i64::from(status.as_u16()),
        "Admin access denied.",
        vec![detail.into()],
    );
    (status, Json(ErrorEnvelope { error })).into_response()
}

async fn guard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !peer.ip().is_loopback() {
        tracing::warn!(%peer, "admin request from a non-loopback address refused");
        return denied(
            StatusCode::FORBIDDEN,
            "The admin API answers on loopback only.",
        );
    }
    let given = request
        .headers()
        .get(ADMIN_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if given.is_empty() || !same_key(given, &state.shared.settings.admin_key) {
        return denied(
            StatusCode::UNAUTHORIZED,
            "Send the admin key in the X-Admin-Key header.",
        );
    }
    next.run(request).await
}

/// Compares keys in constant time (their SHA-256 digests, with `subtle`), whatever their lengths.
fn same_key(a: &str, b: &str) -> bool {
    crate::server::auth::secret_token::same_secret(a, b)
}

fn reply(result: Result<serde_json::Value, OpError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(OpError::Service(error)) => {
            (StatusCode::BAD_REQUEST, Json(ErrorEnvelope { error })).into_response()
        }
        Err(OpError::Db(e)) => {
            tracing::error!(error = %e, "admin operation failed in the database");
            let error = ServiceError::new(
                500,
                "Unable to complete operation.",
                vec!["Internal server error.".into()],
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(ErrorEnvelope { error }),
            )
                .into_response()
        }
    }
}

async fn age_replicas(state: State<AppState>, body: axum::body::Bytes) -> Response {
    reply(super::admin_clock::age_replicas(state, body).await)
}

async fn status(State(state): State<AppState>) -> Response {
    let result = state
        .blocking(|s: &Shared| {
            let core = s.core();
            Ok(serde_json::json!({
                "syncEnabled": core.db.sync_enabled()?,
                "replicas": core.db.replicas()?.len(),
                "schemaVersion": core.schema_version,
                "generation": core.db.current_gen()?,
                "faults": s.faults.list(),
                "fileBytesServed": s
                    .file_bytes_served
                    .load(std::sync::atomic::Ordering::Relaxed),
            }))
        })
        .await;
    reply(result)
}

async fn terminate_sync(State(state): State<AppState>) -> Response {
    let result = state
        .blocking(|s: &Shared| {
            let dropped = s.core().db.set_sync_enabled(false)?;
            tracing::warn!(
                dropped,
                "sync terminated by the administrator; every replica was dropped"
            );
            Ok(serde_json::json!({"success": true, "replicasDropped": dropped}))
        })
        .await;
    reply(result)
}

async fn enable_sync(State(state): State<AppState>) -> Response {
    let result = state
        .blocking(|s: &Shared| {
            s.core().db.set_sync_enabled(true)?;
            tracing::info!("sync re-enabled by the administrator");
            Ok(serde_json::json!({"success": true}))
        })
        .await;
    reply(result)
}

async fn expire_results(State(state): State<AppState>) -> Response {
    let result = state
        .blocking(|s: &Shared| {
            Ok(serde_json::json!({"success": true, "expired": s.outputs.expire_all()}))
        })
        .await;
    reply(result)
}

async fn list_faults(State(state): State<AppState>) -> Response {
    Json(state.shared.faults.list()).into_response()
}

/// One rule or a list of rules.
#[derive(Deserialize)]
#[serde(untagged)]
enum FaultRules {
    One(FaultRule),
    Many(Vec<FaultRule>),
}

async fn add_faults(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let rules = match serde_json::from_slice::<FaultRules>(&body) {
        Ok(FaultRules::One(rule)) => vec![rule],
        Ok(FaultRules::Many(rules)) => rules,
        Err(e) => {
            return reply(Err(OpError::Service(ServiceError::new(
                400,
                "Invalid fault rule.",
                vec![format!(
                    "expected {{\"operation\",\"kind\",\"count\",…}}: {e}"
                )],
            ))));
        }
    };
    let added = rules.len();
    for rule in rules {
        state.shared.faults.add(rule);
    }
    Json(serde_json::json!({"success": true, "added": added})).into_response()
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.shared.faults.clear();
    Json(serde_json::json!({"success": true})).into_response()
}

/// The most parcels one `POST /admin/generate` writes.
const MAX_GENERATED: u64 = 10_000_000;

/// `POST /admin/generate`: `{"polygons": N}` (and optionally `"layer": ID`, default the first
/// polygon layer) writes N generated parcels in one transaction.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GenerateRequest {
    polygons: u64,
    #[serde(default)]
    layer: Option<i64>,
}

async fn generate_parcels(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let invalid = |detail: String| {
        reply(Err(OpError::Service(ServiceError::new(
            400,
            "Invalid generate request.",
            vec![detail],
        ))))
    };
    let request = match serde_json::from_slice::<GenerateRequest>(&body) {
        Ok(r) if r.polygons <= MAX_GENERATED => r,
        Ok(r) => {
            return invalid(format!(
                "at most {MAX_GENERATED} polygons at once, not {}",
                r.polygons
            ));
        }
        Err(e) => return invalid(format!("expected {{\"polygons\": N, \"layer\": ID}}: {e}")),
    };
    let result = state
        .blocking(move |s: &Shared| {
            let started = std::time::Instant::now();
            let mut core = s.core();
            let core = &mut *core;
            let generated =
                parcels::generate(&mut core.db, &core.def, request.layer, request.polygons)
                    .map_err(|e| match e {
                        parcels::GenerateError::Db(e) => OpError::Db(e),
                        other => OpError::Service(ServiceError::new(
                            400,
                            "Invalid generate request.",
                            vec![other.to_string()],
                        )),
                    })?;
            Ok(serde_json::json!({
                "success": true,
                "layer": generated.layer_id,
                "added": generated.inserted.count,
                "firstObjectId": generated.inserted.first_object_id,
                "generation": generated.inserted.generation,
                "elapsedMs": started.elapsed().as_millis() as u64,
            }))
        })
        .await;
    reply(result)
}

/// A breaking schema change.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "change",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SchemaChange {
    DropField {
        layer: i64,
        field: String,
    },
    DropLayer {
        layer: i64,
    },
    ChangeFieldType {
        layer: i64,
        field: String,
        #[serde(rename = "type")]
        field_type: FieldType,
    },
}

async fn change_schema(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let change = match serde_json::from_slice::<SchemaChange>(&body) {
        Ok(c) => c,
        Err(e) => {
            return reply(Err(OpError::Service(ServiceError::new(
                400,
                "Invalid schema change.",
                vec![format!(
                    "expected {{\"change\":\"dropField\"|\"dropLayer\"|\"changeFieldType\",…}}: {e}"
                )],
            ))));
        }
    };
    let result = state
        .blocking(move |s: &Shared| {
            let mut core = s.core();
            let mut def = core.def.clone();
            let what = apply_change(&mut def, &change).map_err(|detail| {
                OpError::Service(ServiceError::new(
                    400,
                    "Invalid schema change.",
                    vec![detail],
                ))
            })?;
            let version = core.schema_version + 1;
            core.db.save_definition(&def, version)?;
            core.def = def;
            core.schema_version = version;
            core.last_schema_change = Some(what.clone());
            tracing::warn!(version, %what, "breaking schema change");
            Ok(serde_json::json!({"success": true, "schemaVersion": version, "change": what}))
        })
        .await;
    reply(result)
}

/// New ownership rules for a layer that has ownership-based access control.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnershipChange {
    layer: i64,
    allow_others_to_query: bool,
    allow_others_to_update: bool,
    allow_others_to_delete: bool,
}

async fn change_ownership(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let change = match serde_json::from_slice::<OwnershipChange>(&body) {
        Ok(c) => c,
        Err(e) => {
            return reply(Err(OpError::Service(ServiceError::new(
                400,
                "Invalid ownership change.",
                vec![format!(
                    "expected {{\"layer\",\"allowOthersToQuery\",\"allowOthersToUpdate\",\"allowOthersToDelete\"}}: {e}"
                )],
            ))));
        }
    };
    let result = state
        .blocking(move |s: &Shared| {
            let mut core = s.core();
            let mut def = core.def.clone();
            let rules = def
                .layer_mut(change.layer)
                .and_then(|l| l.ownership.as_mut())
                .ok_or_else(|| {
                    OpError::Service(ServiceError::new(
                        400,
                        "Invalid ownership change.",
                        vec![format!(
                            "layer {} does not exist or has no ownership-based access control",
                            change.layer
                        )],
                    ))
                })?;
            rules.allow_others_to_query = change.allow_others_to_query;
            rules.allow_others_to_update = change.allow_others_to_update;
            rules.allow_others_to_delete = change.allow_others_to_delete;
            let version = core.schema_version;
            core.db.save_definition(&def, version)?;
            core.def = def;
            tracing::info!(layer = change.layer, "ownership rules changed");
            Ok(serde_json::json!({"success": true, "layer": change.layer}))
        })
        .await;
    reply(result)
}

fn apply_change(def: &mut ServiceDefinition, change: &SchemaChange) -> Result<String, String> {
    match change {
        SchemaChange::DropLayer { layer } => {
            if def.remove_layer(*layer) {
                Ok(format!("layer {layer} was dropped"))
            } else {
                Err(format!("layer {layer} does not exist"))
            }
        }
        SchemaChange::DropField { layer, field } => {
            let l = def
                .layer_mut(*layer)
                .ok_or(format!("layer {layer} does not exist"))?;
            if definition::is_system_field(field)
                || l.owner_field()
                    .is_some_and(|o| o.eq_ignore_ascii_case(field))
            {
                return Err(format!("field {field} cannot be dropped"));
            }
            let before = l.fields.len();
            l.fields.retain(|f| !f.name.eq_ignore_ascii_case(field));
            if before == l.fields.len() {
                return Err(format!("layer {layer} has no field {field}"));
            }
            l.indexes
                .retain(|i| !i.field_names().any(|n| n.eq_ignore_ascii_case(field)));
            Ok(format!("field {field} was dropped from layer {layer}"))
        }
        SchemaChange::ChangeFieldType {
            layer,
            field,
            field_type,
        } => {
            let l = def
                .layer_mut(*layer)
                .ok_or(format!("layer {layer} does not exist"))?;
            let f = l
                .fields
                .iter_mut()
                .find(|f| f.name.eq_ignore_ascii_case(field))
                .ok_or(format!("layer {layer} has no field {field}"))?;
            f.field_type = field_type.clone();
            f.domain = None;
            Ok(format!("field {field} of layer {layer} changed type"))
        }
    }
}
