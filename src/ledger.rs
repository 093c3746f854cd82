//! The delivery ledger: one SQLite file (`email.state`, default
//! `.herald/herald.db`) holding the subscribers and one row per (post,
//! subscriber) delivery.
//!
//! The exactly-once rule lives here. A delivery row is written `pending` and
//! committed before the SMTP transaction starts, and becomes `sent` (after
//! the server's 250) or `failed` (after a 5xx) in batched transactions. A
//! row still `pending` when no send is running was left by a crash: the mail
//! may or may not have gone, so it is "unknown" and is not sent again unless
//! the user asks (`reset_unknown`). A row that never reached the server is
//! `release`d (deleted) so the next run sends it.
//!
//! A post's audience is fixed when its mailing starts: someone who
//! subscribes afterwards gets the next post, not the archive.
//!
//! Writes use WAL with `synchronous = FULL`: a committed `pending` row must
//! survive a power cut, or the guarantee is gone. Batching the outcome
//! commits keeps that cost small (see benches in the issue notes).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS subscribers (
    id      INTEGER PRIMARY KEY,
    email   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name    TEXT,
    status  TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced')),
    token   TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mailings (
    post    TEXT PRIMARY KEY,
    started TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    post       TEXT NOT NULL,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    detail     TEXT,
    message_id TEXT,
    updated    TEXT NOT NULL,
    PRIMARY KEY (post, subscriber)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_subscriber ON deliveries (subscriber);
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriberStatus {
    Active,
    Unsubscribed,
    Bounced,
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberStatus::Active => "active",
            SubscriberStatus::Unsubscribed => "unsubscribed",
            SubscriberStatus::Bounced => "bounced",
        }
    }
}

