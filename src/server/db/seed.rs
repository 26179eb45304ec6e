//! Seeding a new service database: the definition's seed features, stored at generation 1.

use super::ServiceDbError;
use crate::protocol::{Attributes, Guid};
use crate::server::definition::{GLOBAL_ID_FIELD, OBJECT_ID_FIELD, ServiceDefinition};
use rusqlite::{Connection, params};
use serde_json::Value;

/// Loads the definition's seed features at generation 1 (anonymous owner unless the seed names one).
/// Object ids are unique across the service (so they are the table's rowid) and numbered in
/// definition order.
pub(super) fn seed(conn: &Connection, def: &ServiceDefinition) -> Result<(), ServiceDbError> {
    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO features(layer_id, object_id, global_id, attributes, geometry, owner, gen, created_gen, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, 0)",
    )?;
    let mut object_id = 0_i64;
    for layer in def.all_layers() {
        for feature in &layer.seed {
            object_id += 1;
            let global_id = feature.global_id().unwrap_or_else(Guid::new_v4);
            let mut attributes = Attributes::new();
            for (name, value) in &feature.attributes {
                if let Some(field) = layer.field(name)
                    && field.name != OBJECT_ID_FIELD
                {
                    attributes.insert(field.name.clone(), value.clone());
                }
            }
            attributes.insert(GLOBAL_ID_FIELD.into(), Value::from(global_id.as_str()));
            let owner = layer
                .owner_field()
                .and_then(|f| attributes.get(f))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let geometry = feature.geometry.as_ref().map(Value::to_string);
            insert.execute(params![
                layer.id,
                object_id,
                global_id.as_str(),
                serde_json::to_string(&attributes)?,
                geometry,
                owner
            ])?;
        }
    }
    Ok(())
}
