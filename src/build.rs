//! `herald build` and `herald check`: plan the feeds, render the posts that
//! reach one (in parallel, once each), write every feed atomically.
//!
//! The posts render a batch at a time, in feed order, while the batch
//! before is written into every feed that holds its posts: a full archive
//! is streamed, never held. The feeds are written beside their files and
//! none is renamed into place until every post has rendered, so a broken
//! post never leaves a half-updated set of feeds behind. `check` goes further than a
//! build: every post, and the email templates too, every problem at once.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::config::FeedFormat;
use crate::content::{Content, Rendered, Renderer};
use crate::email::Templates;
use crate::error::{Error, Problem, Problems, Result};
use crate::feed::write::{NewFolders, Stage, Staged};
use crate::feed::{self, Entry};
use crate::held::Held;
use crate::post::{Post, Read};
use crate::render_cache::{Key, Placed, RenderCache};
use crate::site::Site;

#[derive(Debug, Default)]
pub struct Report {
    /// Posts in the feeds (or read, when checking).
    pub posts: usize,
    /// Posts left out for their problems (`--keep-going`).
    pub left_out: usize,
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
            write!(f, "{} posts", self.posts)?;
            if self.left_out > 0 {
                write!(f, " ({} left out for their problems)", self.left_out)?;
            }
            write!(
                f,
                ", {} feeds: {} files in {} ({} changed)",
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

/// Posts rendered at a time, while the batch before is written into the
/// feeds: all a build holds of its rendered posts (a full archive's are
/// 570 MB for 10,000 real-sized posts).
pub const BATCH: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub keep_going: bool,
    /// Take unchanged posts' renderings from the last build's (see
    /// [`crate::render_cache`]).
    pub cache: bool,
    /// Posts rendered at a time ([`BATCH`] for a user's build).
    pub batch: usize,
    /// Feed files written at once, each an open file ([`files_at_once`]
    /// for a user's build): past it, the posts are gone through again for
    /// the other files.
    pub files: usize,
}

impl Options {
    /// A user's build.
    pub fn new(keep_going: bool, cache: bool) -> Options {
        Options {
            keep_going,
            cache,
            batch: BATCH,
            files: files_at_once(),
        }
    }
}

/// How many feed files a build writes at once. Each is an open file (two
/// while its early sync runs), and a process may open only so many: the
/// limit is raised to what the system allows first (a blog with a
/// thousand tags has three thousand feed files; Linux starts a process
/// with 1,024).
pub fn files_at_once() -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let current = limit.current.unwrap_or(u64::MAX);
        let maximum = limit.maximum.unwrap_or(u64::MAX);
        // macOS calls an unlimited hard limit too high and takes at most
        // its OPEN_MAX, 10,240.
        let open = [maximum, 10_240]
            .into_iter()
            .filter(|&wanted| wanted > current && wanted <= maximum)
            .find(|&wanted| {
                let raised = Rlimit {
                    current: Some(wanted),
                    maximum: limit.maximum,
                };
                setrlimit(Resource::Nofile, raised).is_ok()
            })
            .unwrap_or(current);
        // Some for the rest of the build: posts, includes, the cache.
        let open = open.min(1 << 20) as usize;
        (open.saturating_sub(64) / 2).max(8)
    }
    #[cfg(not(unix))]
    {
        512
    }
}

