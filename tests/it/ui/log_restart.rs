//! The sync error log survives a restart (issue 23): the window on the real engine and the
//! reference service collects real log lines (a refused edit, a command that failed, the service
//! going away), every one of them stored in `syncwatch.db` as shown; after a restart on the same
//! data directory the window shows exactly the stored log, before anything new happens, and
//! `syncwatch log` prints the same lines.

use crate::support::ui::stack::{stack_in, wait_until};
use egui_kittest::kittest::Queryable as _;
use syncwatch::engine::{Command, CreateRequest, LocalEdit, LocalReplicaId, LogEntry};
use syncwatch::protocol::SyncModel;
use syncwatch::store::Store;

fn stored_log(root: &std::path::Path) -> Vec<LogEntry> {
    Store::open(&root.join("app").join("syncwatch.db"))
        .expect("open the app database")
        .stored_log()
        .expect("read the log")
}

fn has_line(log: &[LogEntry], needle: &str) -> bool {
    log.iter().any(|e| e.message.contains(needle))
}

#[test]
fn the_log_after_a_restart_is_the_stored_log() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut s = stack_in(root.path());
    let service_url = s.server.as_ref().expect("server").service_url();
    s.handle
        .try_send(Command::CreateReplica(CreateRequest {
            service_url,
            token: None,
            name: "Hydrants log".into(),
            layers: vec![0],
            sync_model: SyncModel::PerReplica,
            is_async: false,
            scope: Default::default(),
        }))
        .expect("queue create");
    wait_until(&mut s.h, "the replica", |a| {
        a.vm.replicas
            .first()
            .is_some_and(|r| !r.syncing && r.server_gen.is_some())
    });
    let replica = s.h.state().vm.replicas[0].id;

    // A hydrant without its non-nullable FacilityID: the service refuses it (1001), and the
    // sync logs the refusal.
    let mut attributes = syncwatch::protocol::Attributes::new();
    attributes.insert("FacilityID".into(), serde_json::Value::Null);
    attributes.insert("Status".into(), serde_json::json!("IS"));
    let add = LocalEdit::Add {
        attributes,
        geometry: Some(serde_json::json!({"x": -122.64, "y": 45.52})),
    };
    s.runtime
        .block_on(s.handle.edit_feature(replica, 0, add))
        .expect("record the edit");
    s.handle
        .try_send(Command::SyncNow {
            replica,
            options: Default::default(),
        })
        .expect("queue sync");
    wait_until(&mut s.h, "the refusal in the log", |a| {
        a.vm.log.iter().any(|e| e.code == Some(1001))
    });
    // A command the engine cannot carry out: the replica does not exist.
    s.handle
        .try_send(Command::CancelReset {
            replica: LocalReplicaId(9_999),
        })
        .expect("queue cancel");
    wait_until(&mut s.h, "the failed command in the log", |a| {
        has_line(&a.vm.log, "cancel client reset failed")
    });
    // The service goes away: the sync fails and the outage is logged.
    let server = s.server.take().expect("server");
    s.runtime.block_on(server.shutdown());
    s.handle
        .try_send(Command::SyncNow {
            replica,
            options: Default::default(),
        })
        .expect("queue sync");
    wait_until(&mut s.h, "the outage in the log", |a| {
        has_line(&a.vm.log, "The service is not answering")
            && a.vm.replica(replica).is_some_and(|r| !r.syncing)
    });
    s.h.run_steps(5);
    let shown = s.h.state().vm.log.clone();
    assert!(shown.len() >= 4, "{shown:#?}");
    assert_eq!(
        shown,
        stored_log(root.path()),
        "the window shows what was stored"
    );
    drop(s);

    // The same laptop, restarted.
    let mut s = stack_in(root.path());
    wait_until(&mut s.h, "the stored log", |a| !a.vm.log.is_empty());
    s.h.run_steps(5);
    assert_eq!(s.h.state().vm.log, shown, "the log shown after a restart");
    assert_eq!(s.h.state().vm.log, stored_log(root.path()));
    // And the panel shows all of it.
    s.h.state_mut().persisted.show_log = true;
    s.h.run_steps(3);
    let n = shown.len();
    s.h.get_by_label(&format!("{n} of {n} entries"));
    s.h.get_by_label_contains("The service is not answering");
    drop(s);

    // `syncwatch log` reads the same stored log.
    let log_cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .arg("--data-dir")
            .arg(root.path().join("app"))
            .env_remove("SYNCWATCH_DATA_DIR")
            .arg("log")
            .args(args)
            .output()
            .expect("run syncwatch log");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = log_cli(&["--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let listed: Vec<LogEntry> = serde_json::from_str(&stdout).expect("JSON lines");
    assert_eq!(listed, shown);
    let (code, stdout, _) = log_cli(&["--json", "--replica", "Hydrants log", "--since", "1h"]);
    assert_eq!(code, Some(0));
    let listed: Vec<LogEntry> = serde_json::from_str(&stdout).expect("JSON lines");
    let expected: Vec<LogEntry> = shown
        .iter()
        .filter(|e| e.replica == Some(replica))
        .cloned()
        .collect();
    assert!(!expected.is_empty() && expected.len() < shown.len());
    assert_eq!(listed, expected);
    let (code, stdout, _) = log_cli(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.lines().count(), shown.len(), "{stdout}");
    assert!(
        stdout.contains("Hydrants log 1001: 1 edit(s) refused by the server"),
        "{stdout}"
    );
    let (code, _, stderr) = log_cli(&["--since", "yesterday"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not a duration"), "{stderr}");
}
