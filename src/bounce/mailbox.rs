//! Where the bounces are: a Maildir (its `cur/` and `new/`, as Postfix,
//! Dovecot and getmail write them) or an mbox file (mail-parser's reader,
//! which undoes `>From ` quoting). herald never moves, marks or deletes a
//! message, so the mailbox can be read again (the ledger remembers what
//! was counted).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use mail_parser::mailbox::mbox;

use crate::error::{Error, Result};

/// One message and where it came from, for the listing.
pub struct Letter {
    /// The file (Maildir), or `mbox #N`.
    pub origin: String,
    pub bytes: Vec<u8>,
}

/// Every message in `path`, oldest first where the mailbox says.
pub fn read(path: &Path, shown: &Path) -> Result<Vec<Letter>> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::Usage(format!(
            "{}: {}",
            shown.display(),
            match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
                _ => e.to_string(),
            }
        ))
    })?;
    if meta.is_dir() {
        read_maildir(path, shown)
    } else {
        read_mbox(path, shown)
    }
}

fn read_maildir(path: &Path, shown: &Path) -> Result<Vec<Letter>> {
    if !path.join("cur").is_dir() && !path.join("new").is_dir() {
        return Err(Error::Usage(format!(
            "{}: a folder without cur/ and new/ is not a Maildir (give a Maildir folder or an mbox file)",
            shown.display()
        )));
    }
    read_files(path, shown)
}

/// The files of a Maildir's cur/ and new/ (either may be missing in a
/// fresh one), in name order: delivery order, as Maildir names them.
fn read_files(path: &Path, shown: &Path) -> Result<Vec<Letter>> {
    let mut letters = Vec::new();
    for sub in ["cur", "new"] {
        let dir = path.join(sub);
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = fs_err::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        for file in files {
            letters.push(Letter {
                origin: origin(shown, path, &file),
                bytes: fs_err::read(&file)?,
            });
        }
    }
    Ok(letters)
}

fn origin(shown: &Path, root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    shown.join(relative).display().to_string()
}

fn read_mbox(path: &Path, shown: &Path) -> Result<Vec<Letter>> {
    let file = fs_err::File::open(path)?;
    let mut letters = Vec::new();
    for (i, message) in mbox::MessageIterator::new(BufReader::new(file)).enumerate() {
        let message = message.map_err(|e| Error::Message(format!("{}: {e}", shown.display())))?;
        letters.push(Letter {
            origin: format!("{} #{}", shown.display(), i + 1),
            bytes: message.unwrap_contents(),
        });
    }
    if letters.is_empty() && meta_len(path) > 0 {
        return Err(Error::Usage(format!(
            "{}: not an mbox (no line starts with \"From \"); give an mbox file or a Maildir folder",
            shown.display()
        )));
    }
    Ok(letters)
}

fn meta_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
