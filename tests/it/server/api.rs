//! The reference service's REST API over real HTTP: resources, createReplica, synchronizeReplica,
//! unRegisterReplica, replicas, tokens, bad requests and persistence.

use crate::support::server::*;
use serde_json::{Value, json};
use syncwatch::geodatabase::delta;
use syncwatch::protocol::{ReplicaResponse, ResponseType, catalog, parse_reply};
use syncwatch::server::ServerConfig;

/// Every resource answers GET and POST with f=json; parameter names are case-insensitive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_answer_get_and_post() {
    let fx = start().await;
    let base = fx.server.base_url().to_string();
    let (status, info) = fx
        .get_json(&format!("{base}/arcgis/rest/info?f=json"))
        .await;
    assert_eq!((status, info["currentVersion"].as_f64()), (200, Some(11.1)));
    let (_, services) = fx
        .get_json(&format!("{base}/arcgis/rest/services?F=JSON"))
        .await;
    assert_eq!(services["services"][0]["name"], "WaterNetwork");
    let root = fx.post("", &[("F", "json")]).await;
    assert_eq!(root["syncEnabled"], true);
    assert_eq!(root["syncCapabilities"]["supportsRollbackOnFailure"], true);
    assert_eq!(root["layers"].as_array().unwrap().len(), 3);
    assert_eq!(root["tables"].as_array().unwrap().len(), 2);
    let (_, valves) = fx.get_json(&format!("{}/1?f=json", fx.url)).await;
    assert_eq!(
        (
            valves["hasZ"].as_bool(),
            valves["allowGeometryUpdates"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let inspections = fx.post("3", &[("f", "json")]).await;
    assert_eq!(inspections["type"], "Table");
    assert_eq!(
        inspections["ownershipBasedAccessControlForFeatures"]["allowOthersToUpdate"],
        false
    );
    let missing = fx.post("9", &[("f", "json")]).await;
    assert!(
        missing["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Layer 9")
    );
    let (status, _) = fx
        .get_json(&format!(
            "{base}/arcgis/rest/services/Nope/FeatureServer?f=json"
        ))
        .await;
    assert_eq!(status, 404);
}

/// createReplica perReplica, embedded: a replica id, a generation and every seed hydrant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_replica_embedded_per_replica() {
    let fx = start().await;
    let seeds = demo().layer(0).unwrap().seed.len();
    let reply = fx.create("[0, 1]", &[]).await;
    let r: ReplicaResponse = parse_reply(reply.to_string().as_bytes()).unwrap();
    assert!(r.replica_id.is_some());
    assert!(r.replica_server_gen.unwrap() > 0);
    assert_eq!(r.response_type, Some(ResponseType::Data));
    assert_eq!(r.layers[0].features.len(), seeds);
    assert!(r.layers[1].features[0].geometry.as_ref().unwrap()["z"].is_number());
    let list = fx.post("replicas", &[("f", "json")]).await;
    assert_eq!(list[0]["replicaID"], reply["replicaID"]);
}

/// perLayer replicas get layerServerGens; syncModel=none exports data without registering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_replica_per_layer_and_none() {
    let fx = start().await;
    let per_layer = fx.create("0,3", &[("syncModel", "perLayer")]).await;
    let gens = per_layer["layerServerGens"].as_array().unwrap();
    assert_eq!(gens.len(), 2);
    assert!(per_layer.get("replicaServerGen").is_none());
    let export = fx.create("0", &[("syncModel", "none")]).await;
    assert!(export.get("replicaID").is_none());
    assert!(
        !export["layers"][0]["features"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let list = fx.post("replicas", &[("f", "json")]).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the export is not registered"
    );
}

/// layerQueries: useFilter applies the where clause; none gives the schema only; hostile text is
/// a plain value and a malformed clause is refused with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_queries_filter_safely() {
    let fx = start().await;
    let def = demo();
    let seeds = &def.layer(0).unwrap().seed;
    let out_of_service = seeds
        .iter()
        .filter(|f| f.attributes["Status"] == "OOS")
        .count();
    let q =
        r#"{"0":{"queryOption":"useFilter","where":"Status = 'OOS'"},"1":{"queryOption":"none"}}"#;
    let reply = fx.create("0,1", &[("layerQueries", q)]).await;
    let features = reply["layers"][0]["features"].as_array().unwrap();
    assert_eq!(features.len(), out_of_service);
    assert!(features.iter().all(|f| f["attributes"]["Status"] == "OOS"));
    assert!(
        reply["layers"][1]["features"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let in_list = r#"{"0":{"queryOption":"useFilter","where":"Status IN ('OOS','ABN') AND Flow_GPM >= 1000 OR Notes IS NULL"}}"#;
    assert!(fx.create("0", &[("layerQueries", in_list)]).await["replicaID"].is_string());
    let hostile =
        r#"{"0":{"queryOption":"useFilter","where":"FacilityID = '''; DROP TABLE features; --'"}}"#;
    let reply = fx.create("0", &[("layerQueries", hostile)]).await;
    assert!(
        reply["layers"][0]["features"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let injected = r#"{"0":{"queryOption":"useFilter","where":"1=1; DROP TABLE features"}}"#;
    let refused = fx.create("0", &[("layerQueries", injected)]).await;
    assert!(
        refused["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Invalid where clause"),
        "{refused}"
    );
    let all = fx.create("0", &[]).await;
    assert_eq!(
        all["layers"][0]["features"].as_array().unwrap().len(),
        seeds.len(),
        "nothing was dropped"
    );
}

/// URL transport puts the result in the output directory; dataFormat=sqlite gives a delta file
/// the geodatabase reader turns back into the initial data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_replica_url_and_sqlite_results() {
    let fx = start().await;
    let reply = fx
        .create("3", &[("transportType", "esriTransportTypeUrl")])
        .await;
    let url = reply["URL"].as_str().unwrap();
    assert!(url.contains("/arcgis/rest/directories/arcgisoutput/WaterNetwork/"));
    let (status, file) = fx.get_json(url).await;
    assert_eq!(status, 200);
    assert_eq!(file["replicaID"], reply["replicaID"]);
    assert_eq!(
        file["layers"][0]["features"].as_array().unwrap().len(),
        demo().layer(3).unwrap().seed.len()
    );

    let reply = fx.create("0", &[("dataFormat", "sqlite")]).await;
    let url = reply["URL"].as_str().unwrap();
    assert!(url.ends_with(".geodatabase"));
    let bytes = fx
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.geodatabase");
    std::fs::write(&path, &bytes).unwrap();
    let d = delta::read(&path).unwrap();
    assert_eq!(
        d.replica_id.as_ref().map(|g| g.as_str()),
        reply["replicaID"].as_str()
    );
    assert_eq!(d.response_type, Some(ResponseType::Data));
    assert_eq!(
        d.changes[0].features.adds.len(),
        demo().layer(0).unwrap().seed.len()
    );
}

/// Bidirectional sync: one replica's adds, updates and deletes reach another replica as adds,
/// updates and deleteIds (tombstones); a replica's own uploads are not echoed back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_flow_between_replicas_including_deletes() {
    let fx = start().await;
    let (a, a_gen) = fx.replica("0", "").await;
    let (b, b_gen) = fx.replica("0", "").await;
    let gid = new_gid();
    let reply = fx
        .sync(&a, a_gen, &adds(0, vec![hydrant(&gid, "HYD-9001")]), &[])
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert!(
        downloaded(&reply, 0)["adds"].is_null(),
        "own upload not echoed: {reply}"
    );
    let a_gen = reply["replicaServerGen"].as_i64().unwrap();
    assert_eq!(reply["responseType"], "esriReplicaResponseTypeNoEdits");

    let reply = fx.sync(&b, b_gen, &json!([]), &[]).await;
    assert_eq!(reply["responseType"], "esriReplicaResponseTypeEdits");
    let got = downloaded(&reply, 0);
    assert_eq!(got["adds"][0]["attributes"]["GlobalID"], gid.as_str());
    let b_gen = reply["replicaServerGen"].as_i64().unwrap();

    let update =
        json!([{"id":0,"features":{"updates":[{"attributes":{"GlobalID":gid,"Flow_GPM":1250}}]}}]);
    let reply = fx.sync(&a, a_gen, &update, &[]).await;
    let a_gen = reply["replicaServerGen"].as_i64().unwrap();
    let reply = fx.sync(&b, b_gen, &json!([]), &[]).await;
    assert_eq!(
        downloaded(&reply, 0)["updates"][0]["attributes"]["Flow_GPM"],
        1250
    );
    let b_gen = reply["replicaServerGen"].as_i64().unwrap();

    let delete = json!([{"id":0,"features":{"deleteIds":[gid]}}]);
    let reply = fx.sync(&a, a_gen, &delete, &[]).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let reply = fx.sync(&b, b_gen, &json!([]), &[]).await;
    assert_eq!(downloaded(&reply, 0)["deleteIds"], json!([gid]));
}

/// returnIdsForAdds gives objectId and globalId of every applied add.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_ids_for_adds() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let gid = new_gid();
    let reply = fx
        .sync(
            &a,
            gen_a,
            &adds(0, vec![hydrant(&gid, "HYD-9002")]),
            &[("returnIdsForAdds", "true")],
        )
        .await;
    let added = results(&reply, 0, "addResults");
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["success"], true);
    assert_eq!(added[0]["globalId"], gid.as_str());
    assert!(added[0]["objectId"].as_i64().unwrap() > demo().layer(0).unwrap().seed.len() as i64);
}

