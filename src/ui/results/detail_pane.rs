//! The detail pane beside the grid: the selected edit result, what its code means and what to do
//! about it (from the error catalog), the feature's attributes local beside server, the row
//! actions (fix and resend, drop, copy GlobalID) and the feature's map (`ui::feature_map`);
//! with several rows selected, the actions on all of them (set one field for all, drop all).

use super::{GridAction, GridState, RowIndex};
use crate::engine::EditResultRecord;
use crate::model::field_hint;
use crate::protocol::{ObjectType, catalog};
use crate::ui::{feature_map, format, theme};
use egui::RichText;

/// How the Object column marks an attachment row (ObjectType 1).
pub const ATTACHMENT_MARK: &str = "📎 attachment";

/// Detail-grid rows of an attachment: its name, size and parent feature, as the replica file
/// knows them.
fn attachment_detail_ui(ui: &mut egui::Ui, r: &EditResultRecord) {
    ui.label("Object");
    ui.label(ATTACHMENT_MARK);
    ui.end_row();
    let Some(a) = &r.attachment else {
        ui.label("Attachment");
        ui.weak("no longer in the replica file");
        ui.end_row();
        return;
    };
    ui.label("Name");
    ui.label(&a.name);
    ui.end_row();
    ui.label("Size");
    ui.label(format!(
        "{} ({})",
        format::byte_size(a.size_bytes),
        a.content_type
    ));
    ui.end_row();
    ui.label("Parent feature");
    ui.label(a.parent_global_id.to_string());
    ui.end_row();
}

/// With several rows selected: how many, and "Set <field> for N edits…" when they share a layer,
/// a code and the field the refusal names, and "Drop N local edits…".
fn several_ui(ui: &mut egui::Ui, grid: &GridState, rows: Vec<RowIndex>) -> GridAction {
    let mut action = GridAction::None;
    let Some(snapshot) = grid.rows() else {
        return action;
    };
    let records: Vec<&EditResultRecord> = rows.iter().filter_map(|r| r.get(snapshot)).collect();
    let n = records.len();
    ui.heading(format!("{n} edits selected"));
    let failed = records
        .iter()
        .all(|r| !r.success && r.global_id.is_some() && r.object_type == ObjectType::Feature);
    let first = records.first();
    let shared_field = first.and_then(|f| {
        let field = field_hint(&f.description)?;
        records
            .iter()
            .all(|r| {
                r.layer_id == f.layer_id
                    && r.code == f.code
                    && field_hint(&r.description).as_deref() == Some(field.as_str())
            })
            .then_some(field)
    });
    match (&shared_field, first.and_then(|f| f.code)) {
        (Some(field), Some(code)) if failed => {
            ui.label(format!("All refused with {code} on {field}."));
            if ui.button(format!("Set {field} for {n} edits…")).clicked() {
                action = GridAction::BulkFix {
                    rows: rows.clone(),
                    field: field.clone(),
                };
            }
        }
        _ => {
            ui.weak("Select refused edits that share a code and a field to set it for all.");
        }
    }
    if ui
        .add_enabled(failed, egui::Button::new(format!("Drop {n} local edits…")))
        .clicked()
    {
        action = GridAction::BulkDrop(rows);
    }
    action
}

