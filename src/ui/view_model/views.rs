//! The small views the view model keeps: a job as the window saw it ([`JobView`]), a reset waiting
//! for confirmation, a finished reset's summary, a status-bar notice, and how a failure reads.
//! Plain data; the view model fills them.

use crate::engine::{Failure, FailureClass, JobId, ResetPlan, ResetReport};
use crate::protocol::JobState;

/// A job the UI has heard of, running or finished.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub job: JobId,
    pub state: JobState,
    pub progress: Option<f32>,
    pub message: String,
    /// UI clock (seconds, `egui::InputState::time`) when the job was first seen.
    pub started_at_secs: f64,
    /// Set when the job finished: its duration as the engine measured it, or as the UI saw it.
    pub finished_duration_ms: Option<i64>,
}

impl JobView {
    /// Still running: not ended by the engine (a reset that waits for confirmation has ended).
    pub fn is_running(&self) -> bool {
        self.finished_duration_ms.is_none() && !self.state.is_terminal()
    }

    /// Milliseconds since the job started (frozen once it has finished).
    pub fn elapsed_ms(&self, now_secs: f64) -> i64 {
        self.finished_duration_ms
            .unwrap_or(((now_secs - self.started_at_secs).max(0.0) * 1000.0) as i64)
    }
}

/// A reset waiting for the user's explicit confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingReset {
    pub plan: ResetPlan,
    /// Why an automatic mode fell back to manual, if it did.
    pub fallback_error: Option<String>,
}

/// A finished reset, shown in a summary window until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetSummary {
    pub report: ResetReport,
    pub replica_name: String,
    /// `true` after recovery, `false` after discard.
    pub recovered: bool,
}

/// A one-line message for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// "[transport] connection refused (code 3061)".
pub fn failure_text(error: &Failure) -> String {
    let class = match error.class {
        FailureClass::Transport => "network",
        FailureClass::Service => "service",
        FailureClass::Local => "local",
        FailureClass::SignIn => "sign-in",
    };
    match error.code {
        Some(code) if !error.message.ends_with(&format!("(code {code})")) => {
            format!("[{class}] {} (code {code})", error.message)
        }
        _ => format!("[{class}] {}", error.message),
    }
}
