//! createReplica's parameters: [`CreateReplicaParams`] with its per-layer [`LayerQuery`], to and
//! from form pairs the way the ArcGIS API for Python sends them.

use super::form::{FormBuilder, FormParams, ParamError};
use super::lenient::opt_bool_or_text;
use super::wire_enum::{
    AttachmentsSyncDirection, DataFormat, QueryOption, SyncDirection, SyncModel, TransportType,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of `layerQueries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LayerQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_option: Option<QueryOption>,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool_or_text"
    )]
    pub use_geometry: Option<bool>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool_or_text"
    )]
    pub include_related: Option<bool>,
}

impl LayerQuery {
    pub fn all() -> Self {
        LayerQuery {
            query_option: Some(QueryOption::All),
            ..Default::default()
        }
    }

    /// The rows of a layer inside the replica's geometry (and its `where`, if any).
    pub fn in_area() -> Self {
        LayerQuery {
            query_option: Some(QueryOption::UseFilter),
            use_geometry: Some(true),
            ..Default::default()
        }
    }

    /// What a layer missing from `layerQueries` takes: the rows inside the geometry when there
    /// is one, else every row.
    pub fn default_for(has_geometry: bool) -> Self {
        if has_geometry {
            Self::in_area()
        } else {
            Self::all()
        }
    }
}

/// Parameters of createReplica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateReplicaParams {
    pub replica_name: String,
    pub layers: Vec<i64>,
    /// Keyed by layer id as text, as on the wire.
    pub layer_queries: BTreeMap<String, LayerQuery>,
    /// Envelope `xmin,ymin,xmax,ymax` or geometry JSON text.
    pub geometry: Option<String>,
    pub geometry_type: Option<String>,
    pub in_sr: Option<String>,
    pub replica_sr: Option<String>,
    pub transport_type: TransportType,
    pub return_attachments: bool,
    pub return_attachments_data_by_url: bool,
    pub is_async: bool,
    pub sync_model: SyncModel,
    /// `client` or `server`.
    pub target_type: String,
    pub sync_direction: Option<SyncDirection>,
    pub attachments_sync_direction: Option<AttachmentsSyncDirection>,
    pub data_format: DataFormat,
    pub replica_options: Option<serde_json::Value>,
}

impl CreateReplicaParams {
    /// A bidirectional, per-replica JSON replica of every row of `layers`.
    pub fn new(replica_name: impl Into<String>, layers: Vec<i64>) -> Self {
        let layer_queries = layers
            .iter()
            .map(|id| (id.to_string(), LayerQuery::all()))
            .collect();
        CreateReplicaParams {
            replica_name: replica_name.into(),
            layers,
            layer_queries,
            geometry: None,
            geometry_type: None,
            in_sr: None,
            replica_sr: None,
            transport_type: TransportType::Url,
            return_attachments: false,
            return_attachments_data_by_url: true,
            is_async: false,
            sync_model: SyncModel::PerReplica,
            target_type: "client".into(),
            sync_direction: Some(SyncDirection::Bidirectional),
            attachments_sync_direction: None,
            data_format: DataFormat::Json,
            replica_options: None,
        }
    }

    /// Form pairs in the order and spelling the ArcGIS API for Python uses.
    pub fn to_form(&self) -> Vec<(String, String)> {
        FormBuilder::new()
            .text("f", "json")
            .text("replicaName", &self.replica_name)
            .bool("returnAttachments", self.return_attachments)
            .bool(
                "returnAttachmentsDatabyUrl",
                self.return_attachments_data_by_url,
            )
            .bool("async", self.is_async)
            .text("syncModel", self.sync_model.as_str())
            .json("layers", &self.layers)
            .text("targetType", &self.target_type)
            .opt_text(
                "attachmentsSyncDirection",
                self.attachments_sync_direction.map(|d| d.as_str()),
            )
            .opt_text("syncDirection", self.sync_direction.map(|d| d.as_str()))
            .text("dataFormat", self.data_format.as_str())
            .json("layerQueries", &self.layer_queries)
            .opt_text("geometry", self.geometry.clone())
            .opt_text("geometryType", self.geometry_type.clone())
            .opt_text("inSR", self.in_sr.clone())
            .opt_text("replicaSR", self.replica_sr.clone())
            .opt_text(
                "replicaOptions",
                self.replica_options.as_ref().map(|v| v.to_string()),
            )
            .text("transportType", self.transport_type.as_str())
            .build()
    }

    /// Reads the parameters a client sent, tolerating every spelling real clients use.
    pub fn from_form(p: &FormParams) -> Result<Self, ParamError> {
        let layers = parse_layer_list(p.required("layers")?)?;
        let has_geometry = p.text("geometry").is_some_and(|g| !g.trim().is_empty());
        let layer_queries = match p.text("layerQueries") {
            // Without layerQueries, a geometry filters every layer (as on ArcGIS); else all rows.
            None => layers
                .iter()
                .map(|id| (id.to_string(), LayerQuery::default_for(has_geometry)))
                .collect(),
            Some(_) => p
                .opt_json::<BTreeMap<String, LayerQuery>>("layerQueries")?
                .unwrap_or_default(),
        };
        let target_type = p
            .text("targetType")
            .unwrap_or("client")
            .trim()
            .to_ascii_lowercase();
        if target_type != "client" && target_type != "server" {
            return Err(ParamError::invalid(
                "targetType",
                format!("expected client or server, got {target_type:?}"),
            ));
        }
        Ok(CreateReplicaParams {
            replica_name: p.text("replicaName").unwrap_or("replica").to_string(),
            layers,
            layer_queries,
            geometry: p.text("geometry").map(|g| g.trim().to_string()),
            geometry_type: p.text("geometryType").map(str::to_string),
            in_sr: p.text("inSR").map(str::to_string),
            replica_sr: p.text("replicaSR").map(str::to_string),
            transport_type: p.opt_parse("transportType")?.unwrap_or(TransportType::Url),
            return_attachments: p.bool_or("returnAttachments", false)?,
            return_attachments_data_by_url: p.bool_or("returnAttachmentsDataByUrl", true)?,
            is_async: p.bool_or("async", false)?,
            sync_model: p.opt_parse("syncModel")?.unwrap_or(SyncModel::PerReplica),
            target_type,
            sync_direction: p.opt_parse("syncDirection")?,
            attachments_sync_direction: p.opt_parse("attachmentsSyncDirection")?,
            data_format: p.opt_parse("dataFormat")?.unwrap_or(DataFormat::Json),
            replica_options: p.opt_json("replicaOptions")?,
        })
    }
}

/// `layers` as `0,1,2`, `[0,1]` or `["0","1"]`.
pub fn parse_layer_list(text: &str) -> Result<Vec<i64>, ParamError> {
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    inner
        .split(',')
        .map(|part| part.trim().trim_matches('"'))
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<i64>()
                .map_err(|_| ParamError::invalid("layers", format!("{part:?} is not a layer id")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters the ArcGIS API for Python sends for createReplica, including its quirks.
    #[test]
    fn create_params_from_python_form() {
        let p = FormParams::new(
            [
                ("f", "json"),
                ("replicaName", "field_laptop_7"),
                ("returnAttachments", "false"),
                ("returnAttachmentsDatabyUrl", "true"),
                ("async", "true"),
                ("syncModel", "perLayer"),
                ("layers", "[0, 1]"),
                ("targetType", "client"),
                ("attachmentsSyncDirection", "none"),
                ("dataFormat", "json"),
                ("layerQueries", r#"{"0": {"queryOption": "all"}, "1": {"queryOption": "useFilter", "where": "STATUS = 'IS'"}}"#),
                ("geometry", "     0.000,     0.000,     1.000,     1.000"),
                ("geometryType", "esriGeometryEnvelope"),
                ("transportType", "esriTransportTypeURL"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let c = CreateReplicaParams::from_form(&p).unwrap();
        assert_eq!(c.layers, vec![0, 1]);
        assert!(c.is_async && c.return_attachments_data_by_url && !c.return_attachments);
        assert_eq!(c.sync_model, SyncModel::PerLayer);
        assert_eq!(c.transport_type, TransportType::Url);
        assert_eq!(
            c.layer_queries["1"].query_option,
            Some(QueryOption::UseFilter)
        );
        assert_eq!(
            c.layer_queries["1"].where_clause.as_deref(),
            Some("STATUS = 'IS'")
        );
        assert_eq!(
            c.geometry.as_deref(),
            Some("0.000,     0.000,     1.000,     1.000")
        );
        let again = CreateReplicaParams::from_form(&FormParams::new(c.to_form())).unwrap();
        assert_eq!(again, c);
        assert_eq!(parse_layer_list("0,2").unwrap(), vec![0, 2]);
        assert!(parse_layer_list("0,x").is_err());
    }
}
