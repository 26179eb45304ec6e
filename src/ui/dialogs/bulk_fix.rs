//! "Set <field> for N edits": one value typed once for a field that several refused edits share
//! (e.g. forty adds refused with 1001 on the same field), with the same typed editor as the fix
//! form, and each edit judged with that value by the service's rules before anything is sent.
//! It returns the value; the app sends `Command::SetFieldInEdits`.

use super::DialogOutcome;
use super::fix::field_editors::{FieldValue, field_editor_ui};
use crate::engine::judge_fix;
use crate::model::{FixForm, FormField};
use crate::protocol::rules::Rejection;
use crate::ui::theme;
use egui::RichText;

/// The open dialog: the forms of the selected edits (one layer, one field).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkFixDialog {
    pub forms: Vec<FixForm>,
    pub field: FormField,
    pub value: FieldValue,
    /// Each edit's verdict with the value as it is now (`None`: accepted).
    pub verdicts: Vec<Option<Rejection>>,
}

/// What the dialog asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkFixSubmit {
    pub value: serde_json::Value,
    pub sync_now: bool,
}

impl BulkFixDialog {
    /// The dialog for setting `field` in every one of `forms`; `None` when the field is not one
    /// the technician may set.
    pub fn new(forms: Vec<FixForm>, field: &str) -> Option<Self> {
        let first = forms.first()?;
        let field = first.fields.iter().find(|f| f.name == field)?.clone();
        if field.locked() {
            return None;
        }
        let value = FieldValue::new(serde_json::Value::Null);
        let mut dialog = BulkFixDialog {
            forms,
            field,
            value,
            verdicts: Vec::new(),
        };
        dialog.validate();
        Some(dialog)
    }

    /// Judges every edit with the value set.
    pub fn validate(&mut self) {
        self.verdicts = self
            .forms
            .iter()
            .map(|form| {
                let named: Vec<(String, serde_json::Value)> = form
                    .fields
                    .iter()
                    .map(|f| {
                        let value = if f.name == self.field.name {
                            self.value.value.clone()
                        } else {
                            form.local_value(&f.name)
                        };
                        (f.name.clone(), value)
                    })
                    .collect();
                judge_fix(form, &form.values(&named, None))
            })
            .collect();
    }

    /// How many edits the service would accept with the value as it is now.
    pub fn accepted(&self) -> usize {
        self.verdicts.iter().filter(|v| v.is_none()).count()
    }
}

pub fn bulk_fix_ui(
    ctx: &egui::Context,
    dialog: &mut BulkFixDialog,
) -> DialogOutcome<BulkFixSubmit> {
    let mut outcome = DialogOutcome::Open;
    let n = dialog.forms.len();
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-bulk-fix")).show(ctx, |ui| {
        ui.set_min_width(520.0);
        ui.set_max_width(640.0);
        let dark = ui.visuals().dark_mode;
        ui.heading(format!("Set {} for {n} edits", dialog.field.alias));
        let layer = dialog
            .forms
            .first()
            .map(|f| f.layer_name.clone())
            .unwrap_or_default();
        ui.label(format!(
            "{layer} · field {} · the same value goes into every selected edit.",
            dialog.field.name
        ));
        ui.add_space(6.0);
        let changed = ui
            .horizontal(|ui| {
                let label = ui.label(RichText::new(&dialog.field.alias).strong());
                field_editor_ui(ui, &dialog.field, &mut dialog.value, label.id)
            })
            .inner;
        if changed {
            dialog.validate();
        }
        ui.separator();
        let accepted = dialog.accepted();
        if accepted == n {
            ui.colored_label(
                theme::green(dark),
                format!("✔ The service would accept all {n} edits."),
            );
        } else {
            ui.colored_label(
                theme::red(dark),
                format!("{} of {n} would still be refused:", n - accepted),
            );
            egui::ScrollArea::vertical()
                .id_salt("bulk-fix-verdicts")
                .max_height(160.0)
                .show(ui, |ui| {
                    for (form, verdict) in dialog.forms.iter().zip(&dialog.verdicts) {
                        if let Some(r) = verdict {
                            ui.label(format!(
                                "{} · {} – {} {}",
                                form.object_id
                                    .map_or_else(|| "new".to_owned(), |o| o.to_string()),
                                form.global_id,
                                r.code,
                                r.description()
                            ));
                        }
                    }
                });
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button(format!("Set for {n} edits")).clicked() {
                outcome = DialogOutcome::Done(BulkFixSubmit {
                    value: dialog.value.value.clone(),
                    sync_now: false,
                });
            }
            if ui.button("Set and sync now").clicked() {
                outcome = DialogOutcome::Done(BulkFixSubmit {
                    value: dialog.value.value.clone(),
                    sync_now: true,
                });
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
