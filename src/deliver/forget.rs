//! `herald forget POST [ADDRESS...]`: the way back from a mailing that
//! should not count (sent through the wrong transport, to a test list, with
//! a broken template), so that `herald send` mails it again.
//!
//! It deletes the post's delivery rows, all of them or some addresses',
//! whatever their state (sent, failed, unknown). Forgetting a whole mailing
//! also makes the post new to the list again, so a plain `send` mails it to
//! everyone then subscribed. This module finds what would be forgotten and
//! does it; asking the author first is the binary's job.

use crate::error::{Error, Result};
use crate::ledger::{Ledger, PostStatus};
use crate::site::Site;

/// What one `forget` would delete.
#[derive(Debug)]
pub struct Forget {
    /// The ledger id of the post.
    pub post_id: String,
    /// The title, or the id of a post no longer on the site.
    pub name: String,
    /// `None`: every delivery of the post.
    pub subscribers: Option<Vec<(i64, String)>>,
    pub counts: PostStatus,
}

impl Forget {
    /// `post` is a slug or file name of a published post, or a ledger id
    /// (as `herald status` lists a post no longer on the site).
    pub fn new(site: &Site, ledger: &Ledger, post: &str, addresses: &[String]) -> Result<Forget> {
        let (post_id, name) = match site.find_post(post) {
            Some(found) => (found.feed_id().to_string(), format!("\"{}\"", found.title)),
            None if ledger.posts_with_deliveries()?.iter().any(|p| p == post) => {
                (post.to_string(), post.to_string())
            }
            None => {
                return Err(Error::Usage(format!(
                    "{post}: no published post has that slug or file name, and no mailing has that id (`herald status` lists them)"
                )));
            }
        };
        let subscribers = if addresses.is_empty() {
            None
        } else {
            Some(subscribers(ledger, addresses)?)
        };
        let ids: Option<Vec<i64>> = subscribers
            .as_ref()
            .map(|list| list.iter().map(|(id, _)| *id).collect());
        let counts = ledger.deliveries_of(&post_id, ids.as_deref())?;
        Ok(Forget {
            post_id,
            name,
            subscribers,
            counts,
        })
    }

    /// Rows that would go.
    pub fn rows(&self) -> u64 {
        self.counts.sent + self.counts.pending + self.counts.failed
    }

    /// What the author is asked before anything is deleted.
    pub fn question(&self) -> String {
        let whom = match &self.subscribers {
            None => "everyone".to_string(),
            Some(list) => list
                .iter()
                .map(|(_, email)| email.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let again = match &self.subscribers {
            None => "every active subscriber",
            Some(_) => "them",
        };
        format!(
            "Forget that {} was mailed to {whom} ({} sent, {} unknown, {} failed)? The next `herald send` mails it to {again} again.",
            self.name, self.counts.sent, self.counts.pending, self.counts.failed
        )
    }

    /// Deletes the rows; returns what to tell the author.
    pub fn apply(&self, ledger: &mut Ledger) -> Result<String> {
        let ids: Option<Vec<i64>> = self
            .subscribers
            .as_ref()
            .map(|list| list.iter().map(|(id, _)| *id).collect());
        let rows = ledger.forget_deliveries(&self.post_id, ids.as_deref())?;
        Ok(format!(
            "forgot {rows} deliveries of {}; `herald send` mails it again",
            self.name
        ))
    }
}

/// The subscribers with these addresses; an address not on the list is an error.
fn subscribers(ledger: &Ledger, addresses: &[String]) -> Result<Vec<(i64, String)>> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for address in addresses {
        let email = crate::subscribers::normalise(address).map_err(Error::Usage)?;
        match ledger.subscriber(&email)? {
            Some(s) => found.push((s.id, s.email)),
            None => missing.push(email),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(Error::Usage(format!(
            "not on the subscriber list: {}",
            missing.join(", ")
        )))
    }
}
