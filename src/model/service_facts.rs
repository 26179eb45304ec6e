//! What the service browser shows about a feature service before a replica is made: its name,
//! description, spatial reference, full extent, sync capabilities and every layer and table
//! (name, geometry type, feature count, attachments, sync). Owns the checks a create request
//! is held to before anything is sent: layers named or numbered that exist and sync, a work
//! area the service can convert and that overlaps its full extent; and the suggested name.
//!
//! What it must not do: I/O. The facts are filled by `service::browse`.

use super::extent::Extent;
use super::work_area::WorkArea;
use crate::protocol::SyncCapabilities;
use crate::protocol::spatial::Sr;
use serde::{Deserialize, Serialize};

/// A feature service as the browser shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFacts {
    pub service_url: String,
    /// The service's name (from its URL, `…/services/<name>/FeatureServer`).
    pub name: String,
    pub description: String,
    /// The service's spatial reference wkid (latest), when it says.
    pub wkid: Option<i64>,
    pub full_extent: Option<Extent>,
    pub sync_enabled: bool,
    pub sync_capabilities: SyncCapabilities,
    /// Layers first, then tables, each in the service's order.
    pub layers: Vec<LayerFacts>,
}

/// One layer or table of the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFacts {
    pub id: i64,
    pub name: String,
    pub is_table: bool,
    /// `esriGeometryPoint` and so on; `None` for tables.
    pub geometry_type: Option<String>,
    /// The layer's feature count (`query` `returnCountOnly`); `None` when it could not be read.
    pub feature_count: Option<i64>,
    pub has_attachments: bool,
    /// The service syncs and the layer's capabilities include `Sync`.
    pub sync_enabled: bool,
}

/// Why a create request does not fit the service. Each message is one line quoting the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScopeError {
    #[error("the service has no layer {0:?} (its layers: {1})")]
    UnknownLayer(String, String),
    #[error("the layer {0:?} does not sync (sync is not enabled for it on the service)")]
    LayerWithoutSync(String),
    #[error("choose at least one layer")]
    NoLayers,
    #[error("the service cannot convert wkid {from} to its spatial reference (wkid {to})")]
    Unconvertible { from: i64, to: i64 },
    #[error("the extent {area} is outside the service's full extent {full}")]
    OutsideService { area: String, full: String },
    #[error("{0}")]
    Area(#[from] super::work_area::WorkAreaError),
    #[error("the where clause {0:?} is not LAYER=CLAUSE")]
    BadWhere(String),
}

/// The layer-facing label used in lists: a geometry type without its `esriGeometry` prefix.
pub fn geometry_label(geometry_type: Option<&str>) -> &str {
    match geometry_type {
        None => "table",
        Some(t) => t.strip_prefix("esriGeometry").unwrap_or(t),
    }
}

impl ServiceFacts {
    /// The layer with this name (case-insensitive) or id.
    pub fn layer(&self, name_or_id: &str) -> Option<&LayerFacts> {
        let wanted = name_or_id.trim();
        self.layers
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(wanted))
            .or_else(|| {
                let id: i64 = wanted.parse().ok()?;
                self.layers.iter().find(|l| l.id == id)
            })
    }

    /// The ids of layers given by name or id, each existing and syncing, in the order given.
    pub fn resolve_layers<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<i64>, ScopeError> {
        if names.is_empty() {
            return Err(ScopeError::NoLayers);
        }
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let layer = self.layer(name).ok_or_else(|| {
                let known: Vec<String> = self
                    .layers
                    .iter()
                    .map(|l| format!("{} {}", l.id, l.name))
                    .collect();
                ScopeError::UnknownLayer(name.trim().to_string(), known.join(", "))
            })?;
            if !layer.sync_enabled {
                return Err(ScopeError::LayerWithoutSync(layer.name.clone()));
            }
            if !ids.contains(&layer.id) {
                ids.push(layer.id);
            }
        }
        Ok(ids)
    }

    /// The service's spatial reference (WGS84 when it does not say).
    pub fn sr(&self) -> Sr {
        Sr::from_wkid(
            self.wkid
                .unwrap_or(crate::protocol::spatial::sr::WGS84_WKID),
        )
    }

    /// Checks a work area: its shape, an SR the service converts exactly, and (when the
    /// service gives its full extent) that it overlaps the service's data.
    pub fn check_area(&self, area: &WorkArea) -> Result<(), ScopeError> {
        area.validate()?;
        let Some(bounds) = area.bounds() else {
            return Ok(());
        };
        let service_sr = self.sr();
        let area_sr = bounds.wkid.map(Sr::from_wkid).unwrap_or(service_sr);
        let Some(in_service_sr) = bounds.converted(area_sr, service_sr) else {
            return Err(ScopeError::Unconvertible {
                from: area_sr.wkid(),
                to: service_sr.wkid(),
            });
        };
        if let Some(full) = &self.full_extent {
            let full_sr = full.wkid.map(Sr::from_wkid).unwrap_or(service_sr);
            let full_in_service = full.converted(full_sr, service_sr).unwrap_or(*full);
            if !in_service_sr.intersects(&full_in_service) {
                return Err(ScopeError::OutsideService {
                    area: bounds.to_text(),
                    full: full.to_text(),
                });
            }
        }
        Ok(())
    }

    /// A replica name from the service and the area: `GridTown`, `GridTown-area`.
    pub fn suggested_name(&self, area: &WorkArea) -> String {
        let base: String = self
            .name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        let base = if base.is_empty() {
            "replica".into()
        } else {
            base
        };
        if area.is_whole_service() {
            base
        } else {
            format!("{base}-area")
        }
    }
}

