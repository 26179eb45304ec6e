//! Realistic fake engine [`Event`]s for UI tests, screenshots and the frame-time benchmark:
//! three replicas (one up to date, one with failed edits in the 1000 and 2000 series, one that
//! needs a client reset), their edit results, a reset plan, the reports a reset produces, and a
//! large results snapshot. Deterministic: every time is relative to [`NOW_MS`].

use crate::engine::{
    EditResultRecord, Event, JobId, JobOutcome, LayerChangeCounts, LayerState, LocalReplicaId,
    LogEntry, ObjectOutcome, PredictedPolicy, ReplicaSummary, ResetMode, ResetPlan, ResetReport,
    SyncHistoryPoint,
};
use crate::protocol::{ChangeType, Guid, JobState, ObjectType, SyncDirection, SyncModel, catalog};
use std::path::PathBuf;
use std::sync::Arc;

/// The fixtures' "now": 2026-11-22 17:00:00 UTC.
pub const NOW_MS: i64 = 1_795_366_800_000;
const MIN_MS: i64 = 60_000;

pub const UP_TO_DATE: LocalReplicaId = LocalReplicaId(1);
pub const FAILING: LocalReplicaId = LocalReplicaId(2);
pub const NEEDS_RESET: LocalReplicaId = LocalReplicaId(3);

const WATER_URL: &str = "http://127.0.0.1:8080/arcgis/rest/services/Water/FeatureServer";
const PARCELS_URL: &str = "http://127.0.0.1:8080/arcgis/rest/services/Parcels/FeatureServer";
const STORM_URL: &str = "http://127.0.0.1:8080/arcgis/rest/services/Stormwater/FeatureServer";

/// A deterministic GUID from a number.
pub fn guid(n: u64) -> Guid {
    let text = format!(
        "{{{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}}}",
        (n.wrapping_mul(2_654_435_761)) & 0xFFFF_FFFF,
        (n >> 3) & 0xFFFF,
        n & 0xFFF,
        (n >> 7) & 0xFFF,
        n.wrapping_mul(40_503) & 0xFFFF_FFFF_FFFF
    );
    match Guid::parse(&text) {
        Ok(g) => g,
        Err(_) => Guid::new_v4(),
    }
}

fn history(points: usize, failed_every: usize, base_duration_ms: i64) -> Vec<SyncHistoryPoint> {
    (0..points)
        .map(|i| {
            let age = (points - i) as i64 * 15 * MIN_MS;
            let failed = if failed_every > 0 && i % failed_every == failed_every - 1 {
                (i % 5) as u32 + 2
            } else {
                0
            };
            SyncHistoryPoint {
                finished_ms: NOW_MS - age,
                duration_ms: base_duration_ms + ((i as i64 * 737) % 1900),
                failed_edits: failed,
                state: if failed > 0 {
                    "CompletedWithErrors".into()
                } else {
                    "Completed".into()
                },
            }
        })
        .collect()
}

