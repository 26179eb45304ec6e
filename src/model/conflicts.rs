//! Conflicts between a technician's queued edit and a newer change on the service
//! (ARCHITECTURE.md, "Conflicts"): what a conflict is ([`Conflict`], one per feature, with a
//! [`ConflictField`] per field both sides changed), what a replica's syncs do with them
//! ([`ConflictPolicy`]) and how the user resolves one ([`Resolution`]).
//!
//! Also [`conflicting_fields`], the one comparison a sync's conflict check and a client
//! reset's recovery share. Plain data: it does no I/O and decides nothing about the queue (the replica file applies a
//! resolution, the engine detects conflicts). The serde names are the CLI's `--json` format.

use super::text_enum;
use crate::protocol::{Attributes, Guid};
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

/// Two attribute values are the same (numbers compared as numbers: `1` and `1.0`).
pub fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// One attribute by name in any case (`null` when absent).
pub fn value_of(attributes: &Attributes, name: &str) -> serde_json::Value {
    attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or(serde_json::Value::Null)
}

/// The one comparison both a sync's conflict check and a client reset's recovery use: the
/// fields of a local update (`changed`) whose server value now (`server`) differs both from
/// the value the edit started from (`before`) and from the local value. Fields only one side
/// changed are not listed (they merge).
pub fn conflicting_fields(
    changed: &Attributes,
    before: &Attributes,
    server: &Attributes,
) -> Vec<ConflictField> {
    changed
        .iter()
        .filter_map(|(name, mine)| {
            let started_from = value_of(before, name);
            let now = value_of(server, name);
            (!same_value(&now, &started_from) && !same_value(&now, mine)).then(|| ConflictField {
                name: name.clone(),
                started_from,
                mine: mine.clone(),
                server: now,
            })
        })
        .collect()
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

    /// Only fields both sides changed, to different values, conflict; one-sided changes and
    /// equal values merge; numbers compare as numbers.
    #[test]
    fn conflicting_fields_are_both_sided_and_different() {
        let map = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let changed = map(serde_json::json!({"Notes": "tech", "Flow": 10, "Same": "x"}));
        let before = map(serde_json::json!({"Notes": null, "Flow": 5, "Same": "a", "Other": 1}));
        let server =
            map(serde_json::json!({"notes": "office", "Flow": 5.0, "Same": "x", "Other": 2}));
        let found = conflicting_fields(&changed, &before, &server);
        assert_eq!(
            found,
            vec![ConflictField {
                name: "Notes".into(),
                started_from: serde_json::Value::Null,
                mine: serde_json::json!("tech"),
                server: serde_json::json!("office"),
            }]
        );
    }
}
