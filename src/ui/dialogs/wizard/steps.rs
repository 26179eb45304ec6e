//! The "New replica" wizard's pages, drawn from its [`Wizard`] state: the URL and account, the
//! service page (facts, layers ticked by name, the options its `syncCapabilities` allow), the
//! work area (whole service or a typed extent, the count inside, the place for the map
//! preview) and the name. Each page edits the state and returns a [`WizardAction`].
//!
//! What it must not do: send commands or keep state of its own.

use super::super::labelled_text;
use super::state::account_for;
use super::state::{AreaChoice, Wizard, WizardAction};
use crate::model::{Account, geometry_label};
use crate::protocol::SyncModel;

/// Page 1: the FeatureServer URL and who the wizard signs in as.
pub(super) fn url_page_ui(
    ui: &mut egui::Ui,
    wizard: &mut Wizard,
    accounts: &[Account],
) -> WizardAction {
    let mut action = WizardAction::None;
    ui.label("Which feature service? The service's layers are shown next.");
    egui::Grid::new("wizard-url")
        .num_columns(2)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            labelled_text(
                ui,
                "FeatureServer URL",
                &mut wizard.service_url,
                false,
                "https://host/arcgis/rest/services/Name/FeatureServer",
            );
            ui.label("Account");
            ui.horizontal(|ui| {
                if !wizard.token.trim().is_empty() {
                    ui.label("will use the pasted token (Advanced)");
                } else if let Some(account) = account_for(&wizard.service_url, accounts) {
                    ui.label(format!(
                        "will use {} @ {}",
                        account.key.username, account.key.root_url
                    ));
                } else {
                    ui.weak("not signed in to this server");
                    if ui.button("Sign in…").clicked() {
                        action = WizardAction::SignIn {
                            url: wizard.service_url.trim().to_owned(),
                        };
                    }
                }
            });
            ui.end_row();
        });
    egui::CollapsingHeader::new("Advanced")
        .default_open(!wizard.token.is_empty())
        .show(ui, |ui| {
            egui::Grid::new("wizard-advanced")
                .num_columns(2)
                .spacing([10.0, 6.0])
                .show(ui, |ui| {
                    labelled_text(
                        ui,
                        "Token",
                        &mut wizard.token,
                        true,
                        "paste a token instead of signing in",
                    );
                });
        });
    if wizard.busy {
        // No spinner: the page stays still while the engine reads the service.
        ui.label("Reading the service…");
    }
    action
}

/// Page 2: the service's facts, its layers and tables to tick by name, and the options.
pub(super) fn service_page_ui(ui: &mut egui::Ui, wizard: &mut Wizard) {
    let Some(facts) = wizard.facts.clone() else {
        return;
    };
    ui.strong(&facts.name);
    if !facts.description.is_empty() {
        ui.label(&facts.description);
    }
    let sr = facts
        .wkid
        .map(|w| format!("wkid {w}"))
        .unwrap_or_else(|| "unknown".into());
    ui.label(format!("Spatial reference: {sr}"));
    if let Some(e) = &facts.full_extent {
        ui.label(format!("Full extent: {}", e.to_text()));
    }
    let caps = &facts.sync_capabilities;
    let yes = |b: bool| if b { "yes" } else { "no" };
    ui.label(format!(
        "Sync: {}; per replica {}, per layer {}, async {}, rollback {}, sync direction control {}",
        if facts.sync_enabled {
            "enabled"
        } else {
            "not enabled"
        },
        yes(caps.supports_per_replica_sync),
        yes(caps.supports_per_layer_sync),
        yes(caps.supports_async),
        yes(caps.supports_rollback_on_failure),
        yes(caps.supports_sync_direction_control),
    ));
    ui.add_space(6.0);
    ui.label("Layers and tables (tick the ones to take along):");
    egui::Grid::new("wizard-layers")
        .num_columns(4)
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            ui.strong("layer");
            ui.strong("geometry");
            ui.strong("features");
            ui.strong("attachments");
            ui.end_row();
            for layer in &facts.layers {
                let mut ticked = wizard.layers.contains(&layer.id);
                let checkbox = egui::Checkbox::new(&mut ticked, layer.name.as_str());
                let response = ui.add_enabled(layer.sync_enabled, checkbox);
                if response.changed() {
                    if ticked {
                        wizard.layers.insert(layer.id);
                    } else {
                        wizard.layers.remove(&layer.id);
                    }
                }
                let kind = geometry_label(layer.geometry_type.as_deref());
                ui.label(if layer.sync_enabled {
                    kind.to_owned()
                } else {
                    format!("{kind} (no sync)")
                });
                ui.label(
                    layer
                        .feature_count
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".into()),
                );
                ui.label(yes(layer.has_attachments));
                ui.end_row();
            }
        });
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.label("Sync model");
        if caps.supports_per_replica_sync || !caps.supports_per_layer_sync {
            ui.radio_value(&mut wizard.sync_model, SyncModel::PerReplica, "per replica");
        }
        if caps.supports_per_layer_sync {
            ui.radio_value(&mut wizard.sync_model, SyncModel::PerLayer, "per layer");
        }
    });
    if caps.supports_async {
        ui.checkbox(&mut wizard.is_async, "Run as an async job");
    }
    let any_attachments = facts
        .layers
        .iter()
        .any(|l| l.has_attachments && wizard.layers.contains(&l.id));
    if any_attachments {
        ui.checkbox(&mut wizard.attachments, "Take attachments along");
    }
}

