//! The delivery ledger: one SQLite file (`email.state`, default
//! `.herald/herald.db`) holding the subscribers and one row per (post,
//! subscriber) delivery.
//!
//! The exactly-once rule lives here. A subscriber waiting their turn has
//! no delivery row. The row is written `pending` and committed just before
//! the message body goes to the server ([`Change::Pending`]), and becomes
//! `sent` (after the server's 250) or `failed` (after a 5xx); these changes
//! are applied in order, many to a transaction. A row still `pending` when
//! no send is running was left by a crash: the body may have reached the
//! server, so it is "unknown" and is not sent again unless the user asks
//! (`reset_unknown`). A row whose message the server does not have (a 4xx,
//! a connection lost before the body) is `release`d (deleted) so the next
//! run sends it. A send keeps at most one row pending per connection, so a
//! crash leaves at most that many unknown. (Reserving rows a page at a
//! time, as herald first did, made a whole page unknown at a crash.)
//!
//! A post's audience is fixed when its mailing starts: who was active then
//! (`active_since`). Someone who subscribes, or comes back, afterwards gets
//! the next post, not that one or the archive.
//!
//! A send takes a lock file beside the database before it first changes
//! delivery state, and holds it until the `Ledger` is dropped: two sends on
//! one ledger, or `--resend-unknown` while another send is in flight, would
//! otherwise deliver someone twice. The file says who holds it and since
//! when, so a second send can name the first, and `status` can tell the
//! running send's pending rows (in flight) from older ones (unknown).
//!
//! Writes use WAL with `synchronous = FULL`: a committed `pending` row must
//! survive a power cut, or the guarantee is gone (`NORMAL` in WAL mode may
//! lose the last commits on power loss, and a lost `pending` row for a mail
//! already handed over is a double send later). Batching keeps the cost
//! small: `cargo bench --bench ledger` measured 0.53 ms per commit of 200
//! rows with FULL against 0.30 ms with NORMAL, about 1 µs per delivery.
//!
//! Names differ from the first sketch of this API in two places: the
//! outcome of a delivery is `State` (`Sent`/`Failed`; `pending` is a row
//! state only, never an outcome), and `release` exists for rows that never
//! reached the server. `remove_subscriber` unsubscribes and keeps history;
//! `forget_subscriber` deletes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

pub use bounces::{Bounce, BounceKind, BounceSource, Counted, Reason};
pub use posts::{KnownPost, Sighting};
pub use signups::{Confirmed, Signup};

mod bounces;
mod deliveries;
mod file;
mod posts;
mod signups;
mod subscribers;
#[cfg(test)]
mod tests;