/// A resent add (same GlobalID) is not duplicated, even from another generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_adds_are_idempotent() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let (b, gen_b) = fx.replica("0", "").await;
    let gid = new_gid();
    let edits = adds(0, vec![hydrant(&gid, "HYD-9003")]);
    let first = fx
        .sync(&a, gen_a, &edits, &[("returnIdsForAdds", "true")])
        .await;
    let again = fx
        .sync(&a, gen_a, &edits, &[("returnIdsForAdds", "true")])
        .await;
    assert_eq!(
        results(&first, 0, "addResults")[0]["objectId"],
        results(&again, 0, "addResults")[0]["objectId"]
    );
    assert_eq!(results(&again, 0, "addResults")[0]["success"], true);
    let reply = fx.sync(&b, gen_b, &json!([]), &[]).await;
    let adds = downloaded(&reply, 0)["adds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        adds.iter()
            .filter(|f| f["attributes"]["GlobalID"] == gid.as_str())
            .count(),
        1
    );
}

/// rollbackOnFailure=true: one bad edit rolls back all; the reply is the documented envelope naming
/// the failed edit, and the good edit of the same request is not applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_on_failure_true_is_all_or_nothing() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("1", "").await;
    let (b, gen_b) = fx.replica("1", "").await;
    let good = new_gid();
    let bad = new_gid();
    let edits = adds(
        1,
        vec![
            json!({"geometry":{"x":1.0,"y":2.0,"z":3.0},"attributes":{"GlobalID":good,"ValveID":"V-9001","Diameter_mm":150,"Depth":1.2}}),
            json!({"geometry":{"x":1.0,"y":2.0,"z":3.0},"attributes":{"GlobalID":bad,"ValveID":"V-9002","Diameter_mm":150,"Depth":null}}),
        ],
    );
    let reply = fx
        .sync(&a, gen_a, &edits, &[("rollbackOnFailure", "true")])
        .await;
    let error = &reply["error"];
    assert_eq!(error["code"], 400);
    assert_eq!(error["message"], "Operation rolled back.");
    assert_eq!(error["details"], json!([]));
    let info = &error["infos"][0];
    assert_eq!(info["errorCode"], 1001);
    assert_eq!(
        info["description"],
        "Field: Depth is not nullable. Cannot set null value."
    );
    assert_eq!(info["layerId"], 1);
    assert_eq!(info["objectGUID"], bad.as_str());
    assert_eq!(info["objectType"], 0);
    let reply = fx.sync(&b, gen_b, &json!([]), &[]).await;
    assert_eq!(
        reply["responseType"], "esriReplicaResponseTypeNoEdits",
        "nothing applied: {reply}"
    );
}

