//! One row of the edit-results grid ([`EditResultRecord`]): what the server answered for an edit,
//! or what the cached rules predict it will answer, with its history across syncs. The store
//! keeps the server's rows; the engine adds predicted rows and attachment details.

use crate::protocol::{ChangeType, Guid, ObjectType};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One row of the edit-results grid: the server's edit-result columns plus history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditResultRecord {
    pub layer_id: i64,
    /// Shared by every row of the layer (a million rows hold a handful of names).
    pub layer_name: Arc<str>,
    pub object_id: Option<i64>,
    pub global_id: Option<Guid>,
    pub object_type: ObjectType,
    pub change_type: ChangeType,
    pub success: bool,
    pub code: Option<i64>,
    /// Shared by every row with the same text (the server repeats a few messages).
    pub description: Arc<str>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub attempts: u32,
    /// Predicted locally from the service's rules, not yet reported by the server.
    pub predicted: bool,
    /// For an attachment row (ObjectType 1): what the replica file knows about the attachment.
    /// Boxed: few rows are attachments, and an inline detail would double every row's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Box<AttachmentDetail>>,
}

/// An attachment as the edit-results detail pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentDetail {
    pub name: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// The feature the attachment belongs to.
    pub parent_global_id: Guid,
}
