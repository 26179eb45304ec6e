//! The attribute grid of the fix form: one row per field of the layer in the service's order —
//! alias and name (required fields marked), the typed editor, the server's value with "Use
//! server value" where it differs, and a mark on fields changed in this form. The field the
//! service refused is highlighted. It edits the form's values and says whether any changed.

use super::FixFormDialog;
use super::field_editors::{display_value, field_editor_ui};
use crate::ui::theme;
use egui::RichText;

/// Draws the grid; `true` when a value changed this frame.
pub(super) fn attributes_ui(ui: &mut egui::Ui, dialog: &mut FixFormDialog) -> bool {
    let dark = ui.visuals().dark_mode;
    let mut changed = false;
    let refused_field = dialog.form.refused.field.clone();
    let is_add = dialog.form.is_add();
    egui::Grid::new("fix-form-fields")
        .num_columns(4)
        .spacing([10.0, 6.0])
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("Field").strong());
            ui.label(RichText::new("Value").strong());
            ui.label(RichText::new("Server").strong());
            ui.label("");
            ui.end_row();
            for (i, field) in dialog.form.fields.iter().enumerate() {
                let refused = refused_field.as_deref() == Some(field.name.as_str());
                let title = if field.alias == field.name {
                    field.name.clone()
                } else {
                    format!("{} ({})", field.alias, field.name)
                };
                let mut text = RichText::new(title);
                if refused {
                    text = text.color(theme::red(dark)).strong();
                }
                let required = !field.nullable && !field.locked();
                let label = ui
                    .horizontal(|ui| {
                        let label = ui.label(text);
                        if required {
                            ui.colored_label(theme::red(dark), "*")
                                .on_hover_text("Required: it cannot be empty");
                        }
                        label
                    })
                    .inner;
                let Some(state) = dialog.values.get_mut(i) else {
                    continue;
                };
                ui.horizontal(|ui| {
                    if refused {
                        ui.colored_label(theme::red(dark), "⚠");
                    }
                    if field_editor_ui(ui, field, state, label.id) {
                        changed = true;
                    }
                });
                let server = dialog.form.server_value(&field.name);
                match &server {
                    None => {
                        ui.weak("new feature");
                    }
                    Some(value) => {
                        ui.label(display_value(field, value));
                    }
                }
                ui.horizontal(|ui| {
                    let differs = server
                        .as_ref()
                        .is_some_and(|s| !crate::model::same_value(s, &state.value));
                    if let Some(server) = server.filter(|_| differs && !field.system)
                        && use_server_button(ui, &field.name).clicked()
                    {
                        state.set(server);
                        changed = true;
                    }
                    let loaded = dialog.form.local_value(&field.name);
                    if !crate::model::same_value(&loaded, &state.value) {
                        ui.colored_label(theme::blue(dark), "changed");
                    }
                });
                ui.end_row();
            }
        });
    if is_add {
        ui.weak("A new feature: the server has no version of it yet.");
    }
    changed
}

/// "Use server value", named for its field for screen readers ("Use server value for Notes").
fn use_server_button(ui: &mut egui::Ui, field: &str) -> egui::Response {
    let response = ui
        .small_button("Use server value")
        .on_hover_text(format!("Set {field} back to the server's value"));
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Button,
            true,
            format!("Use server value for {field}"),
        )
    });
    response
}
