//! The edit-results grid: a virtual table over an immutable snapshot (`Arc<[EditResultRecord]>`),
//! filtered and sorted into an index vector only when the snapshot, a filter or the sort change
//! (never per frame), so it stays smooth at a million rows. Filter chips by series, filters by
//! layer, change type and code, text search, click-to-sort headers, and a detail pane with the
//! catalog's guidance and the row actions (fix and resend, drop, copy GlobalID, export CSV).

use super::{row_order, theme};
use crate::engine::{EditResultRecord, LocalReplicaId};
use crate::protocol::{ChangeType, ObjectType, Series, catalog};
use egui::{Align, Color32, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

/// Height of one grid row in points.
pub const ROW_HEIGHT: f32 = 20.0;

/// The filter chips above the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Chip {
    /// Every row, failed or not.
    #[default]
    All,
    /// Failed, 1000 series (one feature).
    Feature,
    /// Failed, 2000 series (a whole layer).
    Layer,
    /// Failed, 3000 series (the replica).
    Replica,
    /// Rows the server accepted.
    Succeeded,
}

impl Chip {
    pub const ALL: [Chip; 5] = [
        Chip::All,
        Chip::Feature,
        Chip::Layer,
        Chip::Replica,
        Chip::Succeeded,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Chip::All => "All",
            Chip::Feature => Series::Feature.label(),
            Chip::Layer => Series::Layer.label(),
            Chip::Replica => Series::Replica.label(),
            Chip::Succeeded => "Succeeded",
        }
    }

    fn series(self) -> Option<Series> {
        match self {
            Chip::Feature => Some(Series::Feature),
            Chip::Layer => Some(Series::Layer),
            Chip::Replica => Some(Series::Replica),
            Chip::All | Chip::Succeeded => None,
        }
    }

    pub fn matches(self, row: &EditResultRecord) -> bool {
        match self {
            Chip::All => true,
            Chip::Succeeded => row.success,
            series_chip => {
                !row.success && row.code.and_then(Series::of_code) == series_chip.series()
            }
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortColumn {
    ObjectId,
    GlobalId,
    Layer,
    ChangeType,
    ObjectType,
    Success,
    Code,
    Description,
    FirstSeen,
    LastSeen,
    Attempts,
    Predicted,
}

impl SortColumn {
    /// The seed's columns first, in its order (so Code stays in view next to the detail pane).
    pub const ALL: [SortColumn; 12] = [
        SortColumn::ObjectId,
        SortColumn::GlobalId,
        SortColumn::Layer,
        SortColumn::ChangeType,
        SortColumn::Success,
        SortColumn::Code,
        SortColumn::Description,
        SortColumn::ObjectType,
        SortColumn::FirstSeen,
        SortColumn::LastSeen,
        SortColumn::Attempts,
        SortColumn::Predicted,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::ObjectId => "ObjectID",
            SortColumn::GlobalId => "GlobalID",
            SortColumn::Layer => "Layer",
            SortColumn::ChangeType => "Change",
            SortColumn::ObjectType => "Object",
            SortColumn::Success => "Success",
            SortColumn::Code => "Code",
            SortColumn::Description => "Description",
            SortColumn::FirstSeen => "First seen",
            SortColumn::LastSeen => "Last seen",
            SortColumn::Attempts => "Attempts",
            SortColumn::Predicted => "Predicted",
        }
    }

    fn column(self) -> Column {
        match self {
            SortColumn::ObjectId => Column::initial(62.0),
            SortColumn::GlobalId => Column::initial(110.0),
            SortColumn::Layer => Column::initial(80.0),
            SortColumn::ChangeType => Column::initial(56.0),
            SortColumn::ObjectType => Column::initial(66.0),
            SortColumn::Success => Column::initial(58.0),
            SortColumn::Code => Column::initial(46.0),
            SortColumn::Description => Column::initial(300.0),
            SortColumn::FirstSeen | SortColumn::LastSeen => Column::initial(130.0),
            SortColumn::Attempts => Column::initial(65.0),
            SortColumn::Predicted => Column::initial(70.0),
        }
        .at_least(40.0)
        .clip(true)
        .resizable(true)
    }

    /// Compares two rows by this column (the order [`row_order::sort`] gives, without its keys).
    #[cfg(test)]
    pub(super) fn compare(self, a: &EditResultRecord, b: &EditResultRecord) -> Ordering {
        match self {
            SortColumn::ObjectId => a.object_id.cmp(&b.object_id),
            SortColumn::GlobalId => a.global_id.cmp(&b.global_id),
            SortColumn::Layer => a
                .layer_name
                .cmp(&b.layer_name)
                .then(a.layer_id.cmp(&b.layer_id)),
            SortColumn::ChangeType => (a.change_type as u8).cmp(&(b.change_type as u8)),
            SortColumn::ObjectType => (a.object_type as u8).cmp(&(b.object_type as u8)),
            SortColumn::Success => a.success.cmp(&b.success),
            SortColumn::Code => a.code.cmp(&b.code),
            SortColumn::Description => a.description.cmp(&b.description),
            SortColumn::FirstSeen => a.first_seen_ms.cmp(&b.first_seen_ms),
            SortColumn::LastSeen => a.last_seen_ms.cmp(&b.last_seen_ms),
            SortColumn::Attempts => a.attempts.cmp(&b.attempts),
            SortColumn::Predicted => a.predicted.cmp(&b.predicted),
        }
    }
}

/// Everything that decides which rows show, in which order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridFilter {
    pub chip: Chip,
    pub layer_id: Option<i64>,
    pub change_type: Option<ChangeType>,
    pub code: Option<i64>,
    /// Case-insensitive substring of GlobalID, ObjectID, layer, code or description.
    pub search: String,
    /// Column and ascending?
    pub sort: Option<(SortColumn, bool)>,
}

