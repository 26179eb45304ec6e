//! Shared by the bench programs: process CPU time and memory from `/proc` (Linux), and a JSON
//! report per bench in `target/bench-results/<name>.json` so figures can be compared over time.
//! Readings are `None` where `/proc` is not available; the benches then print "n/a".

#![allow(dead_code)] // each bench uses a different subset

use std::path::PathBuf;

/// `/proc` reports CPU time in USER_HZ ticks, which Linux fixes at 100 for user space.
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds used so far by process `pid` (`"self"` for this one).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields after it are fixed.
    let after_name = stat.rsplit(')').next()?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / TICKS_PER_SEC)
}

/// A `kB` line of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
pub fn status_bytes(pid: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size of this process now.
pub fn rss_bytes() -> Option<u64> {
    status_bytes("self", "VmRSS:")
}

/// Peak resident set size of this process so far.
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("self", "VmHWM:")
}

pub fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

/// Writes `target/bench-results/<bench>.json` and says where.
pub fn write_report(bench: &str, report: serde_json::Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    let path = dir.join(format!("{bench}.json"));
    let written =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, format!("{report:#}\n")));
    match written {
        Ok(()) => println!("report: {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Milliseconds with two decimals, for tables.
pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}
