//! Live validation of the attribute form: judges one edited feature ([`judge_fix`]) with the
//! same `protocol::rules` (and the same steps: add or update against the server's version,
//! ownership, unique values) the predictions of the queue use, from what the form carries. Pure:
//! no I/O, so the window can call it on every change.

use super::{judge_add, judge_update};
use crate::model::{FixForm, FixValues};
use crate::protocol::rules::{Caller, EditContext, Rejection, UniqueValues};

/// The refusal the service would answer for `form`'s feature with these values (code and the
/// server's text), or `None` when it would accept it.
pub fn judge_fix(form: &FixForm, fix: &FixValues) -> Option<Rejection> {
    let mut layer = form.layer.clone();
    if form.editor.is_none() {
        // As the queue's predictions: ownership is not decidable without the editor.
        layer.ownership_based_access_control_for_features = None;
    }
    let caller = Caller {
        name: form.editor.clone().unwrap_or_default(),
        is_admin: false,
    };
    let ctx = EditContext {
        def: &form.service,
        layer: &layer,
        caller: &caller,
    };
    let mut unique: Vec<UniqueValues> = form
        .unique_taken
        .iter()
        .map(|(field, values)| {
            let mut set = UniqueValues::new(field.clone());
            for (i, value) in values.iter().enumerate() {
                set.insert(value, format!("other-{i}"));
            }
            set
        })
        .collect();
    let feature = form.wire_feature(fix);
    let verdict = match &form.server {
        None => judge_add(ctx, &feature, &mut unique),
        Some(stored) => judge_update(ctx, &feature, stored, &mut unique),
    };
    verdict.err()
}
