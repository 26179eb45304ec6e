//! `syncwatch login`, `logout` and `accounts` through the real binary against the reference
//! service over HTTPS on 127.0.0.1 (its certificate trusted with `--ca-cert`), with the file secret store chosen by `--secret-store file`: a login
//! with `--password-stdin` at a standalone server and through the portal, after which `create`
//! and `sync` need no token; refused logins (wrong password, unknown user, locked out) are one
//! line and exit code 4; a token that ends between two syncs is renewed with the remembered
//! password; one that ends with nothing to renew it makes `sync` exit 4 until the next `login`;
//! `accounts --json` lists the account with no secret; and no secret is in any file of the data
//! folder but `secrets.json`, nor in any output.

use crate::support::cli::{Cli, files_under, holds};
use crate::support::https::with_tls;
use crate::support::server::{TECH1_PASSWORD, TECH2_PASSWORD, secured_demo};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use syncwatch::server::{AuthSettings, ServerConfig};

fn secured(federated: bool, auth: AuthSettings) -> Cli {
    let mut definition = secured_demo();
    definition.federated = federated;
    let cli = Cli::start_with(with_tls(ServerConfig {
        definition: Some(definition),
        auth,
        ..ServerConfig::default()
    }));
    assert!(cli.server.base_url().starts_with("https://"));
    cli
}

/// Everything the binary printed in a test, searched for secrets at the end.
#[derive(Default)]
struct Seen(Vec<u8>);