pub fn run(site: &Site, options: Options) -> Result<Report> {
    let config = &site.config;
    let channels = feed::plan(config, &site.posts);
    // Only the posts that reach a feed are rendered (`check` renders every
    // post, so a broken old post is found before it matters).
    let needed: BTreeSet<usize> = channels
        .iter()
        .flat_map(|c| c.posts.iter().copied())
        .collect();
    let out_dir = site.path(&config.feeds.dir);
    let renderer = Renderer::new(site)?;
    let dates = feed::entry_dates(&site.posts);
    let mut formats = config.feeds.formats.clone();
    formats.sort();
    formats.dedup();
    // Each post's entry is made once per format, as it renders, and
    // written into every feed that holds it.
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
            .map(|maker| maker.entry(&entry).map(Held::Memory))
            .collect()
    };
    let mut cache = options
        .cache
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
        needed: _,
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
    let in_place: HashMap<usize, Vec<Held>> = in_place.into_iter().collect();
    let folders = NewFolders::default();
    let mut notes = Notes::new(site.posts.len(), told);
    // Every feed file not already what this build would write: one format
    // of one channel, dated by its newest post.
    let mut jobs: Vec<Job> = Vec::new();
    for (c, channel) in channels.iter().enumerate() {
        let updated = channel.posts.iter().map(|&i| dates[i]).max();
        for (f, &format) in formats.iter().enumerate() {
            if !fresh[c][f] {
                jobs.push(Job::new(config, channel, c, f, format, updated)?);
            }
        }
    }
    let writing = Writing {
        site,
        renderer: &renderer,
        cache: cache.as_ref(),
        keep: &keep,
        channels: &channels,
        formats: &formats,
        in_place: &in_place,
        folders: &folders,
        dates: &dates,
        options,
        path_of: &path_of,
    };
    let mut made = writing.jobs(jobs, &BTreeSet::new(), &mut notes)?;
    // A post that broke (`--keep-going`) may have been its feed's newest,
    // whose date the feed's head already carries: that feed is made again
    // without the posts that broke.
    while !notes.stop(options.keep_going) {
        let redo: Vec<Job> = made
            .iter()
            .filter_map(|made| match *made {
                Made::Redated {
                    channel,
                    format,
                    updated,
                } => Some(Job::new(
                    config,
                    &channels[channel],
                    channel,
                    format,
                    formats[format],
                    updated,
                )),
                _ => None,
            })
            .collect::<std::io::Result<_>>()?;
        if redo.is_empty() {
            break;
        }
        made.retain(|made| !matches!(made, Made::Redated { .. }));
        let broken = notes.broken.clone();
        made.extend(writing.jobs(redo, &broken, &mut notes)?);
    }
    let rendered = notes.rendered;
    let left_out = notes.broken.len();
    let (mut warnings, mut problems) = notes.finish();
    if !problems.is_empty() {
        if !options.keep_going {
            return Err(Error::Posts {
                problems: Problems(problems),
                warnings,
            });
        }
        warnings.append(&mut problems);
    }

    // A feed with no entry has no date to give (Atom requires one): the
    // site feed is refused, and a tag's feed whose posts all broke is left
    // as it was.
    let site_has_entries = fresh[0].iter().any(|&fresh| fresh)
        || made
            .iter()
            .any(|made| matches!(made, Made::Written { channel: 0, .. }));
    if !site_has_entries {
        return Err(Error::Posts {
            problems: Problems(vec![Problem::file(
                site.shown(&site.path(&config.posts.dir)),
                "no post to publish, so no feed is written (an empty feed would have no date)",
            )]),
            warnings,
        });
    }
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
    // Entries copied from the site's feeds in place hold those files open:
    // closed before new files are renamed over them.
    drop(in_place);
    let mut paths = Vec::with_capacity(made.len());
    let mut staged = Vec::with_capacity(made.len());
    let mut placed = Vec::new();
    let mut written = 0;
    for made in made {
        match made {
            Made::Written {
                channel,
                format,
                posts,
                staged: file,
                spans,
            } => {
                written += 1;
                let path = path_of(&channels[channel], formats[format]);
                staged.extend(file);
                // Where the site's feeds hold each entry, for the next build to copy.
                if channel == 0 && cache.is_some() {
                    placed.push(Placed {
                        path: path.clone(),
                        format: formats[format],
                        spans: posts
                            .iter()
                            .zip(spans)
                            .map(|(&i, (offset, len))| (i, offset, len))
                            .collect(),
                    });
                }
                paths.push(path);
            }
            // Left as it was, and so not stale.
            Made::Empty { channel, format } => {
                paths.push(path_of(&channels[channel], formats[format]));
            }
            Made::Redated { .. } => unreachable!("made again above"),
        }
    }
    let files = written + unchanged.len();
    let changed = feed::write::commit(staged)?;
    folders.keep();
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
    let written: BTreeSet<&PathBuf> = paths.iter().chain(&unchanged).collect();
    let names = [
        &config.feeds.atom_file,
        &config.feeds.rss_file,
        &config.feeds.json_file,
    ];
    let mut removed = 0;
    for group in ["tags", "categories"] {
        removed += feed::write::remove_stale(&out_dir.join(group), &names, &written)?;
    }
    Ok(Report {
        posts: site.posts.len() - left_out,
        // Those that broke while loading never became posts.
        left_out: left_out + site.broken,
        rendered,
        feeds: channels.len(),
        files,
        changed,
        removed,
        out_dir: site.shown(&out_dir),
        written: true,
        warnings,
    })
}

