//! File → Accounts: who is signed in where, how, when each token expires (relative and
//! absolute), which secret store holds its secrets, and Sign out behind a confirmation. It draws
//! the accounts the engine listed and returns what the user asked for; it sends nothing itself.

use super::DialogOutcome;
use crate::model::{Account, AccountKey, AccountKind, SecretKind};
use crate::ui::format;
use egui::RichText;

/// What the Accounts window asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountsAction {
    None,
    Close,
    /// Open the Sign in dialog (empty).
    SignIn,
    /// The user confirmed signing this account out.
    SignOut(AccountKey),
}

/// State of the Accounts window: the account waiting for its sign-out confirmation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountsWindow {
    pub confirm_sign_out: Option<AccountKey>,
}

/// "in 42 min (2026-12-02 15:03:12)", "ended 3 min ago (…)", or "not said by the server".
pub fn expiry_text(expires_ms: Option<i64>, now_ms: i64) -> String {
    let Some(at) = expires_ms else {
        return "not said by the server".to_owned();
    };
    let relative = if at >= now_ms {
        format::time_until(at, now_ms)
    } else {
        format!("ended {}", format::relative_time(Some(at), now_ms))
    };
    format!("{relative} ({})", format::timestamp(at))
}

fn kind_text(kind: &AccountKind) -> String {
    match kind {
        AccountKind::GenerateToken => "username and password".to_owned(),
        AccountKind::OAuth { client_id } => format!("browser (client id {client_id})"),
    }
}

fn held_text(account: &Account) -> String {
    let names: Vec<&str> = account
        .held
        .iter()
        .map(|k| match k {
            SecretKind::AccessToken => "token",
            SecretKind::RefreshToken => "refresh token",
            SecretKind::Password => "remembered password",
            SecretKind::ReplicaToken => "replica token",
        })
        .collect();
    if names.is_empty() {
        format!("nothing in {}", account.store.label())
    } else {
        format!("{} in {}", names.join(", "), account.store.label())
    }
}

pub fn accounts_window_ui(
    ctx: &egui::Context,
    state: &mut AccountsWindow,
    accounts: &[Account],
    now_ms: i64,
) -> AccountsAction {
    let mut action = AccountsAction::None;
    if let Some(key) = state.confirm_sign_out.clone() {
        match sign_out_confirm_ui(ctx, &key) {
            DialogOutcome::Open => {}
            DialogOutcome::Cancelled => state.confirm_sign_out = None,
            DialogOutcome::Done(()) => {
                state.confirm_sign_out = None;
                return AccountsAction::SignOut(key);
            }
        }
        return action;
    }
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-accounts")).show(ctx, |ui| {
        ui.set_min_width(620.0);
        ui.heading("Accounts");
        if accounts.is_empty() {
            ui.label("You are not signed in anywhere.");
        }
        for account in accounts {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(RichText::new(&account.key.username).strong());
                    ui.label(format!("@ {}", account.key.root_url));
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui
                            .button("Sign out…")
                            .on_hover_text(format!("Sign out {}", account.key))
                            .clicked()
                        {
                            state.confirm_sign_out = Some(account.key.clone());
                        }
                    });
                });
                egui::Grid::new(("account-facts", &account.key))
                    .num_columns(2)
                    .spacing([12.0, 2.0])
                    .show(ui, |ui| {
                        ui.label("Signed in with");
                        ui.label(kind_text(&account.kind));
                        ui.end_row();
                        ui.label("Token expires");
                        ui.label(expiry_text(account.access_expires_ms, now_ms));
                        ui.end_row();
                        if account.held.contains(&SecretKind::RefreshToken) {
                            ui.label("Refresh token expires");
                            ui.label(expiry_text(account.refresh_expires_ms, now_ms));
                            ui.end_row();
                        }
                        ui.label("Secrets");
                        ui.label(held_text(account));
                        ui.end_row();
                    });
            });
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Sign in…").clicked() {
                action = AccountsAction::SignIn;
            }
            if ui.button("Close").clicked() {
                action = AccountsAction::Close;
            }
        });
    });
    if action == AccountsAction::None && modal.should_close() {
        action = AccountsAction::Close;
    }
    action
}

fn sign_out_confirm_ui(ctx: &egui::Context, key: &AccountKey) -> DialogOutcome<()> {
    let mut outcome = DialogOutcome::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-sign-out")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading("Sign out?");
        ui.label(format!(
            "{} is signed out and its tokens and remembered password are removed from the secret \
             store. Replicas on this server wait until you sign in again; their local edits are kept.",
            key
        ));
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Sign out").clicked() {
                outcome = DialogOutcome::Done(());
            }
            if ui.button("Stay signed in").clicked() {
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
    fn expiry_reads_relative_and_absolute() {
        let now = 1_800_000_000_000;
        assert!(expiry_text(Some(now + 42 * 60_000), now).starts_with("in 42 min ("));
        assert!(expiry_text(Some(now - 180_000), now).starts_with("ended 3 min ago ("));
        assert_eq!(expiry_text(None, now), "not said by the server");
    }
}
