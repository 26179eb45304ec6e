//! The service definition file: which layers and tables the reference service publishes, their
//! fields and rules (nullable, editable, length, domain, unique indexes, z/m, geometry updates,
//! ownership, HTML filtering, attachments and their limits, true curves), its users (password
//! hashes, fixed tokens), OAuth apps and federation, and seed features. Owns parsing and validation of that file and turning it into the wire
//! resources (`FeatureServiceInfo`, `LayerInfo`). It must not touch the database: seeding is
//! `db::seed`'s job.
//! Format: `docs/service-definition.md`.

use crate::protocol::{
    AdvancedQueryCapabilities, EditFieldsInfo, Feature, FeatureServiceInfo, Field, FieldType,
    Index, LayerInfo, LayerRef, OwnershipAccessControl, SyncCapabilities, XssPreventionInfo,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The field every layer has as its object id.
pub const OBJECT_ID_FIELD: &str = "OBJECTID";
/// The field every layer has as its GlobalID.
pub const GLOBAL_ID_FIELD: &str = "GlobalID";
/// The most features one query page returns (the service's and every layer's `maxRecordCount`).
pub const MAX_RECORD_COUNT: i64 = 2000;

/// Largest attachment a layer with `hasAttachments` accepts when it declares no
/// `maxAttachmentSize`.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

/// The demo water network, used when no `--service` file is given.
const DEMO_SERVICE: &str = include_str!("../../assets/demo/service.json");

/// Why a service definition cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("could not read the service definition {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the service definition is not valid JSON of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the service definition is inconsistent: {0}")]
    Invalid(String),
}

/// A user of the service: a password (as an argon2id hash) to sign in with, and/or a fixed token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDef {
    pub name: String,
    /// A token that identifies the user and never expires; empty for none.
    #[serde(default)]
    pub token: String,
    /// Admins are exempt from ownership-based access control.
    #[serde(default)]
    pub admin: bool,
    /// The password as an argon2id PHC string (never the password itself); `None`: the user
    /// cannot sign in with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

impl UserDef {
    /// A user who signs in with `password` (hashed here, with a fresh salt).
    pub fn with_password(
        name: &str,
        password: &str,
    ) -> Result<UserDef, crate::server::auth::password::PasswordHashError> {
        Ok(UserDef {
            name: name.to_string(),
            token: String::new(),
            admin: false,
            password_hash: Some(crate::server::auth::password::hash_password(password)?),
        })
    }
}

/// A registered OAuth app: its client id and the redirect URIs it may use (compared exactly; a
/// loopback redirect names its port, as ArcGIS requires).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthAppDef {
    pub client_id: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// Ownership-based access control of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnershipDef {
    /// The field that holds the creator's user name; the server fills it on add.
    pub owner_field: String,
    #[serde(default = "yes")]
    pub allow_others_to_query: bool,
    #[serde(default)]
    pub allow_others_to_update: bool,
    #[serde(default)]
    pub allow_others_to_delete: bool,
}

fn yes() -> bool {
    true
}

/// One layer (with `geometryType`) or table (without).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerDef {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<String>,
    #[serde(default)]
    pub has_z: bool,
    #[serde(default)]
    pub has_m: bool,
    /// Layer override of the service-wide `allowGeometryUpdates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_geometry_updates: Option<bool>,
    #[serde(default)]
    pub enable_z_defaults: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_default: Option<f64>,
    /// User fields; `OBJECTID` and `GlobalID` are added when missing.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Attribute indexes; `isUnique` ones are enforced (error 1022).
    #[serde(default)]
    pub indexes: Vec<Index>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<OwnershipDef>,
    /// Features of this layer can carry attachments (photos, documents).
    #[serde(default)]
    pub has_attachments: bool,
    /// Largest attachment accepted, in bytes (default [`DEFAULT_MAX_ATTACHMENT_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attachment_size: Option<u64>,
    /// Accepted attachment content types (`image/jpeg`, or `image/*`); empty accepts any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_content_types: Vec<String>,
    /// The layer holds true curves (`curvePaths` / `curveRings` geometry JSON); replicas get
    /// them densified.
    #[serde(default)]
    pub true_curves: bool,
    /// Layer override of the service-wide `allowTrueCurvesUpdates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_true_curves_updates: Option<bool>,
    /// Features loaded into an empty data directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<Feature>,
    /// `false`: the layer does not sync (its capabilities leave out `Sync`, as an ArcGIS layer
    /// whose sync is not enabled); `None` or `true`: it syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_enabled: Option<bool>,
}

