//! The attribute form that fixes a refused edit before it is resent, built from the layer's
//! schema the engine loaded ([`FixForm`], `Command::LoadFixForm`): the refusal with the server's
//! text and the catalog's guidance, every field with a typed editor beside the server's value
//! ([`attributes`], [`field_editors`]), the geometry's z / m and "keep the server's geometry"
//! ([`geometry`]), and live validation: on every change the edited feature is judged with the
//! same rules the service runs (`engine::judge_fix`), so the form says before anything is sent
//! whether it would still be refused. It returns what to send; the app sends it.

mod attributes;
pub mod field_editors;
mod geometry;

use super::DialogOutcome;
use crate::engine::judge_fix;
use crate::model::{FixForm, FixValues, Vertex, vertices_of, with_z_m};
use crate::protocol::catalog;
use crate::protocol::rules::Rejection;
use crate::ui::theme;
use egui::RichText;
use field_editors::FieldValue;

/// Which geometry a save sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryChoice {
    /// As queued (nothing sent).
    Queued,
    /// The queued geometry with the z / m typed in.
    Edited,
    /// The server's: the geometry change is taken back.
    Server,
}

/// The open form.
#[derive(Debug, Clone, PartialEq)]
pub struct FixFormDialog {
    pub form: FixForm,
    /// One per field of `form.fields`.
    pub values: Vec<FieldValue>,
    pub vertices: Vec<Vertex>,
    /// The z and m text of each vertex.
    pub vertex_texts: Vec<(String, String)>,
    pub geometry: GeometryChoice,
    /// What the service would answer for the values as they are now (`None`: it would accept).
    pub verdict: Option<Rejection>,
}

/// What the form asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct FixSubmit {
    pub values: FixValues,
    /// "Save and sync now": start a sync of the replica too.
    pub sync_now: bool,
}

impl FixFormDialog {
    pub fn new(form: FixForm) -> Self {
        let values = form
            .fields
            .iter()
            .map(|f| FieldValue::new(form.local_value(&f.name)))
            .collect();
        let (has_z, has_m) = (form.layer.has_z, form.layer.has_m);
        let vertices = form
            .local
            .geometry
            .as_ref()
            .map(|g| vertices_of(g, has_z, has_m))
            .unwrap_or_default();
        let text = |v: Option<f64>| v.map(|n| n.to_string()).unwrap_or_default();
        let vertex_texts = vertices.iter().map(|v| (text(v.z), text(v.m))).collect();
        let mut dialog = FixFormDialog {
            form,
            values,
            vertices,
            vertex_texts,
            geometry: GeometryChoice::Queued,
            verdict: None,
        };
        dialog.validate();
        dialog
    }

    /// Sets a field's value by name (tests, and the bulk form's preview).
    pub fn set_value(&mut self, name: &str, value: serde_json::Value) {
        if let Some(i) = self.form.fields.iter().position(|f| f.name == name) {
            self.values[i].set(value);
            self.validate();
        }
    }

    /// The value a field holds now.
    pub fn value(&self, name: &str) -> Option<&serde_json::Value> {
        let i = self.form.fields.iter().position(|f| f.name == name)?;
        Some(&self.values[i].value)
    }

    /// What a save sends now.
    pub fn fix_values(&self) -> FixValues {
        let named: Vec<(String, serde_json::Value)> = self
            .form
            .fields
            .iter()
            .zip(&self.values)
            .map(|(f, v)| (f.name.clone(), v.value.clone()))
            .collect();
        let geometry = match self.geometry {
            GeometryChoice::Queued => None,
            GeometryChoice::Edited => self.form.local.geometry.as_ref().map(|g| {
                with_z_m(
                    g,
                    &self.vertices,
                    self.form.layer.has_z,
                    self.form.layer.has_m,
                )
            }),
            GeometryChoice::Server => self.form.server.as_ref().and_then(|s| s.geometry.clone()),
        };
        self.form.values(&named, geometry)
    }

    /// Judges the values as they are now with the service's rules.
    pub fn validate(&mut self) {
        self.verdict = judge_fix(&self.form, &self.fix_values());
    }
}

/// Draws the form.
pub fn fix_form_ui(ctx: &egui::Context, dialog: &mut FixFormDialog) -> DialogOutcome<FixSubmit> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-fix-form")).show(ctx, |ui| {
        ui.set_max_width(760.0);
        ui.set_min_width(640.0);
        let dark = ui.visuals().dark_mode;
        ui.heading("Fix and resend");
        let form = &dialog.form;
        ui.label(format!(
            "{} · ObjectID {} · {} · {}",
            form.layer_name,
            form.object_id
                .map_or_else(|| "–".to_owned(), |o| o.to_string()),
            form.global_id,
            if form.is_add() {
                "new feature"
            } else {
                "update"
            }
        ));
        refusal_ui(ui, form, dark);
        ui.separator();
        let mut changed = false;
        egui::ScrollArea::vertical()
            .id_salt("fix-form-scroll")
            .max_height(ctx.content_rect().height() * 0.55)
            .show(ui, |ui| {
                changed |= attributes::attributes_ui(ui, dialog);
                if geometry::shows_geometry(dialog) {
                    ui.separator();
                    changed |= geometry::geometry_ui(ui, dialog);
                }
            });
        if changed {
            dialog.validate();
        }
        ui.separator();
        match &dialog.verdict {
            Some(r) => {
                ui.colored_label(
                    theme::red(dark),
                    format!("Would still be refused: {} {}", r.code, r.description()),
                );
            }
            None => {
                ui.colored_label(theme::green(dark), "✔ The service would accept this.");
            }
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui
                .button("Save fix")
                .on_hover_text("Keep the fix queued; it is sent with the next sync")
                .clicked()
            {
                outcome = DialogOutcome::Done(FixSubmit {
                    values: dialog.fix_values(),
                    sync_now: false,
                });
            }
            if ui.button("Save and sync now").clicked() {
                outcome = DialogOutcome::Done(FixSubmit {
                    values: dialog.fix_values(),
                    sync_now: true,
                });
            }
            if ui.button("Cancel").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}

/// The refusal the form is for: code, the server's text, and the catalog's guidance.
fn refusal_ui(ui: &mut egui::Ui, form: &FixForm, dark: bool) {
    let refused = &form.refused;
    let Some(code) = refused.code else {
        if !refused.description.is_empty() {
            ui.label(&refused.description);
        }
        return;
    };
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.0, theme::red(dark)))
        .show(ui, |ui| {
            let title = catalog::for_edit_result(code).map_or("Refused", |e| e.title);
            let what = if refused.predicted {
                "Predicted"
            } else {
                "Refused"
            };
            ui.label(
                RichText::new(format!("{what}: {code} – {title}"))
                    .strong()
                    .color(theme::red(dark)),
            );
            ui.label(RichText::new(&refused.description).italics());
            if let Some(entry) = catalog::for_edit_result(code) {
                ui.label(entry.how_to_address);
            }
        });
}
