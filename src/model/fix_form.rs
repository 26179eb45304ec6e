//! What the attribute form of a refused edit shows ([`FixForm`]): the layer's fields in the
//! service's order with their schema (alias, type, domain, nullable, editable, length), the
//! feature's local values (the server version with the queued change laid over it), the
//! server's version ("new feature" for an add), the refusal (code, the server's text and the
//! field it names) and what live validation needs (the cached service and layer properties, the
//! editor, the unique values other features hold). The engine builds it from the replica file
//! (`Command::LoadFixForm`); the window edits values and judges them with the same rules the
//! service runs. Plain data: no I/O, no egui.
//!
//! Also [`FixValues`], what a saved form sends: built by [`FixForm::values`] the way
//! `ReplicaFile::fix_change` takes them (an add: every value; an update: the fields that differ
//! from the server's version).

use super::LocalReplicaId;
use crate::protocol::{
    Attributes, ChangeType, Domain, Feature, FeatureServiceInfo, FieldType, Guid, LayerInfo,
};
use serde_json::Value;

/// Which field of a layer, as the form shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub name: String,
    /// The alias, or the name when the service gives none.
    pub alias: String,
    pub field_type: FieldType,
    pub domain: Option<Domain>,
    pub nullable: bool,
    pub editable: bool,
    pub length: Option<i64>,
    /// ObjectID and GlobalID (and the owner field): the service maintains them.
    pub system: bool,
}

impl FormField {
    /// Shown but never edited: system fields and fields the layer does not let anyone edit.
    pub fn locked(&self) -> bool {
        self.system || !self.editable
    }
}

/// The refusal the form was opened for.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub code: Option<i64>,
    /// The server's text (or the predicted one).
    pub description: String,
    /// The field the text names (canonical name), when it names one of the layer's.
    pub field: Option<String>,
    pub predicted: bool,
}

/// One refused edit's attribute form, as loaded from the replica file.
#[derive(Debug, Clone, PartialEq)]
pub struct FixForm {
    pub replica: LocalReplicaId,
    pub layer_id: i64,
    pub layer_name: String,
    pub global_id: Guid,
    pub object_id: Option<i64>,
    /// Insert for a local add, update otherwise (a delete has no form).
    pub change_type: ChangeType,
    pub refused: Refused,
    /// The layer's fields in the service's order.
    pub fields: Vec<FormField>,
    /// The feature as the technician sees it (server version plus the queued change).
    pub local: Feature,
    /// The server's version; `None` for a new feature (a local add).
    pub server: Option<Feature>,
    /// The cached service and layer properties the rules judge with.
    pub service: FeatureServiceInfo,
    pub layer: LayerInfo,
    /// Who the replica edits as (`None`: not known, ownership is then not judged).
    pub editor: Option<String>,
    /// For each unique field: the values other features of this replica hold.
    pub unique_taken: Vec<(String, Vec<Value>)>,
}

/// What the form sends with `Command::FixEdit`.
#[derive(Debug, Clone, PartialEq)]
pub struct FixValues {
    pub attributes: Attributes,
    /// `None` keeps the queued geometry; the server's geometry takes back a geometry change.
    pub geometry: Option<Value>,
}

impl FixForm {
    /// The field a refusal's text names ("Field: STATUS is not nullable", "Setting of value for
    /// ZONING failed"), as the layer spells it.
    pub fn field_named_in(layer: &LayerInfo, description: &str) -> Option<String> {
        let hint = field_hint(description)?;
        layer.field(&hint).map(|f| f.name.clone())
    }

    /// The fields of `layer` as the form shows them.
    pub fn form_fields(layer: &LayerInfo) -> Vec<FormField> {
        layer
            .fields
            .iter()
            .filter(|f| !matches!(f.field_type, FieldType::Geometry | FieldType::Blob))
            .map(|f| FormField {
                name: f.name.clone(),
                alias: f
                    .alias
                    .clone()
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| f.name.clone()),
                field_type: f.field_type.clone(),
                domain: f.domain.clone(),
                nullable: f.nullable,
                editable: f.editable,
                length: f.length,
                system: layer.is_system_field(&f.name)
                    || matches!(f.field_type, FieldType::Oid | FieldType::GlobalId)
                    || Some(f.name.as_str()) == layer.owner_field(),
            })
            .collect()
    }

    /// The local value of a field (`null` when the feature has none).
    pub fn local_value(&self, name: &str) -> Value {
        self.local.attr_ci(name).cloned().unwrap_or(Value::Null)
    }

    /// The server's value of a field; `None` for a new feature.
    pub fn server_value(&self, name: &str) -> Option<Value> {
        self.server
            .as_ref()
            .map(|s| s.attr_ci(name).cloned().unwrap_or(Value::Null))
    }

    pub fn is_add(&self) -> bool {
        self.change_type == ChangeType::Insert
    }

    /// What a save sends for these edited values (`values`: field name → value, every field of
    /// the form) and geometry (`None`: as queued). An add sends every non-null value of a field
    /// that is not the service's; an update the fields whose value differs from the server's.
    pub fn values(&self, values: &[(String, Value)], geometry: Option<Value>) -> FixValues {
        let mut attributes = Attributes::new();
        for (name, value) in values {
            let Some(field) = self.fields.iter().find(|f| &f.name == name) else {
                continue;
            };
            if field.system {
                continue;
            }
            if self.is_add() {
                if !value.is_null() {
                    attributes.insert(name.clone(), value.clone());
                }
            } else if !same_value(&self.server_value(name).unwrap_or(Value::Null), value) {
                attributes.insert(name.clone(), value.clone());
            }
        }
        FixValues {
            attributes,
            geometry,
        }
    }

    /// The feature the service would receive for these values: the attributes of
    /// [`FixForm::values`] with the GlobalID, and the geometry as it would be queued.
    pub fn wire_feature(&self, fix: &FixValues) -> Feature {
        let mut attributes = fix.attributes.clone();
        attributes.insert(
            self.layer.global_id_field_name().to_string(),
            Value::String(self.global_id.as_str().to_string()),
        );
        let geometry = match &fix.geometry {
            Some(g) => Some(g.clone()),
            None if self.is_add() => self.local.geometry.clone(),
            // An update sends the queued geometry only when it differs from the server's.
            None => self
                .local
                .geometry
                .clone()
                .filter(|g| Some(g) != self.server.as_ref().and_then(|s| s.geometry.as_ref())),
        };
        Feature {
            attributes,
            geometry,
        }
    }
}

/// Numbers compare by value (`5` equals `5.0`), everything else exactly.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Guesses the field an error is about from its description ("Field: STATUS is not nullable",
/// "Setting of value for ZONING failed").
pub fn field_hint(description: &str) -> Option<String> {
    let after = description
        .split_once("Field: ")
        .map(|(_, rest)| rest)
        .or_else(|| description.split_once("value for ").map(|(_, rest)| rest))
        .or_else(|| description.split_once("field: ").map(|(_, rest)| rest))?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_hints() {
        assert_eq!(
            field_hint("Field: STATUS is not nullable. Cannot set null value.").as_deref(),
            Some("STATUS")
        );
        assert_eq!(
            field_hint("Setting of value for ZONING failed.").as_deref(),
            Some("ZONING")
        );
        assert_eq!(field_hint("Geometry has no z values"), None);
    }

    #[test]
    fn same_values_compare_numbers_by_value() {
        assert!(same_value(&json!(5), &json!(5.0)));
        assert!(!same_value(&json!("5"), &json!(5)));
        assert!(same_value(&Value::Null, &Value::Null));
    }
}
