//! Window: the real GUI (release binary, embedded demo service) in a real X window. Start-up =
//! process spawn to the first frame laid out (budget ≤ 0.5 s); idle = CPU used over 30 s with
//! nothing happening (budget ≤ 1 % of one core). Needs an X display: `DISPLAY`, or `Xvfb` on the
//! PATH (Debian package `xvfb`), which it starts itself; without either it says SKIPPED.
//! Run: `cargo bench --bench window` (`SYNCWATCH_IDLE_SECS` shortens the idle window).

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STARTS: usize = 5;
const SETTLE: Duration = Duration::from_secs(10);
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(60);

/// An Xvfb server this bench started (killed on drop), or the session's display.
struct Display {
    name: String,
    xvfb: Option<Child>,
}

impl Display {
    fn find_or_start() -> Option<Display> {
        if let Ok(name) = std::env::var("DISPLAY")
            && !name.is_empty()
        {
            return Some(Display { name, xvfb: None });
        }
        let number = 40 + std::process::id() % 50;
        let xvfb = Command::new("Xvfb")
            .arg(format!(":{number}"))
            .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Display {
            name: format!(":{number}"),
            xvfb: Some(xvfb),
        })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(xvfb) = &mut self.xvfb {
            let _ = xvfb.kill();
            let _ = xvfb.wait();
        }
    }
}

/// The GUI as a child process, killed on drop.
struct Window {
    child: Child,
}

impl Window {
    /// Starts the GUI on `data` and waits for its first frame; returns it and the time taken.
    fn start(display: &Display, runtime_dir: &Path, data: &Path) -> (Window, Duration) {
        let marker = data.with_extension("first-frame");
        let _ = std::fs::remove_file(&marker);
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .arg("--data-dir")
            .arg(data)
            .env("DISPLAY", &display.name)
            .env("XDG_RUNTIME_DIR", runtime_dir)
            .env("SYNCWATCH_FIRST_FRAME_FILE", &marker)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the GUI starts");
        let mut window = Window { child };
        while !marker.exists() {
            if let Ok(Some(status)) = window.child.try_wait() {
                panic!("the GUI exited before its first frame: {status}");
            }
            assert!(
                started.elapsed() < FIRST_FRAME_WAIT,
                "no first frame within {FIRST_FRAME_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let elapsed = started.elapsed();
        (window, elapsed)
    }

    fn cpu_seconds(&self) -> Option<f64> {
        support::cpu_seconds(&self.child.id().to_string())
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let Some(display) = Display::find_or_start() else {
        println!("SKIPPED: no DISPLAY and no Xvfb on the PATH (apt-get install xvfb)");
        return;
    };
    let idle_secs: u64 = std::env::var("SYNCWATCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime_dir = dir.path().join("xdg");
    std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
    let data = dir.path().join("data");

    let mut starts = Vec::new();
    for run in 0..STARTS {
        let (window, took) = Window::start(&display, &runtime_dir, &data);
        let kind = if run == 0 {
            "first run (empty data dir)"
        } else {
            "later start"
        };
        println!(
            "start-up to first frame, {kind}: {:.0} ms",
            took.as_secs_f64() * 1e3
        );
        starts.push(json!({"run": run, "kind": kind, "ms": support::ms(took)}));
        drop(window);
    }

    let (window, _) = Window::start(&display, &runtime_dir, &data);
    std::thread::sleep(SETTLE);
    let before = window.cpu_seconds();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let after = window.cpu_seconds();
    let used = after.zip(before).map(|(a, b)| a - b);
    let percent = used.map(|u| u / idle_secs as f64 * 100.0);
    println!(
        "idle: {} CPU seconds over {idle_secs} s = {} of one core",
        used.map_or("n/a".into(), |u| format!("{u:.2}")),
        percent.map_or("n/a".into(), |p| format!("{p:.2} %"))
    );
    support::write_report(
        "window",
        json!({"starts": starts, "idle_secs": idle_secs, "idle_cpu_s": used, "idle_cpu_percent": percent}),
    );
}
