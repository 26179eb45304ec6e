//! Small dialogs: "New replica" (the wizard that browses a service and creates a replica of
//! the chosen layers and work area, [`wizard`]), "Sign in" ([`sign_in`]), File → Accounts
//! ([`accounts`]), the attribute form that fixes a refused edit before resending it ([`fix`]),
//! one field set for several refused edits ([`bulk_fix`]), and the confirmations before local
//! edits are dropped or a replica unregistered ([`confirm`]), and "Restore changes from backup…"
//! ([`restore`]). Each keeps its own form state
//! and returns what the user decided; the app turns that into `Command`s. Escape or a click
//! outside cancels every one of them.

pub mod accounts;
pub mod bulk_fix;
pub mod confirm;
pub mod fix;
pub mod restore;
pub mod sign_in;
pub mod wizard;

pub use accounts::{AccountsAction, AccountsWindow, accounts_window_ui};
pub use sign_in::{SignInDialog, SignInMethod, SignInRequest, SignInStage, sign_in_dialog_ui};

pub use bulk_fix::{BulkFixDialog, BulkFixSubmit, bulk_fix_ui};
pub use confirm::{
    BulkDropConfirm, DropConfirm, UnregisterConfirm, bulk_drop_confirm_ui, drop_confirm_ui,
    unregister_confirm_ui,
};
pub use fix::{FixFormDialog, FixSubmit, GeometryChoice, fix_form_ui};
pub use wizard::{Wizard, WizardAction, wizard_ui};

/// What a dialog returned this frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum DialogOutcome<T> {
    /// Still open.
    Open,
    Cancelled,
    Done(T),
}

/// Which footer button of a form dialog was pressed this frame.
pub(super) enum FooterPress {
    Submit,
    Cancel,
    Nothing,
}

/// The end of a form dialog: the form's error line (if any), then its submit and Cancel buttons.
pub(super) fn form_footer_ui(ui: &mut egui::Ui, error: Option<&str>, submit: &str) -> FooterPress {
    if let Some(err) = error {
        ui.colored_label(crate::ui::theme::red(ui.visuals().dark_mode), err);
    }
    ui.add_space(6.0);
    let mut pressed = FooterPress::Nothing;
    ui.horizontal(|ui| {
        if ui.button(submit).clicked() {
            pressed = FooterPress::Submit;
        }
        if ui.button("Cancel").clicked() {
            pressed = FooterPress::Cancel;
        }
    });
    pressed
}

/// A label and a one-line text box in a form grid.
pub(super) fn labelled_text(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    password: bool,
    hint: &str,
) {
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
