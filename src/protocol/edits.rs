//! Edits sent to synchronizeReplica, the server changes that come back, and edit results.
//! Shapes follow docs/arcgis-sync.md §2: per layer `{id, features:{adds,updates,deleteIds},
//! attachments:{…}}` and `addResults` / `updateResults` / `deleteResults`.

use super::guid::{Guid, opt_guid};
use super::lenient::{bool_or_text, opt_int_or_text};
use super::unreadable::{RawFeatures, UnreadableFeature, raw_features, read_features};
use serde::{Deserialize, Serialize};

/// Attribute values of one feature or row, by field name.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// A feature (or table row) as query-style JSON: geometry JSON and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Feature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<serde_json::Value>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl Feature {
    /// The GlobalID attribute (any spelling of the field name), if present and valid.
    pub fn global_id(&self) -> Option<Guid> {
        self.attr_ci("globalid")
            .and_then(|v| v.as_str())
            .and_then(|s| Guid::parse(s).ok())
    }

    /// An attribute by name, compared case-insensitively as ArcGIS field names are.
    pub fn attr_ci(&self, name: &str) -> Option<&serde_json::Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Feature edits (upload) or server changes (download) for one layer. Read feature by feature:
/// one that cannot be read lands in `unreadable` instead of failing the whole reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "FeatureChangesWire")]
pub struct FeatureChanges {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adds: Vec<Feature>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<Feature>,
    /// Deleted GlobalIDs (deletes are keyed by GlobalID, not OBJECTID).
    #[serde(rename = "deleteIds", skip_serializing_if = "Vec::is_empty")]
    pub delete_ids: Vec<String>,
    /// Features of `adds` / `updates` that could not be read (never sent).
    #[serde(skip)]
    pub unreadable: Vec<UnreadableFeature>,
}

/// [`FeatureChanges`] as it arrives, before each feature is read on its own.
#[derive(Deserialize)]
struct FeatureChangesWire {
    #[serde(default, deserialize_with = "raw_features")]
    adds: RawFeatures,
    #[serde(default, deserialize_with = "raw_features")]
    updates: RawFeatures,
    #[serde(rename = "deleteIds", alias = "deletes", default)]
    delete_ids: Vec<String>,
}

impl From<FeatureChangesWire> for FeatureChanges {
    fn from(wire: FeatureChangesWire) -> Self {
        let (adds, mut unreadable) = read_features(wire.adds, "adds");
        let (updates, unreadable_updates) = read_features(wire.updates, "updates");
        unreadable.extend(unreadable_updates);
        FeatureChanges {
            adds,
            updates,
            delete_ids: wire.delete_ids,
            unreadable,
        }
    }
}

impl FeatureChanges {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.updates.is_empty() && self.delete_ids.is_empty()
    }
    pub fn len(&self) -> usize {
        self.adds.len() + self.updates.len() + self.delete_ids.len()
    }
}

/// One attachment as sent or downloaded. Downloads carry `attachmentId` and `size`, and either
/// `data` (base64) or `url` as `returnAttachmentsDataByUrl` asks; uploads carry `data` or `uploadId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Attachment {
    #[serde(
        rename = "attachmentId",
        alias = "AttachmentId",
        alias = "ATTACHMENTID",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub attachment_id: Option<i64>,
    #[serde(rename = "globalid", alias = "globalId", alias = "GlobalID", default)]
    pub global_id: String,
    #[serde(
        rename = "parentGlobalid",
        alias = "parentGlobalId",
        alias = "REL_GLOBALID",
        default
    )]
    pub parent_global_id: String,
    #[serde(rename = "contentType", default)]
    pub content_type: String,
    #[serde(default)]
    pub name: String,
    /// Base64 data when embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Download URL or upload id when sent by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(rename = "uploadId", default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub size: Option<i64>,
}

/// Attachment edits or changes, and their results, for one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AttachmentChanges {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adds: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<Attachment>,
    #[serde(rename = "deleteIds", default, skip_serializing_if = "Vec::is_empty")]
    pub delete_ids: Vec<String>,
    #[serde(rename = "addResults", default, skip_serializing_if = "Vec::is_empty")]
    pub add_results: Vec<EditResult>,
    #[serde(
        rename = "updateResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub update_results: Vec<EditResult>,
    #[serde(
        rename = "deleteResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_results: Vec<EditResult>,
}

