use super::*;
use crate::model::{LogEntry, PredictedPolicy, ResetMode, Secret};
use crate::protocol::{ChangeType, EditResultRow, Guid, ObjectType};
use std::path::{Path, PathBuf};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("app").join("syncwatch.db")).unwrap()
}

fn new_replica(name: &str) -> NewReplica {
    NewReplica {
        name: name.into(),
        service_url: "http://127.0.0.1:1/arcgis/rest/services/Water/FeatureServer".into(),
        replica_guid: None,
        file_path: PathBuf::from("/tmp/x.replica"),
    }
}

fn result(gid: &Guid, success: bool, code: Option<i64>) -> (EditResultRow, String) {
    (
        EditResultRow {
            layer_id: 0,
            object_id: Some(4),
            global_id: Some(gid.clone()),
            object_type: ObjectType::Feature,
            change_type: ChangeType::Update,
            success,
            code,
            description: code.map(|c| format!("error {c}")),
        },
        "Hydrants".to_string(),
    )
}

/// The registry stores replicas, finds them by name or replicaID, holds no token,
/// and migrations are recorded in user_version; reopening keeps everything.
#[test]
fn registry_round_trip_and_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store.add_replica(&new_replica("hydrants")).unwrap();
    assert!(matches!(
        store.add_replica(&new_replica("hydrants")),
        Err(StoreError::NameTaken(_))
    ));
    let guid = Guid::new_v4();
    store
        .set_replica_file(id, &guid, Path::new("/data/hydrants.replica"))
        .unwrap();
    store.set_paused(id, true).unwrap();
    store.set_reset_mode(id, ResetMode::Manual).unwrap();
    store
        .set_reset_required(id, Some("replica does not exist"))
        .unwrap();
    store.record_attempt(id, 5, Some("timeout")).unwrap();
    let record = store.replica(id).unwrap();
    assert_eq!(record.legacy_token, None, "the registry holds no token");
    assert_eq!(record.reset_mode, ResetMode::Manual);
    assert!(record.paused);
    assert_eq!(record.last_error.as_deref(), Some("timeout"));
    store.record_success(id, 9).unwrap();
    let record = store.replica(id).unwrap();
    assert_eq!((record.last_error, record.last_success_ms), (None, Some(9)));
    assert_eq!(
        store.find_replica("hydrants").unwrap().unwrap().local_id,
        id
    );
    assert_eq!(
        store.find_replica(guid.bare()).unwrap().unwrap().local_id,
        id
    );
    assert!(store.find_replica("nope").unwrap().is_none());
    let path = store.path().to_path_buf();
    drop(store);
    let store = Store::open(&path).unwrap();
    let version: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, migrations::CURRENT_VERSION);
    assert_eq!(store.replicas().unwrap().len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// A database from a newer build is refused rather than modified.
#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncwatch.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

/// Edit results are de-duplicated by (replica, layer, GlobalID, code) with attempt counts,
/// and a later success or a drop clears the failures.
#[test]
fn edit_results_dedupe_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = store.add_replica(&new_replica("hydrants")).unwrap();
    let job1 = store
        .start_job(id, JobKind::Sync, Some("bidirectional"))
        .unwrap();
    let (a, b) = (Guid::new_v4(), Guid::new_v4());
    store
        .record_edit_results(
            id,
            job1,
            &[result(&a, false, Some(1001)), result(&b, false, Some(1007))],
            100,
        )
        .unwrap();
    let job2 = store
        .start_job(id, JobKind::Sync, Some("bidirectional"))
        .unwrap();
    store
        .record_edit_results(
            id,
            job2,
            &[result(&a, false, Some(1001)), result(&b, false, Some(1013))],
            200,
        )
        .unwrap();
    let rows = store.edit_results(id).unwrap();
    assert_eq!(rows.len(), 3);
    let a_row = rows
        .iter()
        .find(|r| r.global_id == Some(a.clone()))
        .unwrap();
    assert_eq!(
        (a_row.attempts, a_row.first_seen_ms, a_row.last_seen_ms),
        (2, 100, 200)
    );
    assert_eq!(&*a_row.layer_name, "Hydrants");
    assert_eq!(store.failed_edit_counts(id).unwrap(), vec![(0, 2)]);

    store
        .record_edit_results(id, job2, &[result(&a, true, None)], 300)
        .unwrap();
    assert_eq!(store.clear_edit_results(id, 0, &b).unwrap(), 2);
    let rows = store.edit_results(id).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].success);
    assert!(store.failed_edit_counts(id).unwrap().is_empty());
}

