//! The work area a replica is made for: the whole service, an extent (typed or drawn, in any
//! spatial reference the service can convert), or a polygon. Owns reading an extent from text
//! (`xmin,ymin,xmax,ymax[,wkid]`), refusing an inverted, empty or non-finite one, the
//! createReplica `geometry`/`geometryType`/`inSR` it becomes, and its one-line text.
//!
//! The [`Extent`] rectangle itself is `extent.rs`; this file adds its checks and text (an
//! extent's `wkid` `None` means the service's own spatial reference here).
//!
//! What it must not do: I/O, or judge the area against a service (that is
//! `service_facts::ServiceFacts::check_area`, which knows the service's extent and SR).

use super::extent::Extent;
use crate::protocol::spatial::Sr;
use serde::{Deserialize, Serialize};

/// Where a replica's features come from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkArea {
    /// Every feature of the chosen layers.
    #[default]
    WholeService,
    /// The features intersecting an envelope.
    Extent(Extent),
    /// The features intersecting a polygon (ArcGIS rings: clockwise outer rings).
    Polygon {
        rings: Vec<Vec<[f64; 2]>>,
        /// `None`: the service's own spatial reference.
        wkid: Option<i64>,
    },
}

/// Why a work area cannot be used. Each message stands on its own and quotes the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkAreaError {
    #[error(
        "the extent {0:?} is not xmin,ymin,xmax,ymax[,wkid] (four numbers and an optional wkid)"
    )]
    Unreadable(String),
    #[error(
        "the extent is inverted (xmin {xmin} > xmax {xmax} or ymin {ymin} > ymax {ymax}): give xmin,ymin,xmax,ymax"
    )]
    Inverted {
        xmin: f64,
        ymin: f64,
        xmax: f64,
        ymax: f64,
    },
    #[error("the extent is empty (its width or height is 0): a work area needs an area")]
    Empty,
    #[error("the extent has a coordinate that is not a finite number")]
    NotFinite,
    #[error("the polygon needs at least one ring of 4 or more vertices")]
    BadPolygon,
}

impl Extent {
    /// A checked extent: finite, not inverted, not empty.
    pub fn new(
        xmin: f64,
        ymin: f64,
        xmax: f64,
        ymax: f64,
        wkid: Option<i64>,
    ) -> Result<Extent, WorkAreaError> {
        let extent = Extent {
            xmin,
            ymin,
            xmax,
            ymax,
            wkid,
        };
        extent.validate()?;
        Ok(extent)
    }

    /// Reads `xmin,ymin,xmax,ymax[,wkid]` (spaces allowed) and checks it.
    pub fn parse(text: &str) -> Result<Extent, WorkAreaError> {
        let unreadable = || WorkAreaError::Unreadable(text.chars().take(120).collect());
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() != 4 && parts.len() != 5 {
            return Err(unreadable());
        }
        let mut numbers = [0.0_f64; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            *slot = part.parse::<f64>().map_err(|_| unreadable())?;
        }
        let wkid = match parts.get(4) {
            Some(w) => Some(w.parse::<i64>().map_err(|_| unreadable())?),
            None => None,
        };
        let [xmin, ymin, xmax, ymax] = numbers;
        Extent::new(xmin, ymin, xmax, ymax, wkid)
    }

    /// Finite, not inverted, with a width and a height.
    pub fn validate(&self) -> Result<(), WorkAreaError> {
        let Extent {
            xmin,
            ymin,
            xmax,
            ymax,
            ..
        } = *self;
        if ![xmin, ymin, xmax, ymax].iter().all(|v| v.is_finite()) {
            return Err(WorkAreaError::NotFinite);
        }
        if xmin > xmax || ymin > ymax {
            return Err(WorkAreaError::Inverted {
                xmin,
                ymin,
                xmax,
                ymax,
            });
        }
        if xmin == xmax || ymin == ymax {
            return Err(WorkAreaError::Empty);
        }
        Ok(())
    }

    /// This extent's corners converted to `to` (from `from`, its own SR when it names none);
    /// `None` when the conversion is not exact.
    pub fn converted(&self, from: Sr, to: Sr) -> Option<Extent> {
        let conversion = from.to(to).ok()?;
        let (xmin, ymin) = conversion.point(self.xmin, self.ymin);
        let (xmax, ymax) = conversion.point(self.xmax, self.ymax);
        Some(Extent {
            xmin,
            ymin,
            xmax,
            ymax,
            wkid: Some(to.wkid()),
        })
    }

    /// `xmin,ymin,xmax,ymax` with the wkid when one is named.
    pub fn to_text(&self) -> String {
        let corners = format!("{},{},{},{}", self.xmin, self.ymin, self.xmax, self.ymax);
        match self.wkid {
            Some(w) => format!("{corners},{w}"),
            None => corners,
        }
    }
}

/// The createReplica (or query) geometry of an area: `geometry`, `geometryType`, and `inSR`
/// when the area names one.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaGeometry {
    pub geometry: String,
    pub geometry_type: &'static str,
    pub in_sr: Option<String>,
}

impl WorkArea {
    /// Checks the area's shape (the whole service is always fine).
    pub fn validate(&self) -> Result<(), WorkAreaError> {
        match self {
            WorkArea::WholeService => Ok(()),
            WorkArea::Extent(e) => e.validate(),
            WorkArea::Polygon { rings, .. } => {
                let usable = rings.iter().any(|r| r.len() >= 4)
                    && rings
                        .iter()
                        .flatten()
                        .all(|p| p[0].is_finite() && p[1].is_finite());
                if usable {
                    Ok(())
                } else {
                    Err(WorkAreaError::BadPolygon)
                }
            }
        }
    }

