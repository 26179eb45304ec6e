//! The edit-results grid: a virtual table over an immutable snapshot (`Arc<[EditResultRecord]>`),
//! filtered and sorted into an index vector only when the snapshot, a filter or the sort change
//! (never per frame), so it stays smooth at a million rows. Filter chips by series, filters by
//! layer, change type and code, text search, click-to-sort headers, and a detail pane with the
//! catalog's guidance and the row actions (fix and resend, drop, copy GlobalID, export CSV).
//!
//! * [`filter`]       chips, sortable columns and the filter (no egui).
//! * [`row_order`]    fast text search and keyed sorts over a snapshot (no egui).
//! * [`indices`]      a snapshot plus a filter → the rows to show (no egui).
//! * [`index_job`]    which snapshot the indices belong to; the worker thread for large ones.
//! * `filter_bar`, `table`, `detail_pane`  the three parts on screen; `attribute_compare` the
//!   detail pane's local-beside-server attribute table.

mod attribute_compare;
mod detail_pane;
pub mod filter;
mod filter_bar;
pub mod index_job;
pub mod indices;
pub mod row_order;
mod table;

pub use detail_pane::ATTACHMENT_MARK;
pub use filter::{Chip, GridFilter, SortColumn};
pub use index_job::BACKGROUND_ROWS;
pub use indices::compute_indices;

use crate::engine::{EditResultRecord, LocalReplicaId};
use crate::model::FixForm;
use crate::protocol::Guid;
use index_job::{GridIndex, IndexJob, SourceKey};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Height of one grid row in points.
pub const ROW_HEIGHT: f32 = 20.0;

/// A row of the edit-results snapshot the grid shows (its position in the snapshot, not on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowIndex(pub u32);

impl RowIndex {
    /// The row in `rows`, if the snapshot still has it.
    pub fn get(self, rows: &[EditResultRecord]) -> Option<&EditResultRecord> {
        rows.get(self.0 as usize)
    }
}

/// The grid's UI state (per window, not persisted except the chip).
#[derive(Default)]
pub struct GridState {
    pub filter: GridFilter,
    /// Row numbers into the snapshot, in display order.
    pub indices: Vec<u32>,
    /// Selected row (index into the snapshot, not into `indices`).
    pub selected: Option<u32>,
    /// Every selected row when several are (Ctrl/Shift+click); holds `selected` too.
    pub marked: BTreeSet<u32>,
    /// Where a Shift+click range starts.
    anchor: Option<u32>,
    /// The selected row's attributes, local and server, for the detail pane (loaded by the
    /// engine for `compare_for`).
    pub compare: Option<FixForm>,
    /// The edit whose attributes were asked for.
    pub compare_for: Option<(i64, Guid)>,
    /// The engine could not load them (the edit is no longer queued).
    pub compare_missing: bool,
    /// Scroll the table to this display position next frame.
    pub scroll_to: Option<usize>,
    /// Give the search box keyboard focus next frame.
    pub focus_search: bool,
    /// How many times the index vector was rebuilt (tests check it is not per frame).
    pub rebuilds: u64,
    /// The map of the selected row's feature in the detail pane.
    pub feature_panel: crate::ui::feature_map::FeaturePanel,
    /// The "Conflicts" chip is chosen: the compare view shows instead of the table.
    pub show_conflicts: bool,
    /// The selected replica's recorded conflicts (the chip's count).
    pub conflict_count: usize,
    /// The replica whose results the grid is showing (or about to show).
    replica: Option<LocalReplicaId>,
    source: Option<SourceKey>,
    applied: Option<GridFilter>,
    layers: Vec<(i64, String)>,
    codes: Vec<i64>,
    rows: Option<Arc<[EditResultRecord]>>,
    job: Option<IndexJob>,
}

impl std::fmt::Debug for GridState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridState")
            .field("filter", &self.filter)
            .field("shown", &self.indices.len())
            .field("selected", &self.selected)
            .field("filtering", &self.is_filtering())
            .finish_non_exhaustive()
    }
}

