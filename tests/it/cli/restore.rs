//! `syncwatch backups` and `syncwatch restore` run as the real binary against the in-process
//! reference service: a discard reset leaves a backup, `backups --json` lists it with what it
//! holds, `restore` refuses without `--yes` off a terminal and on a bad backup name (one line,
//! nothing changed), and `restore --only GLOBALID --yes` restores just that change and syncs it,
//! the backup's files byte-identical afterwards.

use crate::support::cli::{Cli, files_under};
use crate::support::demo_data::{HYD_1, HYD_2};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn snapshot(dir: &std::path::Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn pending(cli: &Cli) -> u64 {
    let replicas = cli.json(&["replicas", "--json"], 0);
    replicas[0]["pending_changes"].as_u64().unwrap()
}

/// One line on stderr, the exit code 2, and nothing queued.
fn refused(cli: &Cli, args: &[&str], says: &str) {
    let out = cli.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert_eq!(pending(cli), 0, "nothing was restored");
}

#[test]
fn backups_lists_and_restore_only_restores_the_chosen_change() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "field7",
            "--layers",
            "0",
            "--json",
        ],
        0,
    );
    for (gid, notes) in [(HYD_1, "hinge squeaks"), (HYD_2, "paint flaking")] {
        let values = format!(r#"{{"Notes":"{notes}"}}"#);
        cli.json(
            &[
                "edit", "field7", "--layer", "0", "--update", gid, &values, "--json",
            ],
            0,
        );
    }
    let reset = cli.json(
        &["reset", "field7", "--mode", "discard", "--yes", "--json"],
        0,
    );
    assert_eq!(reset["reset"]["discarded"].as_array().unwrap().len(), 2);
    assert_eq!(pending(&cli), 0);

    let listed = cli.json(&["backups", "field7", "--json"], 0);
    let backups = listed.as_array().unwrap();
    assert_eq!(backups.len(), 1, "{listed:#}");
    let backup = &backups[0];
    let name = backup["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("field7-"), "{name}");
    assert_eq!(backup["mode"], "discard");
    assert_eq!(backup["mode_used"], "discard");
    assert_eq!(backup["counts"]["updates"], 2);
    assert_eq!(backup["counts"]["adds"], 0);
    assert!(backup["made_ms"].as_i64().is_some());
    assert!(backup["unreadable"].is_null());
    let dir = PathBuf::from(backup["dir"].as_str().unwrap());
    assert!(dir.join("unsynced-changes.json").exists());
    let before = snapshot(&dir);
    let text = cli.run(&["backups", "field7"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&name));

    refused(
        &cli,
        &["restore", "field7", &name, "--only", HYD_1],
        "pass --yes to confirm",
    );
    refused(
        &cli,
        &["restore", "field7", "field7-nope", "--yes"],
        "no backup \"field7-nope\"",
    );

    let restored = cli.json(
        &[
            "restore", "field7", &name, "--only", HYD_1, "--yes", "--json",
        ],
        0,
    );
    let report = &restored["restore"];
    assert_eq!(
        report["restored"].as_array().unwrap().len(),
        1,
        "{restored:#}"
    );
    assert_eq!(
        report["restored"][0]["global_id"]
            .as_str()
            .unwrap()
            .to_uppercase(),
        HYD_1
    );
    assert!(report["already_restored"].as_array().unwrap().is_empty());
    assert_eq!(restored["sync"]["uploaded"], 1, "{restored:#}");
    assert_eq!(pending(&cli), 0, "uploaded");
    // By folder path too: the one restored is already there now, the other one is restored.
    let again = cli.json(
        &[
            "restore",
            "field7",
            dir.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        0,
    );
    assert_eq!(
        again["restore"]["already_restored"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(again["restore"]["restored"].as_array().unwrap().len(), 1);
    assert_eq!(snapshot(&dir), before, "the backup is byte-identical");
}
