//! `syncwatch reset` run as the real binary against the in-process reference service.

use crate::support::cli::Cli;
use crate::support::demo_data::HYD_1;

/// After terminate + re-enable, `sync` exits 3; `reset --mode manual` without `--yes` prints the
/// plan, exits 3 and changes nothing; `reset --mode recover --yes` recovers the local edit and
/// uploads it; the next `sync` succeeds.
#[test]
fn reset_plans_then_recovers_and_uploads() {
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
    cli.json(
        &[
            "edit",
            "field7",
            "--layer",
            "0",
            "--update",
            HYD_1,
            r#"{"Notes":"hinge squeaks"}"#,
            "--json",
        ],
        0,
    );
    cli.admin("sync/terminate");
    cli.admin("sync/enable");
    cli.json(&["sync", "field7", "--json"], 3);

    let plan = cli.json(&["reset", "field7", "--mode", "manual", "--json"], 3);
    assert_eq!(plan["state"], "AwaitingConfirmation");
    assert_eq!(plan["plan"]["changes"][0]["updates"], 1);
    cli.json(&["sync", "field7", "--json"], 3);

    let done = cli.json(
        &["reset", "field7", "--mode", "recover", "--yes", "--json"],
        0,
    );
    assert_eq!(done["reset"]["mode_used"], "recover");
    assert_eq!(done["reset"]["recovered"].as_array().unwrap().len(), 1);
    assert_eq!(done["upload"]["uploaded"], 1);
    let backup = done["reset"]["backup_files"][0].as_str().unwrap();
    assert!(std::path::Path::new(backup).exists());

    let synced = cli.json(&["sync", "field7", "--json"], 0);
    assert_eq!(synced["outcome"]["state"], "Completed");
}