/// One feed file being written: one format of one channel.
struct Job {
    channel: usize,
    /// Index into the build's formats.
    format: usize,
    /// The feed's date, in its head: its newest post's.
    updated: Option<DateTime<FixedOffset>>,
    stream: feed::Stream,
    /// Opened at the first entry.
    stage: Option<Stage>,
    /// How far into the channel's posts the batches have come.
    next: usize,
    /// The posts whose entries are written, in order.
    posts: Vec<usize>,
    made: Option<Made>,
}

/// What became of a job.
enum Made {
    Written {
        channel: usize,
        format: usize,
        posts: Vec<usize>,
        /// `None` when the file in place already holds these bytes.
        staged: Option<Staged>,
        /// Where each post's entry lies in the file.
        spans: Vec<(u64, usize)>,
    },
    /// Every post broke: the file in place is left as it was.
    Empty { channel: usize, format: usize },
    /// The newest post broke: to be made again with the date of the newest
    /// that did not.
    Redated {
        channel: usize,
        format: usize,
        updated: Option<DateTime<FixedOffset>>,
    },
}

impl Job {
    fn new(
        config: &crate::config::Config,
        channel: &feed::Channel<'_>,
        c: usize,
        f: usize,
        format: FeedFormat,
        updated: Option<DateTime<FixedOffset>>,
    ) -> std::io::Result<Job> {
        Ok(Job {
            channel: c,
            format: f,
            updated,
            stream: feed::Stream::new(config, channel, updated, format)?,
            stage: None,
            next: 0,
            posts: Vec::new(),
            made: None,
        })
    }
}

/// A rendered post's entries, for the jobs.
enum Got {
    Made(Vec<Held>),
    /// In the site's feed files in place (see [`Unchanged::in_place`]).
    InPlace,
    Broken,
}

/// What the jobs share.
struct Writing<'a, K> {
    site: &'a Site,
    renderer: &'a Renderer<'a>,
    cache: Option<&'a RenderCache>,
    keep: &'a K,
    channels: &'a [feed::Channel<'a>],
    formats: &'a [FeedFormat],
    in_place: &'a HashMap<usize, Vec<Held>>,
    folders: &'a NewFolders,
    dates: &'a [DateTime<FixedOffset>],
    options: Options,
    path_of: &'a (dyn Fn(&feed::Channel<'_>, FeedFormat) -> PathBuf + Sync),
}

