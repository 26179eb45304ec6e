//! The desktop's own notifications, through `notify-rust`: [`DesktopNotifier`] is the
//! [`Notifier`] `cli::gui` gives the window. The window decides what to announce; this part only
//! shows it and reports clicks back. It uses `model` only and knows neither the window nor the
//! engine.
//!
//! * The window's thread never waits: [`Notifier::notify`] puts the notification on a bounded
//!   queue ([`QUEUE`]; beyond it notifications are dropped with a debug line) and one thread of
//!   its own ("syncwatch-notify") shows them.
//! * A desktop without a notification service (no D-Bus session, a headless machine, CI) costs
//!   one `tracing` warning, at the first failure; later failures are debug lines. Never a panic.
//! * Clicks: on Linux and the BSDs (freedesktop notifications over D-Bus, pure Rust zbus, no C
//!   library) every notification carries the "default" action, and a thread waits for it (at
//!   most [`MAX_WAITING`] at once; past that a notification is shown without one) and puts the
//!   replica in [`NotificationClicks`], which wakes the window. On Windows (toasts) the same
//!   wait runs on the toast's answer; that path passes `cargo check --target
//!   x86_64-pc-windows-gnu` (this module alone: the whole crate needs a MinGW compiler for its C
//!   parts) but was not run on Windows.
//!   On macOS (`NSUserNotificationCenter`) notifications are shown but a click only brings the
//!   app forward: waiting for one needs the main thread's run loop, which eframe owns, so the
//!   replica is not selected there.

use crate::model::{LocalReplicaId, Notification, NotificationClicks, Notifier};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

/// Notifications waiting to be shown before more are dropped.
pub const QUEUE: usize = 16;

/// Threads waiting for a click at once (each waits until its notification is clicked or closed).
pub const MAX_WAITING: usize = 16;

/// The application name and icon the notification service shows (the desktop entry's).
const APP_NAME: &str = "Syncwatch";
const ICON: &str = "syncwatch";

/// Shows notifications on the desktop from a thread of its own.
#[derive(Debug)]
pub struct DesktopNotifier {
    queue: SyncSender<Notification>,
}

impl DesktopNotifier {
    /// Starts the notification thread; clicks on its notifications go to `clicks`. When the
    /// thread cannot be started, notifications are dropped (with a warning now).
    pub fn start(clicks: NotificationClicks) -> DesktopNotifier {
        let (queue, shown) = std::sync::mpsc::sync_channel(QUEUE);
        let started = std::thread::Builder::new()
            .name("syncwatch-notify".to_owned())
            .spawn(move || show_all(shown, clicks));
        if let Err(e) = started {
            tracing::warn!(error = %e, "desktop notifications are off: their thread did not start");
        }
        DesktopNotifier { queue }
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&self, notification: &Notification) {
        match self.queue.try_send(notification.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => {
                tracing::debug!(kind = ?n.kind, replica = %n.replica, "notification dropped: too many waiting");
            }
            Err(TrySendError::Disconnected(n)) => {
                tracing::debug!(kind = ?n.kind, replica = %n.replica, "notification dropped: no notification thread");
            }
        }
    }
}

/// The notification thread: shows each notification until the window's notifier is dropped.
fn show_all(shown: Receiver<Notification>, clicks: NotificationClicks) {
    let warned = AtomicBool::new(false);
    let waiting = Arc::new(AtomicUsize::new(0));
    while let Ok(notification) = shown.recv() {
        match show(&notification) {
            Ok(handle) => wait_for_click(handle, notification.replica, &clicks, &waiting),
            Err(e) if !warned.swap(true, Ordering::Relaxed) => tracing::warn!(
                error = %e,
                "desktop notifications are not available (no notification service?); continuing without them"
            ),
            Err(e) => {
                tracing::debug!(error = %e, kind = ?notification.kind, "notification not shown")
            }
        }
    }
}

