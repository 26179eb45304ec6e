//! What the panels ask for ([`Action`]) and how the app applies it at the end of the frame: state
//! changes, optimistic updates of the view model, and [`Command`]s through the sink. Also the CSV
//! export, which waits for the file dialog over several frames, and the demo menu's request.

use super::SyncwatchApp;
use crate::engine::{
    Command, CreateRequest, LocalReplicaId, PredictedPolicy, ResetMode, SyncOptions,
};
use crate::model::AccountKey;
use crate::model::FixValues;
use crate::protocol::Guid;
use crate::ui::PendingPick;
use crate::ui::Tab;
use crate::ui::dialogs::{AccountsWindow, DropConfirm, SignInRequest, UnregisterConfirm};
use crate::ui::results::RowIndex;
use std::sync::Arc;

/// Everything a panel can ask for; applied at the end of the frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Select(LocalReplicaId),
    SyncNow(LocalReplicaId),
    SyncSelected,
    SyncAll,
    SetAutoSyncPaused(bool),
    /// Pause (`true`) or resume one replica.
    SetPaused(LocalReplicaId, bool),
    Cancel(LocalReplicaId),
    SetResetMode(LocalReplicaId, ResetMode),
    SetPredictedPolicy(LocalReplicaId, PredictedPolicy),
    StartReset(LocalReplicaId, ResetMode),
    ConfirmReset(LocalReplicaId),
    CancelReset(LocalReplicaId),
    OpenWizard,
    CreateReplica(CreateRequest),
    /// Open the attribute form for this row of the grid's snapshot.
    OpenFix {
        row: RowIndex,
    },
    FixEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        values: FixValues,
        /// "Save and sync now": also start a sync of the replica.
        sync_now: bool,
    },
    /// Open "Set <field> for N edits" for these rows.
    OpenBulkFix {
        rows: Vec<RowIndex>,
        field: String,
    },
    SetFieldInEdits {
        replica: LocalReplicaId,
        layer_id: i64,
        global_ids: Vec<Guid>,
        field: String,
        value: serde_json::Value,
        sync_now: bool,
    },
    /// Ask to confirm dropping these rows' local edits.
    OpenBulkDrop {
        rows: Vec<RowIndex>,
    },
    DropEdits {
        replica: LocalReplicaId,
        edits: Vec<(i64, Guid)>,
    },
    /// Load the selected edit's attributes for the detail pane.
    LoadCompare {
        layer_id: i64,
        global_id: Guid,
    },
    /// Ask to confirm dropping this row's local edit.
    OpenDrop {
        row: RowIndex,
    },
    OpenUnregister(LocalReplicaId),
    /// Open "Restore changes from backup…" for the replica (asks for its backups).
    OpenRestore(LocalReplicaId),
    Unregister(LocalReplicaId),
    DropEdit {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
    },
    CopyText(String),
    ExportCsv,
    LoadResults(LocalReplicaId),
    /// Ask for the map of one feature (the detail pane's map).
    LoadFeatureMap {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: crate::protocol::Guid,
    },
    DemoTerminateSync,
    ShowTab(Tab),
    FocusSearch,
    DismissSummary,
    Refresh,
    /// Open the Sign in dialog prefilled with this URL and username (either may be empty).
    OpenSignIn {
        url: String,
        username: String,
    },
    /// What the Sign in dialog asked for.
    SignIn(SignInRequest),
    OpenAccounts,
    /// File → Manage service replicas…: the selected replica's service, or the last URL.
    OpenServiceReplicas,
    /// File → Open offline map…: ask for a `.geodatabase` file.
    OpenOfflineMap,
    /// File → Offline map folders…: edit the watch folders.
    EditOfflineMapFolders,
    /// Sign this account out (already confirmed).
    SignOut(AccountKey),
    ListAccounts,
    SetConflictPolicy(LocalReplicaId, crate::engine::ConflictPolicy),
    /// The user's resolution of one conflict (from the compare view).
    ResolveConflict {
        replica: LocalReplicaId,
        layer_id: i64,
        global_id: Guid,
        resolution: crate::engine::Resolution,
    },
}

/// An export waiting for the file dialog: the rows are the filtered view when it was asked for.
pub struct PendingExport {
    pick: PendingPick,
    rows: Arc<[crate::engine::EditResultRecord]>,
    indices: Vec<u32>,
}

