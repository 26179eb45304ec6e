//! Shared by the reliability tests (`fault_matrix`, `reliability_load`, `security`): the engine
//! against the reference service over real HTTP on loopback, a TCP relay in front of the service
//! that can refuse connections (the service "goes down"), and direct reads of the service's and
//! the replica files' SQLite databases to count what each side holds.

pub use crate::support::demo_data::{HYD_1, attrs};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use syncwatch::engine::{
    self, Command, CreateRequest, EngineConfig, EngineHandle, Event, EventReceiver, Failure,
    JobOutcome, JobWatch, LocalEdit, LocalReplicaId, ReplicaSummary, SyncOptions,
};
use syncwatch::protocol::{Guid, SyncDirection, SyncModel};
use syncwatch::server::{self, RunningServer, ServerConfig};
use syncwatch::service::ClientConfig;

/// Longest a test waits for one event.
pub const EVENT_WAIT: Duration = Duration::from_secs(120);

/// The reference service (with its data on disk, to count rows), the engine, and its events.
pub struct Harness {
    pub server: RunningServer,
    pub server_dir: tempfile::TempDir,
    pub engine: EngineHandle,
    pub events: EventReceiver,
    pub dir: tempfile::TempDir,
    /// The URL replicas are created with (the service's own, or a relay in front of it).
    pub service_url: String,
}

