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
    egui::Grid::new("detail-attributes")
        .num_columns(3)
        .striped(true)
        .spacing([8.0, 3.0])
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
                ui.add(egui::Label::new(name).truncate())
                    .on_hover_text(&field.name);
                let mut local_text = RichText::new(display_value(field, &local));
                if differs && server.is_some() {
                    local_text = local_text.color(theme::amber(dark)).strong();
                }
                // Truncated: long values must not widen the pane.
                ui.add(egui::Label::new(local_text).truncate());
                match &server {
                    Some(s) => ui.add(egui::Label::new(display_value(field, s)).truncate()),
                    None => ui.weak("new feature"),
                };
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
