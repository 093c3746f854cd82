//! The deliveries and mailings tables: what is owed, pending, sent or
//! failed, per post and subscriber.

use rusqlite::{OptionalExtension, params};

use super::{
    Change, Ledger, Outcome, PostStatus, State, Subscriber, count, now, subscriber_at,
    subscriber_from_row,
};
use crate::error::Result;

impl Ledger {
    /// Active subscribers in this post's audience with no delivery row for
    /// it, in id order after `after_id`: a page at a time, so memory stays
    /// flat however long the list. The audience is everyone subscribed when
    /// the post's mailing started (everyone, before it starts): someone who
    /// subscribes, or comes back, later gets the next post, not this one.
    pub fn undelivered(
        &self,
        post_id: &str,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<Subscriber>> {
        if self.complete(post_id)? {
            return Ok(Vec::new());
        }
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.email, s.name, s.status, s.token, s.created FROM subscribers s
                 WHERE s.status = 'active' AND s.id > ?2
                   AND s.active_since <= COALESCE((SELECT started FROM mailings WHERE post = ?1), s.active_since)
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
        let page: Vec<Subscriber> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))?;
        if page.is_empty() && after_id == 0 {
            self.conn
                .execute(
                    "UPDATE mailings SET complete = 1 WHERE post = ?1",
                    params![post_id],
                )
                .map_err(|e| self.error(e))?;
        }
        Ok(page)
    }

    /// Whether this post's mailing is known to owe nobody (see schema step 3).
    pub(super) fn complete(&self, post_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT complete FROM mailings WHERE post = ?1")
            .and_then(|mut select| {
                select
                    .query_row(params![post_id], |r| r.get::<_, bool>(0))
                    .optional()
            })
            .map(|complete| complete.unwrap_or(false))
            .map_err(|e| self.error(e))
    }

    /// Starts the post's mailing (and so fixes its audience) if it has not
    /// started; takes the send lock first.
    pub fn start_mailing(&mut self, post_id: &str) -> Result<()> {
        self.claim()?;
        let now = now();
        self.batch(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO mailings (post, started) VALUES (?1, ?2)",
                params![post_id, now],
            )
            .map(drop)
        })
    }

    /// Applies these changes to one post's deliveries, in order, in one
    /// committed transaction (one fsync for the lot). A pending row is
    /// only ever made for a body about to be sent; an outcome settles a
    /// pending row (or makes one, for a refusal before the body), never
    /// one already settled; a release only deletes a pending row.
    pub fn write(&mut self, post_id: &str, changes: &[Change]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.claim()?;
        let now = now();
        let soft_bounce_limit = self.soft_bounce_limit;
        self.batch(|tx| {
            let mut pending = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (post, subscriber, state, updated) VALUES (?1, ?2, 'pending', ?3)",
            )?;
            // A refusal before the body (a 550 to RCPT) has no pending row: it is made.
            let mut settle = tx.prepare_cached(
                "INSERT INTO deliveries (post, subscriber, state, detail, message_id, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (post, subscriber) DO UPDATE SET state = excluded.state,
                    detail = excluded.detail, message_id = excluded.message_id, updated = excluded.updated
                 WHERE deliveries.state = 'pending'",
            )?;
            let mut release = tx.prepare_cached(
                "DELETE FROM deliveries WHERE post = ?1 AND subscriber = ?2 AND state = 'pending'",
            )?;
            let mut released = 0;
            for change in changes {
                match change {
                    Change::Pending(id) => {
                        pending.execute(params![post_id, id, now])?;
                    }
                    Change::Settled(outcome) => {
                        let state = match outcome.state {
                            State::Sent => "sent",
                            State::Failed => "failed",
                        };
                        settle.execute(params![
                            outcome.post_id,
                            outcome.subscriber_id,
                            state,
                            outcome.detail,
                            outcome.message_id,
                            now
                        ])?;
                    }
                    Change::Released(id) => released += release.execute(params![post_id, id])?,
                    Change::Bounced(bounce) => {
                        super::bounces::apply(tx, bounce, soft_bounce_limit)?;
                    }
                }
            }
            if released > 0 {
                tx.execute(
                    "UPDATE mailings SET complete = 0 WHERE post = ?1",
                    params![post_id],
                )?;
            }
            Ok(())
        })
    }

    /// Marks these deliveries pending (starting the mailing if needed), as
    /// a send does just before each body goes.
    pub fn mark_pending(&mut self, post_id: &str, subscriber_ids: &[i64]) -> Result<()> {
        self.start_mailing(post_id)?;
        let changes: Vec<Change> = subscriber_ids
            .iter()
            .map(|&id| Change::Pending(id))
            .collect();
        self.write(post_id, &changes)
    }

    /// Records many outcomes in one transaction.
    pub fn record(&mut self, outcomes: &[Outcome]) -> Result<()> {
        for post in outcomes.chunk_by(|a, b| a.post_id == b.post_id) {
            let changes: Vec<Change> = post.iter().cloned().map(Change::Settled).collect();
            self.write(&post[0].post_id, &changes)?;
        }
        Ok(())
    }

    /// Deletes rows still pending that never reached the server, so the
    /// next run sends them.
    pub fn release(&mut self, post_id: &str, subscriber_ids: &[i64]) -> Result<()> {
        let changes: Vec<Change> = subscriber_ids
            .iter()
            .map(|&id| Change::Released(id))
            .collect();
        self.write(post_id, &changes)
    }

    /// How many in the post's audience are still owed it: active, and no row yet.
    pub fn owed(&self, post_id: &str) -> Result<u64> {
        if self.complete(post_id)? {
            return Ok(0);
        }
        self.conn
            .prepare_cached(
                "SELECT COUNT(*) FROM subscribers s
                 WHERE s.status = 'active'
                   AND s.active_since <= COALESCE((SELECT started FROM mailings WHERE post = ?1), s.active_since)
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.post = ?1 AND d.subscriber = s.id)",
            )
            .and_then(|mut select| select.query_row(params![post_id], |r| count(r, 0)))
            .map_err(|e| self.error(e))
    }

    /// Deliveries left pending by an interrupted send (of one post, or all):
    /// the server may or may not have taken them.
    pub fn unknown(&self, post_id: Option<&str>) -> Result<Vec<(String, Subscriber)>> {
        // Two statements, not `(?1 IS NULL OR d.post = ?1)`: that form keeps
        // SQLite from using the index on post (schema step 5).
        let sql = match post_id {
            Some(_) => {
                "SELECT d.post, s.id, s.email, s.name, s.status, s.token, s.created
                 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber
                 WHERE d.state = 'pending' AND d.post = ?1
                 ORDER BY d.post, s.id"
            }
            None => {
                "SELECT d.post, s.id, s.email, s.name, s.status, s.token, s.created
                 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber
                 WHERE d.state = 'pending'
                 ORDER BY d.post, s.id"
            }
        };
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(post_id), |row| {
                Ok((row.get(0)?, subscriber_at(row, 1)?))
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// `--resend-unknown`: forgets this post's unknown rows so they are sent again.
    pub fn reset_unknown(&mut self, post_id: &str) -> Result<usize> {
        self.claim()?;
        let mut reset = 0;
        self.batch(|tx| {
            reset = tx.execute(
                "DELETE FROM deliveries WHERE post = ?1 AND state = 'pending'",
                params![post_id],
            )?;
            tx.execute(
                "UPDATE mailings SET complete = 0 WHERE post = ?1",
                params![post_id],
            )?;
            Ok(())
        })?;
        Ok(reset)
    }

    /// `--mark-sent`: records the post as delivered to every active
    /// subscriber without mailing; returns the rows added.
    pub fn mark_post_sent(&mut self, post_id: &str) -> Result<usize> {
        self.claim()?;
        let now = now();
        let mut rows = 0;
        self.batch(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO mailings (post, started) VALUES (?1, ?2)",
                params![post_id, now],
            )?;
            rows = tx.execute(
                "INSERT OR IGNORE INTO deliveries (post, subscriber, state, detail, updated)
                 SELECT ?1, id, 'sent', 'marked sent without mailing', ?2 FROM subscribers
                 WHERE status = 'active'
                   AND active_since <= (SELECT started FROM mailings WHERE post = ?1)",
                params![post_id, now],
            )?;
            tx.execute(
                "UPDATE mailings SET complete = 1 WHERE post = ?1",
                params![post_id],
            )?;
            Ok(())
        })?;
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

    /// Delivery counts per post, for every post ever mailed. Pending rows
    /// written since `in_flight_since` (the running send's start) are in
    /// flight; older ones are unknown.
    pub fn status(&self, in_flight_since: Option<&str>) -> Result<Vec<PostStatus>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT m.post,
                        COALESCE(SUM(d.state = 'sent'), 0),
                        COALESCE(SUM(d.state = 'pending' AND (?1 IS NULL OR d.updated < ?1)), 0),
                        COALESCE(SUM(d.state = 'pending' AND d.updated >= ?1), 0),
                        COALESCE(SUM(d.state = 'failed'), 0)
                 FROM mailings m LEFT JOIN deliveries d ON d.post = m.post
                 GROUP BY m.post ORDER BY m.started, m.post",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![in_flight_since], |row| {
                Ok(PostStatus {
                    post: row.get(0)?,
                    sent: count(row, 1)?,
                    pending: count(row, 2)?,
                    in_flight: count(row, 3)?,
                    failed: count(row, 4)?,
                    owed: 0,
                    bounced: 0,
                    complained: 0,
                })
            })
            .map_err(|e| self.error(e))?;
        let mut posts: Vec<PostStatus> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))?;
        for post in &mut posts {
            post.owed = self.owed(&post.post)?;
            (post.bounced, post.complained) = self.bounce_counts(&post.post)?;
        }
        Ok(posts)
    }
}
