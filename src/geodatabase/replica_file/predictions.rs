//! Predicted refusals: the refusal the service's rules predict for a queued change, stored with
//! the change revision it was judged at, the note that they are due to be judged again, and
//! reading the ones that still stand.
//!
//! What it must not do: judge anything (the engine applies the rules), or let a prediction
//! outlive the change revision it was made for or the server's real answer.

use super::queue::{ChangeKey, ChangeKind, Refusal};
use super::{ReplicaFile, ReplicaFileError, sql_at};
use crate::protocol::Guid;
use rusqlite::params;

impl ReplicaFile {
    /// Replaces every stored prediction with `predictions` (one transaction). A prediction is
    /// kept only for the change revision it was made for.
    pub fn store_predictions(&mut self, predictions: &[Refusal]) -> Result<(), ReplicaFileError> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE changes SET predicted_code = NULL, predicted_text = NULL, predicted_revision = NULL",
            [],
        )
        .map_err(|e| sql_at(&path, e))?;
        tx.execute("DELETE FROM meta WHERE key = 'predictions'", [])
            .map_err(|e| sql_at(&path, e))?;
        for p in predictions {
            tx.execute(
                "UPDATE changes SET predicted_code = ?4, predicted_text = ?5, predicted_revision = ?3
                 WHERE layer_id = ?1 AND global_id = ?2 AND revision = ?3",
                params![
                    p.change.layer_id,
                    p.change.global_id.as_str(),
                    p.change.revision,
                    p.code,
                    p.description
                ],
            )
            .map_err(|e| sql_at(&path, e))?;
        }
        tx.commit().map_err(|e| sql_at(&path, e))
    }

    /// Notes that the predictions must be judged again by the next reader
    /// ([`ReplicaFile::store_predictions`] clears the note). Any change to the feature queue
    /// notes it by itself (a trigger); attachment changes and new rules need this call.
    pub fn mark_predictions_due(&mut self) -> Result<(), ReplicaFileError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('predictions', 'due')",
                [],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Whether changes were queued since the predictions were last stored.
    pub fn predictions_due(&self) -> Result<bool, ReplicaFileError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'predictions')",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// The stored predictions that still stand: made for the change's current revision, and the
    /// server has not refused that change yet (then its real result is what counts).
    pub fn predicted_refusals(&self) -> Result<Vec<Refusal>, ReplicaFileError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer_id, global_id, revision, kind, predicted_code, predicted_text
                 FROM changes
                 WHERE predicted_code IS NOT NULL AND predicted_revision = revision
                     AND state <> 'failed'
                 ORDER BY layer_id, global_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let bad = |what: &str| ReplicaFileError::NotAReplicaFile {
            path: self.path.clone(),
            reason: format!("unreadable {what} in the change queue"),
        };
        rows.into_iter()
            .map(|(layer_id, gid, revision, kind, code, text)| {
                Ok(Refusal {
                    change: ChangeKey {
                        layer_id,
                        global_id: Guid::parse(&gid).map_err(|_| bad("GlobalID"))?,
                        revision,
                    },
                    kind: ChangeKind::parse(&kind).ok_or_else(|| bad("change kind"))?,
                    code: Some(code),
                    description: text.unwrap_or_default(),
                })
            })
            .collect()
    }
}
