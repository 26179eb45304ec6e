//! createReplica, synchronizeReplica, unRegisterReplica, replicas and replica info, and the
//! async job status: parameters (to and from form pairs, the way the ArcGIS API for Python sends
//! them) and replies (parsed tolerantly: `URL`/`resultUrl`/`responseUrl`, status spellings).

use super::edits::{Attachment, Feature, LayerEdits, LayerSyncResult};
use super::error::{CarriesServiceError, ServiceError};
use super::form::{FormBuilder, FormParams, ParamError};
use super::guid::{Guid, opt_guid};
use super::lenient::{bool_or_text, opt_bool_or_text, opt_int_or_text};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Declares a wire enum: its canonical spelling, extra accepted spellings, case-insensitive
/// parsing that ignores spaces, and serde as text.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let key: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
                $(
                    if key == $text.to_ascii_lowercase() $(|| key == $alt.to_ascii_lowercase())* {
                        return Ok($name::$variant);
                    }
                )+
                let accepted: Vec<&str> = vec![$($text),+];
                Err(format!("{s:?} is not one of {}", accepted.join(", ")))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum!(
    /// How generations are kept: one for the replica, one per layer, or none (export only).
    SyncModel { PerReplica => "perReplica" | "esriSyncModelPerReplica" | "perGeodatabase", PerLayer => "perLayer" | "esriSyncModelPerLayer", None => "none" }
);
wire_enum!(
    /// Which way changes flow in a sync.
    SyncDirection { Bidirectional => "bidirectional" | "esriSyncDirectionBidirectional", Upload => "upload" | "esriSyncDirectionUpload", Download => "download" | "esriSyncDirectionDownload", Snapshot => "snapshot" }
);
wire_enum!(
    /// Whether a result is embedded in the reply or fetched from a URL.
    TransportType { Url => "esriTransportTypeUrl", Embedded => "esriTransportTypeEmbedded" }
);
wire_enum!(
    /// Result format: JSON or a (delta) SQLite geodatabase.
    DataFormat { Json => "json", Sqlite => "sqlite", FileGdb => "filegdb", Shapefile => "shapefile" }
);
wire_enum!(
    /// What a createReplica / synchronizeReplica reply contains.
    ResponseType {
        Data => "esriReplicaResponseTypeData",
        Info => "esriReplicaResponseTypeInfo",
        Edits => "esriReplicaResponseTypeEdits",
        NoEdits => "esriReplicaResponseTypeNoEdits",
        ReplacementData => "esriReplicaResponseTypeReplacementData",
        EditsAndData => "esriReplicaResponseTypeEditsAndData",
    }
);
wire_enum!(
    /// Which rows of a layer a replica takes.
    QueryOption { All => "all", None => "none", UseFilter => "useFilter" | "esriRowsTypeFilter" }
);
wire_enum!(
    /// How attachments sync; fixed at create time.
    AttachmentsSyncDirection { None => "none", Upload => "upload", Bidirectional => "bidirectional" }
);

/// State of an async job. Any value we do not know (a phase such as `ExportChanges`) means
/// "still running".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobState {
    Pending,
    InProgress,
    Completed,
    CompletedWithErrors,
    Failed,
    /// A phase or unknown value: still running, text kept for display.
    Running(String),
}

impl JobState {
    pub fn parse(text: &str) -> JobState {
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "pending" | "esrijobsubmitted" | "esrijobwaiting" | "submitted" | "new" => {
                JobState::Pending
            }
            "inprogress" | "esrijobexecuting" | "executing" | "running" => JobState::InProgress,
            "completed" | "esrijobsucceeded" | "succeeded" => JobState::Completed,
            "completedwitherrors" => JobState::CompletedWithErrors,
            "failed" | "esrijobfailed" | "esrijobcancelled" | "cancelled" => JobState::Failed,
            _ => JobState::Running(text.trim().to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            JobState::Pending => "Pending",
            JobState::InProgress => "InProgress",
            JobState::Completed => "Completed",
            JobState::CompletedWithErrors => "CompletedWithErrors",
            JobState::Failed => "Failed",
            JobState::Running(text) => text,
        }
    }

    /// Completed, CompletedWithErrors or Failed.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::CompletedWithErrors | JobState::Failed
        )
    }
}

impl Serialize for JobState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(JobState::parse(&text))
    }
}