impl<K> Writing<'_, K>
where
    K: Fn(usize, Content) -> std::io::Result<Vec<Held>> + Sync,
{
    /// Makes `jobs`, [`Options::files`] at a time, leaving out the posts in `skip`.
    fn jobs(&self, jobs: Vec<Job>, skip: &BTreeSet<usize>, notes: &mut Notes) -> Result<Vec<Made>> {
        let mut made = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let mut wave: Vec<Job> = jobs.by_ref().take(self.options.files.max(1)).collect();
            self.pass(&mut wave, skip, notes)?;
            made.extend(wave.into_iter().filter_map(|job| job.made));
        }
        Ok(made)
    }

    /// One pass over the posts of `jobs`, in order: each batch is rendered
    /// while the batch before is written into every feed that holds its posts.
    fn pass(&self, jobs: &mut [Job], skip: &BTreeSet<usize>, notes: &mut Notes) -> Result<()> {
        let posts: Vec<usize> = jobs
            .iter()
            .flat_map(|job| self.channels[job.channel].posts.iter().copied())
            .filter(|i| !skip.contains(i))
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect();
        let mut pending: Vec<(usize, Got)> = Vec::new();
        for batch in posts.chunks(self.options.batch.max(1)) {
            let stopped = notes.stop(self.options.keep_going);
            let (wrote, rendered) = rayon::join(
                || self.write(jobs, &pending, stopped),
                || self.render(batch),
            );
            wrote?;
            pending = rendered
                .into_iter()
                .map(|(i, outcome)| {
                    let got = match outcome.map(|outcome| notes.take(i, outcome)) {
                        None => Got::InPlace,
                        Some(Some(entries)) => Got::Made(entries),
                        Some(None) => Got::Broken,
                    };
                    (i, got)
                })
                .collect();
        }
        let stopped = notes.stop(self.options.keep_going);
        self.write(jobs, &pending, stopped)?;
        if !stopped {
            jobs.par_iter_mut().try_for_each(|job| self.finish(job))?;
        }
        Ok(())
    }

    /// Renders the batch's posts, or finds their entries in place.
    fn render(&self, batch: &[usize]) -> Vec<(usize, Option<Outcome<Vec<Held>>>)> {
        batch
            .par_iter()
            .map(|&i| {
                if self.in_place.contains_key(&i) {
                    return (i, None);
                }
                let outcome = render_one(self.site, self.renderer, self.cache, i, self.keep);
                (i, Some(outcome))
            })
            .collect()
    }

    /// Writes the batch's entries into every job that holds them.
    fn write(&self, jobs: &mut [Job], batch: &[(usize, Got)], stopped: bool) -> Result<()> {
        if batch.is_empty() || stopped {
            return Ok(());
        }
        jobs.par_iter_mut()
            .try_for_each(|job| self.write_one(job, batch))
    }

    fn write_one(&self, job: &mut Job, batch: &[(usize, Got)]) -> Result<()> {
        let posts = &self.channels[job.channel].posts;
        let mut held: Vec<&Held> = Vec::new();
        for (i, got) in batch {
            while job.next < posts.len() && posts[job.next] < *i {
                job.next += 1;
            }
            if job.next == posts.len() || posts[job.next] != *i {
                continue;
            }
            job.next += 1;
            let entries = match got {
                Got::Made(entries) => entries,
                Got::InPlace => &self.in_place[i],
                Got::Broken => continue,
            };
            held.push(&entries[job.format]);
            job.posts.push(*i);
        }
        if !held.is_empty() {
            let read: Vec<Cow<'_, [u8]>> = held
                .iter()
                .map(|held| held.read())
                .collect::<std::io::Result<_>>()?;
            let entries: Vec<&[u8]> = read.iter().map(|bytes| &bytes[..]).collect();
            if job.stage.is_none() {
                let path = (self.path_of)(&self.channels[job.channel], self.formats[job.format]);
                job.stage = Some(Stage::open(&path, self.folders)?);
            }
            let stage = job.stage.as_mut().expect("just opened");
            stage.write_pieces(&job.stream.push(&entries))?;
        }
        if job.next == posts.len() {
            self.finish(job)?;
        }
        Ok(())
    }

    /// Ends the job's file, once all its posts have gone by.
    fn finish(&self, job: &mut Job) -> Result<()> {
        if job.made.is_some() {
            return Ok(());
        }
        let (channel, format) = (job.channel, job.format);
        let updated = job.posts.iter().map(|&i| self.dates[i]).max();
        if job.posts.is_empty() || updated != job.updated {
            job.stage = None;
            job.made = Some(if job.posts.is_empty() {
                Made::Empty { channel, format }
            } else {
                Made::Redated {
                    channel,
                    format,
                    updated,
                }
            });
            return Ok(());
        }
        let mut out = Vec::new();
        let spans = job.stream.finish(&mut out);
        let mut stage = job.stage.take().expect("opened at the first entry");
        stage.write_pieces(&[&out])?;
        job.made = Some(Made::Written {
            channel,
            format,
            posts: std::mem::take(&mut job.posts),
            staged: stage.finish()?,
            spans,
        });
        Ok(())
    }
}

