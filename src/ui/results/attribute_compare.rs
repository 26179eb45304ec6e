//! The detail pane's attribute table of the selected edit: every field of the layer with its
//! local value beside the server's ("new feature" for an add), differences highlighted. It only
//! draws what the engine loaded (`GridState::compare`).

use crate::model::FixForm;
use crate::ui::dialogs::fix::field_editors::display_value;
use crate::ui::theme;
use egui::RichText;

/// Draws the two-column table (local, server).
pub(super) fn attribute_compare_ui(ui: &mut egui::Ui, form: &FixForm) {
    let dark = ui.visuals().dark_mode;
    ui.label(RichText::new("Attributes").strong());
    // Three equal columns; long values are cut short (the whole value on hover) so they never
    // widen the pane.
    let spacing = 8.0;
    let col = ((ui.available_width() - 2.0 * spacing) / 3.0).max(40.0);
    egui::Grid::new("detail-attributes")
        .num_columns(3)
        .striped(true)
        .spacing([spacing, 3.0])
        .min_col_width(col)
        .max_col_width(col)
        .show(ui, |ui| {
            ui.label(RichText::new("Field").strong());
            ui.label(RichText::new("Local").strong());
            ui.label(RichText::new("Server").strong());
            ui.end_row();
            for field in &form.fields {
                let local = form.local_value(&field.name);
                let server = form.server_value(&field.name);
                let differs = server
                    .as_ref()
                    .is_none_or(|s| !crate::model::same_value(s, &local));
                let refused = form.refused.field.as_deref() == Some(field.name.as_str());
                let mut name = RichText::new(&field.alias);
                if refused {
                    name = name.color(theme::red(dark)).strong();
                }
                cell(ui, name, &field.name);
                let local_shown = display_value(field, &local);
                let mut local_text = RichText::new(&local_shown);
                if differs && server.is_some() {
                    local_text = local_text.color(theme::amber(dark)).strong();
                }
                cell(ui, local_text, &local_shown);
                match &server {
                    Some(s) => {
                        let shown = display_value(field, s);
                        cell(ui, RichText::new(&shown), &shown);
                    }
                    None => {
                        ui.weak("new feature");
                    }
                }
                ui.end_row();
            }
        });
    let moved = form
        .server
        .as_ref()
        .is_some_and(|s| s.geometry != form.local.geometry);
    if moved {
        ui.colored_label(
            theme::amber(dark),
            "The local geometry differs from the server's.",
        );
    }
}

/// One cell: the text cut short to the column, the whole of `hover` on hover.
fn cell(ui: &mut egui::Ui, text: RichText, hover: &str) {
    ui.add(egui::Label::new(text).truncate())
        .on_hover_text(hover);
}
