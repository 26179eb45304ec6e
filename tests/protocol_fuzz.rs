//! Property-based robustness of every protocol parser: arbitrary bytes, arbitrary JSON and
//! arbitrary form parameters never panic; they parse or give a typed error.

use proptest::prelude::*;
use syncwatch::protocol::{
    CreateReplicaParams, FeatureServiceInfo, FormParams, Guid, JobState, LayerEdits, LayerInfo,
    ReplicaInfo, ReplicaListEntry, ReplicaResponse, ReplyError, SuccessReply, SyncReplicaParams,
    parse_reply,
};

fn parse_all(body: &[u8]) {
    let _ = parse_reply::<ReplicaResponse>(body);
    let _ = parse_reply::<FeatureServiceInfo>(body);
    let _ = parse_reply::<LayerInfo>(body);
    let _ = parse_reply::<ReplicaInfo>(body);
    let _ = parse_reply::<Vec<ReplicaListEntry>>(body);
    let _ = parse_reply::<SuccessReply>(body);
    let _ = serde_json::from_slice::<Vec<LayerEdits>>(body);
}

/// Arbitrary JSON values, nested a few levels, with the key names our types look for.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let keys = prop::sample::select(vec![
        "error",
        "code",
        "message",
        "details",
        "infos",
        "replicaID",
        "replicaServerGen",
        "layerServerGens",
        "edits",
        "features",
        "adds",
        "updates",
        "deleteIds",
        "addResults",
        "success",
        "objectId",
        "globalId",
        "status",
        "resultUrl",
        "URL",
        "statusUrl",
        "responseType",
        "fields",
        "type",
        "domain",
        "indexes",
        "id",
        "serverGen",
        "layers",
        "syncCapabilities",
        "attributes",
        "geometry",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        ".{0,40}".prop_map(serde_json::Value::String),
        Just(serde_json::json!("{419d227b-2a61-43c4-8884-4b7b5bf3eabb}")),
        Just(serde_json::json!("Completed With Errors")),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|pairs| {
                serde_json::Value::Object(
                    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes at all.
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&body);
    }

    /// Structurally plausible JSON with the right key names and wrong shapes.
    #[test]
    fn plausible_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        parse_all(&body);
        // Truncations of it too (a connection dropped mid-reply).
        for cut in [body.len() / 3, body.len() / 2, body.len().saturating_sub(1)] {
            match parse_reply::<ReplicaResponse>(&body[..cut]) {
                Ok(_) | Err(ReplyError::Service(_)) | Err(ReplyError::Malformed { .. }) => {}
            }
        }
    }

    /// Form parameters with the right names and arbitrary values.
    #[test]
    fn arbitrary_form_parameters_never_panic(
        values in prop::collection::vec((prop::sample::select(vec![
            "replicaID", "layers", "layerQueries", "syncLayers", "edits", "async", "syncModel", "syncDirection",
            "replicaServerGen", "transportType", "dataFormat", "rollbackOnFailure", "returnIdsForAdds", "targetType",
            "REPLICAID", "Layers",
        ]), ".{0,60}"), 0..12)
    ) {
        let params = FormParams::new(values.into_iter().map(|(k, v)| (k.to_string(), v)));
        let _ = CreateReplicaParams::from_form(&params);
        let _ = SyncReplicaParams::from_form(&params);
    }

    /// GUID and job-state texts.
    #[test]
    fn guid_and_status_text_never_panic(text in ".{0,64}") {
        if let Ok(g) = Guid::parse(&text) {
            prop_assert_eq!(Guid::parse(g.as_str()).unwrap(), g);
        }
        let state = JobState::parse(&text);
        let _ = state.is_terminal();
    }

    /// Sync parameters survive the trip through form encoding unchanged.
    #[test]
    fn sync_params_round_trip(server_gen in any::<i64>(), is_async in any::<bool>(), rollback in any::<Option<bool>>()) {
        let mut p = SyncReplicaParams::new(Guid::new_v4(), syncwatch::protocol::SyncDirection::Upload);
        p.replica_server_gen = Some(server_gen);
        p.is_async = is_async;
        p.rollback_on_failure = rollback;
        let again = SyncReplicaParams::from_form(&FormParams::new(p.to_form())).unwrap();
        prop_assert_eq!(again, p);
    }
}

/// A deeply nested body is refused by serde_json's recursion limit, not a stack overflow.
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        parse_reply::<ReplicaResponse>(body.as_bytes()),
        Err(ReplyError::Malformed { .. })
    ));
    let body = format!("{{\"edits\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_reply::<ReplicaResponse>(body.as_bytes()).is_err());
}
