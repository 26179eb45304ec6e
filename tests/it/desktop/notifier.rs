//! The real desktop notifier (`syncwatch::desktop::DesktopNotifier`, notify-rust over D-Bus):
//! against a stand-in freedesktop notification service on a private session bus it shows the
//! window's notification (title, body, app name, icon, desktop entry, the "default" action) and
//! reports the click on it as that replica; without any session bus it stays quiet: `notify`
//! returns at once, one warning, no panic.
//!
//! notify-rust finds the bus through `DBUS_SESSION_BUS_ADDRESS`, which a test cannot change in
//! its own process safely, so each case runs its other half in a child process (this test binary
//! again, one `#[ignore]`d test chosen with `--exact`) with the variable set.

use crate::support::notification_service;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use syncwatch::desktop::DesktopNotifier;
use syncwatch::model::{
    LocalReplicaId, Notification, NotificationClicks, NotificationKind, Notifier,
};

/// Which half the child runs; unset in the parent.
const CHILD: &str = "SYNCWATCH_TEST_NOTIFIER_CHILD";

fn notification() -> Notification {
    Notification {
        kind: NotificationKind::ResetNeeded,
        replica: LocalReplicaId(7),
        replica_name: "Hydrants".into(),
        title: "Hydrants needs a client reset".into(),
        body: "the replica is unknown to the service. Reset mode: manual.".into(),
    }
}

/// This test binary running the child half `test` with the bus at `address`.
fn child(test: &str, address: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the child test")
}

/// Shown on the desktop's notification service, clicked there: the window hears the replica.
#[test]
#[ignore = "needs dbus-daemon (Debian: dbus-daemon): cargo test --test it -- --ignored desktop::"]
fn shows_the_notification_and_reports_its_click() {
    let service = notification_service::start();
    let mut half = child(
        "desktop::notifier::child_notifies_and_waits_for_the_click",
        &service.address,
    );
    let shown = service
        .wait_for_shown(Duration::from_secs(20))
        .expect("the notification reached the service");
    assert_eq!(shown.app_name, "Syncwatch");
    assert_eq!(shown.summary, "Hydrants needs a client reset");
    assert_eq!(
        shown.body,
        "the replica is unknown to the service. Reset mode: manual."
    );
    assert_eq!(shown.app_icon, "syncwatch");
    assert_eq!(shown.actions, vec!["default", "Show in Syncwatch"]);
    assert_eq!(shown.desktop_entry.as_deref(), Some("syncwatch"));
    // The user clicks; the signal is repeated until the child has heard it (it subscribes to it
    // on its own thread right after the notification is shown).
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = half.try_wait().expect("child status") {
            break status;
        }
        assert!(Instant::now() < deadline, "the click never arrived");
        service.click(shown.id);
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = half.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("clicked: replica 7"), "{stdout}");
    assert_eq!(service.shown().len(), 1, "one notification, shown once");
}

/// No session bus at all (a headless machine): nothing waits, nothing panics, one warning.
#[test]
fn without_a_notification_service_it_stays_quiet() {
    let half = child(
        "desktop::notifier::child_notifies_without_a_service",
        "unix:path=/nonexistent/syncwatch-test-bus",
    );
    let output = half.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed: {stdout}\n{stderr}");
    assert!(
        stdout.contains("notified 3 times without waiting"),
        "{stdout}"
    );
    assert_eq!(
        stderr
            .matches("desktop notifications are not available")
            .count(),
        1,
        "one warning: {stderr}"
    );
}

/// Child half: notifies, then waits for the click to come back (up to 20 s).
#[test]
#[ignore = "the child half of shows_the_notification_and_reports_its_click"]
fn child_notifies_and_waits_for_the_click() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let clicks = NotificationClicks::default();
    let notifier = DesktopNotifier::start(clicks.clone());
    notifier.notify(&notification());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(replica) = clicks.take().first() {
            println!("clicked: replica {}", replica.0);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no click came back");
}

/// Child half: three notifications with no bus to send them on.
#[test]
#[ignore = "the child half of without_a_notification_service_it_stays_quiet"]
fn child_notifies_without_a_service() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let notifier = DesktopNotifier::start(NotificationClicks::default());
    let started = Instant::now();
    for _ in 0..3 {
        notifier.notify(&notification());
    }
    assert!(started.elapsed() < Duration::from_millis(500));
    println!("notified 3 times without waiting");
    // Give the notification thread time to try (and fail) all three.
    std::thread::sleep(Duration::from_secs(2));
}
