//! The replica resources: the `replicas` list ([`ReplicaListEntry`]) and one replica's
//! server-side definition and generations ([`ReplicaInfo`], `replicas/<id>`).

use super::error::{CarriesServiceError, ServiceError};
use super::guid::{Guid, opt_guid};
use super::lenient::{bool_or_text, known_or_none, opt_int_or_text, required_int};
use super::replica_reply::LayerServerGen;
use super::wire_enum::{AttachmentsSyncDirection, QueryOption, SyncDirection, SyncModel};
use serde::{Deserialize, Serialize};

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
        deserialize_with = "known_or_none"
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
    /// A spelling we do not know reads as absent.
    #[serde(
        rename = "attachmentsSyncDirection",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_or_none"
    )]
    pub attachments_sync_direction: Option<AttachmentsSyncDirection>,
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
