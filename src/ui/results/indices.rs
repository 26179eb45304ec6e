//! Turns a snapshot and a [`GridFilter`] into the rows to show ([`compute_indices`]) and the
//! choices the filter bar lists (`filter_choices`). Pure functions, cancellable between chunks;
//! no egui, no threads (those are in `index_job`).

use super::filter::GridFilter;
use super::row_order;
use crate::engine::EditResultRecord;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

/// Filters and sorts `rows` into indices. Runs only when the snapshot or the filter changes.
pub fn compute_indices(rows: &[EditResultRecord], filter: &GridFilter) -> Vec<u32> {
    compute_indices_unless(rows, filter, &AtomicBool::new(false)).unwrap_or_default()
}

/// [`compute_indices`], giving up (`None`) once `cancelled` is set.
pub(super) fn compute_indices_unless(
    rows: &[EditResultRecord],
    filter: &GridFilter,
    cancelled: &AtomicBool,
) -> Option<Vec<u32>> {
    const CHECK_EVERY: usize = 1 << 16;
    let mut search = row_order::TextSearch::new(&filter.search);
    let mut indices: Vec<u32> = Vec::new();
    for (chunk_no, chunk) in rows.chunks(CHECK_EVERY).enumerate() {
        if cancelled.load(AtomicOrdering::Relaxed) {
            return None;
        }
        let first = chunk_no * CHECK_EVERY;
        indices.extend(
            chunk
                .iter()
                .enumerate()
                .filter(|(_, row)| {
                    filter.matches_filters(row) && search.as_mut().is_none_or(|s| s.matches(row))
                })
                .map(|(i, _)| (first + i) as u32),
        );
    }
    if cancelled.load(AtomicOrdering::Relaxed) {
        return None;
    }
    if let Some((column, ascending)) = filter.sort {
        row_order::sort(&mut indices, rows, column, ascending);
    }
    Some(indices)
}

/// The distinct layers and codes of a snapshot (at most a few hundred of each are listed).
pub(super) fn filter_choices(rows: &[EditResultRecord]) -> (Vec<(i64, String)>, Vec<i64>) {
    let mut layers: Vec<(i64, String)> = Vec::new();
    let mut codes: Vec<i64> = Vec::new();
    for row in rows {
        if !layers.iter().any(|(id, _)| *id == row.layer_id) {
            layers.push((row.layer_id, row.layer_name.to_string()));
        }
        if let Some(code) = row.code
            && !codes.contains(&code)
        {
            codes.push(code);
        }
        if layers.len() > 256 && codes.len() > 256 {
            break;
        }
    }
    layers.sort();
    codes.sort_unstable();
    (layers, codes)
}
