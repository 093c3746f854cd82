//! A big file's writeback started while it is still being written, so the
//! sync that ends the write (a feed's, before it is renamed into place)
//! finds most of it on disk already.
//!
//! Left alone, a machine with memory to spare keeps every written page in
//! memory until that sync, and the thread that wrote the file sits idle
//! while all of it goes to disk: a full archive's site feeds are 570 MB, a
//! few seconds of an ordinary disk's time. Here a helper thread syncs what
//! has been written so far, one sync at a time, while the writer goes on.
//! (Linux's `sync_file_range` would start the writeback without a thread,
//! but only through `unsafe`, which this crate forbids.)

use std::fs::File;
use std::io::{self, Write};
use std::thread::JoinHandle;

/// Bytes written between two syncs.
const STEP: u64 = 16 << 20;

/// A writer into `file` (through `inner`) that syncs, in the background,
/// what it has written each time another [`STEP`] bytes have gone through.
pub struct Early<W> {
    inner: W,
    file: File,
    /// Bytes written since the last sync began.
    unsynced: u64,
    syncing: Option<JoinHandle<()>>,
}

impl<W: Write> Early<W> {
    pub fn new(inner: W, file: File) -> Early<W> {
        Early {
            inner,
            file,
            unsynced: 0,
            syncing: None,
        }
    }

    /// The writer, once the sync in flight (if any) is over. (Dropped
    /// instead, on an error, it leaves that sync to finish on its own.)
    pub fn into_inner(mut self) -> W {
        if let Some(sync) = self.syncing.take() {
            let _ = sync.join();
        }
        self.inner
    }

    /// Starts a sync unless one is still running.
    fn sync_in_background(&mut self) {
        if self
            .syncing
            .as_ref()
            .is_some_and(|sync| !sync.is_finished())
        {
            return;
        }
        if let Some(done) = self.syncing.take() {
            let _ = done.join();
        }
        // Only a head start: a failure here leaves the work (and the error)
        // to the sync that ends the write.
        if let Ok(file) = self.file.try_clone() {
            self.unsynced = 0;
            self.syncing = Some(std::thread::spawn(move || {
                let _ = file.sync_data();
            }));
        }
    }
}

impl<W: Write> Write for Early<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.unsynced += n as u64;
        if self.unsynced >= STEP {
            self.sync_in_background();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_written_across_background_syncs_arrive_whole_and_in_order() {
        let mut temp = tempfile::tempfile().unwrap();
        let file = temp.try_clone().unwrap();
        let mut early = Early::new(io::BufWriter::new(file.try_clone().unwrap()), file);
        let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let blocks = ((2 * STEP) >> 20) as usize + 3;
        for i in 0..blocks {
            early.write_all(&block[i % 7..]).unwrap();
        }
        early.into_inner().flush().unwrap();
        // The clones share one file offset: back to the start to read.
        io::Seek::rewind(&mut temp).unwrap();
        let mut written = Vec::new();
        io::Read::read_to_end(&mut temp, &mut written).unwrap();
        let expected: Vec<u8> = (0..blocks).flat_map(|i| block[i % 7..].to_vec()).collect();
        assert_eq!(written.len(), expected.len());
        assert!(written == expected, "the bytes differ");
    }
}
