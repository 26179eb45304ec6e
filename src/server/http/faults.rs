//! Fault injection for the next N requests to an operation: a delay, a reply held back past the
//! client's timeout, HTTP 500 or 503, a connection dropped mid-response (the body stream errors
//! after some bytes), a reply trickled out slowly but steadily, malformed JSON, truncated JSON, an HTML error page with status 200, the 404
//! of an expired result file, an error envelope with any code and text, or an SQLite file that
//! is not a syncwatch delta (what a real ArcGIS service's `dataFormat=sqlite` result is). Owns the rule list
//! (set through the admin API) and the axum middleware that applies it. Faults that answer
//! instead of the operation (500, 503, malformed, HTML, expired, an envelope) never run it; a
//! timeout, a dropped connection and truncated JSON run the operation first, so its effects are
//! committed and a resend must be idempotent.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// Largest response body a body-altering fault buffers.
const MAX_FAULT_BODY_BYTES: usize = 256 * 1024 * 1024;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FaultKind {
    /// Wait this long, then answer normally.
    Delay { delay_ms: u64 },
    /// The operation runs; its reply is held back this long (longer than the client's timeout),
    /// so the client gives up on a request whose effects are already committed.
    Timeout {
        #[serde(default = "default_timeout_ms")]
        delay_ms: u64,
    },
    /// HTTP 500 with the error envelope; the operation does not run.
    Http500,
    /// HTTP 503 (service unavailable); the operation does not run.
    Http503,
    /// The operation runs; the response stops after `after_bytes` bytes and the connection drops.
    DropConnection {
        #[serde(default = "default_after_bytes")]
        after_bytes: usize,
    },
    /// The operation runs; its reply goes out `chunk_bytes` at a time, one chunk every
    /// `interval_ms`: a slow but steady field connection.
    Trickle {
        #[serde(default = "default_chunk_bytes")]
        chunk_bytes: usize,
        #[serde(default = "default_interval_ms")]
        interval_ms: u64,
    },
    /// Status 200 with a body that is not JSON; the operation does not run.
    MalformedJson,
    /// The operation runs; status 200 with only the first half of its JSON.
    TruncatedJson,
    /// Status 200 with an HTML error page (a proxy or login page); the operation does not run.
    HtmlPage,
    /// HTTP 404 with the envelope an expired result file gets; the operation does not run.
    ResultExpired,
    /// Status 200 with the error envelope carrying this code and message, as ArcGIS sends its
    /// errors (any text: a hostile or broken service's); the operation does not run.
    ErrorEnvelope { code: i64, message: String },
    /// Status 200 with an SQLite file holding the system tables of an Esri mobile geodatabase
    /// and no `GDB_DeltaInfo` (what a real ArcGIS service answers `dataFormat=sqlite` with);
    /// the operation does not run.
    MobileGeodatabase,
}

fn default_after_bytes() -> usize {
    16
}

fn default_chunk_bytes() -> usize {
    16 * 1024
}

fn default_interval_ms() -> u64 {
    100
}

fn default_timeout_ms() -> u64 {
    30_000
}

