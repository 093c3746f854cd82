//! The subscriber list as the user handles it: addresses checked and
//! normalised, CSV imports from Mailchimp, Buttondown and Substack (the
//! email column found by its name), CSV export. Storage is `ledger`'s.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Problem, Result};
use crate::ledger::{Ledger, SubscriberStatus};

/// Checks an address and gives its one stored spelling: trimmed, without
/// `mailto:` or angle brackets, lower case (mail providers treat the local
/// part without case, and two spellings must not be two subscribers).
pub fn normalise(address: &str) -> std::result::Result<String, String> {
    let trimmed = address.trim();
    let trimmed = trimmed.strip_prefix("mailto:").unwrap_or(trimmed);
    let trimmed = trimmed
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(trimmed)
        .trim();
    if trimmed.is_empty() {
        return Err("the address is empty".into());
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{trimmed:?} is not an email address: it contains spaces or control characters"
        ));
    }
    let lower = trimmed.to_lowercase();
    let parsed = lettre::Address::from_str(&lower)
        .map_err(|e| format!("{trimmed:?} is not an email address ({e})"))?;
    let domain = parsed.domain();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(format!(
            "{trimmed:?} is not an email address: no full domain after the @"
        ));
    }
    Ok(lower)
}

/// What `subscribers add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A new address.
    New(String),
    /// An address on the list as unsubscribed or bounced, active again: it
    /// gets posts mailed from now on, not those it missed.
    Again(String, SubscriberStatus),
}

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Added::New(email) => write!(f, "added {email}"),
            Added::Again(email, was) => {
                write!(f, "{email} was {was}; active again from the next post on")
            }
        }
    }
}

