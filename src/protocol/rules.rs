//! The constraint rules a feature service applies to every uploaded edit, each yielding a
//! documented edit-result code (text from `catalog::describe`): GlobalID (1020/1021), field values
//! (1001 not nullable, 1016 wrong type / too long / outside a domain / unknown field, 1023 not
//! editable, 1006 untrusted HTML), geometry (1002 m, 1004 update not allowed, 1005 true curves,
//! 1014 z, 1015 not geometry of the layer's type that `geometry` understands) and ownership (1007/1013). Pure functions over the service and layer
//! resources (`FeatureServiceInfo`, `LayerInfo`) and the stored row: no I/O, no database.
//! Shared by the reference service (`server::apply`) and the client's validator
//! (`engine::validate`), so a prediction and the server's answer come from the same code.
//! Uniqueness (1022) is decided here too ([`UniqueValues`]), over values the caller loads;
//! existence (1011) needs the server's store and stays in `server::apply`.

use super::catalog;
use super::geometry;
use super::{Attributes, Domain, Feature, FeatureServiceInfo, Field, FieldType, Guid, LayerInfo};
use serde_json::Value;
use std::collections::HashMap;

/// A refused edit: the edit-result code and the `<value>` of its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: i64,
    pub value: String,
}

impl Rejection {
    pub fn new(code: i64, value: impl Into<String>) -> Self {
        Rejection {
            code,
            value: value.into(),
        }
    }

    /// The server's description text for this code, from the catalog.
    pub fn description(&self) -> String {
        catalog::describe(self.code, &self.value)
    }
}

/// Who is editing: the user behind the token (empty name = anonymous).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub name: String,
    pub is_admin: bool,
}

/// What the checks need to know about one layer.
#[derive(Clone, Copy)]
pub struct EditContext<'a> {
    pub def: &'a FeatureServiceInfo,
    pub layer: &'a LayerInfo,
    pub caller: &'a Caller,
}

/// A row ready to store: canonical field names, defaults filled, system fields set.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRow {
    pub global_id: Guid,
    pub attributes: Attributes,
    pub geometry: Option<Value>,
    pub owner: String,
}

/// The kind of edit an ownership check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    Update,
    Delete,
}

/// The GlobalID of an uploaded feature: 1020 when absent, 1021 when empty, 1016 when not a GUID.
pub fn global_id_of(feature: &Feature) -> Result<Guid, Rejection> {
    match feature.attr_ci("globalid") {
        None => Err(Rejection::new(1020, "")),
        Some(Value::Null) => Err(Rejection::new(1021, "")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(Rejection::new(1021, "")),
        Some(Value::String(s)) => Guid::parse(s).map_err(|_| Rejection::new(1016, "GlobalID")),
        Some(_) => Err(Rejection::new(1016, "GlobalID")),
    }
}

/// Checks an add and returns the row to insert (without its object id).
pub fn prepare_add(ctx: EditContext<'_>, feature: &Feature) -> Result<PreparedRow, Rejection> {
    let global_id = global_id_of(feature)?;
    let owner_field = ctx.layer.owner_field();
    let mut attributes = Attributes::new();
    for (name, value) in &feature.attributes {
        let field = known_field(ctx.layer, name)?;
        if is_filled_by_service(ctx.layer, field) {
            continue;
        }
        if !field.editable && !value.is_null() {
            return Err(Rejection::new(1023, &field.name));
        }
        check_value(ctx.def, field, value)?;
        attributes.insert(field.name.clone(), value.clone());
    }
    fill_defaults_and_require(ctx.layer, &mut attributes)?;
    let geometry = checked_geometry(ctx, feature.geometry.as_ref())?;
    let owner = ctx.caller.name.clone();
    if let Some(owner_field) = owner_field {
        attributes.insert(owner_field.to_string(), Value::String(owner.clone()));
    }
    attributes.insert(
        ctx.layer.global_id_field_name().into(),
        Value::String(global_id.as_str().to_string()),
    );
    Ok(PreparedRow {
        global_id,
        attributes,
        geometry,
        owner,
    })
}

/// Checks an update against the stored row and returns the merged row.
pub fn prepare_update(
    ctx: EditContext<'_>,
    feature: &Feature,
    global_id: Guid,
    stored_attributes: &Attributes,
    stored_geometry: Option<&Value>,
    owner: &str,
) -> Result<PreparedRow, Rejection> {
    check_owner(ctx, owner, EditKind::Update)?;
    let mut attributes = stored_attributes.clone();
    for (name, value) in &feature.attributes {
        let field = known_field(ctx.layer, name)?;
        if ctx.layer.is_system_field(&field.name) {
            continue;
        }
        let unchanged = stored_attributes.get(&field.name).unwrap_or(&Value::Null) == value;
        if unchanged {
            continue;
        }
        if !field.editable {
            return Err(Rejection::new(1023, &field.name));
        }
        if value.is_null() && !field.nullable {
            return Err(Rejection::new(1001, &field.name));
        }
        check_value(ctx.def, field, value)?;
        attributes.insert(field.name.clone(), value.clone());
    }
    let geometry = match feature.geometry.as_ref() {
        None => stored_geometry.cloned(),
        Some(new) if Some(new) == stored_geometry => stored_geometry.cloned(),
        Some(new) => {
            if refuses_geometry_updates(ctx) {
                return Err(Rejection::new(1004, ""));
            }
            checked_geometry(ctx, Some(new))?
        }
    };
    Ok(PreparedRow {
        global_id,
        attributes,
        geometry,
        owner: owner.to_string(),
    })
}

/// What an edit carries that the layer will not take: values for fields that are not editable
/// (1023) and, for an update, a geometry change where geometry updates are off (1004). A client
/// that "includes only writable fields" leaves these out. `stored`: the stored row of an update
/// (`None` for an add).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadOnlyContent {
    /// Attribute names as the edit spells them.
    pub fields: Vec<String>,
    pub geometry: bool,
}

