//! The map views in the window. On the real engine and the reference service: a moved hydrant
//! and a reshaped main, selected in the edit-results grid, show the local geometry in blue and
//! the server's in magenta in the detail pane's map (checked on the rendered pixels, with the
//! service stopped: the map comes from the replica file). On the bare widgets: dragging on the
//! area picker's map draws an extent and fills the typed coordinates, typing moves it, and with
//! drawing off a drag pans; the zoom buttons zoom.

use crate::support::demo_data::{HYD_1, MN_1, gid};
use crate::support::ui::drag;
use crate::support::ui::raster::{near, raster};
use crate::support::ui::stack::{Stack, click, stack, wait_until};
use egui::{Color32, Pos2, Rect, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use serde_json::{Value, json};
use syncwatch::engine::{Command, CreateRequest, LocalEdit, LocalReplicaId};
use syncwatch::protocol::{Attributes, SyncModel};
use syncwatch::ui::Tab;
use syncwatch::ui::feature_map::{FEATURE_MAP_LABEL, LOCAL_COLOUR, SERVER_COLOUR};
use syncwatch::ui::map::area_picker::{FIELD_LABELS, format_coordinate};
use syncwatch::ui::map::{
    AreaPicker, LayerStyle, MapLayer, MapOptions, MapShape, MapView, area_picker_ui, map_ui,
};

const HYD_1_XY: [f64; 2] = [-122.582951, 45.525345];
const MOVED_XY: [f64; 2] = [-122.583551, 45.525745];
/// MN-0001's path (x, y, m), and the same main with its last two vertices moved north.
const MN_1_PATH: [[f64; 3]; 4] = [
    [-122.618871, 45.545151, 0.0],
    [-122.614201, 45.540881, 105.4],
    [-122.618093, 45.543032, 343.0],
    [-122.615246, 45.540509, 618.8],
];
const NORTH: f64 = 0.003;

fn reshaped() -> Vec<[f64; 3]> {
    MN_1_PATH
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i >= 2 {
                [p[0], p[1] + NORTH, p[2]]
            } else {
                *p
            }
        })
        .collect()
}

fn edit(
    s: &mut Stack,
    replica: LocalReplicaId,
    layer: i64,
    global_id: &str,
    values: Value,
    geometry: Value,
) {
    let attributes: Attributes = values.as_object().expect("object").clone();
    s.runtime
        .block_on(s.handle.edit_feature(
            replica,
            layer,
            LocalEdit::Update {
                global_id: gid(global_id),
                attributes,
                geometry: Some(geometry),
            },
        ))
        .expect("record edit");
}

/// Selects the grid's row of `global_id` and waits for its map.
fn show_row(s: &mut Stack, replica: LocalReplicaId, global_id: &str) {
    let row = s.h.state().vm.results[&replica]
        .iter()
        .position(|r| {
            r.global_id
                .as_ref()
                .is_some_and(|g| g.to_string().eq_ignore_ascii_case(global_id))
        })
        .expect("the feature's row") as u32;
    s.h.state_mut().grid.selected = Some(row);
    let wanted = gid(global_id);
    wait_until(&mut s.h, "the feature's map", |a| {
        a.grid
            .feature_panel
            .shown()
            .is_some_and(|m| m.global_id == wanted)
    });
    // the fit happens on the first frame that draws the map
    s.h.run_steps(4);
}

/// The map's rectangle and view, and its rendered pixels.
fn map_pixels(s: &Stack) -> (Rect, MapView, crate::support::ui::raster::Raster) {
    let rect = s.h.get_by_label(FEATURE_MAP_LABEL).rect();
    let view = s.h.state().grid.feature_panel.view.clone();
    let pixels = raster(&s.h, rect);
    if let Some(dir) = std::env::var_os("SYNCWATCH_RASTER_DUMP") {
        let name = format!(
            "map-{}.png",
            s.h.state()
                .grid
                .feature_panel
                .shown()
                .map_or(0, |m| m.layer_id)
        );
        pixels.save_png(&std::path::Path::new(&dir).join(name));
    }
    (rect, view, pixels)
}

/// Pixels near `colour` in a small square around `at`.
fn colour_around(r: &crate::support::ui::raster::Raster, at: Pos2, colour: Color32) -> usize {
    r.count_near(Rect::from_center_size(at, vec2(5.0, 5.0)), colour, 40)
}

