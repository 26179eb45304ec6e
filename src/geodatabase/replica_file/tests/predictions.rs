//! Predicted refusals and the values the rules read.

use super::*;

/// Predictions are kept per change revision and give way to the server's refusal.
#[test]
fn predictions_follow_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = new_file(&dir);
    let a = gid(HYDRANT_A);
    file.record_update(0, &a, attrs(json!({"NAME": null})), None)
        .unwrap();
    let change = file.change(0, &a).unwrap().unwrap();
    let predicted = Refusal {
        change: ChangeKey::of(&change),
        kind: ChangeKind::Update,
        code: Some(1001),
        description: "Field: NAME is not nullable. Cannot set null value.".into(),
    };
    assert!(
        file.predictions_due().unwrap(),
        "queuing the change made them due"
    );
    file.store_predictions(std::slice::from_ref(&predicted))
        .unwrap();
    assert!(!file.predictions_due().unwrap());
    assert_eq!(file.predicted_refusals().unwrap(), vec![predicted.clone()]);
    assert_eq!(file.pending_counts().unwrap()[0].predicted, 1);
    assert_counts_match_the_queue(&file);

    file.record_update(0, &a, attrs(json!({"NAME": "fixed"})), None)
        .unwrap();
    assert!(file.predicted_refusals().unwrap().is_empty(), "stale");
    assert!(file.predictions_due().unwrap(), "the edit made them due");
    assert_counts_match_the_queue(&file);

    let change = file.change(0, &a).unwrap().unwrap();
    file.store_predictions(&[Refusal {
        change: ChangeKey::of(&change),
        ..predicted
    }])
    .unwrap();
    assert_eq!(file.predicted_refusals().unwrap().len(), 1);
    file.record_refusals(&[EditResultRow {
        layer_id: 0,
        object_id: Some(1),
        global_id: Some(a.clone()),
        object_type: ObjectType::Feature,
        change_type: ChangeType::Update,
        success: false,
        code: Some(1001),
        description: Some("refused".into()),
    }])
    .unwrap();
    assert!(
        file.predicted_refusals().unwrap().is_empty(),
        "the real result wins"
    );
    assert_counts_match_the_queue(&file);
    assert_eq!(
        file.server_values(0, "name").unwrap().len(),
        0,
        "field names in JSON paths are exact"
    );
    let mut names = file.server_values(0, "NAME").unwrap();
    names.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        names,
        vec![
            (HYDRANT_A.to_string(), json!("A")),
            (HYDRANT_B.to_string(), json!("B"))
        ]
    );
}
