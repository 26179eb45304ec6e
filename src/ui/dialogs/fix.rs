//! The attribute form that replaces a refused edit's values before it is resent: opened for one
//! edit-result row, it guesses the field the error is about and parses the values typed. It
//! returns the values; the app sends them.

use super::{DialogOutcome, FooterPress, form_footer_ui};
use crate::engine::{EditResultRecord, LocalReplicaId};
use crate::protocol::{Attributes, Guid};
use egui::RichText;

/// The attribute form that replaces a refused edit's values.
#[derive(Debug, Clone, PartialEq)]
pub struct FixDialog {
    pub replica: LocalReplicaId,
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub object_id: Option<i64>,
    pub code: Option<i64>,
    pub description: String,
    /// (field name, value text); a value that parses as JSON (number, true, null, "text") is
    /// sent as that JSON, anything else as text.
    pub fields: Vec<(String, String)>,
    /// Optional geometry JSON; empty keeps the current geometry.
    pub geometry: String,
    pub error: Option<String>,
}

/// The values to send with `Command::FixEdit`.
#[derive(Debug, Clone, PartialEq)]
pub struct FixValues {
    pub attributes: Attributes,
    pub geometry: Option<serde_json::Value>,
}

/// Guesses the field an error is about from its description ("Field: STATUS is not nullable").
pub fn field_hint(description: &str) -> Option<String> {
    let after = description
        .split_once("Field: ")
        .map(|(_, rest)| rest)
        .or_else(|| description.split_once("value for ").map(|(_, rest)| rest))?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

impl FixDialog {
    /// Opens the form for a refused edit; `None` when the row has no GlobalID to address it by.
    pub fn for_record(replica: LocalReplicaId, r: &EditResultRecord) -> Option<Self> {
        let global_id = r.global_id.clone()?;
        let field = field_hint(&r.description).unwrap_or_default();
        Some(FixDialog {
            replica,
            layer_id: r.layer_id,
            layer_name: r.layer_name.to_string(),
            global_id,
            object_id: r.object_id,
            code: r.code,
            description: r.description.to_string(),
            fields: vec![(field, String::new())],
            geometry: String::new(),
            error: None,
        })
    }

    pub fn values(&self) -> Result<FixValues, String> {
        let mut attributes = Attributes::new();
        for (name, value) in &self.fields {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let text = value.trim();
            let json = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .filter(|v| !v.is_object() && !v.is_array())
                .unwrap_or_else(|| serde_json::Value::String(value.clone()));
            attributes.insert(name.to_owned(), json);
        }
        let geometry = if self.geometry.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str(self.geometry.trim())
                    .map_err(|e| format!("Geometry is not valid JSON: {e}"))?,
            )
        };
        if attributes.is_empty() && geometry.is_none() {
            return Err("Set at least one field value (or a geometry).".to_owned());
        }
        Ok(FixValues {
            attributes,
            geometry,
        })
    }
}

pub fn fix_dialog_ui(ctx: &egui::Context, dialog: &mut FixDialog) -> DialogOutcome<FixValues> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-fix-edit")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading("Fix and resend");
        ui.label(format!(
            "{} · ObjectID {} · {}",
            dialog.layer_name,
            dialog
                .object_id
                .map_or_else(|| "–".to_owned(), |o| o.to_string()),
            dialog.global_id
        ));
        if let Some(code) = dialog.code {
            ui.label(RichText::new(format!("{code}: {}", dialog.description)).italics());
        }
        ui.add_space(6.0);
        ui.label(
            "New values (numbers, true/false and null are sent as such; anything else as text):",
        );
        let mut remove = None;
        egui::Grid::new("fix-fields")
            .num_columns(3)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let field_label = ui.label("Field");
                let value_label = ui.label("Value");
                ui.end_row();
                for (i, (name, value)) in dialog.fields.iter_mut().enumerate() {
                    ui.add(
                        egui::TextEdit::singleline(name)
                            .hint_text("field")
                            .desired_width(160.0),
                    )
                    .labelled_by(field_label.id);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .hint_text("value")
                            .desired_width(220.0),
                    )
                    .labelled_by(value_label.id);
                    if ui.small_button("Remove").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
        if let Some(i) = remove {
            dialog.fields.remove(i);
        }
        if ui.small_button("Add field").clicked() {
            dialog.fields.push((String::new(), String::new()));
        }
        ui.add_space(4.0);
        let l = ui.label("Geometry JSON (optional)");
        ui.add(
            egui::TextEdit::multiline(&mut dialog.geometry)
                .desired_rows(2)
                .desired_width(440.0)
                .hint_text("{\"x\": 2.35, \"y\": 48.85}"),
        )
        .labelled_by(l.id);
        match form_footer_ui(ui, dialog.error.as_deref(), "Save and resend") {
            FooterPress::Submit => match dialog.values() {
                Ok(v) => outcome = DialogOutcome::Done(v),
                Err(e) => dialog.error = Some(e),
            },
            FooterPress::Cancel => outcome = DialogOutcome::Cancelled,
            FooterPress::Nothing => {}
        }
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_hints_and_values() {
        assert_eq!(
            field_hint("Field: STATUS is not nullable. Cannot set null value.").as_deref(),
            Some("STATUS")
        );
        assert_eq!(
            field_hint("Setting of value for ZONING failed.").as_deref(),
            Some("ZONING")
        );
        let d = FixDialog {
            replica: LocalReplicaId(1),
            layer_id: 0,
            layer_name: "Parcels".into(),
            global_id: crate::ui::fixtures::guid(1),
            object_id: Some(1),
            code: Some(1001),
            description: String::new(),
            fields: vec![
                ("STATUS".into(), "Active".into()),
                ("AREA".into(), "12.5".into()),
                ("".into(), "ignored".into()),
            ],
            geometry: String::new(),
            error: None,
        };
        let v = d.values().expect("valid");
        assert_eq!(v.attributes["STATUS"], serde_json::json!("Active"));
        assert_eq!(v.attributes["AREA"], serde_json::json!(12.5));
        assert_eq!(v.attributes.len(), 2);
    }
}
