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
use std::thread::JoinHandle;

/// Bytes written between two syncs.
const STEP: u64 = 16 << 20;

/// Counts the bytes written to a file and syncs, in the background, what
/// has been written each time another [`STEP`] bytes have gone through.
#[derive(Default)]
pub struct Early {
    /// Bytes written since the last sync began.
    unsynced: u64,
    syncing: Option<JoinHandle<()>>,
}

impl Early {
    pub fn new() -> Early {
        Early::default()
    }

    /// `n` more bytes were written to `file`.
    pub fn wrote(&mut self, n: usize, file: &File) {
        self.unsynced += n as u64;
        if self.unsynced >= STEP {
            self.sync_in_background(file);
        }
    }

    /// Waits for the sync in flight, if any. (Dropped instead, on an
    /// error, it leaves that sync to finish on its own.)
    pub fn wait(mut self) {
        if let Some(sync) = self.syncing.take() {
            let _ = sync.join();
        }
    }

    /// Starts a sync unless one is still running.
    fn sync_in_background(&mut self, file: &File) {
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
        if let Ok(file) = file.try_clone() {
            self.unsynced = 0;
            self.syncing = Some(std::thread::spawn(move || {
                let _ = file.sync_data();
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Write};

    #[test]
    fn bytes_written_across_background_syncs_arrive_whole_and_in_order() {
        let mut temp = tempfile::tempfile().unwrap();
        let mut early = Early::new();
        let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let blocks = ((2 * STEP) >> 20) as usize + 3;
        for i in 0..blocks {
            temp.write_all(&block[i % 7..]).unwrap();
            early.wrote(block.len() - i % 7, &temp);
        }
        assert!(early.syncing.is_some(), "a sync was started");
        early.wait();
        io::Seek::rewind(&mut temp).unwrap();
        let mut written = Vec::new();
        io::Read::read_to_end(&mut temp, &mut written).unwrap();
        let expected: Vec<u8> = (0..blocks).flat_map(|i| block[i % 7..].to_vec()).collect();
        assert_eq!(written.len(), expected.len());
        assert!(written == expected, "the bytes differ");
    }
}
