//! Async jobs (`async=true`) over HTTP: starting one (Pending, then InProgress, then the work),
//! filing its outcome in its status document, and serving `…/FeatureServer/jobs/<id>`. The
//! registry of status documents is `job_registry`'s.

use super::delivery::{Executed, Work, execute};
use super::reply::{envelope, internal_error, json};
use super::request::{Req, caller, check_service};
use super::state::AppState;
use crate::protocol::rules::Caller;
use crate::protocol::{JobState, ReplicaResponse, ServiceError, TransportType};
use crate::server::ops::OpError;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::net::SocketAddr;

/// Starts an async job and returns its status URL.
pub(super) fn start_job(state: &AppState, base_url: String, who: Caller, work: Work) -> String {
    let shared = state.shared.clone();
    let job_id = shared.jobs.create(work.replica_name());
    let status_url = format!(
        "{base_url}/arcgis/rest/services/{}/FeatureServer/jobs/{job_id}",
        shared.service_name
    );
    let state = state.clone();
    let id = job_id.clone();
    tokio::spawn(async move {
        let delay = state.shared.settings.job_step_delay;
        tokio::time::sleep(delay).await;
        state.shared.jobs.update(&id, |s| {
            s.status = Some(JobState::InProgress);
            s.progress = Some(10);
        });
        tokio::time::sleep(delay).await;
        let outcome = state
            .blocking(move |s| execute(s, &base_url, &who, &work, true))
            .await;
        state
            .shared
            .jobs
            .update(&id, |status| finish_job(status, outcome));
    });
    tracing::info!(job = %job_id, "async job submitted");
    status_url
}

fn finish_job(status: &mut ReplicaResponse, outcome: Result<Executed, OpError>) {
    status.progress = Some(100);
    match outcome {
        Ok(executed) => {
            let reply = executed.reply;
            status.status = Some(if executed.has_failed_edits {
                JobState::CompletedWithErrors
            } else {
                JobState::Completed
            });
            status.replica_id = reply.replica_id;
            status.replica_name = reply.replica_name.or(status.replica_name.take());
            status.replica_server_gen = reply.replica_server_gen;
            status.layer_server_gens = reply.layer_server_gens;
            status.response_type = reply.response_type;
            status.transport_type = Some(TransportType::Url);
            status.result_url = Some(reply.url.unwrap_or_default());
        }
        Err(err) => {
            status.status = Some(JobState::Failed);
            status.error = Some(match err {
                OpError::Service(e) => e,
                OpError::Db(e) => {
                    tracing::error!(error = %e, "async job failed in the database");
                    internal_error()
                }
            });
        }
    }
}

pub(super) async fn job_status(
    State(state): State<AppState>,
    Path(parts): Path<Vec<(String, String)>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(peer, &uri, headers, &[]);
    let value = |key: &str| {
        parts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Err(r) = check_service(&state.shared, &value("service")) {
        return *r;
    }
    if let Err(e) = caller(&state.shared, &req) {
        return envelope(StatusCode::OK, e);
    }
    match state.shared.jobs.get(&value("job")) {
        Some(status) => json(&status),
        None => envelope(
            StatusCode::OK,
            ServiceError::new(
                404,
                "Job not found.",
                vec![format!("No job {:?}", value("job"))],
            ),
        ),
    }
}