impl fmt::Display for SubscriberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubscriberStatus {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(SubscriberStatus::Active),
            "unsubscribed" => Ok(SubscriberStatus::Unsubscribed),
            "bounced" => Ok(SubscriberStatus::Bounced),
            _ => Err(Error::Usage(format!(
                "{text:?} is not a subscriber status; use active, unsubscribed or bounced"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub status: SubscriberStatus,
    /// Random, for personal unsubscribe links.
    pub token: String,
    /// RFC 3339, UTC.
    pub created: String,
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Sent,
    Failed,
}

/// One delivery's result, recorded in a batch.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub post_id: String,
    pub subscriber_id: i64,
    pub state: State,
    /// The server's reply.
    pub detail: String,
    pub message_id: Option<String>,
}

/// Delivery counts of one post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostStatus {
    pub post: String,
    pub sent: u64,
    /// Rows left pending: unknown, unless a send is running now.
    pub pending: u64,
    pub failed: u64,
}

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

/// Now, as stored: fixed-width RFC 3339 so text order is time order.
fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Message(format!("no randomness for an unsubscribe token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn subscriber_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Subscriber> {
    let status: String = row.get(3)?;
    Ok(Subscriber {
        id: row.get(0)?,
        email: row.get(1)?,
        name: row.get(2)?,
        status: status.parse().unwrap_or(SubscriberStatus::Active),
        token: row.get(4)?,
        created: row.get(5)?,
    })
}

const SUBSCRIBER_COLUMNS: &str = "id, email, name, status, token, created";

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent)?;
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let ledger = Ledger {
            conn,
            path: path.to_path_buf(),
        };
        ledger
            .conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| ledger.error(e))?;
        ledger
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| ledger.error(e))?;
        ledger.migrate()?;
        Ok(ledger)
    }

    fn migrate(&self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.error(e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Message(format!(
                "{}: written by a newer herald (schema {version}); upgrade herald",
                self.path.display()
            )));
        }
        if version < SCHEMA_VERSION {
            self.conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn error(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    /// Adds a subscriber; the address must already be normalised
    /// (`subscribers::normalise`). A duplicate is refused.
    pub fn add_subscriber(&self, email: &str, name: Option<&str>) -> Result<Subscriber> {
        self.insert_subscriber(email, name, SubscriberStatus::Active)
    }

    pub fn insert_subscriber(
        &self,
        email: &str,
        name: Option<&str>,
        status: SubscriberStatus,
    ) -> Result<Subscriber> {
        if self.subscriber(email)?.is_some() {
            return Err(Error::Usage(format!("{email} is already subscribed")));
        }
        let now = now();
        let token = new_token()?;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        self.conn
            .execute(
                "INSERT INTO subscribers (email, name, status, token, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![email, name, status.as_str(), token, now],
            )
            .map_err(|e| self.error(e))?;
        Ok(Subscriber {
            id: self.conn.last_insert_rowid(),
            email: email.to_string(),
            name: name.map(str::to_string),
            status,
            token,
            created: now,
        })
    }

    /// The subscriber with this address (compared without case).
    pub fn subscriber(&self, email: &str) -> Result<Option<Subscriber>> {
        self.conn
            .query_row(
                &format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email = ?1"),
                params![email],
                subscriber_from_row,
            )
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Deletes a subscriber and their delivery rows: their personal data goes.
    /// The post's audience was fixed when it was mailed, so removing someone
    /// never makes anyone else get a post again.
    pub fn remove_subscriber(&self, email: &str) -> Result<()> {
        let removed = self
            .conn
            .execute("DELETE FROM subscribers WHERE email = ?1", params![email])
            .map_err(|e| self.error(e))?;
        if removed == 0 {
            return Err(Error::Usage(format!("{email} is not a subscriber")));
        }
        Ok(())
    }

    pub fn set_status(&self, email: &str, status: SubscriberStatus) -> Result<()> {
        let changed = self
            .conn
            .execute(
                "UPDATE subscribers SET status = ?2, updated = ?3 WHERE email = ?1",
                params![email, status.as_str(), now()],
            )
            .map_err(|e| self.error(e))?;
        if changed == 0 {
            return Err(Error::Usage(format!("{email} is not a subscriber")));
        }
        Ok(())
    }

    /// Every subscriber (or those with `status`), oldest first.
    pub fn subscribers(&self, status: Option<SubscriberStatus>) -> Result<Vec<Subscriber>> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE ?1 IS NULL OR status = ?1 ORDER BY id"
            ))
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(
                params![status.map(SubscriberStatus::as_str)],
                subscriber_from_row,
            )
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Subscriber counts by status.
    pub fn subscriber_counts(&self) -> Result<Vec<(SubscriberStatus, u64)>> {
        let mut counts = Vec::new();
        for status in [
            SubscriberStatus::Active,
            SubscriberStatus::Unsubscribed,
            SubscriberStatus::Bounced,
        ] {
            let count: u64 = self
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM subscribers WHERE status = ?1",
                    params![status.as_str()],
                    |r| count(r, 0),
                )
                .map_err(|e| self.error(e))?;
            counts.push((status, count));
        }
        Ok(counts)
    }

    /// Active subscribers in this post's audience with no delivery row for
    /// it, in id order after `after_id`: a page at a time, so memory stays
    /// flat however long the list. The audience is everyone subscribed when
    /// the post's mailing started (everyone, before it starts).
    pub fn undelivered(
        &self,
        post_id: &str,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<Subscriber>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.email, s.name, s.status, s.token, s.created FROM subscribers s
                 WHERE s.status = 'active' AND s.id > ?2
                   AND s.created <= COALESCE((SELECT started FROM mailings WHERE post = ?1), s.created)
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.post = ?1 AND d.subscriber = s.id)
                 ORDER BY s.id LIMIT ?3",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(
                params![post_id, after_id, limit as i64],
                subscriber_from_row,
            )
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Marks these deliveries pending, in one committed transaction, before
    /// any of them is handed to the server. Starts the post's mailing (and
    /// so fixes its audience) the first time.
    pub fn mark_pending(&mut self, post_id: &str, subscriber_ids: &[i64]) -> Result<()> {
        let now = now();
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| db_error(&path, e))?;
        tx.execute(
            "INSERT OR IGNORE INTO mailings (post, started) VALUES (?1, ?2)",
            params![post_id, now],
        )
        .map_err(|e| db_error(&path, e))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO deliveries (post, subscriber, state, updated) VALUES (?1, ?2, 'pending', ?3)",
                )
                .map_err(|e| db_error(&path, e))?;
            for id in subscriber_ids {
                insert
                    .execute(params![post_id, id, now])
                    .map_err(|e| db_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| db_error(&path, e))
    }

    /// Records many outcomes in one transaction. Only pending rows change:
    /// an outcome never overwrites one already settled.
    pub fn record(&mut self, outcomes: &[Outcome]) -> Result<()> {
        let now = now();
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| db_error(&path, e))?;
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE deliveries SET state = ?3, detail = ?4, message_id = ?5, updated = ?6
                     WHERE post = ?1 AND subscriber = ?2 AND state = 'pending'",
                )
                .map_err(|e| db_error(&path, e))?;
            for outcome in outcomes {
                let state = match outcome.state {
                    State::Sent => "sent",
                    State::Failed => "failed",
                };
                update
                    .execute(params![
                        outcome.post_id,
                        outcome.subscriber_id,
                        state,
                        outcome.detail,
                        outcome.message_id,
                        now
                    ])
                    .map_err(|e| db_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| db_error(&path, e))
    }

    /// Deletes rows still pending that never reached the server, so the
    /// next run sends them.
    pub fn release(&mut self, post_id: &str, subscriber_ids: &[i64]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| db_error(&path, e))?;
        {
            let mut delete = tx
                .prepare_cached(
                    "DELETE FROM deliveries WHERE post = ?1 AND subscriber = ?2 AND state = 'pending'",
                )
                .map_err(|e| db_error(&path, e))?;
            for id in subscriber_ids {
                delete
                    .execute(params![post_id, id])
                    .map_err(|e| db_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| db_error(&path, e))
    }

    /// Deliveries left pending by an interrupted send (of one post, or all):
    /// the server may or may not have taken them.
    pub fn unknown(&self, post_id: Option<&str>) -> Result<Vec<(String, Subscriber)>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT d.post, s.id, s.email, s.name, s.status, s.token, s.created
                 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber
                 WHERE d.state = 'pending' AND (?1 IS NULL OR d.post = ?1)
                 ORDER BY d.post, s.id",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![post_id], |row| {
                let post: String = row.get(0)?;
                let status: String = row.get(4)?;
                Ok((
                    post,
                    Subscriber {
                        id: row.get(1)?,
                        email: row.get(2)?,
                        name: row.get(3)?,
                        status: status.parse().unwrap_or(SubscriberStatus::Active),
                        token: row.get(5)?,
                        created: row.get(6)?,
                    },
                ))
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// `--resend-unknown`: forgets this post's unknown rows so they are sent again.
    pub fn reset_unknown(&mut self, post_id: &str) -> Result<usize> {
        self.conn
            .execute(
                "DELETE FROM deliveries WHERE post = ?1 AND state = 'pending'",
                params![post_id],
            )
            .map_err(|e| self.error(e))
    }

    /// `--mark-sent`: records the post as delivered to every active
    /// subscriber without mailing; returns the rows added.
    pub fn mark_post_sent(&mut self, post_id: &str) -> Result<usize> {
        let now = now();
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| db_error(&path, e))?;
        tx.execute(
            "INSERT OR IGNORE INTO mailings (post, started) VALUES (?1, ?2)",
            params![post_id, now],
        )
        .map_err(|e| db_error(&path, e))?;
        let rows = tx
            .execute(
                "INSERT OR IGNORE INTO deliveries (post, subscriber, state, detail, updated)
                 SELECT ?1, id, 'sent', 'marked sent without mailing', ?2 FROM subscribers WHERE status = 'active'",
                params![post_id, now],
            )
            .map_err(|e| db_error(&path, e))?;
        tx.commit().map_err(|e| db_error(&path, e))?;
        Ok(rows)
    }

    /// Posts whose mailing has started (or that were marked sent).
    pub fn posts_with_deliveries(&self) -> Result<Vec<String>> {
        let mut statement = self
            .conn
            .prepare("SELECT post FROM mailings ORDER BY started, post")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |r| r.get(0))
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Delivery counts per post, for every post ever mailed.
    pub fn status(&self) -> Result<Vec<PostStatus>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT m.post,
                        COALESCE(SUM(d.state = 'sent'), 0),
                        COALESCE(SUM(d.state = 'pending'), 0),
                        COALESCE(SUM(d.state = 'failed'), 0)
                 FROM mailings m LEFT JOIN deliveries d ON d.post = m.post
                 GROUP BY m.post ORDER BY m.started, m.post",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(PostStatus {
                    post: row.get(0)?,
                    sent: count(row, 1)?,
                    pending: count(row, 2)?,
                    failed: count(row, 3)?,
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Failed deliveries of a post, with the server's reply.
    pub fn failures(&self, post_id: &str) -> Result<Vec<(String, String)>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT s.email, COALESCE(d.detail, '') FROM deliveries d JOIN subscribers s ON s.id = d.subscriber
                 WHERE d.post = ?1 AND d.state = 'failed' ORDER BY s.id",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![post_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Runs `f` inside one transaction: for bulk imports, one commit for all rows.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.error(e))?;
        match f(self) {
            Ok(value) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(|e| self.error(e))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// SQLite counts are signed; a count is never negative.
fn count(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Message(format!("{}: delivery ledger: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join(".herald/herald.db")).unwrap();
        (dir, ledger)
    }

    fn sent(post: &str, id: i64) -> Outcome {
        Outcome {
            post_id: post.into(),
            subscriber_id: id,
            state: State::Sent,
            detail: "250 ok".into(),
            message_id: None,
        }
    }

    #[test]
    fn duplicates_are_refused_without_regard_to_case() {
        let (_dir, ledger) = ledger();
        ledger
            .add_subscriber("ada@example.org", Some("Ada"))
            .unwrap();
        let err = ledger.add_subscriber("ADA@example.org", None).unwrap_err();
        assert!(err.to_string().contains("already subscribed"), "{err}");
    }

    #[test]
    fn tokens_are_random_and_distinct() {
        let (_dir, ledger) = ledger();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        let b = ledger.add_subscriber("b@example.org", None).unwrap();
        assert_eq!(a.token.len(), 32);
        assert_ne!(a.token, b.token);
    }

    #[test]
    fn a_delivery_goes_pending_then_sent_and_is_not_offered_again() {
        let (_dir, mut ledger) = ledger();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        let b = ledger.add_subscriber("b@example.org", None).unwrap();
        assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 2);
        ledger.mark_pending("p", &[a.id]).unwrap();
        let left: Vec<_> = ledger
            .undelivered("p", 0, 10)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, [b.id]);
        ledger.record(&[sent("p", a.id)]).unwrap();
        assert_eq!(ledger.status().unwrap()[0].sent, 1);
        assert!(ledger.unknown(None).unwrap().is_empty());
    }

    #[test]
    fn pending_rows_survive_a_crash_as_unknown_and_are_not_offered_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let id = {
            let mut ledger = Ledger::open(&path).unwrap();
            let a = ledger.add_subscriber("a@example.org", None).unwrap();
            ledger.mark_pending("p", &[a.id]).unwrap();
            a.id
            // Dropped without recording: as if the process died mid-send.
        };
        let mut ledger = Ledger::open(&path).unwrap();
        let unknown = ledger.unknown(Some("p")).unwrap();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].1.id, id);
        assert!(ledger.undelivered("p", 0, 10).unwrap().is_empty());
        assert_eq!(ledger.reset_unknown("p").unwrap(), 1);
        assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
    }

    #[test]
    fn released_rows_are_offered_again_and_settled_rows_never_change() {
        let (_dir, mut ledger) = ledger();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        ledger.mark_pending("p", &[a.id]).unwrap();
        ledger.release("p", &[a.id]).unwrap();
        assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
        ledger.mark_pending("p", &[a.id]).unwrap();
        ledger.record(&[sent("p", a.id)]).unwrap();
        ledger.release("p", &[a.id]).unwrap();
        let mut failed = sent("p", a.id);
        failed.state = State::Failed;
        ledger.record(&[failed]).unwrap();
        assert_eq!(ledger.status().unwrap()[0].sent, 1, "a sent row stays sent");
    }

    #[test]
    fn someone_who_subscribes_after_a_mailing_starts_gets_the_next_post_not_that_one() {
        let (_dir, mut ledger) = ledger();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        ledger.mark_pending("old", &[a.id]).unwrap();
        ledger.record(&[sent("old", a.id)]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let late = ledger.add_subscriber("late@example.org", None).unwrap();
        assert!(ledger.undelivered("old", 0, 10).unwrap().is_empty());
        let next: Vec<_> = ledger
            .undelivered("new", 0, 10)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(next, [a.id, late.id]);
    }

    #[test]
    fn mark_sent_covers_every_active_subscriber_once() {
        let (_dir, mut ledger) = ledger();
        ledger.add_subscriber("a@example.org", None).unwrap();
        ledger.add_subscriber("b@example.org", None).unwrap();
        ledger
            .set_status("b@example.org", SubscriberStatus::Bounced)
            .unwrap();
        assert_eq!(ledger.mark_post_sent("p").unwrap(), 1);
        assert_eq!(ledger.mark_post_sent("p").unwrap(), 0);
        assert_eq!(ledger.posts_with_deliveries().unwrap(), ["p"]);
    }

    #[test]
    fn removing_a_subscriber_removes_their_rows() {
        let (_dir, mut ledger) = ledger();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        ledger.mark_pending("p", &[a.id]).unwrap();
        ledger.remove_subscriber("a@example.org").unwrap();
        assert!(ledger.unknown(None).unwrap().is_empty());
        assert!(ledger.remove_subscriber("a@example.org").is_err());
    }

    #[test]
    fn a_ledger_from_a_newer_herald_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = Ledger::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer herald"), "{err}");
    }
}
