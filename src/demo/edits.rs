//! The demo replicas' local edits: features of the demo water network they refer to, and the
//! failed-edits replica's list of edits the reference service refuses for different reasons.
//! Plain values only; it must not send anything.

use crate::engine::LocalEdit;
use crate::protocol::Attributes;
use crate::server::ServiceDefinition;

/// Existing features of the demo service that the demo edits refer to.
#[derive(Debug, Clone, Default)]
pub(super) struct DemoFeatures {
    pub(super) hydrant: Option<crate::protocol::Feature>,
    pub(super) second_hydrant: Option<crate::protocol::Feature>,
    pub(super) valve: Option<crate::protocol::Feature>,
    /// An inspection owned by another technician (ownership-based access control).
    pub(super) foreign_inspection: Option<crate::protocol::Feature>,
}

pub(super) fn demo_features() -> DemoFeatures {
    let Ok(def) = ServiceDefinition::demo() else {
        return DemoFeatures::default();
    };
    let seed = |id: i64| {
        def.all_layers()
            .find(|l| l.id == id)
            .map(|l| l.seed.clone())
            .unwrap_or_default()
    };
    let hydrants = seed(0);
    DemoFeatures {
        hydrant: hydrants.first().cloned(),
        second_hydrant: hydrants.get(1).cloned(),
        valve: seed(1).first().cloned(),
        foreign_inspection: seed(3)
            .into_iter()
            .find(|f| f.attributes.get("Inspector").and_then(|v| v.as_str()) == Some("tech2")),
    }
}

pub(super) fn add(attributes: serde_json::Value, geometry: serde_json::Value) -> LocalEdit {
    LocalEdit::Add {
        attributes: as_attributes(attributes),
        geometry: Some(geometry),
    }
}

/// An update of `feature`'s attributes (no geometry change). A feature without a GlobalID
/// (never in the demo data) gives an update of a fresh id, which the local file refuses.
pub(super) fn update(
    feature: &crate::protocol::Feature,
    attributes: serde_json::Value,
) -> LocalEdit {
    LocalEdit::Update {
        global_id: feature
            .global_id()
            .unwrap_or_else(crate::protocol::Guid::new_v4),
        attributes: as_attributes(attributes),
        geometry: None,
    }
}

fn as_attributes(value: serde_json::Value) -> Attributes {
    match value {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => Attributes::new(),
    }
}

/// The failed-edits replica's local edits: two good ones and one per refusal reason the
/// reference service checks (1001, 1016, 1022, 1023, 1006, 1014, 1004, 1002, 1007).
pub(super) fn failing_edits(demo: &DemoFeatures) -> Vec<(i64, LocalEdit)> {
    use serde_json::json;
    let point = |i: f64| json!({"x": -122.66 + 0.004 * i, "y": 45.52});
    let mut edits = vec![
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-100", "Status": "IS", "Flow_GPM": 1200.0}),
                point(0.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": null, "Status": "IS", "Flow_GPM": 900.0}),
                point(1.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-102", "Status": "IS", "Flow_GPM": 9999.0}),
                point(2.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-103", "Status": "BROKEN"}),
                point(3.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-0001", "Status": "IS"}),
                point(4.0),
            ),
        ),
        (
            0,
            add(
                json!({"FacilityID": "HYD-B-105", "Status": "IS", "Notes": "<script>alert(1)</script>"}),
                point(5.0),
            ),
        ),
        (
            1,
            add(
                json!({"ValveID": "VLV-B-200", "Diameter_mm": 150, "Depth": 1.1}),
                point(6.0),
            ),
        ),
        (
            2,
            add(
                json!({"MainID": "MN-B-300", "Material": "PVC"}),
                json!({"paths": [[[-122.65, 45.53], [-122.64, 45.535]]]}),
            ),
        ),
    ];
    if let Some(hydrant) = &demo.hydrant {
        edits.push((0, update(hydrant, json!({"AssetTag": "WTR-CHANGED"}))));
    }
    if let Some(hydrant) = &demo.second_hydrant {
        edits.push((0, update(hydrant, json!({"Notes": "Repainted by crew B"}))));
    }
    if let Some(valve) = &demo.valve
        && let Some(global_id) = valve.global_id()
    {
        edits.push((
            1,
            LocalEdit::Update {
                global_id,
                attributes: Attributes::new(),
                geometry: Some(json!({"x": -122.6952, "y": 45.5421, "z": 51.3})),
            },
        ));
    }
    if let Some(inspection) = &demo.foreign_inspection {
        edits.push((
            3,
            update(inspection, json!({"Comments": "Re-inspected by crew B"})),
        ));
    }
    edits
}
