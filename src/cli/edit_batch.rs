//! The file of `syncwatch edit --from-file`: a synchronizeReplica `edits` value (`[{"id": 0,
//! "features": {"adds": [...], "updates": [...], "deleteIds": [...]}}, ...]`, bare or as the
//! `edits` member of an object) or GeoJSON features (adds to `--layer`), read into the edits
//! to record, each with the place in the file it came from, so a bad one is named. Reads; the
//! engine records.

use crate::engine::LocalEdit;
use crate::protocol::{Attributes, Guid};
use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::path::Path;

/// One edit of the batch and where in the file it is (`edits[0] (layer 0) adds[3]`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEntry {
    pub layer_id: i64,
    pub edit: LocalEdit,
    pub place: String,
}

/// Reads the batch file; `layer` is where GeoJSON features go. Any entry that cannot be read
/// fails the whole file, naming the entry.
pub fn read_batch(path: &Path, layer: Option<i64>) -> anyhow::Result<Vec<BatchEntry>> {
    let text = std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
    let value: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let entries = entries_of(&value, layer)?;
    if entries.is_empty() {
        bail!("{} holds no edits", path.display());
    }
    Ok(entries)
}

fn entries_of(value: &Value, layer: Option<i64>) -> anyhow::Result<Vec<BatchEntry>> {
    if let Some(kind) = value.get("type").and_then(Value::as_str) {
        let Some(layer_id) = layer else {
            bail!("GeoJSON {kind}: say which layer its features are added to with --layer");
        };
        let features = crate::protocol::spatial::geojson_in::features(value)
            .map_err(|e| anyhow!("GeoJSON {e}"))?;
        return Ok(features
            .into_iter()
            .enumerate()
            .map(|(i, f)| BatchEntry {
                layer_id,
                edit: LocalEdit::Add {
                    attributes: f.attributes,
                    geometry: f.geometry,
                },
                place: format!("features[{i}]"),
            })
            .collect());
    }
    let layers = match value {
        Value::Array(layers) => layers,
        Value::Object(object) => object
            .get("edits")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("expected a synchronizeReplica \"edits\" array or GeoJSON"))?,
        _ => bail!("expected a synchronizeReplica \"edits\" array or GeoJSON"),
    };
    let mut entries = Vec::new();
    for (i, layer_edits) in layers.iter().enumerate() {
        layer_entries(&format!("edits[{i}]"), layer_edits, &mut entries)?;
    }
    Ok(entries)
}

/// One layer's `{"id": N, "features": {...}}`.
fn layer_entries(at: &str, value: &Value, out: &mut Vec<BatchEntry>) -> anyhow::Result<()> {
    let layer_id = value
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow!("{at}: no layer \"id\""))?;
    let at = format!("{at} (layer {layer_id})");
    if value.get("attachments").is_some_and(|a| !a.is_null()) {
        bail!("{at}: attachments are not batched; attach files with `syncwatch edit --attach`");
    }
    let features = value
        .get("features")
        .ok_or_else(|| anyhow!("{at}: no \"features\""))?;
    let list = |key: &str| -> anyhow::Result<&[Value]> {
        match features.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => bail!("{at}: \"{key}\" is not an array"),
        }
    };
    for (j, item) in list("adds")?.iter().enumerate() {
        let place = format!("{at} adds[{j}]");
        let (attributes, geometry) = feature(item).map_err(|e| anyhow!("{place}: {e}"))?;
        out.push(BatchEntry {
            layer_id,
            edit: LocalEdit::Add {
                attributes,
                geometry,
            },
            place,
        });
    }
    for (j, item) in list("updates")?.iter().enumerate() {
        let place = format!("{at} updates[{j}]");
        let (attributes, geometry) = feature(item).map_err(|e| anyhow!("{place}: {e}"))?;
        let global_id = attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("globalid"))
            .and_then(|(_, v)| v.as_str())
            .ok_or_else(|| anyhow!("{place}: an update names its feature by its GlobalID"))
            .and_then(|text| guid(text).map_err(|e| anyhow!("{place}: {e}")))?;
        out.push(BatchEntry {
            layer_id,
            edit: LocalEdit::Update {
                global_id,
                attributes,
                geometry,
            },
            place,
        });
    }
    // synchronizeReplica says deleteIds; applyEdits says deletes.
    for key in ["deleteIds", "deletes"] {
        for (j, item) in list(key)?.iter().enumerate() {
            let place = format!("{at} {key}[{j}]");
            let global_id = item
                .as_str()
                .ok_or_else(|| anyhow!("{place}: a delete is a GlobalID text"))
                .and_then(|text| guid(text).map_err(|e| anyhow!("{place}: {e}")))?;
            out.push(BatchEntry {
                layer_id,
                edit: LocalEdit::Delete { global_id },
                place,
            });
        }
    }
    Ok(())
}