fn show(n: &Notification) -> notify_rust::error::Result<notify_rust::NotificationHandle> {
    let mut note = notify_rust::Notification::new();
    note.appname(APP_NAME)
        .summary(&n.title)
        .body(&n.body)
        .icon(ICON);
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        // "default" is what a click on the notification's body invokes.
        note.action("default", "Show in Syncwatch")
            .hint(notify_rust::Hint::DesktopEntry(ICON.to_owned()));
    }
    #[cfg(windows)]
    {
        note.action("default", "Show in Syncwatch");
    }
    note.show()
}

/// Waits for a click on its own thread (Linux, the BSDs, Windows) and hands the replica to the
/// window; at most [`MAX_WAITING`] at once.
#[cfg(not(target_os = "macos"))]
fn wait_for_click(
    handle: notify_rust::NotificationHandle,
    replica: LocalReplicaId,
    clicks: &NotificationClicks,
    waiting: &Arc<AtomicUsize>,
) {
    if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        waiting.fetch_sub(1, Ordering::SeqCst);
        tracing::debug!(replica = %replica, "too many notifications wait for a click; not this one");
        return;
    }
    let (clicks, count) = (clicks.clone(), waiting.clone());
    let spawned = std::thread::Builder::new()
        .name("syncwatch-notify-click".to_owned())
        .spawn(move || {
            let answered =
                handle.wait_for_response(|response: &notify_rust::NotificationResponse| {
                    if is_click(response) {
                        clicks.click(replica);
                    }
                });
            if let Err(e) = answered {
                tracing::debug!(error = %e, "no answer from a notification");
            }
            count.fetch_sub(1, Ordering::SeqCst);
        });
    if let Err(e) = spawned {
        waiting.fetch_sub(1, Ordering::SeqCst);
        tracing::debug!(error = %e, "could not wait for a notification's click");
    }
}

/// macOS: waiting for a click needs the main run loop (eframe's); the notification is shown
/// and a click brings the app forward, without choosing the replica.
#[cfg(target_os = "macos")]
fn wait_for_click(
    _handle: notify_rust::NotificationHandle,
    _replica: LocalReplicaId,
    _clicks: &NotificationClicks,
    _waiting: &Arc<AtomicUsize>,
) {
}

/// A click on the notification or its "Show in Syncwatch" button (not a dismissal).
fn is_click(response: &notify_rust::NotificationResponse) -> bool {
    use notify_rust::NotificationResponse as R;
    match response {
        R::Default => true,
        R::Action(action) => action == "default",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NotificationKind;

    fn notification(i: i64) -> Notification {
        Notification {
            kind: NotificationKind::SyncFailing,
            replica: LocalReplicaId(i),
            replica_name: "Hydrants".into(),
            title: "Syncs of Hydrants keep failing".into(),
            body: "Failing for 16 min 0 s: [network] connection refused".into(),
        }
    }

    /// The window's side never blocks: past the queue's bound notifications are dropped and
    /// `notify` still returns at once (the queue here is never read, as when the notification
    /// thread is stuck on a slow service).
    #[test]
    fn notify_never_blocks_and_the_queue_is_bounded() {
        let (queue, shown) = std::sync::mpsc::sync_channel(QUEUE);
        let notifier = DesktopNotifier { queue };
        let started = std::time::Instant::now();
        for i in 0..(QUEUE as i64 * 4) {
            notifier.notify(&notification(i));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "notify waited: {:?}",
            started.elapsed()
        );
        let kept: Vec<i64> = shown.try_iter().map(|n| n.replica.0).collect();
        assert_eq!(
            kept,
            (0..QUEUE as i64).collect::<Vec<_>>(),
            "the first ones are kept"
        );
        drop(shown);
        notifier.notify(&notification(99)); // no thread any more: dropped, no panic
    }

    #[test]
    fn only_a_click_counts_as_one() {
        use notify_rust::{CloseReason, NotificationResponse as R};
        assert!(is_click(&R::Default));
        assert!(is_click(&R::Action("default".into())));
        assert!(!is_click(&R::Action("other".into())));
        assert!(!is_click(&R::Closed(CloseReason::Dismissed)));
    }
}