fn midpoint(a: [f64; 3], b: [f64; 3]) -> [f64; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

#[test]
fn a_moved_point_and_a_reshaped_line_show_local_and_server_on_the_map_offline() {
    let mut s = stack();
    let service_url = s.server.as_ref().expect("service").service_url();
    s.handle
        .try_send(Command::CreateReplica(CreateRequest {
            service_url,
            token: None,
            name: "Map crew".into(),
            layers: vec![0, 2],
            sync_model: SyncModel::PerReplica,
            is_async: false,
            scope: Default::default(),
        }))
        .expect("queue create");
    wait_until(&mut s.h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = s.h.state().vm.replicas[0].id;
    // Each edit also breaks a rule (a required field emptied), so the grid lists it (predicted).
    edit(
        &mut s,
        replica,
        0,
        HYD_1,
        json!({"Status": null}),
        json!({"x": MOVED_XY[0], "y": MOVED_XY[1]}),
    );
    edit(
        &mut s,
        replica,
        2,
        MN_1,
        json!({"MainID": null}),
        json!({"paths": [reshaped()], "hasM": true}),
    );
    s.handle
        .try_send(Command::RefreshReplicas)
        .expect("queue refresh");
    wait_until(&mut s.h, "two predictions", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.predicted_failures == 2)
    });
    s.h.state_mut().persisted.tab = Tab::Results;
    s.h.run_steps(3);
    if s.h.query_by_label("Load edit results").is_some() {
        click(&mut s.h, "Load edit results");
    }
    wait_until(&mut s.h, "the predicted rows", |a| {
        a.vm.results
            .get(&replica)
            .is_some_and(|rows| rows.iter().filter(|r| r.predicted).count() == 2)
    });
    // Offline from here: the maps are read from the replica file.
    if let Some(server) = s.server.take() {
        s.runtime.block_on(server.shutdown());
    }

    // The moved hydrant: both geometries in the event, both drawn where they are.
    show_row(&mut s, replica, HYD_1);
    let map = s.h.state().vm.feature_map.clone().expect("a feature map");
    assert!(map.geometry_differs);
    assert_eq!(
        map.local.as_ref().map(|g| g.json["x"].clone()),
        Some(json!(MOVED_XY[0]))
    );
    assert_eq!(
        map.server.as_ref().map(|g| g.json["x"].clone()),
        Some(json!(HYD_1_XY[0]))
    );
    s.h.get_by_label("On the map: the local geometry (blue) differs from the server's (magenta).");
    let (rect, view, pixels) = map_pixels(&s);
    let local_at = view.to_screen(rect, MOVED_XY);
    let server_at = view.to_screen(rect, HYD_1_XY);
    assert!(
        rect.contains(local_at) && rect.contains(server_at),
        "both in view"
    );
    assert!(local_at.distance(server_at) > 30.0, "apart on screen");
    assert!(
        near(pixels.at(local_at), LOCAL_COLOUR, 30),
        "local point drawn in blue at {local_at:?}: {:?}",
        pixels.at(local_at)
    );
    assert!(
        near(pixels.at(server_at), SERVER_COLOUR, 30),
        "server point drawn in magenta at {server_at:?}: {:?}",
        pixels.at(server_at)
    );
    let between = local_at + (server_at - local_at) * 0.5;
    assert_eq!(
        colour_around(&pixels, between, LOCAL_COLOUR),
        0,
        "nothing blue between them"
    );

    // The reshaped main: the moved part in blue, the server's old part in magenta.
    show_row(&mut s, replica, MN_1);
    let map = s.h.state().vm.feature_map.clone().expect("a feature map");
    assert!(map.geometry_differs);
    assert_eq!(map.layer_name, "Mains");
    let (rect, view, pixels) = map_pixels(&s);
    let local_path = reshaped();
    let local_mid = view.to_screen(rect, midpoint(local_path[2], local_path[3]));
    let server_mid = view.to_screen(rect, midpoint(MN_1_PATH[2], MN_1_PATH[3]));
    let shared_mid = view.to_screen(rect, midpoint(MN_1_PATH[0], MN_1_PATH[1]));
    assert!(rect.contains(local_mid) && rect.contains(server_mid));
    assert!(
        colour_around(&pixels, local_mid, LOCAL_COLOUR) > 0,
        "the reshaped part drawn in blue at {local_mid:?}"
    );
    assert!(
        colour_around(&pixels, server_mid, SERVER_COLOUR) > 0,
        "the server's part drawn in magenta at {server_mid:?}"
    );
    assert_eq!(colour_around(&pixels, server_mid, LOCAL_COLOUR), 0);
    assert!(
        colour_around(&pixels, shared_mid, LOCAL_COLOUR) > 0,
        "where both agree the local line lies on top"
    );
}

