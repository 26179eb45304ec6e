//! Settings the technician chooses: per replica, how a client reset treats unsynced changes
//! ([`ResetMode`]) and what a sync does with predicted refusals ([`PredictedPolicy`]); for the
//! engine, which result format createReplica and synchronizeReplica ask for
//! ([`DownloadFormat`]). Each has one stored text (the app database, the command line) from
//! [`text_enum!`](super::text_enum).

use super::text_enum;
use serde::{Deserialize, Serialize};

/// How a client reset treats unsynced local changes (ArcGIS's client-reset modes; see
/// ARCHITECTURE.md, "Client reset").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ResetMode {
    /// Try to recover; if that fails, discard; if that fails, manual.
    #[default]
    RecoverOrDiscard,
    /// Try to recover; if that fails, manual.
    Recover,
    /// Discard unsynced changes (they stay in the backup); if that fails, manual.
    Discard,
    /// Wait for the user to confirm.
    Manual,
}

text_enum!(ResetMode {
    RecoverOrDiscard => "recover-or-discard",
    Recover => "recover",
    Discard => "discard",
    Manual => "manual",
});

impl ResetMode {
    /// The modes this one falls back to, in order.
    pub fn fallback_chain(self) -> &'static [ResetMode] {
        match self {
            ResetMode::RecoverOrDiscard => &[ResetMode::Discard, ResetMode::Manual],
            ResetMode::Recover | ResetMode::Discard => &[ResetMode::Manual],
            ResetMode::Manual => &[],
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ResetMode::RecoverOrDiscard => "recover or discard",
            ResetMode::Recover => "recover",
            ResetMode::Discard => "discard",
            ResetMode::Manual => "manual",
        }
    }
}

/// What a sync does with local changes the service's rules predict it will refuse (clients
/// should check the service's settings before sending edits; see ARCHITECTURE.md, "Predicted
/// refusals").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PredictedPolicy {
    /// Send them anyway; the server's answer is what counts.
    #[default]
    Send,
    /// Keep them back locally, queued, until they are fixed or dropped.
    Hold,
    /// Send every add and update with only its writable content: values of fields that are not
    /// editable, and a geometry change where geometry updates are off, are left out ("include
    /// only writable fields"). What is left is sent as under `Send`.
    EditableOnly,
}

text_enum!(PredictedPolicy {
    Send => "send",
    Hold => "hold",
    EditableOnly => "editable-only",
});

impl PredictedPolicy {
    pub fn label(self) -> &'static str {
        match self {
            PredictedPolicy::Send => "send anyway",
            PredictedPolicy::Hold => "hold back until fixed",
            PredictedPolicy::EditableOnly => "send only editable fields",
        }
    }
}

/// Which result format (`dataFormat`) the engine asks createReplica and synchronizeReplica
/// for. Both are read as a stream, in bounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DownloadFormat {
    /// SQLite where the service says its SQLite result is a delta syncwatch reads (the
    /// reference service's `syncCapabilities.syncwatchDeltaFormat`); JSON anywhere else, so
    /// always JSON against ArcGIS, whose SQLite result is an Esri mobile geodatabase whose
    /// geometry syncwatch cannot decode.
    #[default]
    Auto,
    /// Always JSON.
    Json,
    /// Always SQLite; a result that is not a syncwatch delta is refused, nothing applied.
    Sqlite,
}

text_enum!(DownloadFormat {
    Auto => "auto",
    Json => "json",
    Sqlite => "sqlite",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_chains_match_the_seed() {
        assert_eq!(
            ResetMode::RecoverOrDiscard.fallback_chain(),
            &[ResetMode::Discard, ResetMode::Manual]
        );
        assert_eq!(ResetMode::Recover.fallback_chain(), &[ResetMode::Manual]);
        assert_eq!(ResetMode::Discard.fallback_chain(), &[ResetMode::Manual]);
        assert!(ResetMode::Manual.fallback_chain().is_empty());
    }

    /// The stored text is the serde name, so the database and `--json` spell a value alike.
    #[test]
    fn stored_text_is_the_serde_name() {
        for mode in ResetMode::ALL {
            let json = serde_json::to_value(mode).unwrap();
            assert_eq!(json.as_str(), Some(mode.as_str()));
        }
        for policy in PredictedPolicy::ALL {
            let json = serde_json::to_value(policy).unwrap();
            assert_eq!(json.as_str(), Some(policy.as_str()));
        }
        for format in DownloadFormat::ALL {
            let json = serde_json::to_value(format).unwrap();
            assert_eq!(json.as_str(), Some(format.as_str()));
        }
    }
}
