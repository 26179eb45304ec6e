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
#[serde(rename_all = "camelCase")]
pub struct ReplicaListEntry {
    #[serde(default)]
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
#[serde(rename_all = "camelCase")]
pub struct ReplicaLayerInfo {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_or_none"
    )]
    pub query_option: Option<QueryOption>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub use_geometry: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub include_related: bool,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_gen: Option<i64>,
}

/// The `replicas/<id>` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaInfo {
    pub replica_name: String,
    #[serde(
        rename = "replicaID",
        alias = "replicaId",
        deserialize_with = "opt_guid",
        skip_serializing_if = "Option::is_none"
    )]
    pub replica_id: Option<Guid>,
    pub replica_owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_model: Option<SyncModel>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub replica_server_gen: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layer_server_gens: Vec<LayerServerGen>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub creation_date: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub last_sync_date: Option<i64>,
    #[serde(deserialize_with = "bool_or_text")]
    pub return_attachments: bool,
    /// A spelling we do not know reads as absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_or_none"
    )]
    pub attachments_sync_direction: Option<AttachmentsSyncDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_rel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_direction: Option<SyncDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<serde_json::Value>,
    pub layers: Vec<ReplicaLayerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
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
