//! Typed failures of talking to a feature service, classified the way seed 004 asks:
//! transport problems (retryable), the service's error envelope, and replies we cannot read.

use crate::protocol::ServiceError;
use crate::protocol::catalog::{self, CatalogEntry, TransportKind};
use std::path::PathBuf;

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
    #[error("{operation}: the reply is larger than the {limit_bytes}-byte limit — {url}")]
    TooLarge {
        operation: &'static str,
        limit_bytes: u64,
        url: String,
    },
    #[error("{operation}: the job failed on the server: {message}")]
    JobFailed {
        operation: &'static str,
        message: String,
        error: Option<Box<ServiceError>>,
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

    /// The numeric code to show next to the message, if there is one.
    pub fn code(&self) -> Option<i64> {
        self.service_error().and_then(|e| e.code)
    }
}

/// Envelope codes that mean "the server had a problem, try again": 500, 502, 503, 504.
pub(crate) fn is_transient_service_code(code: Option<i64>) -> bool {
    matches!(code, Some(500 | 502 | 503 | 504))
}