    pub fn is_whole_service(&self) -> bool {
        matches!(self, WorkArea::WholeService)
    }

    /// The spatial reference the area names, if any.
    pub fn wkid(&self) -> Option<i64> {
        match self {
            WorkArea::WholeService => None,
            WorkArea::Extent(e) => e.wkid,
            WorkArea::Polygon { wkid, .. } => *wkid,
        }
    }

    /// The geometry parameters to send; `None` for the whole service.
    pub fn geometry(&self) -> Option<AreaGeometry> {
        let in_sr = self.wkid().map(|w| w.to_string());
        match self {
            WorkArea::WholeService => None,
            WorkArea::Extent(e) => Some(AreaGeometry {
                geometry: format!("{},{},{},{}", e.xmin, e.ymin, e.xmax, e.ymax),
                geometry_type: "esriGeometryEnvelope",
                in_sr,
            }),
            WorkArea::Polygon { rings, .. } => Some(AreaGeometry {
                geometry: serde_json::json!({ "rings": rings }).to_string(),
                geometry_type: "esriGeometryPolygon",
                in_sr,
            }),
        }
    }

    /// The area's bounding extent (`None` for the whole service or an empty polygon).
    pub fn bounds(&self) -> Option<Extent> {
        match self {
            WorkArea::WholeService => None,
            WorkArea::Extent(e) => Some(*e),
            WorkArea::Polygon { rings, wkid } => {
                let mut points = rings.iter().flatten();
                let first = points.next()?;
                let mut b = Extent {
                    xmin: first[0],
                    ymin: first[1],
                    xmax: first[0],
                    ymax: first[1],
                    wkid: *wkid,
                };
                for p in points {
                    b.xmin = b.xmin.min(p[0]);
                    b.ymin = b.ymin.min(p[1]);
                    b.xmax = b.xmax.max(p[0]);
                    b.ymax = b.ymax.max(p[1]);
                }
                Some(b)
            }
        }
    }

    /// One line for the overview and the CLI: `whole service`, `extent 1,2,3,4 (wkid 4326)`.
    pub fn text(&self) -> String {
        let sr = |wkid: Option<i64>| match wkid {
            Some(w) => format!(" (wkid {w})"),
            None => String::new(),
        };
        match self {
            WorkArea::WholeService => "whole service".into(),
            WorkArea::Extent(e) => format!(
                "extent {},{},{},{}{}",
                e.xmin,
                e.ymin,
                e.xmax,
                e.ymax,
                sr(e.wkid)
            ),
            WorkArea::Polygon { rings, wkid } => {
                let n = rings.len();
                let plural = if n == 1 { "" } else { "s" };
                format!("polygon, {n} ring{plural}{}", sr(*wkid))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_are_read_and_checked() {
        let e = Extent::parse(" -122.6, 45.5, -122.5 ,45.6 ,4326").unwrap();
        assert_eq!((e.xmin, e.ymax, e.wkid), (-122.6, 45.6, Some(4326)));
        assert_eq!(Extent::parse("0,0,1,1").unwrap().wkid, None);
        assert!(matches!(
            Extent::parse("1,0,0,1"),
            Err(WorkAreaError::Inverted { .. })
        ));
        assert_eq!(Extent::parse("0,0,0,1"), Err(WorkAreaError::Empty));
        assert!(matches!(
            Extent::parse("0,0,1"),
            Err(WorkAreaError::Unreadable(_))
        ));
        assert!(matches!(
            Extent::parse("0,0,1,x"),
            Err(WorkAreaError::Unreadable(_))
        ));
        assert_eq!(Extent::parse("0,0,inf,1"), Err(WorkAreaError::NotFinite));
    }

    #[test]
    fn areas_become_create_geometry() {
        assert_eq!(WorkArea::WholeService.geometry(), None);
        let area = WorkArea::Extent(Extent::parse("1,2,3,4,3857").unwrap());
        let g = area.geometry().unwrap();
        assert_eq!(g.geometry, "1,2,3,4");
        assert_eq!(g.geometry_type, "esriGeometryEnvelope");
        assert_eq!(g.in_sr.as_deref(), Some("3857"));
        assert_eq!(area.text(), "extent 1,2,3,4 (wkid 3857)");
        let polygon = WorkArea::Polygon {
            rings: vec![vec![[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]],
            wkid: None,
        };
        assert!(polygon.validate().is_ok());
        assert_eq!(polygon.bounds().unwrap().xmax, 1.0);
        assert!(polygon.geometry().unwrap().geometry.contains("rings"));
        let json = serde_json::to_string(&area).unwrap();
        assert_eq!(serde_json::from_str::<WorkArea>(&json).unwrap(), area);
    }

    #[test]
    fn conversion_between_wgs84_and_mercator() {
        let e = Extent::parse("-1,-1,1,1,4326").unwrap();
        let m = e.converted(Sr::Wgs84, Sr::WebMercator).unwrap();
        assert!(m.xmax > 100_000.0 && m.wkid == Some(3857));
        assert!(e.converted(Sr::Wgs84, Sr::Other(2229)).is_none());
    }
}
