//! Small dialogs: "Connect to service" (FeatureServer URL + token → create a replica), the
//! attribute form that fixes a refused edit before resending it, and the confirmation before a
//! local edit is dropped. Each keeps its own form state and returns what the user decided; the
//! app turns that into `Command`s. Escape or a click outside cancels every one of them.

use crate::engine::{CreateRequest, EditResultRecord, LocalReplicaId};
use crate::protocol::{Attributes, Guid, SyncModel};
use egui::RichText;

/// State of the "Connect to service" dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectDialog {
    pub service_url: String,
    pub token: String,
    pub name: String,
    /// Comma-separated layer ids, e.g. "0, 1, 2".
    pub layers: String,
    pub sync_model: SyncModel,
    pub is_async: bool,
    pub error: Option<String>,
}

impl ConnectDialog {
    pub fn new(service_url: &str) -> Self {
        ConnectDialog {
            service_url: service_url.to_owned(),
            token: String::new(),
            name: String::new(),
            layers: "0".to_owned(),
            sync_model: SyncModel::PerReplica,
            is_async: true,
            error: None,
        }
    }

    /// Checks the form and builds the request.
    pub fn request(&self) -> Result<CreateRequest, String> {
        let url = self.service_url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(url).map_err(|e| format!("Not a URL ({e}): {url}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("Use an http or https URL: {url}"));
        }
        if !url.to_ascii_lowercase().ends_with("/featureserver") {
            return Err(format!(
                "Give the FeatureServer URL, ending in /FeatureServer: {url}"
            ));
        }
        let name = self.name.trim();
        if name.is_empty() {
            return Err("Give the replica a name.".to_owned());
        }
        let mut layers = Vec::new();
        for part in self
            .layers
            .split([',', ' '])
            .filter(|p| !p.trim().is_empty())
        {
            let id: i64 = part
                .trim()
                .parse()
                .map_err(|_| format!("Layer ids are numbers separated by commas: {part:?}"))?;
            if !layers.contains(&id) {
                layers.push(id);
            }
        }
        if layers.is_empty() {
            return Err("Name at least one layer id.".to_owned());
        }
        let token = self.token.trim();
        Ok(CreateRequest {
            service_url: url.to_owned(),
            token: (!token.is_empty()).then(|| token.into()),
            name: name.to_owned(),
            layers,
            sync_model: self.sync_model,
            is_async: self.is_async,
        })
    }
}

/// What a dialog returned this frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum DialogOutcome<T> {
    /// Still open.
    Open,
    Cancelled,
    Done(T),
}

fn labelled_text(ui: &mut egui::Ui, label: &str, text: &mut String, password: bool, hint: &str) {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .password(password)
            .hint_text(hint)
            .desired_width(380.0),
    )
    .labelled_by(l.id);
    ui.end_row();
}

pub fn connect_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut ConnectDialog,
) -> DialogOutcome<CreateRequest> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-connect")).show(ctx, |ui| {
        ui.heading("Connect to service");
        ui.label("Create a replica of a sync-enabled feature service and download it.");
        ui.add_space(6.0);
        egui::Grid::new("connect-form")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                labelled_text(
                    ui,
                    "FeatureServer URL",
                    &mut dialog.service_url,
                    false,
                    "https://host/arcgis/rest/services/Name/FeatureServer",
                );
                labelled_text(ui, "Token", &mut dialog.token, true, "optional");
                labelled_text(
                    ui,
                    "Replica name",
                    &mut dialog.name,
                    false,
                    "e.g. Hydrants – crew A",
                );
                labelled_text(ui, "Layer ids", &mut dialog.layers, false, "0, 1, 2");
                ui.label("Sync model");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut dialog.sync_model, SyncModel::PerReplica, "per replica");
                    ui.radio_value(&mut dialog.sync_model, SyncModel::PerLayer, "per layer");
                });
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut dialog.is_async, "Run as an async job");
                ui.end_row();
            });
        if let Some(err) = &dialog.error {
            ui.colored_label(super::theme::red(ui.visuals().dark_mode), err);
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Create replica").clicked() {
                match dialog.request() {
                    Ok(req) => outcome = DialogOutcome::Done(req),
                    Err(e) => dialog.error = Some(e),
                }
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
        if let Some(err) = &dialog.error {
            ui.colored_label(super::theme::red(ui.visuals().dark_mode), err);
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Save and resend").clicked() {
                match dialog.values() {
                    Ok(v) => outcome = DialogOutcome::Done(v),
                    Err(e) => dialog.error = Some(e),
                }
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

/// Confirmation before a local edit is reverted to the server's version.
#[derive(Debug, Clone, PartialEq)]
pub struct DropConfirm {
    pub replica: LocalReplicaId,
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub object_id: Option<i64>,
}

pub fn drop_confirm_ui(ctx: &egui::Context, confirm: &DropConfirm) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-drop-edit")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading("Drop the local edit?");
        ui.label(format!(
            "{} · ObjectID {} · {}",
            confirm.layer_name,
            confirm
                .object_id
                .map_or_else(|| "–".to_owned(), |o| o.to_string()),
            confirm.global_id
        ));
        ui.label("The feature goes back to the server's version; your local change is lost and will not be resent.");
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Drop edit").clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Keep edit").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = DialogOutcome::Cancelled;
    }
    outcome
}

/// Confirmation before a replica is unregistered.
#[derive(Debug, Clone, PartialEq)]
pub struct UnregisterConfirm {
    pub replica: LocalReplicaId,
    pub name: String,
    pub pending_changes: u32,
}

pub fn unregister_confirm_ui(
    ctx: &egui::Context,
    confirm: &UnregisterConfirm,
) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-unregister")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading(format!("Unregister {}?", confirm.name));
        ui.label("The replica is unregistered on the server and removed from this list. Its local file is kept as a backup.");
        if confirm.pending_changes > 0 {
            ui.colored_label(
                super::theme::red(ui.visuals().dark_mode),
                format!(
                    "{} unsynced local changes will not reach the server.",
                    confirm.pending_changes
                ),
            );
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Unregister replica").clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Keep replica").clicked() {
                outcome = DialogOutcome::Cancelled;
            }
        });
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
    fn connect_form_validates() {
        let mut d =
            ConnectDialog::new("http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer/");
        assert!(d.request().is_err(), "name missing");
        d.name = "Hydrants".into();
        d.layers = "0, 1,1".into();
        let req = d.request().expect("valid");
        assert_eq!(req.layers, vec![0, 1]);
        assert!(req.service_url.ends_with("/FeatureServer"));
        assert_eq!(req.token, None);
        d.service_url = "ftp://x/FeatureServer".into();
        assert!(d.request().is_err());
    }

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