/// One entry of `layerQueries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LayerQuery {
    #[serde(
        rename = "queryOption",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_option: Option<QueryOption>,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
    #[serde(
        rename = "useGeometry",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool_or_text"
    )]
    pub use_geometry: Option<bool>,
    #[serde(
        rename = "includeRelated",
        default,
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
        let layer_queries = match p.text("layerQueries") {
            None => layers
                .iter()
                .map(|id| (id.to_string(), LayerQuery::all()))
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

/// One entry of `syncLayers` (perLayer sync).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SyncLayerSpec {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(
        rename = "serverGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_gen: Option<i64>,
    #[serde(
        rename = "serverSibGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_sib_gen: Option<i64>,
    #[serde(
        rename = "syncDirection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sync_direction: Option<SyncDirection>,
}

fn required_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_int_or_text(d)?.ok_or_else(|| serde::de::Error::custom("id is missing"))
}

/// Parameters of synchronizeReplica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReplicaParams {
    pub replica_id: Guid,
    pub replica_server_gen: Option<i64>,
    pub replica_server_sib_gen: Option<i64>,
    /// perLayer only; empty for perReplica (Python's literal `perReplica` text also parses to empty).
    pub sync_layers: Vec<SyncLayerSpec>,
    pub sync_direction: SyncDirection,
    pub edits: Vec<LayerEdits>,
    pub edits_upload_id: Option<String>,
    pub edits_upload_format: Option<String>,
    pub return_ids_for_adds: bool,
    pub return_attachment_data_by_url: bool,
    pub transport_type: TransportType,
    pub data_format: DataFormat,
    pub is_async: bool,
    /// `None` leaves it to the service's default.
    pub rollback_on_failure: Option<bool>,
    pub close_replica: bool,
}

impl SyncReplicaParams {
    pub fn new(replica_id: Guid, sync_direction: SyncDirection) -> Self {
        SyncReplicaParams {
            replica_id,
            replica_server_gen: None,
            replica_server_sib_gen: None,
            sync_layers: Vec::new(),
            sync_direction,
            edits: Vec::new(),
            edits_upload_id: None,
            edits_upload_format: None,
            return_ids_for_adds: false,
            return_attachment_data_by_url: true,
            transport_type: TransportType::Url,
            data_format: DataFormat::Json,
            is_async: false,
            rollback_on_failure: None,
            close_replica: false,
        }
    }

    /// Form pairs in the order and spelling the ArcGIS API for Python uses.
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut b = FormBuilder::new()
            .text("f", "json")
            .text("replicaID", self.replica_id.as_str())
            .text("transportType", self.transport_type.as_str())
            .json("edits", &self.edits)
            .opt_text(
                "replicaServerGen",
                self.replica_server_gen.map(|g| g.to_string()),
            )
            .bool("returnIdsForAdds", self.return_ids_for_adds)
            .bool(
                "returnAttachmentDatabyURL",
                self.return_attachment_data_by_url,
            )
            .bool("async", self.is_async)
            .text("syncDirection", self.sync_direction.as_str());
        b = if self.sync_layers.is_empty() {
            b.text("syncLayers", "perReplica")
        } else {
            b.json("syncLayers", &self.sync_layers)
        };
        b = b
            .opt_text("editsUploadFormat", self.edits_upload_format.clone())
            .opt_text("editsUploadID", self.edits_upload_id.clone())
            .text("dataFormat", self.data_format.as_str());
        if let Some(rollback) = self.rollback_on_failure {
            b = b.bool("rollbackOnFailure", rollback);
        }
        if self.close_replica {
            b = b.bool("closeReplica", true);
        }
        b.opt_text(
            "replicaServerSibGen",
            self.replica_server_sib_gen.map(|g| g.to_string()),
        )
        .build()
    }

    pub fn from_form(p: &FormParams) -> Result<Self, ParamError> {
        let replica_id = Guid::parse(p.required("replicaID")?)
            .map_err(|e| ParamError::invalid("replicaID", e.to_string()))?;
        let sync_layers = match p.text("syncLayers") {
            None => Vec::new(),
            Some(t) if t.trim().starts_with('[') => p
                .opt_json::<Vec<SyncLayerSpec>>("syncLayers")?
                .unwrap_or_default(),
            Some(t) if t.trim().eq_ignore_ascii_case("perReplica") => Vec::new(),
            Some(t) => {
                return Err(ParamError::invalid(
                    "syncLayers",
                    format!("expected a JSON list of layers, got {t:?}"),
                ));
            }
        };
        Ok(SyncReplicaParams {
            replica_id,
            replica_server_gen: p.opt_i64("replicaServerGen")?,
            replica_server_sib_gen: p.opt_i64("replicaServerSibGen")?,
            sync_layers,
            sync_direction: p
                .opt_parse("syncDirection")?
                .unwrap_or(SyncDirection::Bidirectional),
            edits: p.opt_json("edits")?.unwrap_or_default(),
            edits_upload_id: p.text("editsUploadID").map(str::to_string),
            edits_upload_format: p.text("editsUploadFormat").map(str::to_string),
            return_ids_for_adds: p.bool_or("returnIdsForAdds", false)?,
            return_attachment_data_by_url: p.bool_or("returnAttachmentDataByUrl", true)?,
            transport_type: p.opt_parse("transportType")?.unwrap_or(TransportType::Url),
            data_format: p.opt_parse("dataFormat")?.unwrap_or(DataFormat::Json),
            is_async: p.bool_or("async", false)?,
            rollback_on_failure: p.opt_bool("rollbackOnFailure")?,
            close_replica: p.bool_or("closeReplica", false)?,
        })
    }
}

