//! [`DemoAdmin`]: the embedded demo service's loopback admin API, used to terminate and re-enable
//! sync (the service forgets every replica, so each needs a client reset). The HTTP call itself is
//! `service::admin`; this file owns the address, the key and the words the technician sees.

use crate::engine::{Event, LogEntry};
use crate::model::{Secret, now_ms};
use crate::server::RunningServer;
use crate::service::admin::{AdminCallError, post_admin};

/// What the log says after sync was terminated and re-enabled.
pub const TERMINATED_MESSAGE: &str =
    "demo: sync was terminated and re-enabled; every replica needs a client reset";
/// What a failure to terminate sync is reported as (`Event::CommandFailed::what`).
pub const TERMINATE_WHAT: &str = "terminate sync on the demo service";

/// Why the demo service did not terminate and re-enable sync.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct AdminError(#[from] AdminCallError);

/// The words the engine used for these failures when it made the call itself.
fn describe(e: &AdminCallError) -> String {
    match e {
        AdminCallError::Status { status } => format!("the demo service answered HTTP {status}"),
        AdminCallError::Unreachable { source } => {
            format!("could not reach the demo service: {source}")
        }
    }
}

/// Where the demo service's admin API is and its key (loopback only; `Debug` hides the key).
#[derive(Debug, Clone)]
pub struct DemoAdmin {
    base_url: String,
    admin_key: Secret,
}

impl DemoAdmin {
    /// The admin API of a running reference service.
    pub fn of(server: &RunningServer) -> Self {
        DemoAdmin {
            base_url: server.base_url().to_owned(),
            admin_key: server.admin_key().into(),
        }
    }

    /// Terminates and re-enables sync: the service forgets every replica (the way to see a
    /// client reset). The caller then syncs everything so the resets happen now.
    pub async fn terminate_and_reenable_sync(&self) -> Result<(), AdminError> {
        for step in ["sync/terminate", "sync/enable"] {
            post_admin(&self.base_url, self.admin_key.expose(), step).await?;
        }
        Ok(())
    }
}

/// The log line the window shows once sync was terminated and re-enabled.
pub fn terminated_event() -> Event {
    Event::Logged {
        entry: LogEntry {
            at_ms: now_ms(),
            replica: None,
            replica_name: "demo service".to_owned(),
            code: None,
            message: TERMINATED_MESSAGE.to_owned(),
        },
    }
}

/// How a failed terminate is shown in the window (as the engine reports a command it could not run).
pub fn terminate_failed_event(error: &AdminError) -> Event {
    Event::CommandFailed {
        what: TERMINATE_WHAT.to_owned(),
        error: crate::engine::Failure {
            class: crate::engine::FailureClass::Local,
            code: None,
            message: error.to_string(),
        },
        command: None,
    }
}