/// Jobs record timings and outcomes; the log keeps lines; settings and the reset guard persist;
/// removing a replica removes what belongs to it.
#[test]
fn jobs_log_settings_and_reset_guard() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = store.add_replica(&new_replica("hydrants")).unwrap();
    let job = store.start_job(id, JobKind::Sync, Some("upload")).unwrap();
    let duration = store
        .finish_job(
            job,
            &JobFinish {
                state: "CompletedWithErrors".into(),
                uploaded: 3,
                downloaded: 1,
                failed_edits: 1,
                error: None,
            },
        )
        .unwrap();
    assert!(duration >= 0);
    let jobs = store.jobs(id, 10).unwrap();
    assert_eq!(jobs[0].state.as_deref(), Some("CompletedWithErrors"));
    assert_eq!(jobs[0].uploaded, 3);

    store
        .log(&LogEntry {
            at_ms: 1,
            replica: Some(id),
            replica_name: "hydrants".into(),
            code: Some(3061),
            message: "replica does not exist".into(),
        })
        .unwrap();
    assert_eq!(store.recent_log(10).unwrap()[0].code, Some(3061));

    assert_eq!(store.auto_sync_interval_secs().unwrap(), None);
    store.set_auto_sync_interval_secs(Some(300)).unwrap();
    assert_eq!(store.auto_sync_interval_secs().unwrap(), Some(300));
    store.set_auto_sync_interval_secs(None).unwrap();
    assert_eq!(store.auto_sync_interval_secs().unwrap(), None);

    let guard = ResetGuard {
        local_id: id,
        mode: ResetMode::Recover,
        at_ms: 5,
        reason: "3061".into(),
    };
    store.set_reset_guard(&guard).unwrap();
    assert_eq!(store.reset_guard(id).unwrap(), Some(guard));
    store.clear_reset_guard(id).unwrap();
    assert_eq!(store.reset_guard(id).unwrap(), None);

    store.remove_replica(id).unwrap();
    assert!(store.jobs(id, 10).unwrap().is_empty());
    assert!(matches!(
        store.replica(id),
        Err(StoreError::NoSuchReplica(_))
    ));
    assert_eq!(store.recent_log(10).unwrap()[0].replica, None);
}

/// The predicted-refusal policy is per replica, `send` by default, and goes with the replica.
#[test]
fn predicted_policy_per_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let a = store.add_replica(&new_replica("a")).unwrap();
    let b = store.add_replica(&new_replica("b")).unwrap();
    assert_eq!(store.predicted_policy(a).unwrap(), PredictedPolicy::Send);
    store
        .set_predicted_policy(a, PredictedPolicy::Hold)
        .unwrap();
    store
        .set_predicted_policy(b, PredictedPolicy::EditableOnly)
        .unwrap();
    assert_eq!(store.predicted_policy(a).unwrap(), PredictedPolicy::Hold);
    assert_eq!(
        store.predicted_policy(b).unwrap(),
        PredictedPolicy::EditableOnly
    );
    store.remove_replica(a).unwrap();
    assert_eq!(store.setting("replica.1.predicted_policy").unwrap(), None);
    assert!(matches!(
        store.set_predicted_policy(a, PredictedPolicy::Hold),
        Err(StoreError::NoSuchReplica(_))
    ));
}