fn picker_harness() -> Harness<'static, AreaPicker> {
    let extent = syncwatch::model::Extent::from_corners([0.0, 0.0], [1000.0, 600.0], Some(3857));
    let points: Vec<MapShape> = (0..10)
        .map(|i| MapShape::Point([100.0 * i as f64, 60.0 * i as f64]))
        .collect();
    let layers = vec![MapLayer::new(
        "Poles",
        LayerStyle::solid(Color32::DARK_GREEN, 2.0, 4.0),
        points,
    )];
    let mut h = Harness::builder()
        .with_size(vec2(700.0, 480.0))
        .build_ui_state(
            move |ui, picker: &mut AreaPicker| {
                area_picker_ui(ui, picker, &layers);
            },
            AreaPicker::new(Some(extent), Some(3857)),
        );
    h.run();
    h
}

fn typed(h: &Harness<'static, AreaPicker>, label: &str) -> String {
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, label)
        .value()
        .unwrap_or_default()
}

#[test]
fn dragging_on_the_area_picker_draws_an_extent_and_fills_the_coordinates() {
    let mut h = picker_harness();
    assert_eq!(h.state().extent(), None);
    let rect = h.get_by_label("Work area map").rect();
    let (from, to) = (
        rect.center() - vec2(80.0, 50.0),
        rect.center() + vec2(60.0, 40.0),
    );
    let before = h.state().revision;
    drag(&mut h, from, to);
    let view = h.state().view.clone();
    let e = h.state().extent().expect("an extent drawn");
    let (a, b) = (view.to_map(rect, from), view.to_map(rect, to));
    assert!(
        (e.xmin - a[0]).abs() < 1.0 / view.scale() * 2.0,
        "xmin {} vs {}",
        e.xmin,
        a[0]
    );
    assert!(
        (e.ymax - a[1]).abs() < 1.0 / view.scale() * 2.0,
        "y up: the top edge is where the drag began"
    );
    assert!(e.xmax > e.xmin && e.ymax > e.ymin && (e.xmax - b[0]).abs() < 20.0 / view.scale());
    assert_eq!(e.wkid, Some(3857));
    assert!(h.state().revision > before);
    // the typed fields follow the drawing
    let values = [e.xmin, e.ymin, e.xmax, e.ymax];
    for (label, v) in FIELD_LABELS.iter().zip(values) {
        assert_eq!(typed(&h, label), format_coordinate(v), "{label}");
    }

    // typing a coordinate moves the rectangle
    let field = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "xmax");
    field.click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "xmax")
        .type_text("900");
    h.run_steps(2);
    assert_eq!(h.state().extent().map(|e| e.xmax), Some(900.0));

    // an inverted extent is refused with a line, and the last good one is kept
    h.state_mut().typed[2] = "-5".into();
    h.run_steps(2);
    h.get_by_label_contains("xmin < xmax");
}

#[test]
fn with_drawing_off_a_drag_pans_and_the_buttons_zoom() {
    let mut h = picker_harness();
    click_label(&mut h, "Draw area by dragging");
    assert!(!h.state().tool.draw_enabled);
    let rect = h.get_by_label("Work area map").rect();
    let centre = h.state().view.center().expect("placed");
    drag(&mut h, rect.center(), rect.center() + vec2(50.0, 0.0));
    let moved = h.state().view.center().expect("placed");
    assert_eq!(h.state().extent(), None, "nothing drawn");
    assert!(
        moved[0] < centre[0],
        "dragging right shows what lies west: {moved:?} vs {centre:?}"
    );
    let scale = h.state().view.scale();
    click_label(&mut h, "+");
    assert!(h.state().view.scale() > scale * 1.2);
    click_label(&mut h, "−");
    assert!((h.state().view.scale() - scale).abs() < scale * 1e-9);
}

