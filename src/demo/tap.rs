//! [`EventTap`]: sits between the engine and the window so the seeder can follow the engine's
//! events without taking them from the window. It only forwards; it must not change or drop events.

use crate::engine::{Event, EventSender};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Sits between the engine and the window: every event goes on to the window, and listeners
/// (the seeder) get a copy. Runs on its own thread and ends when the engine drops its sender.
#[derive(Clone, Default)]
pub struct EventTap {
    listeners: Arc<Mutex<Vec<mpsc::UnboundedSender<Event>>>>,
}

impl EventTap {
    /// Returns the sender to give the engine; events reach `window` through the tap.
    pub fn start(window: EventSender) -> (EventSender, EventTap) {
        let (tx, rx) = std::sync::mpsc::channel::<Event>();
        let tap = EventTap::default();
        let listeners = tap.listeners.clone();
        let forward = move || {
            while let Ok(event) = rx.recv() {
                {
                    let mut listeners = listeners.lock().unwrap_or_else(|p| p.into_inner());
                    listeners.retain(|l| l.send(event.clone()).is_ok());
                }
                window.send(event);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("syncwatch-events".into())
            .spawn(forward);
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the event thread");
        }
        (EventSender::new(tx, Arc::new(|| {})), tap)
    }

    /// A copy of every event from now on, until the receiver is dropped.
    pub fn listen(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }
}