/// Adds one subscriber from the command line. Someone already active is
/// refused; someone unsubscribed or bounced is made active again, since
/// naming an address on the command line is a deliberate act (an import is
/// not: it never revives anyone).
pub fn add(ledger: &Ledger, email: &str, name: Option<&str>) -> Result<Added> {
    let email = normalise(email).map_err(Error::Usage)?;
    match ledger.subscriber(&email)? {
        Some(existing) if existing.status == SubscriberStatus::Active => {
            Err(Error::Usage(format!("{email} is already subscribed")))
        }
        Some(existing) => {
            ledger.set_status(&email, SubscriberStatus::Active)?;
            Ok(Added::Again(email, existing.status))
        }
        None => {
            ledger.add_subscriber(&email, name)?;
            Ok(Added::New(email))
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Added, by the status the export gave them.
    pub added: usize,
    pub added_unsubscribed: usize,
    pub added_bounced: usize,
    /// Already on the list and left as they were.
    pub duplicates: usize,
    /// Active here, but the export says they left or bounced: now so here too.
    pub stopped: usize,
    /// Never confirmed their subscription (double opt-in): not imported.
    pub unconfirmed: usize,
    /// Rows with no usable address or an unknown status.
    pub invalid: usize,
    /// One per row that was passed over, with its line.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} added", self.added)?;
        let inactive: Vec<String> = [
            (self.added_unsubscribed, "unsubscribed"),
            (self.added_bounced, "bounced"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !inactive.is_empty() {
            write!(f, " ({}, never mailed)", inactive.join(", "))?;
        }
        write!(
            f,
            ", {} already subscribed, {} invalid",
            self.duplicates, self.invalid
        )?;
        if self.stopped > 0 {
            write!(
                f,
                ", {} marked unsubscribed or bounced as the export says",
                self.stopped
            )?;
        }
        if self.unconfirmed > 0 {
            write!(f, ", {} never confirmed (left out)", self.unconfirmed)?;
        }
        Ok(())
    }
}

/// What an export says about one row's person.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Listed {
    Is(SubscriberStatus),
    /// Signed up but never confirmed: mailing them would be mailing someone
    /// who did not opt in.
    Unconfirmed,
    Unknown(String),
}

/// Status words of the exports herald knows, compared without case, with
/// spaces and dashes read as underscores. Mailchimp's API statuses,
/// Buttondown's subscriber types, and the plain words a hand-made list uses.
fn listed(word: &str) -> Listed {
    let word = word.trim().to_lowercase().replace([' ', '-'], "_");
    match word.as_str() {
        "" | "active" | "subscribed" | "subscriber" | "confirmed" | "regular" | "premium"
        | "paid" | "free" | "comp" | "gifted" | "trialed" | "trialing" | "churning"
        | "past_due" | "unpaid" => Listed::Is(SubscriberStatus::Active),
        "unsubscribed" | "unsubscribe" | "removed" | "deleted" | "archived" | "inactive"
        | "disabled" | "paused" | "spammy" | "complained" | "spam" | "blocked" | "blocklisted" => {
            Listed::Is(SubscriberStatus::Unsubscribed)
        }
        "bounced" | "bounce" | "cleaned" | "undeliverable" | "hard_bounce" => {
            Listed::Is(SubscriberStatus::Bounced)
        }
        "unactivated" | "unconfirmed" | "pending" | "transactional" => Listed::Unconfirmed,
        _ => Listed::Unknown(word),
    }
}

/// Which columns of an export hold what.
struct Columns {
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    status: Option<usize>,
    /// Substack: `email_disabled` true means they turned mail off.
    disabled: Option<usize>,
    /// Set for a whole file whose kind says it: Mailchimp exports each
    /// status to its own file, with no status column, but the unsubscribed
    /// one has `UNSUB_TIME` and the cleaned (bounced) one `CLEAN_TIME`.
    file_status: Option<SubscriberStatus>,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Option<Columns> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
            .collect();
        let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        let email = find(&[
            "email",
            "email address",
            "e-mail",
            "e-mail address",
            "email_address",
            "emailaddress",
            "subscriber email",
            "mail",
        ])
        .or_else(|| {
            names
                .iter()
                .position(|n| n.contains("email") && !n.contains("disabled"))
        })?;
        let file_status = if find(&["clean_time", "clean_campaign_id"]).is_some() {
            Some(SubscriberStatus::Bounced)
        } else if find(&["unsub_time", "unsub_campaign_id", "unsubscribed_at"]).is_some() {
            Some(SubscriberStatus::Unsubscribed)
        } else {
            None
        };
        Some(Columns {
            email,
            name: find(&["name", "full name", "full_name", "display name"]),
            first: find(&["first name", "first_name", "firstname", "fname"]),
            last: find(&["last name", "last_name", "lastname", "lname"]),
            status: find(&[
                "status",
                "subscriber_type",
                "subscriber type",
                "type",
                "member_status",
                "subscription status",
            ]),
            disabled: find(&["email_disabled"]),
            file_status,
        })
    }

    /// A file of bare addresses, one per line, without a header row.
    fn bare() -> Columns {
        Columns {
            email: 0,
            name: None,
            first: None,
            last: None,
            status: None,
            disabled: None,
            file_status: None,
        }
    }

    fn name(&self, record: &csv::StringRecord) -> Option<String> {
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        match (get(self.name), get(self.first), get(self.last)) {
            (Some(name), _, _) => Some(name.to_string()),
            (None, Some(first), Some(last)) => Some(format!("{first} {last}")),
            (None, Some(one), None) | (None, None, Some(one)) => Some(one.to_string()),
            (None, None, None) => None,
        }
    }

    fn listed(&self, record: &csv::StringRecord) -> Listed {
        if let Some(status) = self.file_status {
            return Listed::Is(status);
        }
        let word = self.status.and_then(|i| record.get(i)).unwrap_or_default();
        let listed = listed(word);
        let disabled = self
            .disabled
            .and_then(|i| record.get(i))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        match listed {
            Listed::Is(SubscriberStatus::Active) if disabled => {
                Listed::Is(SubscriberStatus::Unsubscribed)
            }
            other => other,
        }
    }
}

/// Imports a CSV export (`shown` is the path as the user wrote it, for
/// messages). Bad rows are reported with their line and passed over; the
/// rest go in one transaction, so an import is all there or not at all.
/// People the export says left or bounced are kept as such (never mailed,
/// and never revived by a later import); one active here whom the export
/// says left is marked so: an unsubscribe always wins.
pub fn import_csv(ledger: &mut Ledger, path: &Path, shown: &Path) -> Result<ImportReport> {
    let not_csv =
        |e: csv::Error| Error::Message(format!("{}: not a CSV file: {e}", shown.display()));
    // Read whole: a 100,000-row export is a few megabytes, and line numbers
    // come from the bytes (see `Lines`).
    let bytes = fs_err::read(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(not_csv)?.clone();
    let columns = match Columns::find(&headers) {
        Some(columns) => columns,
        // No header row, only addresses: read the first line as a record too.
        None if headers.len() == 1 && normalise(&headers[0]).is_ok() => {
            reader = csv::ReaderBuilder::new()
                .flexible(true)
                .has_headers(false)
                .from_reader(bytes.as_slice());
            Columns::bare()
        }
        None => {
            return Err(Error::Message(format!(
                "{}:1: no email column; the header row needs a column named like \"email\" or \"Email Address\" \
                 (or give a file of bare addresses, one per line)",
                shown.display()
            )));
        }
    };
    let mut lines = Lines::new(&bytes);
    ledger.in_transaction(|ledger| {
        let mut report = ImportReport::default();
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    let line = e.position().map(|p| lines.at(p.byte()));
                    report.invalid += 1;
                    report
                        .problems
                        .push(Problem::new(shown, line, format!("unreadable row: {e}")));
                    continue;
                }
            };
            if record.iter().all(|field| field.trim().is_empty()) {
                continue;
            }
            // The outer error (the database's) ends the import, rolled back;
            // the inner one is this row's problem, reported and passed over.
            if let Err(why) = import_row(ledger, &columns, &record, &mut report)? {
                let line = record.position().map(|p| lines.at(p.byte()));
                report.problems.push(Problem::new(shown, line, why));
            }
        }
        Ok(report)
    })
}

