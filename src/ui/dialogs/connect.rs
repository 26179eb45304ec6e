//! "Connect to service": the form that turns a FeatureServer URL, a token, a name and layers into
//! a create-replica request. It validates the form; it must not send anything itself.

use super::{DialogOutcome, FooterPress, form_footer_ui, labelled_text};
use crate::engine::CreateRequest;
use crate::protocol::SyncModel;

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
        match form_footer_ui(ui, dialog.error.as_deref(), "Create replica") {
            FooterPress::Submit => match dialog.request() {
                Ok(req) => outcome = DialogOutcome::Done(req),
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
}
