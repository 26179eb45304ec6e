//! The spatial relations a query (`spatialRel`) or a replica's work area tests between the
//! filter geometry and a feature's geometry, both in one spatial reference. No I/O.

use super::shape::Shape;
use geo::{Contains, Intersects};

/// `spatialRel`: how a feature must relate to the filter geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpatialRel {
    /// The two geometries share at least one point (boundaries included).
    #[default]
    Intersects,
    /// Their bounding rectangles intersect.
    EnvelopeIntersects,
    /// The feature contains the filter geometry.
    Contains,
    /// The feature lies within the filter geometry.
    Within,
}

impl SpatialRel {
    /// The wire spelling (`esriSpatialRelIntersects`, …), case-insensitive.
    pub fn parse(text: &str) -> Option<SpatialRel> {
        let relations = [
            ("esriSpatialRelIntersects", SpatialRel::Intersects),
            (
                "esriSpatialRelEnvelopeIntersects",
                SpatialRel::EnvelopeIntersects,
            ),
            ("esriSpatialRelContains", SpatialRel::Contains),
            ("esriSpatialRelWithin", SpatialRel::Within),
        ];
        relations
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, rel)| *rel)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpatialRel::Intersects => "esriSpatialRelIntersects",
            SpatialRel::EnvelopeIntersects => "esriSpatialRelEnvelopeIntersects",
            SpatialRel::Contains => "esriSpatialRelContains",
            SpatialRel::Within => "esriSpatialRelWithin",
        }
    }

    /// Whether `feature` relates to `filter` this way.
    pub fn holds(self, filter: &Shape, feature: &Shape) -> bool {
        match self {
            SpatialRel::Intersects => filter.0.intersects(&feature.0),
            SpatialRel::EnvelopeIntersects => match (filter.bbox(), feature.bbox()) {
                (Some(a), Some(b)) => a.intersects(&b),
                _ => false,
            },
            SpatialRel::Contains => feature.0.contains(&filter.0),
            SpatialRel::Within => filter.0.contains(&feature.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::spatial::shape::parse_filter;

    fn shape(json: &str) -> Shape {
        parse_filter(json, None).unwrap().shape
    }

    #[test]
    fn intersects_points_lines_polygons_with_an_envelope() {
        let area = shape("0,0,10,10");
        assert!(SpatialRel::Intersects.holds(&area, &shape(r#"{"x":10,"y":5}"#)));
        assert!(!SpatialRel::Intersects.holds(&area, &shape(r#"{"x":10.1,"y":5}"#)));
        // A line crossing the envelope with no vertex inside it.
        assert!(SpatialRel::Intersects.holds(&area, &shape(r#"{"paths":[[[-5,5],[15,5]]]}"#)));
        assert!(!SpatialRel::Intersects.holds(&area, &shape(r#"{"paths":[[[-5,11],[15,11]]]}"#)));
        // A polygon holding the whole envelope.
        let big = shape(r#"{"rings":[[[-50,-50],[-50,50],[50,50],[50,-50],[-50,-50]]]}"#);
        assert!(SpatialRel::Intersects.holds(&area, &big));
        assert!(SpatialRel::Contains.holds(&area, &big));
        assert!(!SpatialRel::Within.holds(&area, &big));
        // A diagonal line whose bounding box meets the envelope but the line does not.
        let diagonal = shape(r#"{"paths":[[[11,0],[20,-9]]]}"#);
        let corner = shape(r#"{"paths":[[[8,-1],[12,3]]]}"#);
        assert!(!SpatialRel::Intersects.holds(&area, &diagonal));
        assert!(SpatialRel::Intersects.holds(&area, &corner));
        let near = shape(r#"{"paths":[[[9,-5],[20,5]]]}"#);
        assert!(!SpatialRel::Intersects.holds(&area, &near));
        assert!(SpatialRel::EnvelopeIntersects.holds(&area, &near));
    }

    #[test]
    fn spellings() {
        assert_eq!(
            SpatialRel::parse("esrispatialrelintersects"),
            Some(SpatialRel::Intersects)
        );
        assert_eq!(SpatialRel::parse("esriSpatialRelTouches"), None);
    }
}
