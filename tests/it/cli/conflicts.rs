//! `syncwatch conflicts`, `syncwatch resolve`, `settings --conflicts` and the held conflicts
//! `syncwatch sync` reports, as the real binary: an office laptop (its own data dir) changes a
//! hydrant's Notes and syncs, the technician changes the same field.

use crate::support::cli::Cli;
use crate::support::demo_data::{HYD_1, HYD_2};
use serde_json::Value;

/// One attribute of a hydrant as the service answers a layer `query` for its FacilityID.
fn served(cli: &Cli, facility: &str, field: &str) -> Value {
    let url = format!("{}/0/query", cli.server.service_url());
    let query = [
        ("where", format!("FacilityID = '{facility}'")),
        ("outFields", "*".to_string()),
        ("f", "json".to_string()),
    ];
    let reply: Value = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .get(url)
                .query(&query)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    reply["features"][0]["attributes"][field].clone()
}

fn create(cli: &Cli, data_dir: &std::path::Path, name: &str) {
    let service = cli.server.service_url();
    let out = cli
        .command_in(
            data_dir,
            &[
                "create",
                "--service",
                &service,
                "--name",
                name,
                "--layers",
                "0",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

fn edit_notes(cli: &Cli, data_dir: &std::path::Path, name: &str, gid: &str, notes: &str) {
    let values = serde_json::json!({ "Notes": notes }).to_string();
    let out = cli
        .command_in(
            data_dir,
            &["edit", name, "--layer", "0", "--update", gid, &values],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// The whole round: `sync` holds the conflicting edit (exit 1, its own line), `conflicts` shows
/// started-from / mine / server (exit 1 while held), `resolve --field` sends a chosen value,
/// `resolve` of a settled conflict fails (exit 2), `settings --conflicts mine` is kept.
#[test]
fn conflicts_are_held_listed_and_resolved_through_the_binary() {
    let cli = Cli::start();
    let office = tempfile::tempdir().unwrap();
    let tech = cli.data_dir.path().to_path_buf();
    create(&cli, &tech, "crew-3");
    create(&cli, office.path(), "office");
    edit_notes(&cli, office.path(), "office", HYD_1, "office: valve stuck");
    let out = cli
        .command_in(office.path(), &["sync", "office"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    edit_notes(&cli, &tech, "crew-3", HYD_1, "tech: flushed");
    edit_notes(&cli, &tech, "crew-3", HYD_2, "tech: painted");

    let synced = cli.json(&["sync", "crew-3", "--json"], 1);
    assert_eq!(synced["outcome"]["held_conflicts"], 1);
    assert_eq!(served(&cli, "HYD-0002", "Notes"), "tech: painted");
    assert_eq!(served(&cli, "HYD-0001", "Notes"), "office: valve stuck");
    let text = cli.run(&["sync", "crew-3"]);
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1 edit(s) held: they conflict with newer changes on the service"),
        "{text}"
    );

    let listed = cli.json(&["conflicts", "crew-3", "--json"], 1);
    assert_eq!(listed["held"], 1);
    assert_eq!(listed["policy"], "ask");
    let conflict = &listed["conflicts"][0];
    assert_eq!(conflict["global_id"], HYD_1);
    assert_eq!(conflict["status"], "held");
    assert_eq!(conflict["fields"][0]["name"], "Notes");
    assert_eq!(conflict["fields"][0]["started_from"], Value::Null);
    assert_eq!(conflict["fields"][0]["mine"], "tech: flushed");
    assert_eq!(conflict["fields"][0]["server"], "office: valve stuck");
    let text = cli.run(&["conflicts", "crew-3"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            r#"Notes: started from null | mine "tech: flushed" | server "office: valve stuck""#
        ),
        "{text}"
    );

    let resolved = cli.run(&[
        "resolve",
        "crew-3",
        HYD_1,
        "--field",
        "Notes=both: flushed, valve stuck",
    ]);
    assert_eq!(resolved.status.code(), Some(0), "{resolved:?}");
    let again = cli.run(&["resolve", "crew-3", HYD_1, "--keep", "mine"]);
    assert_eq!(again.status.code(), Some(2), "no conflict left: {again:?}");
    let neither = cli.run(&["resolve", "crew-3", HYD_1]);
    assert_eq!(
        neither.status.code(),
        Some(2),
        "--keep or --field is required"
    );
    cli.json(&["conflicts", "crew-3", "--json"], 0);
    cli.json(&["sync", "crew-3", "--json"], 0);
    assert_eq!(
        served(&cli, "HYD-0001", "Notes"),
        "both: flushed, valve stuck"
    );

    let settings = cli.json(&["settings", "crew-3", "--conflicts", "mine", "--json"], 0);
    assert_eq!(settings["conflicts"], "mine");
    let settings = cli.json(&["settings", "crew-3", "--json"], 0);
    assert_eq!(settings["conflicts"], "mine");
    let bad = cli.run(&["settings", "crew-3", "--conflicts", "sometimes"]);
    assert_eq!(bad.status.code(), Some(2));
}
