//! Load: one engine syncing 50 replicas at once with auto-sync running, read by a slow front end
//! through the GUI's coalescing event queue; a job polled hundreds of times while nobody reads;
//! and 20 independent clients uploading to one service at once. Real service over loopback, real
//! SQLite files. Nothing here is timed: the assertions are about order, counts and bounds.

use crate::support::client_config::Tuned as _;
use crate::support::engine::ServerDb;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, EngineHandle, Event, EventReceiver, JobId,
    LocalEdit, LocalReplicaId, SyncOptions,
};
use syncwatch::protocol::{Attributes, Guid, JobState, SyncModel};
use syncwatch::server::{self, RunningServer, ServerConfig, ServiceDefinition};
use syncwatch::service::ClientConfig;

const REPLICAS: usize = 50;
const CLIENTS: usize = 20;
const ADDS_PER_REPLICA: usize = 2;
/// Longest any wait in these tests may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(240);

/// A one-layer service small enough that 50 replicas are quick to create.
fn small_service() -> ServiceDefinition {
    ServiceDefinition::from_json(
        &json!({
            "name": "Load",
            "layers": [{
                "id": 0, "name": "Points", "geometryType": "esriGeometryPoint",
                "fields": [{"name": "Tag", "type": "esriFieldTypeString", "length": 40}],
                "seed": [{"geometry": {"x": 1.0, "y": 2.0}, "attributes": {"Tag": "seed"}}]
            }]
        })
        .to_string(),
    )
    .unwrap()
}

async fn start_server(dir: &tempfile::TempDir, job_step_delay: Duration) -> RunningServer {
    server::start(ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        definition: Some(small_service()),
        job_step_delay,
        ..ServerConfig::default()
    })
    .await
    .unwrap()
}

fn client(poll_interval: Duration) -> ClientConfig {
    ClientConfig {
        poll_interval,
        ..ClientConfig::default()
    }
    .backoff_ms(10, 100)
}

/// An engine reading through the coalescing queue the GUI uses.
fn start_engine(dir: &std::path::Path, client: ClientConfig) -> (EngineHandle, EventReceiver) {
    let (sender, receiver) = engine::event_channel(Arc::new(|| {}));
    let mut config = EngineConfig::new(dir);
    config.client = client;
    config.reset_on_detection = false;
    let (handle, _join) = engine::start(config, sender).unwrap();
    (handle, receiver)
}

fn tag_add(tag: &str) -> LocalEdit {
    let mut attributes = Attributes::new();
    attributes.insert("GlobalID".into(), json!(Guid::new_v4().as_str()));
    attributes.insert("Tag".into(), json!(tag));
    LocalEdit::Add {
        attributes,
        geometry: Some(json!({"x": 3.0, "y": 4.0})),
    }
}

fn create(service_url: &str, name: String) -> Command {
    Command::CreateReplica(CreateRequest {
        service_url: service_url.to_string(),
        token: None,
        name,
        layers: vec![0],
        sync_model: SyncModel::PerReplica,
        is_async: false,
        scope: Default::default(),
    })
}

/// Reads everything waiting, the way a slow window does once per (long) frame.
fn drain(receiver: &EventReceiver, log: &mut Vec<Event>) {
    log.extend(receiver.try_iter());
}

/// Per replica: jobs start in the order they were queued, one at a time, and each job's events
/// come in order (queued, then status, then its end). Returns the number of jobs that ended.
fn check_per_replica_order(log: &[Event]) -> usize {
    let mut queued: HashMap<LocalReplicaId, Vec<JobId>> = HashMap::new();
    let mut running: HashMap<LocalReplicaId, JobId> = HashMap::new();
    let mut started: HashSet<JobId> = HashSet::new();
    let mut ended: HashSet<JobId> = HashSet::new();
    let mut started_order: HashMap<LocalReplicaId, Vec<JobId>> = HashMap::new();
    for event in log {
        match event {
            Event::JobQueued { replica, job, .. } => queued.entry(*replica).or_default().push(*job),
            Event::JobStatus { replica, job, .. } => {
                assert!(
                    queued.get(replica).is_some_and(|q| q.contains(job)),
                    "status of {job:?} before it was queued"
                );
                assert!(!ended.contains(job), "status of {job:?} after its end");
                if let Some(current) = running.get(replica) {
                    assert_eq!(
                        current, job,
                        "replica {replica}: {job:?} runs while {current:?} has not ended"
                    );
                } else {
                    running.insert(*replica, *job);
                    if started.insert(*job) {
                        started_order.entry(*replica).or_default().push(*job);
                    }
                }
            }
            Event::JobCompleted { replica, job, .. } | Event::JobFailed { replica, job, .. } => {
                assert!(
                    started.contains(job) || !queued.get(replica).is_some_and(|q| q.contains(job)),
                    "{job:?} ended before any status"
                );
                assert!(ended.insert(*job), "{job:?} ended twice");
                if running.get(replica) == Some(job) {
                    running.remove(replica);
                }
            }
            _ => {}
        }
    }
    for (replica, order) in &started_order {
        let queue_order: Vec<JobId> = queued[replica]
            .iter()
            .copied()
            .filter(|j| order.contains(j))
            .collect();
        assert_eq!(
            &queue_order, order,
            "replica {replica}: jobs started out of order"
        );
    }
    ended.len()
}