impl LayerDef {
    pub fn is_table(&self) -> bool {
        self.geometry_type.is_none()
    }

    /// A field by name, compared case-insensitively as ArcGIS does.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The owner field, when ownership-based access control is on.
    pub fn owner_field(&self) -> Option<&str> {
        self.ownership.as_ref().map(|o| o.owner_field.as_str())
    }

    /// Largest attachment this layer accepts, in bytes.
    pub fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_size
            .unwrap_or(DEFAULT_MAX_ATTACHMENT_BYTES)
    }
}

/// `OBJECTID` or `GlobalID` (any case).
pub fn is_system_field(name: &str) -> bool {
    name.eq_ignore_ascii_case(OBJECT_ID_FIELD) || name.eq_ignore_ascii_case(GLOBAL_ID_FIELD)
}

/// The whole service definition file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDefinition {
    /// Service name: the `<Name>` in `/arcgis/rest/services/<Name>/FeatureServer`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// When true, every service request needs a valid token (499 / 498 otherwise).
    #[serde(default)]
    pub require_token: bool,
    #[serde(default)]
    pub users: Vec<UserDef>,
    /// OAuth apps registered with the built-in portal (`/sharing/rest/oauth2/...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_apps: Vec<OAuthAppDef>,
    /// The service's server is federated to the built-in portal: `rest/info` names it as
    /// `owningSystemUrl`, and server tokens come from the portal's generateToken (`serverUrl`).
    #[serde(default)]
    pub federated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_extent: Option<serde_json::Value>,
    #[serde(default = "yes")]
    pub allow_geometry_updates: bool,
    /// Updates may replace a true curve with a densified geometry (1005 otherwise).
    #[serde(default)]
    pub allow_true_curves_updates: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xss_prevention_info: Option<XssPreventionInfo>,
    #[serde(default)]
    pub layers: Vec<LayerDef>,
    #[serde(default)]
    pub tables: Vec<LayerDef>,
}

impl ServiceDefinition {
    /// The built-in demo water network (`assets/demo/service.json`).
    pub fn demo() -> Result<Self, DefinitionError> {
        Self::from_json(DEMO_SERVICE)
    }

