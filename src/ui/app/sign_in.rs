//! Signing in, on the app's side: opening the Sign in dialog (empty, for a URL, or prefilled
//! from a replica that needs it), turning its requests into sign-in `Command`s, following that
//! sign-in's events (the browser is opened on `BrowserSignInStarted`, the dialog closes on
//! `SignedIn` and shows the one line of `SignInFailed`), trusting a refused certificate (the
//! engine's `TrustCertificate`, then the same sign-in again), the Accounts window's sign-out,
//! and the "Sign in again" banners. The accounts themselves are in the view model.

use super::SyncwatchApp;
use crate::engine::{Command, CommandId, Event};
use crate::model::AccountKey;
use crate::ui::Action;
use crate::ui::dialogs::{
    self, AccountsAction, DialogOutcome, SignInDialog, SignInMethod, SignInRequest, SignInStage,
};

/// The Sign in dialog and the sign-in command it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInState {
    pub dialog: SignInDialog,
    /// The engine's id of the sign-in under way (`None` before one is sent, or when the window
    /// talks to a bare channel that names no command).
    pub command: Option<CommandId>,
    /// Sent and not ended yet.
    pub in_flight: bool,
    /// The sign-in refused for an untrusted certificate, sent again once the user trusted it
    /// (held only while the trust prompt is up; its password stays a `Secret`).
    pub retry: Option<SignInRequest>,
    /// The fingerprint of the certificate being trusted (`TrustCertificate` sent, no answer yet).
    pub trusting: Option<String>,
}

/// The client id remembered for a URL is kept per origin (one portal, one registered app).
fn client_id_key(url: &str) -> String {
    url::Url::parse(url.trim())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.trim().to_owned())
}

impl SyncwatchApp {
    /// Opens the Sign in dialog for `url` and `username` (either may be empty).
    pub(super) fn open_sign_in(&mut self, url: &str, username: &str) {
        let mut dialog = SignInDialog::new(url, username);
        if let Some(id) = self.persisted.client_ids.get(&client_id_key(url)) {
            dialog.client_id = id.clone();
            if username.is_empty() {
                dialog.method = SignInMethod::Browser;
            }
        }
        self.sign_in = Some(SignInState {
            dialog,
            command: None,
            in_flight: false,
            retry: None,
            trusting: None,
        });
    }

    /// Sends what the Sign in dialog asked for.
    pub(super) fn apply_sign_in(&mut self, request: SignInRequest) {
        let Some(state) = &mut self.sign_in else {
            return;
        };
        if matches!(
            request,
            SignInRequest::Password { .. } | SignInRequest::Browser { .. }
        ) {
            state.retry = Some(request.clone());
        }
        let command = match request {
            SignInRequest::TrustCertificate { url, fingerprint } => {
                state.trusting = Some(fingerprint.clone());
                Command::TrustCertificate { url, fingerprint }
            }
            SignInRequest::Password {
                url,
                username,
                password,
                remember,
                expiration_minutes,
            } => Command::SignIn {
                url,
                method: crate::engine::SignInRequest::Password {
                    username,
                    password,
                    remember,
                },
                expiration_minutes: Some(expiration_minutes),
            },
            SignInRequest::Browser {
                url,
                client_id,
                port,
                paste_code,
            } => {
                self.persisted
                    .client_ids
                    .insert(client_id_key(&url), client_id.clone());
                let method = if paste_code {
                    crate::engine::SignInRequest::PastedCode { client_id }
                } else {
                    crate::engine::SignInRequest::Browser { client_id, port }
                };
                Command::SignIn {
                    url,
                    method,
                    expiration_minutes: None,
                }
            }
            SignInRequest::PastedCode { code } => match state.command {
                Some(sign_in) => Command::SubmitSignInCode { sign_in, code },
                None => {
                    state
                        .dialog
                        .fail("The sign-in this code belongs to has ended.");
                    return;
                }
            },
            SignInRequest::Cancel => {
                if let (Some(sign_in), true) = (state.command, state.in_flight) {
                    // Best effort: the sign-in times out by itself if this is not queued.
                    let _ = self.commands.send(Command::CancelSignIn { sign_in });
                }
                self.sign_in = None;
                return;
            }
        };
        let is_new = matches!(
            command,
            Command::SignIn { .. } | Command::TrustCertificate { .. }
        );
        let is_sign_in = matches!(command, Command::SignIn { .. });
        match self.commands.submit(command) {
            Ok(id) => {
                if let Some(state) = &mut self.sign_in
                    && is_new
                {
                    state.command = id;
                    state.in_flight = is_sign_in;
                }
            }
            Err(e) => {
                let why = match e {
                    crate::engine::SendError::Busy(_) => {
                        "Busy: the engine has too much queued; try again in a moment."
                    }
                    crate::engine::SendError::Stopped(_) => {
                        "The sync engine has stopped; restart syncwatch."
                    }
                };
                if let Some(state) = &mut self.sign_in {
                    state.dialog.fail(why);
                }
            }
        }
    }