/// rollbackOnFailure=false: the failed edit is skipped and reported, the rest is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_on_failure_false_skips_and_reports() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("1", "").await;
    let (b, gen_b) = fx.replica("1", "").await;
    let good = new_gid();
    let bad = new_gid();
    let edits = adds(
        1,
        vec![
            json!({"geometry":{"x":1.0,"y":2.0,"z":3.0},"attributes":{"GlobalID":good,"ValveID":"V-9001","Diameter_mm":150,"Depth":1.2}}),
            json!({"geometry":{"x":1.0,"y":2.0,"z":3.0},"attributes":{"GlobalID":bad,"ValveID":"V-9002","Diameter_mm":150,"Depth":null}}),
        ],
    );
    let reply = fx
        .sync(&a, gen_a, &edits, &[("rollbackOnFailure", "false")])
        .await;
    let failed = results(&reply, 1, "addResults");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["globalId"], bad.as_str());
    assert_eq!(failed[0]["error"]["code"], 1001);
    let r: ReplicaResponse = parse_reply(reply.to_string().as_bytes()).unwrap();
    assert_eq!(r.result_rows()[0].code, Some(1001));
    let reply = fx.sync(&b, gen_b, &json!([]), &[]).await;
    let got = downloaded(&reply, 1)["adds"].as_array().cloned().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["attributes"]["GlobalID"], good.as_str());
}

