//! Tokens never reach the logs or an exported CSV, end to end: the engine creates a replica with
//! a token, syncs through faults and retries, and the test reads everything every crate logged at
//! trace level. A binary of its own: the process-wide subscriber it installs would otherwise
//! record every other integration test's traffic at trace level too. It shares the integration
//! tests' harness (`tests/it/support`).

#[allow(dead_code, unused_imports)]
#[path = "it/support/mod.rs"]
mod support;

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use support::client_config::fast;
use support::engine::{HYD_1, Harness, attrs};
use syncwatch::engine::{Command, CreateRequest, LocalEdit};
use syncwatch::protocol::{Guid, SyncModel};
use syncwatch::server::{ServerConfig, ServiceDefinition, UserDef};

/// Everything this binary logged, at every level, from every crate.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The demo service with one more technician whose token appears nowhere else.
fn service_with_user(token: &str) -> ServiceDefinition {
    let mut def = ServiceDefinition::demo().unwrap();
    def.users.push(UserDef {
        name: "tech9".into(),
        token: token.into(),
        admin: false,
        password_hash: None,
    });
    def
}

/// A technician with a token creates, edits and syncs (through retried faults, an async job, a
/// refused edit and a failing wrong token) and exports the results: the token is in none of the
/// trace-level logs of the engine, the client, the service or the HTTP libraries, nor in the CSV,
/// nor in the app database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_logs_or_exports() {
    let logs = captured_logs();
    let token = format!("tok-{}", Guid::new_v4().bare());
    let wrong = format!("wrong-{}", Guid::new_v4().bare());
    let h = Harness::start(
        ServerConfig {
            definition: Some(service_with_user(&token)),
            job_step_delay: Duration::from_millis(10),
            ..ServerConfig::default()
        },
        fast(),
    )
    .await;
    let request = |token: &str, name: &str| {
        Command::CreateReplica(CreateRequest {
            service_url: h.service_url.clone(),
            token: Some(token.into()),
            name: name.into(),
            layers: vec![0],
            sync_model: SyncModel::PerReplica,
            is_async: true,
        })
    };
    let (replica, end) = h.job(request(&token, "secured")).await;
    end.unwrap();
    h.edit(
        replica,
        LocalEdit::Update {
            global_id: Guid::parse(HYD_1).unwrap(),
            attributes: attrs(json!({"Status": null})),
            geometry: None,
        },
    )
    .await;
    h.add_fault(json!([
        {"operation": "synchronizeReplica", "kind": "http503", "count": 1},
        {"operation": "jobs", "kind": "dropConnection", "count": 1}
    ]))
    .await;
    let outcome = h.sync(replica, true).await.unwrap();
    assert_eq!(outcome.failed_edits, 1, "the refused edit is reported");
    let (_, end) = h.job(request(&wrong, "wrong-token")).await;
    assert!(
        end.unwrap_err().message.contains("498"),
        "an unknown token fails"
    );

    let rows = h.edit_results(replica).await;
    let csv = h.dir.path().join("export.csv");
    h.export_csv(rows, &csv).await;
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(exported.contains("1001") && !exported.contains(&token));

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("with_token=true") && text.contains("retrying"),
        "the logs cover the token-bearing requests and the retries"
    );
    for secret in [&token, &wrong] {
        assert!(!text.contains(secret.as_str()), "a token reached the logs");
    }
    for file in ["syncwatch.db", "syncwatch.db-wal"] {
        let bytes = std::fs::read(h.dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{file} holds the token (it belongs in the secret store)"
        );
    }
}