impl Seen {
    fn run(&mut self, cli: &Cli, args: &[&str], stdin: Option<&str>, code: i32) -> Output {
        let out = cli.run_with_input(args, &[], stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.0.extend_from_slice(&out.stdout);
        self.0.extend_from_slice(&out.stderr);
        out
    }

    fn login(&mut self, cli: &Cli, extra: &[&str], password: &str, code: i32) -> String {
        let url = cli.server.service_url();
        let mut args = vec![
            "login",
            url.as_str(),
            "--password-stdin",
            "--secret-store",
            "file",
        ];
        args.extend_from_slice(extra);
        let out = self.run(cli, &args, Some(&format!("{password}\n")), code);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// Every secret value in `secrets.json` (tokens, refresh tokens, passwords).
fn secret_values(data_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(data_dir.join("secrets.json")).unwrap();
    let mut values = Vec::new();
    collect_strings(&serde_json::from_str(&text).unwrap(), &mut values);
    values.retain(|v| v.len() >= 8 && !v.starts_with("http"));
    values
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// No file of the data folder but `secrets.json`, and nothing printed, holds a secret.
fn assert_secrets_only_in_the_secrets_file(cli: &Cli, seen: &Seen, extra: &[&str]) {
    let dir = cli.data_dir.path();
    let mut secrets = secret_values(dir);
    secrets.extend(extra.iter().map(|s| s.to_string()));
    assert!(secrets.len() > extra.len(), "secrets.json holds the tokens");
    for file in files_under(dir) {
        if file.file_name().is_some_and(|n| n == "secrets.json") {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        for secret in &secrets {
            assert!(!holds(&bytes, secret), "{} holds a secret", file.display());
        }
    }
    for secret in &secrets {
        assert!(!holds(&seen.0, secret), "a secret was printed");
    }
}

fn account_list(cli: &Cli, seen: &mut Seen) -> Value {
    let out = seen.run(cli, &["accounts", "--json"], None, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Standalone and federated: `login` with the password on stdin, then `create` and `sync` with
/// no token; `accounts --json` names the user, the root and the file store and no secret;
/// `logout` forgets the account and `sync` then exits 4.
#[test]
fn login_then_create_and_sync_without_a_token() {
    for federated in [false, true] {
        let cli = secured(federated, AuthSettings::default());
        let mut seen = Seen::default();
        seen.login(&cli, &["--username", "tech1"], TECH1_PASSWORD, 0);
        let url = cli.server.service_url();
        seen.run(
            &cli,
            &["create", "--service", &url, "--name", "a", "--layers", "0"],
            None,
            0,
        );
        let out = seen.run(&cli, &["sync", "a", "--json"], None, 0);
        let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(reply["outcome"]["state"], "Completed");
        let listed = account_list(&cli, &mut seen);
        let accounts = listed["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), 1, "{listed}");
        assert_eq!(accounts[0]["key"]["username"], "tech1");
        let root = accounts[0]["key"]["root_url"].as_str().unwrap().to_string();
        let expected_root = if federated {
            cli.server.base_url().to_string()
        } else {
            format!("{}/arcgis", cli.server.base_url())
        };
        assert_eq!(root, expected_root);
        assert_eq!(accounts[0]["store"], "file");
        let replicas = seen.run(&cli, &["replicas", "--json"], None, 0);
        let replicas: Value = serde_json::from_slice(&replicas.stdout).unwrap();
        assert_eq!(
            replicas[0]["signed_in_as"]["username"], "tech1",
            "{replicas}"
        );
        assert_secrets_only_in_the_secrets_file(&cli, &seen, &[TECH1_PASSWORD]);

        seen.run(&cli, &["logout", &root], None, 0);
        assert_eq!(
            account_list(&cli, &mut seen)["accounts"],
            Value::Array(vec![])
        );
        let out = seen.run(&cli, &["sync", "a"], None, 4);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("sign-in needed"), "{err}");
    }
}

/// A wrong password, an unknown user and a locked-out user: one line on stderr, exit code 4,
/// and no account kept.
#[test]
fn refused_logins_are_one_line_and_exit_code_4() {
    let cli = secured(false, AuthSettings::default());
    let mut seen = Seen::default();
    for user in ["tech2", "nobody"] {
        let err = seen.login(&cli, &["--username", user], "not-the-password", 4);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("Invalid username or password."), "{err}");
    }
    for _ in 0..5 {
        seen.login(&cli, &["--username", "tech2"], "wrong-again", 4);
    }
    let err = seen.login(&cli, &["--username", "tech2"], TECH2_PASSWORD, 4);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Too many failed sign-in attempts"), "{err}");
    assert_eq!(
        account_list(&cli, &mut seen)["accounts"],
        Value::Array(vec![])
    );
    assert!(!holds(&seen.0, "not-the-password") && !holds(&seen.0, TECH2_PASSWORD));
}

/// Tokens that last two seconds: with `--remember` a sync after the token ended renews it with
/// the kept password (each command is a new process: the session is restored from the store);
/// without it, `sync` exits 4 with one line until `login` again, and the sync then completes.
#[test]
fn a_token_that_ends_between_two_syncs() {
    let cli = secured(
        false,
        AuthSettings::default().with_token_lifetime(Duration::from_secs(2)),
    );
    let mut seen = Seen::default();
    let url = cli.server.service_url();
    seen.login(
        &cli,
        &["--username", "tech1", "--remember"],
        TECH1_PASSWORD,
        0,
    );
    seen.run(
        &cli,
        &[
            "create",
            "--service",
            &url,
            "--name",
            "kept",
            "--layers",
            "0",
        ],
        None,
        0,
    );
    let listed = account_list(&cli, &mut seen);
    assert_eq!(
        listed["accounts"][0]["held"],
        serde_json::json!(["access-token", "password"]),
        "{listed}"
    );
    let before = listed["accounts"][0]["access_expires_ms"].clone();
    std::thread::sleep(Duration::from_millis(2_100));
    seen.run(&cli, &["sync", "kept"], None, 0);
    let after = account_list(&cli, &mut seen)["accounts"][0]["access_expires_ms"].clone();
    assert!(
        after.as_i64() > before.as_i64(),
        "renewed and kept: {before} {after}"
    );
    assert_secrets_only_in_the_secrets_file(&cli, &seen, &[]);

    // Without --remember: nothing renews the token once it ends.
    seen.login(&cli, &["--username", "tech1"], TECH1_PASSWORD, 0);
    std::thread::sleep(Duration::from_millis(2_100));
    let out = seen.run(&cli, &["sync", "kept"], None, 4);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("sign-in needed") && err.contains("syncwatch login"),
        "{err}"
    );
    let listed = seen.run(&cli, &["replicas", "--json"], None, 0);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(listed[0]["sign_in_needed"].is_string(), "{listed}");
    assert_eq!(listed[0]["last_error"], Value::Null, "not a failed sync");
    seen.login(
        &cli,
        &["--username", "tech1", "--remember"],
        TECH1_PASSWORD,
        0,
    );
    seen.run(&cli, &["sync", "kept"], None, 0);
    assert_secrets_only_in_the_secrets_file(&cli, &seen, &[TECH1_PASSWORD]);
}