/// syncDirection: upload applies and downloads nothing; download ignores edits; snapshot
/// returns replacement data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_directions() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let (b, gen_b) = fx.replica("0", "").await;
    let gid = new_gid();
    let reply = fx
        .sync(
            &b,
            gen_b,
            &adds(0, vec![hydrant(&gid, "HYD-9004")]),
            &[("syncDirection", "download")],
        )
        .await;
    assert_eq!(
        reply["responseType"], "esriReplicaResponseTypeNoEdits",
        "download ignored the edit"
    );
    let reply = fx
        .sync(
            &b,
            gen_b,
            &adds(0, vec![hydrant(&gid, "HYD-9004")]),
            &[("syncDirection", "upload")],
        )
        .await;
    assert!(reply.get("error").is_none());
    let reply = fx
        .sync(&a, gen_a, &json!([]), &[("syncDirection", "upload")])
        .await;
    assert_eq!(
        reply["responseType"], "esriReplicaResponseTypeNoEdits",
        "upload downloads nothing"
    );
    let reply = fx
        .sync(&a, gen_a, &json!([]), &[("syncDirection", "download")])
        .await;
    assert_eq!(
        downloaded(&reply, 0)["adds"][0]["attributes"]["GlobalID"],
        gid.as_str()
    );
    let reply = fx
        .sync(&a, gen_a, &json!([]), &[("syncDirection", "snapshot")])
        .await;
    assert_eq!(
        reply["responseType"],
        "esriReplicaResponseTypeReplacementData"
    );
    assert_eq!(
        reply["layers"][0]["features"].as_array().unwrap().len(),
        demo().layer(0).unwrap().seed.len() + 1
    );
}

/// perLayer sync: each layer syncs from its own serverGen with its own direction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_layer_sync_layers() {
    let fx = start().await;
    let a = fx.create("0,3", &[("syncModel", "perLayer")]).await;
    let b = fx.create("0,3", &[("syncModel", "perLayer")]).await;
    let (a_id, b_id) = (
        a["replicaID"].as_str().unwrap(),
        b["replicaID"].as_str().unwrap(),
    );
    let a_gen = a["layerServerGens"][0]["serverGen"].as_i64().unwrap();
    let b_gen = b["layerServerGens"][0]["serverGen"].as_i64().unwrap();
    let gid = new_gid();
    let layers = json!([{"id":0,"serverGen":a_gen,"syncDirection":"upload"}]).to_string();
    let reply = fx
        .sync(
            a_id,
            a_gen,
            &adds(0, vec![hydrant(&gid, "HYD-9005")]),
            &[("syncLayers", &layers)],
        )
        .await;
    assert_eq!(
        reply["layerServerGens"].as_array().unwrap().len(),
        1,
        "{reply}"
    );
    let layers =
        json!([{"id":0,"serverGen":b_gen,"syncDirection":"download"},{"id":3,"serverGen":b_gen}])
            .to_string();
    let reply = fx
        .sync(b_id, b_gen, &json!([]), &[("syncLayers", &layers)])
        .await;
    assert_eq!(
        downloaded(&reply, 0)["adds"][0]["attributes"]["GlobalID"],
        gid.as_str()
    );
    assert_eq!(reply["layerServerGens"].as_array().unwrap().len(), 2);
    let not_in_replica = json!([{"id":1,"serverGen":b_gen}]).to_string();
    let reply = fx
        .sync(b_id, b_gen, &json!([]), &[("syncLayers", &not_in_replica)])
        .await;
    assert!(
        reply["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("Layer 1")
    );
}

