//! The layer `query` operation over the service's live rows: which rows match (`where`,
//! `objectIds`, the filter geometry and `spatialRel`, and what the caller may see of the layer),
//! in which order (`orderByFields`, else object id), which page of them (`resultOffset`,
//! `resultRecordCount` up to the service's `maxRecordCount`, `exceededTransferLimit`), and their
//! shape in the reply (`outFields`, `returnGeometry`, `outSR`, `maxAllowableOffset`; counts, ids,
//! JSON or GeoJSON). Rows are read one at a time and only the page's are kept (every match only
//! when `orderByFields` sorts them), so a count or a page of a million-row layer stays small.
//! Read-only; must be called with the core locked, off the async runtime.

use super::area::{feature_shape, invalid_parameter, read_area, service_sr};
use super::caller_view::{owner_visible, project};
use super::{Core, OpError};
use crate::protocol::rules::Caller;
use crate::protocol::spatial::generalize::generalize;
use crate::protocol::spatial::sr::Conversion;
use crate::protocol::spatial::{Shape, SpatialRel, Sr, geojson_out};
use crate::protocol::{
    CountReply, Feature, IdsReply, OrderBy, QueryFormat, QueryParams, QueryReply, ServiceError,
};
use crate::server::db::{self, StoredRow};
use crate::server::definition::{GLOBAL_ID_FIELD, LayerDef, MAX_RECORD_COUNT, OBJECT_ID_FIELD};
use crate::server::where_clause::Condition;
use serde_json::Value;
use std::cmp::Ordering;

/// The message of a refused query (ArcGIS's words).
pub const QUERY_REFUSED: &str = "Cannot perform query. Invalid query parameters.";

/// What a query answers with.
#[derive(Debug)]
pub enum QueryOutput {
    Features(QueryReply),
    Count(CountReply),
    Ids(IdsReply),
    GeoJson(geojson::FeatureCollection),
}

/// The checked form of a query against one layer.
struct Plan<'a> {
    layer: &'a LayerDef,
    condition: Option<Condition>,
    area: Option<(Shape, SpatialRel)>,
    out_sr: Sr,
    to_out: Conversion,
    out_fields: Option<Vec<String>>,
}

/// Runs `params` against layer `layer_id` for `caller`.
pub fn query(
    core: &Core,
    caller: &Caller,
    layer_id: i64,
    params: &QueryParams,
) -> Result<QueryOutput, OpError> {
    let layer = core.def.layer(layer_id).ok_or_else(|| {
        ServiceError::new(
            400,
            "Invalid URL",
            vec![format!("Layer {layer_id} does not exist in this service")],
        )
    })?;
    let plan = plan(core, layer, params)?;
    let offset = usize::try_from(params.result_offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = params
        .result_record_count
        .map_or(MAX_RECORD_COUNT, |n| n.clamp(0, MAX_RECORD_COUNT)) as usize;
    let matched = matching_rows(core, &plan, caller, params, layer_id, (offset, limit))?;
    if params.return_count_only {
        return Ok(QueryOutput::Count(CountReply {
            count: matched.total as i64,
            error: None,
        }));
    }
    if params.return_ids_only {
        return Ok(QueryOutput::Ids(IdsReply {
            object_id_field_name: OBJECT_ID_FIELD.into(),
            object_ids: matched.ids,
            error: None,
        }));
    }
    let total = matched.total;
    let page: Vec<(i64, Feature)> = matched
        .rows
        .into_iter()
        .skip(matched.rows_from)
        .take(limit)
        .map(|row| (row.object_id, shape_feature(&plan, params, row)))
        .collect();
    let exceeded = total > offset.saturating_add(page.len());
    Ok(match params.format {
        QueryFormat::GeoJson => QueryOutput::GeoJson(geojson_reply(layer, page, exceeded)),
        QueryFormat::Json => {
            let features = page.into_iter().map(|(_, f)| f).collect();
            QueryOutput::Features(json_reply(&plan, features, exceeded))
        }
    })
}

/// What a query keeps of the rows that match, read one at a time: never the whole layer unless
/// an `orderByFields` sort needs every match.
struct Matched {
    /// How many rows match.
    total: usize,
    /// Matching rows: every one when sorted, else only the page's.
    rows: Vec<StoredRow>,
    /// The index in `rows` the page starts at.
    rows_from: usize,
    /// Every matching object id, in the reply's order (`returnIdsOnly` only).
    ids: Vec<i64>,
}

fn matching_rows(
    core: &Core,
    plan: &Plan<'_>,
    caller: &Caller,
    params: &QueryParams,
    layer_id: i64,
    (offset, limit): (usize, usize),
) -> Result<Matched, OpError> {
    let sorted = !params.order_by_fields.is_empty();
    let wants_rows = !params.return_count_only && (sorted || !params.return_ids_only);
    let mut matched = Matched {
        total: 0,
        rows: Vec::new(),
        rows_from: 0,
        ids: Vec::new(),
    };
    db::for_each_live_row(&core.db.conn, layer_id, |row| -> Result<(), OpError> {
        if !matches(plan, caller, params, &row) {
            return Ok(());
        }
        let index = matched.total;
        matched.total += 1;
        if params.return_ids_only && !sorted {
            matched.ids.push(row.object_id);
        }
        // Unsorted rows come in object id order: only the page's are kept.
        let on_page = sorted || (index >= offset && index - offset < limit);
        if wants_rows && on_page {
            matched.rows.push(row);
        }
        Ok(())
    })?;
    if sorted {
        sort(&mut matched.rows, &params.order_by_fields);
        if params.return_ids_only {
            matched.ids = matched.rows.iter().map(|r| r.object_id).collect();
        }
        matched.rows_from = offset;
    }
    Ok(matched)
}

fn plan<'a>(
    core: &Core,
    layer: &'a LayerDef,
    params: &QueryParams,
) -> Result<Plan<'a>, ServiceError> {
    let refuse = |name: &str, why: String| invalid_parameter(QUERY_REFUSED, name, why);
    let has_field = |name: &str| layer.field(name).is_some();
    let condition = params
        .where_clause
        .as_deref()
        .map(|clause| {
            Condition::parse(clause, &has_field).map_err(|e| refuse("where", e.to_string()))
        })
        .transpose()?;
    let area = params
        .geometry
        .as_deref()
        .map(|g| {
            read_area(
                &core.def,
                g,
                params.geometry_type.as_deref(),
                params.in_sr.as_deref(),
                QUERY_REFUSED,
            )
            .map(|shape| (shape, params.spatial_rel))
        })
        .transpose()?;
    let out_sr = match (params.format, params.out_sr.as_deref()) {
        (QueryFormat::GeoJson, _) => Sr::Wgs84,
        (QueryFormat::Json, Some(text)) => {
            Sr::parse(text).map_err(|e| refuse("outSR", e.to_string()))?
        }
        (QueryFormat::Json, None) => service_sr(&core.def),
    };
    let to_out = service_sr(&core.def)
        .to(out_sr)
        .map_err(|e| refuse("outSR", e.to_string()))?;
    let out_fields = if params.all_fields() {
        None
    } else {
        let mut names = Vec::new();
        for name in &params.out_fields {
            let field = layer
                .field(name)
                .ok_or_else(|| refuse("outFields", format!("the layer has no field {name:?}")))?;
            names.push(field.name.clone());
        }
        Some(names)
    };
    if let Some(unknown) = params.order_by_fields.iter().find(|o| !has_field(&o.field)) {
        return Err(refuse(
            "orderByFields",
            format!("the layer has no field {:?}", unknown.field),
        ));
    }
    Ok(Plan {
        layer,
        condition,
        area,
        out_sr,
        to_out,
        out_fields,
    })
}

