//! `herald status`: per post, how many emails were sent, are unknown
//! (left pending by an interrupted send) or failed; and the list's size.

use std::fmt;

use crate::error::Result;
use crate::ledger::{Ledger, PostStatus, SubscriberStatus};
use crate::site::Site;

pub struct Report {
    /// (title or id, counts), newest post first.
    pub posts: Vec<(String, PostStatus)>,
    pub subscribers: Vec<(SubscriberStatus, u64)>,
    /// Mailable posts never mailed.
    pub unmailed: usize,
    /// A send holds the ledger now: its pending rows are in flight, not unknown.
    pub sending: bool,
}

pub fn report(site: &Site, ledger: &Ledger) -> Result<Report> {
    let mut counts = ledger.status()?;
    let mut posts = Vec::new();
    let mut unmailed = 0;
    for post in site.posts.iter().filter(|p| p.email) {
        match counts.iter().position(|c| c.post == post.feed_id()) {
            Some(i) => posts.push((post.title.clone(), counts.swap_remove(i))),
            None => unmailed += 1,
        }
    }
    // Mailed posts that are no longer on the site (renamed, deleted) still count.
    posts.extend(counts.into_iter().rev().map(|c| (c.post.clone(), c)));
    Ok(Report {
        posts,
        subscribers: ledger.subscriber_counts()?,
        unmailed,
        sending: ledger.send_running()?,
    })
}

impl Report {
    pub fn unknown(&self) -> u64 {
        self.posts.iter().map(|(_, c)| c.pending).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subscribers: Vec<String> = self
            .subscribers
            .iter()
            .map(|(status, count)| format!("{count} {status}"))
            .collect();
        writeln!(f, "subscribers: {}", subscribers.join(", "))?;
        if self.posts.is_empty() {
            writeln!(f, "no post has been mailed yet")?;
        }
        for (title, c) in &self.posts {
            writeln!(
                f,
                "{:>6} sent {:>6} unknown {:>6} failed  {}",
                c.sent,
                c.pending,
                c.failed,
                crate::terminal::escape(title)
            )?;
        }
        if self.unmailed > 0 {
            writeln!(f, "{} post(s) never mailed", self.unmailed)?;
        }
        let unknown = self.unknown();
        if unknown > 0 && self.sending {
            write!(
                f,
                "a send is running now: {unknown} deliveries are in flight (pending until the server answers)"
            )?;
        } else if unknown > 0 {
            write!(
                f,
                "{unknown} deliveries left pending by an interrupted send: the server may or may not have taken them. \
                 They are not sent again unless you run `herald send --resend-unknown` (which may reach some readers twice)."
            )?;
        }
        Ok(())
    }
}
