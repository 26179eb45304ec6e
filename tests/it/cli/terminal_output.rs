//! What the real binary writes to a terminal or a pipe: text from the network and from files
//! never carries raw control characters (a hostile service's error message with ESC, OSC, BEL
//! and CR comes out escaped, on stderr, in `replicas` and in `--json`), and a reader that closes
//! the pipe early (`syncwatch replicas | head`) ends the command quietly.

use crate::support::cli::Cli;
use serde_json::json;
use std::io::Read;
use std::process::Stdio;

/// A service error message that would retitle the terminal (OSC 0), clear it (CSI 2J), turn the
/// text red, overwrite the line with CR, ring the bell, and flip the line with an RTL override.
const HOSTILE: &str =
    "Edits refused\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m\rsync OK\u{9b}0m\u{202e}kcab";

/// The characters that must never reach the terminal raw.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn create_crew(cli: &Cli) {
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
}

/// The service answers the sync with an error envelope whose message is hostile: `sync` fails on
/// one line with the message escaped (`\u{1b}`), and the stored last error shows escaped in
/// `replicas` and as plain JSON text (the same characters, escaped) in `replicas --json`.
#[test]
fn control_characters_from_the_service_are_escaped() {
    let cli = Cli::start();
    create_crew(&cli);
    cli.admin_json(
        reqwest::Method::POST,
        "faults",
        Some(json!({
            "operation": "synchronizeReplica",
            "kind": "errorEnvelope",
            "code": 400,
            "message": HOSTILE,
            "count": 10,
        })),
    );
    let out = cli.run(&["sync", "crew"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert_eq!(raw_controls(&stderr), Vec::<char>::new(), "{stderr:?}");
    assert!(
        stderr.contains(r"Edits refused\u{1b}]0;pwned\u{7}\u{1b}[2J"),
        "{stderr:?}"
    );
    assert!(
        stderr.contains(r"\rsync OK\u{9b}0m\u{202e}kcab"),
        "{stderr:?}"
    );

    let out = cli.run(&["replicas"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.contains(r"last error:") && stdout.contains(r"\u{1b}]0;pwned"),
        "{stdout}"
    );
    assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{stdout:?}");

    let out = cli.run(&["replicas", "--json"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{stdout:?}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let last_error = listed[0]["last_error"].as_str().unwrap();
    assert!(
        last_error.contains(HOSTILE),
        "JSON keeps the text itself: {last_error:?}"
    );
}

/// `replicas`, `replicas --json` and `codes` write into a pipe whose reader closes at once, or
/// after a few bytes: each ends with exit 0 and nothing on stderr (no panic, no error line).
#[test]
fn a_reader_that_closes_early_ends_the_output_quietly() {
    let cli = Cli::start();
    create_crew(&cli);
    for args in [&["replicas"][..], &["replicas", "--json"], &["codes"]] {
        for read_first in [0usize, 16] {
            let mut child = cli
                .command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = child.stdout.take().unwrap();
            if read_first > 0 {
                let mut head = vec![0; read_first];
                stdout.read_exact(&mut head).unwrap();
            }
            drop(stdout);
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} after {read_first} bytes: {stderr}"
            );
            assert!(
                stderr.is_empty(),
                "{args:?} after {read_first} bytes: {stderr}"
            );
        }
    }
}
