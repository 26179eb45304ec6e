//! Frame cost of the whole window over a 1,000,000-row edit-results snapshot (headless:
//! `run_ui` + `tessellate`). Ignored by default; run with
//! `cargo test --release --test ui_bench -- --ignored --nocapture` for meaningful figures.

use syncwatch::ui::bench::{BenchScenario, measure_frames};
use syncwatch::ui::fixtures;

#[test]
#[ignore = "prints timings; run explicitly"]
fn frame_times_at_a_million_rows() {
    let rows = fixtures::big_results(1_000_000);
    for scenario in [
        BenchScenario::Idle,
        BenchScenario::WheelScroll,
        BenchScenario::JumpToRandomRow,
    ] {
        let stats = measure_frames(rows.clone(), 120, scenario, egui::vec2(1280.0, 800.0));
        println!(
            "{scenario:?}: first {:.2} ms, mean {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            stats.first_frame.as_secs_f64() * 1e3,
            stats.mean().as_secs_f64() * 1e3,
            stats.percentile(0.95).as_secs_f64() * 1e3,
            stats.max().as_secs_f64() * 1e3,
        );
    }
}
