//! Delta files: one SQLite file carrying the result of a createReplica or synchronizeReplica
//! with `dataFormat=sqlite` — the replica id and new generation(s), the downloaded changes per
//! layer (adds and updates as feature JSON, deletes by GlobalID) and the edit results in
//! `GDB_DataChangesEditResults` with the columns ArcGIS's sync geodatabase uses for them (ID,
//! ObjectID, ObjectGuid, ObjectType, Success, Code, Description, ChangeType, SyncedLayerId).
//! createReplica's initial data travels as adds.
//!
//! This file owns the format (tables, [`Delta`], [`DeltaError`]) and the conversions between a
//! [`Delta`] and the protocol reply. The server writes delta files ([`write`], or row by row
//! with [`DeltaWriter`] for a reply too large to hold, `writer.rs`); the
//! client reads them back in bounded memory (`reader.rs`: [`read_skeleton`] the reply without
//! its features, [`read_features`] each feature row into a `protocol::FeatureSink`) or whole
//! ([`read`], then [`Delta::to_response`]). Reading never
//! panics: a corrupt or truncated file is a [`DeltaError`]. Blocking (rusqlite); call from
//! `spawn_blocking`. It must not know replica files or the engine.
//!
//! Tables:
//! * `GDB_DeltaInfo(Key, Value)`: `FormatVersion`, `ReplicaID`, `ReplicaName`, `ResponseType`,
//!   `ReplicaServerGen` (perReplica).
//! * `GDB_DeltaLayerGens(LayerId, ServerGen)`: perLayer generations.
//! * `GDB_DataChanges(ID, LayerId, ChangeType, GlobalID, Feature)`: ChangeType 1 insert,
//!   2 update (Feature = feature JSON), 3 delete (Feature NULL).
//! * `GDB_DataChangesEditResults(…)`: the columns above (ObjectType 0 feature, 1 attachment).
//! * `GDB_AttachmentChanges(ID, LayerId, ChangeType, GlobalID, Attachment)`: downloaded
//!   attachment changes (Attachment = attachment JSON with its data as base64 or URL; NULL for a
//!   delete). Optional when reading: deltas written before attachments have none.

use crate::protocol::{
    ChangeType, EditError, EditResult, EditResultRow, Guid, LayerServerGen, LayerSyncResult,
    ObjectType, ReplicaLayerData, ReplicaResponse, ResponseType, TransportType,
};

mod reader;
mod writer;

pub use reader::{
    DeltaFeatures, DeltaReadError, feature_rows, place_unreadable, read, read_features,
    read_skeleton, read_streamed,
};
pub use writer::{DeltaInfo, DeltaWriter, write};

/// Version written to `GDB_DeltaInfo.FormatVersion`.
pub const FORMAT_VERSION: i64 = 1;

const TABLES: [&str; 4] = [
    "GDB_DeltaInfo",
    "GDB_DeltaLayerGens",
    "GDB_DataChanges",
    "GDB_DataChangesEditResults",
];

const SCHEMA: &str = "
CREATE TABLE GDB_DeltaInfo (Key TEXT PRIMARY KEY, Value TEXT);
CREATE TABLE GDB_DeltaLayerGens (LayerId INTEGER PRIMARY KEY, ServerGen INTEGER NOT NULL);
CREATE TABLE GDB_DataChanges (
    ID INTEGER PRIMARY KEY, LayerId INTEGER NOT NULL, ChangeType INTEGER NOT NULL,
    GlobalID TEXT NOT NULL, Feature TEXT);
CREATE TABLE GDB_DataChangesEditResults (
    ID INTEGER PRIMARY KEY, ObjectID INTEGER, ObjectGuid TEXT, ObjectType INTEGER NOT NULL,
    Success INTEGER NOT NULL, Code INTEGER, Description TEXT, ChangeType INTEGER NOT NULL,
    SyncedLayerId INTEGER NOT NULL);
CREATE TABLE GDB_AttachmentChanges (
    ID INTEGER PRIMARY KEY, LayerId INTEGER NOT NULL, ChangeType INTEGER NOT NULL,
    GlobalID TEXT NOT NULL, Attachment TEXT);
";

/// Optional table of attachment changes (absent in deltas written before attachments).
const ATTACHMENT_TABLE: &str = "GDB_AttachmentChanges";