impl GridFilter {
    /// Whether the row passes the chip and the layer, change-type and code filters (the text
    /// search is [`row_order::TextSearch`]).
    pub fn matches_filters(&self, row: &EditResultRecord) -> bool {
        self.chip.matches(row)
            && self.layer_id.is_none_or(|l| l == row.layer_id)
            && self.change_type.is_none_or(|c| c == row.change_type)
            && (self.code.is_none() || self.code == row.code)
    }
}

/// Filters and sorts `rows` into indices. Runs only when the snapshot or the filter changes.
pub fn compute_indices(rows: &[EditResultRecord], filter: &GridFilter) -> Vec<u32> {
    compute_indices_unless(rows, filter, &AtomicBool::new(false)).unwrap_or_default()
}

/// [`compute_indices`], giving up (`None`) once `cancelled` is set.
fn compute_indices_unless(
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

/// Snapshots with more rows than this are filtered and sorted on a worker thread: a million rows
/// take longer than one frame, and the window must not stall while the technician types.
pub const BACKGROUND_ROWS: usize = 50_000;

/// Identity of the snapshot the indices were computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceKey {
    replica: LocalReplicaId,
    ptr: usize,
    len: usize,
}

impl SourceKey {
    fn of(replica: LocalReplicaId, rows: &Arc<[EditResultRecord]>) -> SourceKey {
        SourceKey {
            replica,
            ptr: Arc::as_ptr(rows) as *const u8 as usize,
            len: rows.len(),
        }
    }
}

/// What a snapshot plus a filter turn into: the rows to show and the choices for the filter bar.
#[derive(Debug, Default)]
struct GridIndex {
    indices: Vec<u32>,
    layers: Vec<(i64, String)>,
    codes: Vec<i64>,
}

