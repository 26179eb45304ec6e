//! Serving files: an attachment's data (`…/FeatureServer/<layer>/<objectId>/attachments/<id>`)
//! and result files from the output directory (`output_dir`), each with its content type, and
//! either in part when the request asks for a byte range (`byte_ranges`: a download resumed).

use super::byte_ranges;
use super::reply::{envelope, not_found, op_error};
use super::request::{Req, caller, check_service};
use super::state::AppState;
use crate::protocol::ServiceError;
use crate::server::ops;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::net::SocketAddr;

/// `…/FeatureServer/<layer>/<objectId>/attachments/<attachmentId>`: an attachment's data, with
/// its content type. 404 with the envelope for an unknown or deleted attachment, or one whose
/// parent the caller may not see.
pub(super) async fn attachment_file(
    State(state): State<AppState>,
    Path((service, layer, object, attachment)): Path<(String, String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let wanted = headers.clone();
    let req = Req::new(peer, &uri, headers, &[]);
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let who = match caller(&state.shared, &req) {
        Ok(c) => c,
        Err(e) => return envelope(StatusCode::OK, e),
    };
    let ids = (
        layer.parse::<i64>(),
        object.parse::<i64>(),
        attachment.parse::<i64>(),
    );
    let (Ok(layer_id), Ok(object_id), Ok(attachment_id)) = ids else {
        return not_found(uri).await;
    };
    let found = state
        .blocking(move |s| {
            ops::attachment_data(&s.core(), &who, layer_id, object_id, attachment_id)
        })
        .await;
    match found {
        Ok(Some((content_type, bytes))) => {
            byte_ranges::bytes_reply(bytes.into(), &content_type, &wanted)
        }
        Ok(None) => envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Attachment not found.",
                vec![format!(
                    "Layer {layer_id} has no attachment {attachment_id} on feature {object_id}"
                )],
            ),
        ),
        Err(e) => op_error(e),
    }
}

pub(super) async fn result_file(
    State(state): State<AppState>,
    Path((service, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let shared = state.shared.clone();
    let name = file.clone();
    let found = tokio::task::spawn_blocking(move || shared.outputs.open(&name)).await;
    let content_type = if file.ends_with(".json") {
        "application/json"
    } else {
        "application/x-sqlite3"
    };
    let reply = match found {
        Ok(Some(path)) => byte_ranges::file_reply(path, content_type, &headers).await,
        _ => None,
    };
    match reply {
        Some(response) => response,
        None => envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Result file not found.",
                vec![format!(
                    "{file} does not exist in the output directory: it expired or was never created"
                )],
            ),
        ),
    }
}
