//! The headless commands run as the real binary against the in-process reference feature
//! service, each with its own `--data-dir` in a temp dir: output shapes and exit codes.

use crate::support::cli::Cli;
use crate::support::demo_data::{HYD_1, HYD_2};

/// create, replicas, edit (add, update, delete), sync, a refused edit (exit 1), results with
/// filters, and unregister, all through the binary with --json.
#[test]
fn create_edit_sync_results_unregister() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    let created = cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "crew-7",
            "--layers",
            "0,1",
            "--json",
        ],
        0,
    );
    assert_eq!(created["outcome"]["state"], "Completed");
    assert_eq!(created["outcome"]["downloaded"], 400);
    let replicas = cli.json(&["replicas", "--json"], 0);
    assert_eq!(replicas.as_array().unwrap().len(), 1);
    assert_eq!(replicas[0]["name"], "crew-7");
    assert!(!replicas.to_string().contains("token"));

    let add = r#"{"attributes":{"FacilityID":"HYD-5000","Status":"IS"},"geometry":{"x":-122.6,"y":45.5}}"#;
    let added = cli.json(
        &["edit", "crew-7", "--layer", "0", "--add", add, "--json"],
        0,
    );
    assert_eq!(added["change"], "add");
    let update = r#"{"Notes":"valve exercised"}"#;
    cli.json(
        &[
            "edit", "crew-7", "--layer", "0", "--update", HYD_1, update, "--json",
        ],
        0,
    );
    let deleted = cli.json(
        &[
            "edit", "crew-7", "--layer", "0", "--delete", HYD_2, "--json",
        ],
        0,
    );
    assert_eq!(deleted["pendingChanges"], 3);

    let synced = cli.json(&["sync", "crew-7", "--json"], 0);
    assert_eq!(synced["outcome"]["state"], "Completed");
    assert_eq!(synced["outcome"]["uploaded"], 3);

    cli.json(
        &[
            "edit",
            "crew-7",
            "--layer",
            "0",
            "--update",
            HYD_1,
            r#"{"Status":null}"#,
            "--json",
        ],
        0,
    );
    let refused = cli.json(&["sync", "crew-7", "--direction", "upload", "--json"], 1);
    assert_eq!(refused["outcome"]["state"], "CompletedWithErrors");
    let failed = cli.json(&["results", "crew-7", "--failed", "--json"], 0);
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["code"], 1001);
    assert_eq!(failed[0]["success"], false);
    let layer_level = cli.json(&["results", "crew-7", "--series", "2000", "--json"], 0);
    assert!(layer_level.as_array().unwrap().is_empty());
    let text = cli.run(&["results", "crew-7", "--failed"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("refused 1001"));

    cli.json(&["unregister", "crew-7", "--json"], 0);
    let replicas = cli.json(&["replicas", "--json"], 0);
    assert!(replicas.as_array().unwrap().is_empty());
}

/// An async perLayer create, then a sync addressed by replicaID instead of by name.
#[test]
fn async_per_layer_create_and_sync_by_replica_id() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    let created = cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "valves",
            "--layers",
            "1",
            "--sync-model",
            "perLayer",
            "--async",
            "--json",
        ],
        0,
    );
    let replica_id = created["replica"]["replica_guid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(created["replica"]["sync_model"], "perLayer");
    let synced = cli.json(
        &["sync", &replica_id, "--direction", "download", "--json"],
        0,
    );
    assert_eq!(synced["outcome"]["state"], "Completed");
    let human = cli.run(&["replicas"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("valves"));
}

/// A replica the server dropped makes `sync` exit 3; an unknown replica or an unreachable
/// service exits 2 with a one-line reason.
#[test]
fn exit_codes_for_reset_required_and_failures() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "doomed",
            "--layers",
            "0",
            "--json",
        ],
        0,
    );
    cli.admin("sync/terminate");
    cli.admin("sync/enable");
    let reset = cli.json(&["sync", "doomed", "--json"], 3);
    assert_eq!(reset["state"], "ResetRequired");
    let again = cli.run(&["sync", "doomed"]);
    assert_eq!(again.status.code(), Some(3));

    let unknown = cli.run(&["sync", "nobody"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let closed = "http://127.0.0.1:9/arcgis/rest/services/Nope/FeatureServer";
    let out = cli.run(&[
        "create",
        "--service",
        closed,
        "--name",
        "x",
        "--layers",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
