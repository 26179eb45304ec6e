//! Typed failures of talking to a feature service, classified the way a sync client must tell
//! them apart: transport problems (retryable), the service's error envelope, and replies we
//! cannot read. The helpers at the end turn reqwest failures and bad replies into these.

use crate::protocol::catalog::{self, CatalogEntry, TransportKind};
use crate::protocol::{ReplyError, ServiceError};
use std::path::PathBuf;
use url::Url;

/// Why a call to a feature service failed. Messages name the operation; URLs come last and
/// never carry a token.
#[derive(Debug, thiserror::Error)]
pub enum ServiceClientError {
    #[error("invalid service URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{operation}: {} ({detail}) — {url}", kind.title())]
    Transport {
        operation: &'static str,
        kind: TransportKind,
        /// HTTP status, when the failure is one.
        status: Option<u16>,
        detail: String,
        url: String,
    },
    #[error("{operation}: {error}")]
    Service {
        operation: &'static str,
        error: ServiceError,
    },
    #[error("{operation}: the reply is not valid sync JSON ({reason}); it began with {snippet:?}")]
    Malformed {
        operation: &'static str,
        reason: String,
        snippet: String,
    },
    #[error(
        "{operation}: the reply is larger than {} MiB, more than such a reply ever needs; it was not read — {url}",
        limit_bytes.div_ceil(1 << 20)
    )]
    TooLarge {
        operation: &'static str,
        limit_bytes: u64,
        url: String,
    },
    /// The server's TLS certificate could not be verified; nothing was sent. Not retried: only
    /// the user can decide to trust it (`--ca-cert`), by its fingerprint.
    #[error("{operation}: TLS handshake failed: the server's certificate is not trusted ({reason}){}; to trust it, add it with --ca-cert FILE — {url}", fingerprint_sha256.as_ref().map(|f| format!("; its SHA-256 fingerprint is {f}")).unwrap_or_default())]
    UntrustedCertificate {
        operation: &'static str,
        reason: String,
        /// `AB:CD:…` of the certificate the server presented, when it could be read.
        fingerprint_sha256: Option<String>,
        url: String,
    },
    #[error("{operation}: the job failed on the server: {message}")]
    JobFailed {
        operation: &'static str,
        message: String,
        error: Option<Box<ServiceError>>,
    },
    /// The service refused the token (498, 499) and no new one could be had: the user must sign
    /// in again. Not a sync failure and not worth retrying unchanged.
    #[error("{operation}: sign-in needed for {server} — {reason}")]
    SignInNeeded {
        operation: &'static str,
        /// The server root the sign-in is for.
        server: String,
        reason: String,
        /// The service's code (498 invalid token, 499 token required), when it sent one.
        code: Option<i64>,
    },
    #[error("could not write the downloaded result to {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ServiceClientError {
    /// The transport class, for failures below the protocol (including an expired result).
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self {
            ServiceClientError::Transport { kind, .. } => Some(*kind),
            ServiceClientError::Malformed { .. } | ServiceClientError::TooLarge { .. } => {
                Some(TransportKind::MalformedReply)
            }
            ServiceClientError::UntrustedCertificate { .. } => Some(TransportKind::ConnectionLost),
            _ => None,
        }
    }

    /// The service's own error envelope, if it sent one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            ServiceClientError::Service { error, .. } => Some(error),
            ServiceClientError::JobFailed { error, .. } => error.as_deref(),
            _ => None,
        }
    }

    /// The replica-level catalog entry this failure stands for (3061 replica does not exist, …).
    pub fn replica_error(&self) -> Option<&'static CatalogEntry> {
        self.service_error()
            .and_then(catalog::classify_service_error)
    }

    /// True when only a client reset can get the replica syncing again.
    pub fn needs_client_reset(&self) -> bool {
        self.replica_error().is_some_and(|e| e.needs_client_reset)
    }

    /// Worth trying again later unchanged: transport failures and 5xx-like service errors.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceClientError::Transport { kind, status, .. } => match kind {
                TransportKind::HttpStatus => {
                    status.is_none_or(|s| s >= 500 || s == 408 || s == 429)
                }
                TransportKind::ResultExpired => false,
                _ => true,
            },
            ServiceClientError::Malformed { .. } => true,
            ServiceClientError::Service { error, .. } => is_transient_service_code(error.code),
            _ => false,
        }
    }

    /// The SHA-256 fingerprint of a server certificate that was not trusted.
    pub fn untrusted_certificate_fingerprint(&self) -> Option<&str> {
        match self {
            ServiceClientError::UntrustedCertificate {
                fingerprint_sha256, ..
            } => fingerprint_sha256.as_deref(),
            _ => None,
        }
    }

    /// The numeric code to show next to the message, if there is one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ServiceClientError::SignInNeeded { code, .. } => *code,
            _ => self.service_error().and_then(|e| e.code),
        }
    }

    /// True when only signing in again gets this service answering: the front ends show
    /// "sign-in needed", never a failed sync.
    pub fn is_sign_in_needed(&self) -> bool {
        matches!(self, ServiceClientError::SignInNeeded { .. })
    }

    /// The service refused the token it was sent (498) or wanted one (499), in the body of a
    /// 200 reply or as the HTTP status.
    pub fn is_token_refusal(&self) -> bool {
        match self {
            ServiceClientError::Service { error, .. } => matches!(error.code, Some(498 | 499)),
            ServiceClientError::Transport {
                kind: TransportKind::HttpStatus,
                status: Some(498 | 499),
                ..
            } => true,
            _ => false,
        }
    }
}

