//! The "New replica" wizard on the app's side: opening it (File → New replica…, with the last
//! service URL), turning what it asks for into `Command`s (describe the service, count an area,
//! create the replica, open Sign in, load the work-area page's map preview) and handing it the
//! engine's answers. The wizard itself is `ui::dialogs::wizard`; the map preview's state (egui
//! types) is [`WizardMap`], kept here beside it.

use super::SyncwatchApp;
use super::action::Action;
use crate::engine::{Command, Event};
use crate::model::{Extent, ServicePreview, WorkArea};
use crate::ui::dialogs::wizard::WizardStep;
use crate::ui::dialogs::{Wizard, WizardAction, wizard_ui};
use crate::ui::map::{AreaPicker, MapLayer, area_picker_ui, picker_for, preview_layers};
use std::sync::Arc;

/// How many features of each layer the map preview loads.
const PREVIEW_MAX_FEATURES: usize = 2000;

/// The map's height, and the height of its place on the page (the map, its legend and the
/// picker's "Draw area by dragging" row), loading or shown; the place is as wide as the page.
const PREVIEW_MAP_HEIGHT: f32 = 260.0;
const PREVIEW_PLACE_HEIGHT: f32 = PREVIEW_MAP_HEIGHT + 46.0;

/// The wizard's map preview: the preview asked for, the one shown (as map layers) and the area
/// picker over it.
#[derive(Default)]
pub struct WizardMap {
    /// The service URL and layers the last `LoadServicePreview` was sent for.
    pub requested: Option<(String, Vec<i64>)>,
    /// The preview shown, its layers and the picker drawn over them.
    pub shown: Option<Arc<ServicePreview>>,
    pub layers: Vec<MapLayer>,
    pub picker: Option<AreaPicker>,
    /// The extent the picker and the wizard last agreed on.
    synced: Option<Extent>,
}

impl WizardMap {
    /// Takes the view model's last preview when it is the one asked for and not shown yet.
    fn take(&mut self, latest: Option<&Arc<ServicePreview>>) {
        let (Some(preview), Some((url, layers))) = (latest, &self.requested) else {
            return;
        };
        let ours = preview.service_url.eq_ignore_ascii_case(url)
            && preview
                .layers
                .iter()
                .map(|l| l.layer_id)
                .eq(layers.iter().copied());
        if !ours || self.shown.as_ref().is_some_and(|s| Arc::ptr_eq(s, preview)) {
            return;
        }
        self.layers = preview_layers(preview);
        let mut picker = picker_for(preview, &self.layers);
        // The wizard's own typed fields (with the wkid) stay; the picker's are hidden.
        picker.show_fields = false;
        picker.map_height = PREVIEW_MAP_HEIGHT;
        self.picker = Some(picker);
        self.shown = Some(preview.clone());
        self.synced = None;
    }

    /// Draws the picker (or that the preview is loading) and keeps it and the wizard's extent in
    /// step: a drawn rectangle (once the drag ends) sets the wizard's extent, a typed one moves
    /// the rectangle.
    ///
    /// The preview's place has one height whether it is loading or shown, so the (centred)
    /// modal does not grow and move the fields under the technician's pointer when it arrives.
    fn ui(&mut self, ui: &mut egui::Ui, wizard: &mut Wizard) {
        ui.scope(|ui| {
            ui.set_min_size(egui::vec2(ui.available_width(), PREVIEW_PLACE_HEIGHT));
            self.preview_ui(ui, wizard);
        });
    }

    fn preview_ui(&mut self, ui: &mut egui::Ui, wizard: &mut Wizard) {
        let Some(picker) = &mut self.picker else {
            ui.weak("Loading the map preview…");
            return;
        };
        area_picker_ui(ui, picker, &self.layers);
        if picker.tool.is_dragging() {
            return;
        }
        let drawn = picker.extent().map(|e| Extent {
            wkid: picker.wkid,
            ..e
        });
        if drawn.is_some() && drawn != self.synced {
            if let Some(e) = &drawn {
                wizard.set_extent(e);
            }
            self.synced = drawn;
            return;
        }
        let typed = match wizard.area() {
            Ok(WorkArea::Extent(e)) if e.wkid.is_none() || e.wkid == picker.wkid => Some(Extent {
                wkid: picker.wkid,
                ..e
            }),
            _ => None,
        };
        if typed.is_some() && typed != self.synced {
            picker.tool.set_extent(typed);
            self.synced = typed;
        }
    }
}

impl SyncwatchApp {
    /// Opens the wizard at its URL page.
    pub(super) fn open_wizard(&mut self) {
        let url = if self.persisted.last_service_url.is_empty() {
            self.config.default_service_url.clone()
        } else {
            self.persisted.last_service_url.clone()
        };
        self.wizard = Some(Wizard::new(&url));
        self.wizard_map = WizardMap::default();
    }

    /// Draws the wizard (if open) and carries out what it asked for.
    pub(super) fn wizard_window_ui(&mut self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let Some(wizard) = &mut self.wizard else {
            return;
        };
        let map = &mut self.wizard_map;
        map.take(self.vm.service_preview.as_ref());
        let action = wizard_ui(ctx, wizard, &self.vm.accounts, &mut |ui, w| map.ui(ui, w));
        self.ask_for_preview();
        match action {
            WizardAction::None => {}
            WizardAction::Cancel => self.wizard = None,
            WizardAction::SignIn { url } => actions.push(Action::OpenSignIn {
                url,
                username: String::new(),
            }),
            WizardAction::Describe { url, token } => {
                let command = Command::DescribeService {
                    service_url: url,
                    token: token.map(Into::into),
                };
                self.submit_for_wizard(command);
            }
            WizardAction::Count { area, layers } => {
                let Some(wizard) = &self.wizard else {
                    return;
                };
                let (Ok(url), token) = (wizard.checked_url(), wizard.token.trim().to_owned())
                else {
                    return;
                };
                let command = Command::CountArea {
                    service_url: url,
                    token: (!token.is_empty()).then(|| token.into()),
                    area,
                    layers,
                };
                // A count is not awaited: the page shows "counting…" until it arrives.
                if let Err(e) = self.commands.submit(command)
                    && let Some(wizard) = &mut self.wizard
                {
                    wizard.error = Some(format!("Not sent: {e}"));
                }
            }
            WizardAction::Create(request) => actions.push(Action::CreateReplica(request)),
        }
    }