/// A layer's generation in a perLayer replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LayerServerGen {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(rename = "serverGen", deserialize_with = "required_int")]
    pub server_gen: i64,
    #[serde(
        rename = "serverSibGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_sib_gen: Option<i64>,
}

/// A layer's rows in createReplica data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplicaLayerData {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// Every reply of createReplica and synchronizeReplica: a direct result, a URL to the result,
/// an async `statusUrl`, a job status, or the content of a result file. Which members are present
/// says which it is; [`ReplicaResponse::result_location`] and [`ReplicaResponse::status`] read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplicaResponse {
    #[serde(
        rename = "replicaName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub replica_name: Option<String>,
    #[serde(
        rename = "replicaID",
        alias = "replicaId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_guid"
    )]
    pub replica_id: Option<Guid>,
    #[serde(
        rename = "replicaServerGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub replica_server_gen: Option<i64>,
    #[serde(
        rename = "layerServerGens",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub layer_server_gens: Vec<LayerServerGen>,
    #[serde(
        rename = "transportType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transport_type: Option<TransportType>,
    #[serde(
        rename = "responseType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_response_type"
    )]
    pub response_type: Option<ResponseType>,
    /// createReplica data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<ReplicaLayerData>,
    /// synchronizeReplica: per-layer edit results and downloaded changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<LayerSyncResult>,
    #[serde(rename = "statusUrl", default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
    #[serde(rename = "resultUrl", default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    #[serde(
        rename = "responseUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_url: Option<String>,
    #[serde(rename = "URL", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobState>,
    #[serde(
        rename = "submissionTime",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub submission_time: Option<i64>,
    #[serde(
        rename = "lastUpdatedTime",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub last_updated_time: Option<i64>,
    /// Reference-server extension: percent done of a running job.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub progress: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

fn lenient_response_type<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ResponseType>, D::Error> {
    let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
    Ok(text.and_then(|t| t.parse().ok()))
}

impl ReplicaResponse {
    /// Where the result is: `resultUrl`, else `responseUrl`, else `URL` (non-empty only).
    pub fn result_location(&self) -> Option<&str> {
        [&self.result_url, &self.response_url, &self.url]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
    }

    /// The async status URL, when this reply only says "poll here".
    pub fn status_location(&self) -> Option<&str> {
        self.status_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Every edit result in the reply as seed-style rows.
    pub fn result_rows(&self) -> Vec<super::edits::EditResultRow> {
        let mut rows = Vec::with_capacity(self.edits.iter().map(|l| l.result_count()).sum());
        for layer in &self.edits {
            layer.push_result_rows(&mut rows);
        }
        rows
    }
}

impl CarriesServiceError for ReplicaResponse {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

/// One entry of the `replicas` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaListEntry {
    #[serde(rename = "replicaName", default)]
    pub replica_name: String,
    #[serde(rename = "replicaID", alias = "replicaId")]
    pub replica_id: Guid,
}

impl CarriesServiceError for Vec<ReplicaListEntry> {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        None
    }
}

/// A layer's definition inside replica info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplicaLayerInfo {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(
        rename = "queryOption",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_query_option"
    )]
    pub query_option: Option<QueryOption>,
    #[serde(rename = "useGeometry", default, deserialize_with = "bool_or_text")]
    pub use_geometry: bool,
    #[serde(rename = "includeRelated", default, deserialize_with = "bool_or_text")]
    pub include_related: bool,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
    #[serde(
        rename = "serverGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_gen: Option<i64>,
}

fn lenient_query_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<QueryOption>, D::Error> {
    let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
    Ok(text.and_then(|t| t.parse().ok()))
}

