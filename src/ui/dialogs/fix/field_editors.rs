//! One typed editor per field, chosen from the layer's schema: a coded-value domain as a list of
//! names (the code is stored), a range domain as a bounded number, a date as a date picker with
//! hours and minutes (UTC), text with a length counter, numbers and GUIDs as checked text, and a
//! locked field as its value. Each edits one JSON value (with a text buffer for typing) and says
//! whether it changed this frame; it does not judge the value (live validation does).

use crate::model::FormField;
use crate::protocol::{Domain, FieldType};
use serde_json::Value;

/// What one field's editor holds between frames.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    pub value: Value,
    /// The text being typed (text, numbers without a domain, GUIDs).
    pub text: String,
}

impl FieldValue {
    pub fn new(value: Value) -> Self {
        let text = text_of(&value);
        FieldValue { value, text }
    }

    /// Replaces the value (e.g. "use server value"), and the text with it.
    pub fn set(&mut self, value: Value) {
        self.text = text_of(&value);
        self.value = value;
    }
}

/// How a value reads in a text box: text as is, null as nothing, numbers as JSON.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How a value reads beside the editor (the server's value): coded values by name, dates as
/// dates, null as "(empty)".
pub fn display_value(field: &FormField, value: &Value) -> String {
    if value.is_null() {
        return "(empty)".to_owned();
    }
    if let Some(Domain::CodedValue { coded_values, .. }) = &field.domain
        && let Some(c) = coded_values
            .iter()
            .find(|c| crate::model::same_value(&c.code, value))
    {
        return c.name.clone();
    }
    if field.field_type == FieldType::Date
        && let Some(ms) = value.as_i64()
    {
        return date_text(ms);
    }
    text_of(value)
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn date_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// Draws the editor of `field` labelled by `label`; `true` when the value changed.
pub fn field_editor_ui(
    ui: &mut egui::Ui,
    field: &FormField,
    state: &mut FieldValue,
    label: egui::Id,
) -> bool {
    if field.locked() {
        ui.label(format!("🔒 {}", display_value(field, &state.value)))
            .on_hover_text(if field.system {
                "Maintained by the service"
            } else {
                "Not editable on this layer"
            });
        return false;
    }
    match (&field.domain, &field.field_type) {
        (Some(Domain::CodedValue { coded_values, .. }), _) => {
            coded_value_ui(ui, field, coded_values, state, label)
        }
        (Some(Domain::Range { range, .. }), _) => range_ui(ui, field, *range, state, label),
        (_, FieldType::Date) => date_ui(ui, field, state, label),
        (_, FieldType::String) => text_ui(ui, field, state, label),
        _ => typed_text_ui(ui, field, state, label),
    }
}

fn coded_value_ui(
    ui: &mut egui::Ui,
    field: &FormField,
    coded_values: &[crate::protocol::CodedValue],
    state: &mut FieldValue,
    label: egui::Id,
) -> bool {
    let mut changed = false;
    let shown = display_value(field, &state.value);
    let shown = if state.value.is_null() || coded_values.iter().any(|c| c.name == shown) {
        shown
    } else {
        // A code the domain does not list (what the service refused).
        format!("{shown} (not in the list)")
    };
    let response = egui::ComboBox::from_id_salt(("fix-coded", &field.name))
        .selected_text(shown)
        .width(220.0)
        .show_ui(ui, |ui| {
            if field.nullable
                && ui
                    .selectable_label(state.value.is_null(), "(empty)")
                    .clicked()
            {
                state.set(Value::Null);
                changed = true;
            }
            for c in coded_values {
                let selected = crate::model::same_value(&c.code, &state.value);
                if ui.selectable_label(selected, &c.name).clicked() {
                    state.set(c.code.clone());
                    changed = true;
                }
            }
        });
    response.response.labelled_by(label);
    changed
}

fn range_ui(
    ui: &mut egui::Ui,
    field: &FormField,
    range: [f64; 2],
    state: &mut FieldValue,
    label: egui::Id,
) -> bool {
    let integer = matches!(
        field.field_type,
        FieldType::SmallInteger | FieldType::Integer | FieldType::BigInteger
    );
    let mut number = state.value.as_f64().unwrap_or(range[0]);
    let mut changed = false;
    ui.horizontal(|ui| {
        let drag = egui::DragValue::new(&mut number)
            .range(range[0]..=range[1])
            // The refused value stays visible until the technician changes it.
            .clamp_existing_to_range(false)
            .speed(if integer {
                1.0
            } else {
                (range[1] - range[0]) / 500.0
            })
            .max_decimals(if integer { 0 } else { 3 });
        let response = ui.add(drag).labelled_by(label);
        if response.changed() {
            let value = if integer {
                Value::from(number.round() as i64)
            } else {
                serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
            };
            state.set(value);
            changed = true;
        }
        ui.weak(format!("{} – {}", range[0], range[1]));
        if state.value.is_null() {
            ui.weak("(empty)");
        } else if field.nullable && ui.small_button("Clear").clicked() {
            state.set(Value::Null);
            changed = true;
        }
    });
    changed
}

fn date_ui(ui: &mut egui::Ui, field: &FormField, state: &mut FieldValue, label: egui::Id) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let Some(ms) = state.value.as_i64() else {
            ui.weak("(empty)");
            if ui.small_button("Set a date").labelled_by(label).clicked() {
                let today = chrono::Utc::now().date_naive();
                let midnight = today
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc().timestamp_millis());
                if let Some(ms) = midnight {
                    state.set(Value::from(ms));
                    changed = true;
                }
            }
            return;
        };
        let Some(time) = chrono::DateTime::from_timestamp_millis(ms) else {
            ui.label(ms.to_string());
            return;
        };
        use chrono::{Datelike, Timelike};
        let (y, mo, d) = (time.year(), time.month(), time.day());
        let Ok(mut date) = jiff::civil::Date::new(y as i16, mo as i8, d as i8) else {
            ui.label(date_text(ms));
            return;
        };
        let before = date;
        ui.add(
            egui_extras::DatePickerButton::new(&mut date)
                .id_salt(&field.name)
                .start_end_years(1900..=2100),
        )
        .labelled_by(label);
        let mut hour = time.hour();
        let mut minute = time.minute();
        let h = ui
            .add(egui::DragValue::new(&mut hour).range(0..=23).suffix(" h"))
            .on_hover_text("Hour (UTC)");
        let m = ui
            .add(
                egui::DragValue::new(&mut minute)
                    .range(0..=59)
                    .suffix(" min"),
            )
            .on_hover_text("Minute (UTC)");
        ui.weak("UTC");
        if date != before || h.changed() || m.changed() {
            let naive = chrono::NaiveDate::from_ymd_opt(
                i32::from(date.year()),
                date.month() as u32,
                date.day() as u32,
            )
            .and_then(|d| d.and_hms_opt(hour, minute, 0));
            if let Some(n) = naive {
                state.set(Value::from(n.and_utc().timestamp_millis()));
                changed = true;
            }
        }
        if field.nullable && ui.small_button("Clear").clicked() {
            state.set(Value::Null);
            changed = true;
        }
    });
    changed
}

