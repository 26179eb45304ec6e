//! The engine → front end event channel. Owns [`EventSender`] (engine side: every send wakes the
//! front end) and [`EventReceiver`] (front end side, `try_recv`/`recv_timeout` like std's, and
//! [`EventReceiver::wait_for`], the one way to block until a wanted event arrives).
//!
//! [`event_channel`] gives the coalescing queue the GUI reads: a job's progress
//! ([`Event::JobStatus`]) and a replica's summary ([`Event::ReplicaChanged`]) are snapshots, so an
//! unread one is replaced by the next one of the same job or replica (the newer goes to the back,
//! so every replica's events still arrive in the order they were sent, minus the superseded
//! ones). However slowly the window reads, at most one progress event per job and one summary
//! per replica wait in the queue: polling a long job cannot grow it. Every other event is kept.
//!
//! [`EventSender::new`] wraps a plain std channel (the CLI and tests read theirs promptly).
//! Nothing here blocks the engine: a send never waits for the reader.

use super::api::Event;
use std::collections::VecDeque;
use std::sync::mpsc::{RecvError, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why [`EventReceiver::wait_for`] (or a [`JobTicket`](super::JobTicket)'s wait) ended without
/// what it waited for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    /// Nothing matching arrived in time.
    #[error("no answer from the engine within {0:?}")]
    Timeout(Duration),
    /// Every sender is gone (the engine stopped) and no matching event is left.
    #[error("the engine stopped")]
    Stopped,
    /// Only from a ticket: the command failed before it queued a job (its [`Event::CommandFailed`]).
    #[error("{what}: {}", error.message)]
    CommandFailed {
        what: String,
        error: super::api::Failure,
    },
}

/// What the coalescing queue has seen, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events sent into the queue.
    pub sent: u64,
    /// Of those, snapshots replaced by a newer one before they were read.
    pub coalesced: u64,
    /// The most events that ever waited unread at once.
    pub high_water: usize,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    stats: QueueStats,
    senders_gone: bool,
    receiver_gone: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every critical section leaves the queue consistent, so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event`, replacing an unread snapshot it supersedes. False if nobody reads anymore.
    fn push(&self, event: Event) -> bool {
        let mut queue = self.lock();
        if queue.receiver_gone {
            return false;
        }
        queue.stats.sent += 1;
        if let Some(index) = queue.events.iter().position(|old| supersedes(&event, old)) {
            queue.events.remove(index);
            queue.stats.coalesced += 1;
        }
        queue.events.push_back(event);
        queue.stats.high_water = queue.stats.high_water.max(queue.events.len());
        drop(queue);
        self.ready.notify_one();
        true
    }
}

/// Whether `new` makes the unread `old` pointless: a newer progress of the same job, or a newer
/// summary of the same replica.
fn supersedes(new: &Event, old: &Event) -> bool {
    match (new, old) {
        (Event::JobStatus { job: a, .. }, Event::JobStatus { job: b, .. }) => a == b,
        (Event::ReplicaChanged { summary: a }, Event::ReplicaChanged { summary: b }) => {
            a.id == b.id
        }
        _ => false,
    }
}

/// Marks the queue closed when the last sender clone is dropped.
struct SenderSide(Arc<Shared>);

impl Drop for SenderSide {
    fn drop(&mut self) {
        self.0.lock().senders_gone = true;
        self.0.ready.notify_all();
    }
}

#[derive(Clone)]
enum Route {
    Plain(std::sync::mpsc::Sender<Event>),
    Coalescing(Arc<SenderSide>),
}

/// Engine-side end of the event channel: every send calls the waker (the UI's repaint request).
#[derive(Clone)]
pub struct EventSender {
    route: Route,
    waker: Arc<dyn Fn() + Send + Sync>,
}

impl EventSender {
    /// Sends into a plain std channel (nothing is coalesced).
    pub fn new(tx: std::sync::mpsc::Sender<Event>, waker: Arc<dyn Fn() + Send + Sync>) -> Self {
        EventSender {
            route: Route::Plain(tx),
            waker,
        }
    }

    /// Sends and wakes the receiver. A send fails only after the front end has gone; then no one is left to tell.
    pub fn send(&self, event: Event) {
        let delivered = match &self.route {
            Route::Plain(tx) => tx.send(event).is_ok(),
            Route::Coalescing(side) => side.0.push(event),
        };
        if delivered {
            (self.waker)();
        }
    }
}

/// The coalescing channel (see the module docs); `waker` runs after every send.
pub fn event_channel(waker: Arc<dyn Fn() + Send + Sync>) -> (EventSender, EventReceiver) {
    let shared = Arc::new(Shared::default());
    let sender = EventSender {
        route: Route::Coalescing(Arc::new(SenderSide(shared.clone()))),
        waker,
    };
    (sender, EventReceiver(ReceiverRoute::Coalescing(shared)))
}

enum ReceiverRoute {
    Plain(std::sync::mpsc::Receiver<Event>),
    Coalescing(Arc<Shared>),
}

/// Front-end end of the event channel, read like `std::sync::mpsc::Receiver`.
pub struct EventReceiver(ReceiverRoute);

impl From<std::sync::mpsc::Receiver<Event>> for EventReceiver {
    fn from(rx: std::sync::mpsc::Receiver<Event>) -> Self {
        EventReceiver(ReceiverRoute::Plain(rx))
    }
}

impl EventReceiver {
    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Result<Event, TryRecvError> {
        match &self.0 {
            ReceiverRoute::Plain(rx) => rx.try_recv(),
            ReceiverRoute::Coalescing(shared) => {
                let mut queue = shared.lock();
                match queue.events.pop_front() {
                    Some(event) => Ok(event),
                    None if queue.senders_gone => Err(TryRecvError::Disconnected),
                    None => Err(TryRecvError::Empty),
                }
            }
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, RecvTimeoutError> {
        match &self.0 {
            ReceiverRoute::Plain(rx) => rx.recv_timeout(timeout),
            ReceiverRoute::Coalescing(shared) => {
                let deadline = Instant::now() + timeout;
                let mut queue = shared.lock();
                loop {
                    if let Some(event) = queue.events.pop_front() {
                        return Ok(event);
                    }
                    if queue.senders_gone {
                        return Err(RecvTimeoutError::Disconnected);
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    queue = shared
                        .ready
                        .wait_timeout(queue, left)
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            }
        }
    }

    /// Waits for the next event; an error once every sender is gone and the queue is empty.
    pub fn recv(&self) -> Result<Event, RecvError> {
        loop {
            match self.recv_timeout(Duration::from_secs(3600)) {
                Ok(event) => return Ok(event),
                Err(RecvTimeoutError::Disconnected) => return Err(RecvError),
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
    }

    /// Reads events until `pick` accepts one (dropping the others), for up to `timeout` in all.
    /// Blocks the calling thread.
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T, WaitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_timeout(left) {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return Ok(found);
                    }
                    // A steady stream of other events must not keep the wait going forever.
                    if left.is_zero() {
                        return Err(WaitError::Timeout(timeout));
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Err(WaitError::Timeout(timeout)),
                Err(RecvTimeoutError::Disconnected) => return Err(WaitError::Stopped),
            }
        }
    }

    /// Every event waiting now, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = Event> + '_ {
        std::iter::from_fn(move || self.try_recv().ok())
    }

    /// Events waiting unread (0 for a plain channel, which cannot tell).
    pub fn pending(&self) -> usize {
        match &self.0 {
            ReceiverRoute::Plain(_) => 0,
            ReceiverRoute::Coalescing(shared) => shared.lock().events.len(),
        }
    }

    /// What the coalescing queue has seen (all zero for a plain channel).
    pub fn stats(&self) -> QueueStats {
        match &self.0 {
            ReceiverRoute::Plain(_) => QueueStats::default(),
            ReceiverRoute::Coalescing(shared) => shared.lock().stats,
        }
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        if let ReceiverRoute::Coalescing(shared) = &self.0 {
            let mut queue = shared.lock();
            queue.receiver_gone = true;
            queue.events.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::{JobId, LocalReplicaId};
    use crate::protocol::JobState;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn status(job: i64, progress: f32) -> Event {
        Event::JobStatus {
            replica: LocalReplicaId(1),
            job: JobId(job),
            state: JobState::InProgress,
            progress: Some(progress),
            message: String::new(),
        }
    }

    #[test]
    fn sender_wakes_on_every_send_and_survives_a_closed_receiver() {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let sender = EventSender::new(
            tx,
            Arc::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
        );
        sender.send(Event::ReplicaRemoved {
            replica: LocalReplicaId(2),
        });
        drop(rx);
        sender.send(Event::ReplicaRemoved {
            replica: LocalReplicaId(1),
        });
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }

    /// Thousands of progress events of two jobs, never read: two wait, the newest of each, and
    /// the other events around them keep their order.
    #[test]
    fn unread_progress_is_coalesced_per_job_and_order_is_kept() {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let (sender, receiver) = event_channel(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        sender.send(Event::JobQueued {
            replica: LocalReplicaId(1),
            job: JobId(1),
            command: None,
        });
        for i in 0..5000 {
            sender.send(status(1, i as f32 / 5000.0));
            sender.send(status(2, i as f32 / 5000.0));
        }
        sender.send(Event::ReplicaRemoved {
            replica: LocalReplicaId(9),
        });
        assert_eq!(receiver.pending(), 4);
        let stats = receiver.stats();
        assert_eq!((stats.sent, stats.coalesced), (10_002, 9_998));
        assert!(stats.high_water <= 4);
        assert_eq!(woken.load(Ordering::SeqCst), 10_002);
        let read: Vec<Event> = receiver.try_iter().collect();
        assert!(matches!(read[0], Event::JobQueued { .. }));
        assert_eq!(read[1], status(1, 4999.0 / 5000.0));
        assert_eq!(read[2], status(2, 4999.0 / 5000.0));
        assert!(matches!(read[3], Event::ReplicaRemoved { .. }));
    }

    #[test]
    fn disconnects_once_senders_are_gone_and_drained() {
        let (sender, receiver) = event_channel(Arc::new(|| {}));
        let clone = sender.clone();
        drop(sender);
        clone.send(status(1, 0.5));
        drop(clone);
        assert!(receiver.recv_timeout(Duration::from_millis(10)).is_ok());
        assert_eq!(receiver.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(receiver.recv(), Err(RecvError));
    }

    #[test]
    fn a_send_after_the_receiver_is_gone_does_not_wake() {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let (sender, receiver) = event_channel(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        drop(receiver);
        sender.send(status(1, 0.1));
        assert_eq!(woken.load(Ordering::SeqCst), 0);
    }
}
