//! `syncwatch serve` through the real binary: `--user NAME:PASSWORD` adds and replaces users
//! (kept only as hashes), `--token-minutes` caps the tokens' lifetime.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The running `syncwatch serve`; killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `syncwatch serve` on a free port with `args`; returns once it printed its URL.
fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("syncwatch serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = Served {
        child,
        base: String::new(),
    };
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line of output");
        if let Some(at) = line.find("http://") {
            let url = &line[at..];
            let end = url.find("/arcgis").expect("the service URL");
            served.base = url[..end].to_string();
            // Keep reading, so that the service's later output never meets a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return served;
        }
    }
    panic!("syncwatch serve printed no URL");
}

async fn generate(base: &str, user: &str, password: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/arcgis/tokens/generateToken"))
        .form(&[
            ("username", user),
            ("password", password),
            ("client", "requestip"),
            ("expiration", "60"),
            ("f", "json"),
        ])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

/// A new user and a replaced password sign in, the replaced one's old password does not, tokens
/// live the `--token-minutes` asked for, and the data directory never holds a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_adds_users_and_caps_token_minutes() {
    let data = tempfile::tempdir().unwrap();
    let new_password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let tech9 = format!("tech9:{new_password}");
    let tech1 = format!("tech1:{new_password}x");
    let served = serve(&[
        "--data",
        data.path().to_str().unwrap(),
        "--user",
        &tech9,
        "--user",
        &tech1,
        "--token-minutes",
        "2",
    ]);
    let before = chrono::Utc::now().timestamp_millis();
    let reply = generate(&served.base, "tech9", &new_password).await;
    let expires = reply["expires"]
        .as_i64()
        .unwrap_or_else(|| panic!("{reply}"));
    assert!(
        (before + 119_000..=before + 121_000 + 5_000).contains(&expires),
        "60 minutes asked, 2 allowed: {}",
        expires - before
    );
    assert!(
        generate(&served.base, "tech1", &format!("{new_password}x")).await["token"].is_string()
    );
    let old = generate(&served.base, "tech1", "tech1-pass").await;
    assert_eq!(old["error"]["details"][0], "Invalid username or password.");
    drop(served);
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!String::from_utf8_lossy(&stored).contains(&new_password));

    let refused = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args(["serve", "--addr", "127.0.0.1:0", "--user", "no-password"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NAME:PASSWORD"));
}
