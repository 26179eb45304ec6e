//! Large replicas (issue 21): a generated polygon layer of 100,000, 300,000 and 1,000,000
//! parcels served by the reference service (a `syncwatch serve --generate-polygons` child
//! process, grown between sizes with `POST /admin/generate`), and a replica of it created by the
//! real CLI (`syncwatch create`, a child process) and, where the ArcGIS API for Python is
//! installed, by it too against the same service in the same run (`benches/python/
//! large_replica.py`). For each client and size: wall time, CPU time (user + system, from
//! `wait4`) and peak RSS (`ru_maxrss`) of the client process, the service's peak RSS during the
//! create (`VmHWM` after resetting it through `clear_refs`), and syncwatch / Python ratios.
//! Then the service's peak RSS while one synchronizeReplica downloads parcels generated after
//! its replica was created (as many as the largest size up to 300,000), into a JSON result
//! file, a delta file and an embedded body.
//! Budgets: syncwatch's peak RSS ≤ 250 MB at 1,000,000 and flat over the sizes; its CPU time
//! ≤ 1/5 of Python's.
//!
//! Run: `cargo bench --bench large_replica` (sizes: `cargo bench --bench large_replica --
//! 100000 300000`). Python: `$PYTHON`, else `target/arcgis-venv/bin/python` (`.ci/run` shows how
//! that venv is made); without one that can `import arcgis`, the Python rows are skipped.
//! Linux (`/proc`, `wait4`); elsewhere it prints SKIPPED.

