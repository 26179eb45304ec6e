//! Headless frame-time measurement of the whole window with a given edit-results snapshot:
//! runs N frames through `Context::run_ui` + `tessellate` (no renderer, no display), so
//! `benches/` can report UI cost at a million rows.

use super::fixtures;
use super::{AppConfig, CommandSink, FixedPathPicker, Persisted, SyncwatchApp, Tab};
use crate::engine::{EditResultRecord, Event};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What happens between frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchScenario {
    /// Nothing: the grid sits at the top.
    Idle,
    /// A mouse-wheel notch over the grid every frame: down 60 notches (about 360 rows), back up
    /// 60, and again, so 1,000 and 1,000,000 rows scroll over the same rows and never hit the end.
    WheelScroll,
    /// Jump to a pseudo-random row every frame (`scroll_to_row`).
    JumpToRandomRow,
}

/// Frame times of one run (the first frame, which builds the font atlas, is reported apart).
#[derive(Debug, Clone)]
pub struct FrameStats {
    pub first_frame: Duration,
    pub frames: Vec<Duration>,
}

impl FrameStats {
    pub fn mean(&self) -> Duration {
        if self.frames.is_empty() {
            return Duration::ZERO;
        }
        self.frames.iter().sum::<Duration>() / self.frames.len() as u32
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.frames.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let i = ((sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
        sorted[i]
    }

    pub fn max(&self) -> Duration {
        self.frames.iter().copied().max().unwrap_or_default()
    }
}

/// Runs `frames` frames (plus a first one) of the full window, showing the edit-results grid of
/// the failing fixture replica with `rows`, at `screen` points.
pub fn measure_frames(
    rows: Arc<[EditResultRecord]>,
    frames: usize,
    scenario: BenchScenario,
    screen: egui::Vec2,
) -> FrameStats {
    let (commands, _command_rx) = CommandSink::channel(1 << 16);
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    for e in fixtures::startup_events() {
        let _ = event_tx.send(e);
    }
    let _ = event_tx.send(Event::EditResultsReady {
        replica: fixtures::FAILING,
        rows: rows.clone(),
    });
    let persisted = Persisted {
        selected_replica: Some(fixtures::FAILING),
        tab: Tab::Results,
        ..Persisted::default()
    };
    let mut app = SyncwatchApp::new(
        commands,
        event_rx,
        Box::new(FixedPathPicker(None)),
        AppConfig::default(),
        persisted,
    );
    app.set_mock_now_ms(Some(fixtures::NOW_MS));
    let ctx = egui::Context::default();
    let mut time = 0.0;
    let mut rng = fastrand::Rng::with_seed(7);
    let run_frame = |app: &mut SyncwatchApp, events: Vec<egui::Event>, time: f64| {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, screen)),
            time: Some(time),
            events,
            ..Default::default()
        };
        let started = Instant::now();
        let mut out = ctx.run_ui(input, |ui| app.ui_for_tests(ui));
        let primitives = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
        let elapsed = started.elapsed();
        std::hint::black_box(primitives);
        // No renderer consumes texture updates here; dropping them unapplied panics in debug.
        out.textures_delta.clear();
        elapsed
    };
    let first_frame = run_frame(&mut app, Vec::new(), time);
    // Large snapshots are indexed on a worker thread: measure the grid once its rows are shown.
    while app.grid.is_filtering() {
        std::thread::sleep(Duration::from_millis(1));
        time += 1.0 / 60.0;
        run_frame(&mut app, Vec::new(), time);
    }
    let grid_point = egui::pos2(screen.x * 0.45, screen.y * 0.45);
    let mut times = Vec::with_capacity(frames);
    for frame in 0..frames {
        time += 1.0 / 60.0;
        let events = match scenario {
            BenchScenario::Idle => Vec::new(),
            BenchScenario::WheelScroll => vec![
                egui::Event::PointerMoved(grid_point),
                egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: egui::vec2(0.0, if (frame / 60) % 2 == 0 { -120.0 } else { 120.0 }),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Unknown,
                    modifiers: egui::Modifiers::NONE,
                },
            ],
            BenchScenario::JumpToRandomRow => {
                let shown = app.grid.indices.len().max(1);
                app.grid.scroll_to = Some(rng.usize(0..shown));
                Vec::new()
            }
        };
        times.push(run_frame(&mut app, events, time));
    }
    FrameStats {
        first_frame,
        frames: times,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_few_frames_of_a_large_grid() {
        let stats = measure_frames(
            fixtures::big_results(20_000),
            5,
            BenchScenario::JumpToRandomRow,
            egui::vec2(1280.0, 800.0),
        );
        assert_eq!(stats.frames.len(), 5);
        assert!(stats.mean() > Duration::ZERO);
    }
}
