//! Applying the attachment edits of one synchronizeReplica layer: adds, updates, deletes by
//! GlobalID, inside the caller's transaction, after the layer's feature edits so a new feature
//! can get its photo in the same sync. The per-edit rules are the pure functions of
//! `attachment_checks`; SQL is `db`'s. It must not commit or roll back: `ops` decides from the
//! outcome. Shaping stored attachments for downloads is `ops::attachment_wire`'s.

use super::{ApplyOptions, FailedEdit, LayerOutcome};
use crate::protocol::rules::{self, EditContext, EditKind};
use crate::protocol::{Attachment, AttachmentChanges, EditResult, Guid, ObjectType};
use crate::server::attachment_checks::{
    self, ADD_FAILED, AttachmentRejection, DELETE_FAILED, UPDATE_FAILED,
};
use crate::server::db::{self, AttachmentWrite, ServiceDbError};
use crate::server::definition::LayerDef;
use rusqlite::Connection;

/// Applies `edits` (the layer's `attachments`) at `options.generation`; results go into `into`.
/// `ctx`: the layer's rules, for the parents' ownership.
pub(super) fn apply(
    conn: &Connection,
    layer: &LayerDef,
    ctx: EditContext<'_>,
    options: &ApplyOptions<'_>,
    edits: &AttachmentChanges,
    into: &mut AttachmentChanges,
) -> Result<LayerOutcome, ServiceDbError> {
    let applier = Applier {
        conn,
        layer,
        ctx,
        options,
    };
    let mut outcome = LayerOutcome::default();
    for add in &edits.adds {
        let attempt = applier.add(add)?;
        if applier.record(attempt, &mut into.add_results, &mut outcome, true) {
            return Ok(outcome);
        }
    }
    for update in &edits.updates {
        let attempt = applier.update(update)?;
        if applier.record(attempt, &mut into.update_results, &mut outcome, false) {
            return Ok(outcome);
        }
    }
    for text in &edits.delete_ids {
        let attempt = applier.delete(text)?;
        if applier.record(attempt, &mut into.delete_results, &mut outcome, false) {
            return Ok(outcome);
        }
    }
    Ok(outcome)
}

/// Ok((attachmentId, GlobalID)) or Err((GlobalID, why)).
type Attempt = Result<(i64, Guid), (Option<Guid>, AttachmentRejection)>;

struct Applier<'a> {
    conn: &'a Connection,
    layer: &'a LayerDef,
    ctx: EditContext<'a>,
    options: &'a ApplyOptions<'a>,
}

