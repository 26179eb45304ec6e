//! The engine's side of secrets: opening the secret store chosen for the data folder, moving the
//! tokens older versions kept in plain text in the app database into it at start-up, and the
//! token of a replica (stored when the replica is created, read for each job, forgotten with the
//! replica). The app database records which store holds what; `credentials` holds the values.
//!
//! It must never put a secret in a log line, an event or an error: messages name replicas and
//! stores only.

use super::Deps;
use super::api::LocalReplicaId;
use super::error::EngineError;
use crate::credentials::{self, Credentials, CredentialsError};
use crate::model::{LogEntry, Secret, SecretStoreKind, now_ms};
use crate::store::{ReplicaRecord, Store, StoreError};
use std::path::Path;

/// Why the secret store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SecretsStartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Choice(#[from] CredentialsError),
}

/// The secret store of `data_dir`: `explicit` (the engine's config), else
/// `SYNCWATCH_SECRET_STORE`, else the `secret_store` setting, else the keychain.
pub(crate) fn open_credentials(
    store: &Store,
    data_dir: &Path,
    explicit: Option<SecretStoreKind>,
) -> Result<Credentials, SecretsStartError> {
    let choice = credentials::resolve_choice(explicit, store.secret_store_setting()?)?;
    Ok(Credentials::new(data_dir, &store.secret_scope()?, choice))
}

/// Moves tokens an older version left in `replicas.token` into the secret store, then erases
/// them from the database file. When the store cannot take them (no keychain and the file store
/// not chosen) they stay where they are, still used, and a warning says how to choose a store;
/// the next start tries again. Returns how many were moved.
pub(crate) fn move_legacy_tokens(store: &mut Store, secrets: &Credentials) -> usize {
    let legacy = match store.legacy_tokens() {
        Ok(legacy) => legacy,
        Err(e) => {
            tracing::warn!(error = %super::error::chain(&e), "could not look for plain-text tokens");
            return 0;
        }
    };
    let mut moved = Vec::new();
    for (replica, token) in &legacy {
        match secrets
            .save_replica_token(*replica, token)
            .map_err(SecretsStartError::from)
            .and_then(|kind| Ok(store.set_replica_token_store(*replica, kind)?))
        {
            Ok(()) => moved.push(*replica),
            Err(e) => {
                let message = format!(
                    "{} token(s) stay in the app database in plain text until a secret store \
                     can take them: {e}",
                    legacy.len() - moved.len()
                );
                tracing::warn!("{message}");
                let _ = store.log(&LogEntry {
                    at_ms: now_ms(),
                    replica: None,
                    replica_name: String::new(),
                    code: None,
                    message,
                });
                break;
            }
        }
    }
    if moved.is_empty() {
        return 0;
    }
    if let Err(e) = store.erase_legacy_tokens(&moved) {
        tracing::warn!(error = %super::error::chain(&e), "could not erase moved tokens");
        return 0;
    }
    tracing::info!(
        moved = moved.len(),
        store = secrets.choice().as_str(),
        "moved tokens out of the app database into the secret store"
    );
    moved.len()
}

/// The token the replica's jobs send: the stored one (from the store the app database names),
/// or a plain-text token not yet moved; `None` for a replica without one.
pub(crate) async fn replica_token(
    deps: &Deps,
    record: &ReplicaRecord,
) -> Result<Option<Secret>, EngineError> {
    let replica = record.local_id;
    let legacy = record.legacy_token.clone();
    let secrets = deps.secrets.clone();
    deps.blocking(move |store| {
        let Some(kind) = store.replica_token_store(replica)? else {
            return Ok(legacy);
        };
        Ok(secrets.replica_token(kind, replica)?)
    })
    .await
}

/// Stores the token pasted for a new replica in the chosen store and records where.
pub(crate) fn save_replica_token(
    store: &Store,
    secrets: &Credentials,
    replica: LocalReplicaId,
    token: &Secret,
) -> Result<(), EngineError> {
    let kind = secrets.save_replica_token(replica, token)?;
    store.set_replica_token_store(replica, kind)?;
    Ok(())
}

/// Forgets the token of a replica about to be removed (its record goes with the replica). A
/// store that fails is logged: the replica is removed all the same.
pub(crate) fn forget_replica_token(store: &Store, secrets: &Credentials, replica: LocalReplicaId) {
    let forgotten = store
        .replica_token_store(replica)
        .map_err(EngineError::from)
        .and_then(|kind| match kind {
            Some(kind) => Ok(secrets.delete_replica_token(kind, replica)?),
            None => Ok(()),
        });
    if let Err(e) = forgotten {
        tracing::warn!(replica = %replica, error = %super::error::chain(&e), "could not forget a replica's token");
    }
}
