//! A layer of the map: its shapes with one style (stroke and fill colours, line width, point
//! radius) and the label the legend shows. Plain data built once from an engine event; the bounds
//! are computed when the layer is made, not per frame.

use super::shapes::MapShape;
use crate::model::Extent;
use egui::Color32;

/// How a layer's shapes are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerStyle {
    pub stroke: Color32,
    /// Polygon fill; None draws outlines only.
    pub fill: Option<Color32>,
    pub line_width: f32,
    pub point_radius: f32,
}

impl LayerStyle {
    /// A style in one colour: lines and outlines in it, polygons filled with it at low alpha.
    pub fn solid(colour: Color32, line_width: f32, point_radius: f32) -> LayerStyle {
        LayerStyle {
            stroke: colour,
            fill: Some(colour.gamma_multiply(0.25)),
            line_width,
            point_radius,
        }
    }

    /// Outlines only (a work area, a drawn extent).
    pub fn outline(colour: Color32, line_width: f32) -> LayerStyle {
        LayerStyle {
            stroke: colour,
            fill: None,
            line_width,
            point_radius: line_width * 2.0,
        }
    }
}

/// Shapes drawn with one style, named in the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLayer {
    pub label: String,
    pub style: LayerStyle,
    shapes: Vec<MapShape>,
    bounds: Option<Extent>,
    vertex_count: usize,
}

impl MapLayer {
    pub fn new(label: impl Into<String>, style: LayerStyle, shapes: Vec<MapShape>) -> MapLayer {
        let bounds = shapes
            .iter()
            .filter_map(MapShape::bounds)
            .reduce(|a, b| a.union(&b));
        let vertex_count = shapes.iter().map(MapShape::vertex_count).sum();
        MapLayer {
            label: label.into(),
            style,
            shapes,
            bounds,
            vertex_count,
        }
    }

    pub fn shapes(&self) -> &[MapShape] {
        &self.shapes
    }

    /// The bounds of every shape; None for an empty layer.
    pub fn bounds(&self) -> Option<Extent> {
        self.bounds
    }

    pub fn vertex_count(&self) -> usize {
        self.vertex_count
    }

    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }
}

/// The bounds of all the layers together.
pub fn layers_bounds(layers: &[MapLayer]) -> Option<Extent> {
    layers
        .iter()
        .filter_map(MapLayer::bounds)
        .reduce(|a, b| a.union(&b))
}
