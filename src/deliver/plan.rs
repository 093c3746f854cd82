//! Which posts this run mails, decided before anything is sent.
//!
//! A post may be mailed when it is published, not a draft, not `email:
//! false`, not in the future (the site leaves those out). Which of those a
//! plain `send` mails is the list's memory (`ledger::posts`): a post is
//! *new* when the list first met it after the list started, whatever its
//! date; the posts already there when it started (the first send, or
//! `--mark-sent`) are the *archive*, mailed only with `--post` or `--all`.
//! A post whose mailing has started is always continued until everyone in
//! its audience has a row. On the first run more than one post is refused
//! unless `--all` or `--post` says which.
//!
//! A post keeps its identity across a file rename or a permalink change:
//! its front matter `id` when it has one, else a post the list knew that is
//! gone from the site and has the same date and title, or the same text.
//! When that match is not unique, `send` stops and asks. Two posts with one
//! id are an error. Unknown deliveries (rows left pending by a crash) are
//! counted here, and reset only with `--resend-unknown`.

use std::collections::{HashMap, HashSet};

use crate::deliver::{Options, Report};
use crate::email::message::fnv1a;
use crate::error::{Error, Result};
use crate::ledger::{KnownPost, Ledger, Sighting};
use crate::post::Post;
use crate::site::Site;

/// Subscribers listed per ledger query in a dry run.
const PAGE: usize = 500;

pub struct Plan<'a> {
    /// Oldest first: subscribers get posts in the order they were published.
    pub posts: Vec<&'a Post>,
    /// A renamed post's ledger id until this run records the rename (a dry run never does).
    earlier_ids: HashMap<String, String>,
}

impl<'a> Plan<'a> {
    pub fn make(
        site: &'a Site,
        ledger: &mut Ledger,
        options: &Options,
        report: &mut Report,
    ) -> Result<Plan<'a>> {
        refuse_shared_ids(site)?;
        let list = List::read(site, ledger)?;
        let mut plan = Plan {
            posts: chosen(site, &list, options)?,
            // Until this run records the renames, the ledger knows them by their old ids.
            earlier_ids: list
                .renames
                .iter()
                .map(|(old, p)| (p.feed_id().to_string(), old.clone()))
                .collect(),
        };
        plan.unknown(ledger, options, report)?;
        if !options.mark_sent {
            let posts = std::mem::take(&mut plan.posts);
            plan.posts = owed(ledger, posts, |p| plan.ledger_id(p).to_string())?;
            let named = options.all || options.post.is_some();
            if !list.started && plan.posts.len() > 1 && !named {
                return Err(Error::Usage(first_run_refusal(&plan.posts)));
            }
        }
        list.tell(site, &plan.posts, options, report);
        if !options.dry_run {
            let due: Vec<&str> = if options.mark_sent {
                Vec::new()
            } else {
                plan.posts.iter().map(|p| p.feed_id()).collect()
            };
            list.remember(site, ledger, &due)?;
            plan.earlier_ids.clear();
        }
        plan.posts.reverse();
        Ok(plan)
    }

    /// The post's key in the ledger for this run.
    fn ledger_id<'p>(&'p self, post: &'p Post) -> &'p str {
        self.earlier_ids
            .get(post.feed_id())
            .map_or(post.feed_id(), String::as_str)
    }

    /// Counts deliveries an earlier run left unknown; `--resend-unknown` frees them.
    fn unknown(&self, ledger: &mut Ledger, options: &Options, report: &mut Report) -> Result<()> {
        for post in &self.posts {
            let id = self.ledger_id(post);
            let unknown = ledger.unknown(Some(id))?.len();
            if unknown == 0 {
                continue;
            }
            if options.resend_unknown && !options.dry_run {
                ledger.reset_unknown(id)?;
                report.lines.push(format!(
                    "{}: sending again to {unknown} left unknown by an earlier run",
                    post.slug
                ));
            } else {
                report.earlier_unknown += unknown;
            }
        }
        Ok(())
    }

    /// `--mark-sent`: every chosen post recorded as delivered to every active subscriber.
    pub fn mark_sent(self, ledger: &mut Ledger, mut report: Report) -> Result<Report> {
        let mut rows = 0;
        for post in &self.posts {
            rows += ledger.mark_post_sent(post.feed_id())?;
        }
        report.summary = Some(format!(
            "recorded {} posts as sent ({rows} deliveries) without mailing; from now on `herald send` mails only posts that are new to the list",
            self.posts.len()
        ));
        Ok(report)
    }

    /// `--dry-run`: who would get which post; nothing sent, nothing recorded.
    pub fn dry_run(self, ledger: &Ledger, mut report: Report) -> Result<Report> {
        let mut total = 0;
        for post in &self.posts {
            report.lines.push(format!("{} ({})", post.title, post.slug));
            let mut after = 0;
            loop {
                let page = ledger.undelivered(self.ledger_id(post), after, PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                total += page.len();
                for subscriber in &page {
                    report
                        .lines
                        .push(format!("  would send to {}", subscriber.email));
                }
            }
        }
        if report.earlier_unknown > 0 {
            report.lines.push(format!(
                "{} deliveries were left unknown by an earlier run and would not be sent again (--resend-unknown sends them)",
                report.earlier_unknown
            ));
        }
        report.summary = Some(format!(
            "dry run: {} posts, {total} emails would be sent; nothing was sent or recorded",
            self.posts.len()
        ));
        Ok(report)
    }
}

