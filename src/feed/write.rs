//! Atomic file writes: a reader or web server sees the old file or the new
//! one, never half of either. A file whose bytes are unchanged is not
//! touched, so its modification time (and rsync) stay quiet.

use std::cell::RefCell;
use std::fs::File;
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Result;
use crate::writeback::Early;

/// A file written in full beside its target, waiting for [`commit`] to
/// rename it into place. Dropped without a commit, it deletes itself.
/// It holds no open file: a build of thousands of tag feeds stages them
/// all before the first is renamed, and a process may open only so many
/// files at once (1,024 by default on Linux).
pub struct Staged {
    temp: tempfile::TempPath,
    path: PathBuf,
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

/// Bytes compared with the file already in place at a time.
const BLOCK: usize = 256 * 1024;

thread_local! {
    /// Where the file in place is read to be compared: one buffer per
    /// thread, not one per file, since a build writes many files at once.
    static OLD_BYTES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A file being written beside `path`, in pieces, that
/// holds no buffer of its own: a build keeps one open for every feed it is
/// writing. It compares the bytes with the file already at `path` and
/// writes nothing while they match (most of a rebuild's feeds, and a full
/// archive's are gigabytes). At the first difference it starts the
/// temporary file, copies the matched part into it from the old file (the
/// same open file, so a feed renamed into place meanwhile changes nothing),
/// and writes the rest there.
pub struct Stage {
    path: PathBuf,
    old: Option<File>,
    matched: u64,
    temp: Option<(tempfile::NamedTempFile, Early)>,
}

impl Stage {
    /// Starts the file that will replace `path`, making its folder.
    pub fn open(path: &Path, folders: &NewFolders) -> Result<Stage> {
        folders.make(path.parent().unwrap_or(Path::new(".")))?;
        let old = File::open(path)
            .ok()
            .filter(|file| file.metadata().is_ok_and(|m| m.is_file()));
        Ok(Stage {
            path: path.to_path_buf(),
            old,
            matched: 0,
            temp: None,
        })
    }

    /// Whether `pieces` come next in the old file; reads past them, a
    /// block at a time.
    fn matches(mut old: &File, pieces: &[&[u8]]) -> bool {
        OLD_BYTES.with_borrow_mut(|read| {
            let mut chunks = pieces
                .iter()
                .flat_map(|piece| piece.chunks(BLOCK))
                .peekable();
            while chunks.peek().is_some() {
                let mut block = Vec::new();
                let mut len = 0;
                while let Some(chunk) = chunks.next_if(|c| len == 0 || len + c.len() <= BLOCK) {
                    len += chunk.len();
                    block.push(chunk);
                }
                read.resize(len, 0);
                if old.read_exact(read).is_err() {
                    return false;
                }
                let mut at = 0;
                for chunk in block {
                    if read[at..at + chunk.len()] != *chunk {
                        return false;
                    }
                    at += chunk.len();
                }
            }
            true
        })
    }

    /// The temporary file, started with the matched part of the old one.
    fn temp(&mut self) -> std::io::Result<&mut (tempfile::NamedTempFile, Early)> {
        if self.temp.is_none() {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            let temp = tempfile::Builder::new()
                .prefix(".herald-")
                .tempfile_in(dir)?;
            if let Some(mut old) = self.old.take()
                && self.matched > 0
            {
                old.seek(SeekFrom::Start(0))?;
                let copied =
                    std::io::copy(&mut (&mut old).take(self.matched), &mut temp.as_file())?;
                if copied != self.matched {
                    return Err(std::io::Error::other(format!(
                        "{}: the file shrank while it was read",
                        self.path.display()
                    )));
                }
            }
            self.temp = Some((temp, Early::new()));
        }
        Ok(self.temp.as_mut().expect("just made"))
    }

    /// Writes `pieces` next, in order: compared with the file in place, or
    /// written into the temporary file with one call.
    pub fn write_pieces(&mut self, pieces: &[&[u8]]) -> Result<()> {
        self.pieces(pieces)
            .map_err(|e| with_path(e, &self.path).into())
    }

    fn pieces(&mut self, pieces: &[&[u8]]) -> std::io::Result<()> {
        if self.temp.is_none()
            && let Some(old) = self.old.as_ref()
            && Stage::matches(old, pieces)
        {
            self.matched += pieces.iter().map(|p| p.len() as u64).sum::<u64>();
            return Ok(());
        }
        let (temp, early) = self.temp()?;
        let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|piece| IoSlice::new(piece)).collect();
        let mut slices = &mut slices[..];
        IoSlice::advance_slices(&mut slices, 0);
        while !slices.is_empty() {
            let n = temp.as_file().write_vectored(slices)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            early.wrote(n, temp.as_file());
            IoSlice::advance_slices(&mut slices, n);
        }
        Ok(())
    }

    /// The staged file, synced, or `None` when every byte matched the old
    /// file.
    pub fn finish(mut self) -> Result<Option<Staged>> {
        let at_end = |old: &mut File| old.read(&mut [0]).is_ok_and(|n| n == 0);
        if self.temp.is_none() && self.old.as_mut().is_some_and(at_end) {
            return Ok(None);
        }
        // Also when the old file is longer: the new one is its matched start.
        if let Err(e) = self.temp() {
            return Err(with_path(e, &self.path).into());
        }
        let (temp, early) = self.temp.take().expect("made above");
        let path = self.path;
        early.wait();
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
            temp: temp.into_temp_path(),
            path,
        }))
    }
}

