//! Replicas belong to their owners, over real HTTP against the reference service: another user
//! cannot read, sync, close or unregister a replica (the answer is the one for a replica that
//! does not exist, so ids do not leak), an administrator can do each, the replicas list shows
//! only what the caller may act on, and `replicaID=*` only removes the caller's own.

use crate::support::server::*;
use serde_json::{Value, json};
use syncwatch::server::ServerConfig;

/// The envelope ArcGIS answers for a replica that is not registered (with HTTP 200, as every
/// ArcGIS error envelope).
fn missing() -> Value {
    json!({"error":{"code":404,"message":"Unable to complete operation.",
                    "details":["Replica with this GUID does not exist on the server"],"infos":[]}})
}

async fn secured() -> Fixture {
    let mut def = demo();
    def.require_token = true;
    start_with(ServerConfig {
        definition: Some(def),
        ..Default::default()
    })
    .await
}

/// `replicas/<id>` as `token` (empty = anonymous).
async fn info(fx: &Fixture, replica: &str, token: &str) -> (u16, Value) {
    let mut url = format!("{}/replicas/{replica}?f=json", fx.url);
    if !token.is_empty() {
        url.push_str(&format!("&token={token}"));
    }
    fx.get_json(&url).await
}

/// The replica ids the replicas resource lists for `token` (empty = anonymous).
async fn listed(fx: &Fixture, token: &str) -> Vec<String> {
    let mut form = vec![("f", "json")];
    if !token.is_empty() {
        form.push(("token", token));
    }
    let list = fx.post("replicas", &form).await;
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|r| r["replicaID"].as_str().unwrap().to_string())
        .collect()
}

async fn unregister(fx: &Fixture, replica: &str, token: &str) -> Value {
    let mut form = vec![("f", "json"), ("replicaID", replica)];
    if !token.is_empty() {
        form.push(("token", token));
    }
    fx.post("unRegisterReplica", &form).await
}

