//! Atomic file writes: a reader or web server sees the old file or the new
//! one, never half of either. A file whose bytes are unchanged is not
//! touched, so its modification time (and rsync) stay quiet.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Result;

/// A file written in full beside its target, waiting for [`commit`] to
/// rename it into place. Dropped without a commit, it deletes itself.
pub struct Staged {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

/// Streams a file's bytes from `write` into a temporary file beside `path`,
/// so a big feed never sits whole in memory. `None` when the bytes are the
/// ones already at `path`: nothing to replace, and nothing is left behind.
pub fn stage(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Option<Staged>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".herald-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    let mut out = BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
    let written = write(&mut out).and_then(|()| out.flush());
    drop(out);
    written.map_err(|e| with_path(e, temp.path()))?;
    if same_bytes(temp.path(), path) {
        return Ok(None);
    }
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
    Ok(Some(Staged {
        temp,
        path: path.to_path_buf(),
    }))
}

/// Renames every staged file into place. Called only once all of a build's
/// files are staged (a full disk or a name the file system refuses shows
/// while staging), so readers get every new feed or none. Returns how many
/// files changed.
pub fn commit(staged: Vec<Staged>) -> Result<usize> {
    let changed = staged.len();
    for Staged { temp, path } in staged {
        temp.persist(&path).map_err(|e| with_path(e.error, &path))?;
    }
    Ok(changed)
}

/// Whether two files hold the same bytes, read a block at a time. A file
/// that cannot be read is not the same.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    match (a.metadata(), b.metadata()) {
        (Ok(ma), Ok(mb)) if ma.len() == mb.len() => {}
        _ => return false,
    }
    let (mut a, mut b) = (BufReader::new(a), BufReader::new(b));
    loop {
        let (Ok(block_a), Ok(block_b)) = (a.fill_buf(), b.fill_buf()) else {
            return false;
        };
        let n = block_a.len().min(block_b.len());
        if n == 0 {
            return block_a.is_empty() && block_b.is_empty();
        }
        if block_a[..n] != block_b[..n] {
            return false;
        }
        a.consume(n);
        b.consume(n);
    }
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

    fn write_file(path: &Path, bytes: &'static [u8]) -> Result<bool> {
        let staged = stage(path, |out| out.write_all(bytes))?;
        Ok(commit(staged.into_iter().collect())? == 1)
    }

    #[test]
    fn writes_replaces_and_leaves_unchanged_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/feed.xml");
        assert!(write_file(&path, b"one").unwrap());
        assert!(!write_file(&path, b"one").unwrap());
        assert!(write_file(&path, b"two").unwrap());
        assert!(
            write_file(&path, b"twofold").unwrap(),
            "a longer file differs"
        );
        assert!(write_file(&path, b"tw").unwrap(), "so does a prefix");
        assert_eq!(std::fs::read(&path).unwrap(), b"tw");
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn one_file_that_cannot_be_written_leaves_every_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("atom.xml");
        std::fs::write(&good, b"old").unwrap();
        let bad = dir.path().join("x".repeat(300)).join("atom.xml");
        let staged: Result<Vec<_>> = [&good, &bad]
            .into_iter()
            .map(|path| stage(path, |out| out.write_all(b"new")))
            .collect();
        assert!(staged.is_err());
        assert_eq!(std::fs::read(&good).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing staged is left"
        );
    }

    #[test]
    fn a_failing_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.json");
        let failed = stage(&path, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("renderer failed"))
        });
        let message = failed.err().expect("the error comes back").to_string();
        assert!(message.contains("renderer failed"), "{message}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
