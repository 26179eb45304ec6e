//! Delta files written and read back, and damaged files refused.

use super::*;
use crate::protocol::{Feature, FeatureChanges};
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
