//! The fault matrix: every protocol step the engine takes (service properties, createReplica sync
//! and async, synchronizeReplica sync and async, status polling, result download,
//! unRegisterReplica) × every fault (connection refused, connection dropped mid-response, timeout,
//! HTTP 500, HTTP 503, an HTML page with status 200, malformed JSON, truncated JSON, and an
//! expired result where that applies), each once (the retry must succeed) and persistently (the
//! job must fail with a clear one-line error). The engine drives a real reference service over
//! loopback; faults come from its admin API, a refused connection from a relay that stops
//! listening. After every cell: each local change is present exactly once (queued or
//! acknowledged), the service holds each uploaded edit at most once (by GlobalID and by a unique
//! marker value), no replica is left orphaned on the service, and a clean retry converges.
//!
//! One test per step; each runs its cells in order and reports every failing cell by name.

use crate::support::client_config::{Tuned as _, fast};
use crate::support::engine::{HYD_1, Harness, LocalCount, local_count};
use crate::support::proxy::{Outage, Proxy};
use serde_json::{Value, json};
use std::time::Duration;
use syncwatch::engine::{Command, Failure, FailureClass, JobOutcome, LocalReplicaId};
use syncwatch::protocol::Guid;
use syncwatch::server::ServerConfig;
use syncwatch::service::ClientConfig;

/// The client gives up on a request after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(2000);
/// A `timeout` fault holds the reply back this long (past [`REQUEST_TIMEOUT`]).
const TIMEOUT_HOLD_MS: u64 = 3000;
/// A refused-connection outage that should be ridden out lasts this long; the client's retries
/// span at least 350 ms.
const SHORT_OUTAGE: Duration = Duration::from_millis(100);
/// "Persistent": more uses than any job makes.
const PERSISTENT_COUNT: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ServiceProperties,
    CreateReplica,
    CreateReplicaAsync,
    SyncReplica,
    SyncReplicaAsync,
    StatusPolling,
    ResultDownload,
    UnregisterReplica,
}

impl Step {
    /// The operation as fault rules (and the relay) name it.
    fn operation(self) -> &'static str {
        match self {
            Step::ServiceProperties => "service",
            Step::CreateReplica | Step::CreateReplicaAsync => "createReplica",
            Step::SyncReplica | Step::SyncReplicaAsync => "synchronizeReplica",
            Step::StatusPolling => "jobs",
            Step::ResultDownload => "result",
            Step::UnregisterReplica => "unRegisterReplica",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    ConnectionRefused,
    ConnectionDropped,
    Timeout,
    Http500,
    Http503,
    HtmlWithStatus200,
    MalformedJson,
    TruncatedJson,
    ResultExpired,
}

const FAULTS: [Fault; 9] = [
    Fault::ConnectionRefused,
    Fault::ConnectionDropped,
    Fault::Timeout,
    Fault::Http500,
    Fault::Http503,
    Fault::HtmlWithStatus200,
    Fault::MalformedJson,
    Fault::TruncatedJson,
    Fault::ResultExpired,
];

impl Fault {
    fn applies_to(self, step: Step) -> bool {
        self != Fault::ResultExpired || step == Step::ResultDownload
    }

    /// The admin fault rule (every fault but a refused connection, which the relay makes).
    fn rule(self, operation: &str, count: u32) -> Option<Value> {
        let kind = match self {
            Fault::ConnectionRefused => return None,
            Fault::ConnectionDropped => json!({"kind": "dropConnection", "afterBytes": 16}),
            Fault::Timeout => json!({"kind": "timeout", "delayMs": TIMEOUT_HOLD_MS}),
            Fault::Http500 => json!({"kind": "http500"}),
            Fault::Http503 => json!({"kind": "http503"}),
            Fault::HtmlWithStatus200 => json!({"kind": "htmlPage"}),
            Fault::MalformedJson => json!({"kind": "malformedJson"}),
            Fault::TruncatedJson => json!({"kind": "truncatedJson"}),
            Fault::ResultExpired => json!({"kind": "resultExpired"}),
        };
        let mut rule = kind;
        rule["operation"] = json!(operation);
        rule["count"] = json!(count);
        Some(rule)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persistence {
    /// The fault hits the first request of the step only: the retry must succeed.
    Once,
    /// Every request of the step fails: the job must fail with a clear error.
    Persistent,
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    step: Step,
    fault: Fault,
    persistence: Persistence,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} × {:?} ({:?})",
            self.step, self.fault, self.persistence
        )
    }
}