impl Applier<'_> {
    fn ctx(&self) -> EditContext<'_> {
        self.ctx
    }

    /// Files one result; true when the apply must stop (rollback). Successful adds are listed
    /// like feature adds (with returnIdsForAdds); other successes are not.
    fn record(
        &self,
        attempt: Attempt,
        into: &mut Vec<EditResult>,
        outcome: &mut LayerOutcome,
        is_add: bool,
    ) -> bool {
        match attempt {
            Ok((attachment_id, global_id)) => {
                outcome.applied += 1;
                if is_add && self.options.return_ids_for_adds {
                    into.push(EditResult::ok(Some(attachment_id), Some(global_id)));
                }
                false
            }
            Err((global_id, rejection)) => {
                outcome.failed += 1;
                if self.options.rollback_on_failure {
                    outcome.rolled_back = Some(FailedEdit {
                        layer_id: self.layer.id,
                        global_id,
                        code: rejection.code,
                        description: rejection.description(),
                        object_type: ObjectType::Attachment,
                    });
                    return true;
                }
                into.push(EditResult::failed(
                    None,
                    global_id,
                    rejection.code,
                    rejection.description(),
                ));
                false
            }
        }
    }

    /// The parent is a live feature of the layer the caller may edit (1008, or 1007 / 1013 by
    /// the parent's ownership rules).
    fn check_parent(
        &self,
        parent_text: &str,
    ) -> Result<Result<(), AttachmentRejection>, ServiceDbError> {
        let row = match Guid::parse(parent_text.trim()) {
            Ok(gid) => db::row_by_global_id(self.conn, self.layer.id, &gid)?,
            Err(_) => None,
        };
        let live = row.as_ref().filter(|r| !r.deleted);
        if let Err(r) = attachment_checks::check_parent(self.layer, parent_text, live.is_some()) {
            return Ok(Err(r));
        }
        if let Some(row) = live
            && let Err(r) = rules::check_owner(self.ctx(), &row.owner, EditKind::Update)
        {
            return Ok(Err(AttachmentRejection::new(r.code, "")));
        }
        Ok(Ok(()))
    }

    fn add(&self, add: &Attachment) -> Result<Attempt, ServiceDbError> {
        let global_id = match attachment_checks::attachment_global_id(&add.global_id, ADD_FAILED) {
            Ok(g) => g,
            Err(r) => return Ok(Err((None, r))),
        };
        let refuse = |r: AttachmentRejection| Ok(Err((Some(global_id.clone()), r)));
        if let Err(r) = attachment_checks::check_accepts_attachments(
            self.layer,
            self.options.attachments_upload,
            ADD_FAILED,
        ) {
            return refuse(r);
        }
        if let Some(existing) = db::attachment_by_global_id(self.conn, self.layer.id, &global_id)? {
            // A resent add: applied once already, never duplicated.
            return Ok(Ok((existing.attachment_id, global_id)));
        }
        if let Err(r) = self.check_parent(&add.parent_global_id)? {
            return refuse(r);
        }
        let data = match self.checked_data(add, ADD_FAILED) {
            Ok(data) => data,
            Err(r) => return refuse(r),
        };
        if let Err(r) = attachment_checks::check_content(
            self.layer,
            &add.name,
            &add.content_type,
            data.len() as u64,
            ADD_FAILED,
        ) {
            return refuse(r);
        }
        let parent = Guid::parse(add.parent_global_id.trim())
            .map(|g| g.as_str().to_string())
            .unwrap_or_default();
        let attachment_id = db::insert_attachment(
            self.conn,
            self.layer.id,
            &AttachmentWrite {
                global_id: global_id.as_str(),
                parent_global_id: &parent,
                name: add.name.trim(),
                content_type: add.content_type.trim(),
                data: &data,
            },
            self.options.generation,
        )?;
        Ok(Ok((attachment_id, global_id)))
    }

    fn update(&self, update: &Attachment) -> Result<Attempt, ServiceDbError> {
        let global_id =
            match attachment_checks::attachment_global_id(&update.global_id, UPDATE_FAILED) {
                Ok(g) => g,
                Err(r) => return Ok(Err((None, r))),
            };
        let refuse = |r: AttachmentRejection| Ok(Err((Some(global_id.clone()), r)));
        if let Err(r) = attachment_checks::check_accepts_attachments(
            self.layer,
            self.options.attachments_upload,
            UPDATE_FAILED,
        ) {
            return refuse(r);
        }
        let stored = match db::attachment_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(a) if !a.deleted => a,
            _ => {
                return refuse(attachment_checks::unknown_attachment(
                    self.layer,
                    &global_id,
                    UPDATE_FAILED,
                ));
            }
        };
        if let Err(r) = attachment_checks::check_same_parent(update, &stored.parent_global_id) {
            return refuse(r);
        }
        if let Err(r) = self.check_parent(&stored.parent_global_id)? {
            return refuse(AttachmentRejection::new(UPDATE_FAILED, r.reason).with_code_of(r.code));
        }
        let data = match update.data.is_some() || update.upload_id.is_some() {
            true => match self.checked_data(update, UPDATE_FAILED) {
                Ok(data) => Some(data),
                Err(r) => return refuse(r),
            },
            false => None,
        };
        let name = non_empty(&update.name).unwrap_or(&stored.name);
        let content_type = non_empty(&update.content_type).unwrap_or(&stored.content_type);
        let size = data
            .as_ref()
            .map_or(stored.size.max(0) as u64, |d| d.len() as u64);
        if let Err(r) =
            attachment_checks::check_content(self.layer, name, content_type, size, UPDATE_FAILED)
        {
            return refuse(r);
        }
        db::update_attachment(
            self.conn,
            stored.attachment_id,
            name,
            content_type,
            data.as_deref(),
            self.options.generation,
        )?;
        Ok(Ok((stored.attachment_id, global_id)))
    }

    fn delete(&self, text: &str) -> Result<Attempt, ServiceDbError> {
        let global_id = match attachment_checks::attachment_global_id(text, DELETE_FAILED) {
            Ok(g) => g,
            Err(r) => return Ok(Err((None, r))),
        };
        let refuse = |r: AttachmentRejection| Ok(Err((Some(global_id.clone()), r)));
        if let Err(r) = attachment_checks::check_accepts_attachments(
            self.layer,
            self.options.attachments_upload,
            DELETE_FAILED,
        ) {
            return refuse(r);
        }
        let stored = match db::attachment_by_global_id(self.conn, self.layer.id, &global_id)? {
            Some(a) => a,
            None => {
                return refuse(attachment_checks::unknown_attachment(
                    self.layer,
                    &global_id,
                    DELETE_FAILED,
                ));
            }
        };
        if stored.deleted {
            // Deleting what is already gone is a no-op, so a resent delete succeeds.
            return Ok(Ok((stored.attachment_id, global_id)));
        }
        if let Err(r) = self.check_parent(&stored.parent_global_id)? {
            // The parent is gone or not the caller's: the delete cannot be applied.
            return refuse(AttachmentRejection::new(DELETE_FAILED, r.reason).with_code_of(r.code));
        }
        db::delete_attachment(self.conn, stored.attachment_id, self.options.generation)?;
        Ok(Ok((stored.attachment_id, global_id)))
    }

    /// The edit's data, refused as too large from its base64 length before it is decoded.
    fn checked_data(&self, a: &Attachment, code: i64) -> Result<Vec<u8>, AttachmentRejection> {
        if let Some(text) = a.data.as_deref() {
            attachment_checks::check_size(self.layer, attachment_checks::decoded_len(text), code)?;
        }
        attachment_checks::decode_data(a, code)
    }
}

impl AttachmentRejection {
    /// Ownership refusals (1007 / 1013) keep their own code; anything else keeps `self.code`.
    fn with_code_of(mut self, other: i64) -> Self {
        if matches!(other, 1007 | 1013) {
            self.code = other;
        }
        self
    }
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}
