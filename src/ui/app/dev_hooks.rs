//! Developer hooks of the window, not features: `SYNCWATCH_SCREENSHOT` saves a PNG of the window
//! after a few frames and closes it, and `SYNCWATCH_FIRST_FRAME_FILE` writes a marker file once the
//! first frame is laid out (`benches/window.rs` measures start-up with it). These are the only
//! files the window writes; nothing here changes what the window shows.

use super::SyncwatchApp;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The pending screenshot of `SYNCWATCH_SCREENSHOT`.
pub(super) struct ScreenshotHook {
    path: std::path::PathBuf,
    frames: u32,
    requested: bool,
    done: Arc<AtomicBool>,
}

impl ScreenshotHook {
    pub(super) fn new(path: std::path::PathBuf) -> Self {
        ScreenshotHook {
            path,
            frames: 0,
            requested: false,
            done: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Writes the first-frame marker (once; `marker` is emptied).
pub(super) fn write_first_frame_marker(marker: &mut Option<std::path::PathBuf>) {
    if let Some(path) = marker.take()
        && let Err(e) = std::fs::write(&path, b"first frame\n")
    {
        eprintln!("syncwatch: could not write {}: {e}", path.display());
    }
}

impl SyncwatchApp {
    /// Counts frames and, after ten, saves the window as a PNG, then closes it.
    pub(super) fn screenshot_hook(&mut self, ctx: &egui::Context) {
        let Some(hook) = &mut self.screenshot else {
            return;
        };
        hook.frames += 1;
        if hook.done.load(Ordering::SeqCst) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if !hook.requested && hook.frames >= 10 {
            hook.requested = true;
            let path = hook.path.clone();
            let done = hook.done.clone();
            ctx.request_screenshot(move |image: Arc<egui::ColorImage>| {
                let [w, h] = image.size;
                let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
                if let Err(e) =
                    image::save_buffer(&path, &bytes, w as u32, h as u32, image::ColorType::Rgba8)
                {
                    eprintln!(
                        "syncwatch: could not save the screenshot ({e}): {}",
                        path.display()
                    );
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        ctx.request_repaint();
    }
}
