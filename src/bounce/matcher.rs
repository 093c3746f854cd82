//! Which reader (and which post) a report is about. In order of trust:
//!
//! 1. the VERP token in the address the report was sent to (or in the
//!    returned original's Return-Path): herald put it there for this one
//!    copy, and it survives forwarding and a reader's changed address;
//! 2. herald's Message-ID in the returned original: stable per post and
//!    reader (`herald.<post hash>.<address hash>@...`), so both are found
//!    from the hashes of the list's posts and addresses;
//! 3. the failed recipient's address, compared with the list.
//!
//! A herald message has one recipient, so a report matched by 1 or 2 is
//! about that one reader, whatever addresses it names (a forward may fail
//! at its far end). Only by address can one report name several readers.

use std::collections::HashMap;

use crate::email::message::{EnvelopeFrom, fnv1a, post_tag};
use crate::error::Result;
use crate::ledger::Ledger;

use super::report::{Failure, Report};
use super::status::Verdict;

/// A reader a report is about, and the failure that concerns them.
#[derive(Debug, Clone)]
pub struct Target {
    pub subscriber_id: i64,
    pub email: String,
    /// The post whose copy came back, when the report says.
    pub post: Option<String>,
    pub failure: Failure,
}

/// The list, indexed every way a report can name a reader.
pub struct Matcher {
    envelope_from: Option<EnvelopeFrom>,
    /// Subscriber token -> (id, email).
    by_token: HashMap<String, (i64, String)>,
    /// Lower-cased address -> id.
    by_email: HashMap<String, i64>,
    /// Message-ID address hash -> (id, email).
    by_address_hash: HashMap<u64, (i64, String)>,
    /// Message-ID post hash -> post id.
    by_post_hash: HashMap<u64, String>,
    /// VERP post tag -> post id.
    by_post_tag: HashMap<String, String>,
}

impl Matcher {
    /// Reads the list and the mailed posts once per run (not per report).
    pub fn new(ledger: &Ledger, envelope_from: Option<EnvelopeFrom>) -> Result<Matcher> {
        let mut matcher = Matcher {
            envelope_from,
            by_token: HashMap::new(),
            by_email: HashMap::new(),
            by_address_hash: HashMap::new(),
            by_post_hash: HashMap::new(),
            by_post_tag: HashMap::new(),
        };
        for s in ledger.subscribers(None)? {
            let lower = s.email.to_ascii_lowercase();
            matcher
                .by_token
                .insert(s.token.to_ascii_lowercase(), (s.id, s.email.clone()));
            matcher.by_email.insert(lower.clone(), s.id);
            matcher
                .by_address_hash
                .insert(fnv1a(lower.as_bytes()), (s.id, s.email));
        }
        for post in ledger.posts_with_deliveries()? {
            matcher
                .by_post_hash
                .insert(fnv1a(post.as_bytes()), post.clone());
            matcher.by_post_tag.insert(post_tag(&post), post);
        }
        Ok(matcher)
    }

    /// The readers `report` is about; empty when none is on the list.
    pub fn targets(&self, report: &Report) -> Vec<Target> {
        let one = self.by_verp(report).or_else(|| self.by_message_id(report));
        if let Some((subscriber_id, email, post)) = one {
            let Some(failure) = worst(&report.failures) else {
                return Vec::new();
            };
            return vec![Target {
                subscriber_id,
                email,
                post,
                failure,
            }];
        }
        // The post may still be known from a Message-ID whose reader hash
        // matches nobody (the reader changed address since).
        let post = report
            .message_ids
            .iter()
            .find_map(|id| self.by_post_hash.get(&hashes(id)?.0).cloned());
        report
            .failures
            .iter()
            .filter_map(|failure| {
                let (subscriber_id, email) = [&failure.original, &failure.recipient]
                    .into_iter()
                    .flatten()
                    .find_map(|address| self.by_address(address))?;
                Some(Target {
                    subscriber_id,
                    email,
                    post: post.clone(),
                    failure: failure.clone(),
                })
            })
            .collect()
    }

    fn by_verp(&self, report: &Report) -> Option<(i64, String, Option<String>)> {
        let verp = self.envelope_from.as_ref()?;
        report.envelope.iter().find_map(|address| {
            let token = verp.token_in(address)?;
            let (subscriber, tag) = match token.rsplit_once('-') {
                Some((subscriber, tag)) => (subscriber, Some(tag)),
                None => (token.as_str(), None),
            };
            let (id, email) = self.by_token.get(subscriber)?.clone();
            let post = tag.and_then(|t| self.by_post_tag.get(t).cloned());
            Some((id, email, post))
        })
    }

    fn by_message_id(&self, report: &Report) -> Option<(i64, String, Option<String>)> {
        report.message_ids.iter().find_map(|id| {
            let (post_hash, address_hash) = hashes(id)?;
            let (subscriber, email) = self.by_address_hash.get(&address_hash)?.clone();
            Some((
                subscriber,
                email,
                self.by_post_hash.get(&post_hash).cloned(),
            ))
        })
    }

    fn by_address(&self, address: &str) -> Option<(i64, String)> {
        let lower = address.trim().to_ascii_lowercase();
        let id = *self.by_email.get(&lower)?;
        Some((id, address.trim().to_string()))
    }
}

/// `herald.<post>.<address>` -> the two hashes.
fn hashes(id: &str) -> Option<(u64, u64)> {
    let mut parts = id.strip_prefix("herald.")?.split('.');
    let post = u64::from_str_radix(parts.next()?, 16).ok()?;
    let address = u64::from_str_radix(parts.next()?, 16).ok()?;
    Some((post, address))
}

/// The failure that matters most in a report about one reader: hard over
/// soft over one about the message (a DSN may list a forward's hops).
fn worst(failures: &[Failure]) -> Option<Failure> {
    let rank = |f: &Failure| match f.verdict {
        Verdict::Hard => 0,
        Verdict::Soft => 1,
        Verdict::Message => 2,
    };
    failures.iter().min_by_key(|f| rank(f)).cloned()
}
