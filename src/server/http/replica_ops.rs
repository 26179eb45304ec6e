//! The replica operations over HTTP: createReplica and synchronizeReplica (run directly, or as
//! an async job) and unRegisterReplica. Parameters are checked here; the work is `delivery`'s.

use super::async_jobs::start_job;
use super::delivery::{Work, execute};
use super::reply::{json, param_error};
use super::request::Req;
use super::state::AppState;
use crate::protocol::rules::Caller;
use crate::protocol::{
    CreateReplicaParams, DataFormat, ParamError, SuccessReply, SyncReplicaParams,
};
use crate::server::background_free::free_in_background;
use crate::server::ops::{self, OpError};
use axum::response::Response;

/// unRegisterReplica: one replica by `replicaID`, or `*` for every replica the caller may remove.
pub(super) async fn unregister_replica(
    state: &AppState,
    req: &Req,
    who: Caller,
) -> Result<Response, OpError> {
    let replica_id = req
        .params
        .required("replicaID")
        .map_err(|e| OpError::Service(param_error(e)))?
        .to_string();
    state
        .blocking(move |s| ops::unregister(&mut s.core(), &who, &replica_id))
        .await?;
    Ok(json(&SuccessReply {
        success: true,
        error: None,
    }))
}

pub(super) async fn create_replica(
    state: &AppState,
    req: &Req,
    who: Caller,
) -> Result<Response, OpError> {
    let params = CreateReplicaParams::from_form(&req.params)
        .map_err(|e| OpError::Service(param_error(e)))?;
    if matches!(
        params.data_format,
        DataFormat::FileGdb | DataFormat::Shapefile
    ) {
        return Err(OpError::Service(param_error(ParamError::invalid(
            "dataFormat",
            "this service exports json and sqlite only",
        ))));
    }
    run(state, req, who, Work::Create(Box::new(params))).await
}

pub(super) async fn synchronize_replica(
    state: &AppState,
    req: &Req,
    who: Caller,
) -> Result<Response, OpError> {
    let params =
        SyncReplicaParams::from_form(&req.params).map_err(|e| OpError::Service(param_error(e)))?;
    if params.edits_upload_id.is_some() {
        return Err(OpError::Service(param_error(ParamError::invalid(
            "editsUploadID",
            "uploads are not supported by this service; send the edits parameter",
        ))));
    }
    run(state, req, who, Work::Sync(Box::new(params))).await
}

/// Runs the work directly, or as an async job answering `{"statusUrl": …}`.
async fn run(state: &AppState, req: &Req, who: Caller, work: Work) -> Result<Response, OpError> {
    let base_url = req.base_url(state.shared.settings.scheme());
    if work.is_async() {
        let status_url = start_job(state, base_url, who, work);
        return Ok(json(&serde_json::json!({ "statusUrl": status_url })));
    }
    let result = state
        .blocking(move |s| {
            let executed = execute(s, &base_url, &who, &work, false);
            free_in_background(work);
            executed
        })
        .await?;
    if let Some(body) = result.embedded {
        return body.into_response();
    }
    let response = json(&result.reply);
    free_in_background(result.reply);
    Ok(response)
}
