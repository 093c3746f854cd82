//! `herald init` (a working site skeleton) and `herald new` (a dated post).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::post::permalink::{Mode, slugify};

/// The default email templates, compiled in so `init` works anywhere.
pub const EMAIL_HTML: &str = include_str!("../templates/email.html");
pub const EMAIL_TXT: &str = include_str!("../templates/email.txt");
/// The layout of `herald serve`'s pages.
pub const PAGE_HTML: &str = include_str!("../templates/page.html");

const GITIGNORE: &str = "# herald: delivery state holds subscribers' personal data\n.herald/\npublic/\noutbox/\npreview/\n";

/// What an existing `.gitignore` must gain: the folders that hold readers'
/// personal data. (`public/` is left alone there: some sites commit it.)
const PRIVATE_DIRS: [&str; 2] = [".herald/", "outbox/"];

/// A file `init` wrote, relative to the site folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created(PathBuf),
    /// An existing file that gained these lines (never overwritten).
    Appended(PathBuf, Vec<String>),
}

impl Written {
    pub fn describe(&self, dir: &Path) -> String {
        match self {
            Written::Created(path) => format!("created {}", dir.join(path).display()),
            Written::Appended(path, lines) => {
                format!("added {} to {}", lines.join(" "), dir.join(path).display())
            }
        }
    }
}

/// Appends to the user's `.gitignore` the private folders it does not
/// ignore yet; never rewrites what is there. Returns the lines added.
pub fn ignore_private_dirs(path: &Path) -> Result<Vec<String>> {
    let text = fs_err::read_to_string(path)?;
    let ignored = |dir: &str| {
        let bare = dir.trim_end_matches('/');
        text.lines().map(str::trim).any(|line| {
            let line = line.trim_start_matches('/').trim_end_matches("/*");
            line.trim_end_matches('/') == bare
        })
    };
    let missing: Vec<String> = PRIVATE_DIRS
        .iter()
        .filter(|dir| !ignored(dir))
        .map(|dir| dir.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut addition = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        addition.push('\n');
    }
    addition.push_str("# herald: subscribers' personal data\n");
    for dir in &missing {
        addition.push_str(dir);
        addition.push('\n');
    }
    let mut file = fs_err::OpenOptions::new().append(true).open(path)?;
    std::io::Write::write_all(&mut file, addition.as_bytes())?;
    Ok(missing)
}

/// Creates a site in `dir`; returns the files written, relative to `dir`.
/// `force` overwrites the configuration, the first post and the templates,
/// never the user's `.gitignore`: that only gains what it lacks.
pub fn init(dir: &Path, force: bool, now: DateTime<Utc>) -> Result<Vec<Written>> {
    let config_path = dir.join(crate::config::DEFAULT_PATH);
    if config_path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} already exists; pass --force to overwrite it",
            config_path.display()
        )));
    }
    let title = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "My blog".into());
    let config = format!(
        r#"# herald configuration: https://example.org is a placeholder; set your blog's URL.
[site]
title = "{title}"
url = "https://example.org"
description = "Notes and news"
author = {{ name = "Your Name", email = "you@example.org" }}
language = "en"
timezone = "UTC"
permalink = "/:year/:month/:day/:slug/"

[posts]
dir = "posts"

[feeds]
dir = "public"
formats = ["atom", "rss", "json"]
limit = 20

[email]
from = "Your Name <you@example.org>"
unsubscribe_mailto = "you+unsubscribe@example.org"

# transport: "smtp" once [smtp] below is filled in; or "outbox" (.eml files, each
# recorded as sent). With neither, `herald send` refuses: nothing is used up.
# [smtp]
# host = "smtp.example.org"
# port = 587
# username = "you"            # the password comes from $HERALD_SMTP_PASSWORD

# `herald serve`: signup with a confirmation mail, one-click unsubscribe (README,
# "Subscribing on the web"). With public_url set, every mail links to it.
# [serve]
# listen = "127.0.0.1:8025"
# public_url = "https://example.org/newsletter"
"#,
        title = title.replace('"', "'")
    );
    let day = now.format("%Y-%m-%d");
    let post = format!(
        "---\ntitle: Hello, world\ndate: {}\ntags: [meta]\n---\n\nThis is the first post. Write the next one with `herald new \"Title\"`.\n\n<!--more-->\n\nPosts are Markdown with front matter; `herald build` turns them into feeds in `public/`.\n",
        now.format("%Y-%m-%d %H:%M:%S +0000")
    );
    let files: Vec<(PathBuf, String)> = vec![
        (PathBuf::from(crate::config::DEFAULT_PATH), config),
        (PathBuf::from(format!("posts/{day}-hello-world.md")), post),
        (
            PathBuf::from("templates/email.html"),
            EMAIL_HTML.to_string(),
        ),
        (PathBuf::from("templates/email.txt"), EMAIL_TXT.to_string()),
        (PathBuf::from("templates/page.html"), PAGE_HTML.to_string()),
        (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
    ];
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(&relative);
        if relative.as_path() == Path::new(".gitignore") && path.exists() {
            let added = ignore_private_dirs(&path)?;
            if !added.is_empty() {
                written.push(Written::Appended(relative, added));
            }
            continue;
        }
        if path.exists() && !force && relative.as_path() != Path::new(crate::config::DEFAULT_PATH) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, text)?;
        written.push(Written::Created(relative));
    }
    Ok(written)
}

