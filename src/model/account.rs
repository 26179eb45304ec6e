//! Accounts and the secrets that belong to them, as plain data: who is signed in where
//! ([`AccountKey`], [`Account`]), how ([`AccountKind`]), what secrets an account holds
//! ([`AccountSecrets`], [`SecretKind`]) and which store keeps them ([`SecretStoreKind`]).
//!
//! [`Account`] is the non-secret half (it lives in the app database and may be listed, logged
//! and printed); secret values are only ever [`Secret`]s inside [`AccountSecrets`], which the
//! `credentials` part stores. Nothing here does I/O.

use super::{Secret, text_enum};
use serde::{Deserialize, Serialize};

/// One signed-in identity: a service or portal root URL and the username there. Usernames are
/// case-sensitive in ArcGIS, so they are compared exactly; the root loses a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountKey {
    pub root_url: String,
    pub username: String,
}

impl AccountKey {
    pub fn new(root_url: &str, username: &str) -> AccountKey {
        AccountKey {
            root_url: root_url.trim().trim_end_matches('/').to_string(),
            username: username.to_string(),
        }
    }
}

impl std::fmt::Display for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.username, self.root_url)
    }
}

/// How an account signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AccountKind {
    /// Username and password through `generateToken`.
    GenerateToken,
    /// OAuth 2.0 (authorization code with PKCE) with the registered app's client id.
    #[serde(rename = "oauth")]
    OAuth { client_id: String },
}

impl AccountKind {
    /// The stored text of the kind (the client id is stored beside it).
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountKind::GenerateToken => "generate-token",
            AccountKind::OAuth { .. } => "oauth",
        }
    }

    /// The kind from its stored text and client id; `None` for unknown text or OAuth without one.
    pub fn parse(text: &str, client_id: Option<&str>) -> Option<AccountKind> {
        match (text, client_id) {
            ("generate-token", _) => Some(AccountKind::GenerateToken),
            ("oauth", Some(id)) => Some(AccountKind::OAuth {
                client_id: id.to_string(),
            }),
            _ => None,
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match self {
            AccountKind::GenerateToken => None,
            AccountKind::OAuth { client_id } => Some(client_id),
        }
    }
}

/// Where secrets are kept: the operating system's keychain (the default), or a plain file in the
/// data folder that the user chose explicitly because no keychain exists (headless Linux, CI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStoreKind {
    #[default]
    Keychain,
    File,
}

text_enum!(SecretStoreKind {
    Keychain => "keychain",
    File => "file",
});

impl SecretStoreKind {
    pub fn label(self) -> &'static str {
        match self {
            SecretStoreKind::Keychain => "the OS keychain",
            SecretStoreKind::File => "the secrets file",
        }
    }
}

/// The kinds of secret syncwatch keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    AccessToken,
    RefreshToken,
    /// A password kept only because the user ticked "remember".
    Password,
    /// A token pasted for one replica (no account).
    ReplicaToken,
}

text_enum!(SecretKind {
    AccessToken => "access-token",
    RefreshToken => "refresh-token",
    Password => "password",
    ReplicaToken => "replica-token",
});

/// A token and when it stops working (epoch ms; `None` when the server did not say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringSecret {
    pub value: Secret,
    pub expires_ms: Option<i64>,
}

impl ExpiringSecret {
    pub fn new(value: impl Into<Secret>, expires_ms: Option<i64>) -> ExpiringSecret {
        ExpiringSecret {
            value: value.into(),
            expires_ms,
        }
    }
}

/// Everything secret about one account. `Debug` shows no value (they are [`Secret`]s).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSecrets {
    pub access_token: Option<ExpiringSecret>,
    pub refresh_token: Option<ExpiringSecret>,
    /// Only when the user ticked "remember" (generateToken renewal without asking).
    pub password: Option<Secret>,
}

impl AccountSecrets {
    /// Which secrets are present, in a fixed order.
    pub fn kinds(&self) -> Vec<SecretKind> {
        [
            (self.access_token.is_some(), SecretKind::AccessToken),
            (self.refresh_token.is_some(), SecretKind::RefreshToken),
            (self.password.is_some(), SecretKind::Password),
        ]
        .into_iter()
        .filter_map(|(held, kind)| held.then_some(kind))
        .collect()
    }
}

/// The non-secret record of a signed-in account (the app database's `accounts` table): who is
/// signed in where, how, when the tokens expire, which secrets exist and which store holds them.
/// Safe to list, log and print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub key: AccountKey,
    pub kind: AccountKind,
    /// Which store holds this account's secrets.
    pub store: SecretStoreKind,
    /// The secrets held (values are in the store, never here).
    pub held: Vec<SecretKind>,
    pub access_expires_ms: Option<i64>,
    pub refresh_expires_ms: Option<i64>,
    pub signed_in_ms: i64,
    pub updated_ms: i64,
}

impl Account {
    /// The metadata of `secrets` for `key`, signed in (or renewed) at `now_ms`.
    pub fn describe(
        key: AccountKey,
        kind: AccountKind,
        store: SecretStoreKind,
        secrets: &AccountSecrets,
        now_ms: i64,
    ) -> Account {
        Account {
            key,
            kind,
            store,
            held: secrets.kinds(),
            access_expires_ms: secrets.access_token.as_ref().and_then(|t| t.expires_ms),
            refresh_expires_ms: secrets.refresh_token.as_ref().and_then(|t| t.expires_ms),
            signed_in_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    /// Whether the user asked for the password to be remembered.
    pub fn remembers_password(&self) -> bool {
        self.held.contains(&SecretKind::Password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record built from secrets names what is held and when it expires, and no value.
    #[test]
    fn account_metadata_holds_no_secret() {
        let secrets = AccountSecrets {
            access_token: Some(ExpiringSecret::new("acc-VALUE", Some(10))),
            refresh_token: None,
            password: Some("pw-VALUE".into()),
        };
        let account = Account::describe(
            AccountKey::new("https://example.com/portal/", "Bob"),
            AccountKind::OAuth {
                client_id: "app1".into(),
            },
            SecretStoreKind::File,
            &secrets,
            5,
        );
        assert_eq!(account.key.root_url, "https://example.com/portal");
        assert_eq!(
            account.held,
            [SecretKind::AccessToken, SecretKind::Password]
        );
        assert_eq!(account.access_expires_ms, Some(10));
        assert!(account.remembers_password());
        let printed = format!(
            "{account:?} {:?} {}",
            secrets,
            serde_json::to_string(&account).unwrap()
        );
        assert!(!printed.contains("VALUE"), "{printed}");
        assert_eq!(
            AccountKind::parse("oauth", Some("app1")),
            Some(account.kind.clone())
        );
        assert_eq!(AccountKind::parse("oauth", None), None);
    }
}