impl GridState {
    /// Brings the index vector up to date with this snapshot; cheap when nothing changed. Large
    /// snapshots are indexed on a worker thread that wakes `waker` when done; until then the
    /// previous rows stay on screen and [`GridState::is_filtering`] is true.
    pub fn sync(
        &mut self,
        replica: LocalReplicaId,
        rows: &Arc<[EditResultRecord]>,
        waker: &egui::Context,
    ) {
        if self.replica != Some(replica) {
            // Another replica: its own layers and codes, nothing of the old one on screen.
            self.clear();
            self.filter.layer_id = None;
            self.filter.code = None;
            self.replica = Some(replica);
        }
        let key = SourceKey::of(replica, rows);
        if self.source.is_some_and(|seen| seen != key) {
            // a new snapshot (a sync, a fix, an edit): the selected feature's map may have moved
            self.feature_panel.reload();
        }
        if self.source == Some(key) && self.applied.as_ref() == Some(&self.filter) {
            self.job = None;
            return;
        }
        if rows.len() <= BACKGROUND_ROWS {
            let index = GridIndex::build(rows, &self.filter, &AtomicBool::new(false));
            self.install(
                key,
                rows.clone(),
                self.filter.clone(),
                index.unwrap_or_default(),
            );
            return;
        }
        let wanted = |job: &IndexJob| job.key == key && job.filter == self.filter;
        match self.job.take() {
            Some(job) if wanted(&job) => match job.done.try_recv() {
                Ok(index) => self.install(key, job.rows.clone(), job.filter.clone(), index),
                Err(std::sync::mpsc::TryRecvError::Empty) => self.job = Some(job),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    let index = GridIndex::build(rows, &self.filter, &AtomicBool::new(false));
                    self.install(
                        key,
                        rows.clone(),
                        self.filter.clone(),
                        index.unwrap_or_default(),
                    );
                }
            },
            _ => {
                self.job = Some(IndexJob::start(
                    key,
                    self.filter.clone(),
                    rows.clone(),
                    waker,
                ))
            }
        }
    }

    /// A large snapshot is being filtered or sorted on the worker thread.
    pub fn is_filtering(&self) -> bool {
        self.job.is_some()
    }

    /// Shows `rows` through `index`, keeping the selection on the same edit where it still shows.
    fn install(
        &mut self,
        key: SourceKey,
        rows: Arc<[EditResultRecord]>,
        filter: GridFilter,
        index: GridIndex,
    ) {
        let identity = self
            .selected_record()
            .map(|r| (r.layer_id, r.global_id.clone(), r.change_type));
        let new_source = self.source != Some(key);
        if new_source {
            self.selected = identity.and_then(|(layer_id, global_id, change_type)| {
                rows.iter()
                    .position(|r| {
                        r.layer_id == layer_id
                            && r.global_id == global_id
                            && r.change_type == change_type
                    })
                    .map(|i| i as u32)
            });
        }
        self.indices = index.indices;
        self.layers = index.layers;
        self.codes = index.codes;
        self.rows = Some(rows);
        self.applied = Some(filter);
        self.source = Some(key);
        self.job = None;
        self.rebuilds += 1;
        // A selection that was filtered away is dropped.
        if let Some(sel) = self.selected
            && !self.indices.contains(&sel)
        {
            self.selected = None;
        }
        // Several selected rows are a selection of one snapshot; another one starts over.
        if new_source {
            self.marked = self.selected.into_iter().collect();
            self.anchor = self.selected;
            self.compare = None;
            self.compare_for = None;
            self.compare_missing = false;
        } else {
            self.marked.retain(|i| index_shown(&self.indices, *i));
        }
    }

    /// A click on the row `row` (snapshot index): alone, or with Ctrl (add or remove it) or
    /// Shift (the rows shown between the last clicked one and this one).
    pub fn click_row(&mut self, row: u32, toggle: bool, range: bool) {
        if range && let Some(anchor) = self.anchor {
            let a = self.indices.iter().position(|i| *i == anchor);
            let b = self.indices.iter().position(|i| *i == row);
            if let (Some(a), Some(b)) = (a, b) {
                let (from, to) = (a.min(b), a.max(b));
                self.marked = self.indices[from..=to].iter().copied().collect();
                self.selected = Some(row);
                return;
            }
        }
        if toggle {
            if self.marked.is_empty()
                && let Some(sel) = self.selected
            {
                self.marked.insert(sel);
            }
            if !self.marked.remove(&row) {
                self.marked.insert(row);
            }
            self.selected = self
                .marked
                .contains(&row)
                .then_some(row)
                .or_else(|| self.marked.iter().next().copied());
        } else {
            self.marked = BTreeSet::from([row]);
            self.selected = Some(row);
        }
        self.anchor = Some(row);
    }

    /// The selected rows when several are, in snapshot order.
    pub fn marked_rows(&self) -> Vec<RowIndex> {
        if self.marked.len() < 2 {
            return Vec::new();
        }
        self.marked.iter().map(|i| RowIndex(*i)).collect()
    }

    /// The snapshot the indices refer to.
    pub fn rows(&self) -> Option<&Arc<[EditResultRecord]>> {
        self.rows.as_ref()
    }

    pub fn selected_record(&self) -> Option<&EditResultRecord> {
        let rows = self.rows.as_ref()?;
        rows.get(self.selected? as usize)
    }

    /// Forgets the snapshot (no replica selected).
    pub fn clear(&mut self) {
        self.replica = None;
        self.source = None;
        self.applied = None;
        self.rows = None;
        self.job = None;
        self.indices.clear();
        self.selected = None;
        self.marked.clear();
        self.anchor = None;
        self.compare = None;
        self.compare_for = None;
        self.compare_missing = false;
    }
}