impl SyncwatchApp {
    /// Turns one action into state changes and `Command`s.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Select(id) => {
                self.persisted.selected_replica = Some(id);
                self.selected_offline = None;
            }
            Action::SyncNow(id) => self.apply_sync(id),
            Action::SyncSelected => match self.selected().and_then(|id| self.vm.replica(id)) {
                Some(r) if r.paused => {
                    self.vm
                        .set_notice(format!("{} is paused; resume it to sync.", r.name), false);
                }
                Some(r) => {
                    let id = r.id;
                    self.apply(ctx, Action::SyncNow(id));
                }
                None => {}
            },
            Action::SyncAll => {
                self.send(Command::SyncAll);
            }
            Action::SetAutoSyncPaused(paused) => {
                let interval_secs = (!paused).then_some(self.persisted.auto_sync_interval_secs);
                if self.send(Command::SetAutoSync { interval_secs }) {
                    self.persisted.auto_sync_paused = paused;
                }
            }
            Action::SetPaused(id, paused) => {
                if self.send(Command::SetPaused {
                    replica: id,
                    paused,
                }) {
                    // Shown at once; the engine's ReplicaChanged confirms it.
                    self.vm.show_paused(id, paused);
                }
            }
            Action::Cancel(id) => {
                self.send(Command::Cancel { replica: id });
            }
            Action::SetResetMode(id, mode) => {
                if self.send(Command::SetResetMode { replica: id, mode }) {
                    // Shown at once; the engine's next ReplicaChanged confirms it.
                    self.vm.show_reset_mode(id, mode);
                }
            }
            Action::SetPredictedPolicy(id, policy) => {
                if self.send(Command::SetPredictedPolicy {
                    replica: id,
                    policy,
                }) {
                    // Shown at once; the engine's next ReplicaChanged confirms it.
                    self.vm.show_predicted_policy(id, policy);
                }
            }
            Action::StartReset(id, mode) => {
                self.send(Command::Reset { replica: id, mode });
            }
            Action::ConfirmReset(id) => {
                if self.send(Command::ConfirmReset { replica: id }) {
                    self.vm.close_pending_reset();
                }
            }
            Action::CancelReset(id) => {
                // Even if the queue is full the modal closes: nothing destructive happens
                // without the explicit confirmation, and the replica stays "reset required".
                self.send(Command::CancelReset { replica: id });
                self.vm.close_pending_reset();
            }
            Action::OpenWizard => self.open_wizard(),
            Action::CreateReplica(req) => {
                self.persisted.last_service_url = req.service_url.clone();
                let name = req.name.clone();
                if self.send(Command::CreateReplica(req)) {
                    self.wizard = None;
                    self.vm
                        .set_notice(format!("Creating replica {name}…"), false);
                }
            }
            Action::OpenFix { row } => self.open_fix(row),
            Action::FixEdit {
                replica,
                layer_id,
                global_id,
                values,
                sync_now,
            } => self.apply_fix_edit(replica, layer_id, global_id, values, sync_now),
            Action::OpenBulkFix { rows, field } => self.open_bulk_fix(&rows, field),
            Action::SetFieldInEdits {
                replica,
                layer_id,
                global_ids,
                field,
                value,
                sync_now,
            } => self.apply_set_field(replica, layer_id, global_ids, field, value, sync_now),
            Action::OpenBulkDrop { rows } => self.open_bulk_drop(&rows),
            Action::DropEdits { replica, edits } => self.apply_drop_edits(replica, edits),
            Action::LoadCompare {
                layer_id,
                global_id,
            } => self.load_compare(layer_id, global_id),
            Action::OpenDrop { row } => {
                if let (Some(id), Some(rows)) = (self.selected(), self.grid.rows())
                    && let Some(r) = row.get(rows)
                    && let Some(global_id) = r.global_id.clone()
                {
                    self.drop_confirm = Some(DropConfirm {
                        replica: id,
                        layer_id: r.layer_id,
                        layer_name: r.layer_name.to_string(),
                        global_id,
                        object_id: r.object_id,
                    });
                }
            }
            Action::DropEdit {
                replica,
                layer_id,
                global_id,
            } => {
                if self.send(Command::DropEdit {
                    replica,
                    layer_id,
                    global_id,
                }) {
                    self.drop_confirm = None;
                    self.results_requested.remove(&replica);
                    self.vm.mark_results_stale(replica);
                }
            }
            Action::OpenRestore(id) => self.open_restore(id),
            Action::OpenUnregister(id) => {
                if let Some(r) = self.vm.replica(id) {
                    self.unregister_confirm = Some(UnregisterConfirm {
                        replica: id,
                        name: r.name.clone(),
                        pending_changes: r.pending_changes,
                    });
                }
            }
            Action::Unregister(id) => {
                if self.send(Command::Unregister { replica: id }) {
                    self.unregister_confirm = None;
                }
            }
            Action::CopyText(text) => {
                self.vm.set_notice(format!("Copied {text}"), false);
                ctx.copy_text(text);
            }
            Action::ExportCsv => self.export_csv(ctx),
            Action::LoadFeatureMap {
                replica,
                layer_id,
                global_id,
            } => {
                self.send(Command::LoadFeatureMap {
                    replica,
                    layer_id,
                    global_id,
                });
            }
            Action::LoadResults(id) => {
                if self.send(Command::LoadEditResults { replica: id }) {
                    self.results_requested.insert(id);
                }
                self.send(Command::LoadConflicts { replica: id });
            }
            Action::SetConflictPolicy(replica, policy) => {
                self.send(Command::SetConflictPolicy { replica, policy });
            }
            Action::ResolveConflict {
                replica,
                layer_id,
                global_id,
                resolution,
            } => {
                self.send(Command::ResolveConflict {
                    replica,
                    layer_id,
                    global_id,
                    resolution,
                });
            }
            Action::DemoTerminateSync => {
                if self.pending_demo.is_none()
                    && let Some(controls) = &self.config.demo_controls
                {
                    self.pending_demo = Some(controls.terminate_and_reenable_sync());
                }
            }
            Action::ShowTab(tab) => self.persisted.tab = tab,
            Action::FocusSearch => {
                self.persisted.tab = Tab::Results;
                self.grid.focus_search = true;
            }
            Action::DismissSummary => {
                self.vm.dismiss_reset_summary();
            }
            Action::Refresh => {
                self.send(Command::RefreshReplicas);
            }
            Action::OpenSignIn { url, username } => self.open_sign_in(&url, &username),
            Action::SignIn(request) => self.apply_sign_in(request),
            Action::OpenAccounts => {
                self.accounts_window = Some(AccountsWindow::default());
                self.send(Command::ListAccounts);
            }
            Action::OpenServiceReplicas => self.open_service_replicas(),
            Action::OpenOfflineMap => {
                self.pending_open = Some(self.file_picker.pick_open_geodatabase(ctx));
            }
            Action::EditOfflineMapFolders => {
                let folders = self.vm.offline_maps.folders.clone().unwrap_or_default();
                let lines: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
                self.folders_editor = Some(lines.join("\n"));
            }
            Action::SignOut(account) => self.apply_sign_out(account),
            Action::ListAccounts => {
                self.send(Command::ListAccounts);
            }
        }
    }

    pub(super) fn apply_sync(&mut self, replica: LocalReplicaId) {
        if self.send(Command::SyncNow {
            replica,
            options: SyncOptions::default(),
        }) {
            self.vm.set_notice(
                format!("Sync of {} requested", self.vm.replica_name(replica)),
                false,
            );
        }
    }

    /// Opens the file dialog (it answers on a later frame, see [`Self::poll_export`]); the rows
    /// exported are the grid's filtered view at this moment.
    fn export_csv(&mut self, ctx: &egui::Context) {
        if self.pending_export.is_some() {
            return;
        }
        let Some(rows) = self.grid.rows().cloned() else {
            return;
        };
        let name = self
            .selected()
            .map(|id| self.vm.replica_name(id))
            .unwrap_or_else(|| "replica".to_owned());
        let suggested = format!(
            "edit-results-{}.csv",
            name.chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect::<String>()
        );
        self.pending_export = Some(PendingExport {
            pick: self.file_picker.pick_save_csv(ctx, &suggested),
            rows,
            indices: self.grid.indices.clone(),
        });
        self.vm.set_notice("Choose where to save the CSV…", false);
    }

    /// Once the open dialog has answered, asks the engine to read the offline map (read-only)
    /// and shows it when it arrives.
    pub(super) fn poll_open_offline_map(&mut self) {
        let Some(answer) = self.pending_open.as_ref().and_then(|p| p.poll()) else {
            return;
        };
        self.pending_open = None;
        let Some(path) = answer else {
            return;
        };
        if self.send(Command::OpenOfflineMap {
            path: path.clone(),
            token: None,
        }) {
            self.vm
                .set_notice(format!("Reading {} (read-only)…", path.display()), false);
            self.selected_offline = Some(path);
        }
    }

    /// Once the file dialog has answered, queues the export (written by the engine).
    pub(super) fn poll_export(&mut self) {
        let Some(answer) = self.pending_export.as_ref().and_then(|p| p.pick.poll()) else {
            return;
        };
        let Some(export) = self.pending_export.take() else {
            return;
        };
        let Some(path) = answer else {
            self.vm
                .set_notice("Export cancelled (no file chosen).", false);
            return;
        };
        let count = export.indices.len();
        if self.send(Command::ExportCsv {
            rows: export.rows,
            indices: export.indices,
            path: path.clone(),
        }) {
            self.vm.set_notice(
                format!("Exporting {count} rows to {}…", path.display()),
                false,
            );
        }
    }

    /// Asks for the selected replica's results when none are loaded or a job finished since.
    pub(super) fn request_results_if_needed(&mut self) {
        let Some(id) = self.selected() else {
            return;
        };
        let missing = !self.vm.results.contains_key(&id);
        let stale = self.vm.results_stale.contains(&id);
        if (missing || stale) && !self.results_requested.contains(&id) {
            self.vm.clear_results_stale(id);
            if self.send(Command::LoadEditResults { replica: id }) {
                self.results_requested.insert(id);
            }
            self.send(Command::LoadConflicts { replica: id });
        }
    }

    /// Once the demo service has terminated and re-enabled sync, syncs everything so the client
    /// resets happen now (a failure was already reported by the demo side).
    pub(super) fn poll_demo_call(&mut self) {
        let Some(answer) = self.pending_demo.as_ref().and_then(|p| p.poll()) else {
            return;
        };
        self.pending_demo = None;
        if answer.is_ok() {
            self.send(Command::SyncAll);
        }
    }
}
