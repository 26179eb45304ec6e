//! Damaged local files through the real binary: a garbage or truncated app database, and a
//! truncated replica file. Each gives a one-line error that names the file and the way out, the
//! file is left byte for byte as it was, and the way out works without losing the unsynced edit.

use crate::support::cli::Cli;
use std::path::{Path, PathBuf};

const ADD: &str =
    r#"{"attributes":{"FacilityID":"HYD-DMG1","Status":"IS"},"geometry":{"x":-122.6,"y":45.5}}"#;

/// A replica `crew` with one unsynced add.
fn replica_with_an_unsynced_add(cli: &Cli) {
    let service = cli.server.service_url();
    cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "crew",
            "--layers",
            "0",
            "--json",
        ],
        0,
    );
    cli.json(&["edit", "crew", "--layer", "0", "--add", ADD, "--json"], 0);
}

/// Runs a command that must fail (exit 2) with one line on stderr containing every `needle`.
fn fails_on_one_line(cli: &Cli, args: &[&str], needles: &[&str]) -> String {
    let out = cli.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
    stderr
}

fn replica_file(data_dir: &Path) -> PathBuf {
    std::fs::read_dir(data_dir.join("replicas"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "replica"))
        .unwrap()
}

/// The app database overwritten with garbage, then (in a second data directory) cut to a third:
/// every command refuses with one line naming the file and `syncwatch repair`; the file is
/// untouched; `repair` sets it aside unchanged, rebuilds the replica from its file, and the
/// unsynced add then syncs.
#[test]
fn damaged_app_database_is_kept_and_repair_rebuilds_the_replica_list() {
    for damage in ["garbage", "truncated"] {
        let cli = Cli::start();
        replica_with_an_unsynced_add(&cli);
        let db = cli.data_dir.path().join("syncwatch.db");
        let good = std::fs::read(&db).unwrap();
        let damaged: Vec<u8> = match damage {
            "garbage" => b"<html>not a database</html>".repeat(200),
            _ => good[..good.len() / 3].to_vec(),
        };
        std::fs::write(&db, &damaged).unwrap();

        let db_text = db.display().to_string();
        for args in [
            &["replicas"][..],
            &["sync", "crew"],
            &["replicas", "--json"],
        ] {
            fails_on_one_line(&cli, args, &[&db_text, "syncwatch repair", "left as it is"]);
            assert_eq!(
                std::fs::read(&db).unwrap(),
                damaged,
                "{damage}: the file was changed"
            );
        }

        let repaired = cli.json(&["repair", "--json"], 0);
        assert_eq!(repaired["repaired"], true, "{damage}");
        assert_eq!(repaired["rebuilt"], serde_json::json!(["crew"]), "{damage}");
        let aside = PathBuf::from(repaired["set_aside"].as_str().unwrap());
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            damaged,
            "{damage}: set aside unchanged"
        );

        let replicas = cli.json(&["replicas", "--json"], 0);
        assert_eq!(replicas[0]["name"], "crew");
        assert_eq!(
            replicas[0]["pending_changes"], 1,
            "{damage}: the unsynced add is still there"
        );
        let synced = cli.json(&["sync", "crew", "--json"], 0);
        assert_eq!(synced["outcome"]["uploaded"], 1, "{damage}");
        let again = cli.json(&["repair", "--json"], 0);
        assert_eq!(again["repaired"], false, "a healthy database is left alone");
    }
}

/// A replica file cut short: sync fails on one line naming the file and the way out, the file is
/// left as it was, and unregistering (the way out) still works.
#[test]
fn truncated_replica_file_is_reported_and_kept() {
    let cli = Cli::start();
    replica_with_an_unsynced_add(&cli);
    let file = replica_file(cli.data_dir.path());
    let good = std::fs::read(&file).unwrap();
    let cut = good[..good.len() / 2].to_vec();
    std::fs::write(&file, &cut).unwrap();
    let file_text = file.display().to_string();
    fails_on_one_line(
        &cli,
        &["sync", "crew"],
        &[&file_text, "left as it is", "unregister"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), cut, "the file was changed");
    let replicas = cli.json(&["replicas", "--json"], 0);
    assert_eq!(replicas[0]["name"], "crew", "the replica is still listed");
    cli.json(&["unregister", "crew", "--json"], 0);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        cut,
        "unregister keeps the file"
    );
}