impl GridIndex {
    fn build(
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

/// The distinct layers and codes of a snapshot (at most a few hundred of each are listed).
fn filter_choices(rows: &[EditResultRecord]) -> (Vec<(i64, String)>, Vec<i64>) {
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

/// A filter running on a worker thread for one snapshot.
struct IndexJob {
    key: SourceKey,
    filter: GridFilter,
    rows: Arc<[EditResultRecord]>,
    cancelled: Arc<AtomicBool>,
    done: std::sync::mpsc::Receiver<GridIndex>,
}

impl IndexJob {
    fn start(
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

/// The grid's UI state (per window, not persisted except the chip).
#[derive(Default)]
pub struct GridState {
    pub filter: GridFilter,
    /// Row numbers into the snapshot, in display order.
    pub indices: Vec<u32>,
    /// Selected row (index into the snapshot, not into `indices`).
    pub selected: Option<u32>,
    /// Scroll the table to this display position next frame.
    pub scroll_to: Option<usize>,
    /// Give the search box keyboard focus next frame.
    pub focus_search: bool,
    /// How many times the index vector was rebuilt (tests check it is not per frame).
    pub rebuilds: u64,
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
        if self.source != Some(key) {
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
    }
}

/// What the user asked for in the grid.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum GridAction {
    None,
    /// Open the attribute form for this row (snapshot index).
    FixAndResend(u32),
    /// Ask to confirm dropping this row's local edit.
    Drop(u32),
    CopyGlobalId(String),
    /// Export the rows currently shown.
    ExportCsv,
    /// Ask the engine for the snapshot (none loaded yet).
    Load,
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
    filter_bar_ui(ui, grid, total, &mut action);
    ui.separator();

    egui::Panel::right("results-detail")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .show(ui, |ui| {
            let a = detail_pane_ui(ui, grid);
            if a != GridAction::None {
                action = a;
            }
        });
    egui::CentralPanel::no_frame().show(ui, |ui| table_ui(ui, grid));
    action
}

fn filter_bar_ui(ui: &mut egui::Ui, grid: &mut GridState, total: usize, action: &mut GridAction) {
    ui.horizontal_wrapped(|ui| {
        for chip in Chip::ALL {
            if ui
                .selectable_label(grid.filter.chip == chip, chip.label())
                .clicked()
            {
                grid.filter.chip = chip;
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        let layer_text = grid
            .filter
            .layer_id
            .and_then(|id| grid.layers.iter().find(|(l, _)| *l == id))
            .map_or_else(|| "Any layer".to_owned(), |(_, name)| name.clone());
        egui::ComboBox::from_id_salt("grid-layer")
            .selected_text(layer_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut grid.filter.layer_id, None, "Any layer");
                for (id, name) in &grid.layers {
                    ui.selectable_value(&mut grid.filter.layer_id, Some(*id), name.as_str());
                }
            })
            .response
            .on_hover_text("Filter by layer");
        let change_text = grid.filter.change_type.map_or("Any change", |c| c.label());
        egui::ComboBox::from_id_salt("grid-change")
            .selected_text(change_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut grid.filter.change_type, None, "Any change");
                for c in [ChangeType::Insert, ChangeType::Update, ChangeType::Delete] {
                    ui.selectable_value(&mut grid.filter.change_type, Some(c), c.label());
                }
            })
            .response
            .on_hover_text("Filter by change type");
        let code_text = grid
            .filter
            .code
            .map_or_else(|| "Any code".to_owned(), |c| format!("Code {c}"));
        egui::ComboBox::from_id_salt("grid-code")
            .selected_text(code_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut grid.filter.code, None, "Any code");
                for code in &grid.codes {
                    let title = catalog::for_edit_result(*code).map_or("", |e| e.title);
                    ui.selectable_value(
                        &mut grid.filter.code,
                        Some(*code),
                        format!("{code} {title}"),
                    );
                }
            })
            .response
            .on_hover_text("Filter by error code");
        ui.separator();
        let search = egui::TextEdit::singleline(&mut grid.filter.search)
            .id(search_box_id())
            .hint_text("Search GlobalID, ObjectID, text… (Ctrl+F)")
            .desired_width(220.0);
        let label = ui.label("Search");
        let response = ui.add(search).labelled_by(label.id);
        if grid.focus_search {
            response.request_focus();
            grid.focus_search = false;
        }
        ui.separator();
        ui.label(format!("{} of {} rows", grid.indices.len(), total));
        if grid.is_filtering() {
            ui.spinner();
            ui.label("Filtering…");
        }
        if ui
            .add_enabled(!grid.indices.is_empty(), egui::Button::new("Export CSV…"))
            .on_hover_text("Write the rows shown to a CSV file")
            .clicked()
        {
            *action = GridAction::ExportCsv;
        }
    });
}