/// unRegisterReplica: the replica is gone and a later sync answers exactly as documented;
/// closeReplica unregisters after the sync; `replicaID=*` removes the rest; replica info accepts
/// braced, bare and URL-encoded ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_and_replica_info() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let _ = fx.replica("0", "").await;
    let bare = a.trim_matches(|c| c == '{' || c == '}').to_lowercase();
    for id in [
        a.clone(),
        bare.clone(),
        a.replace('{', "%7B").replace('}', "%7D"),
    ] {
        let (status, info) = fx
            .get_json(&format!("{}/replicas/{id}?f=json", fx.url))
            .await;
        assert_eq!(status, 200);
        assert_eq!(info["replicaID"], a.as_str());
        assert_eq!(info["syncModel"], "perReplica");
    }
    let reply = fx
        .post("unRegisterReplica", &[("f", "json"), ("replicaID", &bare)])
        .await;
    assert_eq!(reply["success"], true);
    let reply = fx.sync(&a, gen_a, &json!([]), &[]).await;
    assert_eq!(
        reply,
        json!({"error":{"code":404,"message":"Unable to complete operation.","details":["Replica with this GUID does not exist on the server"],"infos":[]}})
    );
    let again = fx
        .post("unRegisterReplica", &[("f", "json"), ("replicaID", &a)])
        .await;
    assert_eq!(again["error"]["code"], 404);
    let all = fx
        .post("unRegisterReplica", &[("f", "json"), ("replicaID", "*")])
        .await;
    assert_eq!(all["success"], true);
    assert_eq!(fx.post("replicas", &[("f", "json")]).await, json!([]));
}

/// Bad requests get the error envelope with a clear message, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_envelope() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let gen_text = gen_a.to_string();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "synchronizeReplica",
            vec![("f", "json")],
            "'replicaID' is missing",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", "{nope}")],
            "replicaID",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", &a), ("edits", "[{\"id\":0,")],
            "edits",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", &a), ("edits", "{\"id\":0}")],
            "edits",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", &a), ("replicaServerGen", "soon")],
            "replicaServerGen",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", &a), ("syncDirection", "sideways")],
            "syncDirection",
        ),
        (
            "synchronizeReplica",
            vec![("replicaID", &a), ("replicaServerGen", "999999999")],
            "Invalid replica generation",
        ),
        (
            "synchronizeReplica",
            vec![
                ("replicaID", &a),
                ("rollbackOnFailure", "maybe"),
                ("replicaServerGen", &gen_text),
            ],
            "rollbackOnFailure",
        ),
        ("createReplica", vec![("f", "json")], "'layers' is missing"),
        ("createReplica", vec![("layers", "0,x")], "layers"),
        (
            "createReplica",
            vec![("layers", "42")],
            "Layer 42 does not exist",
        ),
        (
            "createReplica",
            vec![("layers", "0"), ("layerQueries", "{not json")],
            "layerQueries",
        ),
        (
            "createReplica",
            vec![("layers", "0"), ("dataFormat", "shapefile")],
            "dataFormat",
        ),
        (
            "unRegisterReplica",
            vec![("f", "json")],
            "'replicaID' is missing",
        ),
    ];
    for (op, form, expected) in cases {
        let reply = fx.post(op, &form).await;
        let text = reply["error"].to_string();
        assert!(reply["error"]["code"].is_number(), "{op} {form:?}: {reply}");
        assert!(text.contains(expected), "{op} {form:?}: {text}");
    }
    let unknown = fx.sync(&new_gid(), 1, &json!([]), &[]).await;
    assert_eq!(
        unknown["error"]["details"][0],
        "Replica with this GUID does not exist on the server"
    );
    let resp = fx
        .http
        .post(format!("{}/createReplica", fx.url))
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_object());
}