fn cells(step: Step) -> Vec<Cell> {
    let mut out = Vec::new();
    for fault in FAULTS.into_iter().filter(|f| f.applies_to(step)) {
        for persistence in [Persistence::Once, Persistence::Persistent] {
            out.push(Cell {
                step,
                fault,
                persistence,
            });
        }
    }
    out
}

fn matrix_client() -> ClientConfig {
    fast()
        .request_timeout(REQUEST_TIMEOUT)
        // Downloads have no whole-request limit: a reply held back stalls past the idle one.
        .idle_timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(1))
        .attempts(4)
        .backoff_ms(100, 400)
        .poll_ms(15)
        .max_outage(Duration::from_secs(1))
}

/// The service behind a relay; replicas are created through the relay. Results are asked as
/// JSON, what ArcGIS sends: the reference service's SQLite deltas are resumed byte by byte
/// under a persistent `dropConnection` (every try moves the download on, so it never counts as
/// failing), and their own faults are in `engine::sqlite_results`.
struct Rig {
    h: Harness,
    proxy: Proxy,
}

async fn rig() -> Rig {
    let mut h = Harness::start_with(
        ServerConfig {
            job_step_delay: Duration::from_millis(20),
            ..ServerConfig::default()
        },
        matrix_client(),
        |c| c.download_format = syncwatch::engine::DownloadFormat::Json,
    )
    .await;
    let proxy = Proxy::start(h.server.local_addr()).await;
    h.service_url = format!(
        "http://{}/arcgis/rest/services/{}/FeatureServer",
        proxy.addr(),
        h.server.service_name()
    );
    Rig { h, proxy }
}

/// Collects what went wrong in one cell.
#[derive(Default)]
struct Verdict {
    problems: Vec<String>,
}

impl Verdict {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(what());
        }
    }
}

impl Rig {
    async fn install(&self, cell: Cell) {
        let count = match cell.persistence {
            Persistence::Once => 1,
            Persistence::Persistent => PERSISTENT_COUNT,
        };
        match cell.fault.rule(cell.step.operation(), count) {
            Some(rule) => self.h.add_fault(rule).await,
            None => self.proxy.go_down_on(
                cell.step.operation(),
                match cell.persistence {
                    Persistence::Once => Outage::For(SHORT_OUTAGE),
                    Persistence::Persistent => Outage::UntilReopened,
                },
            ),
        }
    }

    /// Checks the fault was really hit, then removes what is left of it.
    async fn uninstall(&self, cell: Cell, outages_before: usize, v: &mut Verdict) {
        if cell.fault == Fault::ConnectionRefused {
            v.check(self.proxy.outages() == outages_before + 1, || {
                "the connection was never refused (the step did not run?)".into()
            });
        } else {
            let left = self.h.faults_left().await;
            let used = match left.first() {
                None => true,
                Some(rule) => rule["count"].as_u64().unwrap_or(0) < u64::from(PERSISTENT_COUNT),
            };
            v.check(used, || format!("the fault was never hit: {left:?}"));
        }
        self.h.clear_faults().await;
        self.proxy.reopen();
    }

    fn check_end(&self, cell: Cell, end: &Result<JobOutcome, Failure>, v: &mut Verdict) {
        match (cell.persistence, end) {
            (Persistence::Once, Ok(_)) => {}
            (Persistence::Once, Err(f)) => {
                v.problems.push(format!(
                    "a single fault was not retried away: {}",
                    f.message
                ));
            }
            (Persistence::Persistent, Ok(o)) => {
                v.problems
                    .push(format!("a persistent fault did not fail the job: {o:?}"));
            }
            (Persistence::Persistent, Err(f)) => {
                eprintln!("{cell}: {}", f.message);
                check_failure(f, v);
            }
        }
    }

    /// How many replicas the engine and the service hold.
    async fn replica_counts(&self) -> (i64, i64) {
        let local = self
            .h
            .replicas()
            .await
            .iter()
            .filter(|r| r.replica_guid.is_some())
            .count() as i64;
        (local, self.h.server_db().replica_count())
    }