    /// Reads and validates a definition file.
    pub fn load(path: &Path) -> Result<Self, DefinitionError> {
        let text = std::fs::read_to_string(path).map_err(|source| DefinitionError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses and validates definition JSON; adds the system fields and indexes.
    pub fn from_json(text: &str) -> Result<Self, DefinitionError> {
        let mut def: ServiceDefinition = serde_json::from_str(text)?;
        def.complete();
        def.validate()?;
        Ok(def)
    }

    fn complete(&mut self) {
        for layer in self.layers.iter_mut().chain(self.tables.iter_mut()) {
            add_system_fields(layer);
        }
    }

    fn validate(&self) -> Result<(), DefinitionError> {
        let invalid = |m: String| Err(DefinitionError::Invalid(m));
        if self.name.trim().is_empty() || !self.name.chars().all(is_name_char) {
            return invalid(format!(
                "service name {:?} must be non-empty letters, digits or _",
                self.name
            ));
        }
        let mut ids: Vec<i64> = self.all_layers().map(|l| l.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return invalid("two layers or tables share an id".into());
        }
        self.validate_users()?;
        for layer in self.all_layers() {
            if layer.ids_of_fields_clash() {
                return invalid(format!("layer {} has two fields with one name", layer.id));
            }
            if let Some(owner) = layer.owner_field()
                && layer.field(owner).is_none()
            {
                return invalid(format!(
                    "layer {} names owner field {owner:?}, which it does not have",
                    layer.id
                ));
            }
        }
        Ok(())
    }

    fn validate_users(&self) -> Result<(), DefinitionError> {
        let mut names: Vec<&str> = self.users.iter().map(|u| u.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(DefinitionError::Invalid("two users share a name".into()));
        }
        for user in &self.users {
            if let Some(hash) = &user.password_hash {
                crate::server::auth::password::check_hash_format(hash).map_err(|e| {
                    DefinitionError::Invalid(format!(
                        "user {:?}: passwordHash is not an argon2 PHC string ({e})",
                        user.name
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// Adds `user`, or gives an existing user of that name its password hash (keeping its
    /// token and admin flag): what `syncwatch serve --user NAME:PASSWORD` does.
    pub fn add_or_replace_user(&mut self, user: UserDef) {
        match self.users.iter_mut().find(|u| u.name == user.name) {
            Some(existing) => existing.password_hash = user.password_hash,
            None => self.users.push(user),
        }
    }

    /// Adds `layer` (its system fields and indexes completed), checked like a definition file.
    pub fn with_layer(mut self, mut layer: LayerDef) -> Result<Self, DefinitionError> {
        add_system_fields(&mut layer);
        self.layers.push(layer);
        self.validate()?;
        Ok(self)
    }

    /// Layers then tables.
    pub fn all_layers(&self) -> impl Iterator<Item = &LayerDef> {
        self.layers.iter().chain(self.tables.iter())
    }

    pub fn layer(&self, id: i64) -> Option<&LayerDef> {
        self.all_layers().find(|l| l.id == id)
    }

    pub fn layer_mut(&mut self, id: i64) -> Option<&mut LayerDef> {
        self.layers
            .iter_mut()
            .chain(self.tables.iter_mut())
            .find(|l| l.id == id)
    }

    /// Removes a layer or table; false when there was none.
    pub fn remove_layer(&mut self, id: i64) -> bool {
        let before = self.layers.len() + self.tables.len();
        self.layers.retain(|l| l.id != id);
        self.tables.retain(|l| l.id != id);
        before != self.layers.len() + self.tables.len()
    }

    /// The user a fixed token belongs to (compared in constant time).
    pub fn user_by_token(&self, token: &str) -> Option<&UserDef> {
        self.users.iter().find(|u| {
            !u.token.is_empty() && crate::server::auth::secret_token::same_secret(&u.token, token)
        })
    }

    /// The FeatureServer root resource.
    pub fn service_info(&self) -> FeatureServiceInfo {
        FeatureServiceInfo {
            current_version: Some(serde_json::json!(11.1)),
            service_description: self.description.clone(),
            capabilities: "Create,Delete,Query,Update,Editing,Sync".into(),
            sync_enabled: true,
            sync_capabilities: SyncCapabilities {
                supports_async: true,
                supports_registering_existing_data: false,
                supports_sync_direction_control: true,
                supports_per_layer_sync: true,
                supports_per_replica_sync: true,
                supports_sync_model_none: true,
                supports_rollback_on_failure: true,
                supports_attachments_sync_direction: true,
                supports_bi_directional_sync_for_server: false,
                // Its `dataFormat=sqlite` results are syncwatch deltas (`geodatabase::delta`).
                syncwatch_delta_format: Some(crate::geodatabase::delta::FORMAT_VERSION),
            },
            supports_disconnected_editing: true,
            allow_geometry_updates: self.allow_geometry_updates,
            allow_true_curves_updates: Some(self.allow_true_curves_updates),
            max_record_count: Some(MAX_RECORD_COUNT),
            spatial_reference: self.spatial_reference.clone(),
            full_extent: self.full_extent.clone(),
            editor_tracking_info: None,
            xss_prevention_info: self.xss_prevention_info.clone(),
            layers: self.layers.iter().map(layer_ref).collect(),
            tables: self.tables.iter().map(layer_ref).collect(),
            error: None,
        }
    }

    /// Geometry updates allowed on this layer (layer setting, else the service's).
    pub fn allows_geometry_updates(&self, layer: &LayerDef) -> bool {
        layer
            .allow_geometry_updates
            .unwrap_or(self.allow_geometry_updates)
    }

    /// Updates may replace this layer's true curves (layer setting, else the service's).
    pub fn allows_true_curves_updates(&self, layer: &LayerDef) -> bool {
        layer
            .allow_true_curves_updates
            .unwrap_or(self.allow_true_curves_updates)
    }

    /// A layer or table resource.
    pub fn layer_info(&self, layer: &LayerDef) -> LayerInfo {
        LayerInfo {
            id: Some(layer.id),
            name: layer.name.clone(),
            layer_type: if layer.is_table() {
                "Table".into()
            } else {
                "Feature Layer".into()
            },
            geometry_type: layer.geometry_type.clone(),
            has_z: layer.has_z,
            has_m: layer.has_m,
            object_id_field: OBJECT_ID_FIELD.into(),
            global_id_field: GLOBAL_ID_FIELD.into(),
            fields: layer.fields.clone(),
            indexes: layer.indexes.clone(),
            allow_geometry_updates: self.allows_geometry_updates(layer),
            allow_true_curves_updates: Some(self.allows_true_curves_updates(layer)),
            enable_z_defaults: layer.enable_z_defaults,
            z_default: layer.z_default,
            allow_update_without_m_values: false,
            has_attachments: layer.has_attachments,
            max_attachment_size: layer
                .has_attachments
                .then(|| i64::try_from(layer.max_attachment_bytes()).unwrap_or(i64::MAX)),
            attachment_content_types: if layer.has_attachments {
                layer.attachment_content_types.clone()
            } else {
                Vec::new()
            },
            capabilities: if layer.sync_enabled == Some(false) {
                "Create,Delete,Query,Update,Editing".into()
            } else {
                "Create,Delete,Query,Update,Editing,Sync".into()
            },
            max_record_count: Some(MAX_RECORD_COUNT),
            supported_query_formats: Some("JSON, geoJSON".into()),
            advanced_query_capabilities: Some(AdvancedQueryCapabilities {
                supports_pagination: true,
                supports_order_by: true,
                ..Default::default()
            }),
            extent: (!layer.is_table())
                .then(|| self.full_extent.clone())
                .flatten(),
            edit_fields_info: layer.ownership.as_ref().map(|o| EditFieldsInfo {
                creator_field: Some(o.owner_field.clone()),
                ..Default::default()
            }),
            ownership_based_access_control_for_features: layer.ownership.as_ref().map(|o| {
                OwnershipAccessControl {
                    allow_others_to_query: o.allow_others_to_query,
                    allow_others_to_update: o.allow_others_to_update,
                    allow_others_to_delete: o.allow_others_to_delete,
                }
            }),
            supports_rollback_on_failure_parameter: true,
            supports_apply_edits_with_global_ids: true,
            is_data_versioned: false,
            error: None,
        }
    }
}

impl LayerDef {
    fn ids_of_fields_clash(&self) -> bool {
        let mut names: Vec<String> = self
            .fields
            .iter()
            .map(|f| f.name.to_ascii_lowercase())
            .collect();
        names.sort();
        names.windows(2).any(|w| w[0] == w[1])
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn layer_ref(layer: &LayerDef) -> LayerRef {
    LayerRef {
        id: Some(layer.id),
        name: layer.name.clone(),
        geometry_type: layer.geometry_type.clone(),
    }
}

fn system_field(name: &str, field_type: FieldType) -> Field {
    Field {
        name: name.into(),
        field_type,
        alias: Some(name.into()),
        length: if name == GLOBAL_ID_FIELD {
            Some(38)
        } else {
            None
        },
        nullable: false,
        editable: false,
        domain: None,
        default_value: None,
    }
}

fn add_system_fields(layer: &mut LayerDef) {
    if layer.field(GLOBAL_ID_FIELD).is_none() {
        layer
            .fields
            .insert(0, system_field(GLOBAL_ID_FIELD, FieldType::GlobalId));
    }
    if layer.field(OBJECT_ID_FIELD).is_none() {
        layer
            .fields
            .insert(0, system_field(OBJECT_ID_FIELD, FieldType::Oid));
    }
    for (name, field) in [
        ("PK__OBJECTID", OBJECT_ID_FIELD),
        ("FDO_GlobalID", GLOBAL_ID_FIELD),
    ] {
        if !layer.indexes.iter().any(|i| i.name == name) {
            layer.indexes.push(Index {
                name: name.into(),
                fields: field.into(),
                is_ascending: true,
                is_unique: true,
                description: String::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_definition_loads_with_system_fields() {
        let def = ServiceDefinition::demo().unwrap();
        assert!(!def.layers.is_empty() && !def.tables.is_empty());
        for layer in def.all_layers() {
            assert!(layer.field("objectid").is_some());
            assert!(layer.field("globalid").is_some());
            assert!(
                !layer.seed.is_empty(),
                "layer {} has seed features",
                layer.id
            );
        }
        let info = def.service_info();
        assert!(info.has_capability("Sync"));
        assert_eq!(info.layers.len(), def.layers.len());
    }

    #[test]
    fn inconsistent_definitions_are_refused() {
        let dup = r#"{"name":"S","layers":[{"id":0,"name":"a"}],"tables":[{"id":0,"name":"b"}]}"#;
        assert!(matches!(
            ServiceDefinition::from_json(dup),
            Err(DefinitionError::Invalid(_))
        ));
        let owner =
            r#"{"name":"S","layers":[{"id":0,"name":"a","ownership":{"ownerField":"Nope"}}]}"#;
        assert!(ServiceDefinition::from_json(owner).is_err());
        assert!(ServiceDefinition::from_json("{").is_err());
        assert!(ServiceDefinition::from_json(r#"{"name":"a b"}"#).is_err());
    }
}
