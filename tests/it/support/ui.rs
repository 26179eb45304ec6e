//! Shared rig for the kittest UI tests: the app built from a command sink and an event channel,
//! no engine. Tests push `Event`s and read back the `Command`s the UI sent.

pub mod raster;
pub mod stack;
pub mod wizard;

use egui_kittest::Harness;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use syncwatch::engine::{Command, Event};
use syncwatch::model::{Notification, NotificationClicks, NotificationKind, Notifier};
use syncwatch::ui::{
    AppConfig, CommandSink, FilePicker, FixedDemoControls, FixedPathPicker, Persisted,
    SyncwatchApp, Tab, fixtures,
};

pub struct Rig {
    pub harness: Harness<'static, SyncwatchApp>,
    pub events: Sender<Event>,
    pub commands: tokio::sync::mpsc::Receiver<Command>,
    /// What the app sent while starting (refresh, results of the first replica).
    pub startup_commands: Vec<Command>,
}

pub struct RigOptions {
    pub export_path: Option<PathBuf>,
    /// A file picker of the test's own (instead of one answering `export_path` at once).
    pub picker: Option<Box<dyn FilePicker>>,
    pub show_log: bool,
    pub queue: usize,
    pub demo: bool,
    pub size: egui::Vec2,
    /// The window's notifier (none: it shows no notification).
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Where clicks on notifications come from (the test clicks as the desktop notifier would).
    pub clicks: NotificationClicks,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            export_path: None,
            picker: None,
            show_log: false,
            queue: 64,
            demo: false,
            size: egui::vec2(1280.0, 800.0),
            notifier: None,
            clicks: NotificationClicks::default(),
        }
    }
}

/// The app with the three fixture replicas loaded (log panel hidden unless asked for).
pub fn rig() -> Rig {
    rig_with(RigOptions::default())
}

pub fn rig_with(options: RigOptions) -> Rig {
    let (sink, commands) = CommandSink::channel(options.queue);
    let (events, event_rx) = std::sync::mpsc::channel();
    for e in fixtures::startup_events() {
        events.send(e).expect("receiver alive");
    }
    let persisted = Persisted {
        show_log: options.show_log,
        tab: Tab::Overview,
        ..Persisted::default()
    };
    let mut app = SyncwatchApp::new(
        sink,
        event_rx,
        options
            .picker
            .unwrap_or_else(|| Box::new(FixedPathPicker(options.export_path))),
        AppConfig {
            demo: options.demo,
            default_service_url: "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer"
                .to_owned(),
            demo_seed: None,
            // The demo service "answers" at once; the window then sends SyncAll.
            demo_controls: options
                .demo
                .then(|| Arc::new(FixedDemoControls(Ok(()))) as _),
            notifier: options.notifier,
            notification_clicks: options.clicks,
            ..AppConfig::default()
        },
        persisted,
    );
    app.set_mock_now_ms(Some(fixtures::NOW_MS));
    let mut harness = Harness::builder()
        .with_size(options.size)
        .build_ui_state(|ui, app: &mut SyncwatchApp| app.ui_for_tests(ui), app);
    harness.run();
    let mut rig = Rig {
        harness,
        events,
        commands,
        startup_commands: Vec::new(),
    };
    rig.startup_commands = rig.take_commands();
    rig
}