/// A fault for the next `count` requests to `operation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// `createReplica`, `synchronizeReplica`, `unRegisterReplica`, `replicas`, `jobs`, `result`,
    /// `service`, `layer`, `info`, `services`, or `*` for any service request.
    pub operation: String,
    #[serde(flatten)]
    pub fault: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// The active rules.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        if rule.count > 0 {
            self.lock().push(rule);
        }
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Takes one use of the first rule matching `operation`.
    pub fn take(&self, operation: &str) -> Option<FaultKind> {
        let mut rules = self.lock();
        let index = rules
            .iter()
            .position(|r| r.operation == "*" || r.operation.eq_ignore_ascii_case(operation))?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        rule.count -= 1;
        if rule.count == 0 {
            rules.remove(index);
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        // The rule list stays consistent even if a holder panicked.
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The operation a request path addresses, as fault rules name it.
pub fn operation_of(path: &str) -> String {
    if path.contains("/directories/arcgisoutput/") {
        return "result".into();
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(pos) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("FeatureServer"))
    {
        return match segments.get(pos + 1) {
            None => "service".into(),
            Some(s) if s.parse::<i64>().is_ok() => "layer".into(),
            Some(s) if s.eq_ignore_ascii_case("replicas") && segments.len() > pos + 2 => {
                "replicaInfo".into()
            }
            Some(s) => (*s).to_string(),
        };
    }
    segments.last().copied().unwrap_or("").to_string()
}

/// Middleware: applies the first matching fault, if any.
pub async fn inject(
    State(faults): State<std::sync::Arc<Faults>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = operation_of(request.uri().path());
    let Some(fault) = faults.take(&operation) else {
        return next.run(request).await;
    };
    tracing::warn!(%operation, ?fault, "injecting a fault");
    match fault {
        FaultKind::Delay { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            next.run(request).await
        }
        FaultKind::Timeout { delay_ms } => {
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            response
        }
        FaultKind::ResultExpired => envelope(StatusCode::NOT_FOUND, 404, "Result file not found."),
        FaultKind::Http500 => envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal server error.",
        ),
        FaultKind::Http503 => {
            envelope(StatusCode::SERVICE_UNAVAILABLE, 503, "Service unavailable.")
        }
        FaultKind::MalformedJson => json_text(Bytes::from_static(
            b"{\"responseType\": esriReplicaResponseTypeEdits, \"replicaServerGen\": }",
        )),
        FaultKind::HtmlPage => html_page(),
        FaultKind::MobileGeodatabase => mobile_geodatabase().await,
        FaultKind::ErrorEnvelope { code, message } => envelope(StatusCode::OK, code, &message),
        FaultKind::TruncatedJson => {
            let (parts, body) = next.run(request).await.into_parts();
            let bytes = body_bytes(body).await;
            let half = bytes.slice(..bytes.len() / 2);
            let mut response = Response::from_parts(parts, Body::from(half));
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.status_mut() = StatusCode::OK;
            response
        }
        FaultKind::Trickle {
            chunk_bytes,
            interval_ms,
        } => {
            let (parts, body) = next.run(request).await.into_parts();
            let bytes = body_bytes(body).await;
            let chunk = chunk_bytes.max(1);
            let pause = Duration::from_millis(interval_ms);
            let chunks = futures_util::stream::unfold(0usize, move |at| {
                let bytes = bytes.clone();
                async move {
                    if at >= bytes.len() {
                        return None;
                    }
                    if at > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    let end = (at + chunk).min(bytes.len());
                    Some((Ok::<_, std::io::Error>(bytes.slice(at..end)), end))
                }
            });
            Response::from_parts(parts, Body::from_stream(chunks))
        }
        FaultKind::DropConnection { after_bytes } => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let bytes = body_bytes(body).await;
            let cut = after_bytes.min(bytes.len().saturating_sub(1));
            let sent = bytes.slice(..cut);
            // The bytes before the cut go out (a pause lets the connection flush them), then
            // the connection drops.
            let chunks = futures_util::stream::unfold(0u8, move |step| {
                let sent = sent.clone();
                async move {
                    match step {
                        0 => Some((Ok(sent), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            let dropped =
                                std::io::Error::other("fault injection: connection dropped");
                            Some((Err(dropped), 2))
                        }
                        _ => None,
                    }
                }
            });
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from_stream(chunks))
        }
    }
}

async fn body_bytes(body: Body) -> Bytes {
    axum::body::to_bytes(body, MAX_FAULT_BODY_BYTES)
        .await
        .unwrap_or_default()
}

fn envelope(status: StatusCode, code: i64, message: &str) -> Response {
    let body = crate::protocol::ErrorEnvelope {
        error: crate::protocol::ServiceError::new(code, message, vec!["Injected fault.".into()]),
    };
    (status, axum::Json(body)).into_response()
}

