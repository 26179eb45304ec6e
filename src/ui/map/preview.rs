//! A service preview as map layers, for the create-replica wizard's area picker: one layer per
//! previewed service layer, each in its own colour, plus a local estimate of how many of the
//! previewed features an extent meets (bounding boxes of the capped, generalised preview; the
//! exact count is the service's `returnCountOnly` query). Plain data from the engine's
//! `Event::ServicePreview`; no I/O.

use super::area_picker::AreaPicker;
use super::layer::{LayerStyle, MapLayer};
use super::shapes::MapShape;
use crate::engine::ServicePreview;
use crate::model::Extent;
use egui::Color32;

/// The colours the preview's layers take in turn.
const PALETTE: [Color32; 6] = [
    Color32::from_rgb(0x1E, 0x6F, 0xD9),
    Color32::from_rgb(0xD9, 0x5F, 0x0E),
    Color32::from_rgb(0x2E, 0x7D, 0x32),
    Color32::from_rgb(0x8E, 0x24, 0xAA),
    Color32::from_rgb(0x00, 0x83, 0x8F),
    Color32::from_rgb(0x6D, 0x4C, 0x41),
];

/// One map layer per previewed layer (a layer that failed to load is left out), legend labels
/// naming the layer and saying when its features were capped.
pub fn preview_layers(preview: &ServicePreview) -> Vec<MapLayer> {
    preview
        .layers
        .iter()
        .filter(|l| l.error.is_none())
        .enumerate()
        .map(|(i, l)| {
            let shapes: Vec<MapShape> = l
                .geometries
                .iter()
                .filter_map(|g| MapShape::from_json(l.geometry_type.as_deref(), g))
                .collect();
            let label = if l.capped {
                format!("{} (first {} shown)", l.name, shapes.len())
            } else {
                l.name.clone()
            };
            let colour = PALETTE[i % PALETTE.len()];
            MapLayer::new(label, LayerStyle::solid(colour, 1.5, 3.0), shapes)
        })
        .collect()
}

/// An area picker over the preview's full extent (or its features' bounds), in its SR.
pub fn picker_for(preview: &ServicePreview, layers: &[MapLayer]) -> AreaPicker {
    let extent = preview
        .full_extent
        .or_else(|| super::layer::layers_bounds(layers));
    AreaPicker::new(extent, preview.wkid)
}

/// How many previewed features' bounding boxes meet `extent` (an estimate, see the module doc).
pub fn features_meeting(layers: &[MapLayer], extent: &Extent) -> usize {
    layers
        .iter()
        .flat_map(|l| l.shapes())
        .filter(|s| s.bounds().is_some_and(|b| b.intersects(extent)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PreviewLayer;
    use serde_json::json;

    #[test]
    fn preview_layers_and_the_estimate() {
        let preview = ServicePreview {
            service_url: "http://x/FeatureServer".into(),
            wkid: Some(4326),
            full_extent: None,
            layers: vec![
                PreviewLayer {
                    layer_id: 0,
                    name: "Poles".into(),
                    geometry_type: Some("esriGeometryPoint".into()),
                    geometries: (0..5).map(|i| json!({"x": i, "y": i})).collect(),
                    capped: true,
                    error: None,
                },
                PreviewLayer {
                    layer_id: 1,
                    name: "Broken".into(),
                    geometry_type: None,
                    geometries: vec![],
                    capped: false,
                    error: Some("refused".into()),
                },
            ],
        };
        let layers = preview_layers(&preview);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].label, "Poles (first 5 shown)");
        let e = Extent::from_corners([0.5, 0.5], [2.5, 2.5], Some(4326));
        assert_eq!(features_meeting(&layers, &e), 2);
        let picker = picker_for(&preview, &layers);
        assert_eq!(picker.wkid, Some(4326));
    }
}