fn table_ui(ui: &mut egui::Ui, grid: &mut GridState) {
    let Some(rows) = grid.rows.clone() else {
        return;
    };
    let dark = ui.visuals().dark_mode;
    let now_sort = grid.filter.sort;
    let mut clicked_header: Option<SortColumn> = None;
    let mut clicked_row: Option<u32> = None;
    egui::ScrollArea::horizontal()
        .id_salt("grid-hscroll")
        .show(ui, |ui| {
            ui.style_mut().interaction.selectable_labels = false;
            let mut table = TableBuilder::new(ui)
                .id_salt("edit-results")
                .striped(true)
                .resizable(true)
                .sense(Sense::click())
                .cell_layout(Layout::left_to_right(Align::Center))
                .auto_shrink([false, false]);
            for col in SortColumn::ALL {
                table = table.column(col.column());
            }
            if let Some(row) = grid.scroll_to.take() {
                table = table.scroll_to_row(row, Some(Align::Center));
            }
            table
                .header(ROW_HEIGHT + 2.0, |mut header| {
                    for col in SortColumn::ALL {
                        header.col(|ui| {
                            let arrow = match now_sort {
                                Some((c, true)) if c == col => " ⏶",
                                Some((c, false)) if c == col => " ⏷",
                                _ => "",
                            };
                            let text = RichText::new(format!("{}{arrow}", col.title())).strong();
                            if ui
                                .add(egui::Button::new(text).frame(false))
                                .on_hover_text("Sort by this column")
                                .clicked()
                            {
                                clicked_header = Some(col);
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, grid.indices.len(), |mut row| {
                        let row_index = grid.indices[row.index()];
                        let record = &rows[row_index as usize];
                        row.set_selected(grid.selected == Some(row_index));
                        row_cells_ui(&mut row, record, dark);
                        if row.response().clicked() {
                            clicked_row = Some(row_index);
                        }
                    });
                });
        });
    if let Some(col) = clicked_header {
        grid.filter.sort = match grid.filter.sort {
            Some((c, true)) if c == col => Some((col, false)),
            Some((c, false)) if c == col => None,
            _ => Some((col, true)),
        };
    }
    if let Some(r) = clicked_row {
        grid.selected = Some(r);
    }
}

/// One row's cells, in the order of [`SortColumn::ALL`].
fn row_cells_ui(row: &mut egui_extras::TableRow<'_, '_>, r: &EditResultRecord, dark: bool) {
    let mut cell = |text: String, color: Option<Color32>| {
        row.col(|ui| {
            let mut rich = RichText::new(text);
            if let Some(c) = color {
                rich = rich.color(c);
            }
            ui.add(egui::Label::new(rich).truncate());
        });
    };
    cell(
        r.object_id.map_or_else(String::new, |o| o.to_string()),
        None,
    );
    cell(
        r.global_id
            .as_ref()
            .map_or_else(String::new, |g| g.to_string()),
        None,
    );
    cell(r.layer_name.to_string(), None);
    cell(r.change_type.label().to_owned(), None);
    if r.success {
        cell("✔ yes".to_owned(), Some(theme::green(dark)));
    } else {
        cell("✖ no".to_owned(), Some(theme::red(dark)));
    }
    cell(r.code.map_or_else(String::new, |c| c.to_string()), None);
    cell(r.description.to_string(), None);
    match r.object_type {
        ObjectType::Feature => cell("feature".to_owned(), None),
        ObjectType::Attachment => cell(ATTACHMENT_MARK.to_owned(), Some(theme::amber(dark))),
    }
    cell(theme::timestamp(r.first_seen_ms), None);
    cell(theme::timestamp(r.last_seen_ms), None);
    cell(r.attempts.to_string(), None);
    cell(
        if r.predicted { "predicted" } else { "" }.to_owned(),
        r.predicted.then(|| theme::amber(dark)),
    );
}

/// How the Object column marks an attachment row (ObjectType 1).
pub const ATTACHMENT_MARK: &str = "📎 attachment";

/// Detail-grid rows of an attachment: its name, size and parent feature, as the replica file
/// knows them.
fn attachment_detail_ui(ui: &mut egui::Ui, r: &EditResultRecord) {
    ui.label("Object");
    ui.label(ATTACHMENT_MARK);
    ui.end_row();
    let Some(a) = &r.attachment else {
        ui.label("Attachment");
        ui.weak("no longer in the replica file");
        ui.end_row();
        return;
    };
    ui.label("Name");
    ui.label(&a.name);
    ui.end_row();
    ui.label("Size");
    ui.label(format!(
        "{} ({})",
        theme::byte_size(a.size_bytes),
        a.content_type
    ));
    ui.end_row();
    ui.label("Parent feature");
    ui.label(a.parent_global_id.to_string());
    ui.end_row();
}

fn detail_pane_ui(ui: &mut egui::Ui, grid: &GridState) -> GridAction {
    let mut action = GridAction::None;
    let Some(selected) = grid.selected else {
        ui.weak("Select a row to see what the code means and what to do about it.");
        return action;
    };
    let Some(r) = grid.selected_record() else {
        return action;
    };
    let dark = ui.visuals().dark_mode;
    egui::ScrollArea::vertical()
        .id_salt("detail-scroll")
        .show(ui, |ui| {
            ui.heading("Edit result");
            ui.horizontal_wrapped(|ui| {
                let failed = !r.success && r.global_id.is_some();
                if ui
                    .add_enabled(failed, egui::Button::new("Fix and resend…"))
                    .clicked()
                {
                    action = GridAction::FixAndResend(selected);
                }
                if ui
                    .add_enabled(failed, egui::Button::new("Drop local edit…"))
                    .clicked()
                {
                    action = GridAction::Drop(selected);
                }
                if let Some(g) = &r.global_id
                    && ui.button("Copy GlobalID").clicked()
                {
                    action = GridAction::CopyGlobalId(g.to_string());
                }
            });
            ui.separator();
            egui::Grid::new("detail-grid").num_columns(2).show(ui, |ui| {
                ui.label("Layer");
                ui.label(format!("{} ({})", r.layer_name, r.layer_id));
                ui.end_row();
                ui.label("ObjectID");
                ui.label(r.object_id.map_or_else(|| "–".to_owned(), |o| o.to_string()));
                ui.end_row();
                ui.label("GlobalID");
                ui.label(
                    r.global_id
                        .as_ref()
                        .map_or_else(|| "–".to_owned(), |g| g.to_string()),
                );
                ui.end_row();
                ui.label("Change");
                ui.label(r.change_type.label());
                ui.end_row();
                if r.object_type == ObjectType::Attachment {
                    attachment_detail_ui(ui, r);
                }
                ui.label("Attempts");
                ui.label(format!(
                    "{} (first {}, last {})",
                    r.attempts,
                    theme::timestamp(r.first_seen_ms),
                    theme::timestamp(r.last_seen_ms)
                ));
                ui.end_row();
            });
            ui.separator();
            if r.success {
                ui.colored_label(theme::green(dark), "The server applied this edit.");
            } else if let Some(code) = r.code {
                match catalog::for_edit_result(code) {
                    Some(entry) => {
                        ui.label(
                            RichText::new(format!("{code} – {}", entry.title))
                                .strong()
                                .color(theme::red(dark)),
                        );
                        if r.predicted {
                            ui.colored_label(
                                theme::amber(dark),
                                "Predicted locally from the service's rules; not yet reported by the server.",
                            );
                        }
                        ui.label(&*r.description);
                        ui.add_space(4.0);
                        ui.label(RichText::new("How to address it").strong());
                        ui.label(entry.how_to_address);
                        ui.add_space(4.0);
                        ui.label(RichText::new("What the client should do").strong());
                        ui.label(entry.client_action);
                        ui.add_space(4.0);
                        let resend = if entry.resend_can_succeed_unchanged {
                            "Resending unchanged can succeed."
                        } else {
                            "Resending unchanged will fail again: fix or drop the edit."
                        };
                        ui.weak(resend);
                    }
                    None => {
                        ui.label(RichText::new(format!("Code {code}")).strong());
                        ui.label(&*r.description);
                    }
                }
            } else {
                ui.label(&*r.description);
            }
        });
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
