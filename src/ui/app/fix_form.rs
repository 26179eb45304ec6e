//! The fix form's side of the app: asking the engine for the attribute forms of refused edits
//! (`Command::LoadFixForm`: one for the form, several for "Set <field> for N edits", one for
//! the detail pane's local-beside-server table), opening the dialogs when they arrive
//! (`Event::FixFormLoaded`), and turning what the dialogs return into `FixEdit`,
//! `SetFieldInEdits` and `DropEdits` (and a sync for "… and sync now").

use super::{Action, SyncwatchApp};
use crate::engine::{Command, Event, LocalReplicaId};
use crate::model::FixValues;
use crate::protocol::Guid;
use crate::ui::dialogs::{self, BulkDropConfirm, BulkFixDialog, DialogOutcome, FixFormDialog};
use crate::ui::results::RowIndex;

/// The forms asked for and what they are for.
#[derive(Debug, Clone, PartialEq)]
pub enum FixRequest {
    /// The fix form of one edit.
    Form(i64, Guid),
    /// "Set `field` for N edits".
    Bulk {
        edits: Vec<(i64, Guid)>,
        field: String,
    },
}

/// What the load command is called in `Event::CommandFailed`.
const LOAD_WHAT: &str = "load the attribute form";

impl SyncwatchApp {
    /// The edits of these rows of the grid's snapshot (refused feature edits with a GlobalID).
    fn edits_of(&self, rows: &[RowIndex]) -> Vec<(i64, Guid)> {
        let Some(snapshot) = self.grid.rows() else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(|r| r.get(snapshot))
            .filter_map(|r| r.global_id.clone().map(|g| (r.layer_id, g)))
            .collect()
    }

    pub(super) fn open_fix(&mut self, row: RowIndex) {
        let Some(replica) = self.selected() else {
            return;
        };
        let Some((layer_id, global_id)) = self.edits_of(&[row]).into_iter().next() else {
            return;
        };
        if self.send(Command::LoadFixForm {
            replica,
            edits: vec![(layer_id, global_id.clone())],
        }) {
            self.fix_request = Some((replica, FixRequest::Form(layer_id, global_id)));
        }
    }

    pub(super) fn open_bulk_fix(&mut self, rows: &[RowIndex], field: String) {
        let Some(replica) = self.selected() else {
            return;
        };
        let edits = self.edits_of(rows);
        if edits.is_empty() {
            return;
        }
        if self.send(Command::LoadFixForm {
            replica,
            edits: edits.clone(),
        }) {
            self.fix_request = Some((replica, FixRequest::Bulk { edits, field }));
        }
    }

    pub(super) fn open_bulk_drop(&mut self, rows: &[RowIndex]) {
        let Some(replica) = self.selected() else {
            return;
        };
        let Some(snapshot) = self.grid.rows() else {
            return;
        };
        let mut layers: Vec<String> = Vec::new();
        for r in rows.iter().filter_map(|r| r.get(snapshot)) {
            if !layers.iter().any(|l| **l == *r.layer_name) {
                layers.push(r.layer_name.to_string());
            }
        }
        let edits = self.edits_of(rows);
        if !edits.is_empty() {
            self.bulk_drop = Some(BulkDropConfirm {
                replica,
                edits,
                layers,
            });
        }
    }

    pub(super) fn load_compare(&mut self, layer_id: i64, global_id: Guid) {
        let Some(replica) = self.selected() else {
            return;
        };
        self.grid.compare_for = Some((layer_id, global_id.clone()));
        self.grid.compare_missing = false;
        self.send(Command::LoadFixForm {
            replica,
            edits: vec![(layer_id, global_id)],
        });
    }

