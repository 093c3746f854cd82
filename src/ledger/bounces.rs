//! The bounces table: one row per bounce or complaint, and what it does to
//! the reader.
//!
//! - hard: the reader is `bounced` at once;
//! - soft: counted per post; when each of the reader's last
//!   `soft_bounce_limit` posts soft-bounced, they are `bounced`. A soft
//!   failure at SMTP time (a 4xx that outlasted the retries) that a later
//!   run got through is "cleared": that post's delivery is `sent`, and it
//!   no longer counts;
//! - complaint: the reader is `unsubscribed` (they said so, through the
//!   spam button).
//!
//! A row's `key` says what made it: `smtp:<post>` for a refusal at send
//! time (one per post and reader, refreshed by each retry), or the report's
//! own identity (its Message-ID, else a hash of its bytes) for one read by
//! `herald bounces`. `UNIQUE (key, subscriber)` is what makes reading the
//! same mailbox twice count nothing twice.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Ledger, count, now};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceKind {
    Hard,
    Soft,
    Complaint,
}

impl BounceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
            BounceKind::Complaint => "complaint",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceSource {
    /// A refusal while sending.
    Smtp,
    /// A DSN or abuse report read by `herald bounces`.
    Report,
}

impl BounceSource {
    fn as_str(self) -> &'static str {
        match self {
            BounceSource::Smtp => "smtp",
            BounceSource::Report => "report",
        }
    }
}

/// One bounce or complaint about one reader.
#[derive(Debug, Clone)]
pub struct Bounce {
    pub subscriber_id: i64,
    /// The post whose copy bounced; `None` when the report does not say
    /// (then the latest post sent to the reader is taken).
    pub post: Option<String>,
    pub kind: BounceKind,
    pub source: BounceSource,
    /// The enhanced status code, "5.1.1".
    pub status: Option<String>,
    /// The server's words.
    pub detail: String,
    /// What makes it the same event twice (see the module doc).
    pub key: String,
}

/// What recording a bounce did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Recorded; the reader's status changed (bounced, or unsubscribed).
    Changed,
    /// Recorded; the reader stays as they were (a soft bounce under the limit,
    /// or a reader already off the list).
    Noted,
    /// This report was counted before.
    Already,
}

/// Why a reader is bounced (or unsubscribed by complaint): the latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub kind: String,
    pub status: Option<String>,
    pub detail: String,
    /// As stored (RFC 3339, UTC).
    pub at: String,
}

impl Ledger {
    /// Sets the number of consecutive soft-bounced posts that bounce a
    /// reader (`email.soft_bounce_limit`; 0: never).
    pub fn set_soft_bounce_limit(&mut self, limit: u32) {
        self.soft_bounce_limit = limit;
    }

    /// Records bounces read from reports, in order, in one transaction;
    /// says what each did. With `dry_run`, the transaction is rolled back:
    /// what each would do, and nothing changed.
    pub fn record_bounces(&mut self, bounces: &[Bounce], dry_run: bool) -> Result<Vec<Counted>> {
        let limit = self.soft_bounce_limit;
        let path = self.path.clone();
        let run = |conn: &mut rusqlite::Connection| -> rusqlite::Result<Vec<Counted>> {
            let tx = conn.transaction()?;
            let counted = bounces
                .iter()
                .map(|bounce| apply(&tx, bounce, limit))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if dry_run {
                tx.rollback()?;
            } else {
                tx.commit()?;
            }
            Ok(counted)
        };
        run(&mut self.conn).map_err(|e| super::db_error(&path, e))
    }

    /// (bounced, complained) readers of one post.
    pub(super) fn bounce_counts(&self, post_id: &str) -> Result<(u64, u64)> {
        self.conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT CASE WHEN b.kind != 'complaint' THEN b.subscriber END),
                        COUNT(DISTINCT CASE WHEN b.kind = 'complaint' THEN b.subscriber END)
                 FROM bounces b LEFT JOIN deliveries d ON d.post = b.post AND d.subscriber = b.subscriber
                 WHERE b.post = ?1 AND NOT (b.source = 'smtp' AND d.state IS 'sent')",
            )
            .and_then(|mut select| {
                select.query_row(params![post_id], |r| Ok((count(r, 0)?, count(r, 1)?)))
            })
            .map_err(|e| self.error(e))
    }

    /// The latest bounce or complaint of a reader: why they are off the list.
    pub fn bounce_reason(&self, subscriber_id: i64) -> Result<Option<Reason>> {
        self.conn
            .prepare_cached(
                "SELECT kind, status, detail, at FROM bounces WHERE subscriber = ?1
                 ORDER BY (kind = 'soft'), at DESC, id DESC LIMIT 1",
            )
            .and_then(|mut select| {
                select
                    .query_row(params![subscriber_id], |r| {
                        Ok(Reason {
                            kind: r.get(0)?,
                            status: r.get(1)?,
                            detail: r.get(2)?,
                            at: r.get(3)?,
                        })
                    })
                    .optional()
            })
            .map_err(|e| self.error(e))
    }

    /// The posts this reader has a delivery row for, newest mailing first.
    pub fn posts_of(&self, subscriber_id: i64) -> Result<Vec<String>> {
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT d.post FROM deliveries d LEFT JOIN mailings m ON m.post = d.post
                 WHERE d.subscriber = ?1 ORDER BY m.started DESC",
            )
            .map_err(|e| self.error(e))?;
        let rows = select
            .query_map(params![subscriber_id], |r| r.get(0))
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }
}

