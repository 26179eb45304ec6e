//! Where syncwatch keeps secrets: account tokens, refresh tokens, remembered passwords and the
//! tokens pasted for single replicas. Two stores, one API ([`Credentials`]): the operating
//! system's keychain (`keychain.rs`, the default) and, only when the user chose it, a plain file
//! in the data folder (`file_store.rs`, `secrets.json`, 0600) for machines without a keychain.
//! The choice is explicit ([`SECRET_STORE_ENV`], the app setting, a command-line flag) and never
//! made silently: with no keychain and no choice, storing fails with a line saying how to choose.
//!
//! Who calls it: the engine (blocking calls, from `spawn_blocking`) and the CLI. It knows `model`
//! only; the non-secret record of what is stored where is the app database's (`store`), not ours.
//! It must never log, print or return a secret in an error: errors name entries and files only.

mod file_store;
mod keychain;

pub use file_store::SECRETS_FILE_NAME;

use crate::model::{AccountKey, AccountSecrets, LocalReplicaId, Secret, SecretStoreKind};
use file_store::SecretFile;
use std::path::{Path, PathBuf};

/// The environment variable that chooses the store: `keychain` or `file`.
pub const SECRET_STORE_ENV: &str = "SYNCWATCH_SECRET_STORE";

/// How the user chooses the file store, for error lines.
const HOW_TO_CHOOSE_FILE: &str = "to keep secrets in a plain file in the data folder instead \
     (user-only, 0600), set SYNCWATCH_SECRET_STORE=file or the app setting secret_store=file";

/// Why a secret could not be stored or read. Messages are one line and hold no secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("no OS keychain is available here ({reason}); {HOW_TO_CHOOSE_FILE}")]
    KeychainUnavailable { reason: String },
    #[error("the OS keychain refused the request ({reason})")]
    Keychain { reason: String },
    #[error(
        "the secrets file is damaged (not the JSON syncwatch writes); it was left as it is: \
         remove it and sign in again: {path}"
    )]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the secrets file is accessible by other users (mode {mode:04o}); syncwatch will not use \
         it until only you can read it (chmod 600): {path}"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the secret of {what} in {} is damaged; sign in again", store.label())]
    DamagedEntry {
        what: String,
        store: SecretStoreKind,
    },
    #[error("could not read or write the secrets file: {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{SECRET_STORE_ENV} must be `keychain` or `file`, not {0:?}")]
    BadChoice(String),
}

/// The choice named in [`SECRET_STORE_ENV`], if any.
pub fn choice_from_env() -> Result<Option<SecretStoreKind>, CredentialsError> {
    match std::env::var(SECRET_STORE_ENV) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => SecretStoreKind::parse(text.trim())
            .map(Some)
            .ok_or(CredentialsError::BadChoice(text)),
        Err(_) => Ok(None),
    }
}

/// The store in force: an explicit choice (a flag, the engine's config) wins over the
/// environment, which wins over the app setting; the keychain otherwise.
pub fn resolve_choice(
    explicit: Option<SecretStoreKind>,
    setting: Option<SecretStoreKind>,
) -> Result<SecretStoreKind, CredentialsError> {
    if let Some(kind) = explicit {
        return Ok(kind);
    }
    Ok(choice_from_env()?.or(setting).unwrap_or_default())
}

/// The name of one stored secret, the same in both stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretName {
    /// All of one account's secrets (one entry, so an update is all or nothing).
    Account(AccountKey),
    /// The token pasted for one replica.
    ReplicaToken(LocalReplicaId),
}

impl SecretName {
    /// The entry's text: JSON of its parts, so no root URL or username can be mistaken for another.
    fn entry(&self) -> String {
        let parts: Vec<String> = match self {
            SecretName::Account(key) => {
                vec!["account".into(), key.root_url.clone(), key.username.clone()]
            }
            SecretName::ReplicaToken(id) => vec!["replica-token".into(), id.0.to_string()],
        };
        serde_json::Value::from(parts).to_string()
    }
}

/// Both stores of one data folder, and the one new secrets go to.
#[derive(Debug)]
pub struct Credentials {
    file: SecretFile,
    /// Keeps this data folder's keychain entries apart from another folder's.
    scope: String,
    choice: SecretStoreKind,
}