impl Rig {
    pub fn push(&mut self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            self.events.send(e).expect("receiver alive");
        }
        self.harness.run();
    }

    /// Every command sent since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        while let Ok(c) = self.commands.try_recv() {
            out.push(c);
        }
        out
    }

    /// [`Rig::take_commands`] without the detail pane's `LoadFeatureMap` (sent once per selected
    /// row; `ui::geometry_map` checks them).
    pub fn take_commands_but_map_loads(&mut self) -> Vec<Command> {
        self.take_commands()
            .into_iter()
            .filter(|c| !matches!(c, Command::LoadFeatureMap { .. }))
            .collect()
    }

    /// Types into the text box labelled `label`.
    pub fn type_into(&mut self, label: &str, text: &str) {
        type_into_with(&mut self.harness, label, text, Settle::Run);
    }

    /// Replaces the text of the box labelled `label` as a user does: select all, then type.
    pub fn retype(&mut self, label: &str, text: &str) {
        use egui_kittest::kittest::Queryable as _;
        let role = egui::accesskit::Role::TextInput;
        self.harness.get_by_role_and_label(role, label).click();
        self.harness.run();
        self.harness
            .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        self.harness.run();
        if text.is_empty() {
            self.harness.key_press(egui::Key::Backspace);
        } else {
            self.harness
                .get_by_role_and_label(role, label)
                .type_text(text);
        }
        self.harness.run();
        let value = self.harness.get_by_role_and_label(role, label).value();
        assert_eq!(value.as_deref(), Some(text), "the field {label:?}");
    }

    pub fn click(&mut self, label: &str) {
        click_with(&mut self.harness, label, Settle::Run);
    }

    /// Clicks `label` where the click starts a background filter of a large snapshot, and runs
    /// frames until its rows have landed in the grid (a spinner repaints until then).
    pub fn click_and_settle_grid(&mut self, label: &str) {
        use egui_kittest::kittest::Queryable as _;
        let rebuilds = self.harness.state().grid.rebuilds;
        self.harness.get_by_label(label).click();
        for _ in 0..10_000 {
            self.harness.step();
            let grid = &self.harness.state().grid;
            if grid.rebuilds > rebuilds && !grid.is_filtering() {
                self.harness.run();
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the grid filter never finished");
    }

    pub fn select_replica(&mut self, name: &str) {
        self.click(name);
    }

    /// Selects the failing replica and opens its edit results.
    pub fn open_failing_results(&mut self) {
        self.select_replica("Parcel inspections");
        self.click("Edit results (8 failed)");
    }
}

/// How a test lets the window settle after an input: until it stops asking for repaints (no
/// engine), or a few frames (the real engine works on other threads).
#[derive(Debug, Clone, Copy)]
pub enum Settle {
    Run,
    Steps(usize),
}

fn settle(h: &mut Harness<'static, SyncwatchApp>, how: Settle) {
    match how {
        Settle::Run => {
            h.run();
        }
        Settle::Steps(n) => h.run_steps(n),
    }
}

/// Types into the text box labelled `label`.
pub fn type_into_with(
    h: &mut Harness<'static, SyncwatchApp>,
    label: &str,
    text: &str,
    how: Settle,
) {
    use egui_kittest::kittest::Queryable as _;
    let role = egui::accesskit::Role::TextInput;
    h.get_by_role_and_label(role, label).click();
    settle(h, how);
    h.get_by_role_and_label(role, label).type_text(text);
    settle(h, how);
    // A click that missed the field (the layout moved under it) loses the text: say so here.
    let value = h.get_by_role_and_label(role, label).value();
    assert!(
        value.as_deref().is_some_and(|v| v.contains(text)),
        "{text:?} did not land in the field {label:?} (it holds {value:?})"
    );
}

/// Clicks the widget labelled `label`.
pub fn click_with(h: &mut Harness<'static, SyncwatchApp>, label: &str, how: Settle) {
    use egui_kittest::kittest::Queryable as _;
    h.get_by_label(label).click();
    settle(h, how);
}

/// A drag with the primary button from `from` to `to`, in a few moves.
pub fn drag<S>(h: &mut Harness<'static, S>, from: egui::Pos2, to: egui::Pos2) {
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for k in 1..=4 {
        h.hover_at(from + (to - from) * (k as f32 / 4.0));
        h.step();
    }
    h.drop_at(to);
    h.run_steps(2);
}

/// A notifier that records what the window asks it to show: the tests' view of the desktop
/// notifications (the real one, `syncwatch::desktop::DesktopNotifier`, sits behind the same
/// trait).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    shown: std::sync::Mutex<Vec<Notification>>,
}

impl Notifier for RecordingNotifier {
    fn notify(&self, notification: &Notification) {
        self.shown
            .lock()
            .expect("recorder lock")
            .push(notification.clone());
    }
}

impl RecordingNotifier {
    /// Every notification shown so far.
    pub fn shown(&self) -> Vec<Notification> {
        self.shown.lock().expect("recorder lock").clone()
    }

    /// The notifications shown so far, as (kind, replica id).
    pub fn kinds(&self) -> Vec<(NotificationKind, i64)> {
        self.shown().iter().map(|n| (n.kind, n.replica.0)).collect()
    }
}
