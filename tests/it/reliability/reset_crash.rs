//! A client reset killed at each of its steps: the real `syncwatch reset` process is ended on the
//! spot by the test-only crash points (`SYNCWATCH_TEST_CRASH_AT`, see `engine::CRASH_AT_ENV`).
//! After each crash the old replica file (or, after the switch, the fresh one) still holds every
//! local change and the backup re-reads; running the reset again — `syncwatch reset`, an engine
//! restart, or a plain `syncwatch sync` after the switch — finishes it, reusing the backup, with
//! every change on the server once, no orphan replica on the server and no leftover file.

use crate::support::cli::Cli;
use crate::support::demo_data::{HYD_1, HYD_2};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use syncwatch::engine::reset::ChangesExport;
use syncwatch::engine::{self, Command, EngineConfig, Event};
use syncwatch::engine::{CRASH_AT_ENV, CRASH_EXIT_CODE};
use syncwatch::geodatabase::replica_file::{LocalChange, ReplicaFile};
use syncwatch::protocol::{CreateReplicaParams, DataFormat, Feature, Guid};
use syncwatch::service::{ClientConfig, FeatureServiceClient};
use syncwatch::store::{ReplicaRecord, ResetJournal, ResetPhase, Store};

const NAME: &str = "field7";

/// A replica with three local edits (update, add, delete) that the server forgot (terminate and
/// re-enable sync); `sync` has marked it as needing a reset. Returns its queued changes.
fn replica_needing_reset() -> (Cli, Vec<LocalChange>) {
    let cli = Cli::start();
    let service = cli.server.service_url();
    let create = [
        "create",
        "--service",
        &service,
        "--name",
        NAME,
        "--layers",
        "0",
        "--json",
    ];
    cli.json(&create, 0);
    let edits: [&[&str]; 3] = [
        &["--update", HYD_1, r#"{"Notes":"hinge squeaks"}"#],
        &["--add", r#"{"FacilityID":"HYD-CRASH-1","Status":"IS"}"#],
        &["--delete", HYD_2],
    ];
    for edit in edits {
        let mut args = vec!["edit", NAME, "--layer", "0", "--json"];
        args.extend_from_slice(edit);
        cli.json(&args, 0);
    }
    cli.admin("sync/terminate");
    cli.admin("sync/enable");
    cli.json(&["sync", NAME, "--json"], 3);
    let before = current_file(&cli).changes().unwrap();
    assert_eq!(before.len(), 3);
    (cli, before)
}

/// Runs `syncwatch reset --mode recover --yes` with the crash point set; it must end there.
fn crash_at(cli: &Cli, point: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .arg("--data-dir")
        .arg(cli.data_dir.path())
        .args(["reset", NAME, "--mode", "recover", "--yes", "--json"])
        .env_remove("SYNCWATCH_DATA_DIR")
        .env(CRASH_AT_ENV, point)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(CRASH_EXIT_CODE),
        "the reset did not stop at {point}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn store(cli: &Cli) -> Store {
    Store::open(&cli.data_dir.path().join("syncwatch.db")).unwrap()
}

fn record(cli: &Cli) -> ReplicaRecord {
    store(cli).find_replica(NAME).unwrap().unwrap()
}

fn journal(cli: &Cli) -> Option<ResetJournal> {
    store(cli).reset_journal(record(cli).local_id).unwrap()
}

fn current_file(cli: &Cli) -> ReplicaFile {
    ReplicaFile::open(&record(cli).file_path).unwrap()
}

/// What a crashed reset left: the journal is at `phase`; before the switch the registry still
/// points at the old file with every change and the replica still needs its reset; after it, the
/// fresh file holds the recovered changes. A recorded backup re-reads with every change.
fn assert_nothing_lost(cli: &Cli, before: &[LocalChange], phase: ResetPhase) {
    let journal = journal(cli).expect("the crashed reset left its journal");
    assert_eq!(journal.phase, phase);
    let record = record(cli);
    let now = current_file(cli).changes().unwrap();
    if phase == ResetPhase::Switched {
        assert_eq!(Some(&record.file_path), journal.fresh_path.as_ref());
        assert_eq!(keys(&now), keys(before), "every change was recovered");
    } else {
        assert_eq!(record.file_path, journal.old_path);
        assert_eq!(now, before, "the old replica file is untouched");
        assert!(record.reset_reason.is_some());
    }
    if let Some(dir) = &journal.backup_dir {
        assert_eq!(read_backup(dir), before);
    } else {
        assert!(phase == ResetPhase::BackingUp);
    }
}

fn keys(changes: &[LocalChange]) -> Vec<(i64, Guid, &'static str)> {
    changes
        .iter()
        .map(|c| (c.layer_id, c.global_id.clone(), c.kind.as_str()))
        .collect()
}

/// The backup in `dir`: the replica copy and `unsynced-changes.json` must agree.
fn read_backup(dir: &Path) -> Vec<LocalChange> {
    let copy = ReplicaFile::open(&dir.join("replica.sqlite"))
        .unwrap()
        .changes()
        .unwrap();
    let export: ChangesExport =
        serde_json::from_slice(&std::fs::read(dir.join("unsynced-changes.json")).unwrap()).unwrap();
    assert_eq!(export.changes, copy);
    copy
}

/// `syncwatch reset` again, without the crash point: it finishes and uploads the three changes.
fn reset_again(cli: &Cli) {
    let done = cli.json(&["reset", NAME, "--mode", "recover", "--yes", "--json"], 0);
    assert_eq!(done["reset"]["mode_used"], "recover");
    assert_eq!(done["reset"]["recovered"].as_array().unwrap().len(), 3);
    assert_eq!(done["upload"]["uploaded"], 3, "{done}");
}

/// The GUI's way: an engine that resets on detection starts on the data directory, resumes the
/// interrupted reset by itself and uploads what it recovered.
fn engine_restart_resumes(cli: &Cli) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = EngineConfig::new(cli.data_dir.path());
        assert!(config.reset_on_detection);
        let (engine, events, join) = engine::start_with_channel(config).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut recovered, mut upload_job) = (None, None);
        loop {
            assert!(
                Instant::now() < deadline,
                "the engine did not resume the reset"
            );
            let Ok(event) = events.try_recv() else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            match event {
                Event::AfterRecovery { report } => recovered = Some(report.recovered.len()),
                Event::JobQueued { job, .. } if recovered.is_some() => upload_job = Some(job),
                Event::JobCompleted { job, outcome, .. } if Some(job) == upload_job => {
                    assert_eq!(outcome.uploaded, 3);
                    break;
                }
                Event::ManualResetFallback { error, .. } => panic!("fell back: {error}"),
                _ => {}
            }
        }
        assert_eq!(recovered, Some(3));
        engine.send(Command::Shutdown).await.unwrap();
        join.await.unwrap();
    });
}