impl ReadOnlyContent {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && !self.geometry
    }
}

pub fn read_only_content(
    ctx: EditContext<'_>,
    feature: &Feature,
    stored: Option<(&Attributes, Option<&Value>)>,
) -> ReadOnlyContent {
    let mut content = ReadOnlyContent::default();
    for (name, value) in &feature.attributes {
        let Some(field) = ctx.layer.field(name) else {
            continue;
        };
        let read_only = match stored {
            None => !is_filled_by_service(ctx.layer, field) && !field.editable && !value.is_null(),
            Some((attributes, _)) => {
                let changed = attributes.get(&field.name).unwrap_or(&Value::Null) != value;
                !ctx.layer.is_system_field(&field.name) && changed && !field.editable
            }
        };
        if read_only {
            content.fields.push(name.clone());
        }
    }
    if let (Some((_, stored_geometry)), Some(new)) = (stored, feature.geometry.as_ref()) {
        content.geometry = Some(new) != stored_geometry && refuses_geometry_updates(ctx);
    }
    content
}

/// System and owner fields: the service fills them on add, whatever the edit says.
fn is_filled_by_service(layer: &LayerInfo, field: &Field) -> bool {
    layer.is_system_field(&field.name) || Some(field.name.as_str()) == layer.owner_field()
}

/// A changed geometry is refused (1004) on this layer.
fn refuses_geometry_updates(ctx: EditContext<'_>) -> bool {
    !ctx.layer.is_table() && !ctx.def.allows_geometry_updates(ctx.layer)
}

/// Ownership-based access control for updating or deleting a feature owned by `owner`.
pub fn check_owner(ctx: EditContext<'_>, owner: &str, kind: EditKind) -> Result<(), Rejection> {
    let Some(rules) = ctx
        .layer
        .ownership_based_access_control_for_features
        .as_ref()
    else {
        return Ok(());
    };
    if ctx.caller.is_admin || is_anonymous_owner(owner) || owner == ctx.caller.name {
        return Ok(());
    }
    if !rules.allow_others_to_query {
        return Err(Rejection::new(1013, ""));
    }
    let allowed = match kind {
        EditKind::Update => rules.allow_others_to_update,
        EditKind::Delete => rules.allow_others_to_delete,
    };
    if allowed {
        Ok(())
    } else {
        Err(Rejection::new(1007, ""))
    }
}

/// Features owned by anonymous (empty or `ESRI_Anonymous`) are editable by anyone.
pub fn is_anonymous_owner(owner: &str) -> bool {
    owner.is_empty() || owner.eq_ignore_ascii_case("ESRI_Anonymous")
}

fn known_field<'a>(layer: &'a LayerInfo, name: &str) -> Result<&'a Field, Rejection> {
    layer.field(name).ok_or_else(|| Rejection::new(1016, name))
}

