//! The posts the list has seen: what makes a post "new".
//!
//! A post is new to the list when `send` first meets it after the list
//! started, whatever its date. Posts already there when the list started
//! (the first send, or `--mark-sent`) are the archive, mailed only when
//! named. Dates cannot say this: three posts with one date, or posts made
//! in the same second, are neither older nor newer than each other.
//!
//! Each post is remembered with its date, title and a digest of its text,
//! so that a post whose file was renamed (or whose permalink changed) can
//! be recognised as one the list has already seen (`carry_over`), and its
//! deliveries follow it instead of everyone getting it again.

use rusqlite::params;

use super::{Ledger, PostStatus, count, now};
use crate::error::Result;

/// A post as the list remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPost {
    /// The post's mailing id (its ledger key).
    pub post: String,
    /// There when the list started: mailed only when named.
    pub archive: bool,
    pub sighting: Sighting,
}

/// What identifies a post besides its id: for recognising a renamed one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    /// RFC 3339.
    pub date: String,
    pub title: String,
    /// A digest of the post's text (empty when not known).
    pub digest: String,
}

impl Ledger {
    /// Every post the list has seen.
    pub fn known_posts(&self) -> Result<Vec<KnownPost>> {
        let mut statement = self
            .conn
            .prepare("SELECT post, archive, date, title, digest FROM known_posts")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(KnownPost {
                    post: row.get(0)?,
                    archive: row.get(1)?,
                    sighting: Sighting {
                        date: row.get(2)?,
                        title: row.get(3)?,
                        digest: row.get(4)?,
                    },
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Whether this ledger predates `known_posts` (schema step 4): its next
    /// send takes the posts it has not mailed as the archive.
    pub fn adopting(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM list_meta WHERE key = 'adopt')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.error(e))
    }

    /// Records one run's view of the posts, in one transaction: each
    /// `(old, new)` rename carries the old id's history over to the new id;
    /// then each post is remembered (`archive` applies only to a post seen
    /// for the first time) with its current date, title and digest; the
    /// posts this run mails are `due` (not archive): should the run stop
    /// before their mailing starts, the next plain `send` still mails them.
    pub fn remember(
        &mut self,
        renames: &[(String, String)],
        seen: &[(String, Sighting, bool)],
        due: &[&str],
    ) -> Result<()> {
        self.claim()?;
        let now = now();
        self.batch(|tx| {
            for (old, new) in renames {
                for table in ["known_posts", "mailings", "deliveries"] {
                    tx.execute(
                        &format!("UPDATE {table} SET post = ?2 WHERE post = ?1"),
                        params![old, new],
                    )?;
                }
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO known_posts (post, first_seen, archive, date, title, digest)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (post) DO UPDATE SET date = ?4, title = ?5, digest = ?6",
            )?;
            for (post, s, archive) in seen {
                upsert.execute(params![post, now, archive, s.date, s.title, s.digest])?;
            }
            let mut mark =
                tx.prepare_cached("UPDATE known_posts SET archive = 0 WHERE post = ?1")?;
            for post in due {
                mark.execute([post])?;
            }
            tx.execute("DELETE FROM list_meta WHERE key = 'adopt'", [])?;
            Ok(())
        })
    }

    /// Delivery counts of one post, for everyone or for some subscribers.
    pub fn deliveries_of(&self, post: &str, subscribers: Option<&[i64]>) -> Result<PostStatus> {
        let mut status = PostStatus {
            post: post.to_string(),
            ..PostStatus::default()
        };
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'pending'), 0),
                        COALESCE(SUM(state = 'failed'), 0)
                 FROM deliveries WHERE post = ?1 AND (?2 IS NULL OR subscriber = ?2)",
            )
            .map_err(|e| self.error(e))?;
        let ids: Vec<Option<i64>> = match subscribers {
            Some(ids) => ids.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        for id in ids {
            let (sent, pending, failed) = select
                .query_row(params![post, id], |r| {
                    Ok((count(r, 0)?, count(r, 1)?, count(r, 2)?))
                })
                .map_err(|e| self.error(e))?;
            status.sent += sent;
            status.pending += pending;
            status.failed += failed;
        }
        Ok(status)
    }

    /// `herald forget`: deletes a post's delivery rows (all of them, or
    /// these subscribers'), whatever their state, so `send` mails them
    /// again. Forgetting the whole mailing also makes the post new to the
    /// list again. Returns the rows deleted.
    pub fn forget_deliveries(&mut self, post: &str, subscribers: Option<&[i64]>) -> Result<usize> {
        self.claim()?;
        let mut deleted = 0;
        self.batch(|tx| {
            match subscribers {
                None => {
                    deleted = tx.execute("DELETE FROM deliveries WHERE post = ?1", [post])?;
                    tx.execute("DELETE FROM mailings WHERE post = ?1", [post])?;
                    tx.execute("UPDATE known_posts SET archive = 0 WHERE post = ?1", [post])?;
                }
                Some(ids) => {
                    let mut delete = tx.prepare_cached(
                        "DELETE FROM deliveries WHERE post = ?1 AND subscriber = ?2",
                    )?;
                    for id in ids {
                        deleted += delete.execute(params![post, id])?;
                    }
                    tx.execute("UPDATE mailings SET complete = 0 WHERE post = ?1", [post])?;
                }
            }
            Ok(())
        })?;
        Ok(deleted)
    }
}