impl AttachmentChanges {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty()
            && self.updates.is_empty()
            && self.delete_ids.is_empty()
            && self.add_results.is_empty()
            && self.update_results.is_empty()
            && self.delete_results.is_empty()
    }
}

/// The `edits` parameter of synchronizeReplica: one entry per layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LayerEdits {
    #[serde(deserialize_with = "layer_id")]
    pub id: i64,
    #[serde(default)]
    pub features: FeatureChanges,
    #[serde(default, skip_serializing_if = "AttachmentChanges::is_empty")]
    pub attachments: AttachmentChanges,
}

fn layer_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_int_or_text(d)?.ok_or_else(|| serde::de::Error::custom("layer id is missing"))
}

/// An edit-result error `{code, description}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EditError {
    #[serde(default, deserialize_with = "code_or_zero")]
    pub code: i64,
    #[serde(default, alias = "message")]
    pub description: String,
}

fn code_or_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_int_or_text(d)?.unwrap_or(0))
}

/// The result of one add, update or delete (feature or attachment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EditResult {
    #[serde(
        rename = "objectId",
        alias = "objectID",
        alias = "ObjectID",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub object_id: Option<i64>,
    #[serde(
        rename = "globalId",
        alias = "globalID",
        alias = "GlobalID",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_guid"
    )]
    pub global_id: Option<Guid>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EditError>,
}

impl EditResult {
    pub fn ok(object_id: Option<i64>, global_id: Option<Guid>) -> Self {
        EditResult {
            object_id,
            global_id,
            success: true,
            error: None,
        }
    }
    pub fn failed(
        object_id: Option<i64>,
        global_id: Option<Guid>,
        code: i64,
        description: impl Into<String>,
    ) -> Self {
        EditResult {
            object_id,
            global_id,
            success: false,
            error: Some(EditError {
                code,
                description: description.into(),
            }),
        }
    }
}

/// Kind of change an edit result refers to (the seed's ChangeType column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Insert = 1,
    Update = 2,
    Delete = 3,
}

impl ChangeType {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Insert),
            2 => Some(Self::Update),
            3 => Some(Self::Delete),
            _ => None,
        }
    }
    pub fn code(self) -> i64 {
        self as i64
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// What an edit result is about (the seed's ObjectType column): 0 = feature/row, 1 = attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    Feature = 0,
    Attachment = 1,
}

impl ObjectType {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Feature),
            1 => Some(Self::Attachment),
            _ => None,
        }
    }
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// One row of the seed's edit-results table, whichever format it arrived in (JSON results are
/// flattened into rows; SQLite deltas carry them in `GDB_DataChangesEditResults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditResultRow {
    pub layer_id: i64,
    pub object_id: Option<i64>,
    pub global_id: Option<Guid>,
    pub object_type: ObjectType,
    pub change_type: ChangeType,
    pub success: bool,
    pub code: Option<i64>,
    pub description: Option<String>,
}

/// A layer's entry in a synchronizeReplica reply: uploaded-edit results and downloaded changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LayerSyncResult {
    #[serde(deserialize_with = "layer_id")]
    pub id: i64,
    /// Server changes since the client's generation (download / bidirectional).
    #[serde(default, skip_serializing_if = "FeatureChanges::is_empty")]
    pub features: FeatureChanges,
    #[serde(default, skip_serializing_if = "AttachmentChanges::is_empty")]
    pub attachments: AttachmentChanges,
    #[serde(rename = "addResults", default, skip_serializing_if = "Vec::is_empty")]
    pub add_results: Vec<EditResult>,
    #[serde(
        rename = "updateResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub update_results: Vec<EditResult>,
    #[serde(
        rename = "deleteResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_results: Vec<EditResult>,
    #[serde(
        rename = "addAttachmentResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub add_attachment_results: Vec<EditResult>,
    #[serde(
        rename = "updateAttachmentResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub update_attachment_results: Vec<EditResult>,
    #[serde(
        rename = "deleteAttachmentResults",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_attachment_results: Vec<EditResult>,
}

impl LayerSyncResult {
    /// Every edit result of this layer as seed-style rows (features first, then attachments).
    pub fn result_rows(&self) -> Vec<EditResultRow> {
        let mut rows = Vec::with_capacity(self.result_count());
        self.push_result_rows(&mut rows);
        rows
    }

    /// How many edit results this layer holds.
    pub fn result_count(&self) -> usize {
        self.result_groups().iter().map(|(r, _, _)| r.len()).sum()
    }

