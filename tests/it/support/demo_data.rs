//! Features of the demo water network (`assets/demo/service.json`) that tests refer to by
//! GlobalID, and the one way tests build attribute maps and GlobalIDs.

use serde_json::Value;
use syncwatch::protocol::{Attributes, Guid};

/// Demo hydrants HYD-0001 … HYD-0004 (layer 0, Hydrants).
pub const HYD_1: &str = "{9DFB369B-AB13-4FAE-A276-55DAA05F1119}";
pub const HYD_2: &str = "{5CBD0BA3-A1A6-4CDE-BA12-4C647E02FF05}";
pub const HYD_3: &str = "{6424550A-E36B-49B3-9DCB-369D2330FCF1}";
pub const HYD_4: &str = "{F3194A3B-381E-43E7-952C-466E473A1797}";
/// Demo main MN-0001 (layer 2, a straight main; the layer does not allow true curve updates).
pub const MN_1: &str = "{D68E4A38-6EEF-479C-AD74-D97EDCDE76C6}";
/// Demo valve VLV-0001 (layer 1, geometry updates off).
pub const VLV_1: &str = "{C8493A1C-0F26-41F7-B5EA-5F24C6035E55}";
/// A demo inspection (layer 3) whose inspector (owner) is tech2.
pub const TECH2_INSPECTION: &str = "{18CEE579-ACBD-4248-AB1A-F191EEF9919F}";

/// A JSON object as an attribute map (anything else is empty).
pub fn attrs(value: Value) -> Attributes {
    value.as_object().cloned().unwrap_or_default()
}

/// A GlobalID written in a test (panics on a malformed one).
pub fn gid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}
