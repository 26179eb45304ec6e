//! Typed failures inside the engine, and how each becomes the [`Failure`] front ends show.

use super::api::{Failure, FailureClass, LocalReplicaId};
use crate::geodatabase::replica_file::ReplicaFileError;
use crate::service::ServiceClientError;
use crate::store::StoreError;

/// Why an engine step failed. A refused edit is not an error (it is an edit result), and a
/// replica that needs a client reset is reported as [`super::Event::ResetRequired`].
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the feature service call failed")]
    Service(#[from] ServiceClientError),
    #[error("the local replica file failed")]
    ReplicaFile(#[from] ReplicaFileError),
    /// A downloaded SQLite delta that cannot be read (damaged, cut short).
    #[error("the downloaded SQLite result could not be read")]
    Delta(#[source] crate::geodatabase::delta::DeltaError),
    #[error("the app database failed")]
    Store(#[from] StoreError),
    #[error("the secret store failed")]
    Secrets(#[from] crate::credentials::CredentialsError),
    #[error("replica {0} is not registered")]
    UnknownReplica(LocalReplicaId),
    #[error("replica {replica} has no server replicaID yet (it was never created)")]
    NotCreated { replica: LocalReplicaId },
    #[error("replica {replica} needs a client reset: {reason}")]
    ResetRequired {
        replica: LocalReplicaId,
        reason: String,
    },
    #[error("the job was cancelled")]
    Cancelled,
    /// A client reset could not finish; the replica is untouched and still needs a reset.
    #[error("client reset failed: {0}")]
    Reset(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("could not write {path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write CSV to {path}")]
    Csv {
        path: std::path::PathBuf,
        #[source]
        source: csv::Error,
    },
    /// An edit of a batch could not be recorded, so none of the batch was.
    #[error("edit {position} of the batch could not be recorded, so none was")]
    BatchEntry {
        /// 0-based, in the order the batch was given.
        position: usize,
        #[source]
        source: ReplicaFileError,
    },
    #[error("internal error (please report): {0}")]
    Bug(String),
}

/// The way out of a damaged replica file.
const REPLICA_WAY_OUT: &str = "the file was left as it is; restore it from a copy, or unregister \
     the replica and create it again (its last reset backup, if any, is under recovery/)";

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        EngineError::Bug(format!("a blocking task stopped: {e}"))
    }
}

impl EngineError {
    /// The front-end view: class, code and a one-line message with the cause chain.
    pub fn to_failure(&self) -> Failure {
        let class = match self {
            EngineError::Service(e) if e.is_sign_in_needed() => FailureClass::SignIn,
            EngineError::Service(e) if e.transport_kind().is_some() => FailureClass::Transport,
            EngineError::Service(_) | EngineError::ResetRequired { .. } => FailureClass::Service,
            _ => FailureClass::Local,
        };
        let code = match self {
            EngineError::Service(e) => e.replica_error().map(|c| c.code).or(e.code()),
            _ => None,
        };
        let mut message = chain(self);
        if let Some(way_out) = self.way_out() {
            message.push_str(" — ");
            message.push_str(way_out);
        }
        Failure {
            class,
            code,
            message,
        }
    }

    /// What the user can do about a damaged local file (which is always left as it is).
    fn way_out(&self) -> Option<&'static str> {
        match self {
            EngineError::ReplicaFile(e) if e.is_damaged() => Some(REPLICA_WAY_OUT),
            _ => None,
        }
    }

    /// True when only signing in again helps (the service refused the token, nothing renews it).
    pub fn is_sign_in_needed(&self) -> bool {
        matches!(self, EngineError::Service(e) if e.is_sign_in_needed())
    }

    /// True for failures that mean "the service cannot be reached right now".
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Service(e) if e.transport_kind().is_some() && e.is_transient())
    }
}

/// `error: cause: cause` on one line, the way `{:#}` prints an anyhow chain.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