    /// Appends [`LayerSyncResult::result_rows`] to `rows`.
    pub fn push_result_rows(&self, rows: &mut Vec<EditResultRow>) {
        for (results, object_type, change_type) in self.result_groups() {
            rows.extend(results.iter().map(|r| EditResultRow {
                layer_id: self.id,
                object_id: r.object_id,
                global_id: r.global_id.clone(),
                object_type,
                change_type,
                success: r.success,
                code: r.error.as_ref().map(|e| e.code),
                description: r.error.as_ref().map(|e| e.description.clone()),
            }));
        }
    }

    /// Each list of results with what its rows are (features first, then attachments).
    fn result_groups(&self) -> [(&[EditResult], ObjectType, ChangeType); 9] {
        [
            (&self.add_results, ObjectType::Feature, ChangeType::Insert),
            (
                &self.update_results,
                ObjectType::Feature,
                ChangeType::Update,
            ),
            (
                &self.delete_results,
                ObjectType::Feature,
                ChangeType::Delete,
            ),
            (
                &self.add_attachment_results,
                ObjectType::Attachment,
                ChangeType::Insert,
            ),
            (
                &self.update_attachment_results,
                ObjectType::Attachment,
                ChangeType::Update,
            ),
            (
                &self.delete_attachment_results,
                ObjectType::Attachment,
                ChangeType::Delete,
            ),
            (
                &self.attachments.add_results,
                ObjectType::Attachment,
                ChangeType::Insert,
            ),
            (
                &self.attachments.update_results,
                ObjectType::Attachment,
                ChangeType::Update,
            ),
            (
                &self.attachments.delete_results,
                ObjectType::Attachment,
                ChangeType::Delete,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edits shape of docs/arcgis-sync.md §2 parses and serializes back to the same JSON.
    #[test]
    fn edits_parameter_round_trips() {
        let text = r#"[{"id":0,
          "features":{"adds":[{"geometry":{"x":1.0,"y":2.0},"attributes":{"GlobalID":"{7a0c2c24-5ca5-408f-8705-a23ef105f351}","NAME":"H-1"}}],
                      "updates":[{"attributes":{"GlobalID":"{419d227b-2a61-43c4-8884-4b7b5bf3eabb}","NAME":"H-2"}}],
                      "deleteIds":["{7C18638F-BA93-4D12-869F-E7087B5BD691}"]},
          "attachments":{"adds":[{"globalid":"{7C18638F-BA93-4D12-869F-E7087B5BD692}","parentGlobalid":"{7a0c2c24-5ca5-408f-8705-a23ef105f351}",
                          "contentType":"image/jpeg","name":"a.jpg","data":"AAEC"}]}}]"#;
        let edits: Vec<LayerEdits> = serde_json::from_str(text).unwrap();
        assert_eq!(edits[0].features.adds.len(), 1);
        assert_eq!(edits[0].features.len(), 3);
        assert_eq!(
            edits[0].features.adds[0].global_id().unwrap().as_str(),
            "{7A0C2C24-5CA5-408F-8705-A23EF105F351}"
        );
        assert_eq!(edits[0].attachments.adds[0].content_type, "image/jpeg");
        let again: Vec<LayerEdits> =
            serde_json::from_str(&serde_json::to_string(&edits).unwrap()).unwrap();
        assert_eq!(again, edits);
    }

    /// Edit results from the §2 response example, with both id spellings.
    #[test]
    fn edit_results_accept_both_id_spellings() {
        let text = r#"{"id":0,
           "addResults":[{"objectId":101,"globalId":"{7a0c2c24-5ca5-408f-8705-a23ef105f351}","success":true}],
           "updateResults":[{"objectID":102,"globalID":"{419d227b-2a61-43c4-8884-4b7b5bf3eabb}","success":"false",
                             "error":{"code":1019,"description":"Internal error during object update."}}],
           "deleteResults":[]}"#;
        let layer: LayerSyncResult = serde_json::from_str(text).unwrap();
        let rows = layer.result_rows();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].success && rows[0].object_id == Some(101));
        assert_eq!(rows[1].code, Some(1019));
        assert_eq!(rows[1].change_type, ChangeType::Update);
        assert_eq!(rows[1].object_type, ObjectType::Feature);
        let again: LayerSyncResult =
            serde_json::from_str(&serde_json::to_string(&layer).unwrap()).unwrap();
        assert_eq!(again, layer);
    }
}
