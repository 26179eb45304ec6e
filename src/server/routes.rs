//! HTTP: the axum router, request parsing (query string and form body, case-insensitive names),
//! tokens, transport of results (embedded JSON, result files, delta SQLite, async jobs) and the
//! error envelope. Owns the shared state. Handlers never touch SQLite themselves: every database
//! call goes through [`AppState::blocking`] (`spawn_blocking`).

use super::admin;
use super::checks::Caller;
use super::definition::{ServiceDefinition, UserDef};
use super::faults::{self, Faults};
use super::jobs::Jobs;
use super::ops::{self, Core, OpError};
use super::outputs::Outputs;
use super::store::Store;
use crate::geodatabase::delta::{self, Delta};
use crate::protocol::{
    CreateReplicaParams, DataFormat, FormParams, JobState, ParamError, ReplicaResponse,
    ResponseType, ServiceError, SuccessReply, SyncReplicaParams, TransportType,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Largest request body accepted (100,000 edits are about 20 MB of form-encoded JSON).
const MAX_REQUEST_BYTES: usize = 512 * 1024 * 1024;

/// Settings fixed at start.
pub struct Settings {
    pub data_dir: PathBuf,
    pub result_ttl: Duration,
    pub admin_key: String,
    pub job_step_delay: Duration,
}

/// Everything the handlers share.
pub struct Shared {
    core: Mutex<Core>,
    pub service_name: String,
    require_token: bool,
    users: Vec<UserDef>,
    pub settings: Settings,
    pub outputs: Outputs,
    pub jobs: Jobs,
    pub faults: Arc<Faults>,
}

impl Shared {
    /// The core, locked. Only from blocking code.
    pub fn core(&self) -> MutexGuard<'_, Core> {
        // A panic inside an operation happened before its transaction committed (SQLite rolled it
        // back), so the core is still consistent: keep serving.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cheap handle on the shared state.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Opens the database under `settings.data_dir` (seeding it from `definition` when new).
    pub fn open(definition: ServiceDefinition, settings: Settings) -> std::io::Result<AppState> {
        let mut store = Store::open(&settings.data_dir.join("service.sqlite"))
            .map_err(std::io::Error::other)?;
        let (def, schema_version) = store.init(&definition).map_err(std::io::Error::other)?;
        let outputs = Outputs::new(settings.data_dir.join("arcgisoutput"), settings.result_ttl)?;
        let shared = Shared {
            service_name: def.name.clone(),
            require_token: def.require_token,
            users: def.users.clone(),
            core: Mutex::new(Core {
                store,
                def,
                schema_version,
                last_schema_change: None,
            }),
            settings,
            outputs,
            jobs: Jobs::default(),
            faults: Arc::new(Faults::default()),
        };
        Ok(AppState {
            shared: Arc::new(shared),
        })
    }

    pub fn service_name(&self) -> String {
        self.shared.service_name.clone()
    }

    /// Removes expired result files periodically.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(shared.outputs.sweep_interval());
            loop {
                tick.tick().await;
                let s = shared.clone();
                let _ = tokio::task::spawn_blocking(move || s.outputs.sweep()).await;
            }
        })
    }

    /// Runs blocking work (SQLite, files) off the runtime.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Shared) -> Result<T, OpError> + Send + 'static,
    ) -> Result<T, OpError> {
        let shared = self.shared.clone();
        match tokio::task::spawn_blocking(move || work(&shared)).await {
            Ok(result) => result,
            Err(err) => {
                tracing::error!(%err, "a service operation panicked");
                Err(OpError::Service(internal_error()))
            }
        }
    }
}