/// The reset journal: beginning a reset marks the replica as needing one; each step replaces the
/// record; the switch moves the registry to the fresh file and stores the phase and report in one
/// transaction; ending forgets it; removing the replica removes it.
#[test]
fn reset_journal_round_trip_and_switch() {
    use crate::model::ResetReport;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = store.add_replica(&new_replica("hydrants")).unwrap();
    let old_guid = Guid::new_v4();
    store.set_replica_guid(id, &old_guid).unwrap();
    let mut journal = ResetJournal {
        local_id: id,
        mode: ResetMode::RecoverOrDiscard,
        strategy: None,
        reason: "replica does not exist".into(),
        required_before: false,
        phase: ResetPhase::BackingUp,
        attempts: 1,
        started_ms: 7,
        old_path: PathBuf::from("/tmp/x.replica"),
        old_guid: Some(old_guid.clone()),
        backup_dir: None,
        fresh_path: None,
        fresh_guid: None,
        report: None,
    };
    store.begin_reset(&journal).unwrap();
    assert_eq!(
        store.replica(id).unwrap().reset_reason.as_deref(),
        Some("replica does not exist")
    );
    assert_eq!(store.reset_journal(id).unwrap(), Some(journal.clone()));
    assert!(matches!(
        store.switch_replica_file(&journal),
        Err(StoreError::IncompleteReset(_))
    ));

    let fresh_guid = Guid::new_v4();
    journal.phase = ResetPhase::Created;
    journal.strategy = Some(ResetMode::Recover);
    journal.backup_dir = Some(PathBuf::from("/tmp/recovery/x"));
    journal.fresh_path = Some(PathBuf::from("/tmp/x-reset-1.replica"));
    journal.fresh_guid = Some(fresh_guid.clone());
    journal.report = Some(ResetReport {
        replica: id,
        mode_used: ResetMode::Recover,
        recovered: vec![],
        discarded: vec![],
        backup_files: vec![PathBuf::from("/tmp/recovery/x/replica.sqlite")],
    });
    store.update_reset(&journal).unwrap();
    assert_eq!(store.reset_journals().unwrap(), vec![journal.clone()]);

    store.switch_replica_file(&journal).unwrap();
    let record = store.replica(id).unwrap();
    assert_eq!(record.file_path, PathBuf::from("/tmp/x-reset-1.replica"));
    assert_eq!(record.replica_guid, Some(fresh_guid));
    assert_eq!(record.reset_reason, None);
    let switched = store.reset_journal(id).unwrap().unwrap();
    assert_eq!(switched.phase, ResetPhase::Switched);
    assert_eq!(switched.report, journal.report);

    store.end_reset(id).unwrap();
    assert_eq!(store.reset_journal(id).unwrap(), None);
    store.update_reset(&journal).unwrap();
    store.remove_replica(id).unwrap();
    assert!(store.reset_journals().unwrap().is_empty());
}

/// Repointing a service changes exactly the replicas of that URL and reports them.
#[test]
fn repoint_service_changes_only_that_service() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let old_url = new_replica("a").service_url;
    let a = store.add_replica(&new_replica("a")).unwrap();
    let mut other = new_replica("b");
    other.service_url = "https://example.com/arcgis/rest/services/Water/FeatureServer".into();
    let b = store.add_replica(&other).unwrap();
    let new_url = "http://127.0.0.1:2/arcgis/rest/services/Water/FeatureServer";
    assert_eq!(store.repoint_service(&old_url, new_url).unwrap(), vec![a]);
    assert_eq!(store.replica(a).unwrap().service_url, new_url);
    assert_eq!(store.replica(b).unwrap().service_url, other.service_url);
    assert!(store.repoint_service(&old_url, new_url).unwrap().is_empty());
}

/// A file that is not a database is "damaged" (the engine's way-out message); a missing replica
/// is not.
#[test]
fn damaged_files_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncwatch.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(err.is_damaged(), "{err:?}");
    assert!(!StoreError::NoSuchReplica(LocalReplicaId(1)).is_damaged());
}

