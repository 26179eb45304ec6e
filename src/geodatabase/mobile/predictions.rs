//! The local changes of an offline map judged with `protocol::rules` and the layer definitions
//! the file carries (`GDB_ServiceItems`): the same checks the service runs, so a prediction
//! carries the server's code and text. An add is judged as `prepare_add`, an update as
//! `prepare_update` against the version from before the last sync, the caller being the
//! replica's owner (not an administrator).
//!
//! Limits: attributes only (the `SHAPE` column is Esri's ST_Geometry blob, which is not decoded,
//! so geometry rules are not judged); deletes are not judged; uniqueness against features the
//! file does not hold is not known. Only columns that are editable fields of the layer are sent, as an
//! ArcGIS app sends them (the service fills OBJECTID and editor tracking; the GlobalID is
//! sent), so 1023 is
//! not predicted; `realdate` values become epoch milliseconds.
//!
//! What it must not do: write to the file, or decide anything the rules do not.

use super::change_tracking::{self, Change, OPEN_VERSION};
use crate::model::{OfflineChangeKind, OfflinePrediction};
use crate::protocol::rules::{self as checks, Caller, EditContext};
use crate::protocol::{Attributes, Feature, FeatureServiceInfo, Guid, LayerInfo};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::Value;

/// What a table's changes are judged with.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub service: &'a FeatureServiceInfo,
    pub layer: &'a LayerInfo,
    /// The replica's owner: the caller the service would see.
    pub owner: &'a str,
    /// The change-tracking baseline (Julian day).
    pub baseline: f64,
}

/// Judges one table's adds and updates.
pub fn judge(
    conn: &Connection,
    table: &str,
    key_column: &str,
    changes: &[Change],
    rules: Rules<'_>,
) -> rusqlite::Result<Vec<OfflinePrediction>> {
    let Rules {
        service,
        layer,
        owner,
        baseline,
    } = rules;
    let columns = super::columns(conn, table)?;
    let caller = Caller {
        name: owner.to_string(),
        is_admin: false,
    };
    let ctx = EditContext {
        def: service,
        layer,
        caller: &caller,
    };
    let mut out = Vec::new();
    for change in changes {
        let version_of =
            |which| version(conn, table, key_column, &columns, layer, &change.key, which);
        let verdict = match change.kind {
            OfflineChangeKind::Add => {
                let Some(current) = version_of(Version::Current)? else {
                    continue;
                };
                checks::prepare_add(ctx, &current).map(|_| ())
            }
            OfflineChangeKind::Update => {
                let current = version_of(Version::Current)?;
                let before = version_of(Version::Before(baseline))?;
                let (Some(current), Some(before)) = (current, before) else {
                    continue;
                };
                let Ok(global_id) = Guid::parse(&change.key) else {
                    continue;
                };
                let owner_now = layer
                    .owner_field()
                    .and_then(|f| before.attributes.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or(owner)
                    .to_string();
                checks::prepare_update(
                    ctx,
                    &current,
                    global_id,
                    &before.attributes,
                    None,
                    &owner_now,
                )
                .map(|_| ())
            }
            OfflineChangeKind::Delete => continue,
        };
        if let Err(rejection) = verdict {
            out.push(OfflinePrediction {
                layer_id: layer.id.unwrap_or(-1),
                table: table.to_string(),
                global_id: change.key.clone(),
                kind: change.kind,
                code: rejection.code,
                description: rejection.description(),
            });
        }
    }
    Ok(out)
}

enum Version {
    Current,
    /// The last version from before the baseline.
    Before(f64),
}

/// One version of the row `key` as the feature an app would send (attributes only).
fn version(
    conn: &Connection,
    table: &str,
    key_column: &str,
    columns: &[(String, String)],
    layer: &LayerInfo,
    key: &str,
    which: Version,
) -> rusqlite::Result<Option<Feature>> {
    let sent: Vec<(&str, &str, String)> = columns
        .iter()
        .filter_map(|(name, declared)| {
            layer
                .field(name)
                .filter(|f| f.editable || f.name.eq_ignore_ascii_case(layer.global_id_field_name()))
                .map(|f| (name.as_str(), declared.as_str(), f.name.clone()))
        })
        .collect();
    if sent.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = sent.iter().map(|(c, _, _)| super::quoted(c)).collect();
    let (filter, bound) = match which {
        Version::Current => ("gdb_to_date > ?2", OPEN_VERSION),
        Version::Before(b) => ("gdb_from_date <= ?2", b),
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1 AND {filter} ORDER BY gdb_from_date DESC LIMIT 1",
        list.join(", "),
        super::quoted(table),
        super::quoted(key_column)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params![key, bound])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut attributes = Attributes::new();
    for (i, (_, declared, field)) in sent.iter().enumerate() {
        let value = match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::from(v),
            ValueRef::Real(v) if declared.eq_ignore_ascii_case("realdate") => {
                Value::from(change_tracking::epoch_ms(v))
            }
            ValueRef::Real(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
            ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(_) => continue,
        };
        attributes.insert(field.clone(), value);
    }
    Ok(Some(Feature {
        geometry: None,
        attributes,
    }))
}
