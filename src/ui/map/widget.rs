//! The map widget: `map_ui` draws layers into a rectangle of the panel and handles the pointer:
//! drag pans (or draws with the rectangle tool), scroll and pinch zoom about the pointer, the
//! +/−/Fit buttons zoom and fit; a scale bar is overlaid and a legend follows below. It draws what it is
//! given; it loads nothing and sends nothing.

use super::layer::{MapLayer, layers_bounds};
use super::paint::{MAX_DRAWN_VERTICES, PaintStats, paint_layers};
use super::rect_tool::RectangleTool;
use super::view::MapView;
use crate::model::Extent;
use egui::{
    Align2, Color32, FontId, PointerButton, Pos2, Rect, Response, Role, Sense, Stroke, StrokeKind,
    WidgetInfo, pos2, vec2,
};

/// The zoom step of the + and − buttons.
const BUTTON_ZOOM: f64 = 1.5;

/// How a map is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct MapOptions {
    /// The accessible name of the map area (tests find it by it).
    pub label: String,
    /// The widget's height; it takes the available width.
    pub height: f32,
    /// The spatial reference of the data: 4326 shows the scale in degrees, others in metres.
    pub wkid: Option<i64>,
    pub legend: bool,
    /// The points kept free around fitted bounds.
    pub fit_margin: f32,
    pub max_vertices: usize,
    /// The map's background; None: the theme's (light paper, or dark slate in dark mode).
    pub background: Option<Color32>,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            label: "Map".to_owned(),
            height: 260.0,
            wkid: None,
            legend: true,
            fit_margin: 24.0,
            max_vertices: MAX_DRAWN_VERTICES,
            background: None,
        }
    }
}

/// What happened to the map this frame.
#[derive(Debug)]
pub struct MapResponse {
    pub response: Response,
    /// Where the map is on screen.
    pub rect: Rect,
    /// The map point under the pointer.
    pub hovered: Option<[f64; 2]>,
    /// True when the rectangle tool's extent changed this frame.
    pub extent_changed: bool,
    pub stats: PaintStats,
}

/// Draws `layers` (first at the bottom) in a `view`, with an optional rectangle tool.
pub fn map_ui(
    ui: &mut egui::Ui,
    view: &mut MapView,
    layers: &[MapLayer],
    mut tool: Option<&mut RectangleTool>,
    options: MapOptions,
) -> MapResponse {
    let size = vec2(ui.available_width().max(120.0), options.height.max(80.0));
    let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let label = options.label.clone();
    response.widget_info(|| WidgetInfo::labeled(Role::Canvas, true, &label));

    if let Some(bounds) = view.take_pending_fit() {
        view.fit(&bounds, rect.size(), options.fit_margin);
    } else if !view.is_placed()
        && let Some(bounds) = layers_bounds(layers).or_else(|| tool.as_ref()?.extent())
    {
        view.fit(&bounds, rect.size(), options.fit_margin);
    }

    let mut extent_changed = false;
    // pointer: the tool takes a drag that starts where it wants it, the map pans otherwise
    if response.drag_started_by(PointerButton::Primary)
        && let Some(tool) = tool.as_deref_mut()
    {
        let origin = ui
            .input(|i| i.pointer.press_origin())
            .unwrap_or(rect.center());
        tool.press(view, rect, origin);
    }
    let tool_dragging = tool.as_ref().is_some_and(|t| t.is_dragging());
    if response.dragged() {
        if tool_dragging {
            if let (Some(tool), Some(pos)) = (tool.as_deref_mut(), response.interact_pointer_pos())
            {
                extent_changed |= tool.drag_to(view, rect, pos);
            }
        } else {
            view.pan_by(response.drag_delta());
        }
    }
    if response.drag_stopped()
        && let Some(tool) = tool.as_deref_mut()
    {
        tool.release();
    }
    if response.hovered()
        && let Some(anchor) = response.hover_pos()
    {
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = f64::from(pinch) * (f64::from(scroll) / 200.0).exp();
        if (factor - 1.0).abs() > 1e-6 {
            view.zoom_about(rect, anchor, factor);
        }
    }

    let painter = ui.painter_at(rect);
    let background = options.background.unwrap_or(if ui.visuals().dark_mode {
        Color32::from_rgb(0x26, 0x2B, 0x31)
    } else {
        Color32::from_rgb(0xF4, 0xF1, 0xEA)
    });
    painter.rect_filled(rect, 2.0, background);
    let stats = paint_layers(&painter, view, rect, layers, options.max_vertices);
    if let Some(tool) = tool.as_deref() {
        tool.paint(&painter, view, rect);
    }
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, Color32::from_gray(160)),
        StrokeKind::Inside,
    );
    scale_bar(
        &painter,
        rect,
        view,
        options.wkid,
        ui.visuals().strong_text_color(),
    );
    if stats.shapes_capped > 0 {
        painter.text(
            rect.center_top() + vec2(0.0, 6.0),
            Align2::CENTER_TOP,
            format!(
                "{} shapes not drawn (too many vertices)",
                stats.shapes_capped
            ),
            FontId::proportional(11.0),
            Color32::from_rgb(0x90, 0x30, 0x00),
        );
    }
    zoom_buttons(ui, rect, view, layers, tool.as_deref(), &options);
    if options.legend {
        legend_ui(ui, layers);
    }

    let hovered = response.hover_pos().map(|p| view.to_map(rect, p));
    MapResponse {
        response,
        rect,
        hovered,
        extent_changed,
        stats,
    }
}

