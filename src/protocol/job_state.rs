//! [`JobState`]: the state of an async job as the status resource reports it, read from any of
//! the spellings ArcGIS servers use; an unknown phase counts as still running.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// State of an async job. Any value we do not know (a phase such as `ExportChanges`) means
/// "still running".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobState {
    Pending,
    InProgress,
    Completed,
    CompletedWithErrors,
    Failed,
    /// A phase or unknown value: still running, text kept for display.
    Running(String),
}

impl JobState {
    pub fn parse(text: &str) -> JobState {
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "pending" | "esrijobsubmitted" | "esrijobwaiting" | "submitted" | "new" => {
                JobState::Pending
            }
            "inprogress" | "esrijobexecuting" | "executing" | "running" => JobState::InProgress,
            "completed" | "esrijobsucceeded" | "succeeded" => JobState::Completed,
            "completedwitherrors" => JobState::CompletedWithErrors,
            "failed" | "esrijobfailed" | "esrijobcancelled" | "cancelled" => JobState::Failed,
            _ => JobState::Running(text.trim().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            JobState::Pending => "Pending",
            JobState::InProgress => "InProgress",
            JobState::Completed => "Completed",
            JobState::CompletedWithErrors => "CompletedWithErrors",
            JobState::Failed => "Failed",
            JobState::Running(text) => text,
        }
    }

    /// Completed, CompletedWithErrors or Failed.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::CompletedWithErrors | JobState::Failed
        )
    }
}

impl Serialize for JobState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(JobState::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_state_spellings() {
        for (text, state) in [
            ("Completed With Errors", JobState::CompletedWithErrors),
            ("completedwitherrors", JobState::CompletedWithErrors),
            ("IN PROGRESS", JobState::InProgress),
            ("esriJobSucceeded", JobState::Completed),
            ("Failed", JobState::Failed),
            ("pending", JobState::Pending),
        ] {
            assert_eq!(JobState::parse(text), state, "{text}");
        }
        let phase = JobState::parse("ExportChanges");
        assert!(!phase.is_terminal());
        assert_eq!(phase.as_str(), "ExportChanges");
    }
}
