//! The site's secret: the HMAC key of every link `herald serve` and `send`
//! make. `$HERALD_SECRET`, else `.herald/secret` beside the ledger (32
//! random bytes, 0600, made on first use). The previous secret, kept while
//! links made with it are still around, comes from
//! `$HERALD_PREVIOUS_SECRET` or `.herald/secret.previous`; it is only
//! ever used to check a link, never to make one.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::private;

pub const SECRET_ENV: &str = "HERALD_SECRET";
pub const PREVIOUS_SECRET_ENV: &str = "HERALD_PREVIOUS_SECRET";

/// A secret shorter than this is refused: HMAC-SHA256's key should carry
/// as many bits as its output.
const MIN_LEN: usize = 32;

/// The current secret, and the previous one if there is one.
pub fn load(dir: &Path) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let current = match from_env(SECRET_ENV)? {
        Some(secret) => secret,
        None => from_file_or_new(&dir.join("secret"))?,
    };
    let previous = match from_env(PREVIOUS_SECRET_ENV)? {
        Some(secret) => Some(secret),
        None => from_file(&previous_path(dir))?,
    };
    Ok((current, previous))
}

/// Where a rotated-out secret is kept.
pub fn previous_path(dir: &Path) -> PathBuf {
    dir.join("secret.previous")
}

fn from_env(name: &str) -> Result<Option<Vec<u8>>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => {
            let bytes = value.into_encoded_bytes();
            if bytes.len() < MIN_LEN {
                return Err(Error::Usage(format!(
                    "${name} is {} bytes; it must be at least {MIN_LEN} (for example `head -c 32 /dev/urandom | base64`)",
                    bytes.len()
                )));
            }
            Ok(Some(bytes))
        }
    }
}

fn from_file(path: &Path) -> Result<Option<Vec<u8>>> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io(e)),
    };
    if bytes.len() < MIN_LEN {
        return Err(Error::Message(format!(
            "{}: the secret is {} bytes; it must be at least {MIN_LEN} (delete the file to have a new one made, \
             which makes every link already sent invalid)",
            path.display(),
            bytes.len()
        )));
    }
    private::restrict(path)?;
    Ok(Some(bytes))
}

/// Reads the secret file, or makes it: 32 random bytes, 0600, written
/// under a temporary name and linked into place, so two processes starting
/// at once agree on one secret and nobody reads half a file.
fn from_file_or_new(path: &Path) -> Result<Vec<u8>> {
    if let Some(secret) = from_file(path)? {
        return Ok(secret);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    private::create_ignored_dir(dir)?;
    let mut secret = vec![0u8; MIN_LEN];
    getrandom::fill(&mut secret)
        .map_err(|e| Error::Message(format!("no randomness for the site's secret: {e}")))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&secret)?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(secret),
        // Another process made it first: theirs is the secret.
        Err(e) if e.error.kind() == ErrorKind::AlreadyExists => {
            from_file(path)?.ok_or_else(|| Error::Message(format!("{}: vanished", path.display())))
        }
        Err(e) => Err(Error::Io(e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_private_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".herald/secret");
        let first = from_file_or_new(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(from_file_or_new(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_secret_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, b"short").unwrap();
        let err = from_file(&path).unwrap_err().to_string();
        assert!(err.contains("secret") && err.contains("5 bytes"), "{err}");
    }
}
