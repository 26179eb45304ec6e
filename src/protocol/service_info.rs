//! Feature service root and layer resources: the properties a client needs to know which edits
//! a service will accept (docs/arcgis-sync.md §3). Unknown fields are ignored; absent flags take the
//! documented defaults.

use super::error::{CarriesServiceError, ServiceError};
use super::lenient::{
    bool_or_text, bool_or_text_default_true, opt_bool_or_text, opt_int_or_text, yes,
};
use serde::{Deserialize, Serialize};

/// `syncCapabilities` of the service root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCapabilities {
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_async: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_registering_existing_data: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_sync_direction_control: bool,
    /// False when absent (documented default).
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_per_layer_sync: bool,
    /// True when absent (documented default).
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub supports_per_replica_sync: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_sync_model_none: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_rollback_on_failure: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_attachments_sync_direction: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_bi_directional_sync_for_server: bool,
    /// The version of syncwatch's own delta format a `dataFormat=sqlite` result is written in
    /// (a syncwatch reference-service extension; absent on ArcGIS services, whose SQLite result
    /// is an Esri mobile geodatabase).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub syncwatch_delta_format: Option<i64>,
}

impl Default for SyncCapabilities {
    fn default() -> Self {
        SyncCapabilities {
            supports_async: false,
            supports_registering_existing_data: false,
            supports_sync_direction_control: false,
            supports_per_layer_sync: false,
            supports_per_replica_sync: true,
            supports_sync_model_none: false,
            supports_rollback_on_failure: false,
            supports_attachments_sync_direction: false,
            supports_bi_directional_sync_for_server: false,
            syncwatch_delta_format: None,
        }
    }
}

/// `editorTrackingInfo` / `ownershipBasedAccessControlForFeatures`: who may edit whose features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EditorTrackingInfo {
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enable_editor_tracking: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enable_ownership_access_control: bool,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub allow_others_to_query: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_others_to_update: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_others_to_delete: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_anonymous_to_update: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_anonymous_to_delete: bool,
}

/// `xssPreventionInfo`: the untrusted-HTML filter behind error 1006.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct XssPreventionInfo {
    #[serde(default, deserialize_with = "bool_or_text")]
    pub xss_prevention_enabled: bool,
    #[serde(default)]
    pub xss_prevention_rule: String,
    #[serde(default)]
    pub xss_input_rule: String,
}

/// A layer or table entry in the service root's `layers` / `tables` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LayerRef {
    #[serde(deserialize_with = "super::lenient::opt_int_or_text", default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
}

/// The FeatureServer root resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FeatureServiceInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<serde_json::Value>,
    #[serde(default)]
    pub service_description: String,
    #[serde(default)]
    pub capabilities: String,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub sync_enabled: bool,
    #[serde(default)]
    pub sync_capabilities: SyncCapabilities,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_disconnected_editing: bool,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub allow_geometry_updates: bool,
    #[serde(
        default,
        deserialize_with = "opt_bool_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_true_curves_updates: Option<bool>,
    #[serde(
        default,
        deserialize_with = "opt_int_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_record_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_extent: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor_tracking_info: Option<EditorTrackingInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xss_prevention_info: Option<XssPreventionInfo>,
    #[serde(default)]
    pub layers: Vec<LayerRef>,
    #[serde(default)]
    pub tables: Vec<LayerRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

impl FeatureServiceInfo {
    /// The comma-separated capabilities contain `name` (case-insensitive).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .split(',')
            .any(|c| c.trim().eq_ignore_ascii_case(name))
    }

    /// Geometry updates allowed on this layer. The layer resource carries the effective value
    /// (its own setting, else the service's), so that is what counts.
    pub fn allows_geometry_updates(&self, layer: &LayerInfo) -> bool {
        layer.allow_geometry_updates
    }

    /// HTML filtering with `rejectInvalid` (any input rule but `sanitizeInvalid`) is on: text
    /// with untrusted HTML is refused with 1006.
    pub fn rejects_untrusted_html(&self) -> bool {
        self.xss_prevention_info.as_ref().is_some_and(|x| {
            x.xss_prevention_enabled && !x.xss_input_rule.eq_ignore_ascii_case("sanitizeInvalid")
        })
    }
}

impl CarriesServiceError for FeatureServiceInfo {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

/// Field types (`esriFieldType*`); anything else is kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    #[serde(rename = "esriFieldTypeOID")]
    Oid,
    #[serde(rename = "esriFieldTypeGlobalID")]
    GlobalId,
    #[serde(rename = "esriFieldTypeGUID")]
    Guid,
    #[serde(rename = "esriFieldTypeString")]
    String,
    #[serde(rename = "esriFieldTypeSmallInteger")]
    SmallInteger,
    #[serde(rename = "esriFieldTypeInteger")]
    Integer,
    #[serde(rename = "esriFieldTypeBigInteger")]
    BigInteger,
    #[serde(rename = "esriFieldTypeSingle")]
    Single,
    #[serde(rename = "esriFieldTypeDouble")]
    Double,
    #[serde(rename = "esriFieldTypeDate")]
    Date,
    #[serde(rename = "esriFieldTypeGeometry")]
    Geometry,
    #[serde(rename = "esriFieldTypeBlob")]
    Blob,
    #[serde(untagged)]
    Other(String),
}

