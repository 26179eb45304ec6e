//! End to end: through the engine against the reference service (a `syncwatch serve` child
//! process, so this process's memory is the engine's): create replicas, record 10,000 local
//! adds as one batch (`syncwatch edit --from-file`; budget ≤ 1 s) in one, and 10,000 one by one
//! in another, upload those in one sync, and download them into a third replica. Seconds per
//! phase and the peak RSS of the engine process. Run: `cargo bench --bench end_to_end`.

mod support;

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, EngineHandle, Event, EventReceiver, JobEnd,
    JobOutcome, LocalEdit, LocalReplicaId, SyncOptions,
};
use syncwatch::protocol::{JobState, SyncDirection, SyncModel};

const EDITS: usize = 10_000;
const WAIT: Duration = Duration::from_secs(600);

/// The reference service in a child process, killed on drop.
struct ServiceProcess {
    child: Child,
    url: String,
}

impl ServiceProcess {
    fn start(data: &std::path::Path) -> ServiceProcess {
        let mut child = Process::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            // Its log, to see why if it stops: target/bench-results/end_to_end-service.log.
            .stderr(service_log())
            .spawn()
            .expect("syncwatch serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("serve prints its URL");
        // Keep reading: with the pipe closed, the service's next line would end it (EPIPE).
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first
            .rsplit(' ')
            .next()
            .map(str::trim)
            .filter(|u| u.starts_with("http"))
            .unwrap_or_else(|| panic!("unexpected first line from serve: {first:?}"))
            .to_string();
        ServiceProcess { child, url }
    }
}

fn service_log() -> Stdio {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::File::create(dir.join("end_to_end-service.log")))
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Engine {
    handle: EngineHandle,
    events: EventReceiver,
}

impl Engine {
    fn next<T>(&self, pick: impl FnMut(&Event) -> Option<T>) -> T {
        self.events
            .wait_for(WAIT, pick)
            .expect("engine event in time")
    }

    async fn job(&self, command: Command) -> (LocalReplicaId, JobOutcome) {
        let ticket = self
            .handle
            .submit(command)
            .await
            .expect("engine accepts the command");
        match ticket.wait(&self.events, WAIT) {
            Ok(JobEnd::Completed {
                replica, outcome, ..
            }) => (replica, outcome),
            Ok(end) => panic!("job failed: {end:?}"),
            Err(e) => panic!("command failed: {e:?}"),
        }
    }

    async fn create(&self, url: &str, name: &str) -> LocalReplicaId {
        let (replica, outcome) = self
            .job(Command::CreateReplica(CreateRequest {
                service_url: url.into(),
                token: None,
                name: name.into(),
                layers: vec![0],
                sync_model: SyncModel::PerReplica,
                is_async: false,
                scope: Default::default(),
            }))
            .await;
        assert_eq!(outcome.state, JobState::Completed);
        replica
    }

    async fn sync(&self, replica: LocalReplicaId, direction: SyncDirection) -> JobOutcome {
        let options = SyncOptions {
            direction,
            is_async: false,
            rollback_on_failure: false,
        };
        self.job(Command::SyncNow { replica, options }).await.1
    }
}

fn hydrant(i: usize) -> LocalEdit {
    let attributes = json!({"FacilityID": format!("E2E-{i:06}"), "Status": "IS", "Flow_GPM": 900});
    LocalEdit::Add {
        attributes: attributes.as_object().cloned().unwrap_or_default(),
        geometry: Some(json!({"x": -122.6 + i as f64 * 1e-5, "y": 45.5})),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = ServiceProcess::start(&dir.path().join("service"));
    let mut config = EngineConfig::new(dir.path().join("app"));
    config.reset_on_detection = false;
    let (handle, events, _join) = engine::start_with_channel(config).expect("engine starts");
    let engine = Engine { handle, events };
    engine.next(|e| matches!(e, Event::ReplicasLoaded { .. }).then_some(()));

    let mut phases = Vec::new();
    let mut phase = |name: &str, started: Instant| {
        let s = started.elapsed().as_secs_f64();
        println!("{name:<40} {s:>8.2} s");
        phases.push(json!({"phase": name, "seconds": s}));
        s
    };
    let total = Instant::now();
    let started = Instant::now();
    let field = engine.create(&service.url, "field-laptop").await;
    let office = engine.create(&service.url, "office").await;
    let batch = engine.create(&service.url, "batch-laptop").await;
    phase("create three replicas", started);

    // The same 10,000 adds as one batch (`syncwatch edit --from-file`): one transaction.
    let started = Instant::now();
    let edits = (0..EDITS).map(|i| (0, hydrant(EDITS + i))).collect();
    let summary = engine
        .handle
        .record_edits(batch, edits)
        .await
        .expect("batch recorded");
    assert_eq!(summary.pending_changes as usize, EDITS);
    let record_batch = phase("record 10,000 local adds as one batch", started);

    let started = Instant::now();
    for i in 0..EDITS {
        engine
            .handle
            .edit_feature(field, 0, hydrant(i))
            .await
            .expect("local edit recorded");
    }
    let record = phase("record 10,000 local edits", started);

    let started = Instant::now();
    let up = engine.sync(field, SyncDirection::Upload).await;
    assert_eq!(
        (up.state, up.uploaded as usize),
        (JobState::Completed, EDITS)
    );
    let upload = phase("upload 10,000 edits (one sync)", started);

    let started = Instant::now();
    let down = engine.sync(office, SyncDirection::Download).await;
    assert_eq!(
        down.downloaded as usize, EDITS,
        "the office replica receives every edit"
    );
    let download = phase("download 10,000 changes (one sync)", started);
    let total = total.elapsed().as_secs_f64();
    let peak = support::peak_rss_bytes();
    println!(
        "total {total:.2} s; engine process peak RSS {}",
        support::mib(peak)
    );
    support::write_report(
        "end_to_end",
        json!({"edits": EDITS, "phases": phases, "record_s": record,
               "record_batch_s": record_batch, "upload_s": upload,
               "download_s": download, "total_s": total, "peak_rss_bytes": peak}),
    );
}