fn click_label<S>(h: &mut Harness<'static, S>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

#[test]
fn the_map_widget_fits_its_layers_and_reports_the_pointer() {
    let layers = vec![MapLayer::new(
        "Line",
        LayerStyle::solid(Color32::RED, 3.0, 4.0),
        vec![MapShape::Polyline(vec![vec![[0.0, 0.0], [100.0, 100.0]]])],
    )];
    let mut h = Harness::builder()
        .with_size(vec2(400.0, 300.0))
        .build_ui_state(
            move |ui, view: &mut MapView| {
                let options = MapOptions {
                    label: "Line map".into(),
                    height: 240.0,
                    legend: false,
                    ..MapOptions::default()
                };
                map_ui(ui, view, &layers, None, options);
            },
            MapView::default(),
        );
    h.run();
    let rect = h.get_by_label("Line map").rect();
    let view = h.state().clone();
    assert_eq!(view.center(), Some([50.0, 50.0]), "fitted to the layer");
    let pixels = raster(&h, rect);
    let mid = view.to_screen(rect, [50.0, 50.0]);
    assert!(
        near(pixels.at(mid), Color32::RED, 40),
        "{:?}",
        pixels.at(mid)
    );
    let off = view.to_screen(rect, [80.0, 20.0]);
    assert!(
        !near(pixels.at(off), Color32::RED, 80),
        "off the line: {:?}",
        pixels.at(off)
    );
}

/// On the test channel: selecting a row asks the engine once (not every frame) for that
/// feature's map, and the answer is drawn with its legend.
#[test]
fn selecting_a_row_asks_once_for_its_map_and_draws_the_answer() {
    use crate::support::ui::rig;
    use syncwatch::engine::{Event, FeatureMap, MapGeometry};
    use syncwatch::ui::fixtures;
    let mut r = rig();
    r.open_failing_results();
    r.take_commands();
    r.click("1204");
    r.harness.run_steps(5);
    let row = fixtures::failing_results()[0].clone();
    let global_id = row.global_id.clone().expect("a GlobalID");
    let loads: Vec<Command> = r
        .take_commands()
        .into_iter()
        .filter(|c| matches!(c, Command::LoadFeatureMap { .. }))
        .collect();
    assert_eq!(
        loads,
        vec![Command::LoadFeatureMap {
            replica: fixtures::FAILING,
            layer_id: row.layer_id,
            global_id: global_id.clone(),
        }],
        "one request for the selected row"
    );
    r.harness.get_by_label("Loading the feature's map…");
    let square = |x: f64| json!({"rings": [[[x, 0.0], [x, 10.0], [x + 10.0, 10.0], [x + 10.0, 0.0], [x, 0.0]]]});
    let geometry = |json: Value| MapGeometry {
        geometry_type: Some("esriGeometryPolygon".into()),
        json,
    };
    r.push([Event::FeatureMap(Box::new(FeatureMap {
        replica: fixtures::FAILING,
        layer_id: row.layer_id,
        global_id,
        layer_name: "Parcels".into(),
        wkid: Some(3857),
        local: Some(geometry(square(5.0))),
        server: Some(geometry(square(0.0))),
        geometry_differs: true,
        neighbours: vec![],
        neighbours_capped: false,
        work_area: None,
    }))]);
    r.harness.run_steps(3);
    r.harness.get_by_label(FEATURE_MAP_LABEL);
    r.harness.get_by_label("Local (your edit)");
    r.harness.get_by_label("Server");
    let rect = r.harness.get_by_label(FEATURE_MAP_LABEL).rect();
    let view = r.harness.state().grid.feature_panel.view.clone();
    let pixels = raster(&r.harness, rect);
    // inside the server's square only (x 0..5): its fill over the background, not blue
    let server_only = view.to_screen(rect, [2.0, 5.0]);
    let local_only = view.to_screen(rect, [13.0, 5.0]);
    let (s_px, l_px) = (pixels.at(server_only), pixels.at(local_only));
    assert!(
        s_px.r() > s_px.b() && s_px.r() > s_px.g(),
        "magenta-ish fill: {s_px:?}"
    );
    assert!(
        l_px.b() > l_px.r() && l_px.b() > l_px.g(),
        "blue-ish fill: {l_px:?}"
    );
    assert!(
        r.take_commands()
            .iter()
            .all(|c| !matches!(c, Command::LoadFeatureMap { .. })),
        "no second request"
    );
}
