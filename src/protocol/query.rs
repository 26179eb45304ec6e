//! The layer `query` operation on the wire, shared by the reference service and the client:
//! [`QueryParams`] read from and written to form pairs the way ArcGIS clients send them, and the
//! replies — the FeatureSet ([`QueryReply`]), the count ([`CountReply`]) and the object ids
//! ([`IdsReply`]). GeoJSON replies (`f=geojson`) are written by `spatial::geojson_out`. No I/O.

use super::edits::Feature;
use super::error::{CarriesServiceError, ServiceError};
use super::form::{FormBuilder, FormParams, ParamError};
use super::service_info::Field;
use super::spatial::SpatialRel;
use serde::{Deserialize, Serialize};

/// The reply format a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryFormat {
    /// `f=json` (and `pjson`): the ArcGIS FeatureSet.
    #[default]
    Json,
    /// `f=geojson`: an RFC 7946 FeatureCollection, always in WGS84.
    GeoJson,
}

/// One `orderByFields` entry: a field name and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub field: String,
    pub descending: bool,
}

/// Parameters of a layer query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryParams {
    /// The `where` clause; `None` takes every row (`1=1`).
    pub where_clause: Option<String>,
    pub object_ids: Vec<i64>,
    /// Geometry JSON text, or the shorthand `xmin,ymin,xmax,ymax` / `x,y`.
    pub geometry: Option<String>,
    pub geometry_type: Option<String>,
    pub spatial_rel: SpatialRel,
    /// The filter geometry's spatial reference: a wkid or spatial reference JSON.
    pub in_sr: Option<String>,
    /// Field names; empty or `*` is every field.
    pub out_fields: Vec<String>,
    pub return_geometry: bool,
    pub return_count_only: bool,
    pub return_ids_only: bool,
    pub out_sr: Option<String>,
    pub result_offset: Option<i64>,
    pub result_record_count: Option<i64>,
    pub order_by_fields: Vec<OrderBy>,
    /// Generalisation in the output's units.
    pub max_allowable_offset: Option<f64>,
    pub format: QueryFormat,
}

impl QueryParams {
    /// Every feature, with all fields and geometry, as JSON.
    pub fn all() -> Self {
        QueryParams {
            return_geometry: true,
            ..Default::default()
        }
    }

    /// Reads the form the way ArcGIS does: names case-insensitive, empty values absent.
    pub fn from_form(form: &FormParams) -> Result<QueryParams, ParamError> {
        let text = |name: &str| {
            form.text(name)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let spatial_rel = match text("spatialRel") {
            None => SpatialRel::Intersects,
            Some(t) => SpatialRel::parse(&t).ok_or_else(|| {
                ParamError::invalid(
                    "spatialRel",
                    format!("{t:?} is not a supported spatial relation"),
                )
            })?,
        };
        let format = match text("f").as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("geojson") => QueryFormat::GeoJson,
            _ => QueryFormat::Json,
        };
        let max_allowable_offset = text("maxAllowableOffset")
            .map(|t| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .ok_or_else(|| {
                        ParamError::invalid(
                            "maxAllowableOffset",
                            format!("expected a non-negative number, got {t:?}"),
                        )
                    })
            })
            .transpose()?;
        Ok(QueryParams {
            where_clause: text("where"),
            object_ids: object_ids(text("objectIds").as_deref())?,
            geometry: text("geometry"),
            geometry_type: text("geometryType"),
            spatial_rel,
            in_sr: text("inSR"),
            out_fields: list(text("outFields").as_deref()),
            return_geometry: form.bool_or("returnGeometry", true)?,
            return_count_only: form.bool_or("returnCountOnly", false)?,
            return_ids_only: form.bool_or("returnIdsOnly", false)?,
            out_sr: text("outSR"),
            result_offset: non_negative(form, "resultOffset")?,
            result_record_count: non_negative(form, "resultRecordCount")?,
            order_by_fields: order_by(text("orderByFields").as_deref())?,
            max_allowable_offset,
            format,
        })
    }

    /// The form pairs of this query (what the client sends).
    pub fn to_form(&self) -> Vec<(String, String)> {
        let join = |items: &[String]| items.join(",");
        let order: Vec<String> = self
            .order_by_fields
            .iter()
            .map(|o| format!("{} {}", o.field, if o.descending { "DESC" } else { "ASC" }))
            .collect();
        let ids: Vec<String> = self.object_ids.iter().map(i64::to_string).collect();
        let mut b = FormBuilder::new()
            .text(
                "f",
                if self.format == QueryFormat::GeoJson {
                    "geojson"
                } else {
                    "json"
                },
            )
            .text(
                "where",
                self.where_clause.clone().unwrap_or_else(|| "1=1".into()),
            )
            .text(
                "outFields",
                if self.out_fields.is_empty() {
                    "*".into()
                } else {
                    join(&self.out_fields)
                },
            )
            .bool("returnGeometry", self.return_geometry)
            .opt_text("geometry", self.geometry.clone())
            .opt_text("geometryType", self.geometry_type.clone())
            .opt_text("inSR", self.in_sr.clone())
            .opt_text("outSR", self.out_sr.clone())
            .opt_text("resultOffset", self.result_offset.map(|n| n.to_string()))
            .opt_text(
                "resultRecordCount",
                self.result_record_count.map(|n| n.to_string()),
            )
            .opt_text(
                "maxAllowableOffset",
                self.max_allowable_offset.map(|n| n.to_string()),
            );
        if self.geometry.is_some() {
            b = b.text("spatialRel", self.spatial_rel.as_str());
        }
        if !ids.is_empty() {
            b = b.text("objectIds", join(&ids));
        }
        if !order.is_empty() {
            b = b.text("orderByFields", join(&order));
        }
        if self.return_count_only {
            b = b.bool("returnCountOnly", true);
        }
        if self.return_ids_only {
            b = b.bool("returnIdsOnly", true);
        }
        b.build()
    }

    /// Whether `outFields` takes every field.
    pub fn all_fields(&self) -> bool {
        self.out_fields.is_empty() || self.out_fields.iter().any(|f| f == "*")
    }
}

fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn object_ids(text: Option<&str>) -> Result<Vec<i64>, ParamError> {
    list(text)
        .iter()
        .map(|id| {
            id.parse::<i64>().map_err(|_| {
                ParamError::invalid("objectIds", format!("{id:?} is not an object id"))
            })
        })
        .collect()
}

fn non_negative(form: &FormParams, name: &'static str) -> Result<Option<i64>, ParamError> {
    match form.opt_i64(name)? {
        Some(n) if n < 0 => Err(ParamError::invalid(
            name,
            format!("must not be negative, got {n}"),
        )),
        other => Ok(other),
    }
}

fn order_by(text: Option<&str>) -> Result<Vec<OrderBy>, ParamError> {
    list(text)
        .iter()
        .map(|item| {
            let mut words = item.split_whitespace();
            let field = words.next().unwrap_or_default().to_string();
            let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(other) => {
                    return Err(ParamError::invalid(
                        "orderByFields",
                        format!("{other:?} is neither ASC nor DESC"),
                    ));
                }
            };
            if words.next().is_some() {
                return Err(ParamError::invalid(
                    "orderByFields",
                    format!("{item:?} is not 'FIELD [ASC|DESC]'"),
                ));
            }
            Ok(OrderBy { field, descending })
        })
        .collect()
}

/// The FeatureSet a JSON query answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryReply {
    pub object_id_field_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_id_field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<serde_json::Value>,
    pub fields: Vec<Field>,
    pub features: Vec<Feature>,
    /// More features match than this page holds: ask again from `resultOffset` + this page.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exceeded_transfer_limit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

/// `returnCountOnly=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CountReply {
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

/// `returnIdsOnly=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct IdsReply {
    pub object_id_field_name: String,
    pub object_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

impl CarriesServiceError for QueryReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

impl CarriesServiceError for CountReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

impl CarriesServiceError for IdsReply {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip() {
        let q = QueryParams {
            where_clause: Some("STATUS = 'Active'".into()),
            object_ids: vec![3, 5],
            geometry: Some("1,2,3,4".into()),
            geometry_type: Some("esriGeometryEnvelope".into()),
            in_sr: Some("3857".into()),
            out_fields: vec!["NAME".into(), "STATUS".into()],
            return_geometry: true,
            result_offset: Some(10),
            result_record_count: Some(5),
            order_by_fields: vec![OrderBy {
                field: "NAME".into(),
                descending: true,
            }],
            max_allowable_offset: Some(0.5),
            format: QueryFormat::GeoJson,
            ..Default::default()
        };
        let back = QueryParams::from_form(&FormParams::new(q.to_form())).unwrap();
        assert_eq!(back.where_clause.as_deref(), Some("STATUS = 'Active'"));
        assert_eq!(
            QueryParams {
                where_clause: q.where_clause.clone(),
                ..back
            },
            q
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let form = |pairs: &[(&str, &str)]| {
            FormParams::new(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
        };
        let err = QueryParams::from_form(&form(&[("resultOffset", "-1")])).unwrap_err();
        assert!(err.to_string().contains("resultOffset"), "{err}");
        assert!(QueryParams::from_form(&form(&[("orderByFields", "NAME SIDEWAYS")])).is_err());
        assert!(QueryParams::from_form(&form(&[("objectIds", "1,x")])).is_err());
        assert!(QueryParams::from_form(&form(&[("spatialRel", "esriSpatialRelTouches")])).is_err());
    }
}