fn fill_defaults_and_require(
    layer: &LayerInfo,
    attributes: &mut Attributes,
) -> Result<(), Rejection> {
    for field in &layer.fields {
        if layer.is_system_field(&field.name) || Some(field.name.as_str()) == layer.owner_field() {
            continue;
        }
        let present = attributes.get(&field.name).is_some_and(|v| !v.is_null());
        if present {
            continue;
        }
        match &field.default_value {
            Some(default) if !default.is_null() => {
                attributes.insert(field.name.clone(), default.clone());
            }
            _ if !field.nullable && field.editable => {
                return Err(Rejection::new(1001, &field.name));
            }
            _ => {
                attributes.entry(field.name.clone()).or_insert(Value::Null);
            }
        }
    }
    Ok(())
}

/// 1001 for null in a non-nullable field, 1006 for untrusted HTML, 1016 for a wrong type, a too
/// long text or a value outside the domain.
fn check_value(def: &FeatureServiceInfo, field: &Field, value: &Value) -> Result<(), Rejection> {
    let bad = || Rejection::new(1016, &field.name);
    if value.is_null() {
        return if field.nullable {
            Ok(())
        } else {
            Err(Rejection::new(1001, &field.name))
        };
    }
    match &field.field_type {
        FieldType::String => {
            let text = value.as_str().ok_or_else(bad)?;
            if field
                .length
                .is_some_and(|max| text.chars().count() as i64 > max)
            {
                return Err(bad());
            }
            if def.rejects_untrusted_html() && is_untrusted_html(text) {
                return Err(Rejection::new(1006, &field.name));
            }
        }
        FieldType::SmallInteger => {
            check_integer(value, i16::MIN.into(), i16::MAX.into()).ok_or_else(bad)?
        }
        FieldType::Integer => {
            check_integer(value, i32::MIN.into(), i32::MAX.into()).ok_or_else(bad)?
        }
        FieldType::BigInteger | FieldType::Date => {
            check_integer(value, -(1 << 53), 1 << 53).ok_or_else(bad)?
        }
        FieldType::Single | FieldType::Double => {
            value.as_f64().filter(|f| f.is_finite()).ok_or_else(bad)?;
        }
        FieldType::Guid | FieldType::GlobalId => {
            value
                .as_str()
                .and_then(|s| Guid::parse(s).ok())
                .ok_or_else(bad)?;
        }
        FieldType::Oid | FieldType::Geometry | FieldType::Blob | FieldType::Other(_) => {}
    }
    if let Some(domain) = &field.domain
        && !in_domain(domain, value)
    {
        return Err(bad());
    }
    Ok(())
}

fn check_integer(value: &Value, min: i64, max: i64) -> Option<()> {
    let n = match value.as_i64() {
        Some(n) => n,
        None => {
            let f = value.as_f64()?;
            if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9.0e15 {
                return None;
            }
            f as i64
        }
    };
    (min..=max).contains(&n).then_some(())
}

fn in_domain(domain: &Domain, value: &Value) -> bool {
    match domain {
        Domain::CodedValue { coded_values, .. } => {
            coded_values.iter().any(|c| same_value(&c.code, value))
        }
        Domain::Range { range, .. } => value
            .as_f64()
            .is_some_and(|v| v >= range[0] && v <= range[1]),
        Domain::Inherited => true,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Text the `rejectInvalid` HTML filter refuses: script tags, script URLs, inline event handlers,
/// embedded frames and objects.
pub fn is_untrusted_html(text: &str) -> bool {
    // Every marker and handler needs one of these; most text has none.
    if !text.bytes().any(|b| matches!(b, b'<' | b':' | b'(')) {
        return false;
    }
    let lower: String = text
        .chars()
        .filter(|c| !c.is_whitespace() || *c == ' ')
        .collect::<String>()
        .to_ascii_lowercase();
    const MARKERS: [&str; 9] = [
        "<script",
        "javascript:",
        "vbscript:",
        "<iframe",
        "<object",
        "<embed",
        "data:text/html",
        "<svg",
        "expression(",
    ];
    if MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    lower.contains('<') && has_event_handler(&lower)
}

/// `on<letters> =` inside a tag-bearing text, e.g. `<img src=x onerror=alert(1)>`.
fn has_event_handler(lower: &str) -> bool {
    let bytes = lower.as_bytes();
    let mut i = 0;
    while let Some(pos) = lower[i..].find("on") {
        let start = i + pos;
        let preceded_ok =
            start == 0 || matches!(bytes[start - 1], b' ' | b'/' | b'"' | b'\'' | b'<');
        let mut j = start + 2;
        while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
            j += 1;
        }
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if preceded_ok && j > start + 2 && bytes.get(j) == Some(&b'=') {
            return true;
        }
        i = start + 2;
    }
    false
}

/// 1005 when the layer does not allow true-curve updates (`allowTrueCurvesUpdates: false`) and
/// the edit's geometry carries true curves. (An update that would replace a curve stored on the
/// server is the server's to judge: clients only ever see curves densified.)
pub fn check_true_curves(layer: &LayerInfo, geometry: Option<&Value>) -> Result<(), Rejection> {
    let forbidden = layer.allow_true_curves_updates == Some(false);
    if forbidden && geometry.is_some_and(has_true_curves) {
        Err(Rejection::new(1005, ""))
    } else {
        Ok(())
    }
}

/// Whether geometry JSON holds true curves (`curvePaths` / `curveRings`).
pub fn has_true_curves(geometry: &Value) -> bool {
    geometry
        .as_object()
        .is_some_and(|o| o.contains_key("curvePaths") || o.contains_key("curveRings"))
}

/// The values of one unique field among the live rows of a layer (value key -> GlobalID), kept
/// up to date as an upload is applied in order, so a value taken earlier in the same upload
/// collides too (1022).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UniqueValues {
    pub field: String,
    values: HashMap<String, String>,
}

