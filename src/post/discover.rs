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
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
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
    Ok(found)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}