/// Tokens: 499 without one and 498 for a wrong one when required; token parameter, Bearer and
/// X-Esri-Authorization headers all work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_required_when_configured() {
    let mut def = demo();
    def.require_token = true;
    let fx = start_with(ServerConfig {
        definition: Some(def),
        ..Default::default()
    })
    .await;
    let missing = fx.post("replicas", &[("f", "json")]).await;
    assert_eq!(missing["error"]["code"], 499);
    assert_eq!(missing["error"]["message"], "Token Required");
    let wrong = fx
        .post("replicas", &[("f", "json"), ("token", "guess")])
        .await;
    assert_eq!(wrong["error"]["code"], 498);
    assert_eq!(wrong["error"]["message"], "Invalid Token");
    assert!(
        fx.post("replicas", &[("f", "json"), ("token", TECH1)])
            .await
            .is_array()
    );
    for header in ["Authorization", "X-Esri-Authorization"] {
        let resp = fx
            .http
            .get(format!("{}/replicas?f=json", fx.url))
            .header(header, format!("Bearer {TECH2}"))
            .send()
            .await
            .unwrap();
        assert!(resp.json::<Value>().await.unwrap().is_array(), "{header}");
    }
}

/// dataFormat=sqlite on sync: a delta file whose GDB_DataChangesEditResults carries the failed
/// edit with the seed's columns, and the downloaded changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sqlite_delta_carries_edit_results() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let (b, gen_b) = fx.replica("0", "").await;
    fx.sync(
        &b,
        gen_b,
        &adds(0, vec![hydrant(&new_gid(), "HYD-9006")]),
        &[],
    )
    .await;
    let bad = new_gid();
    let reply = fx
        .sync(
            &a,
            gen_a,
            &adds(
                0,
                vec![json!({"attributes":{"GlobalID":bad,"Status":"IS"}})],
            ),
            &[("dataFormat", "sqlite")],
        )
        .await;
    let url = reply["URL"].as_str().expect("URL");
    let bytes = fx
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.geodatabase");
    std::fs::write(&path, &bytes).unwrap();
    let d = delta::read(&path).unwrap();
    assert_eq!(d.replica_server_gen, reply["replicaServerGen"].as_i64());
    assert_eq!(d.changes[0].features.adds.len(), 1);
    let row = &d.edit_results[0];
    assert_eq!(
        (row.code, row.layer_id, row.success),
        (Some(1001), 0, false)
    );
    assert_eq!(
        row.description.as_deref(),
        Some(catalog::describe(1001, "FacilityID").as_str())
    );
    assert_eq!(row.global_id.as_ref().unwrap().as_str(), bad);
}

/// Everything committed survives a restart on the same data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let fx = start_with(config.clone()).await;
    let (a, gen_a) = fx.replica("0", "").await;
    let gid = new_gid();
    let reply = fx
        .sync(&a, gen_a, &adds(0, vec![hydrant(&gid, "HYD-9007")]), &[])
        .await;
    let new_gen = reply["replicaServerGen"].as_i64().unwrap();
    fx.server.shutdown().await;
    let fx = start_with(config).await;
    let info = fx
        .get_json(&format!("{}/replicas/{a}?f=json", fx.url))
        .await
        .1;
    assert_eq!(info["replicaServerGen"], new_gen);
    let all = fx.create("0", &[]).await;
    let found = all["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["attributes"]["GlobalID"] == gid.as_str());
    assert!(found);
}