/// Line numbers from byte offsets. The csv crate's own line count runs one
/// behind after every CRLF-terminated record (a record's position there is
/// the `\n` of the previous line ending), and Mailchimp and Excel write CRLF.
/// Offsets only grow, so counting resumes where it stopped: linear overall.
struct Lines<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            counted_to: 0,
            line: 1,
        }
    }

    /// The 1-based line of the first character at or after `byte` that is not a line ending.
    fn at(&mut self, byte: u64) -> usize {
        let byte = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let start = self.bytes[byte..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(self.bytes.len(), |i| byte + i);
        if start > self.counted_to {
            self.line += self.bytes[self.counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.counted_to = start;
        }
        self.line
    }
}

/// One row into the ledger: the inner Err is the row's problem, for the report.
fn import_row(
    ledger: &Ledger,
    columns: &Columns,
    record: &csv::StringRecord,
    report: &mut ImportReport,
) -> Result<std::result::Result<(), String>> {
    let raw = record.get(columns.email).unwrap_or_default();
    let email = match normalise(raw) {
        Ok(email) => email,
        Err(why) => {
            report.invalid += 1;
            return Ok(Err(why));
        }
    };
    let status = match columns.listed(record) {
        Listed::Is(status) => status,
        Listed::Unconfirmed => {
            report.unconfirmed += 1;
            return Ok(Ok(()));
        }
        Listed::Unknown(word) => {
            report.invalid += 1;
            return Ok(Err(format!(
                "{email}: status {word:?} is not one herald knows (active, unsubscribed, bounced, \
                 or an export's own word for them); left out"
            )));
        }
    };
    match ledger.subscriber(&email)? {
        Some(existing)
            if existing.status == SubscriberStatus::Active
                && status != SubscriberStatus::Active =>
        {
            ledger.set_status(&email, status)?;
            report.stopped += 1;
        }
        Some(_) => report.duplicates += 1,
        None => {
            ledger.insert_subscriber(&email, columns.name(record).as_deref(), status)?;
            report.added += 1;
            match status {
                SubscriberStatus::Active => {}
                SubscriberStatus::Unsubscribed => report.added_unsubscribed += 1,
                SubscriberStatus::Bounced => report.added_bounced += 1,
            }
        }
    }
    Ok(Ok(()))
}

/// Writes every subscriber as CSV: email, name, status, created.
pub fn export_csv(ledger: &Ledger, out: impl Write) -> Result<usize> {
    let mut writer = csv::Writer::from_writer(out);
    let csv_error = |e: csv::Error| Error::Message(format!("writing CSV: {e}"));
    writer
        .write_record(["email", "name", "status", "created"])
        .map_err(csv_error)?;
    let subscribers = ledger.subscribers(None)?;
    for s in &subscribers {
        writer
            .write_record([
                s.email.as_str(),
                s.name.as_deref().unwrap_or(""),
                s.status.as_str(),
                s.created.as_str(),
            ])
            .map_err(csv_error)?;
    }
    writer.flush()?;
    Ok(subscribers.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_unwrapped_and_lower_cased() {
        assert_eq!(
            normalise("  <Ada@Example.ORG> ").unwrap(),
            "ada@example.org"
        );
        assert_eq!(
            normalise("mailto:bob@example.org").unwrap(),
            "bob@example.org"
        );
    }

    #[test]
    fn bad_addresses_say_why() {
        assert!(normalise("").unwrap_err().contains("empty"));
        assert!(
            normalise("ada")
                .unwrap_err()
                .contains("not an email address")
        );
        assert!(
            normalise("ada@localhost")
                .unwrap_err()
                .contains("full domain")
        );
        assert!(
            normalise("a da@example.org")
                .unwrap_err()
                .contains("spaces")
        );
        assert!(normalise("ada@example.org\r\nBcc: x@y.org").is_err());
    }

    #[test]
    fn lines_are_counted_the_same_with_crlf_lf_and_quoted_line_breaks() {
        for text in [
            "email,note\r\na@x.org,\"two\r\nlines\"\r\nb@x.org,\r\n\r\nc@x.org,\r\n",
            "email,note\na@x.org,\"two\nlines\"\nb@x.org,\n\nc@x.org,\n",
        ] {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let mut lines = Lines::new(text.as_bytes());
            let found: Vec<usize> = reader
                .records()
                .map(|r| lines.at(r.unwrap().position().unwrap().byte()))
                .collect();
            assert_eq!(found, [2, 4, 6], "{text:?}");
        }
    }

    #[test]
    fn export_status_words_map_to_herald_statuses_and_unknown_words_are_not_guessed() {
        assert_eq!(listed(""), Listed::Is(SubscriberStatus::Active));
        assert_eq!(listed("Premium"), Listed::Is(SubscriberStatus::Active));
        assert_eq!(listed("past-due"), Listed::Is(SubscriberStatus::Active));
        assert_eq!(
            listed("Unsubscribed"),
            Listed::Is(SubscriberStatus::Unsubscribed)
        );
        assert_eq!(listed("spammy"), Listed::Is(SubscriberStatus::Unsubscribed));
        assert_eq!(listed("cleaned"), Listed::Is(SubscriberStatus::Bounced));
        assert_eq!(listed("unactivated"), Listed::Unconfirmed);
        assert_eq!(listed("pending"), Listed::Unconfirmed);
        assert_eq!(listed("vip"), Listed::Unknown("vip".into()));
    }
}
