//! Applying a sync's reply: the downloaded changes, acknowledgements and refusals go into the
//! replica file in one transaction, the edit results into the store; every difference between
//! what was predicted and what the server answered goes to the sync error log (the server's
//! answer is what is kept). Talks to no service.

use super::report::{layer_name, log, log_unreadable_features, progress_events, send_edit_results};
use super::sync_result::{ApplyAs, SyncReplyBody};
use super::{Done, Failed};
use crate::engine::api::{JobId, LocalReplicaId, SyncOptions};
use crate::engine::{Deps, attachment_transfer, now_ms, prediction};
use crate::geodatabase::replica_file::{AppliedSync, Refusal, ReplicaFile};
use crate::protocol::{EditResultRow, Guid, JobState, ObjectType, SyncDirection};

/// What an upload sent: its generation, how many changes, and the predictions made for it.
pub(super) struct Sent {
    pub(super) upload_gen: Option<i64>,
    pub(super) count: u32,
    pub(super) predictions: Vec<Refusal>,
}

/// Compares the server's answer with the prediction for every change that was sent: the real
/// result is what is kept; each difference goes to the sync error log.
async fn log_prediction_differences(
    deps: &Deps,
    replica: LocalReplicaId,
    replica_name: &str,
    predictions: &[Refusal],
    applied: &AppliedSync,
) {
    let mut refusals = std::collections::HashMap::new();
    for r in applied.refused.iter().rev() {
        refusals.insert((r.change.layer_id, &r.change.global_id), r);
    }
    let accepted: std::collections::HashSet<(i64, &Guid)> = applied
        .acknowledged
        .iter()
        .map(|(layer_id, gid, _)| (*layer_id, gid))
        .collect();
    for p in predictions {
        let key = (p.change.layer_id, &p.change.global_id);
        let refused = refusals.get(&key).copied();
        let accepted = accepted.contains(&key);
        let answer = match (refused, accepted) {
            (Some(r), _) if r.code == p.code => continue,
            (Some(r), _) => format!(
                "the server refused it with {} ({})",
                r.code
                    .map_or_else(|| "no code".to_string(), |c| c.to_string()),
                r.description
            ),
            (None, true) => "the server accepted it".to_string(),
            // Held back, or not answered: nothing to compare.
            (None, false) => continue,
        };
        let message = format!(
            "prediction differed for {} {} in layer {}: predicted {} ({}), but {answer}; the server's result is kept",
            p.kind.as_str(),
            p.change.global_id,
            p.change.layer_id,
            p.code
                .map_or_else(|| "no code".to_string(), |c| c.to_string()),
            p.description
        );
        tracing::info!(replica = %replica, predicted = p.code, "{message}");
        log(deps, Some(replica), replica_name, p.code, &message).await;
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_reply(
    deps: &Deps,
    replica: LocalReplicaId,
    job_id: JobId,
    replica_name: &str,
    options: &SyncOptions,
    sent: Sent,
    body: SyncReplyBody,
    state: JobState,
    fetched: attachment_transfer::Fetched,
) -> Result<Done, Failed> {
    let advance = options.direction != SyncDirection::Upload;
    let upload_gen = sent.upload_gen;
    let uploaded = sent.count;
    let report = progress_events(deps, replica, job_id);
    let (applied, layer_names, response) = deps
        .blocking(move |store| {
            let path = store.replica(replica)?.file_path;
            let mut file = ReplicaFile::open(&path)?;
            let how = ApplyAs {
                upload_gen,
                advance_generations: advance,
                keep_local_updates: false,
            };
            let (applied, response) = body.apply(&mut file, &how, &fetched.payloads, &report)?;
            drop(fetched);
            // What is still queued is judged again against what the server now holds.
            prediction::predict_and_store(&mut file)?;
            let names = file.definition()?.layers;
            Ok((applied, names, response))
        })
        .await?;
    log_prediction_differences(deps, replica, replica_name, &sent.predictions, &applied).await;
    log_unreadable_features(deps, replica, replica_name, &response).await;
    let mut server_rows = response.result_rows();
    // Servers report failures (and adds with returnIdsForAdds); an acknowledged change without a
    // row still succeeded, and its success must clear earlier failures.
    let acknowledged = applied
        .acknowledged
        .iter()
        .map(|a| (a, ObjectType::Feature))
        .chain(
            applied
                .acknowledged_attachments
                .iter()
                .map(|a| (a, ObjectType::Attachment)),
        );
    let reported: std::collections::HashSet<(i64, ObjectType, Guid)> = server_rows
        .iter()
        .filter_map(|r| Some((r.layer_id, r.object_type, r.global_id.clone()?)))
        .collect();
    for ((layer_id, global_id, kind), object_type) in acknowledged {
        if !reported.contains(&(*layer_id, object_type, global_id.clone())) {
            server_rows.push(EditResultRow {
                layer_id: *layer_id,
                object_id: None,
                global_id: Some(global_id.clone()),
                object_type,
                change_type: kind.change_type(),
                success: true,
                code: None,
                description: None,
            });
        }
    }
    let rows: Vec<(EditResultRow, String)> = server_rows
        .into_iter()
        .map(|row| {
            let name = layer_name(&layer_names, row.layer_id);
            (row, name)
        })
        .collect();
    let failed_edits = rows.iter().filter(|(r, _)| !r.success).count() as u32;
    let superseded = applied.superseded.clone();
    let has_results = !rows.is_empty() || !superseded.is_empty();
    deps.with_store(move |s| {
        s.record_edit_results(replica, job_id, &rows, now_ms())?;
        for (layer_id, global_id) in &superseded {
            s.clear_edit_results(replica, *layer_id, global_id)?;
        }
        s.record_success(replica, now_ms())?;
        s.clear_reset_guard(replica)
    })
    .await?;
    if failed_edits > 0 {
        let codes: Vec<String> = applied
            .refused
            .iter()
            .chain(&applied.refused_attachments)
            .filter_map(|r| r.code.map(|c| c.to_string()))
            .collect();
        let message = format!(
            "{failed_edits} edit(s) refused by the server (codes {}); they stay queued until fixed or dropped",
            codes.join(", ")
        );
        log(
            deps,
            Some(replica),
            replica_name,
            applied
                .refused
                .iter()
                .chain(&applied.refused_attachments)
                .next()
                .and_then(|r| r.code),
            &message,
        )
        .await;
    }
    for (layer_id, global_id) in &applied.superseded {
        let message = format!(
            "the server deleted feature {global_id} in layer {layer_id}; the local edit of it was dropped (server delete wins)"
        );
        log(deps, Some(replica), replica_name, None, &message).await;
    }
    if has_results {
        send_edit_results(deps, replica).await;
    }
    let state = if failed_edits > 0 || state == JobState::CompletedWithErrors {
        JobState::CompletedWithErrors
    } else {
        JobState::Completed
    };
    Ok(Done {
        state: Some(state),
        uploaded,
        downloaded: applied.downloaded(),
        failed_edits,
        ..Default::default()
    })
}