/// The warnings and problems of the posts, told in post order however the
/// posts were rendered; each post's once.
struct Notes {
    seen: Vec<bool>,
    warnings: Vec<(usize, Vec<Problem>)>,
    problems: Vec<(usize, Vec<Problem>)>,
    /// The posts that broke.
    broken: BTreeSet<usize>,
    /// Posts rendered without a problem.
    rendered: usize,
}

impl Notes {
    /// `told`: the warnings, by post, kept with posts this build does not render.
    fn new(posts: usize, told: Vec<(usize, Vec<Problem>)>) -> Notes {
        Notes {
            seen: vec![false; posts],
            warnings: told,
            problems: Vec::new(),
            broken: BTreeSet::new(),
            rendered: 0,
        }
    }

    /// What was kept of post `i`, unless it broke; its warnings or
    /// problems are noted the first time.
    fn take<T>(&mut self, i: usize, outcome: Outcome<T>) -> Option<T> {
        let first = !std::mem::replace(&mut self.seen[i], true);
        match outcome {
            Ok((kept, warnings)) => {
                if first {
                    self.rendered += 1;
                    self.warnings.push((i, warnings));
                }
                Some(kept)
            }
            Err(problems) => {
                if first {
                    self.problems.push((i, problems));
                }
                self.broken.insert(i);
                None
            }
        }
    }

    /// Whether writing stops: a post broke and the build will fail.
    fn stop(&self, keep_going: bool) -> bool {
        !keep_going && !self.broken.is_empty()
    }

    /// The warnings and the problems, in post order.
    fn finish(self) -> (Vec<Problem>, Vec<Problem>) {
        let in_order = |mut list: Vec<(usize, Vec<Problem>)>| {
            list.sort_by_key(|(i, _)| *i);
            list.into_iter().flat_map(|(_, list)| list).collect()
        };
        (in_order(self.warnings), in_order(self.problems))
    }
}

/// What was kept of a rendered post, with its warnings; or its problems.
type Outcome<T> = Result<(T, Vec<Problem>), Vec<Problem>>;

/// Renders post `i` (or takes it from `cache`) and hands it to `keep`.
fn render_one<T>(
    site: &Site,
    renderer: &Renderer<'_>,
    cache: Option<&RenderCache>,
    i: usize,
    keep: &impl Fn(usize, Content) -> std::io::Result<T>,
) -> Outcome<T> {
    let post = &site.posts[i];
    let rendered = match cache {
        Some(cache) => cache.render(renderer, i, post),
        None => renderer.render(post),
    };
    rendered.and_then(|Rendered { content, warnings }| {
        let kept = keep(i, content).map_err(|e| {
            vec![Problem::file(
                site.shown(&post.path),
                format!("could not keep the rendered post for the feeds: {e}"),
            )]
        })?;
        Ok((kept, warnings))
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
    let outcomes: Vec<(usize, Outcome<()>)> = (0..site.posts.len())
        .into_par_iter()
        .map(|i| (i, render_one(site, &renderer, None, i, &|_, _| Ok(()))))
        .collect();
    let mut notes = Notes::new(site.posts.len(), Vec::new());
    let contents: Vec<Option<()>> = outcomes
        .into_iter()
        .map(|(i, outcome)| notes.take(i, outcome))
        .collect();
    let (mut warnings, render_problems) = notes.finish();
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
