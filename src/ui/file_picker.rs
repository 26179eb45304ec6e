//! Where a CSV export goes and which offline map to open: the [`FilePicker`] trait, the native dialog ([`RfdFilePicker`], on its
//! own thread) and a fixed answer for tests ([`FixedPathPicker`]). The window never waits for an
//! answer; it polls [`PendingPick`] on later frames.

use std::path::PathBuf;

/// Chooses where a CSV export goes without blocking the window: [`FilePicker::pick_save_csv`]
/// returns at once and the answer arrives through [`PendingPick::poll`] on a later frame. The
/// app uses [`RfdFilePicker`]; tests inject a path with [`FixedPathPicker`].
pub trait FilePicker {
    /// Starts asking. `ctx` is repainted when the answer is there.
    fn pick_save_csv(&mut self, ctx: &egui::Context, suggested_name: &str) -> PendingPick;

    /// Starts asking for an ArcGIS offline map (`.geodatabase`) to open. Pickers that cannot
    /// open files answer "cancelled".
    fn pick_open_geodatabase(&mut self, _ctx: &egui::Context) -> PendingPick {
        PendingPick::ready(None)
    }
}

/// A file dialog's answer that may not have arrived yet.
#[derive(Debug)]
pub struct PendingPick {
    answer: std::sync::mpsc::Receiver<Option<PathBuf>>,
}

impl PendingPick {
    /// A pick and the sender its answer comes through.
    pub fn channel() -> (std::sync::mpsc::Sender<Option<PathBuf>>, PendingPick) {
        let (tx, answer) = std::sync::mpsc::channel();
        (tx, PendingPick { answer })
    }

    /// An answer that is already known.
    pub fn ready(path: Option<PathBuf>) -> PendingPick {
        let (tx, pick) = Self::channel();
        let _ = tx.send(path);
        pick
    }

    /// `None` while the dialog is open; then once `Some(path)` (`Some(None)`: cancelled).
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.answer.try_recv() {
            Ok(path) => Some(path),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(None),
        }
    }
}

/// The native "save as" dialog (rfd's async dialog, driven on its own thread so the window keeps
/// drawing). On a headless machine it answers `None` at once.
pub struct RfdFilePicker;

impl FilePicker for RfdFilePicker {
    fn pick_save_csv(&mut self, ctx: &egui::Context, suggested_name: &str) -> PendingPick {
        let (tx, pick) = PendingPick::channel();
        let dialog = rfd::AsyncFileDialog::new()
            .set_title("Export as CSV")
            .set_file_name(suggested_name)
            .add_filter("CSV", &["csv"]);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("syncwatch-file-dialog".into())
            .spawn(move || {
                let chosen = pollster::block_on(dialog.save_file());
                let _ = tx.send(chosen.map(|file| file.path().to_path_buf()));
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the file dialog thread");
        }
        // A failed spawn dropped the sender: the pick then reads as cancelled.
        pick
    }

    fn pick_open_geodatabase(&mut self, ctx: &egui::Context) -> PendingPick {
        let (tx, pick) = PendingPick::channel();
        let dialog = rfd::AsyncFileDialog::new()
            .set_title("Open an ArcGIS offline map")
            .add_filter("Mobile geodatabase", &["geodatabase"]);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("syncwatch-open-dialog".into())
            .spawn(move || {
                let chosen = pollster::block_on(dialog.pick_file());
                let _ = tx.send(chosen.map(|file| file.path().to_path_buf()));
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the file dialog thread");
        }
        pick
    }
}

/// Always answers the same path at once (tests, scripted runs).
#[derive(Debug, Clone, Default)]
pub struct FixedPathPicker(pub Option<PathBuf>);

impl FilePicker for FixedPathPicker {
    fn pick_save_csv(&mut self, _ctx: &egui::Context, _suggested_name: &str) -> PendingPick {
        PendingPick::ready(self.0.clone())
    }
}