/// What the ledger knows of this site's posts, this run.
struct List<'a> {
    /// By ledger id, with renamed posts already under their new id.
    known: HashMap<String, KnownPost>,
    /// Posts whose mailing has started, by (new) id.
    mailed: HashSet<String>,
    /// (old id, the post it is now).
    renames: Vec<(String, &'a Post)>,
    /// Some send has recorded posts (or started a mailing) before.
    started: bool,
    /// The ledger predates the list's memory: unseen posts are the archive.
    adopting: bool,
}

impl<'a> List<'a> {
    fn read(site: &'a Site, ledger: &Ledger) -> Result<List<'a>> {
        let mut known: HashMap<String, KnownPost> = ledger
            .known_posts()?
            .into_iter()
            .map(|k| (k.post.clone(), k))
            .collect();
        let mut mailed: HashSet<String> = ledger.posts_with_deliveries()?.into_iter().collect();
        let started = !known.is_empty() || !mailed.is_empty();
        let renames = renames(site, &known)?;
        for (old, post) in &renames {
            if let Some(k) = known.remove(old) {
                known.insert(post.feed_id().to_string(), k);
            }
            if mailed.remove(old) {
                mailed.insert(post.feed_id().to_string());
            }
        }
        Ok(List {
            known,
            mailed,
            renames,
            started,
            adopting: ledger.adopting()?,
        })
    }

    /// Whether a plain `send` mails this post (if anyone is still owed it).
    fn is_due(&self, post: &Post) -> bool {
        let id = post.feed_id();
        self.mailed.contains(id)
            || match self.known.get(id) {
                Some(known) => !known.archive,
                None => self.started && !self.adopting,
            }
    }

    /// Whether a post first met now is the archive.
    fn archive_when_first_seen(&self) -> bool {
        !self.started || self.adopting
    }

    /// Records renames and every mailable post (new ones as new or archive).
    fn remember(&self, site: &Site, ledger: &mut Ledger, due: &[&str]) -> Result<()> {
        let renames: Vec<(String, String)> = self
            .renames
            .iter()
            .map(|(old, post)| (old.clone(), post.feed_id().to_string()))
            .collect();
        let archive = self.archive_when_first_seen();
        let seen: Vec<(String, Sighting, bool)> = site
            .posts
            .iter()
            .filter(|p| p.email)
            .map(|p| (p.feed_id().to_string(), sighting(p), archive))
            .collect();
        ledger.remember(&renames, &seen, due)
    }

    /// Says, once, what this run decided about posts the author may not expect.
    fn tell(&self, site: &Site, chosen: &[&Post], options: &Options, report: &mut Report) {
        let would = if options.dry_run {
            "would carry"
        } else {
            "carries"
        };
        for (old, post) in &self.renames {
            report.lines.push(format!(
                "{} is the post the list knew as {old}: its mailing {would} over, nobody gets it twice",
                post.path.display()
            ));
        }
        let unseen = site
            .posts
            .iter()
            .filter(|p| p.email && !self.known.contains_key(p.feed_id()))
            .filter(|p| !chosen.iter().any(|c| c.feed_id() == p.feed_id()))
            .count();
        if unseen == 0 || options.mark_sent || !self.archive_when_first_seen() {
            return;
        }
        let why = if self.adopting {
            "herald now remembers which posts the list has seen:"
        } else {
            "the list starts now:"
        };
        report.lines.push(format!(
            "{why} {unseen} post(s) already on the site are its archive and are not mailed \
             (send one with --post SLUG, or all with --all); posts added from now on are"
        ));
    }
}

/// The posts this run may mail before checking who is owed them.
fn chosen<'a>(site: &'a Site, list: &List<'_>, options: &Options) -> Result<Vec<&'a Post>> {
    if let Some(name) = &options.post {
        return named(site, name).map(|post| vec![post]);
    }
    let mailable = site.posts.iter().filter(|p| p.email);
    Ok(if options.all || options.mark_sent || !list.started {
        mailable.collect()
    } else {
        mailable.filter(|p| list.is_due(p)).collect()
    })
}

/// `--post NAME`: a published post that may be mailed.
fn named<'a>(site: &'a Site, name: &str) -> Result<&'a Post> {
    let post = site.find_post(name).ok_or_else(|| {
        Error::Usage(format!(
            "--post {name}: no published post has that slug or file name (drafts and future posts are never mailed)"
        ))
    })?;
    if !post.email {
        return Err(Error::Usage(format!(
            "--post {name}: the post says `email: false`; remove that to mail it"
        )));
    }
    Ok(post)
}

