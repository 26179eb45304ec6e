//! Where tokens live, through the real binary: with the file store chosen, a token given to
//! `create` is in `secrets.json` (0600) and nowhere else (not the app database, the replica
//! files, a reset's backup, stdout or stderr, `--json` output) while the token-secured service is
//! really reached with it; with no keychain and no choice, storing a token fails with one line
//! that says how to choose; tokens an older version kept in the app database are moved out of
//! it, byte for byte, on the next start.

use crate::support::cli::{Cli, files_under, holds};
use crate::support::demo_data::HYD_1;
use std::path::{Path, PathBuf};
use std::process::Output;
use syncwatch::protocol::Guid;
use syncwatch::server::{ServerConfig, ServiceDefinition, UserDef};

const FILE_STORE: (&str, &str) = ("SYNCWATCH_SECRET_STORE", "file");

/// A D-Bus address nothing listens on: no Secret Service, so no keychain, on any Linux machine.
const NO_KEYCHAIN: [(&str, &str); 2] = [
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/syncwatch-test-bus",
    ),
    ("XDG_RUNTIME_DIR", "/nonexistent/syncwatch-test-runtime"),
];

/// The demo service with every request needing a token, and a technician whose token is `token`.
fn secured_service(token: &str) -> Cli {
    let mut definition = ServiceDefinition::demo().unwrap();
    definition.require_token = true;
    definition.users.push(UserDef {
        name: "tech9".into(),
        token: token.into(),
        admin: false,
        password_hash: None,
    });
    Cli::start_with(ServerConfig {
        definition: Some(definition),
        ..ServerConfig::default()
    })
}

/// Runs, checks the exit code, and keeps stdout and stderr for the byte search.
fn run(cli: &Cli, args: &[&str], env: &[(&str, &str)], code: i32, seen: &mut Vec<u8>) -> Output {
    let out = cli.run_with_env(args, env);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    seen.extend_from_slice(&out.stdout);
    seen.extend_from_slice(&out.stderr);
    out
}

/// Asserts that no file of the data folder but the secrets file holds `token`; returns the files
/// searched.
fn assert_only_secrets_file_holds(data_dir: &Path, token: &str) -> Vec<PathBuf> {
    let files = files_under(data_dir);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name == "secrets.json" {
            continue;
        }
        assert!(
            !holds(&std::fs::read(file).unwrap(), token),
            "{} holds the token",
            file.display()
        );
    }
    files
}

fn create_args<'a>(service: &'a str, name: &'a str, token: &'a str) -> Vec<&'a str> {
    vec![
        "create",
        "--service",
        service,
        "--name",
        name,
        "--layers",
        "0",
        "--token",
        token,
        "--json",
    ]
}

/// The file store end to end: create, edit, sync, results, a client reset with its backup, all
/// against a service that refuses requests without the token; the token is only in the 0600
/// secrets file. A later command without the choice still reads the token where it was stored.
#[test]
fn file_store_keeps_the_token_out_of_every_other_file_and_output() {
    let token = format!("tok-{}", Guid::new_v4().bare());
    let cli = secured_service(&token);
    let service = cli.server.service_url();
    let mut seen = Vec::new();
    let env = [FILE_STORE];
    let created = run(
        &cli,
        &create_args(&service, "crew9", &token),
        &env,
        0,
        &mut seen,
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(created["outcome"]["state"], "Completed");
    let update = r#"{"Notes":"gate stiff"}"#;
    let edit = [
        "edit", "crew9", "--layer", "0", "--update", HYD_1, update, "--json",
    ];
    run(&cli, &edit, &env, 0, &mut seen);
    run(&cli, &["sync", "crew9", "--json"], &env, 0, &mut seen);
    run(&cli, &["sync", "crew9"], &[], 0, &mut seen);
    run(&cli, &["results", "crew9", "--json"], &env, 0, &mut seen);
    run(&cli, &["results", "crew9"], &env, 0, &mut seen);
    run(&cli, &["replicas", "--json"], &env, 0, &mut seen);
    run(&cli, &["replicas"], &env, 0, &mut seen);

    // A change the service does not hold yet (a recovered change it already holds is not sent).
    let update_again = r#"{"Notes":"gate stiff, greased"}"#;
    let edit_again = [
        "edit",
        "crew9",
        "--layer",
        "0",
        "--update",
        HYD_1,
        update_again,
        "--json",
    ];
    run(&cli, &edit_again, &env, 0, &mut seen);
    cli.admin("sync/terminate");
    cli.admin("sync/enable");
    run(&cli, &["sync", "crew9", "--json"], &env, 3, &mut seen);
    let reset = ["reset", "crew9", "--mode", "recover", "--yes", "--json"];
    let done = run(&cli, &reset, &env, 0, &mut seen);
    let done: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(
        done["upload"]["uploaded"], 1,
        "the reset really reached the service"
    );
    run(&cli, &["sync", "crew9", "--json"], &env, 0, &mut seen);

    assert!(!holds(&seen, &token), "a command printed the token");
    let files = assert_only_secrets_file_holds(cli.data_dir.path(), &token);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("recovery")),
        "the reset's backup was searched: {files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("syncwatch.db")));
    let secrets = cli.data_dir.path().join("secrets.json");
    assert!(holds(&std::fs::read(&secrets).unwrap(), &token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secrets file is user-only");
    }

    // The token is read from the store: a damaged store is a one-line failure, not a silent
    // anonymous request, and the damaged file is left as it was.
    std::fs::write(&secrets, b"{ damaged").unwrap();
    let failed = run(&cli, &["sync", "crew9"], &env, 2, &mut Vec::new());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("secrets file is damaged"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&secrets).unwrap(), b"{ damaged");
}

