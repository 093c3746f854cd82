//! Which posts this run mails, decided before anything is sent.
//!
//! A post is new when it is published, not a draft, not `email: false`, not
//! in the future (the site leaves those out) and some active subscriber has
//! no delivery row for it. Two guards keep an archive from being mailed by
//! accident: on the first run (no post was ever mailed) more than one new
//! post is refused unless `--all` or `--post` says so; later, a post older
//! than the newest one already mailed is old news and is left out unless
//! named. Unknown deliveries (pending rows left by a crash) are counted
//! here, and reset only with `--resend-unknown`.

use std::collections::HashSet;

use crate::deliver::{Options, Report};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::post::Post;
use crate::site::Site;

/// Subscribers listed per ledger query in a dry run.
const PAGE: usize = 500;

pub struct Plan<'a> {
    /// Oldest first: subscribers get posts in the order they were published.
    pub posts: Vec<&'a Post>,
}

impl<'a> Plan<'a> {
    pub fn make(
        site: &'a Site,
        ledger: &mut Ledger,
        options: &Options,
        report: &mut Report,
    ) -> Result<Plan<'a>> {
        let mailable = mailable(site, options)?;
        for post in &mailable {
            let id = post.feed_id();
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
        if options.mark_sent {
            return Ok(Plan { posts: mailable });
        }
        let started: HashSet<String> = ledger.posts_with_deliveries()?.into_iter().collect();
        let newest_started = mailable
            .iter()
            .filter(|p| started.contains(p.feed_id()))
            .map(|p| p.date)
            .max();
        let named = options.all || options.post.is_some();
        let mut posts = Vec::new();
        let mut old = Vec::new();
        for post in mailable {
            if ledger.undelivered(post.feed_id(), 0, 1)?.is_empty() {
                continue;
            }
            let is_started = started.contains(post.feed_id());
            match newest_started {
                Some(newest) if !is_started && !named && post.date < newest => old.push(post),
                _ => posts.push(post),
            }
        }
        if !old.is_empty() {
            report.lines.push(format!(
                "{} older posts were never mailed and are left out (name one with --post SLUG, or --all)",
                old.len()
            ));
        }
        if newest_started.is_none() && posts.len() > 1 && !named {
            return Err(Error::Usage(first_run_refusal(&posts)));
        }
        posts.reverse();
        Ok(Plan { posts })
    }

    /// `--mark-sent`: every current post recorded as delivered to every active subscriber.
    pub fn mark_sent(self, ledger: &mut Ledger, mut report: Report) -> Result<Report> {
        let mut rows = 0;
        for post in &self.posts {
            rows += ledger.mark_post_sent(post.feed_id())?;
        }
        report.lines.push(format!(
            "recorded {} posts as sent ({rows} deliveries) without mailing; from now on `herald send` mails only new posts",
            self.posts.len()
        ));
        report.via = "nothing (--mark-sent)".into();
        Ok(report)
    }

    /// `--dry-run`: who would get which post; nothing sent, nothing recorded.
    pub fn dry_run(self, ledger: &Ledger, mut report: Report) -> Result<Report> {
        let mut total = 0;
        for post in &self.posts {
            report.lines.push(format!("{} ({})", post.title, post.slug));
            let mut after = 0;
            loop {
                let page = ledger.undelivered(post.feed_id(), after, PAGE)?;
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
        report.lines.push(format!(
            "dry run: {} posts, {total} emails would be sent; nothing was sent or recorded",
            self.posts.len()
        ));
        report.via = "nothing (--dry-run)".into();
        Ok(report)
    }
}

/// The posts that may be mailed at all: `--post`'s, else every one without `email: false`.
fn mailable<'a>(site: &'a Site, options: &Options) -> Result<Vec<&'a Post>> {
    let Some(name) = &options.post else {
        return Ok(site.posts.iter().filter(|p| p.email).collect());
    };
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
    Ok(vec![post])
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
