//! Property-based robustness of every protocol parser and the delta-file reader: arbitrary bytes,
//! arbitrary JSON, arbitrary form bodies and parameters, where clauses, service definitions, and
//! delta files that are damaged, truncated or hold hostile values never panic; they parse or give
//! a typed error. The case counts are reported in RELIABILITY.md.

use proptest::prelude::*;
use syncwatch::geodatabase::delta::{self, Delta};
use syncwatch::protocol::{
    ChangeType, EditResultRow, Feature, FeatureChanges, LayerSyncResult, ObjectType, ResponseType,
    catalog, create_replica::parse_layer_list, lenient,
};
use syncwatch::protocol::{
    CreateReplicaParams, FeatureServiceInfo, FormParams, Guid, JobState, LayerEdits, LayerInfo,
    ReplicaInfo, ReplicaListEntry, ReplicaResponse, ReplyError, SuccessReply, SyncReplicaParams,
    parse_reply,
};
use syncwatch::server::{Condition, ServiceDefinition};

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

/// Text with SQL and markup metacharacters, quotes, escapes and non-ASCII.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        prop::sample::select(vec![
            "' OR 1=1 --",
            "x'; DROP TABLE features; --",
            "\"; DELETE FROM changes; --",
            "<script>alert(1)</script>",
            "%' OR '%'='",
            "\\' OR 1=1",
            "NULL",
            "{419d227b-2a61-43c4-8884-4b7b5bf3eabb}",
            "é漢字\u{0}\u{202e}",
        ])
        .prop_map(str::to_string),
    ]
}

/// Where-clause-shaped text: field names, operators, literals and junk in any order.
fn where_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "Status",
            "FacilityID",
            "Flow_GPM",
            "=",
            "<>",
            "<",
            ">=",
            "IN",
            "(",
            ")",
            ",",
            "AND",
            "OR",
            "NOT",
            "IS",
            "NULL",
            "LIKE",
            "1=1",
            "'IS'",
            "''",
            "'",
            "--",
            ";",
            "%",
            "_",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        hostile_text().prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
        hostile_text(),
    ];
    prop::collection::vec(token, 0..14).prop_map(|t| t.join(" "))
}

/// A delta with arbitrary (and hostile) text in every text column.
fn delta_value() -> impl Strategy<Value = Delta> {
    (
        hostile_text(),
        any::<i64>(),
        prop::collection::vec((hostile_text(), hostile_text()), 0..6),
        prop::collection::vec((any::<i64>(), hostile_text(), any::<Option<i64>>()), 0..4),
    )
        .prop_map(|(name, generation, attributes, results)| {
            let features: Vec<Feature> = attributes
                .into_iter()
                .map(|(key, value)| Feature {
                    geometry: Some(serde_json::json!({"x": 1.0, "y": 2.0})),
                    attributes: serde_json::json!({
                        "GlobalID": Guid::new_v4().as_str(), "Notes": value, "Other": key
                    })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                })
                .collect();
            Delta {
                replica_id: Some(Guid::new_v4()),
                replica_name: Some(name),
                response_type: Some(ResponseType::Edits),
                replica_server_gen: Some(generation),
                layer_server_gens: vec![],
                changes: vec![LayerSyncResult {
                    id: 0,
                    features: FeatureChanges {
                        adds: features.clone(),
                        updates: features,
                        delete_ids: vec![Guid::new_v4().as_str().to_string()],
                        unreadable: vec![],
                    },
                    ..Default::default()
                }],
                edit_results: results
                    .into_iter()
                    .map(|(layer_id, description, code)| EditResultRow {
                        layer_id,
                        object_id: code,
                        global_id: Some(Guid::new_v4()),
                        object_type: ObjectType::Feature,
                        change_type: ChangeType::Update,
                        success: code.is_none(),
                        code,
                        description: Some(description),
                    })
                    .collect(),
            }
        })
}

