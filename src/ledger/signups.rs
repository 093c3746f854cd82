//! Signing up on the web (`herald serve`): pending subscribers, the
//! confirmation mails they are sent, and confirming or leaving by link.
//!
//! An inbox is sent at most one confirmation mail a day, whatever is
//! posted, and the site at most `cap` in any window of its length: the
//! `confirmations` table keeps the last one per inbox ([`inbox_of`]). It is checked and
//! written in one immediate transaction, so two signups for one address
//! racing each other cannot both mail. What the server answers does not
//! depend on any of this (the caller never shows it), so nobody learns who
//! is on the list.
//!
//! Pending subscribers who never confirm are deleted once their link has
//! expired: their address was typed by someone, perhaps not them.

use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Ledger, SUBSCRIBER_COLUMNS, Subscriber, SubscriberStatus, new_token, now};
use crate::error::Result;

/// How long an address waits between two confirmation mails.
pub const CONFIRMATION_INTERVAL: Span = Span::hours(24);

/// What a signup for one address comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signup {
    /// Send this subscriber a confirmation mail now (the slot is taken).
    Mail(Subscriber),
    /// Already active: nothing to send.
    Active,
    /// A confirmation mail went to the address less than a day ago.
    TooSoon,
    /// The site's cap on confirmation mails is reached.
    OverCap,
}

/// What confirming by link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// They are active from now on.
    Now,
    /// They were active already.
    Already,
    /// They left (or bounced) after this link was made: it no longer speaks for them.
    Stale,
}

/// A stored time from `at`.
fn stored(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Ledger {
    /// Records a signup for `email` (normalised) with an optional `name`, and
    /// says whether to send it a confirmation mail. At most `cap` mails go
    /// out in any `window`.
    pub fn sign_up(
        &mut self,
        email: &str,
        name: Option<&str>,
        cap: u32,
        window: Span,
    ) -> Result<Signup> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| super::db_error(&path, e))?;
        let outcome = sign_up_in(&tx, email, name, cap, window)
            .and_then(|outcome| tx.commit().map(|()| outcome))
            .map_err(|e| super::db_error(&path, e))?;
        match outcome {
            Some(Ok(subscriber)) => Ok(Signup::Mail(subscriber)),
            Some(Err(signup)) => Ok(signup),
            None => Err(crate::error::Error::Message(
                "no randomness for a subscriber token".into(),
            )),
        }
    }

    /// The mail could not be sent: the address may be sent one again.
    pub fn confirmation_not_sent(&self, email: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM confirmations WHERE email = ?1",
                params![inbox_of(email)],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// When the confirmation mails of the last `window` went, oldest first:
    /// `serve` starts its count of the site's cap from them.
    pub fn confirmations_since(&self, window: Span) -> Result<Vec<DateTime<Utc>>> {
        let since = stored(Utc::now() - window);
        let mut statement = self
            .conn
            .prepare("SELECT last_sent FROM confirmations WHERE last_sent > ?1 ORDER BY last_sent")
            .map_err(|e| self.error(e))?;
        let times: Vec<String> = statement
            .query_map(params![since], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.error(e))?;
        Ok(times
            .iter()
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .collect())
    }

    /// Makes the subscriber with this ledger token active, if the link
    /// (made at `issued`) still speaks for them.
    pub fn confirm(&self, token: &str, issued: DateTime<Utc>) -> Result<Option<Confirmed>> {
        let Some(subscriber) = self.subscriber_by_token(token)? else {
            return Ok(None);
        };
        let updated = self.updated_of(subscriber.id)?;
        let confirmed = match subscriber.status {
            SubscriberStatus::Active => Confirmed::Already,
            SubscriberStatus::Unsubscribed | SubscriberStatus::Bounced
                if updated.as_str() > stored(issued).as_str() =>
            {
                Confirmed::Stale
            }
            _ => {
                self.set_status(&subscriber.email, SubscriberStatus::Active)?;
                Confirmed::Now
            }
        };
        Ok(Some(confirmed))
    }

    /// Unsubscribes the subscriber with this ledger token (a pending one
    /// too); a bounced one stays bounced. False: no such subscriber.
    pub fn unsubscribe_by_token(&self, token: &str) -> Result<bool> {
        let Some(subscriber) = self.subscriber_by_token(token)? else {
            return Ok(false);
        };
        if matches!(
            subscriber.status,
            SubscriberStatus::Active | SubscriberStatus::Pending
        ) {
            self.set_status(&subscriber.email, SubscriberStatus::Unsubscribed)?;
        }
        Ok(true)
    }

    /// Deletes pending subscribers whose last confirmation mail is older
    /// than `age` (their link has expired), and the day-old bookkeeping of
    /// confirmation mails. Returns how many pending subscribers went.
    pub fn prune_signups(&self, age: Span) -> Result<usize> {
        let before = stored(Utc::now() - age);
        let day_ago = stored(Utc::now() - CONFIRMATION_INTERVAL);
        let removed = self
            .conn
            .execute(
                "DELETE FROM subscribers WHERE status = 'pending' AND updated < ?1
                   AND NOT EXISTS (SELECT 1 FROM deliveries WHERE subscriber = subscribers.id)",
                params![before],
            )
            .map_err(|e| self.error(e))?;
        self.conn
            .execute(
                "DELETE FROM confirmations WHERE last_sent < ?1",
                params![day_ago],
            )
            .map_err(|e| self.error(e))?;
        Ok(removed)
    }

    fn updated_of(&self, id: i64) -> Result<String> {
        self.conn
            .query_row(
                "SELECT updated FROM subscribers WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.error(e))
    }
}

/// The signup's checks and writes, inside the caller's transaction. `None`:
/// no token could be made.
/// The inbox a (normalised) address reaches, which the one-a-day limit
/// counts: without a `+tag` (nearly every provider delivers `ada+x@` to
/// `ada@`), and at Gmail without dots and with googlemail.com as gmail.com,
/// since Gmail ignores both. Counted per address, one inbox could be sent
/// a mail a day per spelling (`ada+1@`, `ada+2@`, `a.da@`, ...).
fn inbox_of(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email.to_string();
    };
    let local = local.split('+').next().unwrap_or(local);
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        _ => (local.to_string(), domain),
    };
    if local.is_empty() {
        return email.to_string();
    }
    format!("{local}@{domain}")
}