/// `{"attributes": {...}, "geometry": {...}}`.
fn feature(value: &Value) -> Result<(Attributes, Option<Value>), String> {
    let object = value.as_object().ok_or("not a feature object")?;
    let attributes = match object.get("attributes") {
        Some(Value::Object(attributes)) => attributes.clone(),
        Some(_) => return Err("\"attributes\" is not an object".into()),
        None => return Err("no \"attributes\"".into()),
    };
    let geometry = match object.get("geometry") {
        None | Some(Value::Null) => None,
        Some(Value::Object(g)) => Some(Value::Object(g.clone())),
        Some(_) => return Err("\"geometry\" is not an object".into()),
    };
    Ok((attributes, geometry))
}

fn guid(text: &str) -> Result<Guid, String> {
    Guid::parse(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const G1: &str = "{8D4E7A2B-1C3F-4E5A-9B6D-0F1E2D3C4B5A}";

    #[test]
    fn an_edits_value_reads_in_order_with_places() {
        let value = json!([{"id": 0, "features": {
            "adds": [{"attributes": {"FacilityID": "H-1"}, "geometry": {"x": 1.0, "y": 2.0}}],
            "updates": [{"attributes": {"GlobalID": G1, "Status": "RET"}}],
            "deleteIds": [G1]
        }}]);
        let entries = entries_of(&value, None).unwrap();
        let places: Vec<&str> = entries.iter().map(|e| e.place.as_str()).collect();
        assert_eq!(
            places,
            [
                "edits[0] (layer 0) adds[0]",
                "edits[0] (layer 0) updates[0]",
                "edits[0] (layer 0) deleteIds[0]"
            ]
        );
        assert!(
            matches!(&entries[1].edit, LocalEdit::Update { global_id, .. } if global_id.as_str() == G1)
        );
        assert_eq!(entries_of(&json!({"edits": value}), None).unwrap(), entries);
    }

    #[test]
    fn a_bad_entry_is_named() {
        let bad = |value: Value| format!("{:#}", entries_of(&value, None).unwrap_err());
        let e = bad(json!([{"id": 2, "features": {"adds": [{"attributes": {}}, 5]}}]));
        assert!(
            e.starts_with("edits[0] (layer 2) adds[1]: not a feature object"),
            "{e}"
        );
        let e = bad(json!([{"id": 0, "features": {"updates": [{"attributes": {"Status": "x"}}]}}]));
        assert!(
            e.starts_with("edits[0] (layer 0) updates[0]: an update names its feature"),
            "{e}"
        );
        let e = bad(json!([{"id": 0, "features": {"deleteIds": ["nope"]}}]));
        assert!(e.starts_with("edits[0] (layer 0) deleteIds[0]: "), "{e}");
        let e = bad(json!([{"features": {}}]));
        assert!(e.starts_with("edits[0]: no layer"), "{e}");
        let e = bad(json!({"type": "FeatureCollection", "features": []}));
        assert!(e.contains("--layer"), "{e}");
    }
}