/// A database in the old format (schema 2, a token in `replicas.token`) opens and migrates; the
/// token is readable as a legacy token until erased, and once erased no byte of it is left in the
/// database file or its WAL; `Debug` never shows it.
#[test]
fn legacy_tokens_are_erased_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncwatch.db");
    let token = "legacy-TOKEN-5f2c9a";
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        for step in &migrations::STEPS[..2] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO replicas (name, service_url, token, file_path, reset_mode, created_ms)
             VALUES ('old', 'http://127.0.0.1:1/x/FeatureServer', ?1, '/tmp/old.replica',
                     'recover-or-discard', 1)",
            [token],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let legacy = store.legacy_tokens().unwrap();
    assert_eq!(legacy.len(), 1);
    assert_eq!(legacy[0].1.expose(), token);
    assert!(!format!("{legacy:?}").contains("TOKEN"));
    let id = legacy[0].0;
    assert_eq!(
        store
            .replica(id)
            .unwrap()
            .legacy_token
            .as_ref()
            .map(Secret::expose),
        Some(token)
    );
    store.erase_legacy_tokens(&[id]).unwrap();
    assert!(store.legacy_tokens().unwrap().is_empty());
    assert_eq!(store.replica(id).unwrap().legacy_token, None);
    assert_eq!(
        store.replica(id).unwrap().name,
        "old",
        "the replica itself stays"
    );
    for file in ["syncwatch.db", "syncwatch.db-wal"] {
        let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
            continue;
        };
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{file} still holds the token"
        );
    }
}

/// Accounts are recorded without secrets, replaced on renewal (keeping the first sign-in),
/// listed and forgotten; which store holds a replica's token is recorded and forgotten with the
/// replica.
#[test]
fn accounts_and_token_stores_round_trip() {
    use crate::model::{Account, AccountKey, AccountKind, SecretKind, SecretStoreKind};
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let key = AccountKey::new("https://host/portal", "bob");
    let mut account = Account {
        key: key.clone(),
        kind: AccountKind::OAuth {
            client_id: "app".into(),
        },
        store: SecretStoreKind::File,
        held: vec![SecretKind::AccessToken, SecretKind::RefreshToken],
        access_expires_ms: Some(10),
        refresh_expires_ms: Some(20),
        signed_in_ms: 1,
        updated_ms: 1,
    };
    store.save_account(&account).unwrap();
    account.access_expires_ms = Some(30);
    account.signed_in_ms = 5;
    account.updated_ms = 5;
    store.save_account(&account).unwrap();
    let listed = store.accounts().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].access_expires_ms, Some(30));
    assert_eq!(
        listed[0].signed_in_ms, 1,
        "a renewal keeps the first sign-in"
    );
    assert_eq!(listed[0].kind, account.kind);
    assert_eq!(store.account(&key).unwrap().unwrap().held, account.held);
    assert!(store.remove_account(&key).unwrap());
    assert!(!store.remove_account(&key).unwrap());
    assert!(store.accounts().unwrap().is_empty());

    let id = store.add_replica(&new_replica("with-token")).unwrap();
    assert_eq!(store.replica_token_store(id).unwrap(), None);
    store
        .set_replica_token_store(id, SecretStoreKind::File)
        .unwrap();
    assert_eq!(
        store.replica_token_store(id).unwrap(),
        Some(SecretStoreKind::File)
    );
    store.remove_replica(id).unwrap();
    assert_eq!(store.replica_token_store(id).unwrap(), None);

    assert_eq!(store.secret_store_setting().unwrap(), None);
    store
        .set_secret_store_setting(Some(SecretStoreKind::File))
        .unwrap();
    assert_eq!(
        store.secret_store_setting().unwrap(),
        Some(SecretStoreKind::File)
    );
    let scope = store.secret_scope().unwrap();
    assert_eq!(
        store.secret_scope().unwrap(),
        scope,
        "the scope is made once"
    );
}

/// A database that cannot be opened for another reason than damage (here a directory in its
/// place, which stops root too) is "unavailable", with the reason, and never "damaged".
#[test]
fn an_unopenable_database_is_unavailable_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncwatch.db");
    std::fs::create_dir(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(!err.is_damaged(), "{err:?}");
    assert!(
        matches!(&err, StoreError::Unavailable { reason, .. } if reason.contains("directory")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("cannot read or write the app database")
    );
    assert!(path.is_dir(), "left as it is");
}