/// Polls an async job's status as `token` until it is terminal (bounded); the last status.
async fn poll_as(fx: &Fixture, status_url: &str, token: &str) -> Value {
    for _ in 0..400 {
        let (_, status) = fx
            .get_json(&format!("{status_url}?f=json&token={token}"))
            .await;
        if ["Completed", "CompletedWithErrors", "Failed"]
            .contains(&status["status"].as_str().unwrap_or(""))
        {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("job never finished");
}

/// Every GlobalID in a sync reply's downloaded adds of layer 0.
fn downloaded_adds(reply: &Value) -> Vec<String> {
    downloaded(reply, 0)["adds"]
        .as_array()
        .map(|adds| {
            adds.iter()
                .filter_map(|f| f["attributes"]["GlobalID"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// With tokens required, tech2 cannot read, sync (with or without an upload, sync or async),
/// close or unregister tech1's replica: each answers exactly as for an unknown replica, tech2's
/// upload never reaches the service, and tech1's replica is unchanged and still syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_cannot_touch_a_replica() {
    let fx = secured().await;
    let (theirs, generation) = fx.replica("0", TECH1).await;
    let (_, before) = info(&fx, &theirs, TECH1).await;
    assert_eq!(before["replicaOwner"], "tech1", "{before}");

    assert_eq!(info(&fx, &theirs, TECH2).await, (200, missing()));
    let unknown = new_gid();
    assert_eq!(info(&fx, &unknown, TECH2).await, (200, missing()));

    let sneaked = new_gid();
    let upload = adds(0, vec![hydrant(&sneaked, "HYD-SNEAK")]);
    for extra in [
        vec![("token", TECH2)],
        vec![("token", TECH2), ("closeReplica", "true")],
    ] {
        let reply = fx.sync(&theirs, generation, &upload, &extra).await;
        assert_eq!(reply, missing(), "{extra:?}");
    }
    let submitted = fx
        .sync(
            &theirs,
            generation,
            &upload,
            &[("token", TECH2), ("async", "true")],
        )
        .await;
    let status_url = submitted["statusUrl"].as_str().expect("statusUrl");
    let status = poll_as(&fx, status_url, TECH2).await;
    assert_eq!(status["status"], "Failed", "{status}");
    assert_eq!(status["error"]["code"], 404, "{status}");
    assert_eq!(unregister(&fx, &theirs, TECH2).await, missing());
    assert_eq!(unregister(&fx, &unknown, TECH2).await, missing());
    assert!(!listed(&fx, TECH2).await.contains(&theirs));

    let (_, after) = info(&fx, &theirs, TECH1).await;
    assert_eq!(after, before, "tech1's replica is unchanged");
    assert!(listed(&fx, TECH1).await.contains(&theirs));
    let mine = new_gid();
    let reply = fx
        .sync(
            &theirs,
            generation,
            &adds(0, vec![hydrant(&mine, "HYD-OWN")]),
            &[("token", TECH1), ("returnIdsForAdds", "true")],
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(results(&reply, 0, "addResults")[0]["success"], true);
    let everything = fx.create("0", &[("token", ADMIN)]).await;
    let stored: Vec<&str> = everything["layers"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["attributes"]["GlobalID"].as_str())
        .collect();
    assert!(stored.contains(&mine.as_str()));
    assert!(
        !stored.contains(&sneaked.as_str()),
        "tech2's upload never reached the service"
    );
    assert!(!downloaded_adds(&reply).contains(&sneaked));
}

/// An administrator reads, syncs, closes and unregisters tech1's replicas, lists everyone's,
/// and `replicaID=*` as the administrator removes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_acts_on_every_replica() {
    let fx = secured().await;
    let (synced, generation) = fx.replica("0", TECH1).await;
    let (closed, closed_gen) = fx.replica("0", TECH1).await;
    let (removed, _) = fx.replica("0", TECH1).await;
    let (other, _) = fx.replica("0", TECH2).await;

    let (status, read) = info(&fx, &synced, ADMIN).await;
    assert_eq!(
        (status, read["replicaOwner"].as_str()),
        (200, Some("tech1"))
    );
    let added = new_gid();
    let reply = fx
        .sync(
            &synced,
            generation,
            &adds(0, vec![hydrant(&added, "HYD-ADMIN")]),
            &[("token", ADMIN), ("returnIdsForAdds", "true")],
        )
        .await;
    assert_eq!(
        results(&reply, 0, "addResults")
            .first()
            .map(|r| r["success"].clone()),
        Some(json!(true)),
        "{reply}"
    );
    let reply = fx
        .sync(
            &closed,
            closed_gen,
            &json!([]),
            &[("token", ADMIN), ("closeReplica", "true")],
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(info(&fx, &closed, TECH1).await, (200, missing()));
    assert_eq!(unregister(&fx, &removed, ADMIN).await["success"], true);
    assert_eq!(info(&fx, &removed, TECH1).await, (200, missing()));

    let all = listed(&fx, ADMIN).await;
    assert!(all.contains(&synced) && all.contains(&other), "{all:?}");
    assert_eq!(unregister(&fx, "*", ADMIN).await["success"], true);
    assert!(listed(&fx, ADMIN).await.is_empty());
}

/// `replicaID=*` by tech2 removes tech2's replicas and leaves tech1's, which still syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_all_only_removes_the_callers_own() {
    let fx = secured().await;
    let (theirs, generation) = fx.replica("0", TECH1).await;
    let (own_a, _) = fx.replica("0", TECH2).await;
    let (own_b, _) = fx.replica("0", TECH2).await;
    assert_eq!(listed(&fx, TECH2).await, vec![own_a.clone(), own_b.clone()]);
    assert_eq!(unregister(&fx, "*", TECH2).await["success"], true);
    assert!(listed(&fx, TECH2).await.is_empty());
    assert_eq!(info(&fx, &own_a, TECH2).await, (200, missing()));
    assert_eq!(listed(&fx, TECH1).await, vec![theirs.clone()]);
    let reply = fx
        .sync(&theirs, generation, &json!([]), &[("token", TECH1)])
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
}

/// Without required tokens: an anonymous caller lists, reads and removes only anonymous
/// replicas; a signed-in user's replica is "does not exist" to it, and the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_see_only_anonymous_replicas() {
    let fx = start().await;
    let (anonymous, _) = fx.replica("0", "").await;
    let (signed_in, signed_gen) = fx.replica("0", TECH1).await;
    assert_eq!(listed(&fx, "").await, vec![anonymous.clone()]);
    assert_eq!(listed(&fx, TECH1).await, vec![signed_in.clone()]);
    assert_eq!(info(&fx, &signed_in, "").await, (200, missing()));
    assert_eq!(info(&fx, &anonymous, TECH1).await, (200, missing()));
    assert_eq!(
        fx.sync(&signed_in, signed_gen, &json!([]), &[]).await,
        missing()
    );
    assert_eq!(unregister(&fx, &signed_in, "").await, missing());
    assert_eq!(unregister(&fx, "*", "").await["success"], true);
    assert!(listed(&fx, "").await.is_empty());
    assert_eq!(listed(&fx, TECH1).await, vec![signed_in.clone()]);
    assert_eq!(info(&fx, &signed_in, TECH1).await.0, 200);
}
