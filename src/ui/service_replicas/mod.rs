//! The "Service replicas" view: every replica a feature service lists for the signed-in user
//! (File → Manage service replicas…), in a sortable, filterable table (name, owner, created,
//! last sync, model, direction, this laptop) with "stale" marking after N days (the window's
//! setting), row selection, "Unregister selected…" behind a confirmation that names the replicas (and
//! warns about the ones this laptop holds), and CSV export. It keeps the list the engine sent
//! ([`ServiceReplicasView::follow`]) and returns what the user asked for
//! ([`ServiceReplicasAction`]); the app turns that into `Command`s. It sends nothing itself.

pub mod rows;

use crate::engine::{CommandId, Event};
use crate::model::{ServiceReplica, UnregisterResult, is_stale};
use crate::protocol::Guid;
use crate::ui::{format, theme};
use egui::{Align, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};
use rows::{RowFilter, SortKey};
use std::collections::BTreeSet;

/// What the view asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceReplicasAction {
    None,
    Close,
    /// Load (or reload) the list of the service at this URL.
    Load(String),
    /// The user confirmed unregistering these replicas (replicaID, name).
    Unregister(Vec<(Guid, String)>),
    /// Export the shown rows as CSV (the app asks where).
    ExportCsv(Vec<ServiceReplica>),
}

/// The view's state: the service, its list as the engine last sent it, the user's filter,
/// sort and selection, and the confirmation or results of an unregister.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceReplicasView {
    pub url: String,
    /// `None` until the first list arrives.
    pub replicas: Option<Vec<ServiceReplica>>,
    /// A load or an unregister is under way.
    pub busy: bool,
    /// The engine's id of the command under way, to match its failure.
    pub command: Option<CommandId>,
    pub error: Option<String>,
    pub filter: RowFilter,
    pub selected: BTreeSet<Guid>,
    /// The replicas waiting for the user's confirmation to be unregistered.
    pub confirm: Option<Vec<ServiceReplica>>,
    /// How the last unregister went, one line per replica.
    pub results: Vec<UnregisterResult>,
}

impl ServiceReplicasView {
    pub fn new(url: &str) -> Self {
        ServiceReplicasView {
            url: url.to_owned(),
            ..Default::default()
        }
    }

    /// Takes in the engine's answers for this view's service and its command's failure.
    pub fn follow(&mut self, event: &Event) {
        match event {
            Event::ServiceReplicasLoaded {
                service_url,
                replicas,
            } if *service_url == self.url => {
                self.busy = false;
                self.error = None;
                let known: BTreeSet<&Guid> = replicas.iter().map(|r| &r.replica_id).collect();
                self.selected.retain(|g| known.contains(g));
                self.replicas = Some(replicas.clone());
            }
            Event::ServiceReplicasUnregistered {
                service_url,
                results,
            } if *service_url == self.url => {
                self.busy = false;
                let gone: BTreeSet<&Guid> = results
                    .iter()
                    .filter(|r| r.unregistered)
                    .map(|r| &r.replica_id)
                    .collect();
                if let Some(list) = &mut self.replicas {
                    list.retain(|r| !gone.contains(&r.replica_id));
                }
                self.selected.retain(|g| !gone.contains(g));
                self.results = results.clone();
            }
            Event::CommandFailed {
                error,
                command: Some(c),
                ..
            } if self.command == Some(*c) => {
                self.busy = false;
                self.error = Some(error.message.clone());
            }
            _ => {}
        }
    }

    fn chosen(&self) -> Vec<ServiceReplica> {
        self.replicas
            .iter()
            .flatten()
            .filter(|r| self.selected.contains(&r.replica_id))
            .cloned()
            .collect()
    }
}

/// Draws the view (and its confirmation on top) and returns what the user asked for.
pub fn service_replicas_ui(
    ctx: &egui::Context,
    view: &mut ServiceReplicasView,
    now_ms: i64,
    stale_days: &mut u32,
) -> ServiceReplicasAction {
    let mut action = ServiceReplicasAction::None;
    let mut open = true;
    egui::Window::new("Service replicas")
        .id(egui::Id::unique("syncwatch-service-replicas"))
        .open(&mut open)
        .default_size([860.0, 420.0])
        .resizable(true)
        .collapsible(false)
        .show(ctx, |ui| {
            action = view_ui(ui, view, now_ms, stale_days);
        });
    if !open {
        return ServiceReplicasAction::Close;
    }
    if let Some(chosen) = view.confirm.clone() {
        match confirm_ui(ctx, &chosen) {
            Confirm::Open => {}
            Confirm::Keep => view.confirm = None,
            Confirm::Unregister => {
                view.confirm = None;
                action = ServiceReplicasAction::Unregister(
                    chosen.into_iter().map(|r| (r.replica_id, r.name)).collect(),
                );
            }
        }
    }
    action
}

