//! The `GPSyncReplica` definition an ArcGIS app writes into `GDB_Items.Definition`: the
//! replica (id, name, service URL, owner, role, sync model, direction, creation and last sync
//! dates, query geometry) and each `GPSyncDataset` (table, layer id, direction, server
//! generation, client upload / download / acknowledge generations). Both spellings seen are
//! read: `<GPSyncReplica xsi:type='typens:GPSyncReplica'>` with typed generations and
//! `<typens:GPSyncReplica>` with bare ones (see `xml_tree.rs`).
//!
//! What it must not do: read the database (mod.rs hands it the XML text) or panic on what the
//! XML holds: a missing id or URL is a [`DefinitionError`].

use super::xml_tree::{self, Element};
use crate::model::{OfflineChangeCounts, OfflineDataset, OfflineReplica};
use crate::protocol::Guid;

/// Why the replica XML is not a usable definition, one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    #[error("the replica XML does not parse: {0}")]
    Xml(#[from] xml_tree::XmlError),
    #[error("the replica XML is a <{0}>, not a <GPSyncReplica>")]
    NotSyncReplica(String),
    #[error("the replica XML has no {0}")]
    Missing(&'static str),
    #[error("the replica XML's ReplicaID {0:?} is not a GUID")]
    BadReplicaId(String),
}

/// The parsed definition: the replica and its datasets (row counts and changes not yet known).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReplicaDefinition {
    pub replica: OfflineReplica,
    pub datasets: Vec<OfflineDataset>,
}

/// `LastSyncDate` of a replica that never synced.
const NEVER_SYNCED_BEFORE_MS: i64 = 86_400_000;

/// Reads the `GPSyncReplica` XML.
pub fn parse(xml: &str) -> Result<SyncReplicaDefinition, DefinitionError> {
    let root = xml_tree::parse(xml)?;
    if !root.name.eq_ignore_ascii_case("GPSyncReplica") {
        return Err(DefinitionError::NotSyncReplica(root.name));
    }
    let id_text = root
        .child_text("ReplicaID")
        .ok_or(DefinitionError::Missing("ReplicaID"))?;
    let replica_id =
        Guid::parse(id_text).map_err(|_| DefinitionError::BadReplicaId(id_text.to_string()))?;
    let service_url = root
        .child_text("ServiceName")
        .ok_or(DefinitionError::Missing("ServiceName (the service URL)"))?
        .to_string();
    let text = |name: &str| root.child_text(name).map(str::to_string);
    let geometry = root.child("QueryGeometry");
    let replica = OfflineReplica {
        name: text("ReplicaName").unwrap_or_default(),
        replica_id,
        service_url,
        owner: text("Owner").unwrap_or_default(),
        role: text("Role").unwrap_or_default(),
        sync_model: root.child_text("SyncModel").and_then(|t| t.parse().ok()),
        direction: root.child_text("Direction").and_then(|t| t.parse().ok()),
        created_ms: root.child_text("CreationDate").and_then(date_ms),
        last_sync_ms: root
            .child_text("LastSyncDate")
            .and_then(date_ms)
            .filter(|ms| *ms >= NEVER_SYNCED_BEFORE_MS),
        returns_attachments: flag(&root, "ReturnsAttachments"),
        spatial_relation: text("SpatialRelation"),
        extent: geometry.and_then(extent),
        wkid: geometry
            .and_then(|g| g.child("SpatialReference"))
            .and_then(|sr| {
                sr.child_text("LatestWKID")
                    .or_else(|| sr.child_text("WKID"))
                    .and_then(|t| t.parse().ok())
            }),
        attachments_sync_direction: text("AttachmentsSyncDirection"),
    };
    let datasets = root
        .child("GPSyncDatasets")
        .map(|list| list.children_named("GPSyncDataset").map(dataset).collect())
        .unwrap_or_default();
    Ok(SyncReplicaDefinition { replica, datasets })
}

