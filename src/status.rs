//! `herald status`: per post, how many emails were sent, are in flight (a
//! send is running), are unknown (left pending by a send that stopped),
//! failed, or are still owed, how many readers' copies bounced (at send
//! time or in a report read by `herald bounces`) and how many reported it
//! as spam; and the list's size. A bounced copy may also count as sent:
//! the server took it and bounced it later.

use std::fmt;

use crate::error::Result;
use crate::ledger::{Holder, Ledger, PostStatus, SubscriberStatus};
use crate::site::Site;

pub struct Report {
    /// (title or id, counts), newest post first.
    pub posts: Vec<(String, PostStatus)>,
    pub subscribers: Vec<(SubscriberStatus, u64)>,
    /// Mailable posts never mailed.
    pub unmailed: usize,
    /// The send holding the ledger now, if one is running.
    pub sending: Option<Holder>,
}

pub fn report(site: &Site, ledger: &Ledger) -> Result<Report> {
    let sending = ledger.running_send()?;
    let since = sending.as_ref().and_then(|h| h.since.as_deref());
    let mut counts = ledger.status(since)?;
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
        sending,
    })
}

impl Report {
    /// Deliveries left pending by a send that is no longer running.
    pub fn unknown(&self) -> u64 {
        self.posts.iter().map(|(_, c)| c.pending).sum()
    }

    pub fn in_flight(&self) -> u64 {
        self.posts.iter().map(|(_, c)| c.in_flight).sum()
    }

    pub fn owed(&self) -> u64 {
        self.posts.iter().map(|(_, c)| c.owed).sum()
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
        } else {
            writeln!(
                f,
                "{:>7} {:>7} {:>9} {:>7} {:>7} {:>7} {:>10}  post",
                "sent", "owed", "in flight", "unknown", "failed", "bounced", "complained"
            )?;
        }
        for (title, c) in &self.posts {
            writeln!(
                f,
                "{:>7} {:>7} {:>9} {:>7} {:>7} {:>7} {:>10}  {}",
                c.sent,
                c.owed,
                c.in_flight,
                c.pending,
                c.failed,
                c.bounced,
                c.complained,
                crate::terminal::escape(title)
            )?;
        }
        if self.unmailed > 0 {
            writeln!(f, "{} post(s) never mailed", self.unmailed)?;
        }
        if let Some(holder) = &self.sending {
            writeln!(
                f,
                "a send is running now ({holder}): {} deliveries in flight (sent, waiting for the server's answer)",
                self.in_flight()
            )?;
        }
        let unknown = self.unknown();
        if unknown > 0 {
            writeln!(
                f,
                "{unknown} deliveries unknown: a send stopped after handing them to the server and before its answer, so they may or may not have arrived. \
                 They are not sent again unless you run `herald send --resend-unknown` (which may reach some readers twice)."
            )?;
        }
        let owed = self.owed();
        if owed > 0 && self.sending.is_none() {
            writeln!(f, "{owed} deliveries still owed: `herald send` sends them")?;
        }
        Ok(())
    }
}