/// The schema, one step per version: step `i` takes `user_version` from `i`
/// to `i + 1`. A fresh file runs them all; an older one runs what it lacks.
/// Steps are only ever appended, never edited.
const MIGRATIONS: &[&str] = &[
    // 1: subscribers, mailings (when each post's mailing started), deliveries.
    "CREATE TABLE subscribers (
        id      INTEGER PRIMARY KEY,
        email   TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name    TEXT,
        status  TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced')),
        token   TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE TABLE mailings (
        post    TEXT PRIMARY KEY,
        started TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        post       TEXT NOT NULL,
        subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        detail     TEXT,
        message_id TEXT,
        updated    TEXT NOT NULL,
        PRIMARY KEY (post, subscriber)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber);",
    // 2: when the subscriber last became active. A post's audience is who was
    // active when its mailing started; keyed on `created`, someone who
    // unsubscribed and came back would be owed every post mailed meanwhile.
    "ALTER TABLE subscribers ADD COLUMN active_since TEXT NOT NULL DEFAULT '';
    UPDATE subscribers SET active_since = created;",
    // 3: a mailing nobody is owed any more. A started mailing's audience only
    // shrinks (newcomers and returners come after `started`), so once a full
    // scan finds everyone has a row, only deleting rows (`release`,
    // `reset_unknown`) can change that. Spares `send` a scan of the whole
    // list for every post of an archive on every run.
    "ALTER TABLE mailings ADD COLUMN complete INTEGER NOT NULL DEFAULT 0;",
    // 4: the posts the list has seen (see `posts`). "New" is new to the
    // list, not newer than the last post mailed. A ledger from before this
    // step knows only its mailed posts: its next send takes every other
    // post then on the site as the archive (`list_meta.adopt`), never as new.
    "CREATE TABLE known_posts (
        post       TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        archive    INTEGER NOT NULL,
        date       TEXT NOT NULL DEFAULT '',
        title      TEXT NOT NULL DEFAULT '',
        digest     TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE list_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO known_posts (post, first_seen, archive) SELECT post, started, 0 FROM mailings;
    INSERT INTO list_meta (key, value) SELECT 'adopt', '1' WHERE EXISTS (SELECT 1 FROM mailings);",
    // 5: the ledger's own random id, which the history marker beside the file
    // names (see `file`): a restored or replaced file is told apart by it.
    "INSERT INTO list_meta (key, value) VALUES ('id', lower(hex(randomblob(16))));",
    // 6: the few pending rows, found without a scan of every delivery
    // (`unknown` ran one per post: 48 s at 300 posts x 10,000 readers).
    "CREATE INDEX deliveries_pending ON deliveries (post, subscriber) WHERE state = 'pending';",
    // 7: readers who signed up on the web and have not confirmed ('pending':
    // never mailed a post), and when each address was last sent a
    // confirmation mail (at most one a day; the site's hourly cap counts
    // them). A CHECK constraint cannot be altered in place, so the table is
    // rebuilt with every column, id and token kept; `migrate` runs steps with
    // foreign keys off, so dropping the old table cannot cascade into
    // `deliveries`, and checks them before each commit.
    "CREATE TABLE subscribers_new (
        id           INTEGER PRIMARY KEY,
        email        TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name         TEXT,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
        token        TEXT NOT NULL UNIQUE,
        created      TEXT NOT NULL,
        updated      TEXT NOT NULL,
        active_since TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO subscribers_new (id, email, name, status, token, created, updated, active_since)
        SELECT id, email, name, status, token, created, updated, active_since FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_new RENAME TO subscribers;
    CREATE TABLE confirmations (
        email     TEXT PRIMARY KEY COLLATE NOCASE,
        last_sent TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX confirmations_by_time ON confirmations (last_sent);",
    // 8: bounces and complaints (see `bounces`): one row per event, so a
    // reader's status can say why, `status` can count them per post, and a
    // report read twice is counted once (`key`).
    "CREATE TABLE bounces (
        id         INTEGER PRIMARY KEY,
        subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        post       TEXT,
        kind       TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
        source     TEXT NOT NULL CHECK (source IN ('smtp', 'report')),
        status     TEXT,
        detail     TEXT NOT NULL,
        key        TEXT NOT NULL,
        at         TEXT NOT NULL,
        UNIQUE (key, subscriber)
    );
    CREATE INDEX bounces_by_subscriber ON bounces (subscriber, post);
    CREATE INDEX bounces_by_post ON bounces (post);",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriberStatus {
    /// Signed up on the web, not confirmed yet: never mailed a post.
    Pending,
    Active,
    Unsubscribed,
    Bounced,
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberStatus::Pending => "pending",
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
            "pending" => Ok(SubscriberStatus::Pending),
            "active" => Ok(SubscriberStatus::Active),
            "unsubscribed" => Ok(SubscriberStatus::Unsubscribed),
            "bounced" => Ok(SubscriberStatus::Bounced),
            _ => Err(Error::Usage(format!(
                "{text:?} is not a subscriber status; use pending, active, unsubscribed or bounced"
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

/// Every column of a subscriber: what `export` writes and `import` restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub email: String,
    pub name: Option<String>,
    pub status: SubscriberStatus,
    pub token: String,
    /// RFC 3339, UTC, as stored.
    pub created: String,
    pub updated: String,
    /// When they last became active: a post's audience is who was active
    /// when its mailing started.
    pub active_since: String,
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

/// One change to a post's deliveries, applied in order in a batch.
#[derive(Debug, Clone)]
pub enum Change {
    /// The body is about to go: the row becomes pending (unknown if the run dies).
    Pending(i64),
    /// The server answered: the pending row becomes sent or failed.
    Settled(Outcome),
    /// The server does not have it: a pending row goes, so a later run sends it.
    Released(i64),
    /// The server's refusal says something about the reader's address.
    Bounced(Bounce),
}

/// Delivery counts of one post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostStatus {
    pub post: String,
    pub sent: u64,
    /// Pending rows left by a send that is no longer running: unknown.
    pub pending: u64,
    /// Pending rows of the send running now: on the wire.
    pub in_flight: u64,
    pub failed: u64,
    /// Active subscribers in the post's audience with no row yet.
    pub owed: u64,
    /// Readers whose copy bounced (hard, or soft and never cleared).
    pub bounced: u64,
    /// Readers who reported the post as spam.
    pub complained: u64,
}

/// The send holding the ledger: who and since when (from its lock file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    /// As stored (RFC 3339, UTC); pending rows written since are its own.
    pub since: Option<String>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.pid, &self.since) {
            (Some(pid), Some(since)) => write!(f, "pid {pid}, since {}", shown_time(since)),
            (Some(pid), None) => write!(f, "pid {pid}"),
            _ => write!(f, "pid unknown"),
        }
    }
}

