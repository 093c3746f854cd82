//! Where the bounces are: a Maildir (its `cur/` and `new/`, as Postfix,
//! Dovecot and getmail write them) or an mbox file (mail-parser's reader,
//! which undoes `>From ` quoting). Messages are read one at a time, so a
//! mailbox of any size takes the memory of its largest message. herald
//! never moves, marks or deletes a message, so the mailbox can be read
//! again (the ledger remembers what was counted).

use std::fs::File;
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

/// The messages of a Maildir or an mbox, read as they are asked for.
pub enum Mailbox {
    /// The Maildir's files, in name order (delivery order, as Maildir names them).
    Maildir {
        files: std::vec::IntoIter<PathBuf>,
        root: PathBuf,
        shown: PathBuf,
    },
    Mbox {
        messages: mbox::MessageIterator<BufReader<File>>,
        shown: PathBuf,
        count: usize,
    },
}

/// Opens `path` (a folder: a Maildir; a file: an mbox); `shown` names it.
pub fn open(path: &Path, shown: &Path) -> Result<Mailbox> {
    let meta = std::fs::metadata(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
            _ => e.to_string(),
        };
        Error::Usage(format!("{}: {why}", shown.display()))
    })?;
    if meta.is_dir() {
        return open_maildir(path, shown);
    }
    if meta.len() > 0 && !starts_like_an_mbox(path)? {
        return Err(Error::Usage(format!(
            "{}: not an mbox (it does not start with a \"From \" line); give an mbox file or a Maildir folder",
            shown.display()
        )));
    }
    let file = File::open(path).map_err(|e| Error::Message(format!("{}: {e}", shown.display())))?;
    Ok(Mailbox::Mbox {
        messages: mbox::MessageIterator::new(BufReader::new(file)),
        shown: shown.to_path_buf(),
        count: 0,
    })
}

fn starts_like_an_mbox(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut start = [0u8; 5];
    let mut file = fs_err::File::open(path)?;
    let read = file.read(&mut start)?;
    Ok(&start[..read] == b"From ")
}

fn open_maildir(path: &Path, shown: &Path) -> Result<Mailbox> {
    if !path.join("cur").is_dir() && !path.join("new").is_dir() {
        return Err(Error::Usage(format!(
            "{}: a folder without cur/ and new/ is not a Maildir (give a Maildir folder or an mbox file)",
            shown.display()
        )));
    }
    // A fresh Maildir may lack one of the two; dot files are not messages.
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let dir = path.join(sub);
        if !dir.is_dir() {
            continue;
        }
        let mut names: Vec<PathBuf> = fs_err::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        names.sort();
        files.extend(names);
    }
    Ok(Mailbox::Maildir {
        files: files.into_iter(),
        root: path.to_path_buf(),
        shown: shown.to_path_buf(),
    })
}

impl Iterator for Mailbox {
    type Item = Result<Letter>;

    fn next(&mut self) -> Option<Result<Letter>> {
        match self {
            Mailbox::Maildir { files, root, shown } => {
                let file = files.next()?;
                let relative = file.strip_prefix(&*root).unwrap_or(&file);
                let origin = shown.join(relative).display().to_string();
                Some(
                    fs_err::read(&file)
                        .map_err(Error::Io)
                        .map(|bytes| Letter { origin, bytes }),
                )
            }
            Mailbox::Mbox {
                messages,
                shown,
                count,
            } => {
                let message = messages.next()?;
                *count += 1;
                let origin = format!("{} #{count}", shown.display());
                Some(
                    message
                        .map(|m| Letter {
                            origin,
                            bytes: m.unwrap_contents(),
                        })
                        .map_err(|e| Error::Message(format!("{}: {e}", shown.display()))),
                )
            }
        }
    }
}
