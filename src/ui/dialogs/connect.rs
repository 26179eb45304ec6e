//! "Connect to service": the form that turns a FeatureServer URL, a name and layers into a
//! create-replica request. A signed-in account for the URL's server is used by itself (the form
//! says which); without one it offers "Sign in…"; a token can still be pasted under "Advanced".
//! It validates the form; it must not send anything itself.

use super::{DialogOutcome, FooterPress, form_footer_ui, labelled_text};
use crate::engine::CreateRequest;
use crate::model::Account;
use crate::protocol::SyncModel;

/// What the connect dialog asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectChoice {
    Create(CreateRequest),
    /// Open the Sign in dialog for this URL (the connect form stays open behind it).
    SignIn {
        url: String,
    },
}

/// The signed-in account the engine will use for `service_url`, as far as the window can tell:
/// the account whose root the URL is under (the longest such root), else one on the same
/// origin (a portal federating the server on that host). The engine makes the final choice.
pub fn account_for<'a>(service_url: &str, accounts: &'a [Account]) -> Option<&'a Account> {
    let url = service_url.trim().to_ascii_lowercase();
    let under = accounts
        .iter()
        .filter(|a| {
            let root = a.key.root_url.to_ascii_lowercase();
            url == root || url.starts_with(&format!("{root}/"))
        })
        .max_by_key(|a| a.key.root_url.len());
    under.or_else(|| {
        let origin = url::Url::parse(&url).ok()?.origin();
        accounts.iter().find(|a| {
            url::Url::parse(&a.key.root_url.to_ascii_lowercase())
                .is_ok_and(|root| root.origin() == origin)
        })
    })
}

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
            scope: Default::default(),
        })
    }
}

pub fn connect_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut ConnectDialog,
    accounts: &[Account],
) -> DialogOutcome<ConnectChoice> {
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
                ui.label("Account");
                account_line_ui(ui, dialog, accounts, &mut outcome);
                ui.end_row();
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
        egui::CollapsingHeader::new("Advanced")
            .default_open(!dialog.token.is_empty())
            .show(ui, |ui| {
                egui::Grid::new("connect-advanced")
                    .num_columns(2)
                    .spacing([10.0, 6.0])
                    .show(ui, |ui| {
                        labelled_text(
                            ui,
                            "Token",
                            &mut dialog.token,
                            true,
                            "paste a token instead of signing in",
                        );
                    });
            });
        match form_footer_ui(ui, dialog.error.as_deref(), "Create replica") {
            FooterPress::Submit => match dialog.request() {
                Ok(req) => outcome = DialogOutcome::Done(ConnectChoice::Create(req)),
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

/// "Will use tech1 @ host", or "Not signed in" with a "Sign in…" button.
fn account_line_ui(
    ui: &mut egui::Ui,
    dialog: &ConnectDialog,
    accounts: &[Account],
    outcome: &mut DialogOutcome<ConnectChoice>,
) {
    ui.horizontal(|ui| {
        if !dialog.token.trim().is_empty() {
            ui.label("will use the pasted token (Advanced)");
        } else if let Some(account) = account_for(&dialog.service_url, accounts) {
            ui.label(format!(
                "will use {} @ {}",
                account.key.username, account.key.root_url
            ));
        } else {
            ui.weak("not signed in to this server");
            if ui.button("Sign in…").clicked() {
                *outcome = DialogOutcome::Done(ConnectChoice::SignIn {
                    url: dialog.service_url.trim().to_owned(),
                });
            }
        }
    });
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

    /// The account under whose root the service lies is chosen, the longest root first, then
    /// one on the same origin; another host's account never.
    #[test]
    fn account_for_a_service_url() {
        use crate::model::{AccountKey, AccountKind, AccountSecrets, SecretStoreKind};
        let account = |root: &str, user: &str| {
            Account::describe(
                AccountKey::new(root, user),
                AccountKind::GenerateToken,
                SecretStoreKind::File,
                &AccountSecrets::default(),
                0,
            )
        };
        let accounts = [
            account("https://gis.example.com/portal", "portal-user"),
            account("https://gis.example.com/arcgis", "server-user"),
            account("https://other.example.com/arcgis", "other"),
        ];
        let user = |url: &str| account_for(url, &accounts).map(|a| a.key.username.as_str());
        let service = "https://gis.example.com/arcgis/rest/services/Water/FeatureServer";
        assert_eq!(user(service), Some("server-user"));
        assert_eq!(
            user("https://gis.example.com/hosted/rest/services/X/FeatureServer"),
            Some("portal-user")
        );
        assert_eq!(user("https://third.example.com/arcgis/rest/services"), None);
        assert_eq!(
            user("https://gis.example.com/arcgisx/rest"),
            Some("portal-user")
        );
    }
}
