//! Reading a list of downloaded features one by one, so that one feature that cannot be read
//! (nested past serde_json's recursion limit, a wrong shape) is set aside as an
//! [`UnreadableFeature`] instead of failing the whole reply. Each feature is first taken as raw
//! JSON text (serde_json skips raw values without recursing, so any depth costs no stack), then
//! read on its own with a fresh recursion budget. What is skipped is named by its GlobalID when
//! one can still be read, else by its position. No I/O: the engine logs what was skipped.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A feature of a reply that could not be read and was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableFeature {
    /// The list it was in: `adds`, `updates` (sync downloads) or `features` (replica data).
    pub list: &'static str,
    /// Its 0-based position in that list.
    pub position: usize,
    /// Its GlobalID, when the attributes could still be read.
    pub global_id: Option<String>,
    /// Why it could not be read (serde_json's message).
    pub reason: String,
}

impl UnreadableFeature {
    /// Which feature of which layer could not be read, and why (one line).
    pub fn describe(&self, layer_id: i64) -> String {
        let which = match &self.global_id {
            Some(gid) => format!("feature {gid}"),
            None => format!(
                "the feature without a readable GlobalID at position {} of",
                self.position
            ),
        };
        format!(
            "{which} ({} of layer {layer_id}) could not be read: {}",
            self.list, self.reason
        )
    }
}

/// Raw features as they arrive, read one by one by [`read_features`].
pub(super) type RawFeatures = Vec<Box<RawValue>>;

/// Deserializes a list of raw features (for `#[serde(deserialize_with)]` on wire structs).
pub(super) fn raw_features<'de, D: Deserializer<'de>>(d: D) -> Result<RawFeatures, D::Error> {
    RawFeatures::deserialize(d)
}

/// Reads each raw feature as a `T` (the wire's `Feature`); the ones that cannot be read come
/// back as [`UnreadableFeature`]s.
pub(super) fn read_features<T: DeserializeOwned>(
    raw: RawFeatures,
    list: &'static str,
) -> (Vec<T>, Vec<UnreadableFeature>) {
    let mut features = Vec::with_capacity(raw.len());
    let mut unreadable = Vec::new();
    for (position, item) in raw.into_iter().enumerate() {
        match read_one::<T>(&item, list, position) {
            Ok(feature) => features.push(feature),
            Err(skipped) => unreadable.push(skipped),
        }
    }
    (features, unreadable)
}

/// Reads one raw feature as a `T`, or says why it cannot be read.
pub(super) fn read_one<T: DeserializeOwned>(
    item: &RawValue,
    list: &'static str,
    position: usize,
) -> Result<T, UnreadableFeature> {
    serde_json::from_str::<T>(item.get()).map_err(|e| UnreadableFeature {
        list,
        position,
        global_id: global_id_of(item.get()),
        reason: e.to_string(),
    })
}

/// The GlobalID of a feature whose whole cannot be read: only the attributes are read (any
/// other member, the geometry, is skipped without recursing).
fn global_id_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct AttributesOnly {
        #[serde(default)]
        attributes: serde_json::Map<String, serde_json::Value>,
    }
    let probe: AttributesOnly = serde_json::from_str(text).ok()?;
    probe
        .attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("globalid"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn one_unreadable_feature_is_set_aside_with_its_global_id() {
        let gid = "{7A0C2C24-5CA5-408F-8705-A23EF105F351}";
        let text = format!(
            r#"[{{"attributes":{{"GlobalID":"a"}}}},
                {{"geometry":{{"x":{}}},"attributes":{{"globalid":"{gid}"}}}},
                {{"attributes":{}}},
                {{"attributes":{{"GlobalID":"b"}}}}]"#,
            nested(10_000),
            nested(500)
        );
        let raw: RawFeatures = serde_json::from_str(&text).unwrap();
        let (features, unreadable) = read_features::<serde_json::Value>(raw, "adds");
        assert_eq!(features.len(), 2);
        assert_eq!(features[1]["attributes"]["GlobalID"], "b");
        assert_eq!(unreadable.len(), 2);
        assert_eq!(unreadable[0].global_id.as_deref(), Some(gid));
        assert_eq!(
            (unreadable[1].global_id.as_deref(), unreadable[1].position),
            (None, 2)
        );
        assert!(
            unreadable[0].reason.contains("recursion limit"),
            "{unreadable:?}"
        );
        assert!(unreadable[0].describe(3).contains(gid));
        assert!(unreadable[1].describe(3).contains("position 2"));
    }
}
