//! "New replica…": the wizard that browses a feature service and creates a replica of the
//! layers and work area the technician picks. `state` holds its plain data and checks, `steps`
//! draws each page; this file is the modal with its step title and the Back / Next / Create
//! buttons. It returns a [`WizardAction`]; it must not send anything itself.

mod state;
mod steps;

pub use state::{AreaChoice, Wizard, WizardAction, WizardStep};

use crate::model::Account;

/// Draws the work-area page's map preview (the caller's: it keeps the map's state) when an
/// extent is chosen; a rectangle drawn on it sets the extent with [`Wizard::set_extent`].
pub type AreaMap<'a> = dyn FnMut(&mut egui::Ui, &mut Wizard) + 'a;

/// Draws the wizard for this frame and returns what it asked for.
pub fn wizard_ui(
    ctx: &egui::Context,
    wizard: &mut Wizard,
    accounts: &[Account],
    map: &mut AreaMap<'_>,
) -> WizardAction {
    let mut action = WizardAction::None;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-new-replica")).show(ctx, |ui| {
        ui.set_max_width(620.0);
        let (number, title) = match wizard.step {
            WizardStep::Url => (1, "Service"),
            WizardStep::Service => (2, "Layers"),
            WizardStep::Area => (3, "Work area"),
            WizardStep::Name => (4, "Name"),
        };
        ui.heading(format!("New replica — {number} of 4: {title}"));
        ui.add_space(6.0);
        let page = match wizard.step {
            WizardStep::Url => steps::url_page_ui(ui, wizard, accounts),
            WizardStep::Service => {
                steps::service_page_ui(ui, wizard);
                WizardAction::None
            }
            WizardStep::Area => steps::area_page_ui(ui, wizard, map),
            WizardStep::Name => {
                steps::name_page_ui(ui, wizard);
                WizardAction::None
            }
        };
        if page != WizardAction::None {
            action = page;
        }
        if let Some(err) = &wizard.error {
            ui.colored_label(crate::ui::theme::red(ui.visuals().dark_mode), err);
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if wizard.step != WizardStep::Url && ui.button("Back").clicked() {
                wizard.back();
            }
            match wizard.step {
                WizardStep::Url => {
                    if ui
                        .add_enabled(!wizard.busy, egui::Button::new("Next"))
                        .clicked()
                    {
                        action = wizard.describe();
                    }
                }
                WizardStep::Name => {
                    if ui.button("Create replica").clicked() {
                        match wizard.request() {
                            Ok(request) => action = WizardAction::Create(request),
                            Err(e) => wizard.error = Some(e),
                        }
                    }
                }
                _ => {
                    if ui.button("Next").clicked() {
                        wizard.next();
                    }
                }
            }
            if ui.button("Cancel").clicked() {
                action = WizardAction::Cancel;
            }
        });
    });
    if action == WizardAction::None && modal.should_close() {
        action = WizardAction::Cancel;
    }
    action
}