fn matches(plan: &Plan<'_>, caller: &Caller, params: &QueryParams, row: &StoredRow) -> bool {
    if !owner_visible(plan.layer, caller, &row.owner) {
        return false;
    }
    if !params.object_ids.is_empty() && !params.object_ids.contains(&row.object_id) {
        return false;
    }
    if plan
        .condition
        .as_ref()
        .is_some_and(|c| !c.matches(&row.attributes))
    {
        return false;
    }
    match &plan.area {
        None => true,
        Some((area, rel)) => feature_shape(plan.layer, row.geometry.as_ref())
            .is_some_and(|shape| rel.holds(area, &shape)),
    }
}

/// Orders rows by the `orderByFields` (nulls first ascending, as ArcGIS's databases do), then by
/// object id.
fn sort(rows: &mut [StoredRow], order: &[OrderBy]) {
    if order.is_empty() {
        return;
    }
    let value = |row: &StoredRow, field: &str| -> Value {
        if field.eq_ignore_ascii_case(OBJECT_ID_FIELD) {
            return Value::from(row.object_id);
        }
        row.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    rows.sort_by(|a, b| {
        for o in order {
            let ordering = compare(&value(a, &o.field), &value(b, &o.field));
            let ordering = if o.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        a.object_id.cmp(&b.object_id)
    });
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (x, y) => x.to_string().cmp(&y.to_string()),
    }
}

/// One row as the reply's feature: its chosen fields, and its geometry in the output's spatial
/// reference, generalised.
fn shape_feature(plan: &Plan<'_>, params: &QueryParams, row: StoredRow) -> Feature {
    let mut feature = project(plan.layer, row);
    if let Some(names) = &plan.out_fields {
        feature
            .attributes
            .retain(|k, _| names.iter().any(|n| n.eq_ignore_ascii_case(k)));
    }
    feature.geometry = if params.return_geometry {
        feature.geometry.take().map(|mut g| {
            plan.to_out.geometry_json(&mut g, plan.out_sr);
            if let Some(object) = g.as_object_mut() {
                object.remove("spatialReference");
            }
            if let Some(offset) = params.max_allowable_offset {
                generalize(&mut g, offset);
            }
            g
        })
    } else {
        None
    };
    feature
}

fn json_reply(plan: &Plan<'_>, features: Vec<Feature>, exceeded: bool) -> QueryReply {
    let layer = plan.layer;
    let fields = layer
        .fields
        .iter()
        .filter(|f| {
            plan.out_fields
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(&f.name)))
        })
        .cloned()
        .collect();
    QueryReply {
        object_id_field_name: OBJECT_ID_FIELD.into(),
        global_id_field_name: Some(GLOBAL_ID_FIELD.into()),
        geometry_type: layer.geometry_type.clone(),
        spatial_reference: (!layer.is_table()).then(|| plan.out_sr.to_json()),
        fields,
        features,
        exceeded_transfer_limit: exceeded,
        error: None,
    }
}

/// GeoJSON features keep their object id as `id`, whatever `outFields` chose.
fn geojson_reply(
    layer: &LayerDef,
    features: Vec<(i64, Feature)>,
    exceeded: bool,
) -> geojson::FeatureCollection {
    let features = features
        .into_iter()
        .map(|(id, f)| {
            let geometry = f
                .geometry
                .as_ref()
                .and_then(|g| geojson_out::geometry(layer.geometry_type.as_deref(), g));
            geojson_out::feature(Some(id), geometry, f.attributes)
        })
        .collect();
    geojson_out::collection(features, exceeded)
}
