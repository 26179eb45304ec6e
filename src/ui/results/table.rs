//! The virtual table of edit results: sortable headers, one row per shown index, and the cells of
//! a row. It reads the grid's snapshot and indices and changes only the sort and the selection
//! (a click selects one row, Ctrl+click adds or removes one, Shift+click a range).

use super::detail_pane::ATTACHMENT_MARK;
use super::filter::SortColumn;
use super::{GridState, ROW_HEIGHT};
use crate::engine::EditResultRecord;
use crate::protocol::ObjectType;
use crate::ui::{format, theme};
use egui::{Align, Color32, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};

/// The column's starting width and behaviour.
fn column(sort: SortColumn) -> Column {
    match sort {
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

pub(super) fn table_ui(ui: &mut egui::Ui, grid: &mut GridState) {
    let Some(rows) = grid.rows.clone() else {
        return;
    };
    let dark = ui.visuals().dark_mode;
    let now_sort = grid.filter.sort;
    let mut clicked_header: Option<SortColumn> = None;
    let mut clicked_row: Option<u32> = None;
    let modifiers = ui.input(|i| i.modifiers);
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
                table = table.column(column(col));
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
                        row.set_selected(
                            grid.selected == Some(row_index) || grid.marked.contains(&row_index),
                        );
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
        grid.click_row(r, modifiers.command || modifiers.ctrl, modifiers.shift);
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
    cell(format::timestamp(r.first_seen_ms), None);
    cell(format::timestamp(r.last_seen_ms), None);
    cell(r.attempts.to_string(), None);
    cell(
        if r.predicted { "predicted" } else { "" }.to_owned(),
        r.predicted.then(|| theme::amber(dark)),
    );
}
