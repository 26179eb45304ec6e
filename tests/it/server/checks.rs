//! Every documented edit-result code produced by a real check of the reference service, with the
//! catalog's exact description text, through synchronizeReplica over HTTP.

use crate::support::server::*;
use serde_json::{Value, json};
use syncwatch::protocol::catalog;

/// Syncs `edits` (rollbackOnFailure=false) as `token` and returns the (code, description) of
/// every failed edit result of `layer`, in order.
async fn failures(
    fx: &Fixture,
    layers: &str,
    token: &str,
    edits: Value,
    layer: i64,
) -> Vec<(i64, String)> {
    let (replica, generation) = fx.replica(layers, token).await;
    let mut extra = vec![("rollbackOnFailure", "false")];
    if !token.is_empty() {
        extra.push(("token", token));
    }
    let reply = fx.sync(&replica, generation, &edits, &extra).await;
    assert!(reply.get("error").is_none(), "{reply}");
    ["addResults", "updateResults", "deleteResults"]
        .iter()
        .flat_map(|kind| results(&reply, layer, kind))
        .filter(|r| r["success"] == false)
        .map(|r| {
            (
                r["error"]["code"].as_i64().unwrap(),
                r["error"]["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expect(code: i64, value: &str) -> (i64, String) {
    (code, catalog::describe(code, value))
}

fn seed_gid(layer: i64, index: usize) -> String {
    demo().layer(layer).unwrap().seed[index].attributes["GlobalID"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A seed row of `layer` whose owner field holds `owner`.
fn owned_by(layer: i64, owner: &str) -> String {
    let def = demo();
    let l = def.layer(layer).unwrap();
    let field = l.owner_field().unwrap();
    l.seed
        .iter()
        .find(|f| f.attributes[field] == owner)
        .unwrap()
        .attributes["GlobalID"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Attribute checks on hydrant adds: 1016 (type, length, coded domain, range, unknown field),
/// 1006 untrusted HTML, 1022 unique, 1023 not editable, 1020/1021 GlobalID, 1015 bad geometry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_and_identity_checks_on_adds() {
    let fx = start().await;
    let with = |extra: Value| {
        let mut f = hydrant(&new_gid(), &format!("HYD-T{}", &new_gid()[1..6]));
        for (k, v) in extra.as_object().unwrap() {
            f["attributes"][k] = v.clone();
        }
        f
    };
    let mut no_gid = hydrant("x", "HYD-T0001");
    no_gid["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("GlobalID");
    let mut bad_geometry = hydrant(&new_gid(), "HYD-T0002");
    bad_geometry["geometry"] = json!({"x": "east", "y": 45.5});
    let mut line_geometry = hydrant(&new_gid(), "HYD-T0003");
    line_geometry["geometry"] = json!({"paths": [[[0.0, 0.0], [1.0, 1.0]]]});
    let edits = adds(
        0,
        vec![
            with(json!({"Flow_GPM": "fast"})),
            with(json!({"FacilityID": "HYD-123456789012345678"})),
            with(json!({"Status": "XX"})),
            with(json!({"Flow_GPM": 9999})),
            with(json!({"Colour": "red"})),
            with(json!({"Notes": "<script>alert('x')</script>"})),
            with(json!({"Notes": "<img src=x onerror=alert(1)>"})),
            with(json!({"FacilityID": "HYD-0001"})),
            with(json!({"AssetTag": "WTR-NEW"})),
            no_gid,
            with(json!({"GlobalID": ""})),
            bad_geometry,
            line_geometry,
            with(json!({"FacilityID": null})),
        ],
    );
    let got = failures(&fx, "0", "", edits, 0).await;
    assert_eq!(
        got,
        vec![
            expect(1016, "Flow_GPM"),
            expect(1016, "FacilityID"),
            expect(1016, "Status"),
            expect(1016, "Flow_GPM"),
            expect(1016, "Colour"),
            expect(1006, "Notes"),
            expect(1006, "Notes"),
            expect(1022, "FacilityID"),
            expect(1023, "AssetTag"),
            expect(1020, ""),
            expect(1021, ""),
            expect(1015, ""),
            expect(1015, ""),
            expect(1001, "FacilityID"),
        ]
    );
    assert!(got[5].1.contains("Notes") && got[9].1 == "Missing GlobalID.");
}

/// Uniqueness holds within one upload too: the second add with the same FacilityID fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_values_within_one_upload() {
    let fx = start().await;
    let edits = adds(
        0,
        vec![
            hydrant(&new_gid(), "HYD-DUP"),
            hydrant(&new_gid(), "HYD-DUP"),
        ],
    );
    assert_eq!(
        failures(&fx, "0", "", edits, 0).await,
        vec![expect(1022, "FacilityID")]
    );
}

/// Geometry checks: 1014 missing z on valves, 1002 missing m on mains, 1004 geometry update on
/// valves (allowGeometryUpdates=false), 1001 null in a non-nullable field on update, 1011 missing
/// objects for update and delete, 1023 changing a non-editable field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geometry_and_update_checks() {
    let fx = start().await;
    let valve = json!({"geometry":{"x":1.0,"y":2.0},"attributes":{"GlobalID":new_gid(),"ValveID":"V-T1","Diameter_mm":150,"Depth":1.0}});
    assert_eq!(
        failures(&fx, "1", "", adds(1, vec![valve]), 1).await,
        vec![expect(1014, "")]
    );

    let main = json!({"geometry":{"paths":[[[0.0,0.0],[1.0,1.0]]]},"attributes":{"GlobalID":new_gid(),"MainID":"MN-T1"}});
    let main_ok = json!({"geometry":{"paths":[[[0.0,0.0,0.0],[1.0,1.0,5.0]]],"hasM":true},"attributes":{"GlobalID":new_gid(),"MainID":"MN-T2"}});
    assert_eq!(
        failures(&fx, "2", "", adds(2, vec![main, main_ok]), 2).await,
        vec![expect(1002, "")]
    );

    let valve_gid = seed_gid(1, 0);
    let hydrant_gid = seed_gid(0, 0);
    let edits = json!([
        {"id":1,"features":{"updates":[
            {"geometry":{"x":9.0,"y":9.0,"z":9.0},"attributes":{"GlobalID":valve_gid}},
            {"attributes":{"GlobalID":valve_gid,"Depth":null}},
            {"attributes":{"GlobalID":new_gid(),"Depth":2.0}}
        ],"deleteIds":[new_gid()]}}
    ]);
    assert_eq!(
        failures(&fx, "1", "", edits, 1).await,
        vec![
            expect(1004, ""),
            expect(1001, "Depth"),
            expect(1011, ""),
            expect(1011, "")
        ]
    );
    let edits = json!([{"id":0,"features":{"updates":[
        {"attributes":{"GlobalID":hydrant_gid,"AssetTag":"CHANGED"}},
        {"geometry":{"x":-122.6,"y":45.5},"attributes":{"GlobalID":hydrant_gid,"Notes":"moved"}}
    ]}}]);
    assert_eq!(
        failures(&fx, "0", "", edits, 0).await,
        vec![expect(1023, "AssetTag")]
    );
}

/// Ownership-based access control by the token's user: 1007 on a queryable table, 1013 where
/// others' rows are not even queryable; owners and admins may edit; hidden rows are not downloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_based_access_control() {
    let fx = start().await;
    let inspection = owned_by(3, "tech1");
    let work_order = owned_by(4, "tech1");
    let update = |layer: i64, gid: &str| json!([{"id":layer,"features":{"updates":[{"attributes":{"GlobalID":gid,"Comments":"by tech2"}}]}}]);
    assert_eq!(
        failures(&fx, "3", TECH2, update(3, &inspection), 3).await,
        vec![expect(1007, "")]
    );
    let delete = json!([{"id":3,"features":{"deleteIds":[inspection]}}]);
    assert_eq!(
        failures(&fx, "3", TECH2, delete, 3).await,
        vec![expect(1007, "")]
    );
    let wo = json!([{"id":4,"features":{"updates":[{"attributes":{"GlobalID":work_order,"Summary":"by tech2"}}]}}]);
    assert_eq!(
        failures(&fx, "4", TECH2, wo.clone(), 4).await,
        vec![expect(1013, "")]
    );
    assert_eq!(
        failures(&fx, "4", TECH1, wo.clone(), 4).await,
        vec![],
        "the owner may edit"
    );
    assert_eq!(
        failures(&fx, "4", ADMIN, wo, 4).await,
        vec![],
        "an admin may edit"
    );
    assert_eq!(
        failures(&fx, "3", TECH1, update(3, &inspection), 3).await,
        vec![]
    );

    let reply = fx.create("4", &[("token", TECH2)]).await;
    let rows = reply["layers"][0]["features"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["attributes"]["Assignee"] != "tech1"),
        "tech1's work orders are hidden from tech2"
    );
    let added = json!({"attributes":{"GlobalID":new_gid(),"Summary":"new","Priority":2}});
    let (replica, generation) = fx.replica("4", TECH2).await;
    let reply = fx
        .sync(
            &replica,
            generation,
            &adds(4, vec![added]),
            &[("token", TECH2), ("returnIdsForAdds", "true")],
        )
        .await;
    assert_eq!(results(&reply, 4, "addResults")[0]["success"], true);
    let mine = fx.create("4", &[("token", TECH2)]).await;
    let owners: Vec<&Value> = mine["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["attributes"]["Assignee"])
        .collect();
    assert!(
        owners.contains(&&json!("tech2")),
        "the server set the owner from the token"
    );
}

/// Edits for a layer the service does not have fail with 2001; with rollback the envelope says
/// so and names each rolled-back layer with 2000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_layers_and_layer_level_rollback() {
    let fx = start().await;
    let gid = new_gid();
    let edits = json!([{"id":99,"features":{"adds":[{"attributes":{"GlobalID":gid}}]}}]);
    assert_eq!(
        failures(&fx, "0", "", edits, 99).await,
        vec![expect(2001, "99")]
    );
    let (replica, generation) = fx.replica("0", "").await;
    let edits = json!([
        {"id":0,"features":{"adds":[hydrant(&new_gid(), "HYD-T9")]}},
        {"id":99,"features":{"adds":[{"attributes":{"GlobalID":gid}}]}}
    ]);
    let reply = fx
        .sync(
            &replica,
            generation,
            &edits,
            &[("rollbackOnFailure", "true")],
        )
        .await;
    let infos = reply["error"]["infos"].as_array().unwrap();
    assert_eq!(reply["error"]["message"], catalog::describe(1003, ""));
    assert_eq!(
        (infos[0]["errorCode"].as_i64(), infos[0]["layerId"].as_i64()),
        (Some(2001), Some(99))
    );
    assert_eq!(infos[0]["objectGUID"], gid.as_str());
    let layer_level: Vec<(i64, &str)> = infos[1..]
        .iter()
        .map(|i| {
            (
                i["layerId"].as_i64().unwrap(),
                i["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        layer_level,
        vec![
            (0, "Edits to layer 0 rolled back."),
            (99, "Edits to layer 99 rolled back.")
        ]
    );
}

/// Ownership cannot be bypassed by resending or by GlobalID collisions: tech2 resending an update
/// of tech1's inspection is refused every time; tech2 adding a feature under tech1's GlobalID is
/// refused (1007, or 1013 where tech1's rows are hidden), not acknowledged as a "resend", and
/// tech1's feature is unchanged; tech1's own resent add with changed values is applied as an
/// update (a local edit made after a lost reply is not dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_survives_resends_and_global_id_collisions() {
    let fx = start().await;
    let inspection = owned_by(3, "tech1");
    let work_order = owned_by(4, "tech1");
    let update = json!([{"id":3,"features":{"updates":[{"attributes":{"GlobalID":inspection,"Comments":"by tech2"}}]}}]);
    for _ in 0..2 {
        assert_eq!(
            failures(&fx, "3", TECH2, update.clone(), 3).await,
            vec![expect(1007, "")]
        );
    }
    let hijack = |layer: i64, gid: &str, field: &str| {
        let mut attributes = json!({"GlobalID": gid, "Result": "FAIL", "Summary": "mine now"});
        attributes[field] = json!(if field == "Priority" {
            json!(3)
        } else {
            json!("tech2")
        });
        json!([{"id":layer,"features":{"adds":[{"attributes": attributes}]}}])
    };
    assert_eq!(
        failures(&fx, "3", TECH2, hijack(3, &inspection, "Comments"), 3).await,
        vec![expect(1007, "")],
        "an add under tech1's GlobalID is tech2 editing tech1's row"
    );
    assert_eq!(
        failures(&fx, "4", TECH2, hijack(4, &work_order, "Priority"), 4).await,
        vec![expect(1013, "")],
        "where tech1's rows are hidden the refusal does not reveal them"
    );
    let (replica, generation) = fx.replica("3,4", ADMIN).await;
    let reply = fx
        .sync(&replica, generation, &json!([]), &[("token", ADMIN)])
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let everything = fx.create("3,4", &[("token", ADMIN)]).await;
    let find = |layer_index: usize, gid: &str| -> Value {
        everything["layers"][layer_index]["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["attributes"]["GlobalID"] == gid)
            .cloned()
            .unwrap()
    };
    let kept = find(0, &inspection);
    assert_eq!(kept["attributes"]["Inspector"], "tech1");
    assert_ne!(kept["attributes"]["Comments"], "by tech2");
    assert_ne!(kept["attributes"]["Result"], "FAIL");
    let kept = find(1, &work_order);
    assert_eq!(kept["attributes"]["Assignee"], "tech1");
    assert_ne!(kept["attributes"]["Summary"], "mine now");

    // tech1 adds an inspection, the reply is "lost", tech1 edits it and resends the add.
    let gid = new_gid();
    let add = |result: &str| json!([{"id":3,"features":{"adds":[{"attributes":{"GlobalID": gid, "Result": result}}]}}]);
    assert_eq!(failures(&fx, "3", TECH1, add("PASS"), 3).await, vec![]);
    assert_eq!(failures(&fx, "3", TECH1, add("FAIL"), 3).await, vec![]);
    let again = fx.create("3", &[("token", TECH1)]).await;
    let resent = again["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["attributes"]["GlobalID"] == gid.as_str())
        .collect::<Vec<_>>();
    assert_eq!(resent.len(), 1, "never duplicated");
    assert_eq!(
        resent[0]["attributes"]["Result"], "FAIL",
        "the later edit won"
    );
    assert_eq!(resent[0]["attributes"]["Inspector"], "tech1");
}

/// A large upload (checked ahead on a second thread in batches) gets the same per-edit answers,
/// in upload order, as a small one: failures in every batch, a unique value taken in an earlier
/// batch, a GlobalID resent later in the same upload (applied as an update). With
/// rollbackOnFailure the first failure is the one reported and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_uploads_are_checked_in_upload_order() {
    const COUNT: usize = 3000;
    let gids: Vec<String> = (0..COUNT).map(|_| new_gid()).collect();
    let mut features: Vec<Value> = (0..COUNT)
        .map(|i| hydrant(&gids[i], &format!("HYD-L{i:05}")))
        .collect();
    features[10]["attributes"]["Flow_GPM"] = json!("fast");
    features[700]["attributes"]["FacilityID"] = json!("HYD-L00005");
    features[1500]["attributes"]["FacilityID"] = json!("HYD-0001");
    features[2000]["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("GlobalID");
    features[2500] = hydrant(&gids[100], "HYD-L-RESENT");
    features[2999]["attributes"]["FacilityID"] = json!("HYD-L02998");
    let edits = adds(0, features);
    let seeds = demo().layer(0).unwrap().seed.len();
    let hydrants = |reply: &Value| -> Vec<Value> {
        reply["layers"]
            .as_array()
            .and_then(|layers| layers.iter().find(|l| l["id"] == 0))
            .and_then(|l| l["features"].as_array().cloned())
            .unwrap_or_default()
    };

    let fx = start().await;
    let (replica, generation) = fx.replica("0", "").await;
    let reply = fx
        .sync(
            &replica,
            generation,
            &edits,
            &[("rollbackOnFailure", "true")],
        )
        .await;
    let first = &reply["error"]["infos"][0];
    assert_eq!(first["errorCode"].as_i64(), Some(1016), "{reply}");
    assert_eq!(first["objectGUID"], gids[10].as_str());
    assert_eq!(hydrants(&fx.create("0", &[]).await).len(), seeds);

    assert_eq!(
        failures(&fx, "0", "", edits, 0).await,
        vec![
            expect(1016, "Flow_GPM"),
            expect(1022, "FacilityID"),
            expect(1022, "FacilityID"),
            expect(1020, ""),
            expect(1022, "FacilityID"),
        ]
    );
    let stored = hydrants(&fx.create("0", &[]).await);
    assert_eq!(stored.len(), seeds + COUNT - 6);
    let resent = stored
        .iter()
        .find(|f| f["attributes"]["GlobalID"] == gids[100].as_str())
        .expect("the resent hydrant is stored");
    assert_eq!(resent["attributes"]["FacilityID"], "HYD-L-RESENT");
}
