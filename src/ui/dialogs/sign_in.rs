//! The "Sign in" dialog: a server or portal URL, then either a username and password (masked,
//! "remember password", token expiration) or "Sign in with your browser" (a client id; the window
//! opens the authorize page when the engine says the browser sign-in started, and for the
//! out-of-band flow takes the code pasted back). While the engine works it shows progress; an
//! error is one line in the footer. A refused certificate shows its fingerprint and a "Trust
//! this certificate" button (the app sends the engine's `TrustCertificate` and signs in again). It returns what the user asked for; it sends nothing itself.

use super::{DialogOutcome, FooterPress, form_footer_ui, labelled_text};
use crate::model::Secret;
use egui::RichText;

/// How the dialog signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignInMethod {
    #[default]
    Password,
    Browser,
}

/// The token lifetimes offered for a password sign-in (minutes; the server may cap them).
pub const EXPIRATION_CHOICES: [(u32, &str); 4] = [
    (60, "1 hour"),
    (480, "8 hours"),
    (1440, "1 day"),
    (20160, "2 weeks"),
];

/// Where the dialog is in its round trip with the engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SignInStage {
    /// The form is being filled in.
    #[default]
    Editing,
    /// A sign-in command is on its way; the engine has not answered yet.
    Working,
    /// The browser was sent to the authorize page; waiting for it (or for a pasted code when
    /// `oob`).
    WaitingForBrowser { authorize_url: String, oob: bool },
    /// The user chose to trust the refused certificate; the engine fetches, checks and keeps it.
    Trusting,
}

/// What the user asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInRequest {
    Password {
        url: String,
        username: String,
        password: Secret,
        remember: bool,
        expiration_minutes: u32,
    },
    Browser {
        url: String,
        client_id: String,
        /// The loopback port the app's registration names (`None`: any free port).
        port: Option<u16>,
        /// The portal shows a code to paste instead of redirecting to this computer.
        paste_code: bool,
    },
    /// The code the authorize page showed (out-of-band flow).
    PastedCode { code: Secret },
    /// Stop waiting for the browser (or the engine).
    Cancel,
    /// Trust the certificate of `url` with this SHA-256 fingerprint (the one shown).
    TrustCertificate { url: String, fingerprint: String },
}

/// State of the "Sign in" dialog. `Debug` shows neither the password nor a pasted code.
#[derive(Clone, PartialEq)]
pub struct SignInDialog {
    pub url: String,
    pub method: SignInMethod,
    pub username: String,
    /// Cleared as soon as the request is built.
    pub password: String,
    pub remember: bool,
    pub expiration_minutes: u32,
    pub client_id: String,
    /// The redirect port, as typed (empty: any free port).
    pub port: String,
    /// Use the out-of-band flow: the portal shows a code to paste here.
    pub paste_code: bool,
    pub pasted_code: String,
    pub stage: SignInStage,
    pub error: Option<String>,
    /// The SHA-256 fingerprint of the server certificate the last attempt refused as untrusted.
    pub untrusted_fingerprint: Option<String>,
}

impl std::fmt::Debug for SignInDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let typed = |text: &str| if text.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("SignInDialog")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("username", &self.username)
            .field("password", &typed(&self.password))
            .field("remember", &self.remember)
            .field("expiration_minutes", &self.expiration_minutes)
            .field("client_id", &self.client_id)
            .field("port", &self.port)
            .field("paste_code", &self.paste_code)
            .field("pasted_code", &typed(&self.pasted_code))
            .field("stage", &self.stage)
            .field("error", &self.error)
            .field("untrusted_fingerprint", &self.untrusted_fingerprint)
            .finish()
    }
}

impl SignInDialog {
    pub fn new(url: &str, username: &str) -> Self {
        SignInDialog {
            url: url.to_owned(),
            method: SignInMethod::Password,
            username: username.to_owned(),
            password: String::new(),
            remember: false,
            expiration_minutes: EXPIRATION_CHOICES[0].0,
            client_id: String::new(),
            port: String::new(),
            paste_code: false,
            pasted_code: String::new(),
            stage: SignInStage::Editing,
            error: None,
            untrusted_fingerprint: None,
        }
    }

