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

/// Post files under `dir`, sorted by path so every run sees them in one order.
/// Hidden files and folders (editor backups, `.git`) are passed over.
pub fn post_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::Message(format!(
            "{}: the posts folder does not exist; set `posts.dir` in the configuration",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|e| Error::Message(format!("{}: {e}", dir.display())))?;
        if entry.file_type().is_file() && is_post_file(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}