    /// Every replica the engine holds is on the service, and the cell added no other replica there
    /// (none orphaned), or at most `tolerated`. `before` is [`Rig::replica_counts`] at the start
    /// of the cell.
    async fn check_no_orphans(&self, before: (i64, i64), tolerated: i64, v: &mut Verdict) {
        let local: Vec<Guid> = self
            .h
            .replicas()
            .await
            .into_iter()
            .filter_map(|r| r.replica_guid)
            .collect();
        let db = self.h.server_db();
        let on_server = db.replica_count();
        let missing = local.iter().filter(|g| !db.has_replica(g)).count();
        let (local_added, server_added) = (local.len() as i64 - before.0, on_server - before.1);
        if server_added > local_added {
            eprintln!(
                "orphaned replicas on the service: {}",
                server_added - local_added
            );
        }
        v.check(missing == 0 && (0..=tolerated).contains(&(server_added - local_added)), || {
            format!(
                "the cell added {local_added} replica(s) locally and {server_added} on the service \
                 ({missing} local one(s) missing there)"
            )
        });
    }
}

/// A failure must be one clear line that says what failed.
fn check_failure(f: &Failure, v: &mut Verdict) {
    let message = f.message.trim();
    v.check(
        !message.is_empty() && !message.contains('\n') && message.len() <= 400,
        || format!("not a clear one-line error: {:?}", f.message),
    );
    v.check(f.class != FailureClass::Local, || {
        format!("a network fault reported as a local failure: {}", f.message)
    });
}

/// One sync-type cell on a fresh replica: an add and an update, the faulted sync, the checks,
/// then a clean sync that must converge.
async fn sync_cell(rig: &Rig, cell: Cell, n: usize) -> Verdict {
    let h = &rig.h;
    let mut v = Verdict::default();
    let counts = rig.replica_counts().await;
    let replica = h.create(&format!("cell-{n}")).await;
    let marker = format!("MX-{n:03}");
    let notes = format!("notes-{n:03}");
    let added = h.add_hydrant(replica, &marker).await;
    h.update_notes(replica, &notes).await;
    let is_async = !matches!(cell.step, Step::SyncReplica);
    let outages = rig.proxy.outages();
    rig.install(cell).await;
    let end = h.sync(replica, is_async).await;
    rig.uninstall(cell, outages, &mut v).await;
    rig.check_end(cell, &end, &mut v);
    check_counts(
        rig,
        replica,
        &added,
        &marker,
        "after the faulted sync",
        &mut v,
    );

    match h.sync(replica, is_async).await {
        Ok(_) => {
            let file = h.file_path(replica).unwrap();
            let local = local_count(&file, 0, &added, &marker);
            v.check(local.queued == 0 && local.in_server_version == 1, || {
                format!("the add did not converge: {local:?}")
            });
            check_counts(
                rig,
                replica,
                &added,
                &marker,
                "after the clean sync",
                &mut v,
            );
            let db = h.server_db();
            v.check(db.count_global_id(0, &added) == 1, || {
                "the service does not hold the add after the clean sync".into()
            });
            let hyd = db
                .attributes(0, &Guid::parse(HYD_1).unwrap())
                .unwrap_or_default();
            v.check(hyd["Notes"] == json!(notes), || {
                format!("the update did not reach the service: {}", hyd["Notes"])
            });
        }
        Err(f) => v.problems.push(format!(
            "the clean sync after the fault failed: {}",
            f.message
        )),
    }
    rig.check_no_orphans(counts, 0, &mut v).await;
    v
}

/// The add is present exactly once locally and at most once on the service.
fn check_counts(
    rig: &Rig,
    replica: LocalReplicaId,
    added: &Guid,
    marker: &str,
    when: &str,
    v: &mut Verdict,
) {
    let Some(file) = rig.h.file_path(replica) else {
        v.problems.push(format!("{when}: the replica file is gone"));
        return;
    };
    let local: LocalCount = local_count(&file, 0, added, marker);
    v.check(local.exactly_once(), || {
        format!("{when}: the local change is not present exactly once: {local:?}")
    });
    let db = rig.h.server_db();
    let (by_id, by_marker) = (db.count_global_id(0, added), db.count_marker(marker));
    v.check(by_id <= 1 && by_marker <= 1, || {
        format!(
            "{when}: the service holds the add {by_id} time(s) by GlobalID, {by_marker} by value"
        )
    });
    if local.queued == 0 {
        v.check(by_id == 1, || {
            format!("{when}: acknowledged locally but not on the service")
        });
    }
}

