//! Settings: a key/value table for app-wide values (the auto-sync interval) and per-replica
//! ones (the predicted-refusal policy, under `replica.<id>.predicted_policy`).

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, PredictedPolicy};
use rusqlite::{OptionalExtension, params};

/// Setting key of the auto-sync interval.
const AUTO_SYNC_KEY: &str = "auto_sync_interval_secs";

/// Setting key of a replica's predicted-refusal policy.
pub(super) fn predicted_policy_key(local_id: LocalReplicaId) -> String {
    format!("replica.{}.predicted_policy", local_id.0)
}

impl Store {
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
}
