//! Which `dataFormat` a createReplica or synchronizeReplica asks for: the engine's download
//! format (`EngineConfig::download_format`) judged against what the service says of itself.
//! `auto` asks SQLite only of a service whose `syncCapabilities.syncwatchDeltaFormat` is the
//! delta version this build reads (the reference service says so); ArcGIS says nothing of the
//! kind, and its SQLite result is an Esri mobile geodatabase whose ST_Geometry syncwatch cannot
//! decode, so `auto` is JSON there. Pure: no I/O, no service call.

use crate::engine::api::DownloadFormat;
use crate::geodatabase::delta;
use crate::protocol::{DataFormat, FeatureServiceInfo};

/// The format to ask for under `setting` of a service described by `service` (`None`: not
/// known, e.g. a replica file without cached properties).
pub(super) fn data_format(
    setting: DownloadFormat,
    service: Option<&FeatureServiceInfo>,
) -> DataFormat {
    match setting {
        DownloadFormat::Json => DataFormat::Json,
        DownloadFormat::Sqlite => DataFormat::Sqlite,
        DownloadFormat::Auto if writes_syncwatch_deltas(service) => DataFormat::Sqlite,
        DownloadFormat::Auto => DataFormat::Json,
    }
}

/// Whether the service says its SQLite results are deltas this build reads.
fn writes_syncwatch_deltas(service: Option<&FeatureServiceInfo>) -> bool {
    service
        .is_some_and(|s| s.sync_capabilities.syncwatch_delta_format == Some(delta::FORMAT_VERSION))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(json: serde_json::Value) -> FeatureServiceInfo {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn auto_asks_sqlite_only_of_a_service_that_writes_deltas_this_build_reads() {
        // What ArcGIS Online and Enterprise report: sync capabilities, no delta format.
        let arcgis = service(serde_json::json!({
            "syncEnabled": true,
            "syncCapabilities": {"supportsAsync": true, "supportsSyncDirectionControl": true}
        }));
        let reference = service(serde_json::json!({
            "syncEnabled": true,
            "syncCapabilities": {"syncwatchDeltaFormat": delta::FORMAT_VERSION}
        }));
        let newer = service(serde_json::json!({
            "syncCapabilities": {"syncwatchDeltaFormat": delta::FORMAT_VERSION + 1}
        }));
        let auto = DownloadFormat::Auto;
        assert_eq!(data_format(auto, Some(&arcgis)), DataFormat::Json);
        assert_eq!(data_format(auto, None), DataFormat::Json);
        assert_eq!(data_format(auto, Some(&newer)), DataFormat::Json);
        assert_eq!(data_format(auto, Some(&reference)), DataFormat::Sqlite);
        for s in [Some(&arcgis), Some(&reference), None] {
            assert_eq!(data_format(DownloadFormat::Json, s), DataFormat::Json);
            assert_eq!(data_format(DownloadFormat::Sqlite, s), DataFormat::Sqlite);
        }
    }
}
