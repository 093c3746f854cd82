//! Files that hold readers' personal data: the ledger and its WAL files, its
//! lock, backups, outbox messages. They are created readable by the owner
//! only (0600, folders 0700), and the ledger's folder carries its own
//! `.gitignore`, so that it cannot be committed by accident whatever the
//! repository's own `.gitignore` says.

use std::io;
use std::path::Path;

#[cfg(unix)]
use fs_err::os::unix::fs::OpenOptionsExt;
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

const IGNORE_ALL: &str = "# written by herald: subscribers' personal data, never commit it\n*\n";

/// Creates `dir` and its missing parents, each 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
        .create(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}

/// [`create_dir`] for the ledger's folder: one created here (or an existing
/// `.herald`) also gets a `.gitignore` that ignores everything in it.
pub fn create_ignored_dir(dir: &Path) -> io::Result<()> {
    let existed = dir.is_dir();
    create_dir(dir)?;
    let ignore = dir.join(".gitignore");
    let ours = !existed || dir.file_name().is_some_and(|n| n == ".herald");
    if ours && !ignore.exists() {
        fs_err::write(&ignore, IGNORE_ALL)?;
    }
    Ok(())
}

/// Options that create a file 0600 (an existing file keeps its mode: see
/// [`restrict`]).
pub fn options() -> fs_err::OpenOptions {
    let mut options = fs_err::OpenOptions::new();
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Takes group and other access away from a file an older herald (or a
/// copy) left readable to them. A file that is not there is fine.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if mode & 0o077 != 0 {
            fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
