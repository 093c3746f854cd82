//! Atomic file writes: a reader or web server sees the old file or the new
//! one, never half of either. A file whose bytes are unchanged is not
//! touched, so its modification time (and rsync) stay quiet.

use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::writeback::Early;

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
    let mut out = Unless::new(path);
    let written = write(&mut out).and_then(|()| out.flush());
    written.map_err(|e| with_path(e, path))?;
    let Some(temp) = out.finish()? else {
        return Ok(None);
    };
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

/// Reads of the file already in place: few and large.
const BLOCK: usize = 256 * 1024;

/// A writer that compares the bytes with the file already at `path` and
/// writes nothing while they match (most of a rebuild's feeds, and a full
/// archive's are gigabytes). At the first difference it starts the
/// temporary file, copies the matched part into it from the old file (the
/// same open file, so a feed renamed into place meanwhile changes nothing),
/// and writes the rest there.
struct Unless<'a> {
    path: &'a Path,
    old: Option<BufReader<std::fs::File>>,
    matched: u64,
    temp: Option<BufWriter<Early<tempfile::NamedTempFile>>>,
}

impl<'a> Unless<'a> {
    fn new(path: &'a Path) -> Unless<'a> {
        let old = std::fs::File::open(path)
            .ok()
            .filter(|file| file.metadata().is_ok_and(|m| m.is_file()))
            .map(|file| BufReader::with_capacity(BLOCK, file));
        Unless {
            path,
            old,
            matched: 0,
            temp: None,
        }
    }

    /// Whether `bytes` come next in the old file; reads past them.
    fn matches(old: &mut BufReader<std::fs::File>, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            let Ok(block) = old.fill_buf() else {
                return false;
            };
            let n = block.len().min(bytes.len());
            if n == 0 || block[..n] != bytes[..n] {
                return false;
            }
            old.consume(n);
            bytes = &bytes[n..];
        }
        true
    }

    /// The temporary file, started with the matched part of the old one.
    fn temp(&mut self) -> std::io::Result<&mut BufWriter<Early<tempfile::NamedTempFile>>> {
        if self.temp.is_none() {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            let temp = tempfile::Builder::new()
                .prefix(".herald-")
                .tempfile_in(dir)?;
            let file = temp.as_file().try_clone()?;
            let mut temp = BufWriter::with_capacity(64 * 1024, Early::new(temp, file));
            if let Some(old) = self.old.take()
                && self.matched > 0
            {
                let mut old = old.into_inner();
                old.seek(SeekFrom::Start(0))?;
                let copied = std::io::copy(&mut (&mut old).take(self.matched), &mut temp)?;
                if copied != self.matched {
                    return Err(std::io::Error::other(format!(
                        "{}: the file shrank while it was read",
                        self.path.display()
                    )));
                }
            }
            self.temp = Some(temp);
        }
        Ok(self.temp.as_mut().expect("just made"))
    }

    /// The staged file, or `None` when every byte matched the old file.
    fn finish(mut self) -> Result<Option<tempfile::NamedTempFile>> {
        let at_end =
            |old: &mut BufReader<std::fs::File>| old.fill_buf().is_ok_and(|b| b.is_empty());
        if self.temp.is_none() && self.old.as_mut().is_some_and(at_end) {
            return Ok(None);
        }
        let path = self.path;
        self.temp()
            .and_then(|temp| temp.flush())
            .map_err(|e| with_path(e, path))?;
        let temp = self.temp.take().expect("made above");
        let temp = temp
            .into_inner()
            .map_err(|e| with_path(e.into_error(), path))?;
        Ok(Some(temp.into_inner()))
    }
}

impl Write for Unless<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.temp.is_none()
            && let Some(old) = self.old.as_mut()
            && Unless::matches(old, bytes)
        {
            self.matched += bytes.len() as u64;
            return Ok(bytes.len());
        }
        self.temp()?.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.temp.as_mut() {
            Some(temp) => temp.flush(),
            None => Ok(()),
        }
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
    fn a_change_deep_in_a_big_file_keeps_the_matched_part_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atom.xml");
        let old: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &old).unwrap();
        let mut changed = old.clone();
        changed[2 * BLOCK + 5] ^= 1;
        let longer = [&old[..], b"more"].concat();
        let shorter = old[..BLOCK + 3].to_vec();
        for new in [changed, longer, shorter, old.clone()] {
            let staged = stage(&path, |out| {
                new.chunks(1000).try_for_each(|chunk| out.write_all(chunk))
            })
            .unwrap();
            let was = std::fs::read(&path).unwrap();
            assert_eq!(staged.is_some(), new != was);
            commit(staged.into_iter().collect()).unwrap();
            assert!(std::fs::read(&path).unwrap() == new, "{} bytes", new.len());
        }
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
