//! The outbox transport: each message written as an `.eml` file, used only
//! when `email.transport = "outbox"` is written (it records readers as
//! sent, so it must never be a default that uses a post up). Files are written to a temporary name
//! and renamed into place, so a crash never leaves half a message; a
//! message's file name comes from its post and address, so a re-send
//! replaces rather than adds.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::deliver::{Attempt, Courier, Gate};
use crate::email::Letter;

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: PathBuf) -> Outbox {
        Outbox { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write(&self, letter: &Letter) -> std::io::Result<PathBuf> {
        // 0600 files (tempfile's default) in a 0700 folder: they hold readers' addresses.
        crate::private::create_dir(&self.dir)?;
        let path = self.dir.join(file_name(letter));
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(&letter.bytes)?;
        file.as_file().sync_data()?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }
}

impl Courier for &Outbox {
    fn deliver(&mut self, letter: &Letter, gate: &mut dyn Gate) -> Attempt {
        gate.announce();
        if !gate.wait() {
            return Attempt::NotAttempted;
        }
        match self.write(letter) {
            Ok(path) => Attempt::Sent(format!("written to {}", path.display())),
            // A full disk or a missing permission will not fix itself between messages.
            Err(e) => Attempt::Fatal(format!("outbox {}: {e}", self.dir.display())),
        }
    }
}

/// `<message-id local part>--<recipient>.eml`, with only file-name-safe characters.
fn file_name(letter: &Letter) -> String {
    let local = letter.message_id.split('@').next().unwrap_or("message");
    let to = super::recipient(letter);
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | '@' | '+' => c,
                _ => '_',
            })
            .collect()
    };
    format!("{}--{}.eml", safe(local), safe(&to))
}
