//! The "New replica" wizard on the app's side: opening it (File → New replica…, with the last
//! service URL), turning what it asks for into `Command`s (describe the service, count an area,
//! create the replica, open Sign in) and handing it the engine's answers. The wizard itself is
//! `ui::dialogs::wizard`.

use super::SyncwatchApp;
use super::action::Action;
use crate::engine::{Command, Event};
use crate::ui::dialogs::{Wizard, WizardAction, wizard_ui};

impl SyncwatchApp {
    /// Opens the wizard at its URL page.
    pub(super) fn open_wizard(&mut self) {
        let url = if self.persisted.last_service_url.is_empty() {
            self.config.default_service_url.clone()
        } else {
            self.persisted.last_service_url.clone()
        };
        self.wizard = Some(Wizard::new(&url));
    }

    /// Draws the wizard (if open) and carries out what it asked for.
    pub(super) fn wizard_window_ui(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let Some(wizard) = &mut self.wizard else {
            return;
        };
        match wizard_ui(ctx, wizard, &self.vm.accounts) {
            WizardAction::None => {}
            WizardAction::Cancel => self.wizard = None,
            WizardAction::SignIn { url } => actions.push(Action::OpenSignIn {
                url,
                username: String::new(),
            }),
            WizardAction::Describe { url, token } => {
                let command = Command::DescribeService {
                    service_url: url,
                    token: token.map(Into::into),
                };
                self.submit_for_wizard(command);
            }
            WizardAction::Count { area, layers } => {
                let Some(wizard) = &self.wizard else {
                    return;
                };
                let (Ok(url), token) = (wizard.checked_url(), wizard.token.trim().to_owned())
                else {
                    return;
                };
                let command = Command::CountArea {
                    service_url: url,
                    token: (!token.is_empty()).then(|| token.into()),
                    area,
                    layers,
                };
                // A count is not awaited: the page shows "counting…" until it arrives.
                if let Err(e) = self.commands.submit(command)
                    && let Some(wizard) = &mut self.wizard
                {
                    wizard.error = Some(format!("Not sent: {e}"));
                }
            }
            WizardAction::Create(request) => actions.push(Action::CreateReplica(request)),
        }
    }

    /// Sends a command the wizard waits for and remembers its id (to match its failure).
    fn submit_for_wizard(&mut self, command: Command) {
        let submitted = self.commands.submit(command);
        let Some(wizard) = &mut self.wizard else {
            return;
        };
        match submitted {
            Ok(id) => {
                wizard.command = id;
                wizard.busy = true;
                wizard.error = None;
            }
            Err(e) => wizard.error = Some(format!("Not sent: {e}")),
        }
    }

    /// Hands the wizard the engine's answers (before the view model sees the event).
    pub(super) fn follow_wizard(&mut self, event: &Event) {
        if let Some(wizard) = &mut self.wizard {
            wizard.follow(event);
        }
    }
}
