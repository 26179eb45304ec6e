//! Versioned schema migrations of the app database. `PRAGMA user_version` holds the number of
//! steps applied; each step runs in its own transaction together with the version bump.
//! Steps are only ever appended, never edited.

use super::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// Every schema step, in order. Index + 1 is the `user_version` after the step.
pub(super) const STEPS: &[&str] = &[
    // 1: initial schema.
    "
    CREATE TABLE replicas (
        local_id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        service_url TEXT NOT NULL,
        token TEXT,
        replica_guid TEXT,
        file_path TEXT NOT NULL,
        reset_mode TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        reset_required TEXT,
        last_error TEXT,
        last_success_ms INTEGER,
        last_attempt_ms INTEGER,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE jobs (
        job_id INTEGER PRIMARY KEY AUTOINCREMENT,
        local_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        state TEXT,
        uploaded INTEGER NOT NULL DEFAULT 0,
        downloaded INTEGER NOT NULL DEFAULT 0,
        failed_edits INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX jobs_by_replica ON jobs (local_id, job_id);
    CREATE TABLE edit_results (
        local_id INTEGER NOT NULL,
        layer_id INTEGER NOT NULL,
        global_id TEXT NOT NULL,
        code_key INTEGER NOT NULL,
        layer_name TEXT NOT NULL,
        object_id INTEGER,
        object_type INTEGER NOT NULL,
        change_type INTEGER NOT NULL,
        success INTEGER NOT NULL,
        code INTEGER,
        description TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        last_job_id INTEGER,
        PRIMARY KEY (local_id, layer_id, global_id, code_key)
    );
    CREATE TABLE event_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        local_id INTEGER,
        replica_name TEXT NOT NULL,
        code INTEGER,
        message TEXT NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE reset_guard (
        local_id INTEGER PRIMARY KEY,
        mode TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    ",
    // 2: the client-reset journal (how far a running or interrupted reset got).
    "
    CREATE TABLE reset_journal (
        local_id INTEGER PRIMARY KEY,
        mode TEXT NOT NULL,
        strategy TEXT,
        reason TEXT NOT NULL,
        required_before INTEGER NOT NULL,
        phase TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        old_path TEXT NOT NULL,
        old_guid TEXT,
        backup_dir TEXT,
        fresh_path TEXT,
        fresh_guid TEXT,
        report_json TEXT
    );
    ",
    // 3: accounts and stored tokens, as non-secret records: the secrets are in the keychain or
    // the secrets file (`credentials`). `replicas.token` is no longer written; tokens found there
    // are moved out by the engine at start-up and the column set to NULL.
    "
    CREATE TABLE accounts (
        root_url TEXT NOT NULL,
        username TEXT NOT NULL,
        kind TEXT NOT NULL,
        client_id TEXT,
        secret_store TEXT NOT NULL,
        held TEXT NOT NULL,
        access_expires_ms INTEGER,
        refresh_expires_ms INTEGER,
        signed_in_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (root_url, username)
    );
    CREATE TABLE replica_tokens (
        local_id INTEGER PRIMARY KEY,
        secret_store TEXT NOT NULL,
        stored_ms INTEGER NOT NULL
    );
    ",
    // 4: the createReplica attempts of replicas not created yet (store/create_attempts.rs).
    "
    CREATE TABLE create_attempts (
        local_id INTEGER NOT NULL,
        service_name TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        PRIMARY KEY (local_id, service_name)
    );
    ",
    // 5: the backups client resets made (store/backups.rs), listed after their journal is gone.
    "
    CREATE TABLE reset_backups (
        dir TEXT PRIMARY KEY,
        local_id INTEGER NOT NULL,
        made_ms INTEGER NOT NULL,
        mode TEXT NOT NULL,
        mode_used TEXT,
        reason TEXT NOT NULL,
        replica_file TEXT NOT NULL
    );
    CREATE INDEX reset_backups_by_replica ON reset_backups (local_id, made_ms);
    ",
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = STEPS.len() as i64;

/// Applies every step the database has not seen yet.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| StoreError::of_open(path, source))?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: CURRENT_VERSION,
        });
    }
    for (index, step) in STEPS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(sql)?;
        tx.execute_batch(step).map_err(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        tracing::info!(version = index + 1, "app database migrated");
    }
    Ok(())
}