impl UniqueValues {
    pub fn new(field: impl Into<String>) -> Self {
        UniqueValues {
            field: field.into(),
            values: HashMap::new(),
        }
    }

    /// Makes room for `additional` more values (a large upload's).
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
    }

    /// Records that the row `global_id` holds `value` (null holds nothing).
    pub fn insert(&mut self, value: &Value, global_id: impl Into<String>) {
        if let Some(key) = value_key(value) {
            self.values.insert(key, global_id.into());
        }
    }

    /// 1022 when the row's value of this field belongs to another live row.
    pub fn violation(&self, row: &PreparedRow) -> Option<Rejection> {
        let key = row.attributes.get(&self.field).and_then(value_key)?;
        match self.values.get(&key) {
            Some(holder) if holder != row.global_id.as_str() => {
                Some(Rejection::new(1022, &self.field))
            }
            _ => None,
        }
    }

    /// The row was stored: its new value is taken, its `old` value (an update's) is free.
    pub fn remember(&mut self, row: &PreparedRow, old: Option<&Attributes>) {
        if let Some(old) = old {
            self.forget(old);
        }
        if let Some(value) = row.attributes.get(&self.field) {
            self.insert(value, row.global_id.as_str());
        }
    }

    /// A row with these attributes is gone (deleted or about to change): its value is free.
    pub fn forget(&mut self, attributes: &Attributes) {
        if let Some(key) = attributes.get(&self.field).and_then(value_key) {
            self.values.remove(&key);
        }
    }
}

/// The first unique field whose value the row would take from another row (1022).
pub fn unique_violation(sets: &[UniqueValues], row: &PreparedRow) -> Option<Rejection> {
    sets.iter().find_map(|set| set.violation(row))
}

/// A comparable key for a unique value; null has none (nulls never collide). Numbers compare by
/// value (2 and 2.0 collide), text by exact content.
fn value_key(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Number(n) => Some(number_key(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => {
            let mut key = String::with_capacity(s.len() + 2);
            key.push_str("s:");
            key.push_str(s);
            Some(key)
        }
        other => Some(other.to_string()),
    }
}

fn number_key(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        format!("n:{}", f as i64)
    } else {
        format!("n:{f}")
    }
}

