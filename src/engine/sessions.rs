//! The engine's signed-in sessions ([`Sessions`]): one `SignInSession` per account, restored
//! at start from the app database (the non-secret half: endpoints, OAuth app, token options)
//! and the secret store (tokens, refresh token, a password the user chose to remember), kept
//! again after every renewal, and found for a service URL so a replica's jobs use the account
//! of its server (or of the portal that server is federated with) instead of a pasted token.
//!
//! It must never put a secret in a log line, an event or the app database: secrets go only to
//! `credentials` (through `secrets.rs`), and messages name accounts by user and root only.

use super::Deps;
use super::api::{Account, AccountKey, AccountKind, AccountSecrets, Event, ExpiringSecret};
use super::error::EngineError;
use super::secrets;
use crate::credentials::Credentials;
use crate::model::{Secret, now_ms};
use crate::service::sign_in::{
    Authority, SessionRecord, SignInClient, SignInError, SignInSession, StoredToken, TokenProvider,
};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

/// The signed-in sessions of this engine, by account.
#[derive(Default)]
pub(crate) struct Sessions {
    by_account: Mutex<HashMap<AccountKey, SignInSession>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, SignInSession>> {
        self.by_account.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, key: AccountKey, session: SignInSession) {
        self.lock().insert(key, session);
    }

    pub(crate) fn remove(&self, key: &AccountKey) {
        self.lock().remove(key);
    }

