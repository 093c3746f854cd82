//! Atomic file writes: a reader or web server sees the old file or the new
//! one, never half of either. A file whose bytes are unchanged is not
//! touched, so its modification time (and rsync) stay quiet.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
/// Returns whether the file changed.
pub fn atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    if fs_err::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    stage(path, bytes)?
        .persist(path)
        .map_err(|e| with_path(e.error, path))?;
    Ok(true)
}

/// Writes every file or none: each is first written beside its target as a
/// temporary file, and only when all of them are on disk (a full disk or a
/// name the file system refuses shows here) are they renamed into place.
/// Returns how many files changed.
pub fn all_or_nothing(files: &[(PathBuf, Vec<u8>)]) -> Result<usize> {
    let mut staged = Vec::new();
    for (path, bytes) in files {
        if fs_err::read(path).is_ok_and(|old| &old == bytes) {
            continue;
        }
        // On an error the staged files drop, which deletes them.
        staged.push((stage(path, bytes)?, path));
    }
    let changed = staged.len();
    for (temp, path) in staged {
        temp.persist(path).map_err(|e| with_path(e.error, path))?;
    }
    Ok(changed)
}

/// Writes `bytes` to a temporary file in `path`'s folder, ready to rename.
fn stage(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
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
    Ok(temp)
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

    #[test]
    fn one_file_that_cannot_be_written_leaves_every_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("atom.xml");
        std::fs::write(&good, b"old").unwrap();
        let bad = dir.path().join("x".repeat(300)).join("atom.xml");
        let files = vec![(good.clone(), b"new".to_vec()), (bad, b"new".to_vec())];
        assert!(all_or_nothing(&files).is_err());
        assert_eq!(std::fs::read(&good).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing staged is left"
        );
    }
}