/// Rows a hostile or broken writer could put in a delta file's tables.
fn hostile_delta_row() -> impl Strategy<Value = (String, Vec<rusqlite::types::Value>)> {
    use rusqlite::types::Value as Sql;
    let value = prop_oneof![
        Just(Sql::Null),
        any::<i64>().prop_map(Sql::Integer),
        any::<f64>().prop_map(Sql::Real),
        hostile_text().prop_map(Sql::Text),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Sql::Blob),
        Just(Sql::Text(
            "{\"attributes\":{\"GlobalID\":7},\"geometry\":[]}".into()
        )),
    ];
    prop_oneof![
        prop::collection::vec(value.clone(), 2).prop_map(|v| ("GDB_DeltaInfo".to_string(), v)),
        prop::collection::vec(value.clone(), 2).prop_map(|v| ("GDB_DeltaLayerGens".to_string(), v)),
        prop::collection::vec(value.clone(), 5).prop_map(|v| ("GDB_DataChanges".to_string(), v)),
        prop::collection::vec(value, 9).prop_map(|v| ("GDB_DataChangesEditResults".to_string(), v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Raw form bodies (as a server receives them) and the parameter parsers behind them.
    #[test]
    fn arbitrary_form_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,64}") {
        let params = FormParams::parse(&body);
        let _ = CreateReplicaParams::from_form(&params);
        let _ = SyncReplicaParams::from_form(&params);
        let _ = parse_layer_list(&text);
        let _ = lenient::parse_bool_text(&text);
        let _ = catalog::Series::parse(&text);
        let _ = catalog::describe(text.len() as i64 + 990, &text);
    }

    /// Where clauses with SQL metacharacters: parsed into a condition or refused, never run as SQL.
    #[test]
    fn where_clauses_never_panic(clause in where_text()) {
        let known = |name: &str| ["Status", "FacilityID", "Flow_GPM"].iter().any(|f| f.eq_ignore_ascii_case(name));
        if let Ok(condition) = Condition::parse(&clause, &known) {
            let row = serde_json::json!({"Status": clause, "FacilityID": null, "Flow_GPM": 1});
            let _ = condition.matches(row.as_object().unwrap());
        }
    }

    /// A quoted literal with SQL metacharacters is a literal: it matches exactly that text.
    #[test]
    fn quoted_literals_match_literally(text in hostile_text(), other in hostile_text()) {
        let clause = format!("Status = '{}'", text.replace('\'', "''"));
        let condition = Condition::parse(&clause, &|n: &str| n.eq_ignore_ascii_case("Status")).unwrap();
        let row = |value: &str| serde_json::json!({"Status": value}).as_object().cloned().unwrap();
        prop_assert!(condition.matches(&row(&text)));
        prop_assert_eq!(condition.matches(&row(&other)), other == text);
    }

    /// Service definition files.
    #[test]
    fn service_definitions_never_panic(value in json_value()) {
        let _ = ServiceDefinition::from_json(&value.to_string());
    }

}

proptest! {
    // Each delta case writes a SQLite file: fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A delta with hostile text round-trips exactly (values are stored literally).
    #[test]
    fn deltas_round_trip_hostile_values(delta in delta_value()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.geodatabase");
        delta::write(&path, &delta).unwrap();
        prop_assert_eq!(delta::read(&path).unwrap(), delta);
    }

    /// A delta file damaged anywhere (bytes overwritten, or cut short) reads back or fails with a
    /// typed error.
    #[test]
    fn damaged_delta_files_never_panic(
        delta in delta_value(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.geodatabase");
        delta::write(&path, &delta).unwrap();
        let good = std::fs::read(&path).unwrap();
        let mut bytes = good.clone();
        for (at, byte) in &damage {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        std::fs::write(&path, &bytes).unwrap();
        let _ = delta::read(&path);
        std::fs::write(&path, &good[..cut.index(good.len())]).unwrap();
        let _ = delta::read(&path);
    }

    /// Delta tables holding values of the wrong type, bad JSON, unknown codes and huge numbers.
    #[test]
    fn hostile_delta_rows_never_panic(rows in prop::collection::vec(hostile_delta_row(), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.geodatabase");
        delta::write(&path, &Delta::default()).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (table, values) in rows {
            let marks = vec!["?"; values.len()].join(",");
            // Constraint failures (a duplicate key, NULL in a NOT NULL column) just skip the row.
            let _ = conn.execute(
                &format!("INSERT INTO {table} VALUES ({marks})"),
                rusqlite::params_from_iter(values),
            );
        }
        drop(conn);
        let _ = delta::read(&path);
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
