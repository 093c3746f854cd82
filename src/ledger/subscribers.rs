//! The subscribers table: add, look up, change, remove, list, count.

use rusqlite::{OptionalExtension, params};

use super::{
    Ledger, Record, SUBSCRIBER_COLUMNS, Subscriber, SubscriberStatus, count, new_token, now,
    subscriber_from_row,
};
use crate::error::{Error, Result};

impl Ledger {
    /// Adds an active subscriber; the address must already be normalised
    /// (`subscribers::normalise`). An address already on the list, whatever
    /// its status, is refused.
    pub fn add_subscriber(&self, email: &str, name: Option<&str>) -> Result<Subscriber> {
        self.insert_subscriber(email, name, SubscriberStatus::Active)
    }

    /// Adds a subscriber with a status (imports carry unsubscribed and
    /// bounced addresses too, so they are never mailed).
    pub fn insert_subscriber(
        &self,
        email: &str,
        name: Option<&str>,
        status: SubscriberStatus,
    ) -> Result<Subscriber> {
        if let Some(existing) = self.subscriber(email)? {
            return Err(Error::Usage(match existing.status {
                SubscriberStatus::Active => format!("{email} is already subscribed"),
                other => format!("{email} is already on the list ({other})"),
            }));
        }
        let now = now();
        let token = new_token()?;
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        // Cached statements: an import runs these once per row.
        self.conn
            .prepare_cached(
                "INSERT INTO subscribers (email, name, status, token, created, updated, active_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)",
            )
            .and_then(|mut insert| insert.execute(params![email, name, status.as_str(), token, now]))
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
        self.subscriber_where("email", email)
    }

    /// The subscriber whose `column` (a unique one: `email`, `token`) is `value`.
    fn subscriber_where(&self, column: &str, value: &str) -> Result<Option<Subscriber>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE {column} = ?1"
            ))
            .and_then(|mut select| {
                select
                    .query_row(params![value], subscriber_from_row)
                    .optional()
            })
            .map_err(|e| self.error(e))
    }

    /// Unsubscribes an address. Their delivery rows stay, so `status` still
    /// counts what went out, and the address stays on the list as
    /// unsubscribed, so re-importing an old export cannot bring them back.
    /// Returns the status they had.
    pub fn remove_subscriber(&self, email: &str) -> Result<SubscriberStatus> {
        self.set_status(email, SubscriberStatus::Unsubscribed)
    }

    /// Deletes an address and its delivery rows: for a reader who asks to be
    /// forgotten. Posts already mailed keep their audience (`mailings`), so
    /// nobody else is owed anything because of it.
    pub fn forget_subscriber(&self, email: &str) -> Result<()> {
        let removed = self
            .conn
            .execute("DELETE FROM subscribers WHERE email = ?1", params![email])
            .map_err(|e| self.error(e))?;
        if removed == 0 {
            return Err(Error::Usage(format!("{email} is not a subscriber")));
        }
        Ok(())
    }

    /// Changes a subscriber's status and returns the one it replaced. Becoming
    /// active again starts their audience afresh: they get posts mailed from
    /// now on, not those that went out while they were away.
    pub fn set_status(&self, email: &str, status: SubscriberStatus) -> Result<SubscriberStatus> {
        let Some(before) = self.subscriber(email)? else {
            return Err(Error::Usage(format!("{email} is not a subscriber")));
        };
        if before.status == status {
            return Ok(status);
        }
        let now = now();
        self.conn
            .execute(
                "UPDATE subscribers SET status = ?2, updated = ?3,
                    active_since = CASE WHEN ?2 = 'active' THEN ?3 ELSE active_since END
                 WHERE id = ?1",
                params![before.id, status.as_str(), now],
            )
            .map_err(|e| self.error(e))?;
        Ok(before.status)
    }

    /// Every subscriber (or those with `status`), oldest first.
    pub fn subscribers(&self, status: Option<SubscriberStatus>) -> Result<Vec<Subscriber>> {
        let sql = match status {
            Some(_) => format!(
                "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE status = ?1 ORDER BY id"
            ),
            None => format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers ORDER BY id"),
        };
        let mut statement = self.conn.prepare(&sql).map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(
                rusqlite::params_from_iter(status.map(SubscriberStatus::as_str)),
                subscriber_from_row,
            )
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Subscriber counts by status, in one pass over the list.
    pub fn subscriber_counts(&self) -> Result<Vec<(SubscriberStatus, u64)>> {
        let mut statement = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM subscribers GROUP BY status")
            .map_err(|e| self.error(e))?;
        let found: Vec<(String, u64)> = statement
            .query_map([], |r| Ok((r.get(0)?, count(r, 1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.error(e))?;
        let counts = [
            SubscriberStatus::Active,
            SubscriberStatus::Pending,
            SubscriberStatus::Unsubscribed,
            SubscriberStatus::Bounced,
        ]
        .into_iter()
        .map(|status| {
            let n = found.iter().find(|(s, _)| s == status.as_str());
            (status, n.map_or(0, |(_, n)| *n))
        });
        Ok(counts.collect())
    }

    /// The subscriber whose unsubscribe token this is.
    pub fn subscriber_by_token(&self, token: &str) -> Result<Option<Subscriber>> {
        self.subscriber_where("token", token)
    }

    /// Sets (or clears) a subscriber's name.
    pub fn set_name(&self, email: &str, name: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE subscribers SET name = ?2, updated = ?3 WHERE email = ?1",
                params![email, name, now()],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Every subscriber with every column, oldest first: what `export`
    /// writes so that `import` can restore the list as it was.
    pub fn records(&self) -> Result<Vec<Record>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT email, name, status, token, created, updated, active_since
                 FROM subscribers ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                let status: String = row.get(2)?;
                Ok(Record {
                    email: row.get(0)?,
                    name: row.get(1)?,
                    status: status.parse().unwrap_or(SubscriberStatus::Unsubscribed),
                    token: row.get(3)?,
                    created: row.get(4)?,
                    updated: row.get(5)?,
                    active_since: row.get(6)?,
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))
    }

    /// Puts back a subscriber from herald's own export, token and dates as
    /// they were. An address or token already here is refused.
    pub fn restore(&self, record: &Record) -> Result<()> {
        if self.subscriber_by_token(&record.token)?.is_some() {
            return Err(Error::Usage(format!(
                "{}: token {} belongs to another subscriber here",
                record.email, record.token
            )));
        }
        self.conn
            .prepare_cached(
                "INSERT INTO subscribers (email, name, status, token, created, updated, active_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    record.email,
                    record.name,
                    record.status.as_str(),
                    record.token,
                    record.created,
                    record.updated,
                    record.active_since
                ])
            })
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}
