//! [`ReplicaResponse`]: every reply of createReplica and synchronizeReplica (direct result,
//! result URL, async status URL, job status, or the content of a result file), parsed
//! tolerantly (`URL` / `resultUrl` / `responseUrl`, generations as numbers or text).

use super::edits::{Attachment, EditResultRow, Feature, LayerSyncResult};
use super::error::{CarriesServiceError, ServiceError};
use super::guid::{Guid, opt_guid};
use super::job_state::JobState;
use super::lenient::{known_or_none, opt_int_or_text, required_int};
use super::unreadable::{RawFeatures, UnreadableFeature, raw_features, read_features};
use super::wire_enum::{ResponseType, TransportType};
use serde::{Deserialize, Serialize};

/// A layer's generation in a perLayer replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LayerServerGen {
    #[serde(deserialize_with = "required_int")]
    pub id: i64,
    #[serde(deserialize_with = "required_int")]
    pub server_gen: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub server_sib_gen: Option<i64>,
}

/// A layer's rows in createReplica data. Read feature by feature: one that cannot be read lands
/// in `unreadable` instead of failing the whole download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "ReplicaLayerDataWire")]
pub struct ReplicaLayerData {
    pub id: i64,
    pub features: Vec<Feature>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Features that could not be read (never sent).
    #[serde(skip)]
    pub unreadable: Vec<UnreadableFeature>,
}

/// [`ReplicaLayerData`] as it arrives, before each feature is read on its own.
#[derive(Deserialize)]
struct ReplicaLayerDataWire {
    #[serde(deserialize_with = "required_int")]
    id: i64,
    #[serde(default, deserialize_with = "raw_features")]
    features: RawFeatures,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

impl From<ReplicaLayerDataWire> for ReplicaLayerData {
    fn from(wire: ReplicaLayerDataWire) -> Self {
        let (features, unreadable) = read_features(wire.features, "features");
        ReplicaLayerData {
            id: wire.id,
            features,
            attachments: wire.attachments,
            unreadable,
        }
    }
}

/// Every reply of createReplica and synchronizeReplica: a direct result, a URL to the result,
/// an async `statusUrl`, a job status, or the content of a result file. Which members are present
/// says which it is; [`ReplicaResponse::result_location`] and [`ReplicaResponse::status`] read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_name: Option<String>,
    #[serde(
        rename = "replicaID",
        alias = "replicaId",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_guid"
    )]
    pub replica_id: Option<Guid>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub replica_server_gen: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layer_server_gens: Vec<LayerServerGen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_type: Option<TransportType>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "known_or_none"
    )]
    pub response_type: Option<ResponseType>,
    /// createReplica data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<ReplicaLayerData>,
    /// synchronizeReplica: per-layer edit results and downloaded changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<LayerSyncResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
    #[serde(rename = "URL", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobState>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub submission_time: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub last_updated_time: Option<i64>,
    /// Reference-server extension: percent done of a running job.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub progress: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

impl ReplicaResponse {
    /// Every downloaded feature that could not be read and was left out, with its layer id:
    /// the sync changes (`edits`) and the replica data (`layers`).
    pub fn unreadable_features(&self) -> Vec<(i64, &UnreadableFeature)> {
        let changes = self
            .edits
            .iter()
            .flat_map(|l| l.features.unreadable.iter().map(move |u| (l.id, u)));
        let data = self
            .layers
            .iter()
            .flat_map(|l| l.unreadable.iter().map(move |u| (l.id, u)));
        changes.chain(data).collect()
    }

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

    /// Every edit result in the reply as flat edit-result rows.
    pub fn result_rows(&self) -> Vec<EditResultRow> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::{ReplyError, parse_reply};

    /// The documented reply of an async sync that completed with edits; the result is at `resultUrl`.
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

    /// The documented NoEdits reply still carries the new generation, and an empty resultUrl means
    /// "no file".
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
}
