//! The checks the reference service applies to uploaded attachment edits, each yielding the
//! documented code with a reason: 1008 (an add failed: the layer has no attachments, the replica
//! does not sync them, the parent feature is missing, no or bad data, too large, a content type
//! the layer does not accept), 1009 (an update failed: unknown or deleted attachment, another
//! parent, the same content limits) and 1010 (a delete failed: unknown attachment), plus
//! 1020 / 1021 for a missing or empty GlobalID. Pure functions over the definition and what the
//! caller looked up: no I/O, no database (existence is looked up by `attachments`).

use super::definition::LayerDef;
use crate::protocol::catalog;
use crate::protocol::{Attachment, Guid};
use base64::Engine;

/// Edit-result code of a failed attachment add.
pub const ADD_FAILED: i64 = 1008;
/// Edit-result code of a failed attachment update.
pub const UPDATE_FAILED: i64 = 1009;
/// Edit-result code of a failed attachment delete.
pub const DELETE_FAILED: i64 = 1010;

/// A refused attachment edit: its code and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRejection {
    pub code: i64,
    pub reason: String,
}

impl AttachmentRejection {
    pub fn new(code: i64, reason: impl Into<String>) -> Self {
        AttachmentRejection {
            code,
            reason: reason.into(),
        }
    }

    /// The catalog text of the code followed by the reason.
    pub fn description(&self) -> String {
        let base = catalog::describe(self.code, "");
        if self.reason.is_empty() {
            base
        } else {
            format!("{base} {}", self.reason)
        }
    }
}

/// The GlobalID of an attachment edit: 1020 when absent or empty, `code` when not a GUID.
pub fn attachment_global_id(text: &str, code: i64) -> Result<Guid, AttachmentRejection> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AttachmentRejection::new(1020, ""));
    }
    Guid::parse(text).map_err(|_| {
        AttachmentRejection::new(
            code,
            format!("The attachment GlobalID {text:?} is not a GUID."),
        )
    })
}

/// `code` when the layer does not hold attachments or the replica does not upload them.
pub fn check_accepts_attachments(
    layer: &LayerDef,
    replica_uploads_attachments: bool,
    code: i64,
) -> Result<(), AttachmentRejection> {
    if !layer.has_attachments {
        return Err(AttachmentRejection::new(
            code,
            format!("Layer {} does not have attachments.", layer.id),
        ));
    }
    if !replica_uploads_attachments {
        return Err(AttachmentRejection::new(
            code,
            "This replica does not sync attachments (attachmentsSyncDirection is none).",
        ));
    }
    Ok(())
}

/// 1008 when the parent feature is not a live feature of the layer.
pub fn check_parent(
    layer: &LayerDef,
    parent_global_id: &str,
    parent_is_live: bool,
) -> Result<(), AttachmentRejection> {
    if parent_global_id.trim().is_empty() {
        return Err(AttachmentRejection::new(
            ADD_FAILED,
            "The attachment names no parent feature (parentGlobalid).",
        ));
    }
    if !parent_is_live {
        return Err(AttachmentRejection::new(
            ADD_FAILED,
            format!(
                "The parent feature {parent_global_id} does not exist in layer {}.",
                layer.id
            ),
        ));
    }
    Ok(())
}

/// `code` for an empty name, a content type the layer does not accept, or data larger than the
/// layer's limit. `size` is the decoded size in bytes.
pub fn check_content(
    layer: &LayerDef,
    name: &str,
    content_type: &str,
    size: u64,
    code: i64,
) -> Result<(), AttachmentRejection> {
    if name.trim().is_empty() {
        return Err(AttachmentRejection::new(
            code,
            "The attachment has no name.",
        ));
    }
    if !content_type_allowed(&layer.attachment_content_types, content_type) {
        return Err(AttachmentRejection::new(
            code,
            format!(
                "Content type {content_type:?} is not accepted by layer {} (accepted: {}).",
                layer.id,
                layer.attachment_content_types.join(", ")
            ),
        ));
    }
    check_size(layer, size, code)
}

/// `code` when `size` bytes exceed the layer's attachment limit.
pub fn check_size(layer: &LayerDef, size: u64, code: i64) -> Result<(), AttachmentRejection> {
    let limit = layer.max_attachment_bytes();
    if size > limit {
        return Err(AttachmentRejection::new(
            code,
            format!(
                "The attachment is {size} bytes; layer {} accepts at most {limit} bytes.",
                layer.id
            ),
        ));
    }
    Ok(())
}

/// Whether `content_type` matches one of `accepted` (`type/subtype`, `type/*`, or `*/*`);
/// parameters such as `; charset=…` are ignored. An empty list accepts every type.
pub fn content_type_allowed(accepted: &[String], content_type: &str) -> bool {
    if accepted.is_empty() {
        return true;
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((kind, _)) = essence.split_once('/') else {
        return false;
    };
    accepted.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        a == essence || a == "*/*" || a.strip_suffix("/*").is_some_and(|k| k == kind)
    })
}