fn index_shown(indices: &[u32], row: u32) -> bool {
    indices.contains(&row)
}

/// What the user asked for in the grid.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum GridAction {
    None,
    /// Open the attribute form for this row.
    FixAndResend(RowIndex),
    /// Ask to confirm dropping this row's local edit.
    Drop(RowIndex),
    /// Open "Set <field> for N edits" for these rows (one layer, one code, one field).
    BulkFix {
        rows: Vec<RowIndex>,
        field: String,
    },
    /// Ask to confirm dropping these rows' local edits.
    BulkDrop(Vec<RowIndex>),
    /// Load the local and server attributes of this edit for the detail pane.
    LoadCompare {
        layer_id: i64,
        global_id: Guid,
    },
    CopyGlobalId(String),
    /// Export the rows currently shown.
    ExportCsv,
    /// Ask the engine for the snapshot (none loaded yet).
    Load,
    /// Ask the engine for the map of this feature of the grid's replica.
    LoadFeatureMap {
        layer_id: i64,
        global_id: crate::protocol::Guid,
    },
}

/// Id of the search box, so Ctrl+F can focus it.
pub fn search_box_id() -> egui::Id {
    egui::Id::unique("syncwatch-grid-search")
}

/// Draws the filter bar, the table and the detail pane.
pub fn results_grid_ui(ui: &mut egui::Ui, grid: &mut GridState, has_snapshot: bool) -> GridAction {
    let mut action = GridAction::None;
    if !has_snapshot {
        ui.horizontal(|ui| {
            ui.label("No edit results loaded for this replica yet.");
            if ui.button("Load edit results").clicked() {
                action = GridAction::Load;
            }
        });
        return action;
    }
    let total = grid.rows.as_ref().map_or(0, |r| r.len());
    filter_bar::filter_bar_ui(ui, grid, total, &mut action);
    ui.separator();
    if grid.show_conflicts {
        // The caller shows the conflicts' compare view (`ui/conflicts`) below the bar.
        return action;
    }

    egui::Panel::right("results-detail")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .show(ui, |ui| {
            let a = detail_pane::detail_pane_ui(ui, grid);
            if a != GridAction::None {
                action = a;
            }
        });
    egui::CentralPanel::no_frame().show(ui, |ui| table::table_ui(ui, grid));
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixtures;

    #[test]
    fn chips_split_by_series() {
        let rows = fixtures::failing_results();
        let count = |chip| {
            compute_indices(
                &rows,
                &GridFilter {
                    chip,
                    ..Default::default()
                },
            )
            .len()
        };
        assert_eq!(count(Chip::All), rows.len());
        assert_eq!(count(Chip::Feature), 4);
        assert_eq!(count(Chip::Layer), 3);
        assert_eq!(count(Chip::Replica), 0);
        assert_eq!(count(Chip::Succeeded), 4);
    }

    #[test]
    fn sort_and_search() {
        let rows = fixtures::failing_results();
        let idx = compute_indices(
            &rows,
            &GridFilter {
                sort: Some((SortColumn::ObjectId, false)),
                ..Default::default()
            },
        );
        let oids: Vec<_> = idx.iter().map(|&i| rows[i as usize].object_id).collect();
        let mut sorted = oids.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(oids, sorted);
        let found = compute_indices(
            &rows,
            &GridFilter {
                search: "status".into(),
                ..Default::default()
            },
        );
        assert_eq!(found, vec![0]);
    }

    /// Runs `sync` until the worker's result is installed.
    fn settle(grid: &mut GridState, rows: &Arc<[EditResultRecord]>) {
        let ctx = egui::Context::default();
        for _ in 0..10_000 {
            grid.sync(fixtures::FAILING, rows, &ctx);
            if !grid.is_filtering() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the background filter never finished");
    }

    #[test]
    fn large_snapshots_are_filtered_off_the_ui_thread() {
        let rows = fixtures::big_results(BACKGROUND_ROWS + 1);
        let ctx = egui::Context::default();
        let mut grid = GridState::default();
        grid.sync(fixtures::FAILING, &rows, &ctx);
        // The frame that asked for it never waits: nothing is shown until the worker is done.
        assert!(grid.is_filtering());
        assert!(grid.indices.is_empty());
        settle(&mut grid, &rows);
        assert_eq!(grid.indices.len(), rows.len());
        assert_eq!(grid.rebuilds, 1);

        // A filter changed while another runs: only the newest one lands.
        grid.filter.chip = Chip::Layer;
        grid.sync(fixtures::FAILING, &rows, &ctx);
        grid.filter.chip = Chip::Feature;
        grid.filter.sort = Some((SortColumn::Description, false));
        grid.sync(fixtures::FAILING, &rows, &ctx);
        assert!(grid.is_filtering());
        // Until then the previous rows stay on screen.
        assert_eq!(grid.indices.len(), rows.len());
        settle(&mut grid, &rows);
        assert_eq!(grid.indices, compute_indices(&rows, &grid.filter));
        assert!(
            grid.indices
                .iter()
                .all(|&i| Chip::Feature.matches(&rows[i as usize]))
        );
    }

    #[test]
    fn search_ignores_case_in_any_text_and_numbers() {
        let rows = fixtures::failing_results();
        let needle = |text: &str| {
            compute_indices(
                &rows,
                &GridFilter {
                    search: text.into(),
                    ..Default::default()
                },
            )
            .len()
        };
        assert_eq!(needle("NOT NULLABLE"), needle("not nullable"));
        assert!(needle("nullable") > 0);
        assert!(needle("1001") > 0, "codes are searchable");
        assert_eq!(needle("no such text anywhere"), 0);
        assert!(row_order::contains_ignoring_case(
            "Ünïcode Straße",
            "straße"
        ));
        assert!(!row_order::contains_ignoring_case("abc", "abcd"));
    }

    #[test]
    fn indices_rebuild_only_on_change() {
        let rows = fixtures::failing_results();
        let mut grid = GridState::default();
        grid.sync(fixtures::FAILING, &rows, &egui::Context::default());
        grid.sync(fixtures::FAILING, &rows, &egui::Context::default());
        assert_eq!(grid.rebuilds, 1);
        grid.filter.chip = Chip::Layer;
        grid.sync(fixtures::FAILING, &rows, &egui::Context::default());
        grid.sync(fixtures::FAILING, &rows, &egui::Context::default());
        assert_eq!(grid.rebuilds, 2);
        assert_eq!(grid.indices.len(), 3);
    }
}
