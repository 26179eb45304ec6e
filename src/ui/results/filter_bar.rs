//! The filter bar above the grid: chips (and the Conflicts chip), layer, change-type and code pickers, the search box and
//! the row count. It edits the grid's [`super::GridFilter`] and asks for the CSV export; nothing else.

use super::filter::Chip;
use super::{GridAction, GridState, search_box_id};
use crate::protocol::{ChangeType, catalog};

pub(super) fn filter_bar_ui(
    ui: &mut egui::Ui,
    grid: &mut GridState,
    total: usize,
    action: &mut GridAction,
) {
    ui.horizontal_wrapped(|ui| {
        for chip in Chip::ALL {
            if ui
                .selectable_label(
                    !grid.show_conflicts && grid.filter.chip == chip,
                    chip.label(),
                )
                .clicked()
            {
                grid.filter.chip = chip;
                grid.show_conflicts = false;
            }
        }
        // Conflicts are their own kind, beside the series (their compare view is `ui/conflicts`).
        let conflicts = format!("Conflicts ({})", grid.conflict_count);
        if ui
            .selectable_label(grid.show_conflicts, conflicts)
            .on_hover_text("Local edits in conflict with newer changes on the service")
            .clicked()
        {
            grid.show_conflicts = true;
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