    /// On the work-area page, asks for the map preview of the ticked layers (once for each
    /// service and set of layers). Not awaited: the page shows that it is loading.
    fn ask_for_preview(&mut self) {
        let Some(wizard) = &self.wizard else {
            return;
        };
        let Ok(url) = wizard.checked_url() else {
            return;
        };
        let layers: Vec<i64> = wizard.layers.iter().copied().collect();
        let key = (url, layers);
        if wizard.step != WizardStep::Area || self.wizard_map.requested.as_ref() == Some(&key) {
            return;
        }
        let token = wizard.token.trim().to_owned();
        let command = Command::LoadServicePreview {
            service_url: key.0.clone(),
            token: (!token.is_empty()).then(|| token.into()),
            layers: key.1.clone(),
            max_features: PREVIEW_MAX_FEATURES,
        };
        self.wizard_map = WizardMap {
            requested: Some(key),
            ..WizardMap::default()
        };
        if let Err(e) = self.commands.submit(command)
            && let Some(wizard) = &mut self.wizard
        {
            wizard.error = Some(format!("Map preview not sent: {e}"));
        }
    }

    /// Sends a command the wizard waits for and remembers its id (to match its failure).
    fn submit_for_wizard(&mut self, command: Command) {
        let submitted = self.commands.submit(command);
        let Some(wizard) = &mut self.wizard else {
            return;
        };
        match submitted {
            Ok(id) => {
                wizard.command = id;
                wizard.busy = true;
                wizard.error = None;
            }
            Err(e) => wizard.error = Some(format!("Not sent: {e}")),
        }
    }

    /// Hands the wizard the engine's answers (before the view model sees the event).
    pub(super) fn follow_wizard(&mut self, event: &Event) {
        if let Some(wizard) = &mut self.wizard {
            wizard.follow(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LayerFacts, PreviewLayer, ServiceFacts};
    use crate::ui::dialogs::wizard::AreaChoice;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    const URL: &str = "http://h/arcgis/rest/services/Water/FeatureServer";

    /// The work-area page, its map state and the preview the engine has sent (if any).
    struct Page {
        wizard: Wizard,
        map: WizardMap,
        preview: Option<Arc<ServicePreview>>,
    }

    fn area_page() -> Page {
        let full = Extent::parse("0,0,10,10,4326").expect("extent");
        let mut wizard = Wizard::new(URL);
        wizard.facts = Some(ServiceFacts {
            service_url: URL.into(),
            name: "Water".into(),
            description: String::new(),
            wkid: Some(4326),
            full_extent: Some(full),
            sync_enabled: true,
            sync_capabilities: Default::default(),
            layers: vec![LayerFacts {
                id: 0,
                name: "Hydrants".into(),
                is_table: false,
                geometry_type: Some("esriGeometryPoint".into()),
                feature_count: Some(3),
                has_attachments: false,
                sync_enabled: true,
            }],
        });
        wizard.layers.insert(0);
        wizard.step = WizardStep::Area;
        wizard.area_choice = AreaChoice::Extent;
        let map = WizardMap {
            requested: Some((URL.into(), vec![0])),
            ..WizardMap::default()
        };
        Page {
            wizard,
            map,
            preview: None,
        }
    }

    fn preview() -> ServicePreview {
        ServicePreview {
            service_url: URL.into(),
            wkid: Some(4326),
            full_extent: Extent::parse("0,0,10,10,4326").ok(),
            layers: vec![PreviewLayer {
                layer_id: 0,
                name: "Hydrants".into(),
                geometry_type: Some("esriGeometryPoint".into()),
                geometries: (1..4)
                    .map(|i| serde_json::json!({"x": i, "y": i}))
                    .collect(),
                capped: false,
                error: None,
            }],
        }
    }

    /// Where the page's fields and the counts are on screen.
    fn places(h: &Harness<'_, Page>) -> Vec<egui::Rect> {
        ["xmin", "ymax", "wkid"]
            .iter()
            .map(|l| {
                h.get_by_role_and_label(egui::accesskit::Role::TextInput, l)
                    .rect()
            })
            .chain([h.get_by_label("Features in the area:").rect()])
            .collect()
    }

    /// A technician clicking a coordinate field while the preview loads must not have the
    /// modal grow and move the field away when it arrives (CI once lost a typed value so).
    #[test]
    fn the_fields_stay_put_when_the_map_preview_arrives() {
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_ui_state(
                |ui, page: &mut Page| {
                    let ctx = ui.ctx().clone();
                    page.map.take(page.preview.as_ref());
                    let map = &mut page.map;
                    // What the page asks for (a count) is not carried out here: only its layout is.
                    let _ = wizard_ui(&ctx, &mut page.wizard, &[], &mut |ui, w| map.ui(ui, w));
                },
                area_page(),
            );
        h.run();
        h.get_by_label("Loading the map preview…");
        let loading = places(&h);
        h.state_mut().preview = Some(Arc::new(preview()));
        h.run();
        assert!(h.state().map.picker.is_some(), "the preview is shown");
        h.get_by_label("Work area map");
        assert_eq!(places(&h), loading);
    }
}