impl Credentials {
    /// The stores of `data_dir`; `scope` is the data folder's own id (from the app database), and
    /// `choice` the store new secrets go to. Touches neither store yet.
    pub fn new(data_dir: &Path, scope: &str, choice: SecretStoreKind) -> Credentials {
        Credentials {
            file: SecretFile::new(data_dir.join(SECRETS_FILE_NAME)),
            scope: scope.to_string(),
            choice,
        }
    }

    /// Where new secrets go.
    pub fn choice(&self) -> SecretStoreKind {
        self.choice
    }

    /// The secrets file (whether or not it exists or is chosen).
    pub fn file_path(&self) -> &Path {
        self.file.path()
    }

    /// Stores `value` under `name` in the chosen store and says which store that is.
    fn put(&self, name: &SecretName, value: &str) -> Result<SecretStoreKind, CredentialsError> {
        let entry = name.entry();
        match self.choice {
            SecretStoreKind::Keychain => keychain::set(&self.scope, &entry, value)?,
            SecretStoreKind::File => self.file.set(&entry, value)?,
        }
        Ok(self.choice)
    }

    /// The value under `name` in `store`; `None` when there is none.
    fn get(
        &self,
        store: SecretStoreKind,
        name: &SecretName,
    ) -> Result<Option<String>, CredentialsError> {
        let entry = name.entry();
        match store {
            SecretStoreKind::Keychain => keychain::get(&self.scope, &entry),
            SecretStoreKind::File => self.file.get(&entry),
        }
    }

    /// Removes `name` from `store` (nothing to remove is not an error).
    fn delete(&self, store: SecretStoreKind, name: &SecretName) -> Result<(), CredentialsError> {
        let entry = name.entry();
        match store {
            SecretStoreKind::Keychain => keychain::delete(&self.scope, &entry),
            SecretStoreKind::File => self.file.delete(&entry),
        }
    }

    /// Stores (replaces) all of an account's secrets in the chosen store; returns which store.
    pub fn save_account(
        &self,
        key: &AccountKey,
        secrets: &AccountSecrets,
    ) -> Result<SecretStoreKind, CredentialsError> {
        let json = serde_json::to_string(secrets).map_err(|_| CredentialsError::DamagedEntry {
            what: key.to_string(),
            store: self.choice,
        })?;
        self.put(&SecretName::Account(key.clone()), &json)
    }

    /// An account's secrets from `store` (where the app database says they are); `None` when the
    /// store has none for it. A damaged entry is an error naming the store, never a panic.
    pub fn account(
        &self,
        store: SecretStoreKind,
        key: &AccountKey,
    ) -> Result<Option<AccountSecrets>, CredentialsError> {
        let Some(json) = self.get(store, &SecretName::Account(key.clone()))? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|_| CredentialsError::DamagedEntry {
                what: key.to_string(),
                store,
            })
    }

    /// Forgets an account's secrets in `store`.
    pub fn delete_account(
        &self,
        store: SecretStoreKind,
        key: &AccountKey,
    ) -> Result<(), CredentialsError> {
        self.delete(store, &SecretName::Account(key.clone()))
    }

    /// Stores the token pasted for a replica in the chosen store; returns which store.
    pub fn save_replica_token(
        &self,
        replica: LocalReplicaId,
        token: &Secret,
    ) -> Result<SecretStoreKind, CredentialsError> {
        self.put(&SecretName::ReplicaToken(replica), token.expose())
    }

    /// A replica's pasted token from `store`.
    pub fn replica_token(
        &self,
        store: SecretStoreKind,
        replica: LocalReplicaId,
    ) -> Result<Option<Secret>, CredentialsError> {
        Ok(self
            .get(store, &SecretName::ReplicaToken(replica))?
            .map(Secret::from))
    }

    /// Forgets a replica's pasted token in `store`.
    pub fn delete_replica_token(
        &self,
        store: SecretStoreKind,
        replica: LocalReplicaId,
    ) -> Result<(), CredentialsError> {
        self.delete(store, &SecretName::ReplicaToken(replica))
    }
}

#[cfg(test)]
mod tests;
