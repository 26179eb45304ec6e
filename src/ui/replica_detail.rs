//! The centre "Overview" of the selected replica: health, live job status with progress and
//! elapsed time, generations, sync direction and model, the account it signs in as, per-layer
//! state, the client-reset controls when the server can no longer sync it, "Restore changes from
//! backup…", and a history plot of
//! sync durations and failed-edit counts.

use super::replica_list::badge_ui;
use super::view_model::JobView;
use super::{format, theme};
use crate::engine::{LocalReplicaId, PredictedPolicy, ReplicaSummary, ResetMode};
use crate::protocol::SyncModel;
use egui::RichText;
use egui_plot::{Bar, BarChart, Corner, Legend, Line, Plot, Points};

/// What the user asked for in the overview.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailAction {
    None,
    SyncNow(LocalReplicaId),
    Cancel(LocalReplicaId),
    SetResetMode(LocalReplicaId, ResetMode),
    StartReset(LocalReplicaId, ResetMode),
    /// What the next syncs do with queued edits the cached rules predict the server will refuse.
    SetPredictedPolicy(LocalReplicaId, PredictedPolicy),
    SetConflictPolicy(LocalReplicaId, crate::engine::ConflictPolicy),
    ShowFailedEdits,
    /// Ask to confirm unregistering the replica.
    Unregister(LocalReplicaId),
    /// Open "Restore changes from backup…" for the replica.
    OpenRestore(LocalReplicaId),
}

const RESET_MODES: [ResetMode; 4] = [
    ResetMode::RecoverOrDiscard,
    ResetMode::Recover,
    ResetMode::Discard,
    ResetMode::Manual,
];

/// "tech1 @ https://host/arcgis", or why there is no account.
fn signed_in_text(replica: &ReplicaSummary) -> String {
    match &replica.signed_in_as {
        Some(key) => format!("{} @ {}", key.username, key.root_url),
        None => "no account (a pasted token, or the service needs none)".to_owned(),
    }
}

