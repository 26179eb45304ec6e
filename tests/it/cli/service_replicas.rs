//! `syncwatch service-replicas` through the real binary against the reference service: replicas
//! of two users (this binary as tech1, another client as tech2) listed for an administrator and
//! for a technician, stale marking by `--stale-days` after the service's test clock moved one
//! back, the replica this laptop holds marked, and `--unregister`: refused without `--yes` when
//! standard input is not a terminal, then removing exactly the chosen replica.

use crate::support::cli::Cli;
use crate::support::server::{ADMIN, TECH1, TECH2};
use serde_json::{Value, json};

/// tech1's replica made by this binary, tech2's by another client (45 days old); the service's
/// URL and the two replicaIDs.
fn two_users(cli: &Cli) -> (String, String, String) {
    let service = cli.server.service_url();
    // No OS keychain on the test machines: the token goes to the file store.
    let args = [
        "create",
        "--service",
        &service,
        "--name",
        "crew-a",
        "--layers",
        "0",
        "--token",
        TECH1,
        "--json",
    ];
    let out = cli.run_with_env(&args, &[("SYNCWATCH_SECRET_STORE", "file")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tech1 = created["replicaID"]
        .as_str()
        .or_else(|| created["replica"]["replicaGuid"].as_str())
        .map(str::to_string);
    let tech2 = cli.another_client_creates("field-maps-tech2", TECH2, None);
    cli.admin_json(
        reqwest::Method::POST,
        "replicas/age",
        Some(json!({"replicaID": tech2.as_str(), "days": 45})),
    );
    let listed = cli.json(
        &["service-replicas", &service, "--token", ADMIN, "--json"],
        0,
    );
    let tech1 = tech1.unwrap_or_else(|| id_named(&listed, "crew-a"));
    (service, tech1, tech2.as_str().to_string())
}

fn id_named(list: &Value, prefix: &str) -> String {
    rows(list)
        .iter()
        .find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .and_then(|r| r["replicaID"].as_str())
        .unwrap_or_else(|| panic!("no {prefix} in {list}"))
        .to_string()
}

fn rows(list: &Value) -> &Vec<Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
}

fn row<'a>(list: &'a Value, id: &str) -> &'a Value {
    rows(list)
        .iter()
        .find(|r| r["replicaID"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

#[test]
fn lists_both_users_replicas_for_an_admin_with_stale_marking_by_the_chosen_days() {
    let cli = Cli::start();
    let (service, tech1, tech2) = two_users(&cli);

    let all = cli.json(
        &["service-replicas", &service, "--token", ADMIN, "--json"],
        0,
    );
    assert_eq!(rows(&all).len(), 2, "{all}");
    let (mine, theirs) = (row(&all, &tech1), row(&all, &tech2));
    assert_eq!(mine["owner"], "tech1");
    assert_eq!(theirs["owner"], "tech2");
    assert_eq!(theirs["name"], "field-maps-tech2");
    assert!(mine["createdMs"].is_i64() && theirs["createdMs"].is_i64());
    assert_eq!(mine["syncModel"], "perReplica");
    assert_eq!(mine["heldHere"], true, "this laptop holds crew-a");
    assert_eq!(theirs["heldHere"], false);
    assert_eq!(theirs["stale"], true, "45 days old, 30 by default");
    assert_eq!(mine["stale"], false);
    assert!(!all.to_string().contains(ADMIN), "no token in the output");

    let sixty = cli.json(
        &[
            "service-replicas",
            &service,
            "--token",
            ADMIN,
            "--stale-days",
            "60",
            "--json",
        ],
        0,
    );
    assert!(rows(&sixty).iter().all(|r| r["stale"] == false), "{sixty}");

    let tech1_sees = cli.json(
        &["service-replicas", &service, "--token", TECH1, "--json"],
        0,
    );
    assert_eq!(rows(&tech1_sees).len(), 1);
    assert_eq!(rows(&tech1_sees)[0]["replicaID"], tech1.as_str());

    let text = cli.run(&["service-replicas", &service, "--token", ADMIN]);
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("field-maps-tech2") && text.contains("stale: no sync for 30+ days"),
        "{text}"
    );
    assert!(text.contains("this laptop"), "{text}");
    assert!(text.contains("owner:      tech2"), "{text}");
}

#[test]
fn unregister_needs_a_confirmation_and_removes_exactly_the_chosen_replica() {
    let cli = Cli::start();
    let (service, tech1, tech2) = two_users(&cli);

    // No terminal, no --yes: refused, named, and nothing changes.
    let refused = cli.run(&[
        "service-replicas",
        &service,
        "--token",
        ADMIN,
        "--unregister",
        &tech2,
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--yes") && err.contains("field-maps-tech2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let still = cli.json(
        &["service-replicas", &service, "--token", ADMIN, "--json"],
        0,
    );
    assert_eq!(rows(&still).len(), 2);

    let unknown = cli.run(&[
        "service-replicas",
        &service,
        "--token",
        ADMIN,
        "--unregister",
        "{00000000-0000-0000-0000-000000000001}",
        "--yes",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("lists no replica"));

    let done = cli.json(
        &[
            "service-replicas",
            &service,
            "--token",
            ADMIN,
            "--unregister",
            &tech2,
            "--yes",
            "--json",
        ],
        0,
    );
    assert_eq!(rows(&done).len(), 1);
    assert_eq!(done[0]["replicaID"], tech2.as_str());
    assert_eq!(done[0]["unregistered"], true);
    let left = cli.json(
        &["service-replicas", &service, "--token", ADMIN, "--json"],
        0,
    );
    assert_eq!(rows(&left).len(), 1, "{left}");
    assert_eq!(rows(&left)[0]["replicaID"], tech1.as_str());
    let local = cli.json(&["replicas", "--json"], 0);
    assert_eq!(rows(&local).len(), 1, "this laptop still holds crew-a");
}
