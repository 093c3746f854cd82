//! [`Site`]: the configuration and the published posts, what every command
//! starts from.
//!
//! Loading reads every post file in parallel and collects every problem of
//! every file before failing, so one run shows them all.

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
        let files = discover::post_files(&posts_dir)?;
        let reads: Vec<Read> = files
            .par_iter()
            .map(|file| read_post(root, file, &config))
            .collect();

        let mut site = Site {
            root: root.to_path_buf(),
            config_path,
            config,
            posts: Vec::with_capacity(reads.len()),
            warnings: Vec::new(),
            drafts: 0,
            future: 0,
            broken: 0,
            problems: Vec::new(),
        };
        let mut problems = Vec::new();
        for read in reads {
            match read {
                Read::Post(post) if post.draft => site.drafts += 1,
                Read::Post(post) if post.date.with_timezone(&Utc) > options.now => site.future += 1,
                Read::Post(post) => site.posts.push(*post),
                Read::Skipped(warning) => site.warnings.push(warning),
                Read::Broken(mut list) => {
                    site.broken += 1;
                    problems.append(&mut list);
                }
            }
        }
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

fn shown(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

fn read_post(root: &Path, file: &Path, config: &Config) -> Read {
    let name = shown(root, file);
    match fs_err::read(file) {
        Err(e) => Read::Broken(vec![Problem::file(&name, format!("cannot read: {e}"))]),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => match Post::read(&name, &text, config) {
                Read::Post(mut post) => {
                    post.leave_body_in(file, &text);
                    Read::Post(post)
                }
                other => other,
            },
            Err(e) => {
                let line = config::line_of_bytes(e.as_bytes(), e.utf8_error().valid_up_to());
                Read::Broken(vec![Problem::at(
                    &name,
                    line,
                    "not UTF-8 text; save the file as UTF-8",
                )])
            }
        },
    }
}