/// A field's domain: coded values or a numeric range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Domain {
    #[serde(rename = "codedValue")]
    CodedValue {
        #[serde(default)]
        name: String,
        #[serde(rename = "codedValues", default)]
        coded_values: Vec<CodedValue>,
    },
    #[serde(rename = "range")]
    Range {
        #[serde(default)]
        name: String,
        range: [f64; 2],
    },
    #[serde(rename = "inherited")]
    Inherited,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedValue {
    pub name: String,
    pub code: serde_json::Value,
}

/// A layer field with the properties that decide 1001, 1016, 1023.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_int_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub length: Option<i64>,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub nullable: bool,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub editable: bool,
    #[serde(
        default,
        deserialize_with = "lenient_domain",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain: Option<Domain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
}

fn lenient_domain<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Domain>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}

/// An attribute index; `isUnique` indexes produce 1022 on violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub name: String,
    /// Comma-separated field names.
    #[serde(default)]
    pub fields: String,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub is_ascending: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub is_unique: bool,
    #[serde(default)]
    pub description: String,
}

impl Index {
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
    }
}

/// `ownershipBasedAccessControlForFeatures` on a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OwnershipAccessControl {
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub allow_others_to_query: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_others_to_update: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_others_to_delete: bool,
}

/// `editFieldsInfo`: which fields hold creator and editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EditFieldsInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_date_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor_field: Option<String>,
}

/// A layer or table resource (`…/FeatureServer/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    #[serde(default, deserialize_with = "opt_int_or_text")]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    /// "Feature Layer" or "Table".
    #[serde(rename = "type", default)]
    pub layer_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub has_z: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub has_m: bool,
    #[serde(default)]
    pub object_id_field: String,
    #[serde(default)]
    pub global_id_field: String,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub indexes: Vec<Index>,
    #[serde(default = "yes", deserialize_with = "bool_or_text_default_true")]
    pub allow_geometry_updates: bool,
    #[serde(
        default,
        deserialize_with = "opt_bool_or_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_true_curves_updates: Option<bool>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enable_z_defaults: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_default: Option<f64>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub allow_update_without_m_values: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub has_attachments: bool,
    /// Largest attachment the layer accepts, in bytes (a syncwatch reference-service extension;
    /// absent on ArcGIS services).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub max_attachment_size: Option<i64>,
    /// Content types the layer accepts for attachments; empty means any (syncwatch extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_content_types: Vec<String>,
    #[serde(default)]
    pub capabilities: String,
    /// The most features one query page returns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_int_or_text"
    )]
    pub max_record_count: Option<i64>,
    /// The query's reply formats, as ArcGIS lists them (`JSON, geoJSON`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_query_formats: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_query_capabilities: Option<AdvancedQueryCapabilities>,
    /// The layer's extent (with its `spatialReference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_fields_info: Option<EditFieldsInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_based_access_control_for_features: Option<OwnershipAccessControl>,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_rollback_on_failure_parameter: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub supports_apply_edits_with_global_ids: bool,
    #[serde(default, deserialize_with = "bool_or_text")]
    pub is_data_versioned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
}

/// What a layer's `query` supports beyond the basics (`advancedQueryCapabilities`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AdvancedQueryCapabilities {
    /// `resultOffset` / `resultRecordCount` paging.
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_pagination: bool,
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_order_by: bool,
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_query_with_distance: bool,
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_returning_query_extent: bool,
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_statistics: bool,
    #[serde(deserialize_with = "bool_or_text")]
    pub supports_distinct: bool,
}

/// The GlobalID field's name when a layer resource does not say.
pub const DEFAULT_GLOBAL_ID_FIELD: &str = "GlobalID";
/// The object id field's name when a layer resource does not say.
pub const DEFAULT_OBJECT_ID_FIELD: &str = "OBJECTID";

impl LayerInfo {
    /// A field by name, compared case-insensitively as ArcGIS does.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// A table (no geometry) rather than a feature layer.
    pub fn is_table(&self) -> bool {
        self.geometry_type.is_none()
    }

    /// The GlobalID field's name (`GlobalID` when the resource does not name one).
    pub fn global_id_field_name(&self) -> &str {
        non_empty_or(&self.global_id_field, DEFAULT_GLOBAL_ID_FIELD)
    }