/// The whole router: REST API with fault injection, plus the admin API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/arcgis/rest/info", any(info))
        .route("/arcgis/info", any(info))
        .route("/arcgis/sharing/rest/info", any(info))
        .route("/arcgis/rest/services", any(services))
        .route(
            "/arcgis/rest/services/{service}/FeatureServer",
            any(feature_server),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/{op}",
            any(feature_server_op),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/replicas/{replica}",
            any(replica_info),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/jobs/{job}",
            any(job_status),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/jobs/{job}/status",
            any(job_status),
        )
        .route(
            "/arcgis/rest/services/{service}/FeatureServer/{layer}/{object}/attachments/{attachment}",
            any(attachment_file),
        )
        .route(
            "/arcgis/rest/directories/arcgisoutput/{service}/{file}",
            any(result_file),
        )
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.shared.faults.clone(),
            faults::inject,
        ))
        .with_state(state.clone());
    api.merge(admin::router(state))
}

/// The parsed parts of a request every handler needs.
struct Req {
    params: FormParams,
    headers: HeaderMap,
}

impl Req {
    fn new(uri: &Uri, headers: HeaderMap, body: &[u8]) -> Req {
        let mut params = FormParams::parse(uri.query().unwrap_or("").as_bytes());
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| !ct.starts_with("multipart/") && !ct.contains("json"));
        if is_form && !body.is_empty() {
            params.extend(FormParams::parse(body));
        }
        Req { params, headers }
    }

    /// `http://host:port` as the client addressed us.
    fn base_url(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            })
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    }

    fn token(&self) -> Option<String> {
        if let Some(t) = self.params.text("token") {
            return Some(t.to_string());
        }
        for name in [header::AUTHORIZATION.as_str(), "x-esri-authorization"] {
            if let Some(value) = self.headers.get(name).and_then(|v| v.to_str().ok()) {
                let value = value.trim();
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .unwrap_or(value)
                    .trim();
                if !token.is_empty() {
                    return Some(token.to_string());
                }
            }
        }
        None
    }
}

/// The user behind the request's token: 499 without one when tokens are required, 498 for an
/// unknown token.
fn caller(shared: &Shared, req: &Req) -> Result<Caller, ServiceError> {
    match req.token() {
        None if shared.require_token => Err(ServiceError::new(499, "Token Required", Vec::new())),
        None => Ok(Caller::default()),
        Some(token) => shared
            .users
            .iter()
            .find(|u| u.token == token)
            .map(|u| Caller {
                name: u.name.clone(),
                is_admin: u.admin,
            })
            .ok_or_else(|| ServiceError::new(498, "Invalid token.", Vec::new())),
    }
}

fn internal_error() -> ServiceError {
    ServiceError::new(
        500,
        "Unable to complete operation.",
        vec!["Internal server error; see the server log.".into()],
    )
}

fn param_error(err: ParamError) -> ServiceError {
    ServiceError::new(
        400,
        "Invalid or missing input parameters.",
        vec![err.to_string()],
    )
}

/// A JSON reply with status 200.
fn json<T: Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// The error envelope (status 200, as ArcGIS sends it, unless told otherwise).
fn envelope(status: StatusCode, error: ServiceError) -> Response {
    (status, axum::Json(crate::protocol::ErrorEnvelope { error })).into_response()
}

