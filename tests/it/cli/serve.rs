//! `syncwatch serve` as a child process: an anonymous service on all interfaces is refused
//! unless `--allow-anonymous` (then it warns), `--require-token` secures it, a flood of large
//! unauthenticated bodies leaves the server's memory bounded (read from /proc) while it keeps
//! answering, and `--tls-self-signed` serves HTTPS that the CLI trusts only with `--ca-cert`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `syncwatch serve`, killed when dropped.
struct Served {
    child: Child,
    /// The FeatureServer URL it printed.
    service_url: String,
    /// Every other line it printed before the admin key (the TLS certificate line).
    lines: Vec<String>,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .arg("serve")
            .args(args)
            .env_remove("SYNCWATCH_ADMIN_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut service_url = String::new();
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            if let Some(url) = line.strip_prefix("syncwatch reference feature service: ") {
                service_url = url.to_string();
            } else if line.starts_with("admin key") {
                break;
            } else {
                lines.push(line);
            }
        }
        assert!(!service_url.is_empty(), "serve printed no URL: {lines:?}");
        Served {
            child,
            service_url,
            lines,
        }
    }

    fn base_url(&self) -> &str {
        let at = self.service_url.find("/arcgis/").expect("service URL");
        &self.service_url[..at]
    }

    /// `VmHWM` (peak resident set) and `VmRSS` of the server, in KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .expect("memory field")
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `serve` that must exit by itself; one still serving after 30 s is killed and fails.
fn serve_output(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve runs");
    for _ in 0..300 {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("`syncwatch serve {args:?}` was still serving after 30 s");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// On 0.0.0.0 without `--require-token`: exit 2 and one line. With `--allow-anonymous`: a
/// warning, and it serves. With `--require-token`: an anonymous call gets 499.
#[test]
fn serve_on_all_interfaces_needs_a_token_or_allow_anonymous() {
    let refused = serve_output(&["--addr", "0.0.0.0:0"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("refusing") && stderr.contains("--require-token"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());

    let rt = runtime();
    let mut anonymous = Served::start(&["--addr", "0.0.0.0:0", "--allow-anonymous"]);
    let info = format!("{}/arcgis/rest/info?f=json", anonymous.base_url());
    let status = rt.block_on(async { reqwest::get(&info).await.unwrap().status().as_u16() });
    assert_eq!(status, 200);
    let _ = anonymous.child.kill();
    let mut warnings = String::new();
    std::io::Read::read_to_string(&mut anonymous.child.stderr.take().unwrap(), &mut warnings)
        .unwrap();
    assert!(
        warnings.contains("warning: the service on 0.0.0.0")
            && warnings.contains("anyone can read and change it"),
        "{warnings}"
    );

    let secured = Served::start(&["--addr", "0.0.0.0:0", "--require-token"]);
    let service = format!("{}?f=json", secured.service_url);
    let body: serde_json::Value =
        rt.block_on(async { reqwest::get(&service).await.unwrap().json().await.unwrap() });
    assert_eq!(body["error"]["code"], 499, "{body}");
}

/// Twelve 500 MB bodies at once against a token-secured `syncwatch serve`: four without a token
/// announcing their length, four chunked without a token (read up to the unverified allowance,
/// 32 MiB each, 64 MiB in all), four with a wrong token: the server's peak RSS stays under
/// 400 MiB, every flood request is refused, and a normal request is answered during and after.
#[test]
fn a_flood_of_large_unauthenticated_bodies_keeps_the_server_small() {
    const BODY_BYTES: usize = 500 << 20;
    const CHUNK: usize = 1 << 20;
    let served = Served::start(&["--addr", "127.0.0.1:0", "--require-token"]);
    let (start_hwm, _) = served.memory_kib();
    let sync_url = format!("{}/synchronizeReplica", served.service_url);
    let info_url = format!("{}/arcgis/rest/info?f=json", served.base_url());
    let rt = runtime();
    let (flood_statuses, answered_during) = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut flood = Vec::new();
        for n in 0..12 {
            let chunk = bytes::Bytes::from(vec![b'a'; CHUNK]);
            let chunks = futures_util::stream::iter(
                std::iter::once(bytes::Bytes::from_static(b"f=json&edits="))
                    .chain(std::iter::repeat_n(chunk, BODY_BYTES / CHUNK))
                    .map(|data| Ok::<_, std::io::Error>(hyper::body::Frame::data(data))),
            );
            let mut request = client
                .post(&sync_url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(reqwest::Body::wrap(http_body_util::StreamBody::new(chunks)));
            // A third announce their length, a third are chunked (read up to the allowance), a
            // third carry a wrong token.
            match n % 3 {
                0 => request = request.header("Content-Length", (13 + BODY_BYTES).to_string()),
                1 => {}
                _ => request = request.header("X-Esri-Authorization", "Bearer not-a-token"),
            }
            flood.push(tokio::spawn(async move {
                request.send().await.map(|r| r.status().as_u16()).ok()
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let during = client
            .get(&info_url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok();
        let mut statuses = Vec::new();
        for request in flood {
            statuses.push(request.await.unwrap());
        }
        (statuses, during)
    });
    let (peak_hwm, rss) = served.memory_kib();
    eprintln!(
        "flood: server VmHWM {start_hwm} KiB at start, {peak_hwm} KiB after 12 x 500 MB bodies (VmRSS {rss} KiB); statuses {flood_statuses:?}"
    );
    assert_eq!(answered_during, Some(200));
    for status in flood_statuses.iter().flatten() {
        // 413 for bodies past the unverified allowance, 503 for one that found the budget full,
        // 200 with the 498 envelope for the wrong token; a reset connection (None) is a refusal
        // too.
        assert!(matches!(status, 413 | 503 | 200), "{flood_statuses:?}");
    }
    assert!(peak_hwm < 400 * 1024, "peak RSS {peak_hwm} KiB");
    let after = rt.block_on(async { reqwest::get(&info_url).await.unwrap().status().as_u16() });
    assert_eq!(after, 200);
}

/// `serve --tls-self-signed`: the certificate is written under the data dir (key 0600) and its
/// path printed; `syncwatch create` refuses the untrusted certificate with one line naming the
/// problem and its fingerprint; with `--ca-cert` (or `SYNCWATCH_CA_CERT`) create and sync work.
#[test]
fn https_serve_is_trusted_with_ca_cert() {
    let service_data = tempfile::tempdir().unwrap();
    let served = Served::start(&[
        "--addr",
        "127.0.0.1:0",
        "--tls-self-signed",
        "--data",
        service_data.path().to_str().unwrap(),
    ]);
    assert!(served.service_url.starts_with("https://127.0.0.1:"));
    let cert = service_data.path().join("tls").join("cert.pem");
    assert!(
        served
            .lines
            .iter()
            .any(|l| l.contains(cert.to_str().unwrap())),
        "{:?}",
        served.lines
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(service_data.path().join("tls").join("key.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    let client_data = tempfile::tempdir().unwrap();
    let cli = |args: &[&str], ca: Option<&std::path::Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_syncwatch"));
        command
            .arg("--data-dir")
            .arg(client_data.path())
            .args(args)
            .env_remove("SYNCWATCH_DATA_DIR")
            .env_remove("SYNCWATCH_CA_CERT");
        if let Some(ca) = ca {
            command.env("SYNCWATCH_CA_CERT", ca);
        }
        command.output().unwrap()
    };
    let create = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend([
            "create",
            "--service",
            &served.service_url,
            "--name",
            "tls-crew",
            "--layers",
            "0",
            "--json",
        ]);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let refused_args = create(&[]);
    let refused_args: Vec<&str> = refused_args.iter().map(String::as_str).collect();
    let refused = cli(&refused_args, None);
    assert_eq!(refused.status.code(), Some(2));
    let line = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(line.trim().lines().count(), 1, "{line}");
    assert!(
        line.contains("certificate is not trusted") && line.contains("SHA-256 fingerprint"),
        "{line}"
    );

    let trusted_args = create(&["--ca-cert", cert.to_str().unwrap()]);
    let trusted_args: Vec<&str> = trusted_args.iter().map(String::as_str).collect();
    let created = cli(&trusted_args, None);
    assert_eq!(
        created.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let synced = cli(&["sync", "tls-crew", "--json"], Some(&cert));
    assert_eq!(
        synced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
}