    /// Follows the events of the dialog's own sign-in (before the view model takes them).
    pub(super) fn follow_sign_in(&mut self, ctx: &egui::Context, event: &Event) {
        let Some(state) = &mut self.sign_in else {
            return;
        };
        let ours = |id: &CommandId| state.command.is_none_or(|c| c == *id);
        match event {
            Event::BrowserSignInStarted {
                sign_in,
                authorize_url,
                oob,
            } if ours(sign_in) => {
                state.command = Some(*sign_in);
                state.dialog.stage = SignInStage::WaitingForBrowser {
                    authorize_url: authorize_url.clone(),
                    oob: *oob,
                };
                ctx.open_url(egui::OpenUrl::new_tab(authorize_url));
            }
            Event::SignedIn { sign_in, account } if ours(sign_in) => {
                self.vm.set_notice(
                    format!(
                        "Signed in as {} @ {}",
                        account.key.username, account.key.root_url
                    ),
                    false,
                );
                self.sign_in = None;
            }
            Event::SignInFailed {
                sign_in, message, ..
            } if ours(sign_in) => {
                state.in_flight = false;
                state.command = None;
                state.dialog.fail(message);
                if state.dialog.untrusted_fingerprint.is_none() {
                    state.retry = None;
                }
            }
            Event::CertificateTrusted { fingerprint, .. }
                if state.trusting.as_ref() == Some(fingerprint) =>
            {
                state.trusting = None;
                state.command = None;
                match state.retry.take() {
                    Some(retry) => {
                        state.dialog.stage = SignInStage::Working;
                        self.apply_sign_in(retry);
                    }
                    None => {
                        state.dialog.stage = SignInStage::Editing;
                        state.dialog.error = Some("Certificate trusted: sign in again.".to_owned());
                    }
                }
            }
            Event::CommandFailed {
                command: Some(id),
                error,
                ..
            } if state.trusting.is_some() && ours(id) => {
                state.trusting = None;
                state.command = None;
                state.retry = None;
                state.dialog.fail(&error.message);
            }
            _ => {}
        }
    }

    /// The Sign in dialog and the Accounts window, when open.
    pub(super) fn sign_in_modals_ui(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let now_ms = self.now_ms();
        if let Some(window) = &mut self.accounts_window {
            match dialogs::accounts_window_ui(ctx, window, &self.vm.accounts, now_ms) {
                AccountsAction::None => {}
                AccountsAction::Close => self.accounts_window = None,
                AccountsAction::SignIn => actions.push(Action::OpenSignIn {
                    url: String::new(),
                    username: String::new(),
                }),
                AccountsAction::SignOut(key) => actions.push(Action::SignOut(key)),
            }
        }
        if let Some(state) = &mut self.sign_in {
            match dialogs::sign_in_dialog_ui(ctx, &mut state.dialog) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.sign_in = None,
                DialogOutcome::Done(request) => actions.push(Action::SignIn(request)),
            }
        }
    }

    pub(super) fn apply_sign_out(&mut self, account: AccountKey) {
        let text = format!("Signing out {account}…");
        if self.send(Command::SignOut { account }) {
            self.vm.set_notice(text, false);
        }
    }

    /// One banner per server whose replicas wait for a sign-in, with "Sign in again".
    pub(super) fn sign_in_banners_ui(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let dark = ui.visuals().dark_mode;
        let color = crate::ui::theme::amber(dark);
        let mut shown: Vec<(String, String)> = Vec::new();
        for replica in &self.vm.replicas {
            let Some(reason) = &replica.sign_in_needed else {
                continue;
            };
            let (url, username) = match self.vm.account_of(replica) {
                Some(key) => (key.root_url.clone(), key.username.clone()),
                None => (replica.service_url.clone(), String::new()),
            };
            if shown.contains(&(url.clone(), username.clone())) {
                continue;
            }
            let waiting: Vec<&str> = self
                .vm
                .replicas
                .iter()
                .filter(|r| {
                    r.sign_in_needed.is_some()
                        && match self.vm.account_of(r) {
                            Some(k) => k.root_url == url && k.username == username,
                            None => r.service_url == url,
                        }
                })
                .map(|r| r.name.as_str())
                .collect();
            egui::Frame::new()
                .fill(color.gamma_multiply(0.18))
                .stroke(egui::Stroke::new(1.0, color))
                .inner_margin(egui::Margin::symmetric(8, 4))
                .corner_radius(4.0)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    // The button first: the text may be long and wraps after it.
                    ui.horizontal(|ui| {
                        if ui.button("Sign in again").clicked() {
                            actions.push(Action::OpenSignIn {
                                url: url.clone(),
                                username: username.clone(),
                            });
                        }
                        let who = if username.is_empty() {
                            url.clone()
                        } else {
                            format!("{username} @ {url}")
                        };
                        ui.add(
                            egui::Label::new(format!(
                                "Sign-in needed for {who} ({reason}); waiting: {}.",
                                waiting.join(", ")
                            ))
                            .wrap(),
                        );
                    });
                });
            shown.push((url, username));
        }
    }
}
