//! A private D-Bus session (`dbus-daemon --session` of the test's own) with a stand-in
//! freedesktop notification service on it (`org.freedesktop.Notifications`, served with zbus):
//! it records every `Notify` call and, when asked, keeps signalling that the user clicked a
//! notification (`ActionInvoked` with the "default" action), as a desktop does. For the desktop
//! notifier's test; it never touches the machine's own session bus.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One `Notify` call as the service received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub id: u32,
    pub app_name: String,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    pub desktop_entry: Option<String>,
}

#[derive(Debug, Default)]
struct Notifications {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().expect("lock");
        let id = shown.len() as u32 + 1;
        let desktop_entry = hints
            .get("desktop-entry")
            .and_then(|v| String::try_from(v.clone()).ok());
        shown.push(Shown {
            id,
            app_name,
            app_icon,
            summary,
            body,
            actions,
            desktop_entry,
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "stand-in".into(),
            "syncwatch tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

const PATH: &str = "/org/freedesktop/Notifications";

/// The private bus and the service on it; both stop when dropped.
pub struct NotificationService {
    daemon: Child,
    /// What to put in `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
    connection: zbus::blocking::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
}

impl Drop for NotificationService {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Starts `dbus-daemon --session` (it must be installed) and the service on it.
pub fn start() -> NotificationService {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs (Debian: apt-get install dbus-daemon)");
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the bus address");
    let address = line.trim().to_owned();
    assert!(address.starts_with("unix:"), "bus address {address:?}");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let connection = zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|b| b.name("org.freedesktop.Notifications"))
        .and_then(|b| {
            b.serve_at(
                PATH,
                Notifications {
                    shown: shown.clone(),
                },
            )
        })
        .and_then(|b| b.build())
        .expect("the notification service on the private bus");
    NotificationService {
        daemon,
        address,
        connection,
        shown,
    }
}

impl NotificationService {
    /// Every notification shown so far.
    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().expect("lock").clone()
    }

    /// Says that the user clicked notification `id` (the "default" action).
    pub fn click(&self, id: u32) {
        let iface = self
            .connection
            .object_server()
            .interface::<_, Notifications>(PATH)
            .expect("the service's interface");
        zbus::block_on(Notifications::action_invoked(
            iface.signal_emitter(),
            id,
            "default",
        ))
        .expect("ActionInvoked sent");
    }

    /// Waits up to `limit` for a notification to be shown.
    pub fn wait_for_shown(&self, limit: Duration) -> Option<Shown> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(first) = self.shown().first() {
                return Some(first.clone());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}
