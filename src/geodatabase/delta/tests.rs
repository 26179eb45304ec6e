//! Delta files written and read back, and damaged files refused.

use super::*;
use crate::protocol::{Feature, FeatureChanges, UnreadableFeature};
use rusqlite::Connection;
use serde_json::json;

fn sample() -> Delta {
    let feature: Feature = serde_json::from_value(json!({
        "geometry": {"x": 1.0, "y": 2.0},
        "attributes": {"GlobalID": "{7A0C2C24-5CA5-408F-8705-A23EF105F351}", "OBJECTID": 3, "Name": "H-1"}
    }))
    .unwrap();
    Delta {
        replica_id: Some(Guid::new_v4()),
        replica_name: Some("laptop".into()),
        response_type: Some(ResponseType::Edits),
        replica_server_gen: Some(42),
        layer_server_gens: vec![],
        changes: vec![LayerSyncResult {
            id: 0,
            features: FeatureChanges {
                adds: vec![feature.clone()],
                updates: vec![feature],
                delete_ids: vec!["{419D227B-2A61-43C4-8884-4B7B5BF3EABB}".into()],
                unreadable: vec![],
            },
            ..Default::default()
        }],
        edit_results: vec![EditResultRow {
            layer_id: 7,
            object_id: Some(156),
            global_id: Some(Guid::parse("{7C18638F-BA93-4D12-869F-E7087B5BD691}").unwrap()),
            object_type: ObjectType::Feature,
            change_type: ChangeType::Insert,
            success: false,
            code: Some(1001),
            description: Some("Field: Depth is not nullable. Cannot set null value.".into()),
        }],
    }
}

#[test]
fn a_delta_round_trips_through_sqlite_and_the_protocol_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.geodatabase");
    let delta = sample();
    write(&path, &delta).unwrap();
    let back = read(&path).unwrap();
    assert_eq!(back, delta);
    let response = back.to_response();
    assert_eq!(response.replica_server_gen, Some(42));
    assert_eq!(response.result_rows(), delta.edit_results);
    assert_eq!(Delta::from_response(&response), delta);
    let conn = Connection::open(&path).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('GDB_DataChangesEditResults')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            "ID",
            "ObjectID",
            "ObjectGuid",
            "ObjectType",
            "Success",
            "Code",
            "Description",
            "ChangeType",
            "SyncedLayerId"
        ]
    );
}

#[test]
fn corrupt_truncated_and_foreign_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.geodatabase");
    std::fs::write(&garbage, b"<html>Proxy Error</html>").unwrap();
    assert!(read(&garbage).is_err());
    let missing = dir.path().join("missing.geodatabase");
    assert!(read(&missing).is_err());
    let good = dir.path().join("good.geodatabase");
    let mut big = sample();
    big.changes[0].features.adds = (0..2000)
        .map(|_| big.changes[0].features.adds[0].clone())
        .collect();
    write(&good, &big).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    for cut in [10, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 100] {
        let truncated = dir.path().join(format!("cut{cut}.geodatabase"));
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        // Either a typed error or (when the cut only lost free pages) a readable delta; never a panic.
        let _ = read(&truncated);
    }
    let truncated = dir.path().join("cut.geodatabase");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(read(&truncated).is_err());
    let empty_db = dir.path().join("empty.sqlite");
    Connection::open(&empty_db)
        .unwrap()
        .execute_batch("CREATE TABLE x(a)")
        .unwrap();
    assert!(matches!(read(&empty_db), Err(DeltaError::NotADelta { .. })));
    Connection::open(&empty_db)
        .unwrap()
        .execute_batch("CREATE TABLE GDB_DeltaInfo(Key, Value)")
        .unwrap();
    assert!(matches!(
        read(&empty_db),
        Err(DeltaError::MissingTable { .. })
    ));
    let bad = dir.path().join("bad.geodatabase");
    write(&bad, &sample()).unwrap();
    Connection::open(&bad)
        .unwrap()
        .execute("UPDATE GDB_DataChanges SET ChangeType = 9", [])
        .unwrap();
    assert!(matches!(read(&bad), Err(DeltaError::Corrupt { .. })));
}

/// A feature of `layer` numbered `n`.
fn feature(n: u32) -> Feature {
    serde_json::from_value(json!({
        "geometry": {"x": f64::from(n), "y": 2.0},
        "attributes": {"GlobalID": format!("{{7A0C2C24-5CA5-408F-8705-{n:012X}}}"), "OBJECTID": n}
    }))
    .unwrap()
}

fn attachment(n: u32) -> crate::protocol::Attachment {
    serde_json::from_value(json!({
        "globalid": format!("{{9B0C2C24-5CA5-408F-8705-{n:012X}}}"),
        "parentGlobalid": format!("{{7A0C2C24-5CA5-408F-8705-{n:012X}}}"),
        "contentType": "image/jpeg", "name": format!("p{n}.jpg"), "url": format!("http://x/{n}")
    }))
    .unwrap()
}

