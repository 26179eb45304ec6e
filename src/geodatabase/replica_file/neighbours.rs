//! The features of a replica near an envelope, for the map of one feature: the server's copy of
//! every layer (the `features` table) whose geometry's bounding box meets the envelope, capped.
//! Read only; it must not touch the change queue or write anything.

use super::{ReplicaFile, ReplicaFileError, from_json};
use crate::protocol::spatial::Shape;
use serde_json::Value;

/// A feature found near the envelope: its layer, GlobalID (as stored) and geometry JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct NearFeature {
    pub layer_id: i64,
    pub global_id: String,
    pub geometry: Value,
}

impl ReplicaFile {
    /// Features whose bounding box meets `[xmin, ymin, xmax, ymax]`, leaving out `skip`
    /// (`layer_id`, GlobalID as stored, compared case-insensitively); at most `cap`. The bool is
    /// true when more were there. `geometry_type` names each layer's geometry type (None: read
    /// from the JSON's keys). Unreadable geometries are skipped.
    pub fn features_near(
        &self,
        envelope: [f64; 4],
        skip: Option<(i64, &str)>,
        cap: usize,
        geometry_type: &dyn Fn(i64) -> Option<String>,
    ) -> Result<(Vec<NearFeature>, bool), ReplicaFileError> {
        let [xmin, ymin, xmax, ymax] = envelope;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, global_id, geometry_json FROM features
                 WHERE geometry_json IS NOT NULL ORDER BY layer_id, global_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut types: std::collections::HashMap<i64, Option<String>> = Default::default();
        let mut found = Vec::new();
        for row in rows {
            let (layer_id, global_id, text) = row.map_err(|e| self.sql(e))?;
            if skip.is_some_and(|(l, g)| l == layer_id && g.eq_ignore_ascii_case(&global_id)) {
                continue;
            }
            let Ok(geometry) = from_json::<Value>(&self.path, "a feature geometry", &text) else {
                continue;
            };
            let kind = types
                .entry(layer_id)
                .or_insert_with(|| geometry_type(layer_id));
            let Some(bbox) = Shape::from_feature(kind.as_deref(), &geometry).and_then(|s| s.bbox())
            else {
                continue;
            };
            let meets = bbox.min().x <= xmax
                && bbox.max().x >= xmin
                && bbox.min().y <= ymax
                && bbox.max().y >= ymin;
            if !meets {
                continue;
            }
            if found.len() == cap {
                return Ok((found, true));
            }
            found.push(NearFeature {
                layer_id,
                global_id,
                geometry,
            });
        }
        Ok((found, false))
    }
}