/// Envelope codes that mean "the server had a problem, try again": 500, 502, 503, 504.
pub(crate) fn is_transient_service_code(code: Option<i64>) -> bool {
    matches!(code, Some(500 | 502 | 503 | 504))
}

// Classifying what went wrong below the protocol, for the request, polling and download code.

pub(super) fn transport_error(
    operation: &'static str,
    url: &Url,
    e: &reqwest::Error,
) -> ServiceClientError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::ConnectionLost
    };
    ServiceClientError::Transport {
        operation,
        kind,
        status: None,
        detail: transport_detail(e, url.scheme() == "https"),
        url: url.to_string(),
    }
}

/// The causes of a reqwest error on one line, without reqwest's own "error sending request for
/// url (…)" (the message names the URL once, at its end) and without repeated links. A failed
/// TLS handshake (over https, an I/O error of kind `InvalidData` while connecting) says so.
pub(super) fn transport_detail(e: &reqwest::Error, is_https: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if is_https && e.is_connect() && is_tls_failure(e) {
        parts.push("TLS handshake failed".into());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        // No cause to show: reqwest's own text, with the URL (which never carries the token) removed.
        let text = e.to_string();
        return match text.find(" for url (") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
    }
    parts.join(": ").replace('\n', " ")
}

/// Why the server's certificate was refused, when that is what failed.
pub(super) fn certificate_refusal(e: &reqwest::Error) -> Option<String> {
    use tokio_rustls::rustls;
    fn in_io(io: &std::io::Error) -> Option<String> {
        let inner = io.get_ref()?;
        if let Some(rustls::Error::InvalidCertificate(why)) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(certificate_reason(why));
        }
        inner.downcast_ref::<std::io::Error>().and_then(in_io)
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(rustls::Error::InvalidCertificate(why)) = s.downcast_ref::<rustls::Error>() {
            return Some(certificate_reason(why));
        }
        if let Some(reason) = s.downcast_ref::<std::io::Error>().and_then(in_io) {
            return Some(reason);
        }
        source = s.source();
    }
    None
}

fn certificate_reason(why: &tokio_rustls::rustls::CertificateError) -> String {
    use tokio_rustls::rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => "it is self-signed or signed by an unknown authority".into(),
        E::Expired | E::ExpiredContext { .. } => "it has expired".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".into(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "it was issued for another host name".into()
        }
        E::Revoked => "it has been revoked".into(),
        other => format!("{other:?}"),
    }
}

fn is_tls_failure(e: &reqwest::Error) -> bool {
    // An I/O error may wrap another one (`get_ref`), which `source()` skips.
    fn invalid_data(io: &std::io::Error) -> bool {
        io.kind() == std::io::ErrorKind::InvalidData
            || io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<std::io::Error>())
                .is_some_and(invalid_data)
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(invalid_data) {
            return true;
        }
        source = s.source();
    }
    false
}

pub(super) fn too_large(operation: &'static str, url: &Url, limit: u64) -> ServiceClientError {
    ServiceClientError::TooLarge {
        operation,
        limit_bytes: limit,
        url: url.to_string(),
    }
}

pub(super) fn expired(url: &Url) -> ServiceClientError {
    ServiceClientError::Transport {
        operation: "download result",
        kind: TransportKind::ResultExpired,
        status: Some(404),
        detail: "the result file is no longer on the server".into(),
        url: url.to_string(),
    }
}

impl ServiceClientError {
    /// A reply that could not be read, or the service's error envelope, read by the caller (a
    /// result file read as a stream) rather than here.
    pub fn from_reply(operation: &'static str, error: ReplyError) -> ServiceClientError {
        match error {
            ReplyError::Malformed { reason, snippet } => ServiceClientError::Malformed {
                operation,
                reason,
                snippet,
            },
            ReplyError::Service(error) => ServiceClientError::Service { operation, error },
        }
    }
}

pub(super) fn malformed(
    operation: &'static str,
    reason: String,
    body: &[u8],
) -> ServiceClientError {
    ServiceClientError::from_reply(operation, crate::protocol::error::malformed(reason, body))
}