/// After the resumed reset: the next sync succeeds; the server holds every change once and only
/// the replica's current server replica; no journal, one backup (reused), no leftover file.
fn assert_finished_cleanly(cli: &Cli, before: &[LocalChange]) {
    let synced = cli.json(&["sync", NAME, "--json"], 0);
    assert_eq!(synced["outcome"]["state"], "Completed");
    assert!(journal(cli).is_none());
    assert!(current_file(cli).changes().unwrap().is_empty());

    let (features, replicas) = server_state(&cli.server.service_url());
    let hyd_1 = Guid::parse(HYD_1).unwrap();
    let updated = features
        .iter()
        .find(|f| f.global_id() == Some(hyd_1.clone()))
        .unwrap();
    assert_eq!(updated.attr_ci("Notes"), Some(&json!("hinge squeaks")));
    let added: Vec<&Feature> = features
        .iter()
        .filter(|f| f.attr_ci("FacilityID") == Some(&json!("HYD-CRASH-1")))
        .collect();
    assert_eq!(added.len(), 1, "the local create is on the server once");
    let add_gid = before.iter().find(|c| c.kind.as_str() == "add").unwrap();
    assert_eq!(added[0].global_id(), Some(add_gid.global_id.clone()));
    let hyd_2 = Guid::parse(HYD_2).unwrap();
    assert!(
        features
            .iter()
            .all(|f| f.global_id() != Some(hyd_2.clone()))
    );
    assert_eq!(
        replicas,
        vec![record(cli).replica_guid.unwrap()],
        "no orphan replica on the server"
    );

    let files: Vec<PathBuf> = std::fs::read_dir(cli.data_dir.path().join("replicas"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files, vec![record(cli).file_path], "no leftover file");
    let backups: Vec<PathBuf> = std::fs::read_dir(cli.data_dir.path().join("recovery"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "the resumed reset reused the backup");
    assert_eq!(read_backup(&backups[0]), before);
    let original = ReplicaFile::open(&backups[0].join("replica-original.replica")).unwrap();
    assert_eq!(original.changes().unwrap(), before);
}

/// Layer 0 as the server holds it (read through a throwaway replica) and the server's replicas.
fn server_state(service_url: &str) -> (Vec<Feature>, Vec<Guid>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = FeatureServiceClient::new(service_url, None, ClientConfig::default()).unwrap();
        let mut params = CreateReplicaParams::new("server-check", vec![0]);
        params.data_format = DataFormat::Json;
        let dir = tempfile::tempdir().unwrap();
        let result = client
            .create_replica(&params, dir.path(), &|_| {})
            .await
            .unwrap();
        let check = result.response.replica_id.clone().unwrap();
        client.unregister_replica(&check).await.unwrap();
        let features = result
            .response
            .layers
            .into_iter()
            .find(|l| l.id == 0)
            .map(|l| l.features)
            .unwrap_or_default();
        let replicas = client
            .replicas()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.replica_id)
            .collect();
        (features, replicas)
    })
}