/// Keeps the posts someone in their audience is still owed.
fn owed<'a>(
    ledger: &Ledger,
    posts: Vec<&'a Post>,
    id: impl Fn(&Post) -> String,
) -> Result<Vec<&'a Post>> {
    let mut owed = Vec::with_capacity(posts.len());
    for post in posts {
        if !ledger.undelivered(&id(post), 0, 1)?.is_empty() {
            owed.push(post);
        }
    }
    Ok(owed)
}

/// What the list remembers of a post, to know it again after a rename.
pub fn sighting(post: &Post) -> Sighting {
    // A file that cannot be read again now is rendered (and reported) later in
    // this run; here it only loses its digest, so a rename is matched by
    // date and title alone.
    let body = post.body().unwrap_or_default();
    let text = body.trim();
    Sighting {
        date: post.date.to_rfc3339(),
        title: post.title.clone(),
        digest: if text.is_empty() {
            String::new()
        } else {
            format!("{:016x}", fnv1a(text.as_bytes()))
        },
    }
}

/// Whether a post the list knew and a post it does not are one post.
fn same_post(old: &Sighting, new: &Sighting) -> bool {
    let by_date_and_title = !old.title.is_empty() && old.date == new.date && old.title == new.title;
    let by_text = !old.digest.is_empty() && old.digest == new.digest;
    by_date_and_title || by_text
}

/// Posts the list does not know by id that are a known post gone from the
/// site, renamed or moved. A match that is not one-to-one stops the run.
fn renames<'a>(
    site: &'a Site,
    known: &HashMap<String, KnownPost>,
) -> Result<Vec<(String, &'a Post)>> {
    let current: HashSet<&str> = site.posts.iter().map(Post::feed_id).collect();
    let gone: Vec<&KnownPost> = known
        .values()
        .filter(|k| !current.contains(k.post.as_str()))
        .collect();
    if gone.is_empty() {
        return Ok(Vec::new());
    }
    let mut claims: HashMap<&str, Vec<&'a Post>> = HashMap::new();
    let mut problems = Vec::new();
    for post in site
        .posts
        .iter()
        .filter(|p| p.email && !known.contains_key(p.feed_id()))
    {
        let seen = sighting(post);
        let matches: Vec<&str> = gone
            .iter()
            .filter(|k| same_post(&k.sighting, &seen))
            .map(|k| k.post.as_str())
            .collect();
        match matches.as_slice() {
            [] => {}
            [old] => claims.entry(old).or_default().push(post),
            many => problems.push(format!(
                "{} may be any of the posts the list knew as {}",
                post.path.display(),
                many.join(", ")
            )),
        }
    }
    let mut renames = Vec::new();
    for (old, posts) in claims {
        match posts.as_slice() {
            [post] => renames.push((old.to_string(), *post)),
            many => problems.push(format!(
                "{} may each be the post the list knew as {old}",
                many.iter()
                    .map(|p| p.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        }
    }
    if problems.is_empty() {
        renames.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(renames);
    }
    problems.sort();
    Err(Error::Usage(format!(
        "nothing was sent: herald cannot tell which post is which after a rename:\n  {}\n\
         Put `id: \"<the id it was known as>\"` in the front matter of the post that is the same one \
         (its deliveries carry over), and a new `id:` in a post that is really new",
        problems.join("\n  ")
    )))
}

/// Two posts with one id would share one ledger key: the second would never be mailed.
fn refuse_shared_ids(site: &Site) -> Result<()> {
    let mut first: HashMap<&str, &Post> = HashMap::new();
    let mut problems = Vec::new();
    for post in &site.posts {
        if let Some(other) = first.insert(post.feed_id(), post) {
            problems.push(format!(
                "{} and {} have the same id, {}",
                other.path.display(),
                post.path.display(),
                post.feed_id()
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "nothing was sent: {}.\nGive one of each pair its own `id:` (or `permalink:`) in its front matter",
        problems.join("; ")
    )))
}

fn first_run_refusal(posts: &[&Post]) -> String {
    let mut names: Vec<&str> = posts.iter().take(5).map(|p| p.slug.as_str()).collect();
    if posts.len() > 5 {
        names.push("...");
    }
    format!(
        "{} posts have never been emailed ({}); this looks like a first run on an existing blog.\n\
         Pass --mark-sent to record them all as sent without mailing (then only new posts go out),\n\
         --post SLUG to mail one of them, or --all to mail every one",
        posts.len(),
        names.join(", ")
    )
}
