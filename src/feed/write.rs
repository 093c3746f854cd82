//! Atomic file writes: a reader or web server sees the old file or the new
//! one, never half of either. A file whose bytes are unchanged is not
//! touched, so its modification time (and rsync) stay quiet.

use std::io::Write;
use std::path::Path;

use crate::error::Result;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
/// Returns whether the file changed.
pub fn atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    if fs_err::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".herald-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    temp.write_all(bytes)
        .map_err(|e| with_path(e, temp.path()))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| with_path(e, temp.path()))?;
    // Temporary files are created 0600; a feed is for everyone to read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = temp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    temp.persist(path).map_err(|e| with_path(e.error, path))?;
    Ok(true)
}

/// Removes feed files under `group` (`public/tags`) that this build did not
/// write: the feeds of a tag no post has any more. Only files with the
/// feeds' own names are touched, and a folder only when that leaves it empty.
pub fn remove_stale(
    group: &Path,
    names: &[&String],
    written: &std::collections::BTreeSet<&std::path::PathBuf>,
) -> Result<usize> {
    let Ok(folders) = fs_err::read_dir(group) else {
        return Ok(0);
    };
    let mut removed = 0;
    for folder in folders.flatten() {
        let folder = folder.path();
        if !folder.is_dir() {
            continue;
        }
        for name in names {
            let file = folder.join(name.as_str());
            if file.is_file() && !written.contains(&file) {
                fs_err::remove_file(&file)?;
                removed += 1;
            }
        }
        // Fails, harmlessly, when something else is still in there.
        let _ = std::fs::remove_dir(&folder);
    }
    Ok(removed)
}

fn with_path(error: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_unchanged_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/feed.xml");
        assert!(atomic(&path, b"one").unwrap());
        assert!(!atomic(&path, b"one").unwrap());
        assert!(atomic(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