/// Draws the overview. `now_secs` is the UI clock (for elapsed time), `now_ms` the wall clock.
pub fn replica_detail_ui(
    ui: &mut egui::Ui,
    replica: &ReplicaSummary,
    job: Option<&JobView>,
    now_secs: f64,
    now_ms: i64,
) -> DetailAction {
    let mut action = DetailAction::None;
    let dark = ui.visuals().dark_mode;
    let health = replica.health();
    ui.horizontal(|ui| {
        ui.heading(&replica.name);
        badge_ui(ui, health, theme::health_color(health, dark));
    });
    ui.label(RichText::new(&replica.service_url).weak().small());

    if let Some(reason) = &replica.reset_reason {
        egui::Frame::new()
            .fill(theme::red(dark).gamma_multiply(0.15))
            .stroke(egui::Stroke::new(1.0, theme::red(dark)))
            .inner_margin(8.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new("This replica needs a client reset")
                        .strong()
                        .color(theme::red(dark)),
                );
                ui.label(reason);
                ui.horizontal(|ui| {
                    let mut mode = replica.reset_mode;
                    egui::ComboBox::new("reset-mode", "Reset mode")
                        .selected_text(mode.label())
                        .show_ui(ui, |ui| {
                            for m in RESET_MODES {
                                ui.selectable_value(&mut mode, m, m.label());
                            }
                        });
                    if mode != replica.reset_mode {
                        action = DetailAction::SetResetMode(replica.id, mode);
                    }
                    if ui
                        .button("Start client reset…")
                        .on_hover_text(
                            "Back up the replica, then reset it. Manual mode asks you to confirm first.",
                        )
                        .clicked()
                    {
                        action = DetailAction::StartReset(replica.id, replica.reset_mode);
                    }
                });
            });
        ui.add_space(6.0);
    }
    if let Some(reason) = &replica.sign_in_needed {
        ui.colored_label(
            theme::amber(dark),
            format!("Sign-in needed: {reason}. Its syncs wait until you sign in again."),
        );
    }
    if let Some(error) = &replica.last_error {
        ui.colored_label(theme::red(dark), format!("Last error: {error}"));
    }

    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        ui.label(RichText::new("Sync job").strong());
        job_status_ui(ui, replica, job, now_secs, &mut action);
        // The history sits under the job, beside the replica's facts: in view without
        // scrolling, with the height to be read.
        ui.add_space(6.0);
        ui.label(RichText::new("History").strong());
        history_plot_ui(ui, replica, now_ms);
        let ui = &mut cols[1];
        ui.label(RichText::new("Replica").strong());
        egui::Grid::new("replica-facts")
            .num_columns(2)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                ui.label("Last successful sync");
                ui.label(format!(
                    "{} ({})",
                    format::relative_time(replica.last_success_ms, now_ms),
                    replica
                        .last_success_ms
                        .map_or_else(|| "never".to_owned(), format::timestamp)
                ));
                ui.end_row();
                ui.label("Last attempt");
                ui.label(format::relative_time(replica.last_sync_attempt_ms, now_ms));
                ui.end_row();
                ui.label("Signed in as");
                ui.label(signed_in_text(replica));
                ui.end_row();
                ui.label("Direction / model");
                ui.label(format!("{} / {}", replica.direction, replica.sync_model));
                ui.end_row();
                ui.label("Work area");
                ui.label(
                    replica
                        .work_area
                        .as_ref()
                        .map_or_else(|| "whole service".to_owned(), |a| a.text()),
                );
                ui.end_row();
                ui.label("Generation");
                ui.label(generation_text(replica));
                ui.end_row();
                ui.label("Reset mode");
                ui.label(replica.reset_mode.label());
                ui.end_row();
                let label = ui.label("Predicted refusals").on_hover_text(
                    "What a sync does with queued edits the service's rules (cached in the \
                     replica) say it will refuse",
                );
                let mut policy = replica.predicted_policy;
                egui::ComboBox::from_id_salt("predicted-policy")
                    .selected_text(policy.label())
                    .show_ui(ui, |ui| {
                        for p in PredictedPolicy::ALL {
                            ui.selectable_value(&mut policy, p, p.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if policy != replica.predicted_policy {
                    action = DetailAction::SetPredictedPolicy(replica.id, policy);
                }
                ui.end_row();
                let label = ui.label("Conflicts").on_hover_text(
                    "What a sync does with local edits that conflict with newer changes on the \
                     service",
                );
                let mut conflicts = replica.conflict_policy;
                egui::ComboBox::from_id_salt("conflict-policy")
                    .selected_text(conflicts.label())
                    .show_ui(ui, |ui| {
                        for p in crate::engine::ConflictPolicy::ALL {
                            ui.selectable_value(&mut conflicts, p, p.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if conflicts != replica.conflict_policy {
                    action = DetailAction::SetConflictPolicy(replica.id, conflicts);
                }
                ui.end_row();
                ui.label("Replica GUID");
                ui.label(
                    replica
                        .replica_guid
                        .as_ref()
                        .map_or_else(|| "–".to_owned(), |g| g.to_string()),
                );
                ui.end_row();
            });
    });
    ui.add_space(6.0);
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Layers").strong());
        if replica.failed_edits > 0 || replica.predicted_failures > 0 {
            let text = format!(
                "{} failed edits, {} predicted – show them",
                replica.failed_edits, replica.predicted_failures
            );
            if ui.link(text).clicked() {
                action = DetailAction::ShowFailedEdits;
            }
        }
    });
    layer_table_ui(ui, replica, dark);
    action
}

fn generation_text(replica: &ReplicaSummary) -> String {
    match replica.sync_model {
        SyncModel::PerLayer => {
            if replica.layer_gens.is_empty() {
                "–".to_owned()
            } else {
                replica
                    .layer_gens
                    .iter()
                    .map(|(layer, gen_)| format!("layer {layer}: {gen_}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
        _ => replica
            .server_gen
            .map_or_else(|| "–".to_owned(), |g| g.to_string()),
    }
}

fn job_status_ui(
    ui: &mut egui::Ui,
    replica: &ReplicaSummary,
    job: Option<&JobView>,
    now_secs: f64,
    action: &mut DetailAction,
) {
    let dark = ui.visuals().dark_mode;
    match job {
        Some(job) => {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(job.state.as_str())
                        .strong()
                        .color(theme::job_state_color(&job.state, dark)),
                );
                ui.label(format!(
                    "job {} · {}",
                    job.job.0,
                    format::duration_text(job.elapsed_ms(now_secs))
                ));
            });
            let bar = match (job.is_running(), job.progress) {
                (true, Some(p)) => egui::ProgressBar::new(p).show_percentage(),
                (true, None) => egui::ProgressBar::new(0.0).animate(true),
                (false, _) => egui::ProgressBar::new(1.0),
            };
            ui.add(bar.desired_width(ui.available_width().min(320.0)));
            ui.label(&job.message);
            if job.is_running() {
                // Elapsed time ticks while the job runs.
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(250));
            }
        }
        None => {
            ui.label("No job since start-up.");
        }
    }
    ui.horizontal(|ui| {
        let running = job.is_some_and(JobView::is_running) || replica.syncing;
        if ui
            .add_enabled(
                !running && replica.reset_reason.is_none(),
                egui::Button::new("Sync now"),
            )
            .on_hover_text("Ctrl+R")
            .clicked()
        {
            *action = DetailAction::SyncNow(replica.id);
        }
        if running && ui.button("Cancel job").clicked() {
            *action = DetailAction::Cancel(replica.id);
        }
        if ui
            .add_enabled(!running, egui::Button::new("Unregister…"))
            .on_hover_text("Unregister the replica on the server and remove it from this list")
            .clicked()
        {
            *action = DetailAction::Unregister(replica.id);
        }
        if ui
            .add_enabled(
                !running && replica.reset_reason.is_none(),
                egui::Button::new("Restore changes from backup…"),
            )
            .on_hover_text(
                "Re-apply changes a client reset backed up onto this replica as new local \
                 changes, then sync (the backup is not changed)",
            )
            .clicked()
        {
            *action = DetailAction::OpenRestore(replica.id);
        }
    });
}

fn layer_table_ui(ui: &mut egui::Ui, replica: &ReplicaSummary, dark: bool) {
    egui::Grid::new("layer-table")
        .num_columns(5)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for title in ["Layer", "ID", "Server gen", "Pending", "Failed"] {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for layer in &replica.layers {
                ui.label(&layer.name);
                ui.label(layer.layer_id.to_string());
                let gen_ = layer
                    .server_gen
                    .or_else(|| {
                        replica
                            .layer_gens
                            .iter()
                            .find(|(l, _)| *l == layer.layer_id)
                            .map(|(_, g)| *g)
                    })
                    .or(replica.server_gen);
                ui.label(gen_.map_or_else(|| "–".to_owned(), |g| g.to_string()));
                ui.label(layer.pending_changes.to_string());
                if layer.failed_edits > 0 {
                    ui.colored_label(theme::red(dark), layer.failed_edits.to_string());
                } else {
                    ui.label("0");
                }
                ui.end_row();
            }
        });
}