    fn all(&self) -> Vec<(AccountKey, SignInSession)> {
        let mut all: Vec<_> = self
            .lock()
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The non-secret half of a kept session, stored in the app database: the record with its
/// token values taken out, and when those tokens were issued.
#[derive(Debug, Serialize, Deserialize)]
struct SessionMeta {
    record: SessionRecord,
    token_issued_ms: Option<i64>,
    refresh_issued_ms: Option<i64>,
}

/// The account a session is: its server or portal root and its user.
pub(crate) fn key_of(session: &SignInSession) -> AccountKey {
    AccountKey::new(session.authority().root().as_str(), session.username())
}

fn kind_of(record: &SessionRecord) -> AccountKind {
    match &record.client_id {
        Some(client_id) => AccountKind::OAuth {
            client_id: client_id.clone(),
        },
        None => AccountKind::GenerateToken,
    }
}

fn expiring(token: &StoredToken) -> ExpiringSecret {
    ExpiringSecret::new(token.value.clone(), Some(token.expires_at_ms))
}

/// Keeps a session (at sign-in and after each renewal): secrets to the secret store, the rest
/// to the app database. `password`: only when the user chose "remember".
pub(crate) fn save(
    store: &Store,
    creds: &Credentials,
    key: &AccountKey,
    record: &SessionRecord,
    password: Option<Secret>,
) -> Result<Account, EngineError> {
    let account_secrets = AccountSecrets {
        access_token: record.token.as_ref().map(expiring),
        refresh_token: record.refresh_token.as_ref().map(expiring),
        password,
    };
    let meta = SessionMeta {
        record: SessionRecord {
            token: None,
            refresh_token: None,
            ..record.clone()
        },
        token_issued_ms: record.token.as_ref().map(|t| t.issued_at_ms),
        refresh_issued_ms: record.refresh_token.as_ref().map(|t| t.issued_at_ms),
    };
    let meta = serde_json::to_string(&meta)
        .map_err(|e| EngineError::Bug(format!("could not write a sign-in's metadata: {e}")))?;
    let account = secrets::save_sign_in(store, creds, key, kind_of(record), &account_secrets)?;
    store.set_account_session_meta(key, Some(&meta))?;
    Ok(account)
}

fn stored(secret: &ExpiringSecret, issued_ms: Option<i64>) -> StoredToken {
    StoredToken {
        value: secret.value.clone(),
        issued_at_ms: issued_ms.unwrap_or_else(now_ms),
        expires_at_ms: secret.expires_ms.unwrap_or(0),
    }
}

/// The kept session of `key` with its remembered password; `None` when not kept (signed in by
/// an older version, signed out, or its secrets removed in the keychain's own window).
fn load(
    store: &Store,
    creds: &Credentials,
    key: &AccountKey,
) -> Result<Option<(SessionRecord, Option<Secret>)>, EngineError> {
    let Some(meta) = store.account_session_meta(key)? else {
        return Ok(None);
    };
    let Some((_, held)) = secrets::signed_in(store, creds, key)? else {
        return Ok(None);
    };
    let meta: SessionMeta = match serde_json::from_str(&meta) {
        Ok(meta) => meta,
        Err(e) => {
            tracing::warn!(account = %key, error = %e, "a kept sign-in is damaged; sign in again");
            return Ok(None);
        }
    };
    let record = SessionRecord {
        token: held
            .access_token
            .as_ref()
            .map(|t| stored(t, meta.token_issued_ms)),
        refresh_token: held
            .refresh_token
            .as_ref()
            .map(|t| stored(t, meta.refresh_issued_ms)),
        ..meta.record
    };
    Ok(Some((record, held.password)))
}

/// At start: every kept session again (no network). One that cannot be read is left out with
/// a warning; its replicas ask for a sign-in.
pub(crate) fn restore_all(
    store: &Store,
    creds: &Credentials,
    client: &SignInClient,
) -> Vec<(AccountKey, SignInSession, Option<Secret>)> {
    let accounts = match store.accounts() {
        Ok(accounts) => accounts,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the signed-in accounts");
            return Vec::new();
        }
    };
    let mut restored = Vec::new();
    for account in accounts {
        let key = account.key;
        match load(store, creds, &key) {
            Ok(Some((record, password))) => match client.restore(&record, password.clone()) {
                Ok(session) => restored.push((key, session, password)),
                Err(e) => tracing::warn!(account = %key, error = %e, "could not restore a sign-in"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(account = %key, error = %e, "could not read a sign-in"),
        }
    }
    restored
}

/// Makes `session` the engine's session of `key`; every renewal is kept again (with the
/// remembered `password`, if any) and announced as [`Event::Accounts`].
pub(crate) fn register(
    deps: &Deps,
    key: AccountKey,
    session: SignInSession,
    password: Option<Secret>,
) {
    let (store, creds, events) = (
        deps.store.clone(),
        deps.secrets.clone(),
        deps.events.clone(),
    );
    let renewed_key = key.clone();
    session.on_renewed(Arc::new(move |record: &SessionRecord| {
        let (store, creds, events) = (store.clone(), creds.clone(), events.clone());
        let (key, record, password) = (renewed_key.clone(), record.clone(), password.clone());
        let keep = move || {
            let guard = store.lock().unwrap_or_else(|p| p.into_inner());
            match save(&guard, &creds, &key, &record, password) {
                Ok(_) => {
                    if let Ok(accounts) = guard.accounts() {
                        events.send(Event::Accounts(accounts));
                    }
                }
                Err(e) => tracing::warn!(account = %key, error = %super::error::chain(&e),
                    "could not keep a renewed token; the next start asks for a sign-in"),
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(keep)),
            Err(_) => keep(),
        }
    }));
    deps.sessions.insert(key, session);
}

/// The account whose session gives tokens for `service_url`, and that session as a token
/// provider. Tried in order: an account at the service's own server, then portal accounts
/// (the server's `owningSystemUrl` decides; a portal that does not own it is skipped). A
/// session whose token cannot be renewed still counts: its jobs then end in "sign-in needed".
pub(crate) async fn provider_for(
    deps: &Deps,
    service_url: &str,
) -> Option<(AccountKey, Arc<dyn TokenProvider>)> {
    let url = Url::parse(service_url).ok()?;
    let root = crate::service::sign_in::server_root_of(&url);
    let root_text = root.as_str().trim_end_matches('/').to_string();
    let mut candidates = deps.sessions.all();
    // Own server first, then same host, then the rest (stable by account otherwise).
    candidates.sort_by_key(|(key, _)| {
        let same_root = key.root_url == root_text;
        let same_host = Url::parse(&key.root_url)
            .ok()
            .is_some_and(|u| u.host_str() == url.host_str());
        (!same_root, !same_host)
    });
    for (key, session) in candidates {
        if let Authority::Server { root: own, .. } = session.authority()
            && *own != root
        {
            continue;
        }
        match session.token_for_url(&url).await {
            Ok(_) | Err(SignInError::SignInNeeded { .. }) => {
                return Some((key, Arc::new(session) as Arc<dyn TokenProvider>));
            }
            Err(e) => {
                tracing::debug!(account = %key, error = %e, "account does not serve this server")
            }
        }
    }
    None
}
