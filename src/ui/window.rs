//! Opens the native window with eframe ([`open`]) and wakes it from other threads ([`Repaint`]).
//! The start-up side (`cli::gui`) calls these so that only `ui` names egui and eframe; nothing
//! here starts the engine or the demo.

use super::{AppConfig, CommandSink, RfdFilePicker, SyncwatchApp};
use crate::engine::EventReceiver;
use std::sync::{Arc, OnceLock};

/// The application icon (the 256 px rendering of `assets/icons/syncwatch.svg`), shown by the
/// window manager and the taskbar.
const APP_ICON_PNG: &[u8] = include_bytes!("../../assets/icons/syncwatch-256.png");

/// Asks the window to repaint once it exists (events sent before that wait in the channel and are
/// drained on the first frame). Cheap to clone.
#[derive(Clone, Default)]
pub struct Repaint(Arc<OnceLock<egui::Context>>);

impl std::fmt::Debug for Repaint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Repaint")
            .field(&self.0.get().is_some())
            .finish()
    }
}

impl Repaint {
    /// A waker for the engine's event channel and the demo seeding.
    pub fn waker(&self) -> Arc<dyn Fn() + Send + Sync> {
        let cell = self.0.clone();
        Arc::new(move || {
            if let Some(ctx) = cell.get() {
                ctx.request_repaint();
            }
        })
    }
}

/// Opens the window and blocks until it is closed. `mock_now_ms` freezes the window's clock
/// (fixture mode).
pub fn open(
    repaint: Repaint,
    commands: CommandSink,
    events: EventReceiver,
    config: AppConfig,
    mock_now_ms: Option<i64>,
) -> Result<(), eframe::Error> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(super::app::BASE_TITLE)
        .with_app_id("syncwatch")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([900.0, 560.0]);
    // The icon is compiled in; a damaged one only costs the icon (the desktop entry has its own).
    match eframe::icon_data::from_png_bytes(APP_ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => tracing::warn!("the window icon could not be decoded: {err}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        // Window size and position come back from eframe storage (stated, because the layout
        // promise depends on it); panel sizes come back with egui's memory.
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "syncwatch",
        options,
        Box::new(move |cc| {
            let _ = repaint.0.set(cc.egui_ctx.clone());
            let mut app = SyncwatchApp::from_creation_context(
                cc,
                commands,
                events,
                Box::new(RfdFilePicker),
                config,
            );
            app.set_mock_now_ms(mock_now_ms);
            Ok(Box::new(app))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::APP_ICON_PNG;

    #[test]
    fn the_compiled_in_icon_decodes_to_a_square_rgba_image() {
        let icon = eframe::icon_data::from_png_bytes(APP_ICON_PNG).expect("icon decodes");
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
    }
}