    /// Opens the dialog a loaded form was asked for, and keeps the detail pane's.
    pub(super) fn follow_fix_forms(&mut self, event: &Event) {
        match event {
            Event::FixFormLoaded { replica, forms } => {
                let keys: Vec<(i64, Guid)> = forms
                    .iter()
                    .map(|f| (f.layer_id, f.global_id.clone()))
                    .collect();
                if let [form] = forms.as_slice()
                    && self.grid.compare_for.as_ref() == keys.first()
                {
                    self.grid.compare = Some(form.clone());
                }
                let Some((asked_replica, request)) = &self.fix_request else {
                    return;
                };
                if asked_replica != replica {
                    return;
                }
                match request {
                    FixRequest::Form(layer_id, global_id)
                        if keys == [(*layer_id, global_id.clone())] =>
                    {
                        self.fix = forms.first().cloned().map(FixFormDialog::new);
                        self.fix_request = None;
                    }
                    FixRequest::Bulk { edits, field } if *edits == keys => {
                        self.bulk_fix = BulkFixDialog::new(forms.clone(), field);
                        if self.bulk_fix.is_none() {
                            self.vm.set_notice(
                                format!("{field} cannot be set here: it is not editable."),
                                true,
                            );
                        }
                        self.fix_request = None;
                    }
                    _ => {}
                }
            }
            Event::CommandFailed { what, .. } if what == LOAD_WHAT => {
                self.fix_request = None;
                if self.grid.compare.is_none() {
                    self.grid.compare_missing = true;
                }
            }
            Event::EditResultsReady { .. } => {
                // The queue changed: the detail pane asks again.
                self.grid.compare = None;
                self.grid.compare_for = None;
                self.grid.compare_missing = false;
            }
            _ => {}
        }
    }

    pub(super) fn apply_fix_edit(
        &mut self,
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        values: FixValues,
        sync_now: bool,
    ) {
        let sent = self.send(Command::FixEdit {
            replica,
            layer_id,
            global_id,
            attributes: values.attributes,
            geometry: values.geometry,
        });
        if sent {
            self.fix = None;
            if sync_now {
                self.apply_sync(replica);
            } else {
                self.vm
                    .set_notice("Fix saved; it is sent with the next sync.", false);
            }
            self.results_requested.remove(&replica);
            self.vm.mark_results_stale(replica);
        }
    }

    pub(super) fn apply_set_field(
        &mut self,
        replica: LocalReplicaId,
        layer_id: i64,
        global_ids: Vec<Guid>,
        field: String,
        value: serde_json::Value,
        sync_now: bool,
    ) {
        let n = global_ids.len();
        let sent = self.send(Command::SetFieldInEdits {
            replica,
            layer_id,
            global_ids,
            field: field.clone(),
            value,
        });
        if sent {
            self.bulk_fix = None;
            if sync_now {
                self.apply_sync(replica);
            } else {
                self.vm.set_notice(
                    format!("{field} set in {n} edits; sent with the next sync."),
                    false,
                );
            }
        }
    }

    pub(super) fn apply_drop_edits(&mut self, replica: LocalReplicaId, edits: Vec<(i64, Guid)>) {
        if self.send(Command::DropEdits { replica, edits }) {
            self.bulk_drop = None;
            self.grid.marked.clear();
            self.results_requested.remove(&replica);
            self.vm.mark_results_stale(replica);
        }
    }

    /// The fix form, "Set <field> for N edits" and the bulk drop confirmation.
    pub(super) fn fix_modals_ui(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        if let Some(dialog) = &mut self.fix {
            match dialogs::fix_form_ui(ctx, dialog) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.fix = None,
                DialogOutcome::Done(submit) => actions.push(Action::FixEdit {
                    replica: dialog.form.replica,
                    layer_id: dialog.form.layer_id,
                    global_id: dialog.form.global_id.clone(),
                    values: submit.values,
                    sync_now: submit.sync_now,
                }),
            }
        }
        if let Some(dialog) = &mut self.bulk_fix {
            match dialogs::bulk_fix_ui(ctx, dialog) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.bulk_fix = None,
                DialogOutcome::Done(submit) => {
                    if let Some(first) = dialog.forms.first() {
                        actions.push(Action::SetFieldInEdits {
                            replica: first.replica,
                            layer_id: first.layer_id,
                            global_ids: dialog.forms.iter().map(|f| f.global_id.clone()).collect(),
                            field: dialog.field.name.clone(),
                            value: submit.value,
                            sync_now: submit.sync_now,
                        });
                    }
                }
            }
        }
        if let Some(confirm) = &self.bulk_drop {
            match dialogs::bulk_drop_confirm_ui(ctx, confirm) {
                DialogOutcome::Open => {}
                DialogOutcome::Cancelled => self.bulk_drop = None,
                DialogOutcome::Done(()) => actions.push(Action::DropEdits {
                    replica: confirm.replica,
                    edits: confirm.edits.clone(),
                }),
            }
        }
    }
}
