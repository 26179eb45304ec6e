//! The area picker of the create-replica wizard: a map of the service's data with the rectangle
//! tool, and the extent as four typed coordinates, kept in sync both ways (drawing fills the
//! fields, valid typed values move the rectangle). It owns only that state; the wizard decides
//! what to do with the extent.

use super::layer::MapLayer;
use super::rect_tool::RectangleTool;
use super::view::MapView;
use super::widget::{MapOptions, map_ui};
use crate::model::Extent;

/// The accessible names of the four coordinate fields, in order.
pub const FIELD_LABELS: [&str; 4] = ["xmin", "ymin", "xmax", "ymax"];

/// The picker's state: the map camera, the rectangle tool and the typed text.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaPicker {
    pub view: MapView,
    pub tool: RectangleTool,
    /// The text of xmin, ymin, xmax, ymax as typed (or as drawn).
    pub typed: [String; 4],
    /// The spatial reference of the map and the extent.
    pub wkid: Option<i64>,
    /// Counts every change of the extent (drawn or typed), so a caller can tell when to recount.
    pub revision: u64,
    /// The accessible name of the map.
    pub map_label: String,
    pub map_height: f32,
    /// Whether the picker draws its own typed fields (off when the caller has its own).
    pub show_fields: bool,
}

impl AreaPicker {
    /// A picker over `full_extent` (what the map first shows), in spatial reference `wkid`.
    pub fn new(full_extent: Option<Extent>, wkid: Option<i64>) -> AreaPicker {
        let mut view = MapView::default();
        if let Some(e) = full_extent {
            view.request_fit(e);
        }
        AreaPicker {
            view,
            tool: RectangleTool::new(wkid),
            typed: Default::default(),
            wkid,
            revision: 0,
            map_label: "Work area map".to_owned(),
            map_height: 300.0,
            show_fields: true,
        }
    }

    /// The chosen extent, if one is drawn or validly typed.
    pub fn extent(&self) -> Option<Extent> {
        self.tool.extent()
    }

    /// Sets the extent from outside (e.g. a suggestion) and fills the fields.
    pub fn set_extent(&mut self, extent: Option<Extent>) {
        self.tool.set_extent(extent);
        self.fill_fields();
        self.revision += 1;
    }

    fn fill_fields(&mut self) {
        match self.tool.extent() {
            Some(e) => {
                for (text, v) in self.typed.iter_mut().zip([e.xmin, e.ymin, e.xmax, e.ymax]) {
                    *text = format_coordinate(v);
                }
            }
            None => self.typed = Default::default(),
        }
    }

    /// The extent the four fields spell, if they are numbers making a valid rectangle.
    pub fn typed_extent(&self) -> Option<Extent> {
        let mut v = [0.0; 4];
        for (slot, text) in v.iter_mut().zip(&self.typed) {
            *slot = text.trim().parse::<f64>().ok()?;
        }
        let e = Extent {
            xmin: v[0],
            ymin: v[1],
            xmax: v[2],
            ymax: v[3],
            wkid: self.wkid,
        };
        e.is_valid().then_some(e)
    }
}

/// A coordinate as the fields show it: at most three decimals, no trailing zeros.
pub fn format_coordinate(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Draws the picker; returns the current extent (None while there is none or the typed values
/// do not make one).
pub fn area_picker_ui(
    ui: &mut egui::Ui,
    picker: &mut AreaPicker,
    layers: &[MapLayer],
) -> Option<Extent> {
    ui.horizontal(|ui| {
        ui.checkbox(&mut picker.tool.draw_enabled, "Draw area by dragging")
            .on_hover_text("Off: dragging pans the map; the rectangle's corners still move");
        if picker.tool.extent().is_some() && ui.button("Clear area").clicked() {
            picker.set_extent(None);
        }
    });
    let options = MapOptions {
        label: picker.map_label.clone(),
        height: picker.map_height,
        wkid: picker.wkid,
        ..MapOptions::default()
    };
    let map = map_ui(
        ui,
        &mut picker.view,
        layers,
        Some(&mut picker.tool),
        options,
    );
    if map.extent_changed {
        picker.fill_fields();
        picker.revision += 1;
    }
    if !picker.show_fields {
        return picker.extent();
    }
    let mut typed_changed = false;
    ui.horizontal(|ui| {
        for (label, text) in FIELD_LABELS.iter().zip(picker.typed.iter_mut()) {
            let name = ui.label(*label);
            let edit = ui.add(egui::TextEdit::singleline(text).desired_width(90.0));
            typed_changed |= edit.labelled_by(name.id).changed();
        }
    });
    if typed_changed && let Some(e) = picker.typed_extent() {
        picker.tool.set_extent(Some(e));
        picker.revision += 1;
    }
    let typed_valid =
        picker.typed.iter().all(|t| t.trim().is_empty()) || picker.typed_extent().is_some();
    if !typed_valid {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "The extent needs four numbers with xmin < xmax and ymin < ymax.",
        );
        return None;
    }
    picker.extent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_print_short() {
        assert_eq!(format_coordinate(12.5), "12.5");
        assert_eq!(format_coordinate(-1_000_000.0), "-1000000");
        assert_eq!(format_coordinate(-0.0001), "0");
        assert_eq!(format_coordinate(0.1234567), "0.123");
    }

    #[test]
    fn typed_fields_make_an_extent_only_when_valid() {
        let mut p = AreaPicker::new(None, Some(3857));
        p.typed = ["1".into(), "2".into(), "3".into(), "4".into()];
        let e = p.typed_extent().unwrap();
        assert_eq!((e.xmin, e.ymax, e.wkid), (1.0, 4.0, Some(3857)));
        p.typed[2] = "0".into();
        assert_eq!(p.typed_extent(), None);
        p.typed[2] = "x".into();
        assert_eq!(p.typed_extent(), None);
        p.set_extent(Some(Extent::from_corners([0.0, 0.0], [10.0, 20.0], None)));
        assert_eq!(p.typed, ["0", "0", "10", "20"].map(String::from));
    }
}
