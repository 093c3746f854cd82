//! Finding post files: every `.md` and `.markdown` file under the posts
//! folder, sub-folders included, in a stable order.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub fn is_post_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("md" | "markdown" | "mdown" | "mkd" | "mkdn")
    )
}

/// What a walk of the posts folder found.
#[derive(Debug, Default)]
pub struct Found {
    /// Post files, sorted by path so every run sees them in one order.
    pub files: Vec<PathBuf>,
    /// Entries that could not be followed (a dangling or looping symbolic
    /// link), with why: each is one broken post, not a failed walk.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Post files under `dir`. Hidden files and folders (editor backups and
/// lock links, `.git`) are passed over.
pub fn post_files(dir: &Path) -> Result<Found> {
    if !dir.is_dir() {
        return Err(Error::Message(format!(
            "{}: the posts folder does not exist; set `posts.dir` in the configuration",
            dir.display()
        )));
    }
    let mut found = Found::default();
    // Unsorted: walkdir sorts by `file_name()`, which parses each path at
    // every comparison (a tenth of a 10,000-post build, on one thread).
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.path()));
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_file() && is_post_file(entry.path()) => {
                found.files.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                // A dangling link that is no post by name (or a hidden one) is none of herald's business.
                let loops = e.loop_ancestor().is_some();
                if loops || (is_post_file(&path) && !is_hidden(&path)) {
                    let why = if loops {
                        "a symbolic link that loops back to a folder above it".to_string()
                    } else {
                        format!(
                            "cannot read: {}",
                            e.io_error().map_or(e.to_string(), |io| io.to_string())
                        )
                    };
                    found.unreadable.push((path, why));
                }
            }
        }
    }
    found.files.sort_by_cached_key(|path| sort_key(path));
    found
        .unreadable
        .sort_by_cached_key(|(path, _)| sort_key(path));
    Ok(found)
}

/// The order of a walk that visits each folder's entries by name: a
/// path's bytes with each separator made the lowest byte, so that `a/b.md`
/// comes before `a.md` as `a` does.
fn sort_key(path: &Path) -> Vec<u8> {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|&b| {
            if std::path::is_separator(b as char) {
                0
            } else {
                b
            }
        })
        .collect()
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_the_order_of_a_walk_that_sorts_each_folder_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a.md",
            "a/b.md",
            "a/a-b.md",
            "a-b/c.md",
            "a b.md",
            "ab.markdown",
            "A.md",
            "é.md",
            "z/a/b.md",
            "z/a.md",
            "z.md",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let sorted_walk: Vec<PathBuf> = walkdir::WalkDir::new(dir.path())
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        let found = post_files(dir.path()).unwrap().files;
        assert_eq!(found.len(), 11);
        assert_eq!(found, sorted_walk);
    }
}
