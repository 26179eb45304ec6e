//! The file store: `secrets.json` in the data folder, for machines without a keychain, used only
//! when the user chose it. Plain text, so the file is created 0600 and, like ssh with a private
//! key, refused when other users could read it (on unix). Writes are read-modify-write under an
//! exclusive lock (`secrets.json.lock`, the GUI and a CLI command may both write) and replace the
//! file atomically (a temp file, then rename), so a crash leaves the old file or the new one.
//!
//! A damaged file is an error and is never overwritten: the user's other secrets may still be in
//! it. It must not log values, and blocks (call it from `spawn_blocking` in async code).

use super::CredentialsError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file's name in the data folder. Backups and copies of the data folder must skip it.
pub const SECRETS_FILE_NAME: &str = "secrets.json";

/// What the file says about itself, so nobody mistakes it for settings.
const WARNING: &str = "syncwatch secrets in plain text (the file store, chosen because no OS \
     keychain is available): tokens and remembered passwords. Keep this file private; never copy \
     or share it.";

/// The file's content.
/// No `Debug`: it holds the secrets.
#[derive(Default, Serialize, Deserialize)]
struct Content {
    #[serde(default)]
    warning: String,
    /// Entry name → value.
    #[serde(default)]
    entries: BTreeMap<String, String>,
}

/// The secrets file of one data folder.
#[derive(Debug)]
pub(super) struct SecretFile {
    path: PathBuf,
    /// One writer at a time within this process (the lock file covers other processes).
    writing: Mutex<()>,
}

impl SecretFile {
    pub fn new(path: PathBuf) -> SecretFile {
        SecretFile {
            path,
            writing: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, CredentialsError> {
        Ok(self.read()?.entries.remove(name))
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), CredentialsError> {
        self.update(|content| {
            content.entries.insert(name.to_string(), value.to_string());
            true
        })
    }

    pub fn delete(&self, name: &str) -> Result<(), CredentialsError> {
        self.update(|content| content.entries.remove(name).is_some())
    }

    /// Reads the file (none yet is empty), refusing one others can read or that is not ours.
    fn read(&self) -> Result<Content, CredentialsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Content::default()),
            Err(source) => return Err(self.io(source)),
        };
        self.check_private()?;
        serde_json::from_str(&text).map_err(|source| CredentialsError::Damaged {
            path: self.path.clone(),
            source,
        })
    }

    /// Changes the content under the locks and writes it back if `change` says it changed.
    fn update(&self, change: impl FnOnce(&mut Content) -> bool) -> Result<(), CredentialsError> {
        let _in_process = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let lock = self.open_lock_file()?;
        lock.lock().map_err(|source| self.io(source))?;
        let mut content = self.read()?;
        if change(&mut content) {
            content.warning = WARNING.to_string();
            self.replace(&content)?;
        }
        lock.unlock().map_err(|source| self.io(source))
    }

    fn open_lock_file(&self) -> Result<std::fs::File, CredentialsError> {
        let lock_path = sibling(&self.path, ".lock");
        private_options(false)
            .open(&lock_path)
            .map_err(|source| CredentialsError::Io {
                path: lock_path,
                source,
            })
    }

    /// Writes `content` to a private temp file beside the real one, then renames it over.
    fn replace(&self, content: &Content) -> Result<(), CredentialsError> {
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| self.io(source))?;
        }
        let temp = sibling(&self.path, ".tmp");
        let text =
            serde_json::to_string_pretty(content).map_err(|source| CredentialsError::Damaged {
                path: self.path.clone(),
                source,
            })?;
        let io = |source| CredentialsError::Io {
            path: temp.clone(),
            source,
        };
        // A temp file left by a crash may have any mode: start afresh so the new one is 0600.
        match std::fs::remove_file(&temp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io(source)),
        }
        let mut file = private_options(true).open(&temp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&temp, &self.path).map_err(|source| self.io(source))
    }

    /// Unix: refuse a file whose mode lets the group or others in (ssh's rule for private keys).
    #[cfg(unix)]
    fn check_private(&self) -> Result<(), CredentialsError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&self.path)
            .map_err(|source| self.io(source))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CredentialsError::TooOpen {
                path: self.path.clone(),
                mode,
            });
        }
        Ok(())
    }

    /// Elsewhere the data folder's own permissions are what protects the file.
    #[cfg(not(unix))]
    fn check_private(&self) -> Result<(), CredentialsError> {
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> CredentialsError {
        CredentialsError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Open options for a file only the user may read and write (created 0600 on unix).
fn private_options(create_new: bool) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}
