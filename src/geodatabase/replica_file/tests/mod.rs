//! Tests of the replica file, one file per part (named like the part they test), over the
//! shared helpers below: a two-layer replica definition, its createReplica reply, sync replies,
//! and ways to make older-format files.

use super::*;
use crate::protocol::{
    Attachment, AttachmentsSyncDirection, Attributes, ChangeType, EditResult, EditResultRow,
    Feature, FeatureChanges, Guid, LayerQuery, LayerServerGen, LayerSyncResult, ObjectType,
    ReplicaLayerData, ReplicaResponse, ResponseType, SyncDirection, SyncModel,
};
use serde_json::json;

const HYDRANT_A: &str = "{11111111-1111-1111-1111-111111111111}";
const HYDRANT_B: &str = "{22222222-2222-2222-2222-222222222222}";

fn gid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

fn feature(global_id: &str, object_id: i64, name: &str) -> Feature {
    let mut attributes = Attributes::new();
    attributes.insert("OBJECTID".into(), json!(object_id));
    attributes.insert("GlobalID".into(), json!(global_id));
    attributes.insert("NAME".into(), json!(name));
    attributes.insert("DEPTH".into(), json!(1.5));
    Feature {
        geometry: Some(json!({"x": object_id as f64, "y": 0.0})),
        attributes,
    }
}

fn attrs(value: serde_json::Value) -> Attributes {
    value.as_object().unwrap().clone()
}

fn definition(model: SyncModel) -> ReplicaDefinition {
    ReplicaDefinition {
        service_url: "http://127.0.0.1:1/arcgis/rest/services/Water/FeatureServer".into(),
        replica_guid: gid("{7A0C2C24-5CA5-408F-8705-A23EF105F351}"),
        name: "hydrants".into(),
        sync_model: model,
        direction: SyncDirection::Bidirectional,
        layers: vec![
            ReplicaLayer {
                layer_id: 0,
                name: "Hydrants".into(),
                query: LayerQuery::all(),
            },
            ReplicaLayer {
                layer_id: 1,
                name: "Valves".into(),
                query: LayerQuery::all(),
            },
        ],
        created_ms: 1,
    }
}

fn create_response() -> ReplicaResponse {
    ReplicaResponse {
        replica_server_gen: Some(10),
        response_type: Some(ResponseType::Data),
        layers: vec![
            ReplicaLayerData {
                id: 0,
                features: vec![feature(HYDRANT_A, 1, "A"), feature(HYDRANT_B, 2, "B")],
                attachments: vec![],
                unreadable: vec![],
            },
            ReplicaLayerData {
                id: 1,
                features: vec![],
                attachments: vec![],
                unreadable: vec![],
            },
        ],
        ..Default::default()
    }
}

/// What version 4 added, taken away again (to make an older file).
const UNDO_FORMAT_4: &str = "
    DROP TRIGGER queue_counts_insert; DROP TRIGGER queue_counts_delete;
    DROP TRIGGER queue_counts_update; DROP TABLE queue_counts;
    DROP TRIGGER predictions_due_insert; DROP TRIGGER predictions_due_update;
    DROP TRIGGER predictions_due_delete;";

/// What version 3 added, taken away again.
const UNDO_FORMAT_3: &str = "
    ALTER TABLE definition DROP COLUMN editor;
    ALTER TABLE changes DROP COLUMN predicted_code;
    ALTER TABLE changes DROP COLUMN predicted_text;
    ALTER TABLE changes DROP COLUMN predicted_revision;";

/// The format version the file says it has.
fn stored_version(file: &ReplicaFile) -> String {
    file.conn
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The trigger-kept queue counts equal a count of the queue itself (what version 3 did).
fn assert_counts_match_the_queue(file: &ReplicaFile) {
    let mut stmt = file
        .conn
        .prepare(
            "SELECT l.layer_id,
                COALESCE(SUM(c.kind = 'add'), 0), COALESCE(SUM(c.kind = 'update'), 0),
                COALESCE(SUM(c.kind = 'delete'), 0), COALESCE(SUM(c.state = 'failed'), 0),
                COALESCE(SUM(c.state <> 'failed' AND c.predicted_code IS NOT NULL
                    AND c.predicted_revision = c.revision), 0)
             FROM layers l LEFT JOIN changes c ON c.layer_id = l.layer_id
             GROUP BY l.layer_id ORDER BY l.layer_id",
        )
        .unwrap();
    let counted: Vec<[i64; 6]> = stmt
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let kept: Vec<[i64; 6]> = file
        .pending_counts()
        .unwrap()
        .iter()
        .map(|c| {
            let attachment_failures = attachment_queue::counts(&file.conn, &file.path)
                .unwrap()
                .get(&c.layer_id)
                .map_or(0, |(_, failed)| *failed);
            [
                c.layer_id,
                c.adds as i64,
                c.updates as i64,
                c.deletes as i64,
                c.failed as i64 - attachment_failures as i64,
                c.predicted as i64,
            ]
        })
        .collect();
    assert_eq!(kept, counted);
}

fn new_file(dir: &tempfile::TempDir) -> ReplicaFile {
    ReplicaFile::create(
        &dir.path().join("hydrants.replica"),
        &definition(SyncModel::PerReplica),
        &create_response(),
        None,
        &[],
    )
    .unwrap()
}

fn sync_reply(generation: i64, layers: Vec<LayerSyncResult>) -> ReplicaResponse {
    ReplicaResponse {
        replica_server_gen: Some(generation),
        response_type: Some(ResponseType::Edits),
        edits: layers,
        ..Default::default()
    }
}

fn attachment_file(dir: &tempfile::TempDir) -> ReplicaFile {
    let mut response = create_response();
    response.layers[0].attachments = vec![Attachment {
        attachment_id: Some(7),
        global_id: PHOTO_A.into(),
        parent_global_id: HYDRANT_A.into(),
        content_type: "image/jpeg".into(),
        name: "a.jpg".into(),
        data: Some("AAEC".into()),
        ..Default::default()
    }];
    ReplicaFile::create_with_attachments(
        &dir.path().join("photos.replica"),
        &definition(SyncModel::PerReplica),
        &response,
        None,
        &[],
        &AttachmentSetup {
            direction: AttachmentsSyncDirection::Bidirectional,
            payloads: &AttachmentPayloads::new(),
        },
    )
    .unwrap()
}

const PHOTO_A: &str = "{33333333-3333-3333-3333-333333333333}";

mod apply;
mod attachments;
mod definition;
mod local_edits;
mod predictions;
mod schema;
mod staged;
mod upload;