/// One create-type cell: the faulted create, the checks, then a clean create.
async fn create_cell(rig: &Rig, cell: Cell, n: usize) -> Verdict {
    let h = &rig.h;
    let mut v = Verdict::default();
    let counts = rig.replica_counts().await;
    let is_async = cell.step == Step::CreateReplicaAsync;
    let outages = rig.proxy.outages();
    rig.install(cell).await;
    let (replica, end) = h
        .job(Command::CreateReplica(
            h.create_request(&format!("create-{n}"), is_async),
        ))
        .await;
    rig.uninstall(cell, outages, &mut v).await;
    rig.check_end(cell, &end, &mut v);
    // Known limit: an async createReplica whose submission reply is lost every time starts a job
    // the client never hears of; its replica may register after the client's clean-up has run.
    let tolerated = i64::from(
        cell.step == Step::CreateReplicaAsync
            && cell.persistence == Persistence::Persistent
            && matches!(
                cell.fault,
                Fault::ConnectionDropped | Fault::TruncatedJson | Fault::Timeout
            ),
    );
    let listed = h.replicas().await.iter().any(|r| r.id == replica);
    match &end {
        Ok(_) => v.check(listed && h.file_path(replica).is_some(), || {
            "created, but the replica or its file is missing".into()
        }),
        Err(_) => v.check(!listed && h.file_path(replica).is_none(), || {
            "a failed create left a replica or a file behind".into()
        }),
    }
    rig.check_no_orphans(counts, tolerated, &mut v).await;
    let (_, again) = h
        .job(Command::CreateReplica(
            h.create_request(&format!("create-{n}-again"), is_async),
        ))
        .await;
    if let Err(f) = again {
        v.problems.push(format!(
            "the clean create after the fault failed: {}",
            f.message
        ));
    }
    rig.check_no_orphans(counts, tolerated, &mut v).await;
    v
}

/// One unregister cell: a replica with an unsynced add, the faulted unregister, the checks, then a
/// clean unregister. The replica file (with the unsynced add) must survive either way.
async fn unregister_cell(rig: &Rig, cell: Cell, n: usize) -> Verdict {
    let h = &rig.h;
    let mut v = Verdict::default();
    let counts = rig.replica_counts().await;
    let replica = h.create(&format!("unregister-{n}")).await;
    let marker = format!("MX-U{n:03}");
    let added = h.add_hydrant(replica, &marker).await;
    let guid = h
        .replicas()
        .await
        .into_iter()
        .find(|r| r.id == replica)
        .and_then(|r| r.replica_guid)
        .unwrap();
    let file = h.file_path(replica).unwrap();
    let outages = rig.proxy.outages();
    rig.install(cell).await;
    let (_, end) = h.job(Command::Unregister { replica }).await;
    rig.uninstall(cell, outages, &mut v).await;
    rig.check_end(cell, &end, &mut v);
    let listed = h.replicas().await.iter().any(|r| r.id == replica);
    let kept = local_count(&file, 0, &added, &marker);
    v.check(kept.queued == 1 && kept.exactly_once(), || {
        format!("the unsynced add is not kept exactly once in the file: {kept:?}")
    });
    match &end {
        Ok(_) => v.check(!listed && !h.server_db().has_replica(&guid), || {
            "unregistered, but the replica is still listed or still on the service".into()
        }),
        Err(_) => v.check(listed, || "a failed unregister forgot the replica".into()),
    }
    if listed {
        let (_, again) = h.job(Command::Unregister { replica }).await;
        if let Err(f) = again {
            v.problems
                .push(format!("the clean unregister failed: {}", f.message));
        }
        v.check(!h.server_db().has_replica(&guid), || {
            "the replica is still on the service after the clean unregister".into()
        });
    }
    v.check(h.server_db().count_marker(&marker) == 0, || {
        "an unsynced add reached the service".into()
    });
    rig.check_no_orphans(counts, 0, &mut v).await;
    v
}