fn text_ui(ui: &mut egui::Ui, field: &FormField, state: &mut FieldValue, label: egui::Id) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let response = ui
            .add(egui::TextEdit::singleline(&mut state.text).desired_width(220.0))
            .labelled_by(label);
        if response.changed() {
            state.value = if state.text.is_empty() && field.nullable {
                Value::Null
            } else {
                Value::String(state.text.clone())
            };
            changed = true;
        }
        if let Some(max) = field.length {
            let used = state.text.chars().count() as i64;
            let text = format!("{used}/{max}");
            if used > max {
                ui.colored_label(crate::ui::theme::red(ui.visuals().dark_mode), text);
            } else {
                ui.weak(text);
            }
        }
    });
    changed
}

/// Numbers and GUIDs typed as text: a number that parses is stored as a number, anything else
/// as the text typed (which the rules then refuse as the wrong type).
fn typed_text_ui(
    ui: &mut egui::Ui,
    field: &FormField,
    state: &mut FieldValue,
    label: egui::Id,
) -> bool {
    let response = ui
        .add(egui::TextEdit::singleline(&mut state.text).desired_width(220.0))
        .labelled_by(label);
    if !response.changed() {
        return false;
    }
    let text = state.text.trim();
    state.value = if text.is_empty() {
        Value::Null
    } else {
        match field.field_type {
            FieldType::SmallInteger
            | FieldType::Integer
            | FieldType::BigInteger
            | FieldType::Single
            | FieldType::Double => serde_json::from_str::<serde_json::Number>(text)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(text.to_owned())),
            _ => Value::String(text.to_owned()),
        }
    };
    true
}
