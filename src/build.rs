//! `herald build` and `herald check`: plan the feeds, render the posts that
//! reach one (in parallel, once each), write every feed atomically.
//!
//! Nothing is written until everything has rendered, so a broken post never
//! leaves a half-updated set of feeds behind. `check` goes further than a
//! build: every post, and the email templates too, every problem at once.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::config::FeedFormat;
use crate::content::{Content, Rendered, Renderer};
use crate::email::Templates;
use crate::error::{Error, Problem, Problems, Result};
use crate::feed::write::Staged;
use crate::feed::{self, Entry};
use crate::post::{Post, Read};
use crate::render_cache::{Key, Placed, RenderCache};
use crate::site::Site;
use crate::spill::{Held, Spill};

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
    /// Bytes of rendered entries held in memory before the rest are kept in
    /// a temporary file ([`crate::spill::BUDGET`] for a user's build).
    pub memory: usize,
    /// Take unchanged posts' renderings from the last build's (see
    /// [`crate::render_cache`]); only a build that writes uses it.
    pub cache: bool,
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
    let spill = Spill::new(&out_dir, options.memory);
    let dates = feed::entry_dates(&site.posts);
    let mut formats = config.feeds.formats.clone();
    formats.sort();
    formats.dedup();
    // Each post's entry is made once per format, as it renders, and kept
    // (in memory, or spilled past the budget) for every feed that holds it.
    let makers = formats
        .iter()
        .map(|&format| feed::Entries::new(config, &channels[0], format))
        .collect::<std::io::Result<Vec<_>>>()?;
    let keep = |i: usize, content: Content| -> std::io::Result<Vec<Held>> {
        let entry = Entry {
            post: &site.posts[i],
            content: &content,
            updated: dates[i],
        };
        makers
            .iter()
            .map(|maker| spill.hold(maker.entry(&entry)?))
            .collect()
    };
    let mut cache = (options.write && options.cache)
        .then(|| RenderCache::open(site, &renderer))
        .flatten();
    let path_of = |channel: &feed::Channel<'_>, format| {
        out_dir
            .join(&channel.dir)
            .join(feed::file_name(config, format))
    };
    // The site's feed files, by format: the cache records where they hold
    // each entry.
    let site_files: Vec<(PathBuf, FeedFormat)> = formats
        .iter()
        .map(|&format| (path_of(&channels[0], format), format))
        .collect();
    let Unchanged {
        fresh,
        needed,
        told,
        in_place,
    } = match cache.as_mut() {
        Some(cache) => {
            cache.look_up(&renderer, &site.posts, &needed);
            let unchanged = unchanged(cache, &channels, &formats, &dates, path_of, needed);
            unchanged.taking_in_place(cache, &site_files, &dates)
        }
        None => Unchanged {
            fresh: vec![vec![false; formats.len()]; channels.len()],
            needed,
            told: Vec::new(),
            in_place: Vec::new(),
        },
    };
    let Renders {
        mut contents,
        mut warnings,
        mut problems,
    } = render(site, &renderer, cache.as_ref(), needed, told, keep);
    let rendered = contents.iter().filter(|c| c.is_some()).count();
    for (i, entries) in in_place {
        contents[i] = Some(entries);
    }
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
    let has_entries: Vec<bool> = channels
        .iter()
        .zip(&fresh)
        .map(|(channel, fresh)| {
            fresh.iter().any(|&fresh| fresh) || channel.posts.iter().any(|&i| contents[i].is_some())
        })
        .collect();
    if options.write && !has_entries.first().copied().unwrap_or(false) {
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
        .zip(&has_entries)
        .filter(|(_, has)| !**has)
        .flat_map(|(c, _)| {
            config
                .feeds
                .formats
                .iter()
                .map(|&format| path_of(c, format))
        })
        .collect();
    let unchanged: Vec<PathBuf> = channels
        .iter()
        .zip(&fresh)
        .flat_map(|(c, fresh)| {
            formats
                .iter()
                .zip(fresh)
                .filter(|(_, fresh)| **fresh)
                .map(|(&format, _)| path_of(c, format))
        })
        .collect();
    // Each feed is streamed into a file beside its target, so only the
    // entries being copied at the moment are in memory; none is renamed
    // into place until every one is on disk. Each format of each feed is a
    // job of its own: the site feed's formats hold every post and are the
    // longest jobs of a full archive.
    let jobs: Vec<(usize, usize)> = (0..channels.len())
        .filter(|&c| has_entries[c])
        .flat_map(|c| {
            let fresh = &fresh[c];
            (0..formats.len())
                .filter(move |&f| !fresh[f])
                .map(move |f| (c, f))
        })
        .collect();
    let outputs: Vec<(PathBuf, Option<Staged>, Option<Placed>)> = jobs
        .par_iter()
        .map(|&(c, f)| {
            let channel = &channels[c];
            let posts: Vec<usize> = channel
                .posts
                .iter()
                .copied()
                .filter(|&i| contents[i].is_some())
                .collect();
            let updated = posts.iter().map(|&i| dates[i]).max();
            let path = path_of(channel, formats[f]);
            let render = |out: &mut dyn Write| {
                let entries = posts
                    .iter()
                    .filter_map(|&i| contents[i].as_ref().map(|entries| &entries[f]));
                feed::render(config, channel, updated, formats[f], entries, out)
            };
            let mut spans = Vec::new();
            let staged = if options.write {
                feed::write::stage(&path, |out| {
                    spans = render(out)?;
                    Ok(())
                })?
            } else {
                render(&mut std::io::sink())?;
                None
            };
            // Where the site's feeds hold each entry, for the next build to copy.
            let placed = (c == 0 && cache.is_some()).then(|| Placed {
                path: path.clone(),
                format: formats[f],
                spans: posts
                    .iter()
                    .zip(spans)
                    .map(|(&i, (offset, len))| (i, offset, len))
                    .collect(),
            });
            Ok((path, staged, placed))
        })
        .collect::<Result<_>>()?;
    // Entries copied from the site's feeds in place hold those files open:
    // closed before new files are renamed over them.
    drop(contents);
    let files = outputs.len() + unchanged.len();

    let mut changed = 0;
    let mut removed = 0;
    if options.write {
        let mut paths = Vec::with_capacity(outputs.len());
        let mut staged = Vec::with_capacity(outputs.len());
        let mut placed = Vec::new();
        for (path, file, place) in outputs {
            paths.push(path);
            staged.extend(file);
            placed.extend(place);
        }
        changed = feed::write::commit(staged)?;
        if let Some(mut cache) = cache {
            // Posts rendered by this build are cached now: their feeds' digests can be made.
            cache.look_up_held();
            // The site's files are recorded even without a digest: where
            // they hold entries is still worth knowing.
            let recorded: Vec<(PathBuf, Option<Key>)> = channels
                .iter()
                .enumerate()
                .flat_map(|(c, channel)| formats.iter().map(move |&format| (c, channel, format)))
                .filter_map(|(c, channel, format)| {
                    let digest = cache.feed_digest(channel, format, &dates);
                    (digest.is_some() || c == 0).then(|| (path_of(channel, format), digest))
                })
                .collect();
            cache.record_feeds(&recorded, &placed, &dates);
            cache.finish();
        }
        let written: BTreeSet<&PathBuf> = paths.iter().chain(&kept).chain(&unchanged).collect();
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
        files,
        changed,
        removed,
        out_dir: site.shown(&out_dir),
        written: options.write,
        warnings,
    })
}

