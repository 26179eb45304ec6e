//! The three-column compare of each conflicting feature: per field what the technician started
//! from, their value and the server's current value, with "Keep mine", "Take server" and "Edit"
//! per field and for the whole feature; the server's editor and edit time when the layer tracks
//! them. Returns the resolution the user chose; the only state it keeps is the text being edited.
//!
//! What it must not do: send commands or change the conflicts it shows.

use crate::engine::{Conflict, ConflictKind, ConflictStatus, FieldChoice, Resolution, Side};
use crate::protocol::Guid;
use std::collections::HashMap;

/// What the user asked for in the compare view.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum CompareAction {
    None,
    Resolve {
        layer_id: i64,
        global_id: Guid,
        resolution: Resolution,
    },
}

/// The values being edited ("Edit" on a field), by feature and field.
#[derive(Debug, Default)]
pub struct CompareState {
    editing: HashMap<(i64, Guid, String), String>,
}

/// A value as shown in a cell.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "(empty)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The edited text as a value of the field's kind: text where either side holds text, else
/// JSON when it parses (numbers, null), else text.
fn edited_value(text: &str, mine: &serde_json::Value, server: &serde_json::Value) -> FieldChoice {
    if mine.is_string() || server.is_string() {
        FieldChoice::Value(serde_json::Value::String(text.to_owned()))
    } else {
        FieldChoice::parse(text)
    }
}

pub fn compare_view_ui(
    ui: &mut egui::Ui,
    conflicts: &[Conflict],
    state: &mut CompareState,
) -> CompareAction {
    let mut action = CompareAction::None;
    if conflicts.is_empty() {
        ui.label("No conflicts: no local edit is in conflict with a newer change on the service.");
        return action;
    }
    egui::ScrollArea::vertical()
        .id_salt("conflicts-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for conflict in conflicts {
                let a = conflict_ui(ui, conflict, state);
                if a != CompareAction::None {
                    action = a;
                }
                ui.add_space(8.0);
            }
        });
    action
}

fn conflict_ui(ui: &mut egui::Ui, conflict: &Conflict, state: &mut CompareState) -> CompareAction {
    let mut action = CompareAction::None;
    let resolve = |resolution| CompareAction::Resolve {
        layer_id: conflict.layer_id,
        global_id: conflict.global_id.clone(),
        resolution,
    };
    ui.group(|ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{} {}", conflict.layer_name, conflict.global_id));
            let what = match conflict.kind {
                ConflictKind::SameFields => "changed on both sides",
                ConflictKind::ServerDeleted => "deleted on the service",
            };
            ui.label(what);
            let status = match conflict.status {
                ConflictStatus::Held => "held until resolved",
                ConflictStatus::KeptMine => "sent (policy: keep mine)",
                ConflictStatus::TookServer => "server's values kept (policy)",
            };
            ui.weak(status);
        });
        if let Some(editor) = &conflict.server_editor {
            let when = conflict
                .server_edited_ms
                .map(|ms| format!(" at {}", crate::ui::format::timestamp(ms)))
                .unwrap_or_default();
            ui.label(format!("Server edit by {editor}{when}"));
        }
        let held = conflict.status == ConflictStatus::Held;
        egui::Grid::new((
            "conflict-fields",
            conflict.layer_id,
            conflict.global_id.as_str(),
        ))
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.strong("Field");
            ui.strong("Started from");
            ui.strong("Mine");
            ui.strong("Server");
            ui.label("");
            ui.end_row();
            for field in &conflict.fields {
                ui.label(&field.name);
                ui.label(shown(&field.started_from));
                ui.label(shown(&field.mine));
                let server = if conflict.kind == ConflictKind::ServerDeleted {
                    "(deleted)".to_owned()
                } else {
                    shown(&field.server)
                };
                ui.label(server);
                ui.add_enabled_ui(held, |ui| {
                    ui.horizontal(|ui| {
                        let choose = |choice| {
                            resolve(Resolution::Fields(vec![(field.name.clone(), choice)]))
                        };
                        if ui.button("Keep mine").clicked() {
                            action = choose(FieldChoice::Mine);
                        }
                        if ui.button("Take server").clicked() {
                            action = choose(FieldChoice::Server);
                        }
                        let key = (
                            conflict.layer_id,
                            conflict.global_id.clone(),
                            field.name.clone(),
                        );
                        match state.editing.get_mut(&key) {
                            None => {
                                if ui.button("Edit").clicked() {
                                    state.editing.insert(key, shown(&field.mine));
                                }
                            }
                            Some(text) => {
                                let label = ui.label("New value");
                                ui.add(egui::TextEdit::singleline(text).desired_width(140.0))
                                    .labelled_by(label.id);
                                if ui.button("Use value").clicked() {
                                    let value = edited_value(text, &field.mine, &field.server);
                                    action = choose(value);
                                    state.editing.remove(&key);
                                }
                            }
                        }
                    });
                });
                ui.end_row();
            }
        });
        if held {
            ui.horizontal(|ui| {
                ui.label("Whole feature:");
                if ui.button("Keep mine for the feature").clicked() {
                    action = resolve(Resolution::Whole(Side::Mine));
                }
                if ui.button("Take server for the feature").clicked() {
                    action = resolve(Resolution::Whole(Side::Server));
                }
            });
        }
    });
    action
}