/// Records one bounce in `tx` and applies it to the reader.
pub(super) fn apply(
    tx: &Transaction<'_>,
    bounce: &Bounce,
    limit: u32,
) -> rusqlite::Result<Counted> {
    let post = match &bounce.post {
        Some(post) => Some(post.clone()),
        None => latest_sent(tx, bounce.subscriber_id)?,
    };
    let now = now();
    let inserted = match bounce.source {
        // Each retry of a send-time refusal refreshes the one row for that post.
        BounceSource::Smtp => tx
            .prepare_cached(
                "INSERT INTO bounces (subscriber, post, kind, source, status, detail, key, at)
                 VALUES (?1, ?2, ?3, 'smtp', ?4, ?5, ?6, ?7)
                 ON CONFLICT (key, subscriber) DO UPDATE SET kind = excluded.kind,
                    status = excluded.status, detail = excluded.detail, at = excluded.at",
            )?
            .execute(params![
                bounce.subscriber_id,
                post,
                bounce.kind.as_str(),
                bounce.status,
                bounce.detail,
                bounce.key,
                now
            ])?,
        BounceSource::Report => tx
            .prepare_cached(
                "INSERT OR IGNORE INTO bounces (subscriber, post, kind, source, status, detail, key, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                bounce.subscriber_id,
                post,
                bounce.kind.as_str(),
                bounce.source.as_str(),
                bounce.status,
                bounce.detail,
                bounce.key,
                now
            ])?,
    };
    if inserted == 0 {
        return Ok(Counted::Already);
    }
    let to = match bounce.kind {
        BounceKind::Hard => Some("bounced"),
        BounceKind::Complaint => Some("unsubscribed"),
        BounceKind::Soft if limit > 0 && soft_streak(tx, bounce.subscriber_id, limit)? => {
            Some("bounced")
        }
        BounceKind::Soft => None,
    };
    let Some(to) = to else {
        return Ok(Counted::Noted);
    };
    // Only an active reader changes: one unsubscribed stays so (a bounce is
    // no reason to mail them), one bounced is not "unsubscribed" by a
    // complaint about an old post.
    let changed = tx
        .prepare_cached(
            "UPDATE subscribers SET status = ?2, updated = ?3 WHERE id = ?1 AND status = 'active'",
        )?
        .execute(params![bounce.subscriber_id, to, now])?;
    Ok(if changed > 0 {
        Counted::Changed
    } else {
        Counted::Noted
    })
}

/// The latest post sent to a reader: what a report that names no post is
/// most likely about.
fn latest_sent(tx: &Transaction<'_>, subscriber_id: i64) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached(
        "SELECT d.post FROM deliveries d LEFT JOIN mailings m ON m.post = d.post
         WHERE d.subscriber = ?1 AND d.state = 'sent' ORDER BY m.started DESC LIMIT 1",
    )?
    .query_row(params![subscriber_id], |r| r.get(0))
    .optional()
}