/// The three replicas.
pub fn replicas() -> Vec<ReplicaSummary> {
    vec![
        ReplicaSummary {
            id: UP_TO_DATE,
            name: "Hydrants – crew A".into(),
            service_url: WATER_URL.into(),
            replica_guid: Some(guid(101)),
            sync_model: SyncModel::PerReplica,
            direction: SyncDirection::Bidirectional,
            server_gen: Some(42),
            layer_gens: vec![],
            layers: vec![
                LayerState {
                    layer_id: 0,
                    name: "Hydrants".into(),
                    server_gen: None,
                    pending_changes: 0,
                    failed_edits: 0,
                },
                LayerState {
                    layer_id: 1,
                    name: "Valves".into(),
                    server_gen: None,
                    pending_changes: 0,
                    failed_edits: 0,
                },
            ],
            last_success_ms: Some(NOW_MS - 3 * MIN_MS),
            last_sync_attempt_ms: Some(NOW_MS - 3 * MIN_MS),
            pending_changes: 0,
            failed_edits: 0,
            predicted_failures: 0,
            predicted_policy: PredictedPolicy::Send,
            reset_reason: None,
            reset_mode: ResetMode::RecoverOrDiscard,
            paused: false,
            syncing: false,
            last_error: None,
            history: history(16, 0, 900),
        },
        ReplicaSummary {
            id: FAILING,
            name: "Parcel inspections".into(),
            service_url: PARCELS_URL.into(),
            replica_guid: Some(guid(202)),
            sync_model: SyncModel::PerLayer,
            direction: SyncDirection::Bidirectional,
            server_gen: None,
            layer_gens: vec![(0, 17), (1, 9), (2, 5)],
            layers: vec![
                LayerState {
                    layer_id: 0,
                    name: "Parcels".into(),
                    server_gen: Some(17),
                    pending_changes: 6,
                    failed_edits: 4,
                },
                LayerState {
                    layer_id: 1,
                    name: "Inspections".into(),
                    server_gen: Some(9),
                    pending_changes: 5,
                    failed_edits: 3,
                },
                LayerState {
                    layer_id: 2,
                    name: "Site photos".into(),
                    server_gen: Some(5),
                    pending_changes: 1,
                    failed_edits: 0,
                },
            ],
            last_success_ms: Some(NOW_MS - 47 * MIN_MS),
            last_sync_attempt_ms: Some(NOW_MS - 2 * MIN_MS),
            pending_changes: 12,
            failed_edits: 7,
            predicted_failures: 1,
            predicted_policy: PredictedPolicy::Send,
            reset_reason: None,
            reset_mode: ResetMode::RecoverOrDiscard,
            paused: false,
            syncing: false,
            last_error: None,
            history: history(16, 3, 1400),
        },
        ReplicaSummary {
            id: NEEDS_RESET,
            name: "Storm drains – tablet 2".into(),
            service_url: STORM_URL.into(),
            replica_guid: Some(guid(303)),
            sync_model: SyncModel::PerReplica,
            direction: SyncDirection::Bidirectional,
            server_gen: Some(8),
            layer_gens: vec![],
            layers: vec![
                LayerState {
                    layer_id: 0,
                    name: "Inlets".into(),
                    server_gen: None,
                    pending_changes: 3,
                    failed_edits: 0,
                },
                LayerState {
                    layer_id: 1,
                    name: "Pipes".into(),
                    server_gen: None,
                    pending_changes: 2,
                    failed_edits: 0,
                },
            ],
            last_success_ms: Some(NOW_MS - 26 * 60 * MIN_MS),
            last_sync_attempt_ms: Some(NOW_MS - 5 * MIN_MS),
            pending_changes: 5,
            failed_edits: 0,
            predicted_failures: 0,
            predicted_policy: PredictedPolicy::Send,
            reset_reason: Some(
                "Replica with this GUID does not exist on the server (3061): sync was terminated and re-enabled."
                    .into(),
            ),
            reset_mode: ResetMode::Manual,
            paused: false,
            syncing: false,
            last_error: None,
            history: history(10, 0, 1100),
        },
    ]
}

struct RowSpec {
    layer_id: i64,
    layer: &'static str,
    oid: i64,
    change: ChangeType,
    object_type: ObjectType,
    code: Option<i64>,
    value: &'static str,
    attempts: u32,
    predicted: bool,
}

fn record(n: u64, s: &RowSpec) -> EditResultRecord {
    EditResultRecord {
        layer_id: s.layer_id,
        layer_name: s.layer.into(),
        object_id: Some(s.oid),
        global_id: Some(guid(n)),
        object_type: s.object_type,
        change_type: s.change,
        success: s.code.is_none(),
        code: s.code,
        description: s
            .code
            .map(|c| catalog::describe(c, s.value))
            .unwrap_or_default()
            .into(),
        first_seen_ms: NOW_MS - (s.attempts as i64) * 15 * MIN_MS,
        last_seen_ms: NOW_MS - 2 * MIN_MS,
        attempts: s.attempts,
        predicted: s.predicted,
        attachment: None,
    }
}

