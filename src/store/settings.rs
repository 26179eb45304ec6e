//! Settings: a key/value table for app-wide values (the auto-sync interval) and per-replica
//! ones (the predicted-refusal policy, under `replica.<id>.predicted_policy`; the conflict
//! policy, under `replica.<id>.conflict_policy`).

use super::{Store, StoreError};
use crate::model::{AccountKey, ConflictPolicy, LocalReplicaId, PredictedPolicy, SecretStoreKind};
use rusqlite::{OptionalExtension, params};

/// Setting key of the auto-sync interval.
const AUTO_SYNC_KEY: &str = "auto_sync_interval_secs";
/// Setting key of the secret store the user chose (`keychain` or `file`).
pub const SECRET_STORE_KEY: &str = "secret_store";
/// Setting key of this data folder's own id, which keeps its keychain entries apart.
const SECRET_SCOPE_KEY: &str = "secret_scope";

/// Setting key of a replica's predicted-refusal policy.
pub(super) fn predicted_policy_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.predicted_policy", local_id.0)
}

/// Setting key of a replica's conflict policy.
pub(super) fn conflict_policy_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.conflict_policy", local_id.0)
}

/// Setting key of the account a replica's jobs last signed in with.
pub(super) fn replica_account_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.account", local_id.0)
}

/// Setting key of why a replica waits for a sign-in.
pub(super) fn sign_in_needed_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.sign_in_needed", local_id.0)
}

impl Store {
    /// Why the replica waits for a sign-in (its service refused its token and nothing could
    /// renew it), if it does.
    pub fn sign_in_needed(&self, local_id: LocalReplicaId) -> Result<Option<String>, StoreError> {
        self.setting(&sign_in_needed_key(local_id))
    }

    /// Marks (Some) or clears (None) a replica's wait for a sign-in.
    pub fn set_sign_in_needed(
        &self,
        local_id: LocalReplicaId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set_setting(&sign_in_needed_key(local_id), reason)
    }

    /// The account the replica's jobs last signed in with ("signed in as"), if any.
    pub fn replica_account(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Option<AccountKey>, StoreError> {
        Ok(self
            .setting(&replica_account_key(local_id))?
            .and_then(|text| {
                text.split_once('\n')
                    .map(|(root, user)| AccountKey::new(root, user))
            }))
    }

    /// Records (Some) or clears (None) the account the replica's jobs sign in with.
    pub fn set_replica_account(
        &self,
        local_id: LocalReplicaId,
        account: Option<&AccountKey>,
    ) -> Result<(), StoreError> {
        let text = account.map(|k| format!("{}\n{}", k.root_url, k.username));
        self.set_setting(&replica_account_key(local_id), text.as_deref())
    }

    /// A setting's text.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Sets (Some) or removes (None) a setting.
    pub fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => self
                .conn
                .execute("DELETE FROM settings WHERE key = ?1", [key]),
        }
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// What this replica's syncs do with predicted refusals (`Send` unless set).
    pub fn predicted_policy(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<PredictedPolicy, StoreError> {
        Ok(self
            .setting(&predicted_policy_key(local_id))?
            .and_then(|v| PredictedPolicy::parse(&v))
            .unwrap_or_default())
    }

    pub fn set_predicted_policy(
        &self,
        local_id: LocalReplicaId,
        policy: PredictedPolicy,
    ) -> Result<(), StoreError> {
        self.replica(local_id)?;
        self.set_setting(&predicted_policy_key(local_id), Some(policy.as_str()))
    }

    /// What this replica's syncs do with conflicting edits (`Ask` unless set).
    pub fn conflict_policy(&self, local_id: LocalReplicaId) -> Result<ConflictPolicy, StoreError> {
        Ok(self
            .setting(&conflict_policy_key(local_id))?
            .and_then(|v| ConflictPolicy::parse(&v))
            .unwrap_or_default())
    }

    pub fn set_conflict_policy(
        &self,
        local_id: LocalReplicaId,
        policy: ConflictPolicy,
    ) -> Result<(), StoreError> {
        self.replica(local_id)?;
        self.set_setting(&conflict_policy_key(local_id), Some(policy.as_str()))
    }

    /// The auto-sync interval; `None` when auto-sync is off.
    pub fn auto_sync_interval_secs(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .setting(AUTO_SYNC_KEY)?
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|secs| *secs > 0))
    }

    pub fn set_auto_sync_interval_secs(
        &self,
        interval_secs: Option<u64>,
    ) -> Result<(), StoreError> {
        let text = interval_secs.map(|s| s.to_string());
        self.set_setting(AUTO_SYNC_KEY, text.as_deref())
    }

    /// The secret store chosen in the settings (`secret_store`); `None` when not chosen.
    pub fn secret_store_setting(&self) -> Result<Option<SecretStoreKind>, StoreError> {
        self.setting(SECRET_STORE_KEY)?
            .map(|text| {
                SecretStoreKind::parse(&text).ok_or_else(|| StoreError::BadValue {
                    what: "the secret_store setting",
                    value: text,
                    path: self.path.clone(),
                })
            })
            .transpose()
    }

    /// Chooses (Some) or unchooses (None) the secret store new secrets go to.
    pub fn set_secret_store_setting(
        &self,
        kind: Option<SecretStoreKind>,
    ) -> Result<(), StoreError> {
        self.set_setting(SECRET_STORE_KEY, kind.map(SecretStoreKind::as_str))
    }

    /// This data folder's own id for its keychain entries, made on first use.
    pub fn secret_scope(&self) -> Result<String, StoreError> {
        if let Some(scope) = self.setting(SECRET_SCOPE_KEY)? {
            return Ok(scope);
        }
        let scope = uuid::Uuid::new_v4().to_string();
        self.conn
            .execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
                params![SECRET_SCOPE_KEY, scope],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.setting(SECRET_SCOPE_KEY)?.unwrap_or(scope))
    }
}
