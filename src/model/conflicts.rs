//! Conflicts between a technician's queued edit and a newer change on the service
//! (ARCHITECTURE.md, "Conflicts"): what a conflict is ([`Conflict`], one per feature, with a
//! [`ConflictField`] per field both sides changed), what a replica's syncs do with them
//! ([`ConflictPolicy`]) and how the user resolves one ([`Resolution`]).
//!
//! Plain data: it does no I/O and decides nothing about the queue (the replica file applies a
//! resolution, the engine detects conflicts). The serde names are the CLI's `--json` format.

use super::text_enum;
use crate::protocol::Guid;
use serde::{Deserialize, Serialize};

/// What a replica's syncs do with conflicting local edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Hold the conflicting edits (queued, not sent) until the user resolves them; everything
    /// else syncs.
    #[default]
    Ask,
    /// The upload wins (ArcGIS's own behaviour); the conflict is still recorded and shown.
    #[serde(rename = "mine")]
    KeepMine,
    /// The conflicting local fields are dropped; the rest of the edit is uploaded.
    #[serde(rename = "server")]
    TakeServer,
}

text_enum!(ConflictPolicy {
    Ask => "ask",
    KeepMine => "mine",
    TakeServer => "server",
});

impl ConflictPolicy {
    pub fn label(self) -> &'static str {
        match self {
            ConflictPolicy::Ask => "ask (hold conflicting edits)",
            ConflictPolicy::KeepMine => "keep mine (upload wins)",
            ConflictPolicy::TakeServer => "take the server's",
        }
    }
}

/// What the two sides did to the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed the same field(s) to different values.
    SameFields,
    /// The service deleted the feature the technician updated.
    ServerDeleted,
}

text_enum!(ConflictKind {
    SameFields => "same-fields",
    ServerDeleted => "server-deleted",
});

/// Where a conflict stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictStatus {
    /// Held: the local edit is not sent until the user resolves it (policy *ask*).
    Held,
    /// Recorded only: policy *keep mine* sent the local values over the server's.
    KeptMine,
    /// Recorded only: policy *take the server's* dropped the conflicting local values.
    TookServer,
}

text_enum!(ConflictStatus {
    Held => "held",
    KeptMine => "kept-mine",
    TookServer => "took-server",
});

/// One field both sides changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictField {
    pub name: String,
    /// The server's value the local edit started from (its before-image).
    pub started_from: serde_json::Value,
    /// The technician's value.
    pub mine: serde_json::Value,
    /// The server's current value (`null` when the server deleted the feature).
    pub server: serde_json::Value,
}

/// One feature whose queued local edit conflicts with the service's current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub kind: ConflictKind,
    pub status: ConflictStatus,
    /// The fields in conflict (for a server delete: every field the local edit changed).
    pub fields: Vec<ConflictField>,
    /// Who last edited the feature on the service and when (epoch ms), when the layer has
    /// editor tracking (`editFieldsInfo`).
    pub server_editor: Option<String>,
    pub server_edited_ms: Option<i64>,
    pub detected_ms: i64,
}

/// One side of a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Mine,
    Server,
}

text_enum!(Side {
    Mine => "mine",
    Server => "server",
});

/// What to do with one conflicting field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldChoice {
    /// Keep the technician's value (sent over the server's on the next sync).
    Mine,
    /// Take the server's value (the local value of this field is dropped).
    Server,
    /// Send this value instead of either.
    Value(serde_json::Value),
}

/// A user's resolution of one conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// The whole feature: every conflicting field (or, for a server delete, the feature itself).
    Whole(Side),
    /// Field by field; fields not named stay in conflict.
    Fields(Vec<(String, FieldChoice)>),
}

impl FieldChoice {
    /// Reads `mine`, `server`, or a value (JSON when it parses as JSON, else text).
    pub fn parse(text: &str) -> FieldChoice {
        match text {
            "mine" => FieldChoice::Mine,
            "server" => FieldChoice::Server,
            other => FieldChoice::Value(
                serde_json::from_str(other)
                    .unwrap_or_else(|_| serde_json::Value::String(other.to_string())),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field choices read from the command line: the two sides, JSON values, plain text.
    #[test]
    fn field_choice_parses_sides_json_and_text() {
        assert_eq!(FieldChoice::parse("mine"), FieldChoice::Mine);
        assert_eq!(FieldChoice::parse("server"), FieldChoice::Server);
        assert_eq!(
            FieldChoice::parse("42"),
            FieldChoice::Value(serde_json::json!(42))
        );
        assert_eq!(
            FieldChoice::parse("flushed"),
            FieldChoice::Value(serde_json::json!("flushed"))
        );
        assert_eq!(
            ConflictPolicy::parse("mine"),
            Some(ConflictPolicy::KeepMine)
        );
        assert_eq!(ConflictPolicy::default(), ConflictPolicy::Ask);
    }
}
