//! HTTP: the axum router of the REST API (behind the fault-injection middleware of `faults`)
//! and of the loopback-only `admin` API. The handlers live in `resources` (info, services, the
//! FeatureServer and its layers, replica info), `query` (a layer's query), `replica_ops` (createReplica,
//! synchronizeReplica, unRegisterReplica), `async_jobs` and `files` (attachment data, result
//! files); `request` parses requests and finds the caller, `reply` shapes JSON and error
//! envelopes, `delivery` runs an operation and delivers its result (embedded JSON, a JSON or
//! delta SQLite result file; createReplica's written row by row through `replica_sinks`), `tokens` (the server's generateToken and `authInfo`), `portal`
//! (the built-in portal's info and generateToken) and `oauth` (its OAuth 2.0 endpoints, with the
//! pages of `sign_in_page`) sign users in, `state` holds what the handlers share, among it the registries
//! of `job_registry` (async jobs' status documents) and `output_dir` (result files). Handlers
//! never touch SQLite themselves: every database call goes through [`AppState::blocking`]
//! (`spawn_blocking`). In front of all of them, `admission` (with `cross_origin`) refuses
//! foreign hosts and cross-site writes and reads every request body under its bounds.

mod admin;
mod admin_clock;
mod admission;
mod async_jobs;
mod bounds;
mod byte_ranges;
mod cross_origin;
mod delivery;
mod faults;
mod files;
mod job_registry;
mod oauth;
mod output_dir;
mod portal;
mod query;
mod replica_ops;
mod replica_sinks;
mod reply;
mod request;
mod resources;
mod sign_in_page;
mod state;
mod tokens;

pub use faults::{FaultKind, FaultRule};
pub use state::{AppState, Settings};

use axum::Router;
use axum::routing::any;

/// Largest request body accepted (100,000 edits are about 20 MB of form-encoded JSON).
const MAX_REQUEST_BYTES: usize = 512 * 1024 * 1024;

/// Largest body of a sign-in request (generateToken, the OAuth form and token endpoint).
const MAX_SIGN_IN_BYTES: usize = 64 * 1024;

/// The sign-in routes, with their small body limit.
fn sign_in_routes() -> Router<AppState> {
    Router::new()
        .route(tokens::SERVER_TOKENS_PATH, any(tokens::generate_token))
        .route("/arcgis/admin/generateToken", any(tokens::generate_token))
        .route("/sharing/rest/info", any(portal::info))
        .route(tokens::PORTAL_TOKENS_PATH, any(portal::generate_token))
        .route(sign_in_page::AUTHORIZE_PATH, any(oauth::authorize))
        .route("/sharing/rest/oauth2/token", any(oauth::token))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SIGN_IN_BYTES))
}

/// The whole router: REST API and sign-in routes with fault injection, plus the admin API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/arcgis/rest/info", any(resources::info))
        .route("/arcgis/info", any(resources::info))
        .route("/arcgis/sharing/rest/info", any(resources::info))
        .route("/arcgis/rest/services", any(resources::services))
        .route(
            "/arcgis/rest/services/{service}/FeatureServer",
            any(resources::feature_server),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/{op}",
            any(resources::feature_server_op),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/{layer}/query",
            any(query::layer_query),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/replicas/{replica}",
            any(resources::replica_info),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/jobs/{job}",
            any(async_jobs::job_status),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/jobs/{job}/status",
            any(async_jobs::job_status),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/{layer}/{object}/attachments/{attachment}",
            any(files::attachment_file),
        )
        .route(
            "/arcgis/rest/directories/arcgisoutput/{service}/{file}",
            any(files::result_file),
        )
        .fallback(reply::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .merge(sign_in_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.shared.faults.clone(),
            faults::inject,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.shared.file_bytes_served.clone(),
            byte_ranges::count_sent,
        ))
        .with_state(state.clone());
    // Outermost: every request (the admin API's too) is admitted first.
    api.merge(admin::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            admission::admit,
        ))
}