impl Harness {
    /// Starts the service (data in a temp dir) and an engine whose client uses `client`.
    pub async fn start(server_config: ServerConfig, client: ClientConfig) -> Harness {
        let server_dir = tempfile::tempdir().unwrap();
        let server = server::start(ServerConfig {
            data_dir: Some(server_dir.path().to_path_buf()),
            ..server_config
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = EngineConfig::new(dir.path());
        config.client = client;
        config.reset_on_detection = false;
        let (engine, events, _join) = engine::start_with_channel(config).unwrap();
        let service_url = server.service_url();
        let harness = Harness {
            server,
            server_dir,
            engine,
            events,
            dir,
            service_url,
        };
        harness
            .next(|e| matches!(e, Event::ReplicasLoaded { .. }).then_some(()))
            .await;
        harness
    }

    /// Waits for the first event `pick` accepts, dropping the others.
    pub async fn next<T>(&self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            match self.events.try_recv() {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    assert!(tokio::time::Instant::now() < deadline, "no matching event");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => panic!("engine stopped: {e}"),
            }
        }
    }

    pub async fn send(&self, command: Command) {
        self.engine.send(command).await.unwrap();
    }

    /// Runs a job command to its end: the outcome, or the failure.
    pub async fn job(&self, command: Command) -> (LocalReplicaId, Result<JobOutcome, Failure>) {
        let ticket = self.engine.submit(command).await.unwrap();
        let mut watch = JobWatch::new(ticket);
        match self.next(|e| watch.see(e)).await {
            Ok(end) => (end.replica(), end.into_result()),
            Err(e) => panic!("command failed: {e:?}"),
        }
    }

    pub fn create_request(&self, name: &str, is_async: bool) -> CreateRequest {
        CreateRequest {
            service_url: self.service_url.clone(),
            token: None,
            name: name.into(),
            layers: vec![0],
            sync_model: SyncModel::PerReplica,
            is_async,
        }
    }

    /// Creates a replica of the Hydrants layer that must succeed.
    pub async fn create(&self, name: &str) -> LocalReplicaId {
        let (replica, end) = self
            .job(Command::CreateReplica(self.create_request(name, false)))
            .await;
        end.unwrap_or_else(|f| panic!("create {name} failed: {f:?}"));
        replica
    }

    pub async fn sync(
        &self,
        replica: LocalReplicaId,
        is_async: bool,
    ) -> Result<JobOutcome, Failure> {
        let options = SyncOptions {
            direction: SyncDirection::Bidirectional,
            is_async,
            rollback_on_failure: false,
        };
        self.job(Command::SyncNow { replica, options }).await.1
    }

    pub async fn edit(&self, replica: LocalReplicaId, edit: LocalEdit) -> ReplicaSummary {
        self.engine
            .edit_feature(replica, 0, edit)
            .await
            .unwrap_or_else(|e| panic!("edit failed: {e:#?}"))
    }

    /// A new hydrant whose FacilityID is `marker`; returns its GlobalID.
    pub async fn add_hydrant(&self, replica: LocalReplicaId, marker: &str) -> Guid {
        let global_id = Guid::new_v4();
        self.edit(
            replica,
            LocalEdit::Add {
                attributes: attrs(json!({
                    "GlobalID": global_id.as_str(), "FacilityID": marker, "Status": "IS"
                })),
                geometry: Some(json!({"x": -122.6, "y": 45.52})),
            },
        )
        .await;
        global_id
    }

    /// Sets the Notes of HYD-0001 to `notes`.
    pub async fn update_notes(&self, replica: LocalReplicaId, notes: &str) {
        self.edit(
            replica,
            LocalEdit::Update {
                global_id: Guid::parse(HYD_1).unwrap(),
                attributes: attrs(json!({ "Notes": notes })),
                geometry: None,
            },
        )
        .await;
    }

    pub async fn replicas(&self) -> Vec<ReplicaSummary> {
        self.send(Command::RefreshReplicas).await;
        self.next(|e| match e {
            Event::ReplicasLoaded { replicas } => Some(replicas.clone()),
            _ => None,
        })
        .await
    }

    /// The replica's edit results, as the grid gets them.
    pub async fn edit_results(
        &self,
        replica: LocalReplicaId,
    ) -> std::sync::Arc<[syncwatch::engine::EditResultRecord]> {
        self.send(Command::LoadEditResults { replica }).await;
        self.next(|e| match e {
            Event::EditResultsReady { replica: r, rows } if *r == replica => Some(rows.clone()),
            _ => None,
        })
        .await
    }

    /// Exports every row to `path` as the grid's "Export CSV" does, and waits until it is written.
    pub async fn export_csv(
        &self,
        rows: std::sync::Arc<[syncwatch::engine::EditResultRecord]>,
        path: &Path,
    ) {
        self.send(Command::ExportCsv {
            indices: (0..rows.len() as u32).collect(),
            rows,
            path: path.to_path_buf(),
        })
        .await;
        self.next(|e| matches!(e, Event::ExportFinished { .. }).then_some(()))
            .await;
    }

    /// The replica file of a local replica, found by its `<id>-` prefix.
    pub fn file_path(&self, replica: LocalReplicaId) -> Option<PathBuf> {
        let prefix = format!("{}-", replica.0);
        std::fs::read_dir(self.dir.path().join("replicas"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                    && p.extension().is_some_and(|x| x == "replica")
            })
    }

    /// Calls the admin API; the status and the JSON reply.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/admin/{path}", self.server.base_url()))
            .header("X-Admin-Key", self.server.admin_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn add_fault(&self, rule: Value) {
        let (status, reply) = self
            .admin(reqwest::Method::POST, "faults", Some(rule))
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    /// The fault rules not yet used up.
    pub async fn faults_left(&self) -> Vec<Value> {
        let (_, list) = self.admin(reqwest::Method::GET, "faults", None).await;
        list.as_array().cloned().unwrap_or_default()
    }

    pub async fn clear_faults(&self) {
        self.admin(reqwest::Method::DELETE, "faults", None).await;
    }

    /// What the service's database holds.
    pub fn server_db(&self) -> ServerDb {
        ServerDb::open(&self.server_dir.path().join("service.sqlite"))
    }
}

/// Read-only counts over the reference service's database.
pub struct ServerDb {
    conn: rusqlite::Connection,
}

impl ServerDb {
    pub fn open(path: &Path) -> ServerDb {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        ServerDb { conn }
    }

    /// Live features of `layer_id` with this GlobalID.
    pub fn count_global_id(&self, layer_id: i64, global_id: &Guid) -> i64 {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND deleted = 0
                 AND upper(global_id) = upper(?2)",
                rusqlite::params![layer_id, global_id.as_str()],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Live features anywhere whose attributes contain the text `marker` (a value we chose unique).
    pub fn count_marker(&self, marker: &str) -> i64 {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM features WHERE deleted = 0 AND instr(attributes, ?1) > 0",
                [format!("\"{marker}\"")],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The attributes of a live feature, by GlobalID.
    pub fn attributes(&self, layer_id: i64, global_id: &Guid) -> Option<Value> {
        self.conn
            .query_row(
                "SELECT attributes FROM features WHERE layer_id = ?1 AND deleted = 0
                 AND upper(global_id) = upper(?2)",
                rusqlite::params![layer_id, global_id.as_str()],
                |r| r.get::<_, String>(0),
            )
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
    }

    pub fn replica_count(&self) -> i64 {
        self.conn
            .query_row("SELECT COUNT(*) FROM replicas", [], |r| r.get(0))
            .unwrap()
    }

    pub fn has_replica(&self, guid: &Guid) -> bool {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM replicas WHERE upper(replica_id) = upper(?1)
                 OR upper(replica_id) = upper(?2)",
                [guid.as_str(), guid.bare()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    }
}

/// Where one local change of a replica file stands: in the change queue, in the server version
/// (acknowledged, or downloaded back), and how many rows carry its marker text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCount {
    pub queued: i64,
    pub in_server_version: i64,
    pub marker_rows: i64,
}

impl LocalCount {
    /// Exactly once: the technician sees one feature, queued or acknowledged (a queued add whose
    /// echo was downloaded is both, and still one feature), never two.
    pub fn exactly_once(&self) -> bool {
        self.queued + self.in_server_version >= 1
            && self.queued <= 1
            && self.in_server_version <= 1
            && self.marker_rows <= self.queued + self.in_server_version
    }
}

/// Counts a change (by layer and GlobalID) and its marker text in a replica file, read-only.
pub fn local_count(path: &Path, layer_id: i64, global_id: &Guid, marker: &str) -> LocalCount {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let count = |sql: &str, param: &str| -> i64 {
        conn.query_row(sql, rusqlite::params![layer_id, param], |r| r.get(0))
            .unwrap()
    };
    let queued = count(
        "SELECT COUNT(*) FROM changes WHERE layer_id = ?1 AND upper(global_id) = upper(?2)",
        global_id.as_str(),
    );
    let in_features = count(
        "SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND upper(global_id) = upper(?2)",
        global_id.as_str(),
    );
    let marker_text = format!("\"{marker}\"");
    let marker_rows = count(
        "SELECT (SELECT COUNT(*) FROM features WHERE layer_id = ?1 AND instr(attributes_json, ?2) > 0)
              + (SELECT COUNT(*) FROM changes WHERE layer_id = ?1 AND instr(attributes_json, ?2) > 0)",
        &marker_text,
    );
    LocalCount {
        queued,
        in_server_version: in_features,
        marker_rows,
    }
}