/// "2026-11-24 13:05:09 UTC" from a stored time.
pub fn shown_time(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| stored.to_string())
}

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    /// The send lock, once this ledger has changed delivery state: held until
    /// the ledger is dropped (or the process dies; the OS lets go then).
    sending: Option<fs_err::File>,
    /// Consecutive soft-bounced posts that bounce a reader (`email.soft_bounce_limit`).
    soft_bounce_limit: u32,
}

/// Now, as stored: fixed-width RFC 3339 so text order is time order.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Message(format!("no randomness for an unsubscribe token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A subscriber from the columns `SUBSCRIBER_COLUMNS`, starting at `at`.
fn subscriber_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Subscriber> {
    let status: String = row.get(at + 3)?;
    // Never guess "active" for a value the schema's CHECK should have kept out.
    let status = status.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(at + 3, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(Subscriber {
        id: row.get(at)?,
        email: row.get(at + 1)?,
        name: row.get(at + 2)?,
        status,
        token: row.get(at + 4)?,
        created: row.get(at + 5)?,
    })
}

fn subscriber_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Subscriber> {
    subscriber_at(row, 0)
}

const SUBSCRIBER_COLUMNS: &str = "id, email, name, status, token, created";

impl Ledger {
    /// Brings the file's schema up to date. Each step runs in its own write
    /// transaction and re-reads the version inside it, so two herald
    /// processes opening a fresh file at once do not both create the tables,
    /// and a crash mid-upgrade leaves the last whole version.
    fn migrate(&mut self) -> Result<()> {
        if self.schema_version()? >= MIGRATIONS.len() as i64 {
            return self.check_not_newer();
        }
        // A step that rebuilds a table drops the old one: with foreign keys
        // on, that would delete every delivery row through ON DELETE
        // CASCADE. The pragma is a no-op inside a transaction, so it is set
        // around the steps, and each step checks the keys before it commits.
        self.conn
            .pragma_update(None, "foreign_keys", false)
            .map_err(|e| self.error(e))?;
        let migrated = self.run_steps();
        let restored = self.conn.pragma_update(None, "foreign_keys", true);
        migrated?;
        restored.map_err(|e| self.error(e))
    }

    fn check_not_newer(&self) -> Result<()> {
        let (version, latest) = (self.schema_version()?, MIGRATIONS.len() as i64);
        if version > latest {
            return Err(Error::Message(format!(
                "{}: written by a newer herald (schema {version}, this one knows {latest}); upgrade herald",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn run_steps(&mut self) -> Result<()> {
        let latest = MIGRATIONS.len() as i64;
        loop {
            let path = self.path.clone();
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db_error(&path, e))?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| db_error(&path, e))?;
            if version > latest {
                return Err(Error::Message(format!(
                    "{}: written by a newer herald (schema {version}, this one knows {latest}); upgrade herald",
                    path.display()
                )));
            }
            let Some(step) = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
            else {
                return Ok(());
            };
            tx.execute_batch(step).map_err(|e| db_error(&path, e))?;
            let broken: i64 = tx
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .map_err(|e| db_error(&path, e))?;
            if broken > 0 {
                return Err(Error::Message(format!(
                    "{}: upgrading the ledger to schema {} would leave {broken} rows pointing at nothing; nothing was changed",
                    path.display(),
                    version + 1
                )));
            }
            tx.pragma_update(None, "user_version", version + 1)
                .and_then(|()| tx.commit())
                .map_err(|e| db_error(&path, e))?;
        }
    }

    /// Takes the send lock before this ledger first changes delivery state,
    /// and keeps it. Two sends on one ledger could otherwise offer the same
    /// subscriber to both, or `--resend-unknown` in one could clear rows the
    /// other is still delivering: that is how a reader gets a post twice.
    /// `send` calls it first thing, so a second send stops before it looks
    /// at anything. The lock file says who holds it and since when.
    pub fn claim(&mut self) -> Result<()> {
        if self.sending.is_some() {
            return Ok(());
        }
        let lock = lock_path(&self.path);
        let mut file = crate::private::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock)?;
        match file.file().try_lock() {
            Ok(()) => {
                use std::io::Write;
                let holder = format!("{} {}\n", std::process::id(), now());
                file.set_len(0)?;
                file.write_all(holder.as_bytes())?;
                self.sending = Some(file);
                self.note_history()
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::SendRunning(format!(
                "another send is running ({}); wait for it to finish (`herald status` shows its progress)",
                holder(&lock)
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::Message(format!("{}: {e}", lock.display())))
            }
        }
    }

    /// The send holding the ledger now (another process, or this very
    /// ledger), if any: its pending rows are in flight, not unknown.
    pub fn running_send(&self) -> Result<Option<Holder>> {
        let lock = lock_path(&self.path);
        if self.sending.is_some() {
            return Ok(Some(holder(&lock)));
        }
        let file = match std::fs::File::open(&lock) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Message(format!("{}: {e}", lock.display()))),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => Ok(Some(holder(&lock))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::Message(format!("{}: {e}", lock.display())))
            }
        }
    }

    /// Whether a send holds the ledger now.
    pub fn send_running(&self) -> Result<bool> {
        Ok(self.running_send()?.is_some())
    }

    fn error(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    /// Runs `work` in one transaction and commits it: one fsync for the batch.
    /// The write lock is taken at the start (IMMEDIATE), waiting its turn:
    /// a deferred transaction that read first and then wrote while `serve`
    /// committed a signup in between would fail at once with "database is
    /// locked", which no waiting cures.
    fn batch(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        let path = self.path.clone();
        let run = |conn: &mut Connection| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            work(&tx)?;
            tx.commit()
        };
        run(&mut self.conn).map_err(|e| db_error(&path, e))
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

/// What the lock file says: "PID SINCE". Written just after the lock is
/// taken, so it may be empty for an instant.
fn holder(lock: &Path) -> Holder {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut words = text.split_whitespace();
    Holder {
        pid: words.next().and_then(|w| w.parse().ok()),
        since: words.next().map(str::to_string),
    }
}

/// SQLite counts are signed; a count is never negative.
fn count(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
}

/// The send lock sits beside the database (`herald.db.lock`), not on it:
/// SQLite's own locks on the database file must not be disturbed.
fn lock_path(db: &Path) -> PathBuf {
    file::sibling(db, ".lock")
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Message(format!("{}: delivery ledger: {e}", path.display()))
}
