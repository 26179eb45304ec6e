//! The attribute form's engine side: loading the [`FixForm`]s of refused edits from the replica
//! file (`Command::LoadFixForm`: the cached layer and service properties, the queued change laid
//! over the server's version, the server's version, the refusal, the editor, the unique values
//! other features hold), and the many-at-once fixes: one field set in several queued edits
//! (`Command::SetFieldInEdits`) and several edits dropped (`Command::DropEdits`), each in one
//! transaction of the replica file. Blocking work runs in `spawn_blocking`; nothing here talks
//! to the network.

use super::Deps;
use super::api::{Event, LocalReplicaId};
use super::error::EngineError;
use super::job::{send_edit_results, send_summary};
use crate::geodatabase::replica_file::{ChangeKind, ReplicaFile, ReplicaFileError};
use crate::model::{FixForm, Refused};
use crate::protocol::{ChangeType, Guid};

/// Loads the forms of these queued edits and sends [`Event::FixFormLoaded`] (in the order
/// asked). Fails when one of them is not queued (any more) or is a delete.
pub(crate) async fn load_fix_forms(
    deps: &Deps,
    replica: LocalReplicaId,
    edits: Vec<(i64, Guid)>,
) -> Result<(), EngineError> {
    let forms = deps
        .blocking(move |store| {
            let path = store.replica(replica)?.file_path;
            let file = ReplicaFile::open(&path)?;
            let mut forms = Vec::with_capacity(edits.len());
            for (layer_id, global_id) in &edits {
                forms.push(load_one(&file, replica, *layer_id, global_id)?);
            }
            Ok(forms)
        })
        .await?;
    deps.events.send(Event::FixFormLoaded { replica, forms });
    Ok(())
}

fn load_one(
    file: &ReplicaFile,
    replica: LocalReplicaId,
    layer_id: i64,
    global_id: &Guid,
) -> Result<FixForm, EngineError> {
    let no_change = || ReplicaFileError::NoSuchChange {
        layer_id,
        global_id: global_id.clone(),
    };
    let change = file.change(layer_id, global_id)?.ok_or_else(no_change)?;
    if change.kind == ChangeKind::Delete {
        return Err(ReplicaFileError::CannotFixDelete {
            layer_id,
            global_id: global_id.clone(),
        }
        .into());
    }
    let layer = file.layer_info(layer_id)?.ok_or_else(no_change)?;
    let service = file.service_info()?.unwrap_or_default();
    let server = file.server_feature(layer_id, global_id)?;
    let local = file
        .local_feature(layer_id, global_id)?
        .ok_or_else(no_change)?;
    let (code, description, predicted) = match (&change.error_code, &change.error_text) {
        (Some(code), text) => (Some(*code), text.clone().unwrap_or_default(), false),
        (None, Some(text)) => (None, text.clone(), false),
        (None, None) => match file
            .predicted_refusals()?
            .into_iter()
            .find(|p| p.change.layer_id == layer_id && &p.change.global_id == global_id)
        {
            Some(p) => (p.code, p.description, true),
            None => (None, String::new(), false),
        },
    };
    let mut unique_taken = Vec::new();
    for field in layer.unique_fields() {
        let values = file
            .server_values(layer_id, &field)?
            .into_iter()
            .filter(|(g, _)| !g.eq_ignore_ascii_case(global_id.as_str()))
            .map(|(_, v)| v)
            .collect();
        unique_taken.push((field, values));
    }
    let object_id_field = if layer.object_id_field.is_empty() {
        "OBJECTID".to_string()
    } else {
        layer.object_id_field.clone()
    };
    Ok(FixForm {
        replica,
        layer_id,
        layer_name: layer.name.clone(),
        global_id: global_id.clone(),
        object_id: server
            .as_ref()
            .and_then(|s| s.attr_ci(&object_id_field))
            .and_then(|v| v.as_i64()),
        change_type: match change.kind {
            ChangeKind::Add => ChangeType::Insert,
            _ => ChangeType::Update,
        },
        refused: Refused {
            code,
            field: FixForm::field_named_in(&layer, &description),
            description,
            predicted,
        },
        fields: FixForm::form_fields(&layer),
        local,
        server,
        editor: file.editor()?,
        service,
        layer,
        unique_taken,
    })
}

/// Sets `field` to `value` in every one of these queued edits of `layer_id`, all or none, and
/// queues them again; the predictions are judged again and the summary sent.
pub(crate) async fn set_field_in_edits(
    deps: &Deps,
    replica: LocalReplicaId,
    layer_id: i64,
    global_ids: Vec<Guid>,
    field: String,
    value: serde_json::Value,
    syncing: bool,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let path = store.replica(replica)?.file_path;
        let mut file = ReplicaFile::open(&path)?;
        file.set_field_in_changes(layer_id, &global_ids, &field, &value)?;
        super::prediction::predict_and_store(&mut file)?;
        Ok(())
    })
    .await?;
    send_edit_results(deps, replica).await;
    send_summary(deps, replica, syncing).await;
    Ok(())
}

/// Drops every one of these queued edits, all or none (the features revert to the server's
/// versions), and clears their failures.
pub(crate) async fn drop_edits(
    deps: &Deps,
    replica: LocalReplicaId,
    edits: Vec<(i64, Guid)>,
    syncing: bool,
) -> Result<(), EngineError> {
    deps.blocking(move |store| {
        let path = store.replica(replica)?.file_path;
        let mut file = ReplicaFile::open(&path)?;
        file.drop_changes(&edits)?;
        super::prediction::predict_and_store(&mut file)?;
        for (layer_id, global_id) in &edits {
            store.clear_edit_results(replica, *layer_id, global_id)?;
        }
        Ok(())
    })
    .await?;
    send_edit_results(deps, replica).await;
    send_summary(deps, replica, syncing).await;
    Ok(())
}
