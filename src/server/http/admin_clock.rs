//! The admin API's test clock for replicas: `POST /admin/replicas/age` moves one replica's
//! creation and last sync dates (or every replica's) back by some days, so a client can see
//! replicas that have not synced for weeks without waiting for them. Routed and answered by
//! `admin`, behind its guard; the dates themselves live in `db`.

use super::state::{AppState, Shared};
use crate::protocol::{Guid, ServiceError};
use crate::server::ops::OpError;
use axum::extract::State;
use serde::Deserialize;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AgeRequest {
    /// One replica; absent: every replica.
    #[serde(rename = "replicaID", default)]
    replica_id: Option<String>,
    days: u32,
}

fn invalid(detail: String) -> OpError {
    OpError::Service(ServiceError::new(
        400,
        "Invalid replica age change.",
        vec![detail],
    ))
}

/// `{"replicaID": "<guid>", "days": N}` (or `{"days": N}` for all) → `{"success", "aged"}`.
pub(super) async fn age_replicas(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<serde_json::Value, OpError> {
    let request = serde_json::from_slice::<AgeRequest>(&body)
        .map_err(|e| invalid(format!("expected {{\"replicaID\", \"days\"}}: {e}")))?;
    let one = request
        .replica_id
        .as_deref()
        .map(Guid::parse)
        .transpose()
        .map_err(|e| invalid(format!("'replicaID' is invalid: {e}")))?;
    let by_ms = i64::from(request.days) * DAY_MS;
    state
        .blocking(move |s: &Shared| {
            let mut core = s.core();
            let ids: Vec<Guid> = match one {
                Some(id) => vec![id],
                None => core
                    .db
                    .replicas()?
                    .into_iter()
                    .map(|r| r.replica_id)
                    .collect(),
            };
            let mut aged = 0;
            for id in &ids {
                if core.db.backdate_replica(id, by_ms)? {
                    aged += 1;
                }
            }
            if aged == 0 && !ids.is_empty() {
                return Err(invalid("no such replica is registered".into()));
            }
            tracing::info!(aged, days = request.days, "replica dates moved back");
            Ok(serde_json::json!({"success": true, "aged": aged}))
        })
        .await
}
