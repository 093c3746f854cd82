//! A feed entry's bytes, wherever they are: made by this build and held
//! in memory, or still in the site's feed file in place, where the last
//! build wrote them (see [`crate::render_cache`]).

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::sync::Arc;

#[derive(Debug)]
pub enum Held {
    Memory(Vec<u8>),
    InFile {
        file: Arc<File>,
        offset: u64,
        len: usize,
    },
}

impl Held {
    /// The bytes: in memory, or read from the file.
    pub fn read(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Held::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            Held::InFile { file, offset, len } => {
                let mut bytes = vec![0; *len];
                read_at(file, &mut bytes, *offset)?;
                Ok(Cow::Owned(bytes))
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, offset)
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

    #[test]
    fn entries_in_a_file_are_read_back_whole() {
        use std::io::Write;
        let mut file = tempfile::tempfile().unwrap();
        let entries: Vec<Vec<u8>> = (0..20)
            .map(|i| {
                format!("<p>Post {i} – ü</p>")
                    .repeat(i % 7 + 1)
                    .into_bytes()
            })
            .collect();
        let mut held = Vec::new();
        let mut offset = 0;
        for entry in &entries {
            file.write_all(entry).unwrap();
            held.push(Held::InFile {
                file: Arc::new(file.try_clone().unwrap()),
                offset,
                len: entry.len(),
            });
            offset += entry.len() as u64;
        }
        for (i, held) in held.iter().enumerate() {
            assert_eq!(*held.read().unwrap(), entries[i], "entry {i}");
        }
    }
}