/// No keychain and no choice: `create --token` fails with one line naming
/// SYNCWATCH_SECRET_STORE=file, nothing is registered, and the token is written nowhere.
#[cfg(target_os = "linux")]
#[test]
fn no_keychain_and_no_choice_fails_with_the_way_out() {
    let token = format!("tok-{}", Guid::new_v4().bare());
    let cli = secured_service(&token);
    let service = cli.server.service_url();
    let out = cli.run_with_env(&create_args(&service, "crew9", &token), &NO_KEYCHAIN);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no OS keychain is available"), "{stderr}");
    assert!(stderr.contains("SYNCWATCH_SECRET_STORE=file"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!holds(&out.stdout, &token) && !stderr.contains(&token));
    let listed = cli.json(&["replicas", "--json"], 0);
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "nothing was registered"
    );
    assert_only_secrets_file_holds(cli.data_dir.path(), &token);
    assert!(!cli.data_dir.path().join("secrets.json").exists());
}

/// Turns the data folder's app database back into the format of older versions (schema 2, the
/// token in plain text in `replicas.token`, no secret store) for the replica `name`.
fn make_old_format(data_dir: &Path, name: &str, token: &str) {
    let conn = rusqlite::Connection::open(data_dir.join("syncwatch.db")).unwrap();
    conn.execute_batch(
        "DROP TABLE accounts; DROP TABLE replica_tokens; DROP TABLE create_attempts;
         DROP TABLE reset_backups; PRAGMA user_version = 2;",
    )
    .unwrap();
    conn.execute(
        "UPDATE replicas SET token = ?1 WHERE name = ?2",
        [token, name],
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(data_dir.join("secrets.json")).unwrap();
}

/// An app database in the old format: with no keychain and no choice the token stays (and syncs
/// still work, with a line in the event log saying why); with the file store chosen it moves to
/// `secrets.json` and no byte of it is left in the database or its WAL; syncs use it.
#[cfg(target_os = "linux")]
#[test]
fn plain_text_tokens_of_an_old_database_move_to_the_secret_store() {
    let token = format!("tok-{}", Guid::new_v4().bare());
    let cli = secured_service(&token);
    let service = cli.server.service_url();
    let mut seen = Vec::new();
    run(
        &cli,
        &create_args(&service, "old1", &token),
        &[FILE_STORE],
        0,
        &mut seen,
    );
    make_old_format(cli.data_dir.path(), "old1", &token);
    let db = cli.data_dir.path().join("syncwatch.db");
    assert!(
        holds(&std::fs::read(&db).unwrap(), &token),
        "the old format holds it"
    );

    run(
        &cli,
        &["sync", "old1", "--json"],
        &NO_KEYCHAIN,
        0,
        &mut seen,
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (stayed, warned): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM replicas WHERE token IS NOT NULL),
                    (SELECT count(*) FROM event_log WHERE message LIKE '%SYNCWATCH_SECRET_STORE=file%')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    assert_eq!((stayed, warned > 0), (1, true), "kept, and said so");

    run(&cli, &["replicas", "--json"], &[FILE_STORE], 0, &mut seen);
    assert_only_secrets_file_holds(cli.data_dir.path(), &token);
    let secrets = std::fs::read(cli.data_dir.path().join("secrets.json")).unwrap();
    assert!(holds(&secrets, &token), "moved into the file store");
    run(&cli, &["sync", "old1", "--json"], &[], 0, &mut seen);
    assert!(!holds(&seen, &token), "a command printed the token");
    assert_only_secrets_file_holds(cli.data_dir.path(), &token);
}