/// Fifty replicas, each with local adds, synced by auto-sync (async jobs with status polling),
/// while the front end reads only every 200 ms: every add reaches the service exactly once, each
/// replica runs one job at a time with its events in order, and progress and summaries are
/// coalesced so the unread queue stays a small multiple of the replica count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_replicas_with_auto_sync_keep_order_and_a_bounded_event_queue() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(&server_dir, Duration::from_millis(30)).await;
    let data = tempfile::tempdir().unwrap();
    let (engine, receiver) = start_engine(data.path(), client(Duration::from_millis(5)));
    let mut log = Vec::new();
    for n in 0..REPLICAS {
        engine
            .send(create(&server.service_url(), format!("load-{n}")))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + HANG;
    let created = loop {
        drain(&receiver, &mut log);
        let replicas: Vec<LocalReplicaId> = log
            .iter()
            .filter_map(|e| match e {
                Event::JobCompleted { replica, .. } => Some(*replica),
                Event::JobFailed { error, .. } => panic!("create failed: {}", error.message),
                _ => None,
            })
            .collect();
        if replicas.len() == REPLICAS {
            break replicas;
        }
        assert!(tokio::time::Instant::now() < deadline, "creates hang");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut tags = Vec::new();
    for (n, replica) in created.iter().enumerate() {
        for k in 0..ADDS_PER_REPLICA {
            let tag = format!("L{n:02}-{k}");
            engine
                .edit_feature(*replica, 0, tag_add(&tag))
                .await
                .unwrap();
            tags.push(tag);
        }
    }
    engine
        .send(Command::SetAutoSync {
            interval_secs: Some(1),
        })
        .await
        .unwrap();
    // Until every replica has finished its create and two auto-syncs (its adds are on the service
    // after the first).
    loop {
        drain(&receiver, &mut log);
        let mut syncs: HashMap<LocalReplicaId, u32> = HashMap::new();
        for event in &log {
            if let Event::JobCompleted {
                replica, outcome, ..
            } = event
            {
                assert_eq!(outcome.state, JobState::Completed, "replica {replica}");
                *syncs.entry(*replica).or_default() += 1;
            }
        }
        if created
            .iter()
            .all(|r| syncs.get(r).copied().unwrap_or(0) >= 3)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "auto-sync hangs");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    engine
        .send(Command::SetAutoSync {
            interval_secs: None,
        })
        .await
        .unwrap();

    let db = ServerDb::open(&server_dir.path().join("service.sqlite"));
    for tag in &tags {
        assert_eq!(db.count_marker(tag), 1, "{tag} on the service");
    }
    let jobs = check_per_replica_order(&log);
    assert!(jobs >= REPLICAS * 3, "{jobs} jobs ended");
    let stats = receiver.stats();
    let progress = log
        .iter()
        .filter(|e| matches!(e, Event::JobStatus { .. }))
        .count() as u64;
    eprintln!(
        "{REPLICAS} replicas, {jobs} jobs: {} events sent, {} coalesced, {progress} progress events read, at most {} unread",
        stats.sent, stats.coalesced, stats.high_water
    );
    assert!(stats.coalesced > 0, "progress was coalesced");
    assert!(
        stats.high_water <= REPLICAS * 8,
        "the unread queue reached {}",
        stats.high_water
    );
}

/// One async sync polled hundreds of times while the front end reads nothing: when it finally
/// reads, a single progress event of that job is waiting, however many polls there were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_polled_job_leaves_one_unread_progress_event() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(&server_dir, Duration::from_millis(1500)).await;
    let data = tempfile::tempdir().unwrap();
    let (engine, receiver) = start_engine(data.path(), client(Duration::from_millis(2)));
    engine
        .send(create(&server.service_url(), "long".into()))
        .await
        .unwrap();
    let replica = loop {
        match receiver.recv_timeout(HANG).unwrap() {
            Event::JobCompleted { replica, .. } => break replica,
            Event::JobFailed { error, .. } => panic!("{}", error.message),
            _ => {}
        }
    };
    engine
        .edit_feature(replica, 0, tag_add("LONG-1"))
        .await
        .unwrap();
    while receiver.try_recv().is_ok() {}
    let before = receiver.stats();
    engine
        .send(Command::SyncNow {
            replica,
            options: SyncOptions::default(),
        })
        .await
        .unwrap();
    // Wait, without reading, until the reply is applied to the replica file: by then every
    // status poll of the job has happened. Then read up to the job's end.
    let file = std::fs::read_dir(data.path().join("replicas"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "replica"))
        .unwrap();
    let deadline = tokio::time::Instant::now() + HANG;
    while queued_changes(&file) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the sync hangs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut job_end = Vec::new();
    loop {
        let event = receiver.recv_timeout(HANG).unwrap();
        assert!(
            !matches!(event, Event::JobFailed { .. }),
            "the sync failed: {event:?}"
        );
        let done = matches!(event, Event::JobCompleted { .. });
        job_end.push(event);
        if done {
            break;
        }
    }
    let stats = receiver.stats();
    let polls = stats.coalesced - before.coalesced;
    let progress_read = job_end
        .iter()
        .filter(|e| matches!(e, Event::JobStatus { .. }))
        .count();
    eprintln!("one job: {polls} progress events coalesced, {progress_read} read");
    assert!(polls >= 20, "the job was polled only {polls} times");
    assert!(progress_read <= 1, "{progress_read} progress events waited");
}

