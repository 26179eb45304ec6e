//! The engine's side of secrets: opening the secret store chosen for the data folder, moving the
//! tokens older versions kept in plain text in the app database into it at start-up, and the
//! token of a replica (stored when the replica is created, read for each job, forgotten with the
//! replica), and signing accounts in and out ([`save_sign_in`], [`signed_in`], [`sign_out`]:
//! secrets to the store, the non-secret record to the app database). The app database records
//! which store holds what; `credentials` holds the values.
//!
//! It must never put a secret in a log line, an event or an error: messages name replicas and
//! stores only.

use super::Deps;
use super::api::LocalReplicaId;
use super::error::EngineError;
use crate::credentials::{self, Credentials, CredentialsError};
use crate::model::{
    Account, AccountKey, AccountKind, AccountSecrets, LogEntry, Secret, SecretStoreKind, now_ms,
};
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

/// Records a sign-in (or a renewal): the secrets go to the chosen store first, then the
/// non-secret record to the app database, so a listed account always has its secrets. Returns
/// the record. A renewal that changes store forgets the secrets in the old one.
pub(crate) fn save_sign_in(
    store: &Store,
    secrets: &Credentials,
    key: &AccountKey,
    kind: AccountKind,
    account_secrets: &AccountSecrets,
) -> Result<Account, EngineError> {
    let previous = store.account(key)?;
    let held_in = secrets.save_account(key, account_secrets)?;
    let account = Account::describe(key.clone(), kind, held_in, account_secrets, now_ms());
    store.save_account(&account)?;
    if let Some(old) = previous
        && old.store != held_in
        && let Err(e) = secrets.delete_account(old.store, key)
    {
        tracing::warn!(account = %key, error = %e, "could not forget an account's old secrets");
    }
    store
        .account(key)?
        .ok_or_else(|| EngineError::Bug(format!("the account {key} vanished while it was saved")))
}

/// An account's record and secrets, from the store its record names; `None` when not signed in
/// (or its secrets are gone from the store, e.g. removed in the keychain's own window).
pub(crate) fn signed_in(
    store: &Store,
    secrets: &Credentials,
    key: &AccountKey,
) -> Result<Option<(Account, AccountSecrets)>, EngineError> {
    let Some(account) = store.account(key)? else {
        return Ok(None);
    };
    Ok(secrets
        .account(account.store, key)?
        .map(|held| (account, held)))
}

/// Signs out: forgets the secrets, then the record. Returns whether the account was signed in.
pub(crate) fn sign_out(
    store: &Store,
    secrets: &Credentials,
    key: &AccountKey,
) -> Result<bool, EngineError> {
    let Some(account) = store.account(key)? else {
        return Ok(false);
    };
    secrets.delete_account(account.store, key)?;
    Ok(store.remove_account(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExpiringSecret;

    /// Sign in, renew, read back, sign out, through a real app database and the file store; the
    /// database never holds the token.
    #[test]
    fn sign_in_renew_and_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("syncwatch.db")).unwrap();
        let secrets = open_credentials(&store, dir.path(), Some(SecretStoreKind::File)).unwrap();
        let key = AccountKey::new("https://127.0.0.1:1/portal", "tech1");
        let kind = AccountKind::GenerateToken;
        let first = AccountSecrets {
            access_token: Some(ExpiringSecret::new("ACCESS-one", Some(100))),
            refresh_token: None,
            password: Some("PASSWORD-kept".into()),
        };
        let account = save_sign_in(&store, &secrets, &key, kind.clone(), &first).unwrap();
        assert!(account.remembers_password());
        assert_eq!(account.store, SecretStoreKind::File);
        let renewed = AccountSecrets {
            access_token: Some(ExpiringSecret::new("ACCESS-two", Some(200))),
            ..first.clone()
        };
        save_sign_in(&store, &secrets, &key, kind, &renewed).unwrap();
        let (record, held) = signed_in(&store, &secrets, &key).unwrap().unwrap();
        assert_eq!(held, renewed);
        assert_eq!(record.access_expires_ms, Some(200));
        assert_eq!(store.accounts().unwrap().len(), 1);
        let db = std::fs::read(dir.path().join("syncwatch.db")).unwrap();
        for text in ["ACCESS-", "PASSWORD-"] {
            assert!(!db.windows(text.len()).any(|w| w == text.as_bytes()));
        }
        assert!(sign_out(&store, &secrets, &key).unwrap());
        assert!(!sign_out(&store, &secrets, &key).unwrap());
        assert!(signed_in(&store, &secrets, &key).unwrap().is_none());
        let file = std::fs::read_to_string(secrets.file_path()).unwrap();
        assert!(!file.contains("ACCESS-"), "signing out removes the secrets");
    }
}