/// Edit results of the failing replica: failures in the 1000 and 2000 series plus successes.
/// Row 0 is the "fixable" one used by the fix-and-resend tests (1001, field STATUS not nullable).
pub fn failing_results() -> Arc<[EditResultRecord]> {
    use ChangeType::*;
    use ObjectType::*;
    let specs = [
        (
            0,
            "Parcels",
            1204,
            Update,
            Feature,
            Some(1001),
            "STATUS",
            3,
            false,
        ),
        (
            0,
            "Parcels",
            1187,
            Insert,
            Feature,
            Some(1007),
            "",
            2,
            false,
        ),
        (
            0,
            "Parcels",
            1190,
            Update,
            Feature,
            Some(1023),
            "ASSESSED_VALUE",
            4,
            false,
        ),
        (
            0,
            "Parcels",
            1221,
            Update,
            Feature,
            Some(1016),
            "ZONING",
            1,
            true,
        ),
        (
            1,
            "Inspections",
            88,
            Insert,
            Feature,
            Some(2000),
            "1",
            2,
            false,
        ),
        (
            1,
            "Inspections",
            89,
            Insert,
            Feature,
            Some(2000),
            "1",
            2,
            false,
        ),
        (
            1,
            "Inspections",
            90,
            Update,
            Feature,
            Some(2000),
            "1",
            2,
            false,
        ),
        (2, "Site photos", 14, Insert, Attachment, None, "", 1, false),
        (0, "Parcels", 1160, Update, Feature, None, "", 1, false),
        (0, "Parcels", 1161, Delete, Feature, None, "", 1, false),
        (1, "Inspections", 71, Insert, Feature, None, "", 1, false),
    ];
    specs
        .iter()
        .enumerate()
        .map(
            |(
                i,
                &(layer_id, layer, oid, change, object_type, code, value, attempts, predicted),
            )| {
                record(
                    500 + i as u64,
                    &RowSpec {
                        layer_id,
                        layer,
                        oid,
                        change,
                        object_type,
                        code,
                        value,
                        attempts,
                        predicted,
                    },
                )
            },
        )
        .collect()
}

/// The failing replica's results after the first row was fixed and synced: that row is gone.
pub fn failing_results_after_fix() -> Arc<[EditResultRecord]> {
    failing_results().iter().skip(1).cloned().collect()
}

/// Edit results of the replica that needs a reset: one replica-level (3000 series) row.
pub fn reset_results() -> Arc<[EditResultRecord]> {
    let mut row = record(
        900,
        &RowSpec {
            layer_id: 0,
            layer: "Inlets",
            oid: 31,
            change: ChangeType::Update,
            object_type: ObjectType::Feature,
            code: Some(3061),
            value: "",
            attempts: 3,
            predicted: false,
        },
    );
    row.description = "Replica with this GUID does not exist on the server.".into();
    vec![row].into()
}

/// A large snapshot (e.g. 1,000,000 rows) for the frame-time benchmark and virtual-row tests.
pub fn big_results(rows: usize) -> Arc<[EditResultRecord]> {
    const CODES: [Option<i64>; 8] = [
        None,
        Some(1001),
        None,
        Some(1007),
        Some(2000),
        None,
        Some(1023),
        Some(3064),
    ];
    // One shared copy of each text, as the store hands them out.
    let layers: [Arc<str>; 3] = ["Parcels", "Inspections", "Site photos"].map(Arc::from);
    let descriptions: Vec<Arc<str>> = CODES
        .iter()
        .map(|code| {
            code.map(|c| catalog::describe(c, "STATUS"))
                .unwrap_or_default()
                .into()
        })
        .collect();
    (0..rows)
        .map(|i| {
            let code = CODES[i % CODES.len()];
            let layer_id = (i % 3) as i64;
            EditResultRecord {
                layer_id,
                layer_name: layers[layer_id as usize].clone(),
                object_id: Some(i as i64 + 1),
                global_id: Some(guid(i as u64 + 10_000)),
                object_type: if i % 11 == 0 {
                    ObjectType::Attachment
                } else {
                    ObjectType::Feature
                },
                change_type: match i % 3 {
                    0 => ChangeType::Insert,
                    1 => ChangeType::Update,
                    _ => ChangeType::Delete,
                },
                success: code.is_none(),
                code,
                description: descriptions[i % CODES.len()].clone(),
                first_seen_ms: NOW_MS - (i as i64 % 1000) * MIN_MS,
                last_seen_ms: NOW_MS - (i as i64 % 100) * MIN_MS,
                attempts: (i % 4) as u32 + 1,
                predicted: i % 97 == 0,
                attachment: None,
            }
        })
        .collect()
}

/// What the engine sends at start-up: the replica list, results and a few log lines.
pub fn startup_events() -> Vec<Event> {
    vec![
        Event::ReplicasLoaded {
            replicas: replicas(),
        },
        Event::EditResultsReady {
            replica: FAILING,
            rows: failing_results(),
        },
        Event::EditResultsReady {
            replica: NEEDS_RESET,
            rows: reset_results(),
        },
        Event::Logged {
            entry: LogEntry {
                at_ms: NOW_MS - 2 * MIN_MS,
                replica: Some(FAILING),
                replica_name: "Parcel inspections".into(),
                code: Some(1001),
                message:
                    "Field: STATUS is not nullable. Cannot set null value. (Parcels, OID 1204)"
                        .into(),
            },
        },
        Event::Logged {
            entry: LogEntry {
                at_ms: NOW_MS - 2 * MIN_MS,
                replica: Some(FAILING),
                replica_name: "Parcel inspections".into(),
                code: Some(2000),
                message: "Edits to layer 1 rolled back. (Inspections, 3 edits)".into(),
            },
        },
        Event::Logged {
            entry: LogEntry {
                at_ms: NOW_MS - 5 * MIN_MS,
                replica: Some(NEEDS_RESET),
                replica_name: "Storm drains – tablet 2".into(),
                code: Some(3061),
                message: "Replica with this GUID does not exist on the server.".into(),
            },
        },
    ]
}