    /// Checks the form and builds the request; the typed password leaves the form.
    pub fn request(&mut self) -> Result<SignInRequest, String> {
        if let SignInStage::WaitingForBrowser { oob: true, .. } = self.stage {
            let code = self.pasted_code.trim();
            if code.is_empty() {
                return Err("Paste the code the sign-in page showed.".to_owned());
            }
            let code = Secret::new(code);
            self.pasted_code.clear();
            return Ok(SignInRequest::PastedCode { code });
        }
        let url = self.url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(url).map_err(|e| format!("Not a URL ({e}): {url}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("Use an http or https URL: {url}"));
        }
        match self.method {
            SignInMethod::Password => {
                let username = self.username.trim();
                if username.is_empty() {
                    return Err("Give your username.".to_owned());
                }
                if self.password.is_empty() {
                    return Err("Give your password.".to_owned());
                }
                let password = Secret::new(std::mem::take(&mut self.password));
                Ok(SignInRequest::Password {
                    url: url.to_owned(),
                    username: username.to_owned(),
                    password,
                    remember: self.remember,
                    expiration_minutes: self.expiration_minutes,
                })
            }
            SignInMethod::Browser => {
                let client_id = self.client_id.trim();
                if client_id.is_empty() {
                    return Err(
                        "Give the client id of the app your administrator registered.".to_owned(),
                    );
                }
                let port = match self.port.trim() {
                    "" => None,
                    text => Some(text.parse::<u16>().map_err(|_| {
                        format!("The redirect port is a number from 1 to 65535: {text}")
                    })?),
                };
                Ok(SignInRequest::Browser {
                    url: url.to_owned(),
                    client_id: client_id.to_owned(),
                    port,
                    paste_code: self.paste_code,
                })
            }
        }
    }

    /// The user clicked "Trust this certificate": the request for the shown fingerprint.
    pub fn trust_request(&mut self) -> Option<SignInRequest> {
        let fingerprint = self.untrusted_fingerprint.take()?;
        self.error = None;
        self.stage = SignInStage::Trusting;
        Some(SignInRequest::TrustCertificate {
            url: self.url.trim().trim_end_matches('/').to_owned(),
            fingerprint,
        })
    }

    /// The engine refused: back to the form with one line saying why.
    pub fn fail(&mut self, message: &str) {
        self.stage = SignInStage::Editing;
        self.untrusted_fingerprint = untrusted_fingerprint(message);
        self.error = Some(match self.untrusted_fingerprint {
            // The prompt shows the fingerprint; the line only says what happened.
            Some(_) => "The server's certificate is not trusted.".to_owned(),
            None => one_line(message),
        });
    }
}

/// The fingerprint in the client's "certificate is not trusted … its SHA-256 fingerprint is
/// AB:CD:…" error line (the `service` client's refusal of an untrusted certificate), if the
/// message is one.
pub fn untrusted_fingerprint(message: &str) -> Option<String> {
    if !message.contains("not trusted") {
        return None;
    }
    let (_, rest) = message.split_once("SHA-256 fingerprint is ")?;
    let fingerprint: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == ':')
        .collect();
    (fingerprint.len() >= 64).then_some(fingerprint)
}

/// The first line of a message, so an error never grows the dialog.
fn one_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

