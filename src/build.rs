//! `herald build` and `herald check`: plan the feeds, render the posts that
//! reach one (in parallel, once each), write every feed atomically.
//!
//! Nothing is written until everything has rendered, so a broken post never
//! leaves a half-updated set of feeds behind.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::content::{Content, Renderer};
use crate::error::{Error, Problem, Problems, Result};
use crate::feed::{self, Entry};
use crate::site::Site;

#[derive(Debug, Default)]
pub struct Report {
    pub posts: usize,
    pub rendered: usize,
    pub feeds: usize,
    pub files: usize,
    pub changed: usize,
    /// Feeds of tags and categories no post has any more.
    pub removed: usize,
    pub out_dir: PathBuf,
    pub written: bool,
    pub warnings: Vec<Problem>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.written {
            write!(
                f,
                "{} posts, {} feeds: {} files in {} ({} changed)",
                self.posts,
                self.feeds,
                self.files,
                self.out_dir.display(),
                self.changed
            )?;
            if self.removed > 0 {
                write!(f, "; {} stale feed files removed", self.removed)?;
            }
            Ok(())
        } else {
            write!(
                f,
                "{} posts read, {} rendered for {} feeds: no problems",
                self.posts, self.rendered, self.feeds
            )
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Write the files (`build`) or only check that they can be made (`check`).
    pub write: bool,
    pub keep_going: bool,
}

pub fn run(site: &Site, options: Options) -> Result<Report> {
    let config = &site.config;
    let channels = feed::plan(config, &site.posts);
    // `build` renders only the posts that reach a feed; `check` renders every
    // post, so a broken old post is found before it matters.
    let needed: BTreeSet<usize> = if options.write {
        channels
            .iter()
            .flat_map(|c| c.posts.iter().copied())
            .collect()
    } else {
        (0..site.posts.len()).collect()
    };
    let out_dir = site.path(&config.feeds.dir);
    let renderer = Renderer::new(site)?;
    let rendered: Vec<(usize, Result<crate::content::Rendered, Vec<Problem>>)> = needed
        .into_par_iter()
        .map(|i| (i, renderer.render(&site.posts[i])))
        .collect();

    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let mut contents: Vec<Option<Content>> = vec![None; site.posts.len()];
    for (index, result) in rendered {
        match result {
            Ok(out) => {
                warnings.extend(out.warnings);
                contents[index] = Some(out.content);
            }
            Err(mut list) => problems.append(&mut list),
        }
    }
    let rendered = contents.iter().filter(|c| c.is_some()).count();
    if !problems.is_empty() {
        if !options.keep_going {
            return Err(Error::Posts {
                problems: Problems(problems),
                warnings,
            });
        }
        warnings.append(&mut problems);
    }

    // A feed with no entry has no date to give (Atom requires one): the site
    // feed is refused, and a tag's feed whose posts all broke is left as it was.
    let has_entries =
        |channel: &feed::Channel<'_>| channel.posts.iter().any(|&i| contents[i].is_some());
    if options.write && !channels.first().is_some_and(has_entries) {
        return Err(Error::Posts {
            problems: Problems(vec![Problem::file(
                site.shown(&site.path(&config.posts.dir)),
                "no post to publish, so no feed is written (an empty feed would have no date)",
            )]),
            warnings,
        });
    }
    let kept: Vec<PathBuf> = channels
        .iter()
        .filter(|c| !has_entries(c))
        .flat_map(|c| {
            config
                .feeds
                .formats
                .iter()
                .map(|&format| out_dir.join(&c.dir).join(feed::file_name(config, format)))
        })
        .collect();
    let dates = feed::entry_dates(&site.posts);
    let mut formats = config.feeds.formats.clone();
    formats.sort();
    formats.dedup();
    let files: Vec<(PathBuf, Vec<u8>)> = channels
        .par_iter()
        .filter(|channel| has_entries(channel))
        .flat_map_iter(|channel| {
            let entries: Vec<Entry<'_>> = channel
                .posts
                .iter()
                .filter_map(|&i| {
                    contents[i].as_ref().map(|content| Entry {
                        post: &site.posts[i],
                        content,
                        updated: dates[i],
                    })
                })
                .collect();
            formats
                .iter()
                .map(|&format| {
                    let path = out_dir
                        .join(&channel.dir)
                        .join(feed::file_name(config, format));
                    (path, feed::render(config, channel, &entries, format))
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let mut changed = 0;
    let mut removed = 0;
    if options.write {
        for (path, bytes) in &files {
            if feed::write::atomic(path, bytes)? {
                changed += 1;
            }
        }
        let written: BTreeSet<&PathBuf> = files.iter().map(|(path, _)| path).chain(&kept).collect();
        let names = [
            &config.feeds.atom_file,
            &config.feeds.rss_file,
            &config.feeds.json_file,
        ];
        for group in ["tags", "categories"] {
            removed += feed::write::remove_stale(&out_dir.join(group), &names, &written)?;
        }
    }
    Ok(Report {
        posts: site.posts.len(),
        rendered,
        feeds: channels.len(),
        files: files.len(),
        changed,
        removed,
        out_dir: site.shown(&out_dir),
        written: options.write,
        warnings,
    })
}
