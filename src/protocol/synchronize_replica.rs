//! synchronizeReplica's parameters: [`SyncReplicaParams`] with its perLayer [`SyncLayerSpec`]s,
//! to and from form pairs the way the ArcGIS API for Python sends them (including its literal
//! `syncLayers=perReplica`).

use super::edits::LayerEdits;
use super::form::{FormBuilder, FormParams, ParamError};
use super::guid::Guid;
use super::lenient::{opt_int_or_text, required_int};
use super::wire_enum::{DataFormat, SyncDirection, TransportType};
use serde::{Deserialize, Serialize};

/// One entry of `syncLayers` (perLayer sync).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncLayerSpec {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_gen: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_sib_gen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_direction: Option<SyncDirection>,
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
        let edits: Vec<LayerEdits> = p.opt_json("edits")?.unwrap_or_default();
        // An uploaded feature that cannot be read is refused as the whole parameter was before
        // features were read one by one: nothing of this upload is applied.
        if let Some((layer, bad)) = edits
            .iter()
            .find_map(|l| l.features.unreadable.first().map(|u| (l.id, u)))
        {
            return Err(ParamError::invalid("edits", bad.describe(layer)));
        }
        Ok(SyncReplicaParams {
            replica_id,
            replica_server_gen: p.opt_i64("replicaServerGen")?,
            replica_server_sib_gen: p.opt_i64("replicaServerSibGen")?,
            sync_layers,
            sync_direction: p
                .opt_parse("syncDirection")?
                .unwrap_or(SyncDirection::Bidirectional),
            edits,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