fn op_error(err: OpError) -> Response {
    match err {
        OpError::Service(e) => envelope(StatusCode::OK, e),
        OpError::Store(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "service database failure");
            envelope(StatusCode::INTERNAL_SERVER_ERROR, internal_error())
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    envelope(
        StatusCode::NOT_FOUND,
        ServiceError::new(
            404,
            "Requested resource not found.",
            vec![format!("No resource at {}", uri.path())],
        ),
    )
}

/// The 404 reply for a service name that is not ours.
fn check_service(shared: &Shared, service: &str) -> Result<(), Box<Response>> {
    if service.eq_ignore_ascii_case(&shared.service_name) {
        Ok(())
    } else {
        Err(Box::new(envelope(
            StatusCode::NOT_FOUND,
            ServiceError::new(
                404,
                "Service not found.",
                vec![format!("No service named {service:?}")],
            ),
        )))
    }
}

async fn info(State(state): State<AppState>) -> Response {
    json(&serde_json::json!({
        "currentVersion": 11.1,
        "fullVersion": "11.1.0",
        "owningSystemUrl": null,
        "authInfo": {"isTokenBasedSecurity": state.shared.require_token},
    }))
}

async fn services(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let req = Req::new(&uri, headers, &[]);
    let name = &state.shared.service_name;
    json(&serde_json::json!({
        "currentVersion": 11.1,
        "folders": [],
        "services": [{"name": name, "type": "FeatureServer",
                      "url": format!("{}/arcgis/rest/services/{name}/FeatureServer", req.base_url())}],
    }))
}

async fn feature_server(
    State(state): State<AppState>,
    Path(service): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(&uri, headers, &body);
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    if let Err(e) = caller(&state.shared, &req) {
        return envelope(StatusCode::OK, e);
    }
    match state.blocking(|s| Ok(s.core().def.service_info())).await {
        Ok(info) => json(&info),
        Err(e) => op_error(e),
    }
}

async fn feature_server_op(
    State(state): State<AppState>,
    Path((service, op)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(&uri, headers, &body);
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let who = match caller(&state.shared, &req) {
        Ok(c) => c,
        Err(e) => return envelope(StatusCode::OK, e),
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

async fn unregister_replica(state: &AppState, req: &Req, who: Caller) -> Result<Response, OpError> {
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

/// What an async job or a direct call runs.
enum Work {
    Create(Box<CreateReplicaParams>),
    Sync(Box<SyncReplicaParams>),
}

impl Work {
    fn data_format(&self) -> DataFormat {
        match self {
            Work::Create(p) => p.data_format,
            Work::Sync(p) => p.data_format,
        }
    }
    fn transport(&self) -> TransportType {
        match self {
            Work::Create(p) => p.transport_type,
            Work::Sync(p) => p.transport_type,
        }
    }
    fn is_async(&self) -> bool {
        match self {
            Work::Create(p) => p.is_async,
            Work::Sync(p) => p.is_async,
        }
    }
    fn replica_name(&self) -> Option<String> {
        match self {
            Work::Create(p) => Some(p.replica_name.clone()),
            Work::Sync(_) => None,
        }
    }
}

async fn create_replica(state: &AppState, req: &Req, who: Caller) -> Result<Response, OpError> {
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

async fn synchronize_replica(
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
    let base_url = req.base_url();
    if work.is_async() {
        let status_url = start_job(state, base_url, who, work);
        return Ok(json(&serde_json::json!({ "statusUrl": status_url })));
    }
    let result = state
        .blocking(move |s| {
            let executed = execute(s, &base_url, &who, &work, false);
            super::free_in_background(work);
            executed
        })
        .await?;
    let response = json(&result.reply);
    super::free_in_background(result);
    Ok(response)
}

/// The reply of an executed operation.
struct Executed {
    reply: ReplicaResponse,
    has_failed_edits: bool,
}

/// Runs the operation and delivers its result: embedded, or as a JSON or SQLite result file.
fn execute(
    shared: &Shared,
    base_url: &str,
    who: &Caller,
    work: &Work,
    force_url: bool,
) -> Result<Executed, OpError> {
    let (mut document, has_failed_edits) = match work {
        Work::Create(p) => (ops::create_replica(&mut shared.core(), who, p)?, false),
        Work::Sync(p) => {
            let outcome = ops::synchronize(&mut shared.core(), who, p)?;
            (outcome.response, outcome.has_failed_edits)
        }
    };
    let service_url = format!(
        "{base_url}/arcgis/rest/services/{}/FeatureServer",
        shared.service_name
    );
    absolute_attachment_urls(&mut document, &service_url);
    let reply = deliver(
        shared,
        base_url,
        document,
        work.data_format(),
        work.transport(),
        force_url,
    )?;
    Ok(Executed {
        reply,
        has_failed_edits,
    })
}

/// Attachment data URLs come from `ops` relative to the FeatureServer; clients get them absolute.
fn absolute_attachment_urls(document: &mut ReplicaResponse, service_url: &str) {
    let layers = document
        .layers
        .iter_mut()
        .flat_map(|l| l.attachments.iter_mut());
    let edits = document.edits.iter_mut().flat_map(|l| {
        l.attachments
            .adds
            .iter_mut()
            .chain(l.attachments.updates.iter_mut())
    });
    for attachment in layers.chain(edits) {
        if let Some(url) = attachment.url.as_mut()
            && !url.starts_with("http")
        {
            *url = format!("{service_url}/{url}");
        }
    }
}

fn deliver(
    shared: &Shared,
    base_url: &str,
    document: ReplicaResponse,
    format: DataFormat,
    transport: TransportType,
    force_url: bool,
) -> Result<ReplicaResponse, OpError> {
    let no_edits = document.response_type == Some(ResponseType::NoEdits);
    if no_edits
        || (transport == TransportType::Embedded && format == DataFormat::Json && !force_url)
    {
        return Ok(document);
    }
    let file_name = match format {
        DataFormat::Sqlite => {
            let (name, path) = shared.outputs.new_name("geodatabase");
            delta::write(&path, &Delta::from_response(&document)).map_err(|e| {
                tracing::error!(error = %e, "could not write a delta file");
                OpError::Service(internal_error())
            })?;
            shared.outputs.publish(&name);
            name
        }
        _ => {
            let bytes =
                serde_json::to_vec(&document).map_err(|_| OpError::Service(internal_error()))?;
            shared.outputs.write("json", &bytes).map_err(|e| {
                tracing::error!(error = %e, "could not write a result file");
                OpError::Service(internal_error())
            })?
        }
    };
    let url = format!(
        "{base_url}/arcgis/rest/directories/arcgisoutput/{}/{file_name}",
        shared.service_name
    );
    Ok(ReplicaResponse {
        replica_name: document.replica_name,
        replica_id: document.replica_id,
        replica_server_gen: document.replica_server_gen,
        layer_server_gens: document.layer_server_gens,
        transport_type: Some(TransportType::Url),
        response_type: document.response_type,
        url: Some(url),
        ..Default::default()
    })
}

/// Starts an async job and returns its status URL.
fn start_job(state: &AppState, base_url: String, who: Caller, work: Work) -> String {
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
                OpError::Store(e) => {
                    tracing::error!(error = %e, "async job failed in the database");
                    internal_error()
                }
            });
        }
    }
}

async fn job_status(
    State(state): State<AppState>,
    Path(parts): Path<Vec<(String, String)>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(&uri, headers, &[]);
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

async fn replica_info(
    State(state): State<AppState>,
    Path((service, replica)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(&uri, headers, &[]);
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    if let Err(e) = caller(&state.shared, &req) {
        return envelope(StatusCode::OK, e);
    }
    let result = async {
        let id = ops::parse_replica_id(&replica)?;
        state.blocking(move |s| ops::info(&s.core(), &id)).await
    }
    .await;
    match result {
        Ok(info) => json(&info),
        Err(e) => op_error(e),
    }
}

/// `…/FeatureServer/<layer>/<objectId>/attachments/<attachmentId>`: an attachment's data, with
/// its content type. 404 with the envelope for an unknown or deleted attachment, or one whose
/// parent the caller may not see.
async fn attachment_file(
    State(state): State<AppState>,
    Path((service, layer, object, attachment)): Path<(String, String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req::new(&uri, headers, &[]);
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
            let mut response = Response::new(Body::from(bytes));
            let value = HeaderValue::from_str(&content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
            response.headers_mut().insert(header::CONTENT_TYPE, value);
            response
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

async fn result_file(
    State(state): State<AppState>,
    Path((service, file)): Path<(String, String)>,
) -> Response {
    if let Err(r) = check_service(&state.shared, &service) {
        return *r;
    }
    let shared = state.shared.clone();
    let name = file.clone();
    let read =
        tokio::task::spawn_blocking(move || shared.outputs.open(&name).map(std::fs::read)).await;
    match read {
        Ok(Some(Ok(bytes))) => file_response(&file, bytes),
        _ => envelope(
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

fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    let content_type = if name.ends_with(".json") {
        "application/json"
    } else {
        "application/x-sqlite3"
    };
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