/// Hostile and odd uploads get the envelope or per-edit failures; the service keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_never_break_the_service() {
    let fx = start().await;
    let (a, gen_a) = fx.replica("0", "").await;
    let gid = new_gid();
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let uploads = [
        r#"[{"id":0,"features":{"adds":[{"attributes":{"GlobalID":"G","Flow_GPM":1e400}}]}}]"#
            .to_string(),
        r#"[{"id":"zero"}]"#.to_string(),
        deep,
        format!(
            r#"[{{"id":0,"features":{{"adds":[{{"geometry":[1,2],"attributes":{{"GlobalID":"{gid}","FacilityID":"X1"}}}}]}}}}]"#
        ),
        format!(
            r#"[{{"id":0,"features":{{"updates":[{{"attributes":{{"GlobalID":"{gid}","FacilityID":{{"$ne":1}}}}}}]}}}}]"#
        ),
        format!(
            r#"[{{"id":9223372036854775807,"features":{{"deleteIds":["{gid}", "", "DROP TABLE"]}}}}]"#
        ),
        format!(
            r#"[{{"id":0,"features":{{"adds":[{{"geometry":{{"x":1e308,"y":-1e308}},"attributes":{{"GlobalID":"{gid}","FacilityID":"🚒🚒"}}}}]}}}}]"#
        ),
    ];
    let gen_text = gen_a.to_string();
    for edits in &uploads {
        let form = [
            ("f", "json"),
            ("replicaID", a.as_str()),
            ("replicaServerGen", gen_text.as_str()),
            ("edits", edits.as_str()),
            ("transportType", "esriTransportTypeEmbedded"),
        ];
        let resp = fx
            .http
            .post(format!("{}/synchronizeReplica", fx.url))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{edits}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"].is_object() || body["replicaServerGen"].is_number(),
            "{edits}: {body}"
        );
    }
    assert!(fx.post("replicas", &[("f", "json")]).await.is_array());
}

/// The ArcGIS API for Python (PyPI `arcgis` 2.4.4) connects, creates replicas (sync and async),
/// synchronizes with edits, sees a rollback and unregisters, against the reference service.
/// Then it signs in with a username and password to a token-secured service over HTTPS (its
/// `admin/generateToken`) and creates, syncs and unregisters a replica there; and against a
/// token-secured service on plain HTTP it sends no password: five wrong ones would have locked
/// tech2 out, yet tech2's own password still gets a token there afterwards. Needs `pip install arcgis==2.4.4 six`; `PYTHON` names the interpreter (default `python3`).
/// Run: `cargo test --test it -- --ignored server::api::arcgis_python_interop`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the arcgis Python package (pip install arcgis==2.4.4 six)"]
async fn arcgis_python_interop() {
    let fx = start().await;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/arcgis_interop.py"
    );
    let base = fx.server.base_url().to_string();
    let secured = |tls: bool| {
        let config = ServerConfig {
            definition: Some(secured_demo()),
            ..Default::default()
        };
        if tls {
            crate::support::https::with_tls(config)
        } else {
            config
        }
    };
    let secured_https = start_with(secured(true)).await;
    let secured_plain = start_with(secured(false)).await;
    let https_base = secured_https.server.base_url().to_string();
    let plain_base = secured_plain.server.base_url().to_string();
    assert!(https_base.starts_with("https://") && plain_base.starts_with("http://"));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args([base, https_base, plain_base])
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(line["ok"], true);
    assert!(
        fx.post("replicas", &[("f", "json")])
            .await
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["replicaID"] != line["replicaID"])
    );
    assert!(line["signedInReplicaID"].is_string(), "{line}");
    assert_eq!(line["plainHttpAttempts"], 5, "{line}");
    let minted: Value = secured_plain
        .http
        .post(format!(
            "{}/arcgis/tokens/generateToken",
            secured_plain.server.base_url()
        ))
        .form(&[
            ("username", "tech2"),
            ("password", TECH2_PASSWORD),
            ("client", "referer"),
            ("referer", "https://syncwatch.local"),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        minted["token"].is_string(),
        "tech2 was locked out: a password reached the plain-HTTP service: {minted}"
    );
}
