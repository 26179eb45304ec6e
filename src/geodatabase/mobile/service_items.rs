//! `GDB_ServiceItems`: the service's root resource (`ItemType` 0) and each layer's or table's
//! resource (`ItemType` 1, `ItemId` the layer id), stored as the JSON the service returned.
//! Parsed into the same protocol types a live service's replies give (`FeatureServiceInfo`,
//! `LayerInfo`), so the rules that predict refusals read them alike.
//!
//! What it must not do: write to the file, or fail the whole read for one unparsable item (a
//! bad item is left out and logged). A key given twice is read as JavaScript reads it (the last).

use crate::protocol::{FeatureServiceInfo, LayerInfo};
use rusqlite::Connection;

/// The service and layer definitions an offline map carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceItems {
    pub service: Option<FeatureServiceInfo>,
    /// (layer id, definition), in `OBJECTID` order.
    pub layers: Vec<(i64, LayerInfo)>,
}

impl ServiceItems {
    pub fn layer(&self, layer_id: i64) -> Option<&LayerInfo> {
        self.layers
            .iter()
            .find(|(id, _)| *id == layer_id)
            .map(|(_, l)| l)
    }
}

/// Parses the JSON through a `Value` first: some services' JSON repeats a key (one real file's
/// layer says `allowGeometryUpdates` twice); as in JavaScript, the last one wins.
pub fn lenient_json<T: serde::de::DeserializeOwned>(json: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::from_str::<serde_json::Value>(json)?)
}

/// Reads `GDB_ServiceItems` (empty when the table is missing).
pub fn read(conn: &Connection) -> rusqlite::Result<ServiceItems> {
    if !super::has_table(conn, "GDB_ServiceItems")? {
        return Ok(ServiceItems::default());
    }
    let mut stmt =
        conn.prepare("SELECT ItemType, ItemId, ItemInfo FROM GDB_ServiceItems ORDER BY OBJECTID")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<i64>>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut items = ServiceItems::default();
    for row in rows {
        let (kind, item_id, json) = row?;
        let Some(json) = json else { continue };
        match kind {
            Some(0) => match lenient_json::<FeatureServiceInfo>(&json) {
                Ok(service) => items.service = Some(service),
                Err(e) => {
                    tracing::warn!(error = %e, "the offline map's service item does not parse")
                }
            },
            Some(1) => match lenient_json::<LayerInfo>(&json) {
                Ok(layer) => {
                    let id = layer.id.or(item_id).unwrap_or(-1);
                    items.layers.push((id, layer));
                }
                Err(e) => {
                    tracing::warn!(layer = ?item_id, error = %e, "an offline map's layer item does not parse")
                }
            },
            _ => {}
        }
    }
    Ok(items)
}