/// The folders a build makes for its feeds: should the build fail, those
/// still empty (the staged files delete themselves) are removed again, so
/// a failed build leaves the folders as it found them.
#[derive(Default)]
pub struct NewFolders {
    made: Mutex<Vec<PathBuf>>,
    kept: bool,
}

impl NewFolders {
    /// Makes `dir` and the folders above it that are missing, noting them.
    pub fn make(&self, dir: &Path) -> Result<()> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|folder| !folder.as_os_str().is_empty() && !folder.exists())
            .map(Path::to_path_buf)
            .collect();
        fs_err::create_dir_all(dir)?;
        self.made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(missing);
        Ok(())
    }

    /// The build succeeded: its folders stay.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for NewFolders {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let made = self.made.get_mut().unwrap_or_else(|e| e.into_inner());
        // Deepest first; a folder that is not empty stays.
        made.sort_by_key(|folder| std::cmp::Reverse(folder.components().count()));
        made.dedup();
        for folder in made.iter() {
            let _ = std::fs::remove_dir(folder);
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

    /// Streams a file's bytes from `write` into a staged file, as a build
    /// does in pieces.
    fn stage(
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<Option<Staged>> {
        let folders = NewFolders::default();
        let mut stage = Stage::open(path, &folders)?;
        write(&mut stage).map_err(|e| with_path(e, path))?;
        let staged = stage.finish()?;
        folders.keep();
        Ok(staged)
    }

    impl Write for Stage {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.pieces(&[bytes])?;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

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
        // In pieces, as a build writes a batch of entries: empty ones, one
        // byte, one longer than a block, a difference deep in the last.
        let cuts = [0, 0, 1, 5, BLOCK + 9, BLOCK + 9, 2 * BLOCK + 40, old.len()];
        let pieces = |bytes: &[u8]| -> Vec<Vec<u8>> {
            cuts.windows(2)
                .map(|w| bytes[w[0].min(bytes.len())..w[1].min(bytes.len())].to_vec())
                .collect()
        };
        let mut changed = old.clone();
        changed[2 * BLOCK + 100] ^= 1;
        for new in [old.clone(), changed, old.clone()] {
            let mut stage = Stage::open(&path, &NewFolders::default()).unwrap();
            let pieces = pieces(&new);
            let first: Vec<&[u8]> = pieces[..3].iter().map(|p| &p[..]).collect();
            let rest: Vec<&[u8]> = pieces[3..].iter().map(|p| &p[..]).collect();
            stage.write_pieces(&first).unwrap();
            stage.write_pieces(&rest).unwrap();
            let staged = stage.finish().unwrap();
            let was = std::fs::read(&path).unwrap();
            assert_eq!(staged.is_some(), new != was);
            commit(staged.into_iter().collect()).unwrap();
            assert!(std::fs::read(&path).unwrap() == new);
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

    /// Random old files and new bytes written in random
    /// pieces (empty ones, ones across blocks, many calls): the file in
    /// place is the new bytes, and unchanged bytes stage nothing.
    #[test]
    fn random_pieces_against_random_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        let mut seed: u64 = 0x9E3779B97F4A7C15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        for round in 0..300 {
            let len = match next(4) {
                0 => next(50),
                1 => next(BLOCK + 100),
                _ => next(3 * BLOCK),
            };
            let base: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
            let old: Option<Vec<u8>> = match next(6) {
                0 => None,
                1 => Some(base[..next(len + 1)].to_vec()),
                2 => Some([&base[..], b"tail"].concat()),
                3 => {
                    let mut o = base.clone();
                    if !o.is_empty() {
                        let at = next(o.len());
                        o[at] ^= 0x55;
                    }
                    Some(o)
                }
                _ => Some(base.clone()),
            };
            match &old {
                Some(o) => std::fs::write(&path, o).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
            let mut stage = Stage::open(&path, &NewFolders::default()).unwrap();
            let mut at = 0;
            while at < base.len() || next(3) == 0 {
                let mut pieces = Vec::new();
                for _ in 0..next(5) {
                    let n = if next(4) == 0 {
                        0
                    } else {
                        next(BLOCK / 2 + 300).min(base.len() - at)
                    };
                    pieces.push(&base[at..at + n]);
                    at += n;
                }
                stage.write_pieces(&pieces).unwrap();
                if at >= base.len() && next(2) == 0 {
                    break;
                }
            }
            let staged = stage.finish().unwrap();
            assert_eq!(
                staged.is_some(),
                old.as_deref() != Some(&base[..]),
                "round {round}: staged iff different"
            );
            commit(staged.into_iter().collect()).unwrap();
            assert!(
                std::fs::read(&path).unwrap() == base,
                "round {round}: bytes"
            );
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "round {round}: leftovers"
            );
        }
    }
}
