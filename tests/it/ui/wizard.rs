//! The New replica wizard in the window on the real engine and the GridTown test service: the
//! service page lists the layers by name with their counts, layers are ticked by name, an extent
//! is typed and the features inside it are counted (as the service counts them), the name is
//! suggested from the service and the area, the replica is created for that area, and its
//! overview shows the area.

use crate::support::spatial::gridtown;
use crate::support::ui::drag;
use crate::support::ui::stack::{click, stack_serving, type_into, wait_until};
use crate::support::ui::wizard::{next_page, on_step, read_service, tick_layer};
use egui_kittest::kittest::Queryable as _;
use syncwatch::model::WorkArea;
use syncwatch::ui::dialogs::wizard::WizardStep;

/// The service's own count of a layer's features inside the extent.
fn service_count(runtime: &tokio::runtime::Runtime, url: &str, layer: i64, extent: &str) -> i64 {
    let url = format!("{url}/{layer}/query");
    let form = [
        ("f", "json"),
        ("geometry", extent),
        ("geometryType", "esriGeometryEnvelope"),
        ("inSR", "4326"),
        ("returnCountOnly", "true"),
    ];
    runtime.block_on(async {
        let reply: serde_json::Value = reqwest::Client::new()
            .post(url)
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["count"].as_i64().expect("count")
    })
}

/// The whole wizard: layers by name, a typed extent with its count, create, the overview.
#[test]
fn wizard_creates_a_replica_for_a_typed_extent() {
    let mut s = stack_serving(gridtown(4326));
    let url = s.server.as_ref().expect("server").service_url();
    let h = &mut s.h;
    click(h, "New replica…");
    read_service(h);
    h.get_by_label("GridTown");
    h.get_by_label("Spatial reference: wkid 4326");
    tick_layer(h, "Poles");
    tick_layer(h, "Cables");
    next_page(h);
    assert!(on_step(h.state(), WizardStep::Area));
    h.get_by_label("Poles: 90");
    click(h, "An extent");
    for (field, value) in [
        ("xmin", "-122.665"),
        ("ymin", "45.50"),
        ("xmax", "-122.615"),
        ("ymax", "45.535"),
        ("wkid", "4326"),
    ] {
        type_into(h, field, value);
    }
    let extent = "-122.665,45.50,-122.615,45.535";
    let poles = service_count(&s.runtime, &url, 0, extent);
    let cables = service_count(&s.runtime, &url, 1, extent);
    assert!(
        poles > 0 && poles < 90,
        "the area splits the poles: {poles}"
    );
    let h = &mut s.h;
    wait_until(h, "the area's counts", |a| {
        a.wizard.as_ref().is_some_and(|w| {
            w.area_counts()
                == vec![
                    ("Poles".to_string(), Some(poles)),
                    ("Cables".to_string(), Some(cables)),
                ]
        })
    });
    h.get_by_label(&format!("Poles: {poles}"));
    h.get_by_label(&format!("Cables: {cables}"));
    next_page(h);
    assert!(on_step(h.state(), WizardStep::Name));
    let name = h.state().wizard.as_ref().map(|w| w.name.clone());
    assert_eq!(name.as_deref(), Some("GridTown-area"));
    click(h, "Create replica");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
            && a.vm.replicas[0].work_area.is_some()
    });
    let replica = h.state().vm.replicas[0].clone();
    assert_eq!(replica.name, "GridTown-area");
    assert!(matches!(
        replica.work_area.as_deref(),
        Some(WorkArea::Extent(_))
    ));
    assert_eq!(h.state().selected(), Some(replica.id));
    h.get_by_label("extent -122.665,45.5,-122.615,45.535 (wkid 4326)");
}

/// The work-area page's map preview: the extent drawn by dragging on it is the wizard's, it is
/// counted, and the replica is created for it.
#[test]
fn wizard_creates_a_replica_for_a_drawn_extent() {
    let mut s = stack_serving(gridtown(4326));
    let h = &mut s.h;
    click(h, "New replica…");
    read_service(h);
    tick_layer(h, "Poles");
    next_page(h);
    assert!(on_step(h.state(), WizardStep::Area));
    click(h, "An extent");
    wait_until(h, "the map preview", |a| {
        a.vm.service_preview.is_some() && a.wizard_map.picker.is_some()
    });
    h.run_steps(crate::support::ui::wizard::SETTLE_FRAMES);
    let full = h
        .state()
        .wizard
        .as_ref()
        .and_then(|w| w.facts.as_ref())
        .and_then(|f| f.full_extent)
        .expect("full extent");
    let rect = h.get_by_label("Work area map").rect();
    let (from, to) = (
        rect.center() - egui::vec2(60.0, 40.0),
        rect.center() + egui::vec2(50.0, 30.0),
    );
    drag(h, from, to);
    let area = h.state().wizard.as_ref().and_then(|w| w.area().ok());
    let Some(WorkArea::Extent(e)) = area.clone() else {
        panic!("a drawn extent: {area:?}")
    };
    assert!(e.is_valid());
    assert!(
        e.xmin >= full.xmin && e.xmax <= full.xmax && e.ymin >= full.ymin && e.ymax <= full.ymax,
        "{e:?} inside {full:?}"
    );
    wait_until(h, "the drawn area's count", |a| {
        a.wizard
            .as_ref()
            .is_some_and(|w| matches!(w.area_counts().as_slice(), [(_, Some(n))] if *n < 90))
    });
    next_page(h);
    assert!(on_step(h.state(), WizardStep::Name));
    click(h, "Create replica");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].work_area.is_some()
    });
    let replica = h.state().vm.replicas[0].clone();
    match replica.work_area.as_deref() {
        Some(WorkArea::Extent(got)) => {
            for (a, b) in [
                (got.xmin, e.xmin),
                (got.ymin, e.ymin),
                (got.xmax, e.xmax),
                (got.ymax, e.ymax),
            ] {
                assert!((a - b).abs() < 1e-6, "{got:?} vs {e:?}");
            }
        }
        other => panic!("an extent work area: {other:?}"),
    }
}
