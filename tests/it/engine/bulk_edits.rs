//! Many refused edits at once through the engine (issue 19): `Command::SetFieldInEdits` sets one
//! field in every listed queued edit and `Command::DropEdits` drops every listed one — each all or
//! nothing: when one of the listed edits is not queued, the command fails and no edit changes.
//! `Command::LoadFixForm` answers with the forms the window shows. Real service over loopback,
//! real replica files.

use crate::support::client_config::fast;
use crate::support::demo_data::{HYD_4, attrs, gid};
use crate::support::engine::{Harness, sync_options};
use serde_json::json;
use syncwatch::engine::{Command, Event, LocalEdit, LocalReplicaId};
use syncwatch::protocol::{ChangeType, Guid, JobState, SyncDirection, SyncModel};
use syncwatch::server::ServerConfig;

/// Three hydrant adds without the non-nullable FacilityID, refused with 1001 by a sync.
async fn three_refused_adds(h: &Harness) -> (LocalReplicaId, Vec<Guid>) {
    let r = h
        .create_with("bulk", vec![0], SyncModel::PerReplica, false)
        .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let g = gid(&format!("{{E1000000-0000-4000-8000-00000000000{i}}}"));
        h.edit_in_layer(
            r,
            0,
            LocalEdit::Add {
                attributes: attrs(
                    json!({"GlobalID": g.as_str(), "FacilityID": null, "Status": "IS"}),
                ),
                geometry: Some(json!({"x": -122.6 + 0.001 * f64::from(i), "y": 45.52})),
            },
        )
        .await;
        ids.push(g);
    }
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.failed_edits, 3);
    (r, ids)
}

async fn failed(h: &Harness, what: &str) -> String {
    h.next(|e| match e {
        Event::CommandFailed { what: w, error, .. } if w == what => Some(error.message.clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_field_in_edits_is_all_or_nothing() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let (r, ids) = three_refused_adds(&h).await;
    let before = h.file(r).changes().unwrap();

    // One listed edit is not queued (HYD-0004 has no local change): nothing is changed.
    let mut with_missing = ids.clone();
    with_missing.push(gid(HYD_4));
    h.send(Command::SetFieldInEdits {
        replica: r,
        layer_id: 0,
        global_ids: with_missing,
        field: "FacilityID".into(),
        value: json!("HYD-X"),
    })
    .await;
    let message = failed(&h, "set a field in several edits").await;
    assert!(!message.is_empty());
    assert_eq!(h.file(r).changes().unwrap(), before, "no edit changed");

    // All three: each gets its own value set once… here one value, distinct features.
    h.send(Command::SetFieldInEdits {
        replica: r,
        layer_id: 0,
        global_ids: ids[..1].to_vec(),
        field: "FacilityID".into(),
        value: json!("HYD-BULK-0"),
    })
    .await;
    h.next(|e| matches!(e, Event::ReplicaChanged { summary } if summary.id == r).then_some(()))
        .await;
    h.send(Command::SetFieldInEdits {
        replica: r,
        layer_id: 0,
        global_ids: ids[1..].to_vec(),
        field: "Notes".into(),
        value: json!("set for two"),
    })
    .await;
    h.next(|e| matches!(e, Event::ReplicaChanged { summary } if summary.id == r).then_some(()))
        .await;
    let file = h.file(r);
    for (i, g) in ids.iter().enumerate() {
        let change = file.change(0, g).unwrap().expect("still queued");
        if i == 0 {
            assert_eq!(change.attributes["FacilityID"], json!("HYD-BULK-0"));
        } else {
            assert_eq!(change.attributes["Notes"], json!("set for two"));
            assert_eq!(
                change.attributes["FacilityID"],
                json!(null),
                "the rest as queued"
            );
        }
        assert!(change.revision > 1, "queued again");
    }
    drop(file);
    let outcome = h
        .sync_with(r, sync_options(SyncDirection::Bidirectional, false))
        .await
        .unwrap();
    assert_eq!(outcome.state, JobState::CompletedWithErrors);
    assert_eq!(outcome.failed_edits, 2, "the fixed one was accepted");
    assert!(h.file(r).server_feature(0, &ids[0]).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_edits_is_all_or_nothing() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let (r, ids) = three_refused_adds(&h).await;
    let before = h.file(r).changes().unwrap();
    assert_eq!(before.len(), 3);

    let mut with_missing: Vec<(i64, Guid)> = ids.iter().map(|g| (0, g.clone())).collect();
    with_missing.push((0, gid(HYD_4)));
    h.send(Command::DropEdits {
        replica: r,
        edits: with_missing,
    })
    .await;
    failed(&h, "drop edits").await;
    assert_eq!(h.file(r).changes().unwrap(), before, "nothing dropped");
    assert_eq!(
        h.edit_results(r)
            .await
            .iter()
            .filter(|x| !x.success)
            .count(),
        3
    );

    h.send(Command::DropEdits {
        replica: r,
        edits: ids[..2].iter().map(|g| (0, g.clone())).collect(),
    })
    .await;
    let rows = h
        .next(|e| match e {
            Event::EditResultsReady { replica, rows } if *replica == r => Some(rows.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        rows.iter().filter(|x| !x.success).count(),
        1,
        "their failures cleared"
    );
    let left = h.file(r).changes().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].global_id, ids[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_fix_form_carries_schema_values_and_refusal() {
    let h = Harness::start(ServerConfig::default(), fast()).await;
    let (r, ids) = three_refused_adds(&h).await;
    h.send(Command::LoadFixForm {
        replica: r,
        edits: vec![(0, ids[0].clone()), (0, ids[1].clone())],
    })
    .await;
    let forms = h
        .next(|e| match e {
            Event::FixFormLoaded { replica, forms } if *replica == r => Some(forms.clone()),
            _ => None,
        })
        .await;
    assert_eq!(forms.len(), 2);
    let form = &forms[0];
    assert_eq!(form.global_id, ids[0]);
    assert_eq!(form.change_type, ChangeType::Insert);
    assert!(form.server.is_none(), "a new feature");
    assert_eq!(form.refused.code, Some(1001));
    assert_eq!(form.refused.field.as_deref(), Some("FacilityID"));
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OBJECTID",
            "GlobalID",
            "FacilityID",
            "Status",
            "Flow_GPM",
            "InstallDate",
            "Notes",
            "AssetTag"
        ]
    );
    let status = form.fields.iter().find(|f| f.name == "Status").unwrap();
    assert!(matches!(
        status.domain,
        Some(syncwatch::protocol::Domain::CodedValue { .. })
    ));
    assert!(
        form.fields
            .iter()
            .find(|f| f.name == "AssetTag")
            .unwrap()
            .locked()
    );
    assert_eq!(form.local_value("Status"), json!("IS"));
    // Live validation: the same verdict as the server's, and none once fixed.
    let mut values: Vec<(String, serde_json::Value)> = form
        .fields
        .iter()
        .map(|f| (f.name.clone(), form.local_value(&f.name)))
        .collect();
    let verdict = syncwatch::engine::judge_fix(form, &form.values(&values, None));
    assert_eq!(verdict.map(|v| v.code), Some(1001));
    for (name, value) in &mut values {
        if name == "FacilityID" {
            *value = json!("HYD-0001");
        }
    }
    let verdict = syncwatch::engine::judge_fix(form, &form.values(&values, None));
    assert_eq!(
        verdict.map(|v| v.code),
        Some(1022),
        "a FacilityID another hydrant holds"
    );
}
