//! The files and folders the engine creates are the user's alone (RELIABILITY.md, file
//! permissions): folders 0700, files 0600, on Unix. The one place the engine sets those modes;
//! it opens nothing else.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates a folder only the user may enter. `recursive`: create missing parents too, and accept a
/// folder that already exists; otherwise an existing folder is `AlreadyExists`.
pub(crate) fn create_dir(path: &Path, recursive: bool) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates (or truncates) a file readable and writable by the user only. An existing file keeps
/// its owner but loses any group and other permissions.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}
