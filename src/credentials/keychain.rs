//! The OS keychain through the `keyring` crate: Secret Service (pure-Rust zbus) on Linux and the
//! BSDs, Keychain Services on macOS, Credential Manager on Windows. A deliberately thin layer:
//! one entry per secret under the service name `syncwatch`, the user field being the data
//! folder's scope and the entry's name, and keyring's errors turned into ours. It is not tested
//! here (no Secret Service on the build machines) apart from the "unavailable" path; everything
//! above it is shared with the file store, which is.
//!
//! It must not log values, and blocks (call it from `spawn_blocking` in async code).

use super::CredentialsError;

/// The keychain's service name for every syncwatch entry.
const SERVICE: &str = "syncwatch";

fn entry(scope: &str, name: &str) -> Result<keyring::Entry, CredentialsError> {
    keyring::Entry::new(SERVICE, &format!("{scope} {name}")).map_err(classify)
}

/// Stores `value` under `name`, replacing what was there.
pub(super) fn set(scope: &str, name: &str, value: &str) -> Result<(), CredentialsError> {
    entry(scope, name)?.set_password(value).map_err(classify)
}

/// The value under `name`, `None` when there is none.
pub(super) fn get(scope: &str, name: &str) -> Result<Option<String>, CredentialsError> {
    match entry(scope, name)?.get_password() {
        Ok(value) => Ok(Some(value)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

/// Removes `name`; nothing there is not an error.
pub(super) fn delete(scope: &str, name: &str) -> Result<(), CredentialsError> {
    match entry(scope, name)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

/// "No keychain here" (nothing to talk to, or it cannot be reached) versus "it said no". The
/// reason is keyring's own text, which names the store and never the value.
pub(super) fn classify(error: keyring::Error) -> CredentialsError {
    let reason = one_line(&error);
    match error {
        keyring::Error::NoDefaultStore
        | keyring::Error::PlatformFailure(_)
        | keyring::Error::NoStorageAccess(_) => CredentialsError::KeychainUnavailable { reason },
        _ => CredentialsError::Keychain { reason },
    }
}

fn one_line(error: &keyring::Error) -> String {
    let mut text = error.to_string();
    if let keyring::Error::NoDefaultStore = error
        && let Err(cause) = keyring::Entry::store_status()
    {
        text = format!("{text}: {cause}");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
