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
        Cli {
            server: server::start_blocking(ServerConfig::default()).unwrap(),
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The binary with this data dir and `args`, to run as the caller likes.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"));
        command
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(args)
            .env_remove("SYNCWATCH_DATA_DIR");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
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