/// Which feed files are already what this build would write, and what
/// the others need.
struct Unchanged {
    /// By channel, then format.
    fresh: Vec<Vec<bool>>,
    /// The posts of the feeds to make.
    needed: BTreeSet<usize>,
    /// The warnings kept with the posts no feed to make holds, by post.
    told: Vec<(usize, Vec<Problem>)>,
    /// The entries, by format, of the posts whose entries are copied from
    /// the site's feed files in place instead.
    in_place: Vec<(usize, Vec<Held>)>,
}

impl Unchanged {
    /// Takes out of `needed` the posts whose entries the site's feed files
    /// in place still hold: a full archive made again after one post is
    /// edited copies every other entry from the old site feed.
    fn taking_in_place(
        mut self,
        cache: &RenderCache,
        site_files: &[(PathBuf, FeedFormat)],
        dates: &[DateTime<FixedOffset>],
    ) -> Unchanged {
        self.in_place = cache.entries_in_place(site_files, &self.needed, dates);
        let taken: BTreeSet<usize> = self.in_place.iter().map(|(i, _)| *i).collect();
        self.needed = self.needed.difference(&taken).copied().collect();
        self.told.extend(cache.keep(&taken));
        self.told.sort_by_key(|(i, _)| *i);
        self
    }
}

