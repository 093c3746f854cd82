//! [`Site`]: the configuration and the published posts, what every command
//! starts from.
//!
//! Loading reads every post file in parallel and collects every problem of
//! every file before failing, so one run shows them all.

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::config::{self, Config};
use crate::error::{Error, Problem, Problems, Result};
use crate::post::{Post, Read, discover};

#[derive(Debug)]
pub struct Site {
    /// The site's folder; relative paths in the configuration start here.
    pub root: PathBuf,
    pub config_path: PathBuf,
    pub config: Config,
    /// Published posts, newest first. Drafts and future posts are not here.
    pub posts: Vec<Post>,
    /// Things worth telling the user that do not stop the command.
    pub warnings: Vec<Problem>,
    pub drafts: usize,
    pub future: usize,
    /// Posts that could not be read (only with `keep_going`).
    pub broken: usize,
    /// What is wrong with those posts, every problem of each.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Build from the good posts when some are broken.
    pub keep_going: bool,
    /// Posts dated after this are left out until their time comes.
    pub now: DateTime<Utc>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            keep_going: false,
            now: Utc::now(),
        }
    }
}

impl Site {
    /// Loads the site at `root`, with its configuration at `config_path`
    /// (relative to `root`), default `config/herald.toml`.
    pub fn load(root: &Path, config_path: Option<&Path>, options: &LoadOptions) -> Result<Site> {
        let config_path = root.join(config_path.unwrap_or(Path::new(config::DEFAULT_PATH)));
        let config = Config::load(&config_path, &shown(root, &config_path))?;
        let posts_dir = root.join(&config.posts.dir);
        let found = discover::post_files(&posts_dir)?;
        let reads: Vec<Read> = found
            .files
            .par_iter()
            .map(|file| read_post(root, file, &config))
            .collect();

        let mut site = Site {
            root: root.to_path_buf(),
            config_path,
            config,
            posts: Vec::new(),
            warnings: Vec::new(),
            drafts: 0,
            future: 0,
            broken: 0,
            problems: Vec::new(),
        };
        let mut problems = Vec::new();
        // In place: the posts take over the reads' allocation, so a big
        // site's posts are never held twice.
        site.posts = reads
            .into_iter()
            .filter_map(|read| match read {
                Read::Post(post) if post.draft => {
                    site.drafts += 1;
                    None
                }
                Read::Post(post) if post.date.with_timezone(&Utc) > options.now => {
                    site.future += 1;
                    None
                }
                Read::Post(post) => Some(post),
                Read::Skipped(warning) => {
                    site.warnings.push(warning);
                    None
                }
                Read::Broken(mut list) => {
                    site.broken += 1;
                    problems.append(&mut list);
                    None
                }
            })
            .collect();
        for (path, why) in &found.unreadable {
            site.broken += 1;
            problems.push(Problem::file(shown(root, path), why));
        }
        problems.append(&mut remove_duplicates(&mut site.posts));
        if !problems.is_empty() && !options.keep_going {
            return Err(Error::Posts {
                problems: Problems(problems),
                warnings: site.warnings,
            });
        }
        site.problems = problems;
        // Newest first; the path breaks ties so the order never depends on the file system.
        site.posts
            .sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.path.cmp(&b.path)));
        Ok(site)
    }

    /// The site without its posts: for `herald serve`, which needs the
    /// configuration and the paths it names, never a post.
    pub fn without_posts(root: &Path, config_path: Option<&Path>) -> Result<Site> {
        let config_path = root.join(config_path.unwrap_or(Path::new(config::DEFAULT_PATH)));
        let config = Config::load(&config_path, &shown(root, &config_path))?;
        Ok(Site {
            root: root.to_path_buf(),
            config_path,
            config,
            posts: Vec::new(),
            warnings: Vec::new(),
            drafts: 0,
            future: 0,
            broken: 0,
            problems: Vec::new(),
        })
    }

    /// The site root for a command started in `start`: the nearest of
    /// `start` and its parents that has `config/herald.toml`, as cargo and git
    /// find theirs. It is `start` joined with `..` as often as needed, so
    /// messages keep naming files relative to where the user is.
    pub fn find_root(start: &Path) -> Option<PathBuf> {
        let absolute = fs_err::canonicalize(start).ok()?;
        let up = absolute
            .ancestors()
            .position(|dir| dir.join(config::DEFAULT_PATH).is_file())?;
        Some((0..up).fold(start.to_path_buf(), |path, _| path.join("..")))
    }

    /// A path from the configuration, made absolute against the site root.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// How messages name a file: relative to the site root where it can be.
    pub fn shown(&self, path: &Path) -> PathBuf {
        shown(&self.root, path)
    }

    /// A post by its slug or file name, for `preview POST` and `send --post SLUG`.
    pub fn find_post(&self, name: &str) -> Option<&Post> {
        self.posts.iter().find(|p| {
            p.slug == name
                || p.file_slug == name
                || p.path.file_stem().is_some_and(|s| s == name)
                || p.path == Path::new(name)
        })
    }
}