pub(super) fn detail_pane_ui(ui: &mut egui::Ui, grid: &mut GridState) -> GridAction {
    let mut action = GridAction::None;
    let several = grid.marked_rows();
    if !several.is_empty() {
        return several_ui(ui, grid, several);
    }
    let Some(selected) = grid.selected else {
        ui.weak("Select a row to see what the code means and what to do about it.");
        return action;
    };
    let Some(r) = grid.selected_record().cloned() else {
        return action;
    };
    let r = &r;
    let dark = ui.visuals().dark_mode;
    egui::ScrollArea::vertical()
        .id_salt("detail-scroll")
        .show(ui, |ui| {
            ui.heading("Edit result");
            ui.horizontal_wrapped(|ui| {
                let failed = !r.success && r.global_id.is_some();
                if ui
                    .add_enabled(failed, egui::Button::new("Fix and resend…"))
                    .clicked()
                {
                    action = GridAction::FixAndResend(RowIndex(selected));
                }
                if ui
                    .add_enabled(failed, egui::Button::new("Drop local edit…"))
                    .clicked()
                {
                    action = GridAction::Drop(RowIndex(selected));
                }
                if let Some(g) = &r.global_id
                    && ui.button("Copy GlobalID").clicked()
                {
                    action = GridAction::CopyGlobalId(g.to_string());
                }
            });
            ui.separator();
            egui::Grid::new("detail-grid").num_columns(2).show(ui, |ui| {
                ui.label("Layer");
                ui.label(format!("{} ({})", r.layer_name, r.layer_id));
                ui.end_row();
                ui.label("ObjectID");
                ui.label(r.object_id.map_or_else(|| "–".to_owned(), |o| o.to_string()));
                ui.end_row();
                ui.label("GlobalID");
                ui.label(
                    r.global_id
                        .as_ref()
                        .map_or_else(|| "–".to_owned(), |g| g.to_string()),
                );
                ui.end_row();
                ui.label("Change");
                ui.label(r.change_type.label());
                ui.end_row();
                if r.object_type == ObjectType::Attachment {
                    attachment_detail_ui(ui, r);
                }
                ui.label("Attempts");
                ui.label(format!(
                    "{} (first {}, last {})",
                    r.attempts,
                    format::timestamp(r.first_seen_ms),
                    format::timestamp(r.last_seen_ms)
                ));
                ui.end_row();
            });
            if let (Some(replica), Some(g)) = (grid.replica, &r.global_id)
                && r.object_type != ObjectType::Attachment
            {
                ui.separator();
                let panel = &mut grid.feature_panel;
                if feature_map::feature_panel_ui(ui, panel, replica, r.layer_id, g) {
                    action = GridAction::LoadFeatureMap {
                        layer_id: r.layer_id,
                        global_id: g.clone(),
                    };
                }
            }
            ui.separator();
            if r.success {
                ui.colored_label(theme::green(dark), "The server applied this edit.");
            } else if let Some(code) = r.code {
                match catalog::for_edit_result(code) {
                    Some(entry) => {
                        ui.label(
                            RichText::new(format!("{code} – {}", entry.title))
                                .strong()
                                .color(theme::red(dark)),
                        );
                        if r.predicted {
                            ui.colored_label(
                                theme::amber(dark),
                                "Predicted locally from the service's rules; not yet reported by the server.",
                            );
                        }
                        ui.label(&*r.description);
                        ui.add_space(4.0);
                        ui.label(RichText::new("How to address it").strong());
                        ui.label(entry.how_to_address);
                        ui.add_space(4.0);
                        ui.label(RichText::new("What the client should do").strong());
                        ui.label(entry.client_action);
                        ui.add_space(4.0);
                        let resend = if entry.resend_can_succeed_unchanged {
                            "Resending unchanged can succeed."
                        } else {
                            "Resending unchanged will fail again: fix or drop the edit."
                        };
                        ui.weak(resend);
                    }
                    None => {
                        ui.label(RichText::new(format!("Code {code}")).strong());
                        ui.label(&*r.description);
                    }
                }
            } else {
                ui.label(&*r.description);
            }
            // One action a frame: the map's one-time request goes first; the attributes are
            // asked for again on the next frame (compare_ui asks until they are on their way).
            if let Some(a) = compare_ui(ui, grid, r)
                && action == GridAction::None
            {
                action = a;
            }
        });
    action
}

/// The feature's attributes (local, server) when loaded; asks for them for a refused feature edit.
fn compare_ui(ui: &mut egui::Ui, grid: &GridState, r: &EditResultRecord) -> Option<GridAction> {
    let global_id = r.global_id.clone()?;
    if r.success || r.object_type != ObjectType::Feature {
        return None;
    }
    let key = (r.layer_id, global_id);
    ui.separator();
    match &grid.compare {
        Some(form) if (form.layer_id, &form.global_id) == (key.0, &key.1) => {
            super::attribute_compare::attribute_compare_ui(ui, form);
            None
        }
        _ if grid.compare_for.as_ref() == Some(&key) => {
            ui.weak(if grid.compare_missing {
                "The attributes could not be loaded: the edit is no longer queued."
            } else {
                "Loading the attributes…"
            });
            None
        }
        _ => Some(GridAction::LoadCompare {
            layer_id: key.0,
            global_id: key.1,
        }),
    }
}