    /// The object id or GlobalID field (any case): maintained by the service, never edited.
    pub fn is_system_field(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(non_empty_or(&self.object_id_field, DEFAULT_OBJECT_ID_FIELD))
            || name.eq_ignore_ascii_case(self.global_id_field_name())
    }

    /// Fields covered by a unique index (canonical names), except the system fields: their
    /// values are the service's to assign.
    pub fn unique_fields(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .indexes
            .iter()
            .filter(|i| i.is_unique)
            .flat_map(|i| i.field_names().collect::<Vec<_>>())
            .filter(|n| !self.is_system_field(n))
            .filter_map(|n| self.field(n).map(|f| f.name.clone()))
            .collect();
        names.dedup();
        names
    }

    /// The field holding each feature's owner (the creator field), when ownership-based access
    /// control is on.
    pub fn owner_field(&self) -> Option<&str> {
        self.ownership_based_access_control_for_features.as_ref()?;
        self.edit_fields_info
            .as_ref()?
            .creator_field
            .as_deref()
            .filter(|f| !f.is_empty())
    }
}

fn non_empty_or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

impl CarriesServiceError for LayerInfo {
    fn take_service_error(&mut self) -> Option<ServiceError> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture-shaped service root: capability text, sync flags as text, documented defaults.
    #[test]
    fn service_root_defaults_and_text_flags() {
        let text = r#"{"currentVersion":10.81,"capabilities":"Create,Delete,Query,Update,Editing,Sync",
            "syncEnabled":"true","syncCapabilities":{"supportsAsync":true,"supportsRollbackOnFailure":"false"},
            "xssPreventionInfo":{"xssPreventionEnabled":true,"xssPreventionRule":"InputOnly","xssInputRule":"rejectInvalid"},
            "layers":[{"id":0,"name":"Hydrants","geometryType":"esriGeometryPoint"}],"tables":[{"id":2,"name":"Inspections"}],
            "somethingNew":{"x":1}}"#;
        let info: FeatureServiceInfo = serde_json::from_str(text).unwrap();
        assert!(
            info.sync_enabled && info.has_capability("sync") && !info.has_capability("Uploads")
        );
        assert!(info.sync_capabilities.supports_async);
        assert!(
            !info.sync_capabilities.supports_per_layer_sync,
            "false if absent"
        );
        assert!(
            info.sync_capabilities.supports_per_replica_sync,
            "true if absent"
        );
        assert_eq!(
            info.xss_prevention_info.as_ref().unwrap().xss_input_rule,
            "rejectInvalid"
        );
        assert_eq!(info.tables[0].id, Some(2));
        let again: FeatureServiceInfo =
            serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn layer_fields_indexes_and_domains() {
        let text = r#"{"id":0,"name":"Hydrants","type":"Feature Layer","geometryType":"esriGeometryPoint",
            "hasZ":false,"hasM":"true","objectIdField":"OBJECTID","globalIdField":"GlobalID",
            "fields":[{"name":"OBJECTID","type":"esriFieldTypeOID","nullable":false,"editable":false},
                      {"name":"Depth","type":"esriFieldTypeDouble","nullable":false,"domain":{"type":"range","name":"d","range":[0,50]}},
                      {"name":"Status","type":"esriFieldTypeString","length":16,
                       "domain":{"type":"codedValue","name":"s","codedValues":[{"name":"In service","code":"IS"}]}},
                      {"name":"Odd","type":"esriFieldTypeRaster","domain":{"type":"weird"}}],
            "indexes":[{"name":"FDO_GlobalID","fields":"GlobalID","isUnique":true}],
            "allowGeometryUpdates":false,
            "ownershipBasedAccessControlForFeatures":{"allowOthersToUpdate":false,"allowOthersToDelete":false}}"#;
        let layer: LayerInfo = serde_json::from_str(text).unwrap();
        assert!(layer.has_m && !layer.has_z && !layer.allow_geometry_updates);
        let depth = layer.field("depth").unwrap();
        assert!(!depth.nullable && depth.editable);
        assert!(matches!(
            depth.domain,
            Some(Domain::Range {
                range: [0.0, 50.0],
                ..
            })
        ));
        assert_eq!(layer.field("Status").unwrap().length, Some(16));
        assert_eq!(
            layer.field("Odd").unwrap().field_type,
            FieldType::Other("esriFieldTypeRaster".into())
        );
        assert!(
            layer.field("Odd").unwrap().domain.is_none(),
            "unknown domain kinds are dropped, not fatal"
        );
        assert!(layer.indexes[0].is_unique);
        assert_eq!(
            layer.indexes[0].field_names().collect::<Vec<_>>(),
            vec!["GlobalID"]
        );
        let again: LayerInfo =
            serde_json::from_str(&serde_json::to_string(&layer).unwrap()).unwrap();
        assert_eq!(again.fields.len(), 4);
    }
}
