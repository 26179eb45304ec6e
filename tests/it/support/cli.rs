//! The real `syncwatch` binary against an in-process reference service, each test with its own
//! `--data-dir` in a temp dir: shared by the `cli_*` tests.

use serde_json::Value;
use std::process::Output;
use syncwatch::server::{self, BlockingServer, ServerConfig};

pub struct Cli {
    pub server: BlockingServer,
    pub data_dir: tempfile::TempDir,
}

impl Cli {
    pub fn start() -> Cli {
        Cli::start_with(ServerConfig::default())
    }

    /// As [`Cli::start`], with the service configured by `config`.
    pub fn start_with(config: ServerConfig) -> Cli {
        Cli {
            server: server::start_blocking(config).unwrap(),
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The binary with this data dir and `args`, to run as the caller likes.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        self.command_in(self.data_dir.path(), args)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// Runs the binary with these environment variables set (an empty value removes one).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_with_input(args, env, None)
    }

    /// Runs the binary with `stdin` as its standard input (`login --password-stdin`), or none.
    pub fn run_with_input(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&str>,
    ) -> Output {
        use std::io::Write;
        let mut command = self.command(args);
        for (name, value) in env {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        let Some(input) = stdin else {
            return command.stdin(std::process::Stdio::null()).output().unwrap();
        };
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must end within `limit`; a child still running then is killed and
    /// the test fails (a hang, not a slow run: the limit is generous).
    pub fn run_within(&self, args: &[&str], limit: std::time::Duration) -> Output {
        let mut child = self
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + limit;
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{args:?} still ran after {limit:?} (killed); stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must exit with `code` and returns its JSON output.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// The binary with another laptop's data dir (same service) and `args`.
    pub fn command_in(&self, data_dir: &std::path::Path, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"));
        command
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("SYNCWATCH_DATA_DIR")
            .env_remove("SYNCWATCH_SECRET_STORE")
            .env_remove("SYNCWATCH_CA_CERT");
        if let Some(cert) = self.server.server().tls_cert_path() {
            // Served over HTTPS: trust its self-signed certificate, as a user does.
            command.arg("--ca-cert").arg(cert);
        }
        command.args(args);
        command
    }

    /// Calls the service's admin API with a JSON body (or none); the reply must succeed.
    pub fn admin_json(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/admin/{path}", self.server.base_url());
        let key = self.server.admin_key().to_string();
        block_on(async move {
            let mut request = reqwest::Client::new()
                .request(method, url)
                .header("X-Admin-Key", key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let reply = response.json::<Value>().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "admin {path}: {status} {reply}");
            reply
        })
    }

    /// The replicas on the service, as its `replicas` resource lists them: (name, replicaID).
    pub fn service_replicas(&self) -> Vec<(String, String)> {
        let url = format!("{}/replicas?f=json", self.server.service_url());
        let list: Value =
            block_on(async move { reqwest::get(url).await.unwrap().json().await.unwrap() });
        list.as_array()
            .unwrap_or_else(|| panic!("not a replica list: {list}"))
            .iter()
            .map(|r| {
                (
                    r["replicaName"].as_str().unwrap().to_string(),
                    r["replicaID"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Another client (not this binary) registers a replica of layer 0 as the user of `token`
    /// over `geometry`, if given; its replicaID.
    pub fn another_client_creates(
        &self,
        name: &str,
        token: &str,
        geometry: Option<&str>,
    ) -> syncwatch::protocol::Guid {
        let url = self.server.service_url();
        block_on(crate::support::server::another_client_creates(
            &url, name, token, geometry,
        ))
    }

    pub fn admin(&self, path: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = format!("{}/admin/{path}", self.server.base_url());
        let key = self.server.admin_key().to_string();
        runtime.block_on(async move {
            let status = reqwest::Client::new()
                .post(url)
                .header("X-Admin-Key", key)
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "{path}: {status}");
        });
    }
}

pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Whether `bytes` hold `needle` anywhere (a secret searched for in a file or an output).
pub fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