/// Runs one cell, numbered `n` (names and markers are unique per number).
async fn run_cell(rig: &Rig, cell: Cell, n: usize) -> Verdict {
    match cell.step {
        Step::ServiceProperties | Step::CreateReplica | Step::CreateReplicaAsync => {
            create_cell(rig, cell, n).await
        }
        Step::UnregisterReplica => unregister_cell(rig, cell, n).await,
        _ => sync_cell(rig, cell, n).await,
    }
}

/// Runs every cell of `step` and fails with the list of failing cells.
async fn run_step(step: Step) {
    let rig = rig().await;
    let mut failures = Vec::new();
    let all = cells(step);
    for (n, cell) in all.iter().copied().enumerate() {
        let verdict = run_cell(&rig, cell, n).await;
        if !verdict.problems.is_empty() {
            failures.push(format!("{cell}: {}", verdict.problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cells failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_properties_under_every_fault() {
    run_step(Step::ServiceProperties).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_replica_under_every_fault() {
    run_step(Step::CreateReplica).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_create_replica_under_every_fault() {
    run_step(Step::CreateReplicaAsync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronize_replica_under_every_fault() {
    run_step(Step::SyncReplica).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_synchronize_replica_under_every_fault() {
    run_step(Step::SyncReplicaAsync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_polling_under_every_fault() {
    run_step(Step::StatusPolling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_download_under_every_fault() {
    run_step(Step::ResultDownload).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_replica_under_every_fault() {
    run_step(Step::UnregisterReplica).await;
}

/// An add whose sync reply is lost (the service committed it) and that the technician then edits
/// again: the next sync resends it, the service applies the later values instead of reporting
/// "already there", and both sides agree on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_a_lost_reply_reaches_the_service() {
    let rig = rig().await;
    let h = &rig.h;
    let replica = h.create("lost-reply").await;
    let added = h.add_hydrant(replica, "LOST-1").await;
    h.add_fault(json!({"operation": "synchronizeReplica", "kind": "dropConnection", "count": PERSISTENT_COUNT}))
        .await;
    assert!(h.sync(replica, false).await.is_err());
    h.clear_faults().await;
    assert_eq!(
        h.server_db().count_marker("LOST-1"),
        1,
        "the service committed it"
    );
    h.edit(
        replica,
        syncwatch::engine::LocalEdit::Update {
            global_id: added.clone(),
            attributes: crate::support::engine::attrs(json!({"FacilityID": "LOST-2"})),
            geometry: None,
        },
    )
    .await;
    h.sync(replica, false).await.unwrap();
    let db = h.server_db();
    assert_eq!(db.count_global_id(0, &added), 1);
    assert_eq!(
        db.attributes(0, &added).unwrap()["FacilityID"],
        json!("LOST-2"),
        "the later edit reached the service"
    );
    let file = h.file_path(replica).unwrap();
    let local = local_count(&file, 0, &added, "LOST-2");
    assert_eq!((local.queued, local.in_server_version), (0, 1));
}

/// Soak (ignored by default; `cargo test --test it -- --ignored reliability::fault_matrix`): random cells of the
/// whole matrix, one after another on one service, `SYNCWATCH_SOAK_ROUNDS` of them (default 300),
/// seeded by `SYNCWATCH_SOAK_SEED` (default: random, printed) so a failure can be replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: minutes; run with --ignored"]
async fn soak_random_cells() {
    let rounds: usize = std::env::var("SYNCWATCH_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("SYNCWATCH_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("soak: {rounds} rounds, seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let steps = [
        Step::ServiceProperties,
        Step::CreateReplica,
        Step::CreateReplicaAsync,
        Step::SyncReplica,
        Step::SyncReplicaAsync,
        Step::StatusPolling,
        Step::ResultDownload,
        Step::UnregisterReplica,
    ];
    let all: Vec<Cell> = steps.into_iter().flat_map(cells).collect();
    let rig = rig().await;
    let mut failures = Vec::new();
    for round in 0..rounds {
        let cell = all[rng.usize(..all.len())];
        let verdict = run_cell(&rig, cell, 1000 + round).await;
        if !verdict.problems.is_empty() {
            failures.push(format!(
                "round {round} {cell}: {}",
                verdict.problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {rounds} rounds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
