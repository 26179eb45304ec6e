//! The map: a pan-and-zoom view of geometries in map coordinates, drawn with egui's painter from
//! data the engine sent (no I/O here), used by the edit-results detail pane (the selected
//! feature, [`crate::ui::feature_map`]) and the create-replica wizard (the area picker).
//!
//! * [`view`]        [`MapView`]: centre, scale, the map↔screen transform (y up), pan, zoom, fit.
//! * [`shapes`]      [`MapShape`]: points, multipoints, polylines, polygons with holes, from
//!   `protocol::spatial` shapes or geometry JSON.
//! * [`layer`]       [`MapLayer`]: shapes with a [`LayerStyle`] and a legend label.
//! * [`paint`]       painting: ear-cut fills, culling to the visible extent, a vertex cap.
//! * [`rect_tool`]   [`RectangleTool`]: drag to draw an extent, handles to adjust it.
//! * [`widget`]      [`map_ui`]: the widget (pointer handling, +/− and fit, legend, scale bar).
//! * [`area_picker`] [`area_picker_ui`]: map + rectangle tool + typed extent, kept in sync.
//! * [`preview`]     a service preview (`Event::ServicePreview`) as layers, and a picker over it.

pub mod area_picker;
pub mod layer;
pub mod paint;
pub mod preview;
pub mod rect_tool;
pub mod shapes;
pub mod view;
pub mod widget;

pub use area_picker::{AreaPicker, area_picker_ui};
pub use layer::{LayerStyle, MapLayer, layers_bounds};
pub use paint::{MAX_DRAWN_VERTICES, PaintStats};
pub use preview::{features_meeting, picker_for, preview_layers};
pub use rect_tool::RectangleTool;
pub use shapes::{MapShape, PolygonPart};
pub use view::MapView;
pub use widget::{MapOptions, MapResponse, map_ui};