/// Creates `posts/YYYY-MM-DD-slug.md`; returns its path.
pub fn new_post(
    root: &Path,
    config: &Config,
    title: &str,
    tags: &[String],
    draft: bool,
    now: DateTime<Utc>,
) -> Result<PathBuf> {
    let slug = slugify(title, Mode::Default);
    if slug.is_empty() {
        return Err(Error::Usage(format!(
            "{title:?} has no letters or digits to make a file name from"
        )));
    }
    let local = now.with_timezone(&config.site.timezone);
    let relative = config
        .posts
        .dir
        .join(format!("{}-{slug}.md", local.format("%Y-%m-%d")));
    let path = root.join(&relative);
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists",
            relative.display()
        )));
    }
    let mut front = format!(
        "---\ntitle: {}\ndate: {}\n",
        yaml_string(title),
        local.format("%Y-%m-%d %H:%M:%S %z")
    );
    if !tags.is_empty() {
        let tags: Vec<String> = tags.iter().map(|t| yaml_string(t)).collect();
        front.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    }
    if draft {
        front.push_str("draft: true\n");
    }
    front.push_str("---\n\n");
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&path, front)?;
    Ok(relative)
}

/// A YAML double-quoted string: safe for any title.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_makes_a_site_that_loads() {
        let dir = tempfile::tempdir().unwrap();
        let written = init(dir.path(), false, Utc::now()).unwrap();
        assert!(written.len() >= 5);
        let site = crate::Site::load(dir.path(), None, &crate::LoadOptions::default()).unwrap();
        assert_eq!(site.posts.len(), 1);
        assert!(
            init(dir.path(), false, Utc::now()).is_err(),
            "refuses to overwrite"
        );
    }

    #[test]
    fn new_posts_get_a_dated_file_name_and_quoted_title() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), false, Utc::now()).unwrap();
        let config = Config::load(&dir.path().join("config/herald.toml"), Path::new("c")).unwrap();
        let path = new_post(
            dir.path(),
            &config,
            "Why: \"quotes\" matter",
            &["a".into()],
            false,
            Utc::now(),
        )
        .unwrap();
        assert!(
            path.to_string_lossy().ends_with("-why-quotes-matter.md"),
            "{}",
            path.display()
        );
        let site = crate::Site::load(dir.path(), None, &crate::LoadOptions::default()).unwrap();
        assert!(
            site.posts
                .iter()
                .any(|p| p.title == "Why: \"quotes\" matter")
        );
    }
}
