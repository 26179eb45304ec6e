//! Tokens pasted for single replicas: the `replica_tokens` table records which store holds a
//! replica's token (the token itself is in the keychain or the secrets file, `credentials`), and
//! the move of tokens that older versions kept in plain text in `replicas.token`: read them, then
//! clear the column and rewrite the file so the text is really gone (secure delete, `VACUUM`, and
//! a truncating WAL checkpoint: no old page keeps it, in the database or its WAL).

use super::{Store, StoreError};
use crate::model::{LocalReplicaId, Secret, SecretStoreKind, now_ms};
use rusqlite::{OptionalExtension, params};

impl Store {
    /// Records that `store` holds the replica's pasted token.
    pub fn set_replica_token_store(
        &self,
        local_id: LocalReplicaId,
        store: SecretStoreKind,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO replica_tokens (local_id, secret_store, stored_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (local_id) DO UPDATE SET
                     secret_store = excluded.secret_store, stored_ms = excluded.stored_ms",
                params![local_id.0, store.as_str(), now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Which store holds the replica's pasted token; `None` when it has none.
    pub fn replica_token_store(
        &self,
        local_id: LocalReplicaId,
    ) -> Result<Option<SecretStoreKind>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT secret_store FROM replica_tokens WHERE local_id = ?1",
                [local_id.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        text.map(|t| {
            SecretStoreKind::parse(&t).ok_or_else(|| StoreError::BadValue {
                what: "a replica token's store",
                value: t,
                path: self.path.clone(),
            })
        })
        .transpose()
    }

    /// Forgets that the replica has a stored token.
    pub fn clear_replica_token_store(&self, local_id: LocalReplicaId) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM replica_tokens WHERE local_id = ?1",
                [local_id.0],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Tokens an older version left in plain text in `replicas.token`, by replica.
    pub fn legacy_tokens(&self) -> Result<Vec<(LocalReplicaId, Secret)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT local_id, token FROM replicas
                 WHERE token IS NOT NULL AND token <> '' ORDER BY local_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    LocalReplicaId(r.get(0)?),
                    Secret::new(r.get::<_, String>(1)?),
                ))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Clears `replicas.token` of these replicas (the tokens were moved to a secret store) and
    /// rewrites the database so no page of it, or of its WAL, still holds the text.
    pub fn erase_legacy_tokens(&mut self, moved: &[LocalReplicaId]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        self.conn
            .pragma_update(None, "secure_delete", true)
            .map_err(sql)?;
        let tx = self.conn.transaction().map_err(sql)?;
        for id in moved {
            tx.execute(
                "UPDATE replicas SET token = NULL WHERE local_id = ?1",
                [id.0],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        self.scrub()
    }

    /// Rewrites the whole database (`VACUUM`) and empties the WAL into it and truncates it, so
    /// text deleted earlier is gone from the files, not only from the tables.
    fn scrub(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.sql(e))
    }
}
