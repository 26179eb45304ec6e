//! The background WAL checkpointer of the service database: a thread with its own connection
//! that runs a PASSIVE checkpoint when nudged. Owns only that thread; it never writes rows.

use rusqlite::Connection;
use std::path::Path;

/// Copies the write-ahead log into the database file on a thread of its own, with its own
/// connection, so that the commit of a large sync does not wait for the checkpoint (SQLite runs
/// it inside the commit that crosses `wal_autocheckpoint` otherwise). A PASSIVE checkpoint never
/// blocks the service's connection. The thread ends when the [`ServiceDb`](super::ServiceDb) is dropped.
pub(super) struct Checkpointer {
    nudge: std::sync::mpsc::SyncSender<()>,
}

impl Checkpointer {
    /// `None` (and a warning) when the connection or the thread cannot be had.
    pub(super) fn start(path: &Path) -> Option<Self> {
        let conn = match Connection::open(path) {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(%err, "no background checkpoints: cannot open the database");
                return None;
            }
        };
        // One pending nudge is enough: a checkpoint copies everything committed before it.
        let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("service-wal-checkpoint".into())
            .spawn(move || {
                for () in nudged {
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(err) = done {
                        tracing::warn!(%err, "WAL checkpoint failed");
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Checkpointer { nudge }),
            Err(err) => {
                tracing::warn!(%err, "no background checkpoints: cannot start the thread");
                None
            }
        }
    }

    pub(super) fn nudge(&self) {
        // Full: a checkpoint is already pending. Disconnected: the thread is gone (it only
        // ends with the store), and SQLite's own checkpoints remain.
        let _ = self.nudge.try_send(());
    }
}
