//! Keeps the grid's index vector in step with its snapshot: which snapshot the indices were built
//! for (`SourceKey`), what an index holds (`GridIndex`) and the worker thread that builds it
//! for large snapshots (`IndexJob`, cancelled when dropped). It draws nothing.

use super::filter::GridFilter;
use super::indices::{compute_indices_unless, filter_choices};
use crate::engine::{EditResultRecord, LocalReplicaId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

/// Snapshots with more rows than this are filtered and sorted on a worker thread: a million rows
/// take longer than one frame, and the window must not stall while the technician types.
pub const BACKGROUND_ROWS: usize = 50_000;

/// Identity of the snapshot the indices were computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SourceKey {
    replica: LocalReplicaId,
    ptr: usize,
    len: usize,
}

impl SourceKey {
    pub(super) fn of(replica: LocalReplicaId, rows: &Arc<[EditResultRecord]>) -> SourceKey {
        SourceKey {
            replica,
            ptr: Arc::as_ptr(rows) as *const u8 as usize,
            len: rows.len(),
        }
    }
}

/// What a snapshot plus a filter turn into: the rows to show and the choices for the filter bar.
#[derive(Debug, Default)]
pub(super) struct GridIndex {
    pub(super) indices: Vec<u32>,
    pub(super) layers: Vec<(i64, String)>,
    pub(super) codes: Vec<i64>,
}

impl GridIndex {
    pub(super) fn build(
        rows: &[EditResultRecord],
        filter: &GridFilter,
        cancelled: &AtomicBool,
    ) -> Option<GridIndex> {
        let indices = compute_indices_unless(rows, filter, cancelled)?;
        let (layers, codes) = filter_choices(rows);
        Some(GridIndex {
            indices,
            layers,
            codes,
        })
    }
}

/// A filter running on a worker thread for one snapshot.
pub(super) struct IndexJob {
    pub(super) key: SourceKey,
    pub(super) filter: GridFilter,
    pub(super) rows: Arc<[EditResultRecord]>,
    cancelled: Arc<AtomicBool>,
    pub(super) done: std::sync::mpsc::Receiver<GridIndex>,
}

impl IndexJob {
    pub(super) fn start(
        key: SourceKey,
        filter: GridFilter,
        rows: Arc<[EditResultRecord]>,
        waker: &egui::Context,
    ) -> IndexJob {
        let cancelled = Arc::new(AtomicBool::new(false));
        let (tx, done) = std::sync::mpsc::channel();
        let (job_rows, job_filter, job_cancelled, waker) = (
            rows.clone(),
            filter.clone(),
            cancelled.clone(),
            waker.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("syncwatch-grid-filter".into())
            .spawn(move || {
                if let Some(index) = GridIndex::build(&job_rows, &job_filter, &job_cancelled) {
                    let _ = tx.send(index);
                    waker.request_repaint();
                }
            });
        if let Err(e) = spawned {
            // No thread to spare: the receiver reports Disconnected and the grid filters inline.
            tracing::warn!("could not start the grid filter thread: {e}");
        }
        IndexJob {
            key,
            filter,
            rows,
            cancelled,
            done,
        }
    }
}

impl Drop for IndexJob {
    fn drop(&mut self) {
        self.cancelled.store(true, AtomicOrdering::Relaxed);
    }
}