/// Checks geometry JSON against the layer: 1015 when it cannot be set, 1014 without z on a z
/// layer (unless z defaults are on), 1002 without m on an m layer.
fn checked_geometry(
    ctx: EditContext<'_>,
    geometry: Option<&Value>,
) -> Result<Option<Value>, Rejection> {
    let Some(geometry) = geometry.filter(|g| !g.is_null()) else {
        return Ok(None);
    };
    check_true_curves(ctx.layer, Some(geometry))?;
    let Some(kind) = ctx.layer.geometry_type.as_deref() else {
        return Err(Rejection::new(1015, ""));
    };
    let wants_z = ctx.layer.has_z && !ctx.layer.enable_z_defaults;
    let wants_m = ctx.layer.has_m;
    // Only geometry JSON of the layer's type that the service understands (known keys, bounded
    // nesting): anything else would be stored and handed to every other replica.
    let coords = geometry::vertices(kind, geometry).ok_or_else(|| Rejection::new(1015, ""))?;
    for c in &coords {
        if c.len() < 2 || c.iter().any(|v| !v.is_finite()) {
            return Err(Rejection::new(1015, ""));
        }
        let extra = c.len() - 2;
        if wants_z && extra == 0 {
            return Err(Rejection::new(1014, ""));
        }
        if wants_m && extra < usize::from(ctx.layer.has_z) + 1 {
            return Err(Rejection::new(1002, ""));
        }
    }
    Ok(Some(geometry.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(v: Value) -> Feature {
        serde_json::from_value(v).unwrap()
    }

    const GID: &str = "{7A0C2C24-5CA5-408F-8705-A23EF105F351}";

    #[test]
    fn global_id_codes() {
        assert_eq!(
            global_id_of(&feature(json!({"attributes":{}})))
                .unwrap_err()
                .code,
            1020
        );
        assert_eq!(
            global_id_of(&feature(json!({"attributes":{"GlobalID":""}})))
                .unwrap_err()
                .code,
            1021
        );
        assert_eq!(
            global_id_of(&feature(json!({"attributes":{"globalid":7}})))
                .unwrap_err()
                .code,
            1016
        );
        assert!(global_id_of(&feature(json!({"attributes":{"GLOBALID":GID}}))).is_ok());
    }

    /// The demo service's valves layer resource, as the reference service publishes it.
    fn valves() -> LayerInfo {
        serde_json::from_value(json!({
            "id": 1, "name": "Valves", "type": "Feature Layer", "geometryType": "esriGeometryPoint",
            "hasZ": true, "objectIdField": "OBJECTID", "globalIdField": "GlobalID",
            "allowGeometryUpdates": false,
            "fields": [
                {"name": "OBJECTID", "type": "esriFieldTypeOID", "nullable": false, "editable": false},
                {"name": "GlobalID", "type": "esriFieldTypeGlobalID", "length": 38, "nullable": false, "editable": false},
                {"name": "ValveID", "type": "esriFieldTypeString", "length": 20, "nullable": false},
                {"name": "Diameter_mm", "type": "esriFieldTypeSmallInteger", "nullable": false,
                 "domain": {"type": "range", "name": "ValveDiameter", "range": [50, 1200]}},
                {"name": "Depth", "type": "esriFieldTypeDouble", "nullable": false}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn value_and_geometry_codes_on_the_demo_valves() {
        let def = FeatureServiceInfo::default();
        let caller = Caller::default();
        let valves = valves();
        let ctx = EditContext {
            def: &def,
            layer: &valves,
            caller: &caller,
        };
        let base = json!({"GlobalID":GID,"ValveID":"V-1","Diameter_mm":150,"Depth":1.5});
        let ok = feature(json!({"geometry":{"x":1.0,"y":2.0,"z":3.0},"attributes":base}));
        assert!(prepare_add(ctx, &ok).is_ok());
        let cases = [
            (
                json!({"geometry":{"x":1.0,"y":2.0},"attributes":base}),
                1014,
                "",
            ),
            (
                json!({"geometry":{"x":"a","y":2.0,"z":1},"attributes":base}),
                1015,
                "",
            ),
            (
                json!({"attributes":{"GlobalID":GID,"ValveID":"V-1","Diameter_mm":150}}),
                1001,
                "Depth",
            ),
            (
                json!({"attributes":{"GlobalID":GID,"ValveID":"V-1","Diameter_mm":"wide","Depth":1}}),
                1016,
                "Diameter_mm",
            ),
            (
                json!({"attributes":{"GlobalID":GID,"ValveID":"V-1","Diameter_mm":5000,"Depth":1}}),
                1016,
                "Diameter_mm",
            ),
            (
                json!({"attributes":{"GlobalID":GID,"ValveID":"V-123456789012345678901","Diameter_mm":150,"Depth":1}}),
                1016,
                "ValveID",
            ),
            (
                json!({"attributes":{"GlobalID":GID,"ValveID":"V","Diameter_mm":150,"Depth":1,"Nope":1}}),
                1016,
                "Nope",
            ),
        ];
        for (f, code, value) in cases {
            let err = prepare_add(ctx, &feature(f.clone())).unwrap_err();
            assert_eq!((err.code, err.value.as_str()), (code, value), "{f}");
        }
    }

    /// Geometry the layer does not understand is refused with 1015 on add and on update: an
    /// unknown key, a nested spatial reference (the 122-deep poison), another type's keys.
    #[test]
    fn geometry_not_understood_is_refused_with_1015() {
        let def = FeatureServiceInfo::default();
        let caller = Caller::default();
        let valves = valves();
        let ctx = EditContext {
            def: &def,
            layer: &valves,
            caller: &caller,
        };
        let mut poison = json!({"wkid": 4326});
        for _ in 0..122 {
            poison = json!({"spatialReference": poison});
        }
        let base = json!({"GlobalID":GID,"ValveID":"V-1","Diameter_mm":150,"Depth":1.5});
        for geometry in [
            json!({"x":1.0,"y":2.0,"z":3.0,"spatialReference":poison}),
            json!({"x":1.0,"y":2.0,"z":3.0,"note":"extra"}),
            json!({"paths":[[[1.0,2.0,3.0],[2.0,3.0,4.0]]]}),
        ] {
            let add = feature(json!({"geometry": geometry, "attributes": base}));
            assert_eq!(prepare_add(ctx, &add).unwrap_err().code, 1015, "{geometry}");
        }
        let mut editable = valves.clone();
        editable.allow_geometry_updates = true;
        let ctx = EditContext {
            layer: &editable,
            ..ctx
        };
        let stored = json!({"x":1.0,"y":2.0,"z":3.0});
        let update = feature(
            json!({"geometry": {"x":1.0,"y":2.0,"z":3.0,"m":{"deep":[1]}},
                                     "attributes": {"GlobalID": GID}}),
        );
        let attributes = base.as_object().unwrap().clone();
        let refused = prepare_update(
            ctx,
            &update,
            Guid::parse(GID).unwrap(),
            &attributes,
            Some(&stored),
            "",
        );
        assert_eq!(refused.unwrap_err().code, 1015);
    }

    #[test]
    fn true_curves_are_recognised_where_the_layer_forbids_them() {
        let arc = json!({"curvePaths":[[[0.0,0.0],{"c":[[1.0,1.0],[0.5,0.8]]}]]});
        let straight = json!({"paths":[[[0.0,0.0],[1.0,1.0]]]});
        assert!(has_true_curves(&arc));
        assert!(!has_true_curves(&straight) && !has_true_curves(&json!({"x":1,"y":2})));
        let mut layer = valves();
        layer.allow_true_curves_updates = Some(false);
        assert_eq!(
            check_true_curves(&layer, Some(&arc)).unwrap_err().code,
            1005
        );
        assert!(check_true_curves(&layer, Some(&straight)).is_ok());
        layer.allow_true_curves_updates = Some(true);
        assert!(check_true_curves(&layer, Some(&arc)).is_ok());
    }

    /// Uniqueness follows the upload: a value taken earlier in it collides, a freed one does not.
    #[test]
    fn unique_values_follow_the_upload() {
        let row = |gid: &str, id: Value| PreparedRow {
            global_id: Guid::parse(gid).unwrap(),
            attributes: json!({"ValveID": id}).as_object().unwrap().clone(),
            geometry: None,
            owner: String::new(),
        };
        const OTHER: &str = "{11111111-2222-3333-4444-555555555555}";
        let mut set = UniqueValues::new("ValveID");
        set.insert(&json!("V-1"), OTHER);
        assert_eq!(
            set.violation(&row(GID, json!("V-1"))).unwrap(),
            Rejection::new(1022, "ValveID")
        );
        assert!(
            set.violation(&row(OTHER, json!("V-1"))).is_none(),
            "its own value"
        );
        set.forget(&row(OTHER, json!("V-1")).attributes);
        assert!(
            set.violation(&row(GID, json!("V-1"))).is_none(),
            "freed by a delete"
        );
        set.remember(&row(GID, json!(2)), None);
        assert!(
            set.violation(&row(OTHER, json!(2.0))).is_some(),
            "2 and 2.0 collide"
        );
        assert!(
            set.violation(&row(OTHER, Value::Null)).is_none(),
            "nulls never collide"
        );
    }

    #[test]
    fn untrusted_html_is_recognised() {
        for bad in [
            "<script>alert(1)</script>",
            "<a href='javascript:x'>",
            "<img src=x onerror=alert(1)>",
            "<IMG SRC=x OnLoad = y>",
        ] {
            assert!(is_untrusted_html(bad), "{bad}");
        }
        for good in [
            "Cap replaced",
            "<b>bold</b>",
            "turn on = yes",
            "5 < 6 and once",
        ] {
            assert!(!is_untrusted_html(good), "{good}");
        }
    }
}