/// The `replicas/<id>` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplicaInfo {
    #[serde(rename = "replicaName", default)]
    pub replica_name: String,
    #[serde(
        rename = "replicaID",
        alias = "replicaId",
        default,
        deserialize_with = "opt_guid",
        skip_serializing_if = "Option::is_none"
    )]
    pub replica_id: Option<Guid>,
    #[serde(rename = "replicaOwner", default)]
    pub replica_owner: String,
    #[serde(rename = "syncModel", default, skip_serializing_if = "Option::is_none")]
    pub sync_model: Option<SyncModel>,
    #[serde(
        rename = "replicaServerGen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub replica_server_gen: Option<i64>,
    #[serde(
        rename = "layerServerGens",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub layer_server_gens: Vec<LayerServerGen>,
    #[serde(
        rename = "creationDate",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub creation_date: Option<i64>,
    #[serde(
        rename = "lastSyncDate",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub last_sync_date: Option<i64>,
    #[serde(
        rename = "returnAttachments",
        default,
        deserialize_with = "bool_or_text"
    )]
    pub return_attachments: bool,
    #[serde(
        rename = "attachmentsSyncDirection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub attachments_sync_direction: Option<String>,
    #[serde(
        rename = "spatialRel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub spatial_rel: Option<String>,
    #[serde(
        rename = "targetType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_type: Option<String>,
    #[serde(
        rename = "syncDirection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sync_direction: Option<SyncDirection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<serde_json::Value>,
    #[serde(default)]
    pub layers: Vec<ReplicaLayerInfo>,
    #[serde(
        rename = "spatialReference",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub spatial_reference: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

impl CarriesServiceError for ReplicaInfo {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::{ReplyError, parse_reply};