/// The history plot's x range in minutes ago: at least the last half hour (so one or two syncs
/// do not fill the whole plot), and wide enough that the newest and oldest bars are whole, not
/// cut in half by the plot's edge.
fn history_x_range(xs: &[f64], bar_width: f64) -> (f64, f64) {
    let oldest = xs.iter().copied().fold(0.0, f64::min);
    let newest = xs.iter().copied().fold(oldest, f64::max);
    let margin = bar_width * 0.75;
    (oldest.min(-30.0) - margin, newest.max(0.0) + margin)
}

fn history_plot_ui(ui: &mut egui::Ui, replica: &ReplicaSummary, now_ms: i64) {
    if replica.history.is_empty() {
        ui.weak("No syncs recorded yet.");
        return;
    }
    let dark = ui.visuals().dark_mode;
    let minutes_ago = |ms: i64| (ms - now_ms) as f64 / 60_000.0;
    let durations: Vec<[f64; 2]> = replica
        .history
        .iter()
        .map(|p| [minutes_ago(p.finished_ms), p.duration_ms as f64 / 1000.0])
        .collect();
    // Bars as wide as 60 % of the closest gap between two syncs (1 min for a single sync), but
    // never thinner than an 80th of the range shown: syncs seconds apart stay readable bars.
    let xs: Vec<f64> = replica
        .history
        .iter()
        .map(|p| minutes_ago(p.finished_ms))
        .collect();
    let min_gap = xs
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|g| *g > 0.0)
        .fold(f64::INFINITY, f64::min);
    let shown_span = -xs.iter().copied().fold(-30.0, f64::min);
    let bar_width = if min_gap.is_finite() {
        (min_gap * 0.6).max(shown_span / 80.0)
    } else {
        1.0
    };
    let (x_from, x_to) = history_x_range(&xs, bar_width);
    let bars: Vec<Bar> = replica
        .history
        .iter()
        .map(|p| Bar::new(minutes_ago(p.finished_ms), p.failed_edits as f64).width(bar_width))
        .collect();
    let height = 170.0;
    Plot::new(("history-plot", replica.id.0))
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .x_axis_label("minutes ago")
        .y_axis_label("seconds / failed edits")
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .include_x(x_from)
        .include_x(x_to)
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new("Failed edits", bars).color(theme::red(dark).gamma_multiply(0.8)),
            );
            plot.line(Line::new("Duration (s)", durations.clone()).color(theme::blue(dark)));
            plot.points(
                Points::new("Duration (s)", durations)
                    .radius(2.5)
                    .color(theme::blue(dark)),
            );
        });
}

#[cfg(test)]
mod tests {
    use super::history_x_range;

    #[test]
    fn the_history_range_holds_whole_bars_and_half_an_hour() {
        // A sync that just finished: its bar (1 min wide) is centred on 0 and must be whole.
        let (from, to) = history_x_range(&[0.0], 1.0);
        assert!(to >= 0.5 && from <= -30.0, "{from}..{to}");
        // Syncs over the last two hours, five minutes apart (bars 3 min wide).
        let xs: Vec<f64> = (0..24).map(|i| -120.0 + 5.0 * f64::from(i)).collect();
        let (from, to) = history_x_range(&xs, 3.0);
        assert!(from <= -121.5 && to >= -5.0 + 1.5, "{from}..{to}");
        assert!(to <= 3.0, "no needless room right of now: {to}");
    }
}
