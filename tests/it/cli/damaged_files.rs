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

/// `results` and `check` on a replica whose file is missing, then whose file is garbage: each
/// ends (the child is killed after 60 s, which fails the test) with exit 2 and one line naming
/// the file; the engine answers the request with its failure instead of logging it and staying
/// silent.
#[test]
fn results_and_check_on_a_missing_or_corrupt_file_end_with_one_line() {
    let cli = Cli::start();
    replica_with_an_unsynced_add(&cli);
    let file = replica_file(cli.data_dir.path());
    let file_text = file.display().to_string();
    let garbage = b"not a replica file ".repeat(500);
    let limit = std::time::Duration::from_secs(60);
    for damage in ["missing", "corrupt"] {
        match damage {
            "missing" => std::fs::remove_file(&file).unwrap(),
            _ => std::fs::write(&file, &garbage).unwrap(),
        }
        for args in [
            &["results", "crew"][..],
            &["results", "crew", "--json"],
            &["check", "crew"],
            &["check", "crew", "--json"],
        ] {
            let out = cli.run_within(args, limit);
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            assert_eq!(out.status.code(), Some(2), "{damage} {args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{damage} {args:?}: {stderr}");
            assert!(
                stderr.contains(&file_text),
                "{damage} {args:?}: the file is not named: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{damage} {args:?}: printed a result");
        }
        if damage == "corrupt" {
            assert_eq!(
                std::fs::read(&file).unwrap(),
                garbage,
                "the file was changed"
            );
        }
    }
}

/// Makes the app database unreadable (mode 000) or read-only (mode 400) for the commands `cli`
/// runs, and gives access back on drop. As a normal user, a `chmod`; as root (whom modes do not
/// stop), the commands run as `nobody`, who then owns the data directory and the database.
struct Unreadable {
    db: PathBuf,
    run_as: Option<u32>,
}

const NOBODY: u32 = 65534;

impl Unreadable {
    fn make(data_dir: &Path, db: &Path, mode: u32) -> Unreadable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o000)).unwrap();
        let privileged = std::fs::read(db).is_ok();
        std::fs::set_permissions(db, std::fs::Permissions::from_mode(mode)).unwrap();
        let run_as = privileged.then(|| {
            // Root reads through modes: run the commands as nobody instead.
            for path in [
                data_dir.to_path_buf(),
                data_dir.join("replicas"),
                data_dir.join("results"),
                db.to_path_buf(),
            ] {
                std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
            }
            NOBODY
        });
        Unreadable {
            db: db.to_path_buf(),
            run_as,
        }
    }

    fn run(&self, cli: &Cli, args: &[&str]) -> std::process::Output {
        use std::os::unix::process::CommandExt;
        let mut command = cli.command(args);
        if let Some(uid) = self.run_as {
            command.uid(uid).gid(uid);
        }
        command.output().unwrap()
    }
}

impl Drop for Unreadable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.db, std::fs::Permissions::from_mode(0o600));
    }
}

/// Every file name in the data directory (the database is never renamed aside).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A healthy app database that cannot be read (mode 000), then one that can be read but not
/// written (mode 400): `repair` and the other commands say so on one line and exit 2; nothing is set aside and the file is byte for byte
/// what it was; once readable again, the replica and its unsynced add are all there.
#[test]
fn unreadable_healthy_app_database_is_reported_and_left_alone() {
    let cli = Cli::start();
    replica_with_an_unsynced_add(&cli);
    let data_dir = cli.data_dir.path();
    let db = data_dir.join("syncwatch.db");
    // A clean shutdown checkpoints the WAL: the database is this one file.
    let good = std::fs::read(&db).unwrap();
    let names = names_in(data_dir);
    let db_text = db.display().to_string();
    for (mode, reason) in [
        (0o000, "(permission denied)"),
        (0o400, "(permission denied for writing)"),
    ] {
        let unreadable = Unreadable::make(data_dir, &db, mode);
        for args in [
            &["repair"][..],
            &["repair", "--json"],
            &["replicas"],
            &["sync", "crew"],
            &["results", "crew"],
        ] {
            let out = unreadable.run(&cli, args);
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            assert_eq!(out.status.code(), Some(2), "{mode:o} {args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{mode:o} {args:?}: {stderr}");
            for needle in ["cannot read or write the app database", reason, &db_text] {
                assert!(
                    stderr.contains(needle),
                    "{mode:o} {args:?}: {needle:?} not in {stderr}"
                );
            }
            assert!(
                !stderr.contains("damaged"),
                "{mode:o} {args:?}: called damaged: {stderr}"
            );
            assert_eq!(
                names_in(data_dir),
                names,
                "{mode:o} {args:?}: a file was added or moved"
            );
        }
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        good,
        "the database was changed"
    );
    let replicas = cli.json(&["replicas", "--json"], 0);
    assert_eq!(replicas[0]["name"], "crew");
    assert_eq!(
        replicas[0]["pending_changes"], 1,
        "the unsynced add is still there"
    );
    let again = cli.json(&["repair", "--json"], 0);
    assert_eq!(
        again["repaired"], false,
        "a readable healthy database is left alone"
    );
}