fn view_ui(
    ui: &mut egui::Ui,
    view: &mut ServiceReplicasView,
    now_ms: i64,
    stale_days: &mut u32,
) -> ServiceReplicasAction {
    let mut action = ServiceReplicasAction::None;
    ui.horizontal(|ui| {
        let label = ui.label("Feature service");
        ui.add(
            egui::TextEdit::singleline(&mut view.url)
                .hint_text("https://…/FeatureServer")
                .desired_width(440.0),
        )
        .labelled_by(label.id);
        let text = if view.replicas.is_some() {
            "Reload"
        } else {
            "Load"
        };
        if ui
            .add_enabled(
                !view.busy && !view.url.trim().is_empty(),
                egui::Button::new(text),
            )
            .clicked()
        {
            action = ServiceReplicasAction::Load(view.url.trim().to_owned());
        }
        if view.busy {
            ui.spinner();
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut view.filter.text)
                .hint_text("name, replicaID or owner")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut view.filter.stale_only, "Stale only");
        ui.separator();
        ui.label("Stale after");
        ui.add(
            egui::DragValue::new(stale_days)
                .range(1..=3650)
                .suffix(" days"),
        );
    });
    if let Some(error) = &view.error {
        ui.colored_label(theme::red(ui.visuals().dark_mode), error);
    }
    results_ui(ui, &view.results);
    let Some(replicas) = view.replicas.clone() else {
        if !view.busy {
            ui.weak("Load the list: an administrator sees every replica, others their own.");
        }
        return action;
    };
    let shown = rows::visible(&replicas, &view.filter, now_ms, *stale_days);
    let stale = replicas
        .iter()
        .filter(|r| is_stale(r.last_activity_ms(), now_ms, *stale_days))
        .count();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} replicas, {stale} stale, {} shown, {} selected",
            replicas.len(),
            shown.len(),
            view.selected.len()
        ));
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            let export = ui.add_enabled(!shown.is_empty(), egui::Button::new("Export CSV…"));
            if export.clicked() {
                action = ServiceReplicasAction::ExportCsv(
                    shown.iter().map(|&i| replicas[i].clone()).collect(),
                );
            }
            let can_unregister = !view.selected.is_empty() && !view.busy;
            if ui
                .add_enabled(can_unregister, egui::Button::new("Unregister selected…"))
                .on_hover_text("Unregister the selected replicas on the service")
                .clicked()
            {
                view.confirm = Some(view.chosen());
            }
        });
    });
    ui.separator();
    table_ui(ui, view, &replicas, &shown, now_ms, *stale_days);
    action
}

fn results_ui(ui: &mut egui::Ui, results: &[UnregisterResult]) {
    let dark = ui.visuals().dark_mode;
    for r in results {
        match (&r.error, r.already_gone) {
            (Some(e), _) => {
                ui.colored_label(
                    theme::red(dark),
                    format!("Not unregistered {}: {e}", r.name),
                );
            }
            (None, true) => {
                ui.label(format!("{} was already gone from the service.", r.name));
            }
            (None, false) => {
                ui.colored_label(theme::green(dark), format!("Unregistered {}.", r.name));
            }
        }
    }
}

