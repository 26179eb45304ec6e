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
            scope: Default::default(),
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

/// A technician signs in with a password they chose to remember; the token lasts two seconds,
/// so the sync after it ended renews it: neither the password nor any token or refresh token the
/// secret store holds is in the trace-level logs or the app database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_secrets_never_reach_logs() {
    let logs = captured_logs();
    let password = format!("pw-{}", Guid::new_v4().bare());
    let mut def = ServiceDefinition::demo().unwrap();
    def.require_token = true;
    def.users
        .push(UserDef::with_password("tech7", &password).unwrap());
    let h = Harness::start(
        ServerConfig {
            definition: Some(def),
            auth: syncwatch::server::AuthSettings::default()
                .with_token_lifetime(Duration::from_secs(2)),
            ..ServerConfig::default()
        },
        fast(),
    )
    .await;
    let sign_in = h
        .engine
        .submit(Command::SignIn {
            url: h.service_url.clone(),
            method: syncwatch::engine::SignInRequest::Password {
                username: "tech7".into(),
                password: password.as_str().into(),
                remember: true,
            },
            expiration_minutes: None,
        })
        .await
        .unwrap()
        .command();
    h.next(|e| match e {
        syncwatch::engine::Event::SignedIn { sign_in: s, .. } if *s == sign_in => Some(()),
        syncwatch::engine::Event::SignInFailed {
            sign_in: s,
            message,
            ..
        } if *s == sign_in => {
            panic!("sign-in failed: {message}")
        }
        _ => None,
    })
    .await;
    let replica = h.create("signed-in").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    h.sync(replica, false).await.unwrap();

    let store = std::fs::read_to_string(h.dir.path().join("secrets.json")).unwrap();
    let mut secrets = vec![password.clone()];
    secrets.extend(
        store
            .split('"')
            .filter(|s| s.len() >= 16 && !s.contains("://") && !s.contains(' '))
            .map(str::to_string),
    );
    assert!(secrets.len() > 1, "the store holds the tokens");
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("signed in"), "the logs cover the sign-in");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
        for file in ["syncwatch.db", "syncwatch.db-wal"] {
            let bytes = std::fs::read(h.dir.path().join(file)).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{file} holds a secret"
            );
        }
    }
}