/// 1009 when an update names a parent other than the attachment's own.
pub fn check_same_parent(
    update: &Attachment,
    stored_parent: &str,
) -> Result<(), AttachmentRejection> {
    let sent = update.parent_global_id.trim();
    if sent.is_empty() {
        return Ok(());
    }
    let same = match (Guid::parse(sent), Guid::parse(stored_parent)) {
        (Ok(a), Ok(b)) => a == b,
        _ => sent.eq_ignore_ascii_case(stored_parent),
    };
    if same {
        Ok(())
    } else {
        Err(AttachmentRejection::new(
            UPDATE_FAILED,
            format!("The attachment belongs to feature {stored_parent}, not {sent}."),
        ))
    }
}

/// `code` for an attachment the layer does not have (or has deleted).
pub fn unknown_attachment(layer: &LayerDef, global_id: &Guid, code: i64) -> AttachmentRejection {
    AttachmentRejection::new(
        code,
        format!("Layer {} has no attachment {global_id}.", layer.id),
    )
}

/// The size base64 text decodes to, without decoding it (so a huge upload is refused before
/// anything is allocated).
pub fn decoded_len(base64_text: &str) -> u64 {
    let body = base64_text
        .split_once(";base64,")
        .map_or(base64_text, |(_, b)| b);
    let significant = body
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count() as u64;
    significant * 3 / 4
}

/// The bytes of an attachment edit's data: base64 (a `data:…;base64,` prefix and line breaks
/// are tolerated). `code` when the edit carries no data or it is not base64.
pub fn decode_data(attachment: &Attachment, code: i64) -> Result<Vec<u8>, AttachmentRejection> {
    let Some(text) = attachment.data.as_deref() else {
        let why = if attachment.upload_id.is_some() || attachment.url.is_some() {
            "Attachment data by upload id or URL is not supported by this service; send it as base64 data."
        } else {
            "The attachment carries no data."
        };
        return Err(AttachmentRejection::new(code, why));
    };
    let body = text.split_once(";base64,").map_or(text, |(_, b)| b);
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            AttachmentRejection::new(code, format!("The attachment data is not base64: {e}."))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::definition::ServiceDefinition;

    fn inspections() -> LayerDef {
        ServiceDefinition::demo().unwrap().layer(3).unwrap().clone()
    }

    #[test]
    fn content_types_and_sizes_follow_the_layer_rules() {
        let layer = inspections();
        assert!(check_content(&layer, "a.jpg", "image/jpeg", 10, ADD_FAILED).is_ok());
        assert!(check_content(&layer, "a.jpg", "IMAGE/JPEG; x=1", 10, ADD_FAILED).is_ok());
        let bad_type = check_content(&layer, "a.exe", "application/x-msdownload", 10, ADD_FAILED);
        assert_eq!(bad_type.unwrap_err().code, ADD_FAILED);
        let too_big = check_content(
            &layer,
            "a.jpg",
            "image/jpeg",
            layer.max_attachment_bytes() + 1,
            UPDATE_FAILED,
        );
        assert_eq!(too_big.unwrap_err().code, UPDATE_FAILED);
        assert!(check_content(&layer, " ", "image/jpeg", 1, ADD_FAILED).is_err());
        assert!(content_type_allowed(&["image/*".into()], "image/webp"));
        assert!(!content_type_allowed(&["image/*".into()], "text/plain"));
        assert!(content_type_allowed(&[], "anything/at-all"));
    }

    #[test]
    fn identity_parent_and_data() {
        let layer = inspections();
        assert_eq!(attachment_global_id("", ADD_FAILED).unwrap_err().code, 1020);
        assert_eq!(
            attachment_global_id("nope", DELETE_FAILED)
                .unwrap_err()
                .code,
            DELETE_FAILED
        );
        assert!(check_parent(&layer, "{7A0C2C24-5CA5-408F-8705-A23EF105F351}", false).is_err());
        assert!(check_parent(&layer, "", true).is_err());
        let hydrants = ServiceDefinition::demo().unwrap().layer(0).unwrap().clone();
        assert!(check_accepts_attachments(&hydrants, true, ADD_FAILED).is_err());
        assert!(check_accepts_attachments(&layer, false, ADD_FAILED).is_err());
        assert!(check_accepts_attachments(&layer, true, ADD_FAILED).is_ok());
        let with = |data: &str| Attachment {
            data: Some(data.into()),
            ..Default::default()
        };
        assert_eq!(
            decode_data(&with("AAEC\n/w=="), ADD_FAILED).unwrap(),
            vec![0, 1, 2, 255]
        );
        assert_eq!(
            decode_data(&with("data:image/png;base64,AAEC"), ADD_FAILED).unwrap(),
            vec![0, 1, 2]
        );
        assert!(decode_data(&with("***"), ADD_FAILED).is_err());
        assert!(decode_data(&Attachment::default(), ADD_FAILED).is_err());
        assert_eq!(decoded_len("AAEC/w=="), 4);
        let desc = AttachmentRejection::new(1010, "Layer 3 has no attachment x.").description();
        assert!(desc.starts_with(&catalog::describe(1010, "")), "{desc}");
    }
}