fn table_ui(
    ui: &mut egui::Ui,
    view: &mut ServiceReplicasView,
    replicas: &[ServiceReplica],
    shown: &[usize],
    now_ms: i64,
    stale_days: u32,
) {
    let dark = ui.visuals().dark_mode;
    let mut clicked_header = None;
    let mut toggled: Option<Guid> = None;
    ui.style_mut().interaction.selectable_labels = false;
    let mut table = TableBuilder::new(ui)
        .id_salt("service-replicas")
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .cell_layout(Layout::left_to_right(Align::Center))
        .auto_shrink([false, false])
        .column(Column::exact(24.0));
    for key in SortKey::ALL {
        let width = match key {
            SortKey::Name => 200.0,
            SortKey::Created | SortKey::LastSync => 150.0,
            _ => 90.0,
        };
        table = table.column(Column::initial(width).at_least(40.0).clip(true));
    }
    table
        .header(22.0, |mut header| {
            header.col(|_| {});
            for key in SortKey::ALL {
                header.col(|ui| {
                    let arrow = match (view.filter.sort == key, view.filter.descending) {
                        (true, false) => " ⏶",
                        (true, true) => " ⏷",
                        _ => "",
                    };
                    let text = RichText::new(format!("{}{arrow}", key.title())).strong();
                    if ui.add(egui::Button::new(text).frame(false)).clicked() {
                        clicked_header = Some(key);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(20.0, shown.len(), |mut row| {
                let r = &replicas[shown[row.index()]];
                let selected = view.selected.contains(&r.replica_id);
                row.set_selected(selected);
                row.col(|ui| {
                    let mut on = selected;
                    let name = format!("Select {}", r.name);
                    let response = ui.add(egui::Checkbox::without_text(&mut on));
                    response.widget_info(|| {
                        egui::WidgetInfo::selected(egui::Role::CheckBox, true, on, &name)
                    });
                    if response.changed() {
                        toggled = Some(r.replica_id.clone());
                    }
                });
                let stale = is_stale(r.last_activity_ms(), now_ms, stale_days);
                cells_ui(&mut row, r, stale, now_ms, dark);
                if row.response().clicked() {
                    toggled = Some(r.replica_id.clone());
                }
            });
        });
    if let Some(key) = clicked_header {
        view.filter.sort_by(key);
    }
    if let Some(id) = toggled
        && !view.selected.remove(&id)
    {
        view.selected.insert(id);
    }
}

/// One replica's cells after the checkbox, in the order of [`SortKey::ALL`].
fn cells_ui(
    row: &mut egui_extras::TableRow<'_, '_>,
    r: &ServiceReplica,
    stale: bool,
    now_ms: i64,
    dark: bool,
) {
    let mut cell = |text: String, color: Option<egui::Color32>, hover: String| {
        row.col(|ui| {
            let mut rich = RichText::new(text);
            if let Some(c) = color {
                rich = rich.color(c);
            }
            let label = ui.add(egui::Label::new(rich).truncate());
            if !hover.is_empty() {
                label.on_hover_text(hover);
            }
        });
    };
    cell(r.name.clone(), None, r.replica_id.to_string());
    match &r.error {
        Some(e) => cell("info failed".into(), Some(theme::red(dark)), e.clone()),
        None => cell(
            r.owner.clone().unwrap_or_else(|| "–".into()),
            None,
            String::new(),
        ),
    }
    let date = |ms: Option<i64>| ms.map_or_else(|| "never".to_owned(), format::timestamp);
    cell(date(r.created_ms), None, String::new());
    let last_sync = if stale {
        format!(
            "⚠ stale · {}",
            format::relative_time(r.last_activity_ms(), now_ms)
        )
    } else {
        date(r.last_sync_ms)
    };
    let stale_color = stale.then(|| theme::amber(dark));
    cell(last_sync, stale_color, date(r.last_sync_ms));
    let text = |v: Option<&str>| v.unwrap_or("–").to_owned();
    cell(text(r.sync_model.map(|m| m.as_str())), None, String::new());
    cell(
        text(r.sync_direction.map(|d| d.as_str())),
        None,
        r.area.clone().unwrap_or_default(),
    );
    let held = if r.held_here { "✔ this laptop" } else { "" };
    cell(
        held.to_owned(),
        r.held_here.then(|| theme::blue(dark)),
        String::new(),
    );
}

enum Confirm {
    Open,
    Keep,
    Unregister,
}

/// The confirmation before unregistering: names every replica and warns about held ones.
fn confirm_ui(ctx: &egui::Context, chosen: &[ServiceReplica]) -> Confirm {
    let mut outcome = Confirm::Open;
    let modal = egui::Modal::new(egui::Id::unique("syncwatch-unregister-service-replicas")).show(
        ctx,
        |ui| {
            ui.set_max_width(520.0);
            let n = chosen.len();
            ui.heading(format!("Unregister {n} replica{} on the service?", plural(n)));
            ui.label("Their owners can no longer sync them; each needs a new replica.");
            for r in chosen {
                let owner = r.owner.as_deref().unwrap_or("unknown owner");
                ui.label(format!("• {} ({owner}, {})", r.name, r.replica_id));
            }
            let dark = ui.visuals().dark_mode;
            for r in chosen.iter().filter(|r| r.held_here) {
                ui.colored_label(
                    theme::red(dark),
                    format!(
                        "{} is held on this laptop: its unsynced edits cannot reach the service and it will need a client reset.",
                        r.name
                    ),
                );
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(format!("Unregister {n} replica{}", plural(n))).clicked() {
                    outcome = Confirm::Unregister;
                }
                if ui.button("Keep them").clicked() {
                    outcome = Confirm::Keep;
                }
            });
        },
    );
    if matches!(outcome, Confirm::Open) && modal.should_close() {
        outcome = Confirm::Keep;
    }
    outcome
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