fn zoom_buttons(
    ui: &mut egui::Ui,
    rect: Rect,
    view: &mut MapView,
    layers: &[MapLayer],
    tool: Option<&RectangleTool>,
    options: &MapOptions,
) {
    // a child over the map: the buttons must not move the parent's cursor (the map's rect is
    // allocated already)
    let ui = &mut ui.new_child(egui::UiBuilder::new().max_rect(rect));
    let side = 22.0;
    let mut at = pos2(rect.right() - side - 6.0, rect.top() + 6.0);
    let mut button = |ui: &mut egui::Ui, text: &str, hover: &str| {
        let r = Rect::from_min_size(at, vec2(side, side));
        at.y += side + 4.0;
        ui.put(r, egui::Button::new(text))
            .on_hover_text(hover)
            .clicked()
    };
    if button(ui, "+", "Zoom in") {
        view.zoom_about(rect, rect.center(), BUTTON_ZOOM);
    }
    if button(ui, "−", "Zoom out") {
        view.zoom_about(rect, rect.center(), 1.0 / BUTTON_ZOOM);
    }
    if button(ui, "⛶", "Fit to the data") {
        let bounds: Option<Extent> = match (layers_bounds(layers), tool.and_then(|t| t.extent())) {
            (Some(a), Some(b)) => Some(a.union(&b)),
            (a, b) => a.or(b),
        };
        if let Some(b) = bounds {
            view.fit(&b, rect.size(), options.fit_margin);
        }
    }
}

/// The legend below the map: a swatch and the label of every labelled layer (below, not over
/// the map, so it never hides a feature).
fn legend_ui(ui: &mut egui::Ui, layers: &[MapLayer]) {
    ui.horizontal_wrapped(|ui| {
        for layer in layers.iter().filter(|l| !l.label.is_empty()) {
            let (swatch, _) = ui.allocate_exact_size(vec2(14.0, 10.0), Sense::hover());
            ui.painter().rect(
                swatch,
                1.0,
                layer.style.fill.unwrap_or(Color32::TRANSPARENT),
                Stroke::new(2.0, layer.style.stroke),
                StrokeKind::Inside,
            );
            ui.label(egui::RichText::new(&layer.label).small());
            ui.add_space(6.0);
        }
    });
}

/// A round length (1, 2 or 5 × 10ⁿ map units) near `target` units.
pub fn nice_length(target: f64) -> f64 {
    if !(target.is_finite() && target > 0.0) {
        return 0.0;
    }
    // 10ⁿ as an exact integer power, divided for negative n, so 0.2 prints as 0.2
    let exponent = target.log10().floor() as i32;
    let ten = 10f64.powi(exponent.abs());
    let power = if exponent < 0 { 1.0 / ten } else { ten };
    let step = target / power;
    let nice = if step < 1.5 {
        1.0
    } else if step < 3.5 {
        2.0
    } else if step < 7.5 {
        5.0
    } else {
        10.0
    };
    if exponent < 0 { nice / ten } else { nice * ten }
}

/// The text of a scale bar `length` map units long.
pub fn scale_text(length: f64, wkid: Option<i64>) -> String {
    if wkid == Some(4326) {
        return format!("{length}°");
    }
    if length >= 1000.0 {
        format!("{} km", length / 1000.0)
    } else {
        format!("{length} m")
    }
}

fn scale_bar(painter: &egui::Painter, rect: Rect, view: &MapView, wkid: Option<i64>, ink: Color32) {
    let length = nice_length(80.0 / view.scale());
    if length <= 0.0 {
        return;
    }
    let px = (length * view.scale()) as f32;
    let right = rect.right() - 10.0;
    let y = rect.bottom() - 10.0;
    let left = Pos2::new(right - px, y);
    let stroke = Stroke::new(2.0, ink);
    painter.line_segment([left, pos2(right, y)], stroke);
    painter.line_segment([left, left - vec2(0.0, 5.0)], stroke);
    painter.line_segment([pos2(right, y), pos2(right, y - 5.0)], stroke);
    painter.text(
        pos2((left.x + right) / 2.0, y - 4.0),
        Align2::CENTER_BOTTOM,
        scale_text(length, wkid),
        FontId::proportional(11.0),
        ink,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_lengths_are_round() {
        assert_eq!(nice_length(83.0), 100.0);
        assert_eq!(nice_length(0.27), 0.2);
        assert_eq!(nice_length(4.0), 5.0);
        assert_eq!(scale_text(2000.0, Some(3857)), "2 km");
        assert_eq!(scale_text(50.0, None), "50 m");
        assert_eq!(scale_text(0.5, Some(4326)), "0.5°");
    }
}