/// Why a delta file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("could not write the delta file {path}")]
    Write {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("could not read the delta file (not an SQLite file, or damaged) {path}")]
    Unreadable {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// An SQLite file without `GDB_DeltaInfo`: not syncwatch's delta format (a real ArcGIS
    /// service's `dataFormat=sqlite` result is an Esri mobile geodatabase).
    #[error(
        "{path} is not a syncwatch delta file (no GDB_DeltaInfo table; an Esri mobile geodatabase?)"
    )]
    NotADelta { path: String },
    #[error("the delta file has no table {table}: {path}")]
    MissingTable { table: &'static str, path: String },
    #[error("the delta file holds an invalid value ({reason}): {path}")]
    Corrupt { reason: String, path: String },
    #[error("could not replace the delta file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The content of a delta file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    pub replica_id: Option<Guid>,
    pub replica_name: Option<String>,
    pub response_type: Option<ResponseType>,
    /// perReplica generation.
    pub replica_server_gen: Option<i64>,
    /// perLayer generations.
    pub layer_server_gens: Vec<LayerServerGen>,
    /// Downloaded changes per layer (`features`, and `attachments` adds / updates / deleteIds).
    pub changes: Vec<LayerSyncResult>,
    pub edit_results: Vec<EditResultRow>,
}

impl Delta {
    /// The delta of a reply: sync edits and edit results, or createReplica / snapshot data as adds.
    pub fn from_response(response: &ReplicaResponse) -> Delta {
        let mut changes: Vec<LayerSyncResult> = response
            .edits
            .iter()
            .filter(|l| !l.features.is_empty() || has_attachment_changes(l))
            .map(|l| {
                let mut layer = LayerSyncResult {
                    id: l.id,
                    features: l.features.clone(),
                    ..Default::default()
                };
                layer.attachments.adds = l.attachments.adds.clone();
                layer.attachments.updates = l.attachments.updates.clone();
                layer.attachments.delete_ids = l.attachments.delete_ids.clone();
                layer
            })
            .collect();
        for data in &response.layers {
            let mut layer = LayerSyncResult {
                id: data.id,
                ..Default::default()
            };
            layer.features.adds = data.features.clone();
            layer.attachments.adds = data.attachments.clone();
            changes.push(layer);
        }
        Delta {
            replica_id: response.replica_id.clone(),
            replica_name: response.replica_name.clone(),
            response_type: response.response_type,
            replica_server_gen: response.replica_server_gen,
            layer_server_gens: response.layer_server_gens.clone(),
            changes,
            edit_results: response.result_rows(),
        }
    }

    /// Back to the protocol reply: Data / ReplacementData as `layers`, otherwise `edits` with
    /// the downloaded changes and the edit results per layer.
    pub fn to_response(&self) -> ReplicaResponse {
        let is_data = matches!(
            self.response_type,
            Some(ResponseType::Data | ResponseType::ReplacementData)
        );
        let mut response = ReplicaResponse {
            replica_id: self.replica_id.clone(),
            replica_name: self.replica_name.clone(),
            response_type: self.response_type,
            transport_type: Some(TransportType::Url),
            replica_server_gen: self.replica_server_gen,
            layer_server_gens: self.layer_server_gens.clone(),
            ..Default::default()
        };
        if is_data {
            response.layers = self
                .changes
                .iter()
                .map(|l| ReplicaLayerData {
                    id: l.id,
                    features: l.features.adds.clone(),
                    attachments: l.attachments.adds.clone(),
                    unreadable: l.features.unreadable.clone(),
                })
                .collect();
        } else {
            response.edits = self.changes.clone();
        }
        for row in &self.edit_results {
            let layer = layer_entry(&mut response.edits, row.layer_id);
            let result = EditResult {
                object_id: row.object_id,
                global_id: row.global_id.clone(),
                success: row.success,
                error: row.code.map(|code| EditError {
                    code,
                    description: row.description.clone().unwrap_or_default(),
                }),
            };
            results_for(layer, row.object_type, row.change_type).push(result);
        }
        response
    }
}

fn has_attachment_changes(layer: &LayerSyncResult) -> bool {
    !layer.attachments.adds.is_empty()
        || !layer.attachments.updates.is_empty()
        || !layer.attachments.delete_ids.is_empty()
}

fn layer_entry(edits: &mut Vec<LayerSyncResult>, layer_id: i64) -> &mut LayerSyncResult {
    let index = match edits.iter().position(|l| l.id == layer_id) {
        Some(i) => i,
        None => {
            edits.push(LayerSyncResult {
                id: layer_id,
                ..Default::default()
            });
            edits.len() - 1
        }
    };
    &mut edits[index]
}

fn results_for(
    layer: &mut LayerSyncResult,
    object_type: ObjectType,
    change_type: ChangeType,
) -> &mut Vec<EditResult> {
    match (object_type, change_type) {
        (ObjectType::Feature, ChangeType::Insert) => &mut layer.add_results,
        (ObjectType::Feature, ChangeType::Update) => &mut layer.update_results,
        (ObjectType::Feature, ChangeType::Delete) => &mut layer.delete_results,
        (ObjectType::Attachment, ChangeType::Insert) => &mut layer.add_attachment_results,
        (ObjectType::Attachment, ChangeType::Update) => &mut layer.update_attachment_results,
        (ObjectType::Attachment, ChangeType::Delete) => &mut layer.delete_attachment_results,
    }
}

#[cfg(test)]
mod tests;