/// Whether each of the reader's last `limit` posts (those they have a
/// delivery or a bounce for, by when the post's mailing started) bounced,
/// not counting a send-time soft failure that a later run got through.
fn soft_streak(tx: &Transaction<'_>, subscriber_id: i64, limit: u32) -> rusqlite::Result<bool> {
    let (posts, bounced): (i64, i64) = tx
        .prepare_cached(
            "WITH tried AS (
                 SELECT post FROM deliveries WHERE subscriber = ?1
                 UNION
                 SELECT post FROM bounces WHERE subscriber = ?1 AND post IS NOT NULL AND kind != 'complaint'
             ),
             recent AS (
                 SELECT t.post FROM tried t LEFT JOIN mailings m ON m.post = t.post
                 ORDER BY m.started DESC LIMIT ?2
             )
             SELECT COUNT(*), COALESCE(SUM(EXISTS (
                 SELECT 1 FROM bounces b
                 LEFT JOIN deliveries d ON d.post = b.post AND d.subscriber = b.subscriber
                 WHERE b.subscriber = ?1 AND b.post = r.post AND b.kind != 'complaint'
                   AND NOT (b.source = 'smtp' AND d.state IS 'sent')
             )), 0)
             FROM recent r",
        )?
        .query_row(params![subscriber_id, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(posts >= i64::from(limit) && bounced >= i64::from(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Change, Outcome, State, SubscriberStatus};

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join(".herald/herald.db")).unwrap();
        (dir, ledger)
    }

    fn report(subscriber_id: i64, post: &str, kind: BounceKind, key: &str) -> Bounce {
        Bounce {
            subscriber_id,
            post: Some(post.into()),
            kind,
            source: BounceSource::Report,
            status: None,
            detail: "550 5.1.1 no such user".into(),
            key: key.into(),
        }
    }

    /// Mails `post` to `subscriber_id`: the mailing starts, the copy is sent.
    fn mail(ledger: &mut Ledger, post: &str, subscriber_id: i64) {
        ledger.start_mailing(post).unwrap();
        let sent = Outcome {
            post_id: post.into(),
            subscriber_id,
            state: State::Sent,
            detail: "250 ok".into(),
            message_id: None,
        };
        ledger
            .write(
                post,
                &[Change::Pending(subscriber_id), Change::Settled(sent)],
            )
            .unwrap();
    }

    fn status(ledger: &Ledger, email: &str) -> SubscriberStatus {
        ledger.subscriber(email).unwrap().unwrap().status
    }

    #[test]
    fn a_report_read_twice_is_counted_once_and_a_dry_run_changes_nothing() {
        let (_dir, mut ledger) = ledger();
        let ada = ledger.add_subscriber("ada@example.org", None).unwrap();
        mail(&mut ledger, "p1", ada.id);
        let hard = report(ada.id, "p1", BounceKind::Hard, "id:<dsn-1@relay>");
        let dry = ledger
            .record_bounces(std::slice::from_ref(&hard), true)
            .unwrap();
        assert_eq!(dry, [Counted::Changed]);
        assert_eq!(status(&ledger, "ada@example.org"), SubscriberStatus::Active);
        assert_eq!(
            ledger
                .record_bounces(std::slice::from_ref(&hard), false)
                .unwrap(),
            [Counted::Changed]
        );
        assert_eq!(
            ledger.record_bounces(&[hard], false).unwrap(),
            [Counted::Already]
        );
        assert_eq!(
            status(&ledger, "ada@example.org"),
            SubscriberStatus::Bounced
        );
        let reason = ledger.bounce_reason(ada.id).unwrap().unwrap();
        assert_eq!(
            (reason.kind.as_str(), reason.detail.as_str()),
            ("hard", "550 5.1.1 no such user")
        );
        assert_eq!(ledger.bounce_counts("p1").unwrap(), (1, 0));
    }

    #[test]
    fn soft_bounces_bounce_a_reader_only_on_the_limit_th_post_in_a_row() {
        let (_dir, mut ledger) = ledger();
        ledger.set_soft_bounce_limit(2);
        let bob = ledger.add_subscriber("bob@example.org", None).unwrap();
        for (post, key) in [("p1", "a"), ("p2", "b")] {
            mail(&mut ledger, post, bob.id);
            let soft = report(bob.id, post, BounceKind::Soft, key);
            let counted = ledger.record_bounces(&[soft], false).unwrap();
            let want = if post == "p1" {
                Counted::Noted
            } else {
                Counted::Changed
            };
            assert_eq!(counted, [want], "{post}");
        }
        assert_eq!(
            status(&ledger, "bob@example.org"),
            SubscriberStatus::Bounced
        );
    }

    #[test]
    fn a_post_that_went_through_between_two_soft_bounces_breaks_the_run() {
        let (_dir, mut ledger) = ledger();
        ledger.set_soft_bounce_limit(2);
        let cy = ledger.add_subscriber("cy@example.org", None).unwrap();
        mail(&mut ledger, "p1", cy.id);
        ledger
            .record_bounces(&[report(cy.id, "p1", BounceKind::Soft, "a")], false)
            .unwrap();
        mail(&mut ledger, "p2", cy.id);
        mail(&mut ledger, "p3", cy.id);
        let counted = ledger
            .record_bounces(&[report(cy.id, "p3", BounceKind::Soft, "c")], false)
            .unwrap();
        assert_eq!(counted, [Counted::Noted]);
        assert_eq!(status(&ledger, "cy@example.org"), SubscriberStatus::Active);
    }

    #[test]
    fn a_complaint_unsubscribes_and_nothing_brings_an_unsubscribed_reader_back() {
        let (_dir, mut ledger) = ledger();
        let dee = ledger.add_subscriber("dee@example.org", None).unwrap();
        mail(&mut ledger, "p1", dee.id);
        let complaint = report(dee.id, "p1", BounceKind::Complaint, "id:<arf-1@yahoo>");
        assert_eq!(
            ledger.record_bounces(&[complaint], false).unwrap(),
            [Counted::Changed]
        );
        assert_eq!(
            status(&ledger, "dee@example.org"),
            SubscriberStatus::Unsubscribed
        );
        // A later hard bounce is recorded, but an unsubscribed reader stays unsubscribed.
        let hard = report(dee.id, "p1", BounceKind::Hard, "id:<dsn-2@relay>");
        assert_eq!(
            ledger.record_bounces(&[hard], false).unwrap(),
            [Counted::Noted]
        );
        assert_eq!(
            status(&ledger, "dee@example.org"),
            SubscriberStatus::Unsubscribed
        );
        assert_eq!(ledger.bounce_counts("p1").unwrap(), (1, 1));
    }
}
