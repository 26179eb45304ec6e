//! The `accounts` table: the non-secret record of every signed-in account (who, where, how, when
//! its tokens expire, which secrets it holds and which store holds them), so `accounts` and the
//! window can list them without touching a secret. The secrets are the `credentials` part's.

use super::{Store, StoreError};
use crate::model::{Account, AccountKey, AccountKind, SecretKind, SecretStoreKind};
use rusqlite::{OptionalExtension, params};

const ACCOUNT_COLUMNS: &str = "root_url, username, kind, client_id, secret_store, held,
    access_expires_ms, refresh_expires_ms, signed_in_ms, updated_ms";

/// A row as read, before its texts are checked.
struct AccountRow {
    key: AccountKey,
    kind: String,
    client_id: Option<String>,
    store: String,
    held: String,
    access_expires_ms: Option<i64>,
    refresh_expires_ms: Option<i64>,
    signed_in_ms: i64,
    updated_ms: i64,
}

fn account_row(r: &rusqlite::Row) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        key: AccountKey {
            root_url: r.get(0)?,
            username: r.get(1)?,
        },
        kind: r.get(2)?,
        client_id: r.get(3)?,
        store: r.get(4)?,
        held: r.get(5)?,
        access_expires_ms: r.get(6)?,
        refresh_expires_ms: r.get(7)?,
        signed_in_ms: r.get(8)?,
        updated_ms: r.get(9)?,
    })
}

fn held_text(held: &[SecretKind]) -> String {
    held.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The settings key of an account's kept sign-in metadata.
fn session_meta_key(key: &AccountKey) -> String {
    format!("account.{}\n{}.session", key.root_url, key.username)
}

impl Store {
    fn bad_value(&self, what: &'static str, value: &str) -> StoreError {
        StoreError::BadValue {
            what,
            value: value.to_string(),
            path: self.path.clone(),
        }
    }

    fn account_from(&self, row: AccountRow) -> Result<Account, StoreError> {
        let kind = AccountKind::parse(&row.kind, row.client_id.as_deref())
            .ok_or_else(|| self.bad_value("an account's kind", &row.kind))?;
        let store = SecretStoreKind::parse(&row.store)
            .ok_or_else(|| self.bad_value("an account's secret store", &row.store))?;
        let held = row
            .held
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| SecretKind::parse(t).ok_or_else(|| self.bad_value("an account's secrets", t)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Account {
            key: row.key,
            kind,
            store,
            held,
            access_expires_ms: row.access_expires_ms,
            refresh_expires_ms: row.refresh_expires_ms,
            signed_in_ms: row.signed_in_ms,
            updated_ms: row.updated_ms,
        })
    }

    /// Records (or replaces) an account; a renewal keeps the first sign-in time.
    pub fn save_account(&self, account: &Account) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO accounts (root_url, username, kind, client_id, secret_store, held,
                     access_expires_ms, refresh_expires_ms, signed_in_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (root_url, username) DO UPDATE SET
                     kind = excluded.kind, client_id = excluded.client_id,
                     secret_store = excluded.secret_store, held = excluded.held,
                     access_expires_ms = excluded.access_expires_ms,
                     refresh_expires_ms = excluded.refresh_expires_ms,
                     updated_ms = excluded.updated_ms",
                params![
                    account.key.root_url,
                    account.key.username,
                    account.kind.as_str(),
                    account.kind.client_id(),
                    account.store.as_str(),
                    held_text(&account.held),
                    account.access_expires_ms,
                    account.refresh_expires_ms,
                    account.signed_in_ms,
                    account.updated_ms,
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Every account, by root URL and username.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY root_url, username");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], account_row)
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        rows.into_iter().map(|row| self.account_from(row)).collect()
    }

    /// One account, if recorded.
    pub fn account(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE root_url = ?1 AND username = ?2");
        let row = self
            .conn
            .query_row(&sql, params![key.root_url, key.username], account_row)
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|row| self.account_from(row)).transpose()
    }

    /// The non-secret half of an account's kept sign-in (its server or portal endpoints, the
    /// OAuth app, the token options, when its tokens were issued), as the engine wrote it;
    /// `None` when none was kept. It holds no secret value.
    pub fn account_session_meta(&self, key: &AccountKey) -> Result<Option<String>, StoreError> {
        self.setting(&session_meta_key(key))
    }

    /// Keeps (Some) or forgets (None) the non-secret half of an account's sign-in.
    pub fn set_account_session_meta(
        &self,
        key: &AccountKey,
        meta: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set_setting(&session_meta_key(key), meta)
    }

    /// Forgets an account's record; returns whether there was one.
    pub fn remove_account(&self, key: &AccountKey) -> Result<bool, StoreError> {
        self.set_account_session_meta(key, None)?;
        let removed = self
            .conn
            .execute(
                "DELETE FROM accounts WHERE root_url = ?1 AND username = ?2",
                params![key.root_url, key.username],
            )
            .map_err(|e| self.sql(e))?;
        Ok(removed > 0)
    }
}
