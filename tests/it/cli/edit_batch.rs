//! `syncwatch edit --from-file` through the binary (issue 21): a synchronizeReplica `edits`
//! file and a GeoJSON file recorded in one transaction each and synced; a file with one bad
//! entry, whether the file cannot be read there or the replica refuses it, names the entry and
//! records nothing.

use crate::support::cli::Cli;
use crate::support::demo_data::{HYD_1, HYD_2};
use serde_json::json;

fn pending(cli: &Cli) -> i64 {
    let replicas = cli.json(&["replicas", "--json"], 0);
    replicas[0]["pending_changes"]
        .as_i64()
        .unwrap_or_else(|| panic!("no pending_changes in {replicas}"))
}

#[test]
fn a_batch_file_is_recorded_whole_or_not_at_all() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "crew-9",
            "--layers",
            "0",
            "--json",
        ],
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let add = |n: usize| {
        json!({"attributes": {"FacilityID": format!("HYD-B{n}"), "Status": "IS"},
               "geometry": {"x": -122.6, "y": 45.5}})
    };

    // One update of a feature the replica does not hold: named, nothing recorded.
    let unknown = "{00000000-1111-2222-3333-444444444444}";
    let refused = write(
        "refused.json",
        json!([{"id": 0, "features": {
            "adds": [add(1), add(2)],
            "updates": [{"attributes": {"GlobalID": HYD_1, "Notes": "ok"}},
                        {"attributes": {"GlobalID": unknown, "Notes": "no such hydrant"}}]
        }}]),
    );
    let out = cli.run(&["edit", "crew-9", "--from-file", &refused]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("edits[0] (layer 0) updates[1]"), "{stderr}");
    assert!(
        stderr.contains("nothing of the batch was recorded"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert_eq!(pending(&cli), 0, "nothing of the batch was recorded");

    // A delete that is not a GlobalID: the file is refused before anything is recorded.
    let malformed = write(
        "malformed.json",
        json!([{"id": 0, "features": {"adds": [add(3)], "deleteIds": [HYD_2, "HYD-0003"]}}]),
    );
    let out = cli.run(&["edit", "crew-9", "--from-file", &malformed]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("edits[0] (layer 0) deleteIds[1]"),
        "{stderr}"
    );
    assert_eq!(pending(&cli), 0);

    // The good batch: two adds, an update and a delete, in one go, then synced.
    let good = write(
        "good.json",
        json!({"edits": [{"id": 0, "features": {
            "adds": [add(1), add(2)],
            "updates": [{"attributes": {"GlobalID": HYD_1, "Notes": "batch update"}}],
            "deleteIds": [HYD_2]
        }}]}),
    );
    let recorded = cli.json(&["edit", "crew-9", "--from-file", &good, "--json"], 0);
    assert_eq!(
        (
            &recorded["adds"],
            &recorded["updates"],
            &recorded["deletes"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(recorded["pendingChanges"], 4);
    let geojson = write(
        "hydrants.geojson",
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"FacilityID": "HYD-G1", "Status": "IS"},
             "geometry": {"type": "Point", "coordinates": [-122.61, 45.51]}}
        ]}),
    );
    let out = cli.run(&["edit", "crew-9", "--from-file", &geojson]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(0),
        "GeoJSON needs --layer: {stderr}"
    );
    assert!(stderr.contains("--layer"), "{stderr}");
    cli.json(
        &[
            "edit",
            "crew-9",
            "--layer",
            "0",
            "--from-file",
            &geojson,
            "--json",
        ],
        0,
    );
    assert_eq!(pending(&cli), 5);

    let synced = cli.json(&["sync", "crew-9", "--json"], 0);
    assert_eq!(synced["outcome"]["state"], "Completed", "{synced}");
    assert_eq!(synced["outcome"]["uploaded"], 5);
    assert_eq!(pending(&cli), 0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let query = |filter: &str| {
        let url = format!("{service}/0/query?where={filter}&outFields=*&f=json");
        let reply: serde_json::Value =
            runtime.block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() });
        reply["features"].as_array().unwrap().len()
    };
    assert_eq!(
        query("FacilityID+IN+('HYD-B1','HYD-B2','HYD-G1')"),
        3,
        "the adds reached the service"
    );
    assert_eq!(query("Notes='batch update'"), 1);
}
