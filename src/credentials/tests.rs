//! The file store end to end on real files in a temp dir, the choice rules, and the line a
//! missing keychain gives (the keychain itself cannot be reached on the build machines).

use super::*;
use crate::model::{AccountKey, AccountSecrets, ExpiringSecret, SecretStoreKind};

fn file_store(dir: &Path) -> Credentials {
    Credentials::new(dir, "scope-1", SecretStoreKind::File)
}

fn secrets() -> AccountSecrets {
    AccountSecrets {
        access_token: Some(ExpiringSecret::new("ACCESS-abc", Some(1_000))),
        refresh_token: Some(ExpiringSecret::new("REFRESH-def", Some(2_000))),
        password: None,
    }
}

/// Accounts and replica tokens go in and come back; deleting removes only what was named; the
/// file is 0600 and says what it is.
#[test]
fn file_store_round_trips_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let creds = file_store(dir.path());
    let key = AccountKey::new("https://portal.example/portal", "Bob");
    let other = AccountKey::new("https://portal.example/portal", "bob");
    assert_eq!(creds.account(SecretStoreKind::File, &key).unwrap(), None);
    assert_eq!(
        creds.save_account(&key, &secrets()).unwrap(),
        SecretStoreKind::File
    );
    creds
        .save_account(&other, &AccountSecrets::default())
        .unwrap();
    let token = Secret::new("REPLICA-ghi");
    creds.save_replica_token(LocalReplicaId(7), &token).unwrap();

    let again = file_store(dir.path());
    assert_eq!(
        again.account(SecretStoreKind::File, &key).unwrap(),
        Some(secrets())
    );
    assert_eq!(
        again.account(SecretStoreKind::File, &other).unwrap(),
        Some(AccountSecrets::default()),
        "usernames are case-sensitive: two accounts"
    );
    assert_eq!(
        again
            .replica_token(SecretStoreKind::File, LocalReplicaId(7))
            .unwrap(),
        Some(token)
    );
    again.delete_account(SecretStoreKind::File, &key).unwrap();
    again.delete_account(SecretStoreKind::File, &key).unwrap();
    assert_eq!(again.account(SecretStoreKind::File, &key).unwrap(), None);
    assert!(
        again
            .account(SecretStoreKind::File, &other)
            .unwrap()
            .is_some()
    );

    let path = dir.path().join(SECRETS_FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("plain text") && text.contains("REPLICA-ghi"));
    assert!(
        !text.contains("ACCESS-abc"),
        "a deleted account is gone from the file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// Like ssh with a private key: a secrets file others can read is refused, with the fix named.
#[cfg(unix)]
#[test]
fn file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let creds = file_store(dir.path());
    creds
        .save_replica_token(LocalReplicaId(1), &"t".into())
        .unwrap();
    let path = dir.path().join(SECRETS_FILE_NAME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = creds
        .replica_token(SecretStoreKind::File, LocalReplicaId(1))
        .unwrap_err();
    let line = error.to_string();
    assert!(
        matches!(error, CredentialsError::TooOpen { mode: 0o644, .. }),
        "{line}"
    );
    assert!(line.contains("chmod 600") && !line.contains('\n'), "{line}");
    assert!(
        creds
            .save_replica_token(LocalReplicaId(2), &"u".into())
            .is_err()
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        creds
            .replica_token(SecretStoreKind::File, LocalReplicaId(1))
            .unwrap()
            .is_some()
    );
}

/// A damaged file is one error line on read and on write, and is left byte for byte as it was.
#[test]
fn damaged_file_is_an_error_and_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SECRETS_FILE_NAME);
    let damaged = b"{\"entries\": {\"x\": \"keep-me\"".to_vec();
    std::fs::write(&path, &damaged).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let creds = file_store(dir.path());
    let read = creds
        .replica_token(SecretStoreKind::File, LocalReplicaId(1))
        .unwrap_err();
    assert!(matches!(read, CredentialsError::Damaged { .. }), "{read}");
    assert!(!read.to_string().contains('\n'));
    let write = creds
        .save_replica_token(LocalReplicaId(1), &"new".into())
        .unwrap_err();
    assert!(matches!(write, CredentialsError::Damaged { .. }), "{write}");
    assert!(
        creds
            .delete_replica_token(SecretStoreKind::File, LocalReplicaId(1))
            .is_err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
    // An entry that is not an account's JSON is an error too, not a panic.
    let fine = tempfile::tempdir().unwrap();
    let creds = file_store(fine.path());
    let key = AccountKey::new("https://h", "u");
    creds
        .file
        .set(&SecretName::Account(key.clone()).entry(), "not json")
        .unwrap();
    let entry = creds.account(SecretStoreKind::File, &key).unwrap_err();
    assert!(
        matches!(entry, CredentialsError::DamagedEntry { .. }),
        "{entry}"
    );
}

/// An explicit choice wins; then the setting; the keychain otherwise (the environment variable
/// is not set in unit tests, and the CLI tests cover it).
#[test]
fn choice_rules() {
    if std::env::var_os(SECRET_STORE_ENV).is_some() {
        return;
    }
    assert_eq!(
        resolve_choice(None, None).unwrap(),
        SecretStoreKind::Keychain
    );
    assert_eq!(
        resolve_choice(None, Some(SecretStoreKind::File)).unwrap(),
        SecretStoreKind::File
    );
    assert_eq!(
        resolve_choice(Some(SecretStoreKind::Keychain), Some(SecretStoreKind::File)).unwrap(),
        SecretStoreKind::Keychain
    );
}

/// With no keychain to talk to, the one line says how to choose the file store.
#[test]
fn missing_keychain_says_how_to_choose_the_file() {
    let line = keychain::classify(keyring::Error::NoDefaultStore).to_string();
    assert!(
        line.starts_with("no OS keychain is available here"),
        "{line}"
    );
    assert!(line.contains("SYNCWATCH_SECRET_STORE=file"), "{line}");
    assert!(!line.contains('\n'), "{line}");
}