/// A running job on the up-to-date replica (for the "live status" screenshot).
pub fn running_job_events() -> Vec<Event> {
    vec![
        Event::JobQueued {
            replica: UP_TO_DATE,
            job: JobId(77),
            command: None,
        },
        Event::JobStatus {
            replica: UP_TO_DATE,
            job: JobId(77),
            state: JobState::InProgress,
            progress: Some(0.62),
            message: "Downloading changes (2 of 3 layers)".into(),
        },
    ]
}

/// The events a successful sync of the failing replica produces once row 0 was fixed.
pub fn successful_sync_after_fix(job: JobId) -> Vec<Event> {
    let mut summary = replicas().swap_remove(1);
    summary.failed_edits -= 1;
    summary.pending_changes -= 1;
    summary.last_success_ms = Some(NOW_MS);
    summary.last_sync_attempt_ms = Some(NOW_MS);
    vec![
        Event::JobQueued {
            replica: FAILING,
            job,
            command: None,
        },
        Event::JobStatus {
            replica: FAILING,
            job,
            state: JobState::InProgress,
            progress: Some(0.5),
            message: "Uploading 12 edits".into(),
        },
        Event::JobCompleted {
            replica: FAILING,
            job,
            outcome: JobOutcome {
                state: JobState::CompletedWithErrors,
                uploaded: 12,
                downloaded: 3,
                failed_edits: 6,
                duration_ms: 1830,
            },
        },
        Event::ReplicaChanged { summary },
        Event::EditResultsReady {
            replica: FAILING,
            rows: failing_results_after_fix(),
        },
    ]
}

/// The plan of a manual reset of the replica that needs one.
pub fn reset_plan() -> ResetPlan {
    ResetPlan {
        replica: NEEDS_RESET,
        replica_name: "Storm drains – tablet 2".into(),
        reason: "Replica with this GUID does not exist on the server (3061): sync was terminated and re-enabled.".into(),
        mode: ResetMode::Manual,
        fallback_chain: vec![],
        changes: vec![
            LayerChangeCounts {
                layer_id: 0,
                layer_name: "Inlets".into(),
                adds: 2,
                updates: 1,
                deletes: 0,
            },
            LayerChangeCounts {
                layer_id: 1,
                layer_name: "Pipes".into(),
                adds: 0,
                updates: 1,
                deletes: 1,
            },
        ],
        backup_dir: PathBuf::from("/home/tech/.local/share/syncwatch/recovery/storm-drains-2026-11-22T170000"),
    }
}

/// The engine asks the user to confirm a manual reset (here: after recovery failed).
pub fn reset_awaiting_event() -> Event {
    let mut plan = reset_plan();
    plan.mode = ResetMode::RecoverOrDiscard;
    plan.fallback_chain = ResetMode::RecoverOrDiscard.fallback_chain().to_vec();
    Event::ResetAwaitingConfirmation {
        plan,
        fallback_error: Some(
            "Recovery failed: layer 1 (Pipes) lost field DIAMETER_MM (breaking schema change); discard failed: backup folder is read-only."
                .into(),
        ),
    }
}

/// The report after a recovering reset of the replica that needed one.
pub fn after_recovery_event() -> Event {
    Event::AfterRecovery {
        report: ResetReport {
            replica: NEEDS_RESET,
            mode_used: ResetMode::Recover,
            recovered: vec![
                ObjectOutcome {
                    layer_id: 0,
                    global_id: guid(901),
                    change_type: ChangeType::Insert,
                    note: "local create kept".into(),
                },
                ObjectOutcome {
                    layer_id: 0,
                    global_id: guid(902),
                    change_type: ChangeType::Update,
                    note: "local value wins for INLET_TYPE".into(),
                },
            ],
            discarded: vec![ObjectOutcome {
                layer_id: 1,
                global_id: guid(903),
                change_type: ChangeType::Update,
                note: "server deleted the pipe; the server delete wins".into(),
            }],
            backup_files: vec![reset_plan().backup_dir.join("replica.geodatabase")],
        },
    }
}