fn json_text(bytes: Bytes) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An SQLite file with a mobile geodatabase's system tables (no delta), as the result body.
async fn mobile_geodatabase() -> Response {
    let made = tokio::task::spawn_blocking(|| -> Result<Vec<u8>, String> {
        let path = std::env::temp_dir().join(format!(
            "syncwatch-fault-{}.geodatabase",
            crate::protocol::Guid::new_v4().bare()
        ));
        let written = rusqlite::Connection::open(&path)
            .and_then(|conn| {
                conn.execute_batch(
                    "CREATE TABLE GDB_Items(ObjectID INTEGER PRIMARY KEY, UUID TEXT, Type TEXT,
                         Name TEXT, Definition TEXT);
                     CREATE TABLE GDB_ServiceItems(OBJECTID INTEGER PRIMARY KEY, ItemType INTEGER,
                         ItemInfo TEXT, ItemId INTEGER, DatasetName TEXT);
                     CREATE TABLE GDB_ReplicaLog(ID INTEGER PRIMARY KEY, ReplicaID TEXT);
                     INSERT INTO GDB_Items(Name) VALUES ('replica');",
                )
            })
            .map_err(|e| e.to_string());
        let bytes = written.and_then(|()| std::fs::read(&path).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&path);
        bytes
    })
    .await;
    match made {
        Ok(Ok(bytes)) => {
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-sqlite3"),
            );
            response
        }
        _ => envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "The injected geodatabase could not be made.",
        ),
    }
}

fn html_page() -> Response {
    let mut response = Response::new(Body::from(
        "<!DOCTYPE html><html><head><title>502 Proxy Error</title></head><body><h1>Proxy Error</h1>\
         <p>The proxy server received an invalid response from an upstream server.</p></body></html>",
    ));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_match_and_run_out() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"operation":"synchronizeReplica","kind":"dropConnection","afterBytes":5,"count":2}"#,
        )
        .unwrap();
        assert_eq!(rule.fault, FaultKind::DropConnection { after_bytes: 5 });
        let faults = Faults::default();
        faults.add(rule);
        assert!(faults.take("createReplica").is_none());
        assert!(faults.take("synchronizereplica").is_some());
        assert!(faults.take("synchronizeReplica").is_some());
        assert!(faults.take("synchronizeReplica").is_none());
        let delay: FaultRule =
            serde_json::from_str(r#"{"operation":"*","kind":"delay","delayMs":10}"#).unwrap();
        assert_eq!(delay.count, 1);
        let timeout: FaultRule =
            serde_json::from_str(r#"{"operation":"jobs","kind":"timeout"}"#).unwrap();
        assert_eq!(timeout.fault, FaultKind::Timeout { delay_ms: 30_000 });
        let expired: FaultRule =
            serde_json::from_str(r#"{"operation":"result","kind":"resultExpired"}"#).unwrap();
        assert_eq!(expired.fault, FaultKind::ResultExpired);
        let envelope: FaultRule = serde_json::from_str(
            r#"{"operation":"*","kind":"errorEnvelope","code":400,"message":"x\u001b]0;t\u0007"}"#,
        )
        .unwrap();
        assert_eq!(
            envelope.fault,
            FaultKind::ErrorEnvelope {
                code: 400,
                message: "x\u{1b}]0;t\u{7}".into()
            }
        );
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"operation":"x","kind":"explode"}"#).is_err()
        );
    }

    #[test]
    fn operations_from_paths() {
        let base = "/arcgis/rest/services/WaterNetwork/FeatureServer";
        assert_eq!(operation_of(base), "service");
        assert_eq!(operation_of(&format!("{base}/0")), "layer");
        assert_eq!(
            operation_of(&format!("{base}/synchronizeReplica")),
            "synchronizeReplica"
        );
        assert_eq!(operation_of(&format!("{base}/jobs/abc")), "jobs");
        assert_eq!(
            operation_of("/arcgis/rest/directories/arcgisoutput/W/x.json"),
            "result"
        );
        assert_eq!(operation_of("/arcgis/rest/info"), "info");
        assert_eq!(
            operation_of("/arcgis/rest/services/Water/FeatureServer/replicas/abc"),
            "replicaInfo"
        );
        assert_eq!(
            operation_of("/arcgis/rest/services/Water/FeatureServer/replicas"),
            "replicas"
        );
    }
}