pub fn sign_in_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut SignInDialog,
) -> DialogOutcome<SignInRequest> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-sign-in")).show(ctx, |ui| {
        ui.set_max_width(560.0);
        ui.heading("Sign in to ArcGIS");
        match dialog.stage.clone() {
            SignInStage::Editing => form_ui(ui, dialog),
            SignInStage::Working => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Signing in to {}…", dialog.url.trim()));
                });
            }
            SignInStage::WaitingForBrowser { authorize_url, oob } => {
                browser_wait_ui(ui, dialog, &authorize_url, oob)
            }
            SignInStage::Trusting => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Checking and trusting the certificate…");
                });
            }
        }
        let submit = match dialog.stage {
            SignInStage::Editing => Some("Sign in"),
            SignInStage::WaitingForBrowser { oob: true, .. } => Some("Send code"),
            _ => None,
        };
        if let Some(fingerprint) = &dialog.untrusted_fingerprint
            && dialog.stage == SignInStage::Editing
            && trust_prompt_ui(ui, fingerprint)
            && let Some(request) = dialog.trust_request()
        {
            outcome = DialogOutcome::Done(request);
        }
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
        let pressed = match submit {
            Some(submit) => form_footer_ui(ui, dialog.error.as_deref(), submit),
            None => cancel_only_footer(ui, dialog.error.as_deref()),
        };
        match pressed {
            _ if outcome != DialogOutcome::Open => {}
            FooterPress::Submit => submit_form(dialog, &mut outcome),
            FooterPress::Nothing if enter && submit.is_some() => submit_form(dialog, &mut outcome),
            FooterPress::Cancel => outcome = cancel_outcome(dialog),
            FooterPress::Nothing => {}
        }
    });
    if outcome == DialogOutcome::Open && modal.should_close() {
        outcome = cancel_outcome(dialog);
    }
    outcome
}

fn submit_form(dialog: &mut SignInDialog, outcome: &mut DialogOutcome<SignInRequest>) {
    match dialog.request() {
        Ok(req) => {
            dialog.error = None;
            dialog.stage = SignInStage::Working;
            *outcome = DialogOutcome::Done(req);
        }
        Err(e) => dialog.error = Some(e),
    }
}

/// Cancel while the engine works tells it to stop waiting; in the form it just closes.
fn cancel_outcome(dialog: &SignInDialog) -> DialogOutcome<SignInRequest> {
    match dialog.stage {
        SignInStage::Editing => DialogOutcome::Cancelled,
        _ => DialogOutcome::Done(SignInRequest::Cancel),
    }
}

fn cancel_only_footer(ui: &mut egui::Ui, error: Option<&str>) -> FooterPress {
    if let Some(err) = error {
        ui.colored_label(crate::ui::theme::red(ui.visuals().dark_mode), err);
    }
    ui.add_space(6.0);
    if ui.button("Cancel").clicked() {
        FooterPress::Cancel
    } else {
        FooterPress::Nothing
    }
}

/// "Trust this certificate": the refused certificate's fingerprint, to compare with the one the
/// server's administrator gives, the button that trusts it (true when clicked), and the
/// command-line way.
fn trust_prompt_ui(ui: &mut egui::Ui, fingerprint: &str) -> bool {
    let mut trust = false;
    let amber = crate::ui::theme::amber(ui.visuals().dark_mode);
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.0, amber))
        .inner_margin(6.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.label(
                RichText::new("Trust this certificate?")
                    .strong()
                    .color(amber),
            );
            ui.label(
                "The server's certificate is not signed by an authority this computer trusts. \
                 Trust it only if its SHA-256 fingerprint is the one your administrator gave you:",
            );
            ui.horizontal(|ui| {
                ui.label(RichText::new(fingerprint).monospace());
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(fingerprint.to_owned());
                }
            });
            ui.label(
                RichText::new(
                    "Warning: compare every character with the fingerprint your server's \
                     administrator gives you. If they differ, someone may be intercepting the \
                     connection: do not trust it.",
                )
                .color(amber),
            );
            if ui.button("Trust this certificate").clicked() {
                trust = true;
            }
            ui.label(
                RichText::new(
                    "Trusted certificates are kept in the data folder's trusted-certificates. \
                     From the command line: --ca-cert FILE (or SYNCWATCH_CA_CERT=FILE).",
                )
                .weak(),
            );
        });
    trust
}

