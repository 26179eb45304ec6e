//! Browsing a feature service before a replica is made: the service root, every layer and
//! table resource and each one's feature count (`query` with `returnCountOnly`), at most
//! [`BROWSE_CONCURRENCY`] calls at a time, gathered into [`ServiceFacts`]; and the count of
//! each chosen layer's features inside a work area (`query` with the area's geometry).
//!
//! What it must not do: decide whether a request fits the service (that is
//! `model::ServiceFacts`), or touch files. A count that fails is `None`, never a failed browse.

use super::client::FeatureServiceClient;
use super::error::ServiceClientError;
use super::transport::json_form;
use crate::model::{Extent, LayerFacts, ServiceFacts, WorkArea, service_name_from_url};
use crate::protocol::spatial::Sr;
use crate::protocol::{CountReply, FeatureServiceInfo, LayerInfo, QueryParams};
use futures_util::StreamExt;
use reqwest::Method;

/// Layer and count calls in flight at once while browsing a service.
pub const BROWSE_CONCURRENCY: usize = 4;

impl FeatureServiceClient {
    /// The service's facts: its root, then every layer and table with its count.
    pub async fn describe(&self) -> Result<ServiceFacts, ServiceClientError> {
        let info = self.service_info().await?;
        let ids: Vec<(i64, bool)> = info
            .layers
            .iter()
            .map(|l| (l.id, false))
            .chain(info.tables.iter().map(|t| (t.id, true)))
            .filter_map(|(id, is_table)| id.map(|id| (id, is_table)))
            .collect();
        let service_syncs = info.sync_enabled && info.has_capability("Sync");
        let layers: Vec<Result<LayerFacts, ServiceClientError>> = futures_util::stream::iter(ids)
            .map(|(id, is_table)| async move {
                let layer = self.layer_info(id).await?;
                let count = match self.count(id, &WorkArea::WholeService).await {
                    Ok(n) => Some(n),
                    Err(e) => {
                        tracing::info!(layer = id, error = %e, "layer count failed");
                        None
                    }
                };
                Ok(layer_facts(id, is_table, &layer, count, service_syncs))
            })
            .buffered(BROWSE_CONCURRENCY)
            .collect()
            .await;
        let layers = layers.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(facts(self.inner.service_url.as_str(), &info, layers))
    }

    /// How many features of `layer_id` lie inside `area` (`query` `returnCountOnly`).
    pub async fn count(&self, layer_id: i64, area: &WorkArea) -> Result<i64, ServiceClientError> {
        let mut params = QueryParams {
            return_count_only: true,
            ..Default::default()
        };
        if let Some(g) = area.geometry() {
            params.geometry = Some(g.geometry);
            params.geometry_type = Some(g.geometry_type.to_string());
            params.in_sr = g.in_sr;
        }
        let url = self.endpoint(&[&layer_id.to_string(), "query"]);
        let mut form = params.to_form();
        form.retain(|(k, _)| k != "f");
        form.extend(json_form());
        let reply: CountReply = self.call("layer query", Method::POST, url, form).await?;
        Ok(reply.count)
    }

    /// Each layer's count inside `area`, at most [`BROWSE_CONCURRENCY`] at a time, in order.
    pub async fn count_area(
        &self,
        layers: &[i64],
        area: &WorkArea,
    ) -> Result<Vec<(i64, i64)>, ServiceClientError> {
        let counted: Vec<Result<(i64, i64), ServiceClientError>> =
            futures_util::stream::iter(layers.iter().copied())
                .map(|id| async move { Ok((id, self.count(id, area).await?)) })
                .buffered(BROWSE_CONCURRENCY)
                .collect()
                .await;
        counted.into_iter().collect()
    }
}

fn layer_facts(
    id: i64,
    is_table: bool,
    layer: &LayerInfo,
    feature_count: Option<i64>,
    service_syncs: bool,
) -> LayerFacts {
    let layer_syncs = layer
        .capabilities
        .split(',')
        .any(|c| c.trim().eq_ignore_ascii_case("Sync"));
    LayerFacts {
        id,
        name: layer.name.clone(),
        is_table: is_table || layer.layer_type.eq_ignore_ascii_case("Table"),
        geometry_type: layer.geometry_type.clone(),
        feature_count,
        has_attachments: layer.has_attachments,
        sync_enabled: service_syncs && layer_syncs,
    }
}

fn facts(url: &str, info: &FeatureServiceInfo, layers: Vec<LayerFacts>) -> ServiceFacts {
    let wkid = info
        .spatial_reference
        .as_ref()
        .and_then(|sr| Sr::from_json(sr).ok())
        .map(Sr::wkid);
    ServiceFacts {
        service_url: url.trim_end_matches('/').to_string(),
        name: service_name_from_url(url),
        description: info.service_description.clone(),
        wkid,
        full_extent: info.full_extent.as_ref().and_then(extent_of),
        sync_enabled: info.sync_enabled && info.has_capability("Sync"),
        sync_capabilities: info.sync_capabilities.clone(),
        layers,
    }
}

/// An envelope JSON (`xmin`…`ymax`, `spatialReference`) as an [`Extent`].
fn extent_of(value: &serde_json::Value) -> Option<Extent> {
    let num = |k: &str| value.get(k).and_then(serde_json::Value::as_f64);
    let wkid = value
        .get("spatialReference")
        .and_then(|sr| Sr::from_json(sr).ok())
        .map(Sr::wkid);
    Some(Extent {
        xmin: num("xmin")?,
        ymin: num("ymin")?,
        xmax: num("xmax")?,
        ymax: num("ymax")?,
        wkid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_extent_is_read_with_its_sr() {
        let e = extent_of(
            &serde_json::json!({"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4,
            "spatialReference": {"wkid": 102100, "latestWkid": 3857}}),
        )
        .unwrap();
        assert_eq!((e.xmin, e.ymax, e.wkid), (1.0, 4.0, Some(3857)));
        assert!(extent_of(&serde_json::json!({"xmin": 1})).is_none());
    }
}