    /// Seed 004: an async sync that completed with edits; the result is at `resultUrl`.
    #[test]
    fn seed_completed_status_with_edits() {
        let body = br#"{"transportType":"esriTransportTypeUrl","responseType":"esriReplicaResponseTypeEdits",
            "replicaName":"NE_10141",
            "resultUrl":"http://relic:6080/arcgis/rest/directories/arcgisoutput/sync_test5_bamb_ora_MapServer/_ags_data{B5330F8549CF43BABD49B73F22768AA4}.geodatabase",
            "submissionTime":1376157770000,"lastUpdatedTime":1376157776000,"status":"Completed"}"#;
        let r: ReplicaResponse = parse_reply(body).unwrap();
        assert_eq!(r.status, Some(JobState::Completed));
        assert_eq!(r.response_type, Some(ResponseType::Edits));
        assert_eq!(r.transport_type, Some(TransportType::Url));
        assert!(r.result_location().unwrap().ends_with(".geodatabase"));
        assert_eq!(r.submission_time, Some(1376157770000));
        let again: ReplicaResponse =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }

    /// Seed 004: NoEdits still carries the new generation, and an empty resultUrl means "no file".
    #[test]
    fn seed_no_edits_carries_generation() {
        let body = br#"{"transportType":"esriTransportTypeUrl","responseType":"esriReplicaResponseTypeNoEdits",
            "replicaServerGen":1374861421011,"replicaName":"ags_gfs_3889","resultUrl":"",
            "submissionTime":1374861420000,"lastUpdatedTime":1374861422000,"status":"Completed"}"#;
        let r: ReplicaResponse = parse_reply(body).unwrap();
        assert_eq!(r.response_type, Some(ResponseType::NoEdits));
        assert_eq!(r.replica_server_gen, Some(1374861421011));
        assert_eq!(r.result_location(), None);
        let again: ReplicaResponse =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn result_location_accepts_every_key() {
        for (key, expected) in [("resultUrl", "a"), ("responseUrl", "b"), ("URL", "c")] {
            let body = format!(r#"{{"{key}":"{expected}"}}"#);
            let r: ReplicaResponse = parse_reply(body.as_bytes()).unwrap();
            assert_eq!(r.result_location(), Some(expected));
        }
        let r: ReplicaResponse = parse_reply(br#"{"statusUrl":"http://x/jobs/1"}"#).unwrap();
        assert_eq!(r.status_location(), Some("http://x/jobs/1"));
        assert_eq!(r.result_location(), None);
    }

    #[test]
    fn job_state_spellings() {
        for (text, state) in [
            ("Completed With Errors", JobState::CompletedWithErrors),
            ("completedwitherrors", JobState::CompletedWithErrors),
            ("IN PROGRESS", JobState::InProgress),
            ("esriJobSucceeded", JobState::Completed),
            ("Failed", JobState::Failed),
            ("pending", JobState::Pending),
        ] {
            assert_eq!(JobState::parse(text), state, "{text}");
        }
        let phase = JobState::parse("ExportChanges");
        assert!(!phase.is_terminal());
        assert_eq!(phase.as_str(), "ExportChanges");
    }

    #[test]
    fn per_layer_generations_and_edits() {
        let body = br#"{"replicaID":"7a0c2c24-5ca5-408f-8705-a23ef105f351","responseType":"esriReplicaResponseTypeEdits",
            "layerServerGens":[{"id":0,"serverGen":30},{"id":1,"serverGen":"31"}],
            "edits":[{"id":0,"features":{"adds":[{"attributes":{"GlobalID":"{419d227b-2a61-43c4-8884-4b7b5bf3eabb}"}}],"deleteIds":["{7C18638F-BA93-4D12-869F-E7087B5BD691}"]},
                      "updateResults":[{"objectId":5,"globalId":"{7C18638F-BA93-4D12-869F-E7087B5BD691}","success":false,"error":{"code":1007,"description":"Edit denied due to ownership-based access control."}}]}]}"#;
        let r: ReplicaResponse = parse_reply(body).unwrap();
        assert_eq!(r.layer_server_gens[1].server_gen, 31);
        assert_eq!(r.edits[0].features.adds.len(), 1);
        assert_eq!(r.edits[0].features.delete_ids.len(), 1);
        let rows = r.result_rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].code, Some(1007));
        assert_eq!(
            r.replica_id.unwrap().as_str(),
            "{7A0C2C24-5CA5-408F-8705-A23EF105F351}"
        );
    }

    #[test]
    fn wrong_types_are_malformed() {
        let err = parse_reply::<ReplicaResponse>(br#"{"replicaServerGen":"soon"}"#).unwrap_err();
        assert!(matches!(err, ReplyError::Malformed { .. }), "{err:?}");
    }

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

    #[test]
    fn sync_params_round_trip_and_python_sync_layers_text() {
        let mut s = SyncReplicaParams::new(Guid::new_v4(), SyncDirection::Bidirectional);
        s.replica_server_gen = Some(25);
        s.rollback_on_failure = Some(false);
        s.is_async = true;
        let form = s.to_form();
        assert!(form.contains(&("syncLayers".into(), "perReplica".into())));
        assert_eq!(
            SyncReplicaParams::from_form(&FormParams::new(form)).unwrap(),
            s
        );

        s.sync_layers = vec![SyncLayerSpec {
            id: 1,
            server_gen: Some(7),
            server_sib_gen: None,
            sync_direction: Some(SyncDirection::Download),
        }];
        assert_eq!(
            SyncReplicaParams::from_form(&FormParams::new(s.to_form())).unwrap(),
            s
        );

        let missing =
            SyncReplicaParams::from_form(&FormParams::new([("f".to_string(), "json".to_string())]));
        assert_eq!(missing.unwrap_err(), ParamError::Missing("replicaID"));
        let bad = FormParams::new([("replicaID".to_string(), "{x}".to_string())]);
        assert!(SyncReplicaParams::from_form(&bad).is_err());
    }

    #[test]
    fn replica_info_and_list() {
        let info: ReplicaInfo = parse_reply(br#"{"replicaName":"r1","replicaID":"{7a0c2c24-5ca5-408f-8705-a23ef105f351}",
            "replicaOwner":"tech1","syncModel":"perLayer","layerServerGens":[{"id":0,"serverGen":4,"serverSibGen":-1}],
            "creationDate":1,"lastSyncDate":2,"spatialRel":"esriSpatialRelIntersects","syncDirection":"bidirectional",
            "layers":[{"id":0,"queryOption":"useFilter","useGeometry":true,"includeRelated":"false","where":"1=1"}]}"#).unwrap();
        assert_eq!(info.sync_model, Some(SyncModel::PerLayer));
        assert_eq!(info.layer_server_gens[0].server_sib_gen, Some(-1));
        assert_eq!(info.layers[0].query_option, Some(QueryOption::UseFilter));
        let list: Vec<ReplicaListEntry> =
            parse_reply(br#"[{"replicaName":"MyReplica_1135","replicaID":"7a0c2c24-5ca5-408f-8705-a23ef105f351"}]"#).unwrap();
        assert_eq!(list[0].replica_name, "MyReplica_1135");
        let err = parse_reply::<Vec<ReplicaListEntry>>(
            br#"{"error":{"code":499,"message":"Token Required"}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, ReplyError::Service(e) if e.code == Some(499)));
    }
}
