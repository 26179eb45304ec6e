//! ArcGIS offline maps in the window (issue 22): their rows in the replica list, marked "ArcGIS
//! offline map" with their own health badge (not registered, predicted refusals, check failed,
//! local changes waiting), and the detail view: the replica, its datasets with generations, row
//! counts and local changes, the predicted refusals, the service check, and who syncs it; and
//! the window that sets the folders watched for offline maps.
//!
//! What it must not do: offer to sync, edit or reset an offline map (its own app does that), or
//! read the file (the engine did).

use super::theme;
use super::view_model::OfflineMapEntry;
use crate::engine::OfflineHealth;
use egui::{Color32, RichText, Sense};

/// The badge colour of an offline map's health.
pub fn health_color(health: OfflineHealth, dark: bool) -> Color32 {
    use crate::engine::Health;
    let like = match health {
        OfflineHealth::NotRegistered | OfflineHealth::PredictedRefusals => Health::FailedEdits,
        OfflineHealth::CheckFailed | OfflineHealth::ChangesWaiting | OfflineHealth::Unchecked => {
            Health::LocalEditsPending
        }
        OfflineHealth::UpToDate => Health::UpToDate,
    };
    theme::health_color(like, dark)
}

fn health_symbol(health: OfflineHealth) -> &'static str {
    match health {
        OfflineHealth::NotRegistered => "✖",
        OfflineHealth::PredictedRefusals => "⚠",
        OfflineHealth::CheckFailed | OfflineHealth::Unchecked => "?",
        OfflineHealth::ChangesWaiting => "⬆",
        OfflineHealth::UpToDate => "✔",
    }
}

/// One offline map's row; `true` when it was clicked.
pub fn offline_row_ui(ui: &mut egui::Ui, entry: &OfflineMapEntry, is_selected: bool) -> bool {
    let map = &entry.map;
    let health = entry.health();
    let fill = if is_selected {
        ui.visuals().selection.bg_fill
    } else {
        ui.visuals().faint_bg_color
    };
    let color = health_color(health, ui.visuals().dark_mode);
    let frame = egui::Frame::group(ui.style()).fill(fill).inner_margin(6.0);
    let builder = egui::UiBuilder::new()
        .id_salt(("offline-row", map.path.to_string_lossy().into_owned()))
        .sense(Sense::click());
    let row = ui.scope_builder(builder, |ui| {
        ui.style_mut().interaction.selectable_labels = false;
        frame.show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(&map.replica.name).strong());
            ui.label(RichText::new("ArcGIS offline map").italics());
            egui::Frame::new()
                .fill(color)
                .corner_radius(4.0)
                .inner_margin(egui::Margin::symmetric(6, 2))
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(format!("{} {}", health_symbol(health), health.label()))
                            .color(Color32::WHITE)
                            .strong(),
                    );
                });
            let changes = map.changes();
            let mut counts = format!("{} local changes waiting", changes.total());
            if !map.predicted.is_empty() {
                counts.push_str(&format!(", {} predicted refusals", map.predicted.len()));
            }
            ui.label(counts);
            ui.label(format!("Synced by {}", map.made_by.label()));
        });
    });
    ui.add_space(4.0);
    row.response.clicked()
}

/// The detail view of the selected offline map.
pub fn offline_detail_ui(ui: &mut egui::Ui, entry: &OfflineMapEntry) {
    let map = &entry.map;
    let r = &map.replica;
    ui.heading(format!("{} — ArcGIS offline map", r.name));
    ui.label(RichText::new(map.made_by.sync_note()).strong());
    ui.add_space(6.0);
    egui::Grid::new("offline-facts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let fact = |ui: &mut egui::Ui, k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            fact(ui, "File", map.path.display().to_string());
            fact(ui, "Replica ID", r.replica_id.to_string());
            fact(ui, "Service", r.service_url.clone());
            fact(ui, "Owner", r.owner.clone());
            fact(
                ui,
                "Sync model",
                r.sync_model.map(|m| m.to_string()).unwrap_or_default(),
            );
            fact(
                ui,
                "Direction",
                r.direction.map(|d| d.to_string()).unwrap_or_default(),
            );
            fact(
                ui,
                "Created",
                r.created_ms
                    .map(super::format::timestamp)
                    .unwrap_or_default(),
            );
            fact(
                ui,
                "Last sync",
                r.last_sync_ms
                    .map_or_else(|| "never".to_owned(), super::format::timestamp),
            );
            fact(ui, "Made by", map.made_by.label().to_owned());
            fact(ui, "Attachments", map.attachments.to_string());
            fact(
                ui,
                "Service check",
                entry
                    .check
                    .as_ref()
                    .map_or_else(|| "checking…".to_owned(), |c| c.summary()),
            );
            fact(ui, "Health", entry.health().label().to_owned());
        });
    ui.add_space(8.0);
    ui.strong("Datasets");
    egui::Grid::new("offline-datasets")
        .num_columns(8)
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "Table",
                "Layer",
                "Server gen",
                "Upload gen",
                "Download gen",
                "Rows",
                "Adds",
                "Updates / deletes",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            let text = |v: Option<i64>| v.map(|g| g.to_string()).unwrap_or_default();
            for d in &map.datasets {
                ui.label(&d.table);
                ui.label(d.layer_id.to_string());
                ui.label(text(d.server_gen));
                ui.label(text(d.client_upload_gen));
                ui.label(text(d.client_download_gen));
                ui.label(d.rows.map(|n| n.to_string()).unwrap_or_default());
                ui.label(d.changes.adds.to_string());
                ui.label(format!("{} / {}", d.changes.updates, d.changes.deletes));
                ui.end_row();
            }
        });
    if !map.predicted.is_empty() {
        ui.add_space(8.0);
        ui.strong(format!(
            "Changes the service would refuse ({})",
            map.predicted.len()
        ));
        for p in &map.predicted {
            ui.label(format!(
                "{} {:?} {}: {} {}",
                p.table, p.kind, p.global_id, p.code, p.description
            ));
        }
    }
}

/// What the watch-folders window asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum FoldersAction {
    None,
    Close,
    /// Keep these folders and scan them.
    Save(Vec<std::path::PathBuf>),
}

/// The "Offline map folders" window: one folder per line; saving keeps them and scans them.
pub fn folders_window_ui(ctx: &egui::Context, text: &mut String) -> FoldersAction {
    let mut action = FoldersAction::None;
    let mut open = true;
    egui::Window::new("Offline map folders")
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .show(ctx, |ui| {
            ui.label("Folders searched for ArcGIS offline maps (.geodatabase), one per line:");
            ui.add(
                egui::TextEdit::multiline(text)
                    .desired_rows(4)
                    .desired_width(420.0)
                    .hint_text("Documents/ArcGIS/OfflineMaps"),
            );
            ui.horizontal(|ui| {
                if ui.button("Save and scan").clicked() {
                    let folders = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(std::path::PathBuf::from)
                        .collect();
                    action = FoldersAction::Save(folders);
                }
                if ui.button("Cancel").clicked() {
                    action = FoldersAction::Close;
                }
            });
        });
    if !open {
        action = FoldersAction::Close;
    }
    action
}