fn form_ui(ui: &mut egui::Ui, dialog: &mut SignInDialog) {
    ui.label("Sign in to an ArcGIS Enterprise server or portal, or to ArcGIS Online.");
    ui.add_space(6.0);
    egui::Grid::new("sign-in-form")
        .num_columns(2)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            labelled_text(
                ui,
                "Server or portal URL",
                &mut dialog.url,
                false,
                "https://host/arcgis or https://www.arcgis.com",
            );
            ui.label("Sign in with");
            ui.horizontal(|ui| {
                ui.radio_value(
                    &mut dialog.method,
                    SignInMethod::Password,
                    "Username and password",
                );
                ui.radio_value(
                    &mut dialog.method,
                    SignInMethod::Browser,
                    "Sign in with your browser",
                );
            });
            ui.end_row();
            match dialog.method {
                SignInMethod::Password => {
                    labelled_text(ui, "Username", &mut dialog.username, false, "");
                    labelled_text(ui, "Password", &mut dialog.password, true, "");
                    ui.label("");
                    ui.checkbox(&mut dialog.remember, "Remember password")
                        .on_hover_text(
                            "Kept in the secret store only, so expired tokens are renewed \
                             without asking",
                        );
                    ui.end_row();
                    let label = ui.label("Token expires after");
                    let chosen = EXPIRATION_CHOICES
                        .iter()
                        .find(|(m, _)| *m == dialog.expiration_minutes)
                        .map_or("custom", |(_, t)| t);
                    egui::ComboBox::from_id_salt("sign-in-expiration")
                        .selected_text(chosen)
                        .show_ui(ui, |ui| {
                            for (minutes, text) in EXPIRATION_CHOICES {
                                ui.selectable_value(&mut dialog.expiration_minutes, minutes, text);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    ui.end_row();
                }
                SignInMethod::Browser => {
                    labelled_text(
                        ui,
                        "Client id",
                        &mut dialog.client_id,
                        false,
                        "the app id your administrator registered",
                    );
                    if !dialog.paste_code {
                        labelled_text(
                            ui,
                            "Redirect port",
                            &mut dialog.port,
                            false,
                            "any free port, unless the registration names one",
                        );
                    }
                    ui.label("");
                    ui.checkbox(&mut dialog.paste_code, "Paste a code instead")
                        .on_hover_text(
                            "The sign-in page shows a code to paste here, for when the browser \
                             cannot reach this computer",
                        );
                    ui.end_row();
                }
            }
        });
}

fn browser_wait_ui(ui: &mut egui::Ui, dialog: &mut SignInDialog, authorize_url: &str, oob: bool) {
    if oob {
        ui.label("Sign in on the page your browser opened; it then shows a code. Paste it here:");
        egui::Grid::new("sign-in-code")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                labelled_text(ui, "Code", &mut dialog.pasted_code, true, "");
            });
    } else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Waiting for the browser…");
        });
        ui.label("Sign in on the page your browser opened; this window continues by itself.");
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new("No browser opened?").weak());
        ui.hyperlink_to("Open the sign-in page", authorize_url);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form checks what it needs; the password leaves the form once the request is built.
    #[test]
    fn sign_in_form_validates_and_drops_the_password() {
        let mut d = SignInDialog::new("http://127.0.0.1:8080/arcgis", "tech1");
        assert!(d.request().is_err(), "password missing");
        d.password = "pw-typed".into();
        d.pasted_code = "code-typed".into();
        let shown = format!("{d:?}");
        assert!(!shown.contains("typed"), "{shown}");
        d.pasted_code.clear();
        d.password = "pw".into();
        let SignInRequest::Password {
            url,
            username,
            password,
            ..
        } = d.request().expect("valid")
        else {
            panic!("password request expected");
        };
        assert_eq!(
            (url.as_str(), username.as_str()),
            ("http://127.0.0.1:8080/arcgis", "tech1")
        );
        assert_eq!(password.expose(), "pw");
        assert!(d.password.is_empty());
        d.method = SignInMethod::Browser;
        assert!(d.request().is_err(), "client id missing");
        d.client_id = "app".into();
        assert!(matches!(d.request(), Ok(SignInRequest::Browser { .. })));
        d.url = "ftp://x".into();
        assert!(d.request().is_err());
        d.fail("Invalid username or password.\nmore");
        assert_eq!(d.error.as_deref(), Some("Invalid username or password."));
        assert_eq!(d.untrusted_fingerprint, None);
        let fp = ["AB"; 32].join(":");
        d.fail(&format!(
            "sign in: TLS handshake failed: the server's certificate is not trusted (UnknownIssuer); \
             its SHA-256 fingerprint is {fp}; to trust it, add it with --ca-cert FILE — https://h/"
        ));
        assert_eq!(d.untrusted_fingerprint.as_deref(), Some(fp.as_str()));
    }
}