/// Page 3: the work area, the features inside it, and the map preview's place.
pub(super) fn area_page_ui(
    ui: &mut egui::Ui,
    wizard: &mut Wizard,
    map: &mut super::AreaMap<'_>,
) -> WizardAction {
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut wizard.area_choice,
            AreaChoice::WholeService,
            "Whole service",
        );
        ui.radio_value(&mut wizard.area_choice, AreaChoice::Extent, "An extent");
    });
    if wizard.area_choice == AreaChoice::Extent {
        egui::Grid::new("wizard-extent")
            .num_columns(2)
            .spacing([10.0, 4.0])
            .show(ui, |ui| {
                let names = ["xmin", "ymin", "xmax", "ymax"];
                for (text, name) in wizard.extent.iter_mut().zip(names) {
                    let l = ui.label(name);
                    ui.add(egui::TextEdit::singleline(text).desired_width(160.0))
                        .labelled_by(l.id);
                    ui.end_row();
                }
                let l = ui.label("wkid");
                ui.add(
                    egui::TextEdit::singleline(&mut wizard.wkid)
                        .hint_text("the service's")
                        .desired_width(160.0),
                )
                .labelled_by(l.id);
                ui.end_row();
            });
        if let Some(full) = wizard.facts.as_ref().and_then(|f| f.full_extent)
            && ui.button("Use the service's full extent").clicked()
        {
            wizard.set_extent(&full);
        }
        // One line either way, so the page keeps its height while the extent is typed.
        match wizard.area() {
            Err(e) => ui.colored_label(crate::ui::theme::red(ui.visuals().dark_mode), e),
            Ok(_) => ui.weak("Draw the area on the map, or type it above."),
        };
    }
    if wizard.area_choice == AreaChoice::Extent {
        // The map preview: a rectangle drawn on it sets the extent (`Wizard::set_extent`).
        map(ui, wizard);
    }
    ui.add_space(6.0);
    ui.label("Features in the area:");
    for (name, count) in wizard.area_counts() {
        let count = count
            .map(|n| n.to_string())
            .unwrap_or_else(|| "counting…".into());
        ui.label(format!("{name}: {count}"));
    }
    wizard.count_if_changed()
}

/// Page 4: the name (suggested from the service and the area).
pub(super) fn name_page_ui(ui: &mut egui::Ui, wizard: &mut Wizard) {
    if let Ok(area) = wizard.area() {
        ui.label(format!("Work area: {}", area.text()));
    }
    egui::Grid::new("wizard-name")
        .num_columns(2)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            let before = wizard.name.clone();
            labelled_text(
                ui,
                "Replica name",
                &mut wizard.name,
                false,
                "e.g. Hydrants – crew A",
            );
            if wizard.name != before {
                wizard.name_typed = true;
            }
        });
}
