//! The edit-results grid with attachment rows, through egui_kittest and the AccessKit tree:
//! attachment rows are marked in the Object column, and selecting one shows the attachment's
//! name, size and parent feature in the detail pane.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use syncwatch::engine::{AttachmentDetail, EditResultRecord, LocalReplicaId};
use syncwatch::protocol::{ChangeType, Guid, ObjectType, catalog};
use syncwatch::ui::results::{ATTACHMENT_MARK, GridState, results_grid_ui};

const PARENT: &str = "{9DFB369B-AB13-4FAE-A276-55DAA05F1119}";

fn row(object_id: i64, object_type: ObjectType, code: i64) -> EditResultRecord {
    EditResultRecord {
        layer_id: 3,
        layer_name: "Inspections".into(),
        object_id: Some(object_id),
        global_id: Some(Guid::new_v4()),
        object_type,
        change_type: ChangeType::Insert,
        success: false,
        code: Some(code),
        description: catalog::describe(code, "Result").into(),
        first_seen_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_060_000,
        attempts: 1,
        predicted: false,
        attachment: None,
    }
}

fn rows() -> Arc<[EditResultRecord]> {
    let mut photo = row(4242, ObjectType::Attachment, 1008);
    photo.attachment = Some(Box::new(AttachmentDetail {
        name: "leaking-cap.jpg".into(),
        content_type: "image/jpeg".into(),
        size_bytes: 6 * 1024 * 1024 + 300_000,
        parent_global_id: Guid::parse(PARENT).unwrap(),
    }));
    let gone = row(4243, ObjectType::Attachment, 1010);
    vec![row(17, ObjectType::Feature, 1001), photo, gone].into()
}

fn harness() -> Harness<'static, GridState> {
    let rows = rows();
    let mut harness = Harness::new_ui_state(
        move |ui, grid: &mut GridState| {
            let waker = ui.ctx().clone();
            grid.sync(LocalReplicaId(1), &rows, &waker);
            let _ = results_grid_ui(ui, grid, true);
        },
        GridState::default(),
    );
    harness.set_size(egui::vec2(1400.0, 700.0));
    harness.run();
    harness
}

/// Attachment rows carry the attachment marker (feature rows do not); selecting one shows its
/// name, size, content type and parent feature.
#[test]
fn attachment_rows_are_marked_and_detailed() {
    let mut harness = harness();
    assert_eq!(harness.query_all_by_label(ATTACHMENT_MARK).count(), 2);
    assert_eq!(harness.query_all_by_label("feature").count(), 1);
    harness.get_by_label("4242").click();
    harness.run();
    assert_eq!(harness.state().selected, Some(1));
    harness.get_by_label("leaking-cap.jpg");
    harness.get_by_label("6.3 MB (image/jpeg)");
    harness.get_by_label("Parent feature");
    harness.get_by_label(PARENT);
    harness.get_by_label("1008 – Adding an attachment failed");
    // The detail pane repeats the marker for the selected row.
    assert_eq!(harness.query_all_by_label(ATTACHMENT_MARK).count(), 3);
}

/// A feature row shows no attachment rows; an attachment the replica file no longer holds says so.
#[test]
fn feature_rows_have_no_attachment_detail_and_missing_attachments_say_so() {
    let mut harness = harness();
    harness.get_by_label("17").click();
    harness.run();
    assert!(harness.query_by_label("Parent feature").is_none());
    harness.get_by_label("4243").click();
    harness.run();
    harness.get_by_label("no longer in the replica file");
    assert!(harness.query_by_label("Parent feature").is_none());
}
