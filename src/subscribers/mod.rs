//! The subscriber list as the user handles it: addresses checked and
//! normalised (`address`), CSV imports (`import`), adding one by hand,
//! finding one by address or token, CSV export. Storage is `ledger`'s.

use std::fmt;
use std::io::Write;

use crate::error::{Error, Result};
use crate::ledger::{Ledger, Subscriber, SubscriberStatus};

mod address;
mod import;

pub use address::{Mailbox, is_token, normalise, parse};
pub use import::{CHUNK, ImportReport, import_csv};

/// The subscriber an address or an unsubscribe token names.
pub fn find(ledger: &Ledger, who: &str) -> Result<Subscriber> {
    let who = who.trim();
    if is_token(who) {
        return ledger
            .subscriber_by_token(&who.to_ascii_lowercase())?
            .ok_or_else(|| Error::Usage(format!("no subscriber has the token {who}")));
    }
    let email = normalise(who).map_err(Error::Usage)?;
    ledger
        .subscriber(&email)?
        .ok_or_else(|| Error::Usage(format!("{email} is not a subscriber")))
}

/// What `subscribers add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A new address.
    New(String),
    /// An address on the list as unsubscribed, bounced or pending, active
    /// (again): it gets posts mailed from now on, not those it missed.
    Again(String, SubscriberStatus),
    /// Already subscribed; only the name changed.
    Renamed(String, String),
}

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Added::New(email) => write!(f, "added {email}"),
            Added::Again(email, SubscriberStatus::Pending) => {
                write!(
                    f,
                    "{email} was waiting to confirm; active from the next post on"
                )
            }
            Added::Again(email, was) => {
                write!(f, "{email} was {was}; active again from the next post on")
            }
            Added::Renamed(email, name) => {
                write!(f, "{email} is already subscribed; name changed to {name:?}")
            }
        }
    }
}

/// Adds one subscriber from the command line (`Zed <zed@example.com>`
/// gives the name when `name` does not). Someone already active is refused,
/// unless a new name is given: then only the name changes. Someone
/// unsubscribed or bounced is made active again, since naming an address on
/// the command line is a deliberate act (an import is not: it never revives
/// anyone); but an address that bounced, or whose reader reported the list
/// as spam, only with `force`: mailing it again hurts the list's reputation.
pub fn add(ledger: &Ledger, text: &str, name: Option<&str>, force: bool) -> Result<Added> {
    let mailbox = parse(text).map_err(Error::Usage)?;
    let email = mailbox.email;
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or(mailbox.name.as_deref());
    let Some(existing) = ledger.subscriber(&email)? else {
        ledger.add_subscriber(&email, name)?;
        return Ok(Added::New(email));
    };
    if !force && existing.status != SubscriberStatus::Active {
        refuse_revival(ledger, &existing)?;
    }
    let renamed = name.filter(|n| existing.name.as_deref() != Some(*n));
    if let Some(name) = renamed {
        ledger.set_name(&email, Some(name))?;
    }
    match (existing.status, renamed) {
        (SubscriberStatus::Active, Some(name)) => Ok(Added::Renamed(email, name.to_string())),
        (SubscriberStatus::Active, None) => Err(Error::Usage(format!(
            "{email} is already subscribed (pass a new --name to change the name)"
        ))),
        (was, _) => {
            ledger.set_status(&email, SubscriberStatus::Active)?;
            Ok(Added::Again(email, was))
        }
    }
}

/// Why a reader is off the list, for `subscribers list`: when, and the
/// server's words (or the complaint) — for one who bounced or complained.
pub fn why_off(ledger: &Ledger, subscriber: &Subscriber) -> Result<Option<String>> {
    if subscriber.status == SubscriberStatus::Active {
        return Ok(None);
    }
    let Some(reason) = ledger.bounce_reason(subscriber.id)? else {
        return Ok(None);
    };
    let bounced = subscriber.status == SubscriberStatus::Bounced && reason.kind != "complaint";
    let said = if bounced {
        format!("{} bounce: {}", reason.kind, reason.detail)
    } else if reason.kind == "complaint" {
        format!("complaint: {}", reason.detail)
    } else {
        return Ok(None);
    };
    Ok(Some(format!(
        "{}\t{said}",
        crate::ledger::shown_time(&reason.at)
    )))
}

/// Refuses to bring back a reader who bounced or complained, saying why.
fn refuse_revival(ledger: &Ledger, existing: &Subscriber) -> Result<()> {
    let reason = ledger.bounce_reason(existing.id)?;
    let why = match (&existing.status, &reason) {
        (SubscriberStatus::Bounced, Some(r)) => {
            format!(
                "bounced on {}: {}",
                crate::ledger::shown_time(&r.at),
                r.detail
            )
        }
        (SubscriberStatus::Bounced, None) => "is marked bounced".to_string(),
        (_, Some(r)) if r.kind == "complaint" => format!(
            "reported the list as spam on {}",
            crate::ledger::shown_time(&r.at)
        ),
        _ => return Ok(()),
    };
    Err(Error::Usage(format!(
        "{} {why}; mailing it again hurts the list's reputation with mail providers. \
         Pass --force to add it anyway",
        existing.email
    )))
}

/// The columns of `export`: everything `import` needs to restore the list.
const EXPORT_COLUMNS: [&str; 7] = [
    "email",
    "name",
    "status",
    "created",
    "updated",
    "active_since",
    "token",
];

/// Writes every subscriber as CSV with every column (`EXPORT_COLUMNS`):
/// importing the file into an empty ledger restores the list as it was,
/// tokens (so unsubscribe links keep working) and dates included.
pub fn export_csv(ledger: &Ledger, out: impl Write) -> Result<usize> {
    let mut writer = csv::Writer::from_writer(out);
    let csv_error = |e: csv::Error| Error::Message(format!("writing CSV: {e}"));
    writer.write_record(EXPORT_COLUMNS).map_err(csv_error)?;
    let records = ledger.records()?;
    for r in &records {
        writer
            .write_record([
                r.email.as_str(),
                r.name.as_deref().unwrap_or(""),
                r.status.as_str(),
                r.created.as_str(),
                r.updated.as_str(),
                r.active_since.as_str(),
                r.token.as_str(),
            ])
            .map_err(csv_error)?;
    }
    writer.flush()?;
    Ok(records.len())
}