/// Twenty independent clients (each its own engine, data directory and replica) upload at once
/// to one service, twice: the service keeps every add exactly once and each client's queue ends
/// empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_clients_keep_every_edit() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(&server_dir, Duration::ZERO).await;
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let data = tempfile::tempdir().unwrap();
        let (engine, receiver) = start_engine(data.path(), client(Duration::from_millis(5)));
        engine
            .send(create(&server.service_url(), format!("client-{n}")))
            .await
            .unwrap();
        clients.push((data, engine, receiver));
    }
    let mut replicas = Vec::new();
    for (_, _, receiver) in &clients {
        replicas.push(wait_end(receiver).await.0);
    }
    let mut tags = Vec::new();
    for round in 0..2 {
        for (n, (_, engine, _)) in clients.iter().enumerate() {
            for k in 0..5 {
                let tag = format!("C{n:02}-{round}-{k}");
                engine
                    .edit_feature(replicas[n], 0, tag_add(&tag))
                    .await
                    .unwrap();
                tags.push(tag);
            }
        }
        for (n, (_, engine, _)) in clients.iter().enumerate() {
            engine
                .send(Command::SyncNow {
                    replica: replicas[n],
                    options: SyncOptions {
                        is_async: n % 2 == 0,
                        ..SyncOptions::default()
                    },
                })
                .await
                .unwrap();
        }
        for (_, _, receiver) in &clients {
            let (_, state) = wait_end(receiver).await;
            assert_eq!(state, JobState::Completed);
        }
    }
    let db = ServerDb::open(&server_dir.path().join("service.sqlite"));
    for tag in &tags {
        assert_eq!(db.count_marker(tag), 1, "{tag} on the service");
    }
    for (n, (data, _, _)) in clients.iter().enumerate() {
        let file = std::fs::read_dir(data.path().join("replicas"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "replica"))
            .unwrap();
        assert_eq!(
            queued_changes(&file),
            0,
            "client {n} still has queued changes"
        );
    }
    eprintln!(
        "{CLIENTS} clients: {} adds, each on the service once",
        tags.len()
    );
}

/// Changes waiting in a replica file's queue.
fn queued_changes(file: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap()
}

/// The end of the next job on this engine.
async fn wait_end(receiver: &EventReceiver) -> (LocalReplicaId, JobState) {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        match receiver.try_recv() {
            Ok(Event::JobCompleted {
                replica, outcome, ..
            }) => return (replica, outcome.state),
            Ok(Event::JobFailed { error, .. }) => panic!("a job failed: {}", error.message),
            Ok(_) => {}
            Err(_) => {
                assert!(tokio::time::Instant::now() < deadline, "no job end");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