/// Two posts with one URL or one feed id would be one entry to feed readers
/// and one key in the ledger, so one of them would never be mailed. Which
/// one the author meant cannot be known: both are problems, and with
/// `--keep-going` both are left out.
fn remove_duplicates(posts: &mut Vec<Post>) -> Vec<Problem> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut clashes: Vec<(usize, usize, &'static str)> = Vec::new();
    for (index, post) in posts.iter().enumerate() {
        for (key, what) in [(post.url.as_str(), "URL"), (post.feed_id(), "id")] {
            match first.get(key) {
                Some(&earlier) if earlier != index => clashes.push((earlier, index, what)),
                Some(_) => {}
                None => {
                    first.insert(key, index);
                }
            }
        }
    }
    let mut problems = Vec::new();
    let mut dropped = BTreeSet::new();
    for (a, b, what) in clashes {
        let (a_post, b_post) = (&posts[a], &posts[b]);
        let value = if what == "URL" {
            &b_post.url
        } else {
            b_post.feed_id()
        };
        problems.push(Problem::file(
            &b_post.path,
            format!(
                "has the same {what} as {}: {value}; each post needs its own (set `permalink`, `slug` or `id`)",
                a_post.path.display()
            ),
        ));
        dropped.extend([a, b]);
    }
    let mut index = 0;
    posts.retain(|_| {
        index += 1;
        !dropped.contains(&(index - 1))
    });
    problems
}

fn shown(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// The largest post file herald reads. Real posts are a few kilobytes;
/// past this, a file is a mistake (a log or a dump saved as `.md`) and
/// Markdown, Liquid and the feeds would spend memory on it for nothing.
pub const MAX_POST_BYTES: u64 = 4 * 1024 * 1024;

/// How much of a post file loading reads first: more than nearly any
/// front matter. The body, most of the bytes, is read again only if the
/// post is rendered (see [`crate::post::Body`]).
const HEAD_BYTES: u64 = 4096;

fn read_post(root: &Path, file: &Path, config: &Config) -> Read {
    let name = shown(root, file);
    let cannot =
        |e: std::io::Error| Read::Broken(vec![Problem::file(&name, format!("cannot read: {e}"))]);
    let mut opened = match fs_err::File::open(file) {
        Ok(opened) => opened,
        Err(e) => return cannot(e),
    };
    let size = match opened.metadata() {
        Ok(meta) => meta.len(),
        Err(e) => return cannot(e),
    };
    if size > MAX_POST_BYTES {
        return Read::Broken(vec![Problem::file(
            &name,
            format!(
                "{size} bytes: larger than the {} MB a post may be",
                MAX_POST_BYTES / (1024 * 1024)
            ),
        )]);
    }
    let mut bytes = Vec::with_capacity(HEAD_BYTES.min(size) as usize);
    if let Err(e) = (&mut opened).take(HEAD_BYTES).read_to_end(&mut bytes) {
        return cannot(e);
    }
    if (bytes.len() as u64) < size {
        if let Some(head) = whole_front_matter(&bytes) {
            return Post::read_head(&name, head, config, file, size as usize);
        }
        if let Err(e) = opened.read_to_end(&mut bytes) {
            return cannot(e);
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => Post::read_file(&name, &text, config, file),
        Err(e) => {
            let line = config::line_of_bytes(e.as_bytes(), e.utf8_error().valid_up_to());
            Read::Broken(vec![Problem::at(
                &name,
                line,
                "not UTF-8 text; save the file as UTF-8",
            )])
        }
    }
}

/// The start of a file, as text, if it holds the whole front matter up to
/// the end of its closing line; else the whole file is read. A character
/// cut at the end of `head` is left out.
fn whole_front_matter(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let split = crate::post::front_matter::split(text).ok()?;
    let body_start = text.len() - split.body.len();
    // A closing line cut short by the end of `head` might not be one.
    (body_start > 0 && text.as_bytes()[body_start - 1] == b'\n').then_some(text)
}