mod support;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("SKIPPED: the large_replica bench reads /proc and wait4 (Linux)");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    use super::support;
    use serde_json::{Value, json};
    use std::io::{BufRead, BufReader, Read};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const SIZES: [u64; 3] = [100_000, 300_000, 1_000_000];
    const ADMIN_KEY: &str = "large-replica-bench";
    /// syncwatch's peak RSS budget at 1,000,000 features.
    const RSS_BUDGET_BYTES: u64 = 250_000_000;

    /// What `wait4` says about a finished child, and its output.
    struct Run {
        wall: Duration,
        cpu_s: f64,
        peak_rss_bytes: u64,
        success: bool,
        stdout: String,
        stderr: String,
    }

    /// Runs `command` to its end, reaping it with `wait4` for its own rusage.
    fn measure(mut command: Command) -> Run {
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the client starts");
        let pid = child.id() as libc::pid_t;
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our child, not yet reaped (std's Child is never waited on).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let wall = started.elapsed();
        assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
        drop(child);
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Run {
            wall,
            cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            // ru_maxrss is in KiB on Linux.
            peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
            success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }

    /// Reads a child's pipe to its end on a thread (so a chatty child never blocks on it).
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    }

    /// The reference service in a child process, killed on drop.
    struct ServiceProcess {
        child: Child,
        url: String,
        base: String,
    }

    impl ServiceProcess {
        fn start(data: &Path, polygons: u64) -> ServiceProcess {
            let mut child = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
                .args(["serve", "--addr", "127.0.0.1:0", "--result-ttl", "7200"])
                .args(["--admin-key", ADMIN_KEY, "--data"])
                .arg(data)
                .args(["--generate-polygons", &polygons.to_string()])
                .stdout(Stdio::piped())
                .stderr(log_file("large_replica-service.log"))
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
            let base = url.split("/arcgis/").next().unwrap_or_default().to_string();
            ServiceProcess { child, url, base }
        }

        fn pid(&self) -> String {
            self.child.id().to_string()
        }

        /// Resets the service's peak RSS to its current RSS (`clear_refs` 5).
        fn reset_peak(&self) {
            let path = format!("/proc/{}/clear_refs", self.pid());
            if let Err(e) = std::fs::write(&path, "5") {
                eprintln!("could not reset the service's peak RSS ({path}): {e}");
            }
        }

        fn peak_rss(&self) -> Option<u64> {
            support::status_bytes(&self.pid(), "VmHWM:")
        }

        fn rss(&self) -> Option<u64> {
            support::status_bytes(&self.pid(), "VmRSS:")
        }

        /// `POST /admin/generate`: `count` more parcels.
        async fn generate(&self, count: u64) -> Value {
            let reply = reqwest::Client::new()
                .post(format!("{}/admin/generate", self.base))
                .header("X-Admin-Key", ADMIN_KEY)
                .json(&json!({ "polygons": count }))
                .timeout(Duration::from_secs(600))
                .send()
                .await
                .expect("admin/generate answers");
            reply.json().await.expect("a JSON reply")
        }

        /// The Parcels layer's id and its feature count (the layer's count query).
        async fn parcels(&self) -> (i64, i64) {
            let http = reqwest::Client::new();
            let root: Value = http
                .get(format!("{}?f=json", self.url))
                .send()
                .await
                .expect("the service answers")
                .json()
                .await
                .expect("JSON");
            let layer = root["layers"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| l["name"] == "Parcels"))
                .and_then(|l| l["id"].as_i64())
                .unwrap_or_else(|| panic!("no Parcels layer in {root}"));
            let count: Value = http
                .get(format!(
                    "{}/{layer}/query?f=json&where=1%3D1&returnCountOnly=true",
                    self.url
                ))
                .send()
                .await
                .expect("count query")
                .json()
                .await
                .expect("JSON");
            (layer, count["count"].as_i64().unwrap_or(-1))
        }
    }

    impl ServiceProcess {
        /// A replica of `layer` registered over plain HTTP, its data written by the service as
        /// a delta file the bench never downloads; its id and generation.
        async fn register(&self, layer: i64) -> (String, i64) {
            let reply: Value = reqwest::Client::new()
                .post(format!("{}/createReplica", self.url))
                .form(&[
                    ("f", "json"),
                    ("replicaName", "sync-download"),
                    ("layers", &layer.to_string()),
                    ("syncModel", "perReplica"),
                    ("transportType", "esriTransportTypeUrl"),
                    ("dataFormat", "sqlite"),
                ])
                .timeout(Duration::from_secs(1800))
                .send()
                .await
                .expect("createReplica answers")
                .json()
                .await
                .expect("a JSON reply");
            let id = reply["replicaID"]
                .as_str()
                .unwrap_or_else(|| panic!("no replicaID in {reply}"))
                .to_string();
            (id, reply["replicaServerGen"].as_i64().unwrap_or(-1))
        }

        /// A download synchronizeReplica from `generation` in `format` over `transport`; the
        /// bytes of its body (an embedded reply is read to its end and dropped as it comes).
        async fn sync_download(
            &self,
            replica: &str,
            generation: i64,
            format: &str,
            transport: &str,
        ) -> (Value, u64) {
            let mut resp = reqwest::Client::new()
                .post(format!("{}/synchronizeReplica", self.url))
                .form(&[
                    ("f", "json"),
                    ("replicaID", replica),
                    ("replicaServerGen", &generation.to_string()),
                    ("syncDirection", "download"),
                    ("dataFormat", format),
                    ("transportType", transport),
                ])
                .timeout(Duration::from_secs(1800))
                .send()
                .await
                .expect("synchronizeReplica answers");
            let mut bytes = 0_u64;
            let mut head = Vec::new();
            while let Some(chunk) = resp.chunk().await.expect("the reply's body") {
                bytes += chunk.len() as u64;
                if head.len() < 4096 {
                    head.extend_from_slice(&chunk[..chunk.len().min(4096)]);
                }
            }
            let reply = serde_json::from_slice(&head).unwrap_or_else(|_| {
                // An embedded reply is too large to keep: only its header is read.
                let text = String::from_utf8_lossy(&head);
                let kind = text
                    .split("\"responseType\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_string();
                json!({ "responseType": kind })
            });
            (reply, bytes)
        }
    }

    /// The service's peak RSS while one sync downloads `count` parcels generated after its
    /// replica was created, in each output (a JSON result file, a delta file, an embedded body).
    async fn sync_download_rows(service: &ServiceProcess, count: u64) -> Vec<Value> {
        let (layer, _) = service.parcels().await;
        let (replica, generation) = service.register(layer).await;
        let reply = service.generate(count).await;
        assert_eq!(reply["success"], true, "{reply}");
        let mut rows = Vec::new();
        for (format, transport) in [
            ("json", "esriTransportTypeUrl"),
            ("sqlite", "esriTransportTypeUrl"),
            ("json", "esriTransportTypeEmbedded"),
        ] {
            service.reset_peak();
            let started = Instant::now();
            let (reply, bytes) = service
                .sync_download(&replica, generation, format, transport)
                .await;
            let wall = started.elapsed().as_secs_f64();
            let peak = service.peak_rss();
            assert_eq!(
                reply["responseType"], "esriReplicaResponseTypeEdits",
                "{reply}"
            );
            let output = if transport.ends_with("Embedded") {
                "embedded"
            } else {
                format
            };
            println!(
                "sync      {count:>9}  {output:<8}  wall {wall:>7.2} s  body {:>11}  service peak {}",
                support::mib(Some(bytes)),
                support::mib(peak)
            );
            rows.push(json!({
                "new_features": count,
                "output": output,
                "wall_s": wall,
                "body_bytes": bytes,
                "service_peak_rss_bytes": peak,
            }));
        }
        rows
    }

    impl Drop for ServiceProcess {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn results_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    fn log_file(name: &str) -> Stdio {
        std::fs::File::create(results_dir().join(name)).map_or_else(|_| Stdio::null(), Stdio::from)
    }

    /// A python that can `import arcgis`: `$PYTHON`, else `target/arcgis-venv/bin/python`.
    fn arcgis_python() -> Option<PathBuf> {
        let candidate = std::env::var_os("PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("target/arcgis-venv/bin/python")
            });
        let works = Command::new(&candidate)
            .args(["-c", "import arcgis"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            Some(candidate)
        } else {
            println!(
                "Python rows SKIPPED: {} cannot import arcgis (set PYTHON, or make target/arcgis-venv: see .ci/run)",
                candidate.display()
            );
            None
        }
    }

    fn sizes() -> Vec<u64> {
        let mut asked: Vec<u64> = std::env::args()
            .skip(1)
            .filter_map(|a| a.replace(['_', ','], "").parse().ok())
            .collect();
        if asked.is_empty() {
            asked = SIZES.to_vec();
        }
        asked.sort_unstable();
        asked.dedup();
        asked
    }

    /// One client's figures at one size, as a report entry.
    fn entry(run: &Run, service_peak: Option<u64>) -> Value {
        json!({
            "wall_s": run.wall.as_secs_f64(),
            "cpu_s": run.cpu_s,
            "peak_rss_bytes": run.peak_rss_bytes,
            "service_peak_rss_bytes": service_peak,
        })
    }

    fn line(client: &str, size: u64, run: &Run, service_peak: Option<u64>) {
        println!(
            "{client:<9} {size:>9}  wall {:>7.2} s  cpu {:>7.2} s  peak RSS {:>11}  (service peak {})",
            run.wall.as_secs_f64(),
            run.cpu_s,
            support::mib(Some(run.peak_rss_bytes)),
            support::mib(service_peak)
        );
    }

    /// `syncwatch create` of the parcels into `data_dir`, results asked as `format`; the run
    /// and the service's peak RSS during it.
    fn create_with(
        service: &ServiceProcess,
        data_dir: &Path,
        size: u64,
        format: &str,
    ) -> (Run, Option<u64>) {
        let mut create = Command::new(env!("CARGO_BIN_EXE_syncwatch"));
        create
            .args(["create", "--service", &service.url, "--layers", "Parcels"])
            .args(["--download-format", format])
            .args([
                "--name",
                &format!("parcels-{size}-{format}"),
                "--json",
                "--data-dir",
            ])
            .arg(data_dir);
        service.reset_peak();
        let run = measure(create);
        let service_peak = service.peak_rss();
        assert!(
            run.success,
            "syncwatch create ({format}) failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        (run, service_peak)
    }

    #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    pub async fn main() {
        let sizes = sizes();
        let python = arcgis_python();
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let service = ServiceProcess::start(&dir.path().join("service"), sizes[0]);
        println!(
            "service with {} parcels in {:.1} s (RSS {})",
            sizes[0],
            started.elapsed().as_secs_f64(),
            support::mib(service.rss())
        );
        let mut rows = Vec::new();
        let mut held = sizes[0];
        for &size in &sizes {
            if size > held {
                let started = Instant::now();
                let reply = service.generate(size - held).await;
                assert_eq!(reply["success"], true, "{reply}");
                println!(
                    "generated {} more parcels in {:.1} s",
                    size - held,
                    started.elapsed().as_secs_f64()
                );
                held = size;
            }
            let (layer, count) = service.parcels().await;
            assert_eq!(count, size as i64, "the layer holds {size} parcels");

            // JSON, as Python asks and as syncwatch asks of ArcGIS; then a syncwatch delta.
            let data_dir = dir.path().join(format!("client-{size}"));
            let (ours, ours_service) = create_with(&service, &data_dir, size, "json");
            line("syncwatch", size, &ours, ours_service);
            let delta_dir = dir.path().join(format!("client-{size}-sqlite"));
            let (delta, delta_service) = create_with(&service, &delta_dir, size, "sqlite");
            let _ = std::fs::remove_dir_all(&delta_dir);
            line("sw sqlite", size, &delta, delta_service);
            let mut row = json!({
                "features": size,
                "syncwatch": entry(&ours, ours_service),
                "syncwatch_reply": serde_json::from_str::<Value>(ours.stdout.trim()).unwrap_or(Value::Null),
                "syncwatch_sqlite": entry(&delta, delta_service),
            });

            if let Some(python) = &python {
                let out = dir.path().join(format!("python-{size}"));
                std::fs::create_dir_all(&out).expect("python's folder");
                let script =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python/large_replica.py");
                let mut run = Command::new(python);
                run.arg(script)
                    .args([&service.url, &layer.to_string()])
                    .arg(&out);
                service.reset_peak();
                let theirs = measure(run);
                let theirs_service = service.peak_rss();
                let _ = std::fs::remove_dir_all(&out);
                if theirs.success {
                    line("python", size, &theirs, theirs_service);
                    let said: Value =
                        serde_json::from_str(theirs.stdout.lines().last().unwrap_or_default())
                            .unwrap_or(Value::Null);
                    assert_eq!(said["features"], size, "Python read every feature: {said}");
                    let cpu_ratio = ours.cpu_s / theirs.cpu_s.max(1e-9);
                    let rss_ratio = ours.peak_rss_bytes as f64 / theirs.peak_rss_bytes as f64;
                    let wall_ratio = ours.wall.as_secs_f64() / theirs.wall.as_secs_f64();
                    println!(
                        "ratios    {size:>9}  wall {wall_ratio:.2}  cpu {cpu_ratio:.2} (budget ≤ 0.20)  peak RSS {rss_ratio:.2}"
                    );
                    row["python"] = entry(&theirs, theirs_service);
                    row["python_phases"] = said;
                    row["ratios"] =
                        json!({"wall": wall_ratio, "cpu": cpu_ratio, "peak_rss": rss_ratio});
                } else {
                    println!(
                        "python    {size:>9}  FAILED:\n{}\n{}",
                        theirs.stdout,
                        theirs
                            .stderr
                            .lines()
                            .rev()
                            .take(15)
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                    row["python"] = json!({"failed": theirs.stderr.lines().last()});
                }
            }
            let _ = std::fs::remove_dir_all(&data_dir);
            rows.push(row);
        }
        // A sync download of parcels generated after the replica was created (the largest
        // size up to 300,000 of them).
        let sync_count = sizes
            .iter()
            .copied()
            .filter(|&s| s <= 300_000)
            .max()
            .unwrap_or(sizes[0]);
        let sync_rows = sync_download_rows(&service, sync_count).await;
        let peaks: Vec<u64> = rows
            .iter()
            .filter_map(|r| r["syncwatch"]["peak_rss_bytes"].as_u64())
            .collect();
        let largest = peaks.last().copied().unwrap_or(0);
        let smallest = peaks.first().copied().unwrap_or(0).max(1);
        println!(
            "syncwatch peak RSS {} at the largest size (budget ≤ 250 MB: {}), {:.2}× the smallest size's",
            support::mib(Some(largest)),
            if largest <= RSS_BUDGET_BYTES {
                "met"
            } else {
                "NOT met"
            },
            largest as f64 / smallest as f64
        );
        support::write_report(
            "large_replica",
            json!({
                "sizes": sizes,
                "python": python.map(|p| p.display().to_string()),
                "rows": rows,
                "sync_download": sync_rows,
            }),
        );
    }
}
