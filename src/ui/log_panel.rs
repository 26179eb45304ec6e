//! The sync error log (the default sync error handler's view): timestamp, replica, code and
//! message of every sync error, filterable by text and by the selected replica. The filtered
//! index list is rebuilt only when the log or the filter changes.

use super::{format, theme};
use crate::engine::{LocalReplicaId, LogEntry};
use egui::{Align, Layout, RichText};
use egui_extras::{Column, TableBuilder};

/// The log panel's filter and cache.
#[derive(Debug, Default)]
pub struct LogPanelState {
    pub search: String,
    pub only_selected: bool,
    cache_key: Option<(usize, i64, String, bool, Option<LocalReplicaId>)>,
    indices: Vec<u32>,
}

impl LogPanelState {
    fn refresh(&mut self, log: &[LogEntry], selected: Option<LocalReplicaId>) {
        let key = (
            log.len(),
            log.last().map_or(0, |e| e.at_ms),
            self.search.clone(),
            self.only_selected,
            selected,
        );
        if self.cache_key.as_ref() == Some(&key) {
            return;
        }
        let needle = self.search.trim().to_lowercase();
        self.indices = log
            .iter()
            .enumerate()
            .filter(|(_, e)| !self.only_selected || (selected.is_some() && e.replica == selected))
            .filter(|(_, e)| {
                needle.is_empty()
                    || e.message.to_lowercase().contains(&needle)
                    || e.replica_name.to_lowercase().contains(&needle)
                    || e.code.is_some_and(|c| c.to_string().contains(&needle))
            })
            .map(|(i, _)| i as u32)
            .rev() // newest first
            .collect();
        self.cache_key = Some(key);
    }

    /// Entries shown, newest first (indices into the log).
    pub fn shown(&self) -> &[u32] {
        &self.indices
    }
}

/// Draws the log. Returns nothing: the log has no actions besides its own filter.
pub fn log_panel_ui(
    ui: &mut egui::Ui,
    log: &[LogEntry],
    state: &mut LogPanelState,
    selected: Option<LocalReplicaId>,
) {
    state.refresh(log, selected);
    ui.horizontal(|ui| {
        ui.label(RichText::new("Sync error log").strong());
        ui.separator();
        let label = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("text, replica or code")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut state.only_selected, "Selected replica only");
        ui.label(format!("{} of {} entries", state.indices.len(), log.len()));
    });
    state.refresh(log, selected);
    let dark = ui.visuals().dark_mode;
    let max_height = ui.available_height() - 24.0;
    TableBuilder::new(ui)
        .id_salt("log-table")
        .striped(true)
        .resizable(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::initial(150.0).clip(true))
        .column(Column::initial(170.0).clip(true))
        .column(Column::initial(50.0))
        .column(Column::remainder().clip(true))
        // Fill the panel's width, not its height: otherwise the table makes the panel grow.
        .auto_shrink([false, true])
        .max_scroll_height(max_height.max(40.0))
        .header(18.0, |mut h| {
            for title in ["Time", "Replica", "Code", "Message"] {
                h.col(|ui| {
                    ui.label(RichText::new(title).strong());
                });
            }
        })
        .body(|body| {
            body.rows(18.0, state.indices.len(), |mut row| {
                let entry = &log[state.indices[row.index()] as usize];
                row.col(|ui| {
                    ui.label(format::timestamp(entry.at_ms));
                });
                row.col(|ui| {
                    ui.label(&entry.replica_name);
                });
                row.col(|ui| {
                    ui.label(entry.code.map_or_else(String::new, |c| c.to_string()));
                });
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(
                            RichText::new(&entry.message).color(text_color(dark, entry.code)),
                        )
                        .truncate(),
                    );
                });
            });
        });
}

/// Coded errors in the problem colour, plain notes in the normal text colour.
fn text_color(dark: bool, code: Option<i64>) -> egui::Color32 {
    match code {
        Some(_) => theme::red(dark),
        None if dark => egui::Color32::from_gray(220),
        None => egui::Color32::from_gray(30),
    }
}