fn dataset(element: &Element) -> OfflineDataset {
    let text = |name: &str| element.child_text(name).map(str::to_string);
    let number = |name: &str| element.child_text(name).and_then(|t| t.parse::<i64>().ok());
    OfflineDataset {
        dataset_id: number("DatasetID").unwrap_or_default(),
        table: text("DatasetName").unwrap_or_default(),
        dataset_type: text("DatasetType").unwrap_or_default(),
        layer_id: number("LayerID").unwrap_or(-1),
        layer_name: text("LayerName").unwrap_or_default(),
        direction: element.child_text("Direction").and_then(|t| t.parse().ok()),
        server_gen: number("ReplicaServerGen"),
        client_download_gen: number("ReplicaClientDownloadGen"),
        client_upload_gen: number("ReplicaClientUploadGen"),
        client_acknowledge_upload_gen: number("ReplicaClientAcknowledgeUploadGen"),
        use_geometry: flag(element, "UseGeometry"),
        include_related: flag(element, "IncludeRelated"),
        query_option: text("QueryOption"),
        has_attachments: flag(element, "HasAttachments"),
        is_attachment: flag(element, "IsAttachment"),
        rows: None,
        versions: None,
        changes: OfflineChangeCounts::default(),
    }
}

fn flag(element: &Element, name: &str) -> bool {
    element
        .child_text(name)
        .is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
}

fn extent(geometry: &Element) -> Option<[f64; 4]> {
    let e = geometry.child("Extent")?;
    let v = |n: &str| e.child_text(n).and_then(|t| t.parse::<f64>().ok());
    Some([v("XMin")?, v("YMin")?, v("XMax")?, v("YMax")?])
}

/// An ISO date as ArcGIS writes it (`2017-02-11T20:57:47`, maybe with fractions or a zone),
/// in ms since the epoch; a date without a zone is read as UTC.
pub fn date_ms(text: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .map(|dt| dt.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINGLE: &str = "<GPSyncReplica xsi:type='typens:GPSyncReplica' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:xs='http://www.w3.org/2001/XMLSchema' xmlns:typens='http://www.esri.com/schemas/ArcGIS/10.4'><ReplicaName>MyReplica</ReplicaName><ReplicaID>{1a4df0c8-b105-48ea-86f6-00c435f5530b}</ReplicaID><ServiceName>https://h/FeatureServer</ServiceName><Owner>u</Owner><SyncModel>esriSyncModelPerLayer</SyncModel><CreationDate>2017-02-11T20:57:47</CreationDate><LastSyncDate>1970-01-01T00:00:01</LastSyncDate><GPSyncDatasets xsi:type='typens:ArrayOfGPSyncDataset'><GPSyncDataset xsi:type='typens:GPSyncDataset'><DatasetName>T</DatasetName><LayerID>3</LayerID><ReplicaServerGen xsi:type='xs:long'>1496849718535</ReplicaServerGen></GPSyncDataset></GPSyncDatasets></GPSyncReplica>";

    #[test]
    fn reads_the_definition() {
        let d = parse(SINGLE).unwrap();
        assert_eq!(d.replica.owner, "u");
        assert_eq!(d.replica.last_sync_ms, None, "1970-01-01T00:00:01 is never");
        assert_eq!(d.replica.created_ms, Some(1_486_846_667_000));
        assert_eq!(d.datasets[0].server_gen, Some(1_496_849_718_535));
        assert_eq!(d.datasets[0].layer_id, 3);
    }

    #[test]
    fn missing_parts_are_errors() {
        assert!(matches!(
            parse("<GPSyncReplica><ServiceName>x</ServiceName></GPSyncReplica>"),
            Err(DefinitionError::Missing("ReplicaID"))
        ));
        assert!(matches!(
            parse("<DEWorkspace/>"),
            Err(DefinitionError::NotSyncReplica(_))
        ));
        assert!(matches!(
            parse("<GPSyncReplica><ReplicaID>nope</ReplicaID></GPSyncReplica>"),
            Err(DefinitionError::BadReplicaId(_))
        ));
    }
}
