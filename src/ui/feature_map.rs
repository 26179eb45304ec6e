//! The map of the selected edit result's feature, in the detail pane: its local geometry (blue),
//! the server's where it differs (magenta), the replica's features around it (grey) and the work
//! area's outline, with pan, zoom and a legend. Drawn from the engine's `Event::FeatureMap`
//! (read from the replica file, so it works offline); it asks for it with a request the detail
//! pane turns into `Command::LoadFeatureMap`. It reads no file itself.

use crate::engine::{FeatureMap, LocalReplicaId, MapGeometry};
use crate::protocol::Guid;
use crate::ui::map::{LayerStyle, MapLayer, MapOptions, MapShape, MapView, layers_bounds, map_ui};
use egui::Color32;
use std::sync::Arc;

/// The accessible name of the detail pane's map.
pub const FEATURE_MAP_LABEL: &str = "Feature map";
pub const LOCAL_COLOUR: Color32 = Color32::from_rgb(0x1E, 0x6F, 0xD9);
pub const SERVER_COLOUR: Color32 = Color32::from_rgb(0xD0, 0x1F, 0xB0);
pub const NEIGHBOUR_COLOUR: Color32 = Color32::from_rgb(0x9A, 0x9A, 0x9A);
pub const WORK_AREA_COLOUR: Color32 = Color32::from_rgb(0x2E, 0x7D, 0x32);

/// Which feature a map is of.
type FeatureKey = (LocalReplicaId, i64, Guid);

/// The panel's state: the map it shows (as layers, built once per event), its camera and what
/// it last asked the engine for.
#[derive(Debug, Default)]
pub struct FeaturePanel {
    pub view: MapView,
    shown: Option<Arc<FeatureMap>>,
    layers: Vec<MapLayer>,
    requested: Option<FeatureKey>,
}

fn key_of(map: &FeatureMap) -> FeatureKey {
    (map.replica, map.layer_id, map.global_id.clone())
}

fn shapes(geometry: Option<&MapGeometry>) -> Vec<MapShape> {
    geometry
        .and_then(|g| MapShape::from_json(g.geometry_type.as_deref(), &g.json))
        .into_iter()
        .collect()
}

/// The layers of a feature map, bottom first: neighbours, work area, server, local.
pub fn feature_layers(map: &FeatureMap) -> Vec<MapLayer> {
    let mut layers = Vec::new();
    let neighbours: Vec<MapShape> = map
        .neighbours
        .iter()
        .filter_map(|n| MapShape::from_json(n.geometry.geometry_type.as_deref(), &n.geometry.json))
        .collect();
    if !neighbours.is_empty() {
        let label = if map.neighbours_capped {
            "Nearby features (some not shown)"
        } else {
            "Nearby features"
        };
        layers.push(MapLayer::new(
            label,
            LayerStyle::solid(NEIGHBOUR_COLOUR, 1.5, 3.5),
            neighbours,
        ));
    }
    let area = shapes(map.work_area.as_ref());
    if !area.is_empty() {
        layers.push(MapLayer::new(
            "Work area",
            LayerStyle::outline(WORK_AREA_COLOUR, 1.5),
            area,
        ));
    }
    if map.geometry_differs {
        layers.push(MapLayer::new(
            "Server",
            LayerStyle::solid(SERVER_COLOUR, 3.0, 6.0),
            shapes(map.server.as_ref()),
        ));
    }
    let local = shapes(map.local.as_ref());
    if !local.is_empty() {
        let label = if map.geometry_differs {
            "Local (your edit)"
        } else if map.server.is_some() {
            "This feature (local = server)"
        } else {
            "This feature (new)"
        };
        layers.push(MapLayer::new(
            label,
            LayerStyle::solid(LOCAL_COLOUR, 3.0, 6.0),
            local,
        ));
    } else if !map.geometry_differs && map.server.is_some() {
        layers.push(MapLayer::new(
            "Server (deleted locally)",
            LayerStyle::solid(SERVER_COLOUR, 3.0, 6.0),
            shapes(map.server.as_ref()),
        ));
    }
    layers
}

impl FeaturePanel {
    /// Takes the engine's latest feature map (from the view model); builds the layers when it
    /// is a new one, and fits the view to the feature.
    pub fn sync(&mut self, latest: Option<&Arc<FeatureMap>>) {
        let Some(latest) = latest else { return };
        if self.shown.as_ref().is_some_and(|s| Arc::ptr_eq(s, latest)) {
            return;
        }
        let same_feature = self
            .shown
            .as_ref()
            .is_some_and(|s| key_of(s) == key_of(latest));
        self.layers = feature_layers(latest);
        self.shown = Some(latest.clone());
        if !same_feature {
            // fit the feature itself (local and server), not its neighbours
            let own = shapes(latest.local.as_ref())
                .into_iter()
                .chain(shapes(latest.server.as_ref()))
                .filter_map(|s| s.bounds())
                .reduce(|a, b| a.union(&b));
            if let Some(bounds) = own.or_else(|| layers_bounds(&self.layers)) {
                let size = bounds.width().max(bounds.height());
                // some of the surroundings too: at least about 100 m (0.001°) on every side
                let floor = if latest.wkid == Some(4326) {
                    0.001
                } else {
                    100.0
                };
                let pad = (size * 0.15).max(floor);
                self.view.request_fit(bounds.grown(pad));
            }
        }
    }

    /// The layers being shown (tests look at them).
    pub fn layers(&self) -> &[MapLayer] {
        &self.layers
    }

    pub fn shown(&self) -> Option<&Arc<FeatureMap>> {
        self.shown.as_ref()
    }

    /// Forget what was asked, so the next frame asks again (after a sync changed the file).
    pub fn reload(&mut self) {
        self.requested = None;
    }
}

/// Draws the map of `global_id` in `layer_id` of `replica`. Returns true when the engine must
/// be asked for it (once per feature).
pub fn feature_panel_ui(
    ui: &mut egui::Ui,
    panel: &mut FeaturePanel,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: &Guid,
) -> bool {
    let key: FeatureKey = (replica, layer_id, global_id.clone());
    let ask = panel.requested.as_ref() != Some(&key);
    if ask {
        panel.requested = Some(key.clone());
    }
    let current = panel.shown.as_ref().filter(|m| key_of(m) == key).cloned();
    ui.label(egui::RichText::new("Geometry").strong());
    let Some(map) = current else {
        ui.weak("Loading the feature's map…");
        return ask;
    };
    if map.local.is_none() && map.server.is_none() {
        ui.weak("This feature has no geometry.");
        return ask;
    }
    let options = MapOptions {
        label: FEATURE_MAP_LABEL.to_owned(),
        height: 220.0,
        wkid: map.wkid,
        ..MapOptions::default()
    };
    map_ui(ui, &mut panel.view, &panel.layers, None, options);
    if map.geometry_differs {
        ui.weak("On the map: the local geometry (blue) differs from the server's (magenta).");
    }
    ask
}
