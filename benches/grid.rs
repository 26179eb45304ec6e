//! Grid: CPU time of one whole-window frame (`run_ui` + `tessellate`, headless, no renderer) with
//! the edit-results grid showing 1,000 and 1,000,000 results, idle and while scrolling, and the
//! resident memory of 1,000,000 results (budgets: ≤ 2 ms at 1M rows, ≤ 1.3× the 1k figure,
//! ≤ 250 MB RSS; BENCHMARKS.md). Run: `cargo bench --bench grid`; to run part of it, name row
//! counts and/or scenarios: `cargo bench --bench grid -- 1000000 jump`.

mod support;

use serde_json::json;
use std::time::Duration;
use syncwatch::ui::bench::{BenchScenario, FrameStats, measure_frames};
use syncwatch::ui::fixtures;

/// Frames measured per scenario; `SYNCWATCH_BENCH_FRAMES` overrides it (longer runs for a profiler).
const FRAMES: usize = 600;
const SCREEN: egui::Vec2 = egui::vec2(1280.0, 800.0);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let scenarios: Vec<BenchScenario> = [
        BenchScenario::Idle,
        BenchScenario::WheelScroll,
        BenchScenario::JumpToRandomRow,
    ]
    .into_iter()
    .filter(|s| {
        selected(&args, &format!("{s:?}").to_lowercase(), |a| {
            a.parse::<usize>().is_err()
        })
    })
    .collect();
    let row_counts: Vec<usize> = [1_000usize, 1_000_000]
        .into_iter()
        .filter(|n| selected(&args, &n.to_string(), |a| a.parse::<usize>().is_ok()))
        .collect();
    let frames = std::env::var("SYNCWATCH_BENCH_FRAMES")
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(FRAMES);
    let rss_start = support::rss_bytes();
    let mut results = Vec::new();
    let mut means = std::collections::HashMap::new();
    println!("rows       scenario          mean ms  p95 ms   max ms");
    for &rows in &row_counts {
        let snapshot = fixtures::big_results(rows);
        let rss_loaded = support::rss_bytes();
        for &scenario in &scenarios {
            let stats = measure_frames(snapshot.clone(), frames, scenario, SCREEN);
            print_row(rows, scenario, &stats);
            means.insert((rows, format!("{scenario:?}")), stats.mean());
            results.push(json!({
                "rows": rows,
                "scenario": format!("{scenario:?}"),
                "frames": frames,
                "first_frame_ms": support::ms(stats.first_frame),
                "mean_ms": support::ms(stats.mean()),
                "p95_ms": support::ms(stats.percentile(0.95)),
                "max_ms": support::ms(stats.max()),
            }));
        }
        if rows == 1_000_000 {
            let grown = rss_loaded.zip(rss_start).map(|(a, b)| a.saturating_sub(b));
            println!(
                "memory: RSS {} after loading 1,000,000 results ({} more than at start)",
                support::mib(rss_loaded),
                support::mib(grown)
            );
            results
                .push(json!({ "rows": rows, "rss_bytes": rss_loaded, "rss_growth_bytes": grown }));
        }
    }
    for &scenario in &scenarios {
        let name = format!("{scenario:?}");
        let small = means
            .get(&(1_000, name.clone()))
            .copied()
            .unwrap_or_default();
        let large = means
            .get(&(1_000_000, name.clone()))
            .copied()
            .unwrap_or_default();
        let ratio = ratio(large, small);
        println!("ratio 1M/1k {name}: {ratio:.2}");
        results.push(json!({ "scenario": name, "ratio_1m_to_1k": ratio }));
    }
    support::write_report(
        "grid",
        json!({ "screen": [SCREEN.x, SCREEN.y], "results": results }),
    );
}

/// Whether `item` is selected by the arguments of its kind (`is_kind`): all are when none is
/// given, otherwise those an argument names (a scenario by its start: `jump`).
fn selected(args: &[String], item: &str, is_kind: impl Fn(&str) -> bool) -> bool {
    let mut of_kind = args.iter().filter(|a| is_kind(a)).peekable();
    of_kind.peek().is_none()
        || of_kind.any(|a| {
            let a = a.to_lowercase();
            item == a || (a.parse::<usize>().is_err() && item.starts_with(&a))
        })
}

fn ratio(large: Duration, small: Duration) -> f64 {
    if small.is_zero() {
        return f64::NAN;
    }
    large.as_secs_f64() / small.as_secs_f64()
}

fn print_row(rows: usize, scenario: BenchScenario, stats: &FrameStats) {
    println!(
        "{rows:<10} {:<17} {:>7.3} {:>7.3} {:>7.3}",
        format!("{scenario:?}"),
        stats.mean().as_secs_f64() * 1e3,
        stats.percentile(0.95).as_secs_f64() * 1e3,
        stats.max().as_secs_f64() * 1e3
    );
}