/// Reads `LAYER=CLAUSE` (the first `=` splits; the clause may hold more).
pub fn parse_where(text: &str) -> Result<(String, String), ScopeError> {
    match text.split_once('=') {
        Some((layer, clause)) if !layer.trim().is_empty() && !clause.trim().is_empty() => {
            Ok((layer.trim().to_string(), clause.trim().to_string()))
        }
        _ => Err(ScopeError::BadWhere(text.to_string())),
    }
}

/// The service's name from its URL (the path segment before `FeatureServer`).
pub fn service_name_from_url(url: &str) -> String {
    let segments: Vec<&str> = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("FeatureServer"))
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| segments.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| "service".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ServiceFacts {
        let layer = |id, name: &str, sync| LayerFacts {
            id,
            name: name.into(),
            is_table: false,
            geometry_type: Some("esriGeometryPoint".into()),
            feature_count: Some(3),
            has_attachments: false,
            sync_enabled: sync,
        };
        ServiceFacts {
            service_url: "http://h/arcgis/rest/services/Grid Town/FeatureServer".into(),
            name: "Grid Town".into(),
            description: String::new(),
            wkid: Some(4326),
            full_extent: Some(Extent::parse("0,0,10,10,4326").unwrap()),
            sync_enabled: true,
            sync_capabilities: SyncCapabilities::default(),
            layers: vec![layer(0, "Poles", true), layer(4, "Old", false)],
        }
    }

    #[test]
    fn layers_by_name_or_id() {
        let f = facts();
        assert_eq!(f.resolve_layers(&["poles", "0"]).unwrap(), vec![0]);
        assert!(matches!(
            f.resolve_layers(&["Hydrants"]),
            Err(ScopeError::UnknownLayer(..))
        ));
        assert!(matches!(
            f.resolve_layers(&["Old"]),
            Err(ScopeError::LayerWithoutSync(_))
        ));
        assert_eq!(f.resolve_layers::<&str>(&[]), Err(ScopeError::NoLayers));
    }

    #[test]
    fn areas_are_checked_against_the_service() {
        let f = facts();
        let area = |t: &str| WorkArea::Extent(Extent::parse(t).unwrap());
        assert!(f.check_area(&area("1,1,2,2")).is_ok());
        assert!(
            f.check_area(&area("100000,100000,200000,200000,3857"))
                .is_ok()
        );
        assert!(matches!(
            f.check_area(&area("20,20,30,30")),
            Err(ScopeError::OutsideService { .. })
        ));
        assert!(matches!(
            f.check_area(&area("1,1,2,2,2229")),
            Err(ScopeError::Unconvertible { .. })
        ));
        assert_eq!(f.suggested_name(&area("1,1,2,2")), "Grid_Town-area");
        assert_eq!(f.suggested_name(&WorkArea::WholeService), "Grid_Town");
    }

    #[test]
    fn where_and_names() {
        assert_eq!(
            parse_where("Poles=RANK = 3").unwrap(),
            ("Poles".into(), "RANK = 3".into())
        );
        assert!(parse_where("Poles").is_err());
        assert_eq!(
            service_name_from_url("http://h:1/arcgis/rest/services/WaterNetwork/FeatureServer/"),
            "WaterNetwork"
        );
    }
}
