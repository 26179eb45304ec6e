//! `syncwatch check`, `syncwatch settings --predicted` and the predictions `syncwatch sync`
//! reports, as the real binary against the in-process reference feature service.

use crate::support::cli::Cli;
use crate::support::demo_data::{HYD_1, HYD_2};
use syncwatch::protocol::catalog;

/// A queued edit that breaks a rule is listed by `check` (exit 1) with the server's text; with
/// the policy set to hold, `sync` reports it before uploading, sends only the other edit and
/// keeps it queued; once fixed, `check` finds nothing (exit 0).
#[test]
fn check_lists_predictions_and_hold_keeps_them_back() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    cli.json(
        &[
            "create",
            "--service",
            &service,
            "--name",
            "crew-3",
            "--layers",
            "0",
            "--json",
        ],
        0,
    );
    cli.json(&["check", "crew-3", "--json"], 0);
    let null_status = r#"{"Status":null}"#;
    cli.json(
        &[
            "edit",
            "crew-3",
            "--layer",
            "0",
            "--update",
            HYD_1,
            null_status,
            "--json",
        ],
        0,
    );
    cli.json(
        &[
            "edit",
            "crew-3",
            "--layer",
            "0",
            "--update",
            HYD_2,
            r#"{"Notes":"ok"}"#,
            "--json",
        ],
        0,
    );

    let checked = cli.json(&["check", "crew-3", "--json"], 1);
    let predicted = checked["predicted"].as_array().unwrap();
    assert_eq!(predicted.len(), 1);
    assert_eq!(predicted[0]["global_id"], HYD_1);
    assert_eq!(predicted[0]["predicted"], true);
    assert_eq!(predicted[0]["code"], 1001);
    assert_eq!(
        predicted[0]["description"],
        catalog::describe(1001, "Status")
    );
    assert_eq!(checked["policy"], "send");
    let text = cli.run(&["check", "crew-3"]);
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("predicted 1001 layer 0 (Hydrants) update"),
        "{text}"
    );
    assert!(text.contains("to address:"), "{text}");

    let settings = cli.json(&["settings", "crew-3", "--predicted", "hold", "--json"], 0);
    assert_eq!(settings["predicted"], "hold");
    let bad = cli.run(&["settings", "crew-3", "--predicted", "sometimes"]);
    assert_eq!(bad.status.code(), Some(2));

    let synced = cli.json(&["sync", "crew-3", "--json"], 0);
    assert_eq!(synced["outcome"]["uploaded"], 1);
    assert_eq!(synced["predicted"]["held"], 1);
    assert_eq!(synced["predicted"]["policy"], "hold");
    assert_eq!(synced["predicted"]["rows"][0]["code"], 1001);
    let out = cli.run(&["sync", "crew-3"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 queued edit(s) predicted to be refused (policy: hold back until fixed)"),
        "{text}"
    );
    assert!(text.contains("1 held back locally"), "{text}");
    cli.json(&["check", "crew-3", "--json"], 1);

    cli.json(
        &[
            "edit",
            "crew-3",
            "--layer",
            "0",
            "--update",
            HYD_1,
            r#"{"Status":"OOS"}"#,
            "--json",
        ],
        0,
    );
    cli.json(&["check", "crew-3", "--json"], 0);
    let synced = cli.json(&["sync", "crew-3", "--json"], 0);
    assert_eq!(synced["outcome"]["uploaded"], 1);
    assert!(synced["predicted"].is_null());
}