/// Killed right after it started (journal written, replica marked, no backup yet).
#[test]
fn crash_while_backing_up_then_reset_again() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "backing-up");
    assert_nothing_lost(&cli, &before, ResetPhase::BackingUp);
    reset_again(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed with the backup made and verified.
#[test]
fn crash_after_backup_then_reset_again() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "backed-up");
    assert_nothing_lost(&cli, &before, ResetPhase::BackedUp);
    reset_again(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed just before createReplica is sent.
#[test]
fn crash_while_creating_then_reset_again() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "creating");
    assert_nothing_lost(&cli, &before, ResetPhase::Creating);
    reset_again(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed with the fresh replica created on the server but no file yet: the engine's restart
/// resumes the reset and unregisters that fresh replica.
#[test]
fn crash_after_create_then_engine_restart_resumes() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "created");
    assert_nothing_lost(&cli, &before, ResetPhase::Created);
    let orphan = journal(&cli).unwrap().fresh_guid.unwrap();
    assert!(server_state(&cli.server.service_url()).1.contains(&orphan));
    engine_restart_resumes(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed with the fresh file fully replayed under its temporary name, before the switch.
#[test]
fn crash_after_replay_then_reset_again() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "replayed");
    assert_nothing_lost(&cli, &before, ResetPhase::Created);
    reset_again(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed right after the switch: the engine's restart finishes the clean-up and uploads.
#[test]
fn crash_after_switch_then_engine_restart_resumes() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "switched");
    assert_nothing_lost(&cli, &before, ResetPhase::Switched);
    engine_restart_resumes(&cli);
    assert_finished_cleanly(&cli, &before);
}

/// Killed right after the switch: a plain `syncwatch sync` finishes the clean-up (old file into
/// the backup folder, old server replica unregistered) and uploads the recovered changes.
#[test]
fn crash_after_switch_then_sync_finishes() {
    let (cli, before) = replica_needing_reset();
    crash_at(&cli, "switched");
    assert_nothing_lost(&cli, &before, ResetPhase::Switched);
    let synced = cli.json(&["sync", NAME, "--json"], 0);
    assert_eq!(synced["outcome"]["uploaded"], 3);
    assert_finished_cleanly(&cli, &before);
}