/// A feed file the cache recorded, still in place, whose every post is
/// cached unchanged, is what this build would write: it is left alone, and
/// its posts are not even read from the cache unless another feed needs them.
fn unchanged(
    cache: &RenderCache,
    channels: &[feed::Channel<'_>],
    formats: &[FeedFormat],
    dates: &[DateTime<FixedOffset>],
    path_of: impl Fn(&feed::Channel<'_>, FeedFormat) -> PathBuf,
    needed: BTreeSet<usize>,
) -> Unchanged {
    let fresh: Vec<Vec<bool>> = channels
        .iter()
        .map(|channel| {
            formats
                .iter()
                .map(|&format| {
                    cache
                        .feed_digest(channel, format, dates)
                        .is_some_and(|digest| {
                            cache.feed_unchanged(&path_of(channel, format), &digest)
                        })
                })
                .collect()
        })
        .collect();
    let to_make: BTreeSet<usize> = channels
        .iter()
        .zip(&fresh)
        .filter(|(_, fresh)| !fresh.iter().all(|&f| f))
        .flat_map(|(channel, _)| channel.posts.iter().copied())
        .collect();
    let told = cache.keep(&needed.difference(&to_make).copied().collect());
    Unchanged {
        fresh,
        needed: to_make,
        told,
        in_place: Vec::new(),
    }
}

/// `herald check`: every post rendered and the email templates tried, with
/// every problem found (front matter, Liquid, templates) reported together.
/// `site` must be loaded with `keep_going`, so that posts whose front matter
/// is broken wait in `site.problems` instead of hiding the rest.
pub fn check(site: &Site) -> Result<Report> {
    let renderer = Renderer::new(site)?;
    let Renders {
        contents,
        mut warnings,
        problems: render_problems,
    } = render(
        site,
        &renderer,
        None,
        (0..site.posts.len()).collect(),
        Vec::new(),
        |_, _| Ok(()),
    );
    let mut problems = site.problems.clone();
    problems.extend(render_problems);
    problems.extend(check_email(site, &renderer, &contents));
    problems.extend(
        crate::serve::check_pages(site)
            .err()
            .map(|e| email_problem(site, e)),
    );
    let (sending, sending_warnings) = crate::email::Letterhead::check(site);
    problems.extend(sending);
    warnings.extend(sending_warnings);
    if !problems.is_empty() {
        return Err(Error::Posts {
            problems: Problems(problems),
            warnings,
        });
    }
    Ok(Report {
        posts: site.posts.len(),
        rendered: contents.iter().filter(|c| c.is_some()).count(),
        feeds: feed::plan(&site.config, &site.posts).len(),
        out_dir: site.shown(&site.path(&site.config.feeds.dir)),
        warnings,
        ..Report::default()
    })
}

/// What was kept of each post by index (`None`: not rendered, or broken),
/// the warnings, and the problems of the broken ones.
struct Renders<T> {
    contents: Vec<Option<T>>,
    warnings: Vec<Problem>,
    problems: Vec<Problem>,
}

/// What was kept of a rendered post, with its warnings; or its problems.
type Outcome<T> = Result<(T, Vec<Problem>), Vec<Problem>>;

/// Renders the `needed` posts in parallel (or takes them from `cache`),
/// each handed to `keep` with its index. The warnings of posts not needed
/// this time (`told`, by post) are told with the others, in post order.
fn render<T: Send>(
    site: &Site,
    renderer: &Renderer<'_>,
    cache: Option<&RenderCache>,
    needed: BTreeSet<usize>,
    told: Vec<(usize, Vec<Problem>)>,
    keep: impl Fn(usize, Content) -> std::io::Result<T> + Sync,
) -> Renders<T> {
    let rendered: Vec<(usize, Outcome<T>)> = needed
        .into_par_iter()
        .map(|i| {
            let post = &site.posts[i];
            let rendered = match cache {
                Some(cache) => cache.render(renderer, i, post),
                None => renderer.render(post),
            };
            let kept = rendered.and_then(|Rendered { content, warnings }| {
                let kept = keep(i, content).map_err(|e| {
                    vec![Problem::file(
                        site.shown(&post.path),
                        format!("could not keep the rendered post for the feeds: {e}"),
                    )]
                })?;
                Ok((kept, warnings))
            });
            (i, kept)
        })
        .collect();
    let mut renders = Renders {
        contents: site.posts.iter().map(|_| None).collect(),
        warnings: Vec::new(),
        problems: Vec::new(),
    };
    let mut told = told.into_iter().peekable();
    for (index, result) in rendered {
        while let Some((_, warnings)) = told.next_if(|(post, _)| *post < index) {
            renders.warnings.extend(warnings);
        }
        match result {
            Ok((kept, warnings)) => {
                renders.warnings.extend(warnings);
                renders.contents[index] = Some(kept);
            }
            Err(mut list) => renders.problems.append(&mut list),
        }
    }
    renders
        .warnings
        .extend(told.flat_map(|(_, warnings)| warnings));
    renders
}

/// The email templates rendered as `preview` would, for the newest post
/// that may be mailed and rendered (or a sample post when there is none),
/// so a broken `templates/email.html` shows up here and not at the first send.
fn check_email(site: &Site, renderer: &Renderer<'_>, rendered: &[Option<()>]) -> Option<Problem> {
    let templates = match Templates::load(site) {
        Ok(templates) => templates,
        Err(e) => return Some(email_problem(site, e)),
    };
    let newest = site
        .posts
        .iter()
        .zip(rendered)
        .find(|(post, rendered)| post.email && rendered.is_some())
        .map(|(post, _)| post);
    let sample;
    let post = match newest {
        Some(post) => post,
        None => {
            sample = sample_post(site)?;
            &sample
        }
    };
    let content = renderer.render(post).ok()?.content;
    let outcome = templates.render(site, post, &content);
    outcome.err().map(|e| email_problem(site, e))
}

fn email_problem(site: &Site, e: Error) -> Problem {
    match e {
        Error::Config(problem) => problem,
        other => Problem::file(
            site.shown(&site.path(&site.config.email.templates)),
            other.to_string(),
        ),
    }
}

/// A post with every field a template may use, for a site with none yet.
fn sample_post(site: &Site) -> Option<Post> {
    const SAMPLE: &str = "---\ntitle: A sample post\ntags: [sample]\n\
        author: { name: Sample Author, email: author@example.org }\n---\n\
        A first paragraph with a [link](https://example.org/).\n\n<!--more-->\n\nMore text.\n";
    match Post::read(
        Path::new("posts/2000-01-01-sample.md"),
        SAMPLE,
        &site.config,
    ) {
        Read::Post(post) => Some(post),
        Read::Skipped(_) | Read::Broken(_) => None,
    }
}