fn sign_up_in(
    tx: &rusqlite::Transaction<'_>,
    email: &str,
    name: Option<&str>,
    cap: u32,
    window: Span,
) -> rusqlite::Result<Option<std::result::Result<Subscriber, Signup>>> {
    let now_at = Utc::now();
    let existing = tx
        .query_row(
            &format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email = ?1"),
            params![email],
            super::subscriber_from_row,
        )
        .optional()?;
    if existing
        .as_ref()
        .is_some_and(|s| s.status == SubscriberStatus::Active)
    {
        return Ok(Some(Err(Signup::Active)));
    }
    let inbox = inbox_of(email);
    let last: Option<String> = tx
        .query_row(
            "SELECT last_sent FROM confirmations WHERE email = ?1",
            params![inbox],
            |r| r.get(0),
        )
        .optional()?;
    if last.is_some_and(|last| last > stored(now_at - CONFIRMATION_INTERVAL)) {
        return Ok(Some(Err(Signup::TooSoon)));
    }
    let recent: i64 = tx.query_row(
        "SELECT count(*) FROM confirmations WHERE last_sent > ?1",
        params![stored(now_at - window)],
        |r| r.get(0),
    )?;
    if recent >= i64::from(cap) {
        return Ok(Some(Err(Signup::OverCap)));
    }
    let now = now();
    let subscriber = match existing {
        // The pending row lives a link's lifetime from its last mail.
        Some(subscriber) => {
            if subscriber.status == SubscriberStatus::Pending {
                tx.execute(
                    "UPDATE subscribers SET updated = ?2 WHERE id = ?1",
                    params![subscriber.id, now],
                )?;
            }
            subscriber
        }
        None => {
            let Ok(token) = new_token() else {
                return Ok(None);
            };
            let name = name.map(str::trim).filter(|n| !n.is_empty());
            tx.execute(
                "INSERT INTO subscribers (email, name, status, token, created, updated, active_since)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?4, '')",
                params![email, name, token, now],
            )?;
            Subscriber {
                id: tx.last_insert_rowid(),
                email: email.to_string(),
                name: name.map(str::to_string),
                status: SubscriberStatus::Pending,
                token,
                created: now.clone(),
            }
        }
    };
    tx.execute(
        "INSERT INTO confirmations (email, last_sent) VALUES (?1, ?2)
         ON CONFLICT (email) DO UPDATE SET last_sent = excluded.last_sent",
        params![inbox, now],
    )?;
    Ok(Some(Ok(subscriber)))
}
