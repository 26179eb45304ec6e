//! Edit results de-duplicated across syncs: one row per feature and error code, with first and
//! last seen times and an attempt count. A success clears the feature's earlier failures.

use super::{Store, StoreError};
use crate::model::{EditResultRecord, JobId, LocalReplicaId};
use crate::protocol::{ChangeType, EditResultRow, Guid, ObjectType};
use rusqlite::params;
use std::sync::Arc;

/// Key of an edit result: failures by code, successes as 0, a failure without a code as -1.
fn code_key(row: &EditResultRow) -> i64 {
    match (row.success, row.code) {
        (true, _) => 0,
        (false, Some(code)) => code,
        (false, None) => -1,
    }
}

impl Store {
    /// Records one sync's edit results. A failure seen again bumps its attempt count and last-seen
    /// time; a success clears the earlier failures of that feature.
    pub fn record_edit_results(
        &mut self,
        local_id: LocalReplicaId,
        job_id: JobId,
        rows: &[(EditResultRow, String)],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for (row, layer_name) in rows {
            let gid = row
                .global_id
                .as_ref()
                .map(|g| g.as_str().to_string())
                .unwrap_or_default();
            if row.success && !gid.is_empty() {
                tx.prepare_cached(
                    "DELETE FROM edit_results WHERE local_id = ?1 AND layer_id = ?2
                         AND global_id = ?3 AND code_key != 0",
                )
                .and_then(|mut statement| statement.execute(params![local_id.0, row.layer_id, gid]))
                .map_err(sql)?;
            }
            tx.prepare_cached(
                "INSERT INTO edit_results (local_id, layer_id, global_id, code_key, layer_name,
                     object_id, object_type, change_type, success, code, description,
                     first_seen_ms, last_seen_ms, attempts, last_job_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, 1, ?13)
                 ON CONFLICT (local_id, layer_id, global_id, code_key) DO UPDATE SET
                     layer_name = excluded.layer_name,
                     object_id = COALESCE(excluded.object_id, object_id),
                     change_type = excluded.change_type, description = excluded.description,
                     last_seen_ms = excluded.last_seen_ms, attempts = attempts + 1,
                     last_job_id = excluded.last_job_id",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    local_id.0,
                    row.layer_id,
                    gid,
                    code_key(row),
                    layer_name,
                    row.object_id,
                    row.object_type.code(),
                    row.change_type.code(),
                    row.success,
                    row.code,
                    row.description.as_deref().unwrap_or_default(),
                    at_ms,
                    job_id.0,
                ])
            })
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Forgets the failures of one feature (its edit was dropped).
    pub fn clear_edit_results(
        &self,
        local_id: LocalReplicaId,
        layer_id: i64,
        global_id: &Guid,
    ) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM edit_results WHERE local_id = ?1 AND layer_id = ?2 AND global_id = ?3
                     AND code_key != 0",
                params![local_id.0, layer_id, global_id.as_str()],
            )
            .map_err(|e| self.sql(e))
    }

    /// The replica's edit results: failures first (newest first), then successes.
    pub fn edit_results(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Vec<EditResultRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, layer_name, object_id, global_id, object_type, change_type,
                     success, code, description, first_seen_ms, last_seen_ms, attempts
                 FROM edit_results WHERE local_id = ?1
                 ORDER BY success, last_seen_ms DESC, layer_id, global_id",
            )
            .map_err(|e| self.sql(e))?;
        let mut texts = SharedTexts::default();
        let rows = stmt
            .query_map([local_id.0], |r| {
                let gid: String = r.get(3)?;
                Ok(EditResultRecord {
                    layer_id: r.get(0)?,
                    layer_name: texts.get(r.get_ref(1)?.as_str()?),
                    object_id: r.get(2)?,
                    global_id: Guid::parse(&gid).ok(),
                    object_type: ObjectType::from_code(r.get(4)?).unwrap_or(ObjectType::Feature),
                    change_type: ChangeType::from_code(r.get(5)?).unwrap_or(ChangeType::Update),
                    success: r.get(6)?,
                    code: r.get(7)?,
                    description: texts.get(r.get_ref(8)?.as_str()?),
                    first_seen_ms: r.get(9)?,
                    last_seen_ms: r.get(10)?,
                    attempts: r.get(11)?,
                    predicted: false,
                    attachment: None,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Number of distinct features with failed edits, per layer.
    pub fn failed_edit_counts(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Vec<(i64, u32)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, COUNT(DISTINCT global_id) FROM edit_results
                 WHERE local_id = ?1 AND success = 0 GROUP BY layer_id ORDER BY layer_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([local_id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }
}

/// One shared copy of each distinct text (layer names, server messages) while loading rows.
#[derive(Default)]
struct SharedTexts(std::collections::HashSet<Arc<str>>);

impl SharedTexts {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}
