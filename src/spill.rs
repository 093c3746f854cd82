//! Rendered feed entries kept for the feeds: in memory up to a budget, past
//! it in an unnamed temporary file beside the feeds. A full archive is every
//! post's entry in every format (10,000 real-sized posts: 570 MB),
//! more than a build should hold at once.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Bytes of rendered entries a build keeps in memory before it spills: the
/// default feeds (a few hundred posts) stay well under it.
pub const BUDGET: usize = 32 << 20;

/// Where rendered entries go: memory until [`BUDGET`] is used, then a file.
pub struct Spill {
    dir: PathBuf,
    budget: usize,
    held: AtomicUsize,
    /// A file per rendering thread: Linux takes a file's inode lock for
    /// each write, so threads writing one file wait for each other (a
    /// tenth of a full archive's spill time went to that wait).
    lanes: Box<[Lane]>,
}

/// One spill file, made on its first blob; unnamed, so nothing is left behind.
#[derive(Default)]
struct Lane {
    file: OnceLock<Arc<File>>,
    /// Where the next blob goes: each takes its range first, so threads
    /// that share a lane still write side by side, none waiting for another.
    end: AtomicU64,
}

/// Bytes kept for later, wherever they are.
#[derive(Debug)]
pub enum Held {
    Memory(Vec<u8>),
    Spilled {
        file: Arc<File>,
        offset: u64,
        len: usize,
    },
}

impl Spill {
    /// Spills into temporary files in `dir` (made if missing) past `budget` bytes.
    pub fn new(dir: &Path, budget: usize) -> Spill {
        Spill {
            dir: dir.to_path_buf(),
            budget,
            held: AtomicUsize::new(0),
            lanes: (0..rayon::current_num_threads().max(1))
                .map(|_| Lane::default())
                .collect(),
        }
    }

    /// Keeps `bytes`: in memory while the budget lasts, else in a file.
    pub fn hold(&self, bytes: Vec<u8>) -> io::Result<Held> {
        let len = bytes.len();
        let before = self.held.fetch_add(len, Ordering::Relaxed);
        if before + len <= self.budget {
            // The budget counts bytes, so the memory held must be just them
            // (an entry is cut from a bigger document in place).
            let mut bytes = bytes;
            bytes.shrink_to_fit();
            return Ok(Held::Memory(bytes));
        }
        // Any thread may use any lane (a thread outside the pool takes the
        // first): the ranges keep blobs apart, the lanes only spare waiting.
        let lane = &self.lanes[rayon::current_thread_index().unwrap_or(0) % self.lanes.len()];
        let file = self.file(lane)?;
        let offset = lane.end.fetch_add(len as u64, Ordering::Relaxed);
        write_at(&file, &bytes, offset)?;
        Ok(Held::Spilled { file, offset, len })
    }

    fn file(&self, lane: &Lane) -> io::Result<Arc<File>> {
        if let Some(file) = lane.file.get() {
            return Ok(file.clone());
        }
        fs_err::create_dir_all(&self.dir)?;
        let made = tempfile::tempfile_in(&self.dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.dir.display())))?;
        // Another thread may have made one first; theirs is used, this one goes.
        Ok(lane.file.get_or_init(|| Arc::new(made)).clone())
    }
}

impl Held {
    /// The bytes: in memory, or read back from the file into `buffer`
    /// (one buffer for a whole feed's entries, not a fresh zeroed one
    /// per entry).
    pub fn bytes<'a>(&'a self, buffer: &'a mut Vec<u8>) -> io::Result<&'a [u8]> {
        match self {
            Held::Memory(bytes) => Ok(bytes),
            Held::Spilled { file, offset, len } => {
                if buffer.len() < *len {
                    buffer.resize(*len, 0);
                }
                read_at(file, &mut buffer[..*len], *offset)?;
                Ok(&buffer[..*len])
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, offset)
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        match std::os::windows::fs::FileExt::seek_write(file, bytes, offset)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => {
                bytes = &bytes[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn read_at(file: &File, mut bytes: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, bytes, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                bytes = &mut bytes[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(i: usize) -> Vec<u8> {
        format!("<p>Post {i} – ü</p>")
            .repeat(i % 7 + 1)
            .into_bytes()
    }

    #[test]
    fn past_the_budget_posts_are_read_back_from_the_file_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(&dir.path().join("public"), 200);
        let held: Vec<Held> = (0..50).map(|i| spill.hold(content(i)).unwrap()).collect();
        assert!(matches!(held[0], Held::Memory(_)));
        assert!(matches!(held[49], Held::Spilled { .. }));
        // One buffer for all, as a feed reads them: a shorter entry after a
        // longer one must not bring the longer one's tail along.
        let mut buffer = Vec::new();
        for (i, held) in held.iter().enumerate() {
            assert_eq!(held.bytes(&mut buffer).unwrap(), content(i), "post {i}");
        }
        let left = std::fs::read_dir(dir.path().join("public"))
            .unwrap()
            .count();
        assert_eq!(left, 0, "the spill file has no name to leave behind");
    }

    #[test]
    fn memory_held_is_the_bytes_counted_not_their_buffer() {
        let spill = Spill::new(Path::new("unused"), 1 << 20);
        let mut bytes = Vec::with_capacity(64 * 1024);
        bytes.extend_from_slice(b"an entry cut from its document");
        match spill.hold(bytes).unwrap() {
            Held::Memory(held) => assert_eq!(held.capacity(), held.len()),
            Held::Spilled { .. } => panic!("within the budget"),
        }
    }

    #[test]
    fn posts_held_from_many_threads_come_back_whole() {
        use rayon::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(dir.path(), 0);
        let held: Vec<Held> = (0..400)
            .into_par_iter()
            .map(|i| spill.hold(content(i)).unwrap())
            .collect();
        for (i, held) in held.iter().enumerate() {
            assert_eq!(held.bytes(&mut Vec::new()).unwrap(), content(i), "post {i}");
        }
    }
}