/// A delta of two layers with every kind of row, written, then two rows made unreadable (one
/// whose JSON is not JSON, one nested past serde_json's depth) in each list they are in.
fn rich(path: &std::path::Path, response_type: ResponseType) {
    let mut delta = sample();
    delta.response_type = Some(response_type);
    delta.layer_server_gens = vec![
        LayerServerGen {
            id: 0,
            server_gen: 5,
            server_sib_gen: None,
        },
        LayerServerGen {
            id: 3,
            server_gen: 6,
            server_sib_gen: None,
        },
    ];
    let layer0 = &mut delta.changes[0];
    layer0.features.adds = (1..6).map(feature).collect();
    // A createReplica's data are adds only.
    layer0.features.updates = match response_type {
        ResponseType::Data => vec![],
        _ => (6..9).map(feature).collect(),
    };
    layer0.attachments.adds = vec![attachment(1)];
    layer0.attachments.delete_ids = vec!["{419D227B-2A61-43C4-8884-4B7B5BF3EABC}".into()];
    let mut layer3 = LayerSyncResult {
        id: 3,
        ..Default::default()
    };
    layer3.features.adds = (10..14).map(feature).collect();
    layer3.features.delete_ids = vec!["{419D227B-2A61-43C4-8884-4B7B5BF3EABD}".into()];
    delta.changes.push(layer3);
    write(path, &delta).unwrap();
    let conn = Connection::open(path).unwrap();
    let deep = format!(
        r#"{{"attributes": {{"GlobalID": "{{DEEP}}"}}, "geometry": {}1{}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    let ids: Vec<i64> = conn
        .prepare("SELECT ID FROM GDB_DataChanges WHERE ChangeType IN (1, 2) ORDER BY ID")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The second add of layer 0, its first update (its fourth add for data), the third add of
    // layer 3.
    let (deep_at, text_at) = match response_type {
        ResponseType::Data => (3, 7),
        _ => (5, 10),
    };
    let damaged = [
        (ids[1], "{not json"),
        (ids[deep_at], deep.as_str()),
        (ids[text_at], r#""text""#),
    ];
    for (id, text) in damaged {
        conn.execute(
            "UPDATE GDB_DataChanges SET Feature = ?2 WHERE ID = ?1",
            rusqlite::params![id, text],
        )
        .unwrap();
    }
}

/// Keeps what a streamed read hands on, as the replica file's sinks would store it.
#[derive(Default)]
struct Kept {
    features: Vec<(i64, ChangeType, Feature)>,
}

impl crate::protocol::FeatureSink for Kept {
    type Error = std::convert::Infallible;
    fn feature(&mut self, layer: i64, change: ChangeType, f: Feature) -> Result<(), Self::Error> {
        self.features.push((layer, change, f));
        Ok(())
    }
}

/// The streamed reply with the features the sink kept put back where a whole read has them.
fn with_features(mut response: ReplicaResponse, kept: Kept) -> ReplicaResponse {
    for (layer, change, f) in kept.features {
        if let Some(data) = response.layers.iter_mut().find(|l| l.id == layer) {
            data.features.push(f);
            continue;
        }
        let edits = layer_entry(&mut response.edits, layer);
        match change {
            ChangeType::Insert => edits.features.adds.push(f),
            _ => edits.features.updates.push(f),
        }
    }
    response
}

#[test]
fn a_streamed_read_equals_the_whole_read_for_sync_and_create_deltas() {
    let dir = tempfile::tempdir().unwrap();
    for response_type in [ResponseType::Edits, ResponseType::Data] {
        let path = dir
            .path()
            .join(format!("{}.geodatabase", response_type.as_str()));
        rich(&path, response_type);
        let whole = read(&path).unwrap().to_response();
        let mut kept = Kept::default();
        let streamed = read_streamed(&path, &mut kept).unwrap();
        let data = response_type == ResponseType::Data;
        // Replica data are adds only: update rows are not part of it.
        let expected = if data {
            vec![(0, 3), (3, 3)]
        } else {
            vec![(0, 6), (3, 3)]
        };
        assert_eq!(streamed.features, expected, "{response_type:?}");
        assert_eq!(streamed.feature_count() as usize, kept.features.len());
        let skeleton = read_skeleton(&path).unwrap();
        let (all, unreadable): (usize, Vec<UnreadableFeature>) = match response_type {
            ResponseType::Data => (
                whole.layers.iter().map(|l| l.features.len()).sum::<usize>(),
                whole
                    .layers
                    .iter()
                    .flat_map(|l| l.unreadable.clone())
                    .collect(),
            ),
            _ => (
                whole
                    .edits
                    .iter()
                    .map(|l| l.features.adds.len() + l.features.updates.len())
                    .sum::<usize>(),
                whole
                    .edits
                    .iter()
                    .flat_map(|l| l.features.unreadable.clone())
                    .collect(),
            ),
        };
        assert_eq!(all, if data { 6 } else { 9 }, "{response_type:?}");
        let positions: Vec<(&str, usize, Option<&str>)> = unreadable
            .iter()
            .map(|u| (u.list, u.position, u.global_id.as_deref()))
            .collect();
        let add_list = if response_type == ResponseType::Data {
            "features"
        } else {
            "adds"
        };
        let mut expected = vec![
            (add_list, 1, Some("{7A0C2C24-5CA5-408F-8705-000000000002}")),
            ("updates", 0, Some("{DEEP}")),
            (add_list, 2, Some("{7A0C2C24-5CA5-408F-8705-00000000000C}")),
        ];
        if data {
            expected[1] = ("features", 3, Some("{DEEP}"));
        }
        assert_eq!(positions, expected, "{response_type:?}");
        assert_eq!(with_features(streamed.response.clone(), kept), whole);
        // The skeleton is the streamed reply without the unreadable rows (found only by
        // reading the features).
        let mut without = streamed.response;
        without.layers.iter_mut().for_each(|l| l.unreadable.clear());
        without
            .edits
            .iter_mut()
            .for_each(|l| l.features.unreadable.clear());
        assert_eq!(skeleton, without);
        assert_eq!(skeleton.replica_server_gen, Some(42));
        assert_eq!(skeleton.layer_server_gens.len(), 2);
        assert_eq!(skeleton.result_rows(), sample().edit_results);
        assert_eq!(feature_rows(&path).unwrap(), if data { 9 } else { 12 });
    }
}

/// The text a sink is handed is the row's JSON as stored.
#[test]
fn each_row_is_handed_on_as_its_stored_text() {
    #[derive(Default)]
    struct Texts(Vec<String>);
    impl crate::protocol::FeatureSink for Texts {
        type Error = std::convert::Infallible;
        fn feature(&mut self, _: i64, _: ChangeType, _: Feature) -> Result<(), Self::Error> {
            unreachable!("texts are taken as they are")
        }
        fn feature_text(
            &mut self,
            _: i64,
            _: ChangeType,
            text: &serde_json::value::RawValue,
            _: &'static str,
            _: usize,
        ) -> Result<Option<UnreadableFeature>, Self::Error> {
            self.0.push(text.get().to_string());
            Ok(None)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.geodatabase");
    write(&path, &sample()).unwrap();
    let mut texts = Texts::default();
    let found = read_features(&path, &mut texts).unwrap();
    let stored: Vec<String> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT Feature FROM GDB_DataChanges WHERE ChangeType IN (1, 2) ORDER BY ID")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(texts.0, stored);
    assert_eq!(found.features, vec![(0, 2)]);
    assert!(found.unreadable.is_empty());
}

#[test]
fn a_file_that_is_not_a_delta_or_a_damaged_row_is_refused_before_any_feature() {
    let dir = tempfile::tempdir().unwrap();
    let mobile = dir.path().join("mobile.geodatabase");
    Connection::open(&mobile)
        .unwrap()
        .execute_batch("CREATE TABLE GDB_Items(ObjectID INTEGER); CREATE TABLE GDB_ServiceItems(OBJECTID INTEGER)")
        .unwrap();
    for outcome in [read_skeleton(&mobile).err(), read(&mobile).err()] {
        assert!(
            matches!(outcome, Some(DeltaError::NotADelta { .. })),
            "{outcome:?}"
        );
    }
    let mut kept = Kept::default();
    assert!(matches!(
        read_streamed(&mobile, &mut kept),
        Err(DeltaReadError::Delta(DeltaError::NotADelta { .. }))
    ));
    let bad = dir.path().join("bad.geodatabase");
    rich(&bad, ResponseType::Edits);
    Connection::open(&bad)
        .unwrap()
        .execute(
            "UPDATE GDB_DataChanges SET Feature = NULL WHERE ID = (SELECT MAX(ID) FROM GDB_DataChanges WHERE ChangeType = 1)",
            [],
        )
        .unwrap();
    let refused = read_skeleton(&bad).unwrap_err();
    assert!(matches!(refused, DeltaError::Corrupt { .. }), "{refused}");
    assert!(refused.to_string().contains("has no feature"), "{refused}");
    let mut kept = Kept::default();
    assert!(read_streamed(&bad, &mut kept).is_err());
    assert!(
        kept.features.is_empty(),
        "nothing handed on before the refusal"
    );
    let garbage = dir.path().join("garbage.geodatabase");
    std::fs::write(&garbage, b"PK\x03\x04 not sqlite").unwrap();
    assert!(read_features(&garbage, &mut kept).is_err());
}
