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

/// Adds one subscriber from the command line.
pub fn add(ledger: &Ledger, email: &str, name: Option<&str>) -> Result<String> {
    let email = normalise(email).map_err(Error::Usage)?;
    ledger.add_subscriber(&email, name)?;
    Ok(email)
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub added: usize,
    pub duplicates: usize,
    pub invalid: usize,
    /// One per row that was passed over, with its line.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} already subscribed, {} invalid",
            self.added, self.duplicates, self.invalid
        )
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
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Option<Columns> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
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
        ])
        .or_else(|| {
            names
                .iter()
                .position(|n| n.contains("email") && !n.contains("disabled"))
        })?;
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
            ]),
            disabled: find(&["email_disabled"]),
        })
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

    fn status(&self, record: &csv::StringRecord) -> SubscriberStatus {
        let disabled = self
            .disabled
            .and_then(|i| record.get(i))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let status = self
            .status
            .and_then(|i| record.get(i))
            .unwrap_or_default()
            .to_ascii_lowercase();
        if status.contains("bounce") || status.contains("clean") || status.contains("undeliverable")
        {
            SubscriberStatus::Bounced
        } else if disabled || status.contains("unsub") || status.contains("removed") {
            SubscriberStatus::Unsubscribed
        } else {
            SubscriberStatus::Active
        }
    }
}

/// Imports a CSV export. Bad rows are reported with their line and passed
/// over; the good ones are added in one transaction.
pub fn import_csv(ledger: &mut Ledger, path: &Path, shown: &Path) -> Result<ImportReport> {
    let file = fs_err::File::open(path)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| Error::Usage(format!("{}: not a CSV file: {e}", shown.display())))?
        .clone();
    let columns = Columns::find(&headers).ok_or_else(|| {
        Error::Usage(format!(
            "{}:1: no email column; the header row needs a column named like \"email\" or \"Email Address\"",
            shown.display()
        ))
    })?;
    ledger.in_transaction(|ledger| {
        let mut report = ImportReport::default();
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize);
                    report.invalid += 1;
                    report
                        .problems
                        .push(Problem::new(shown, line, format!("unreadable row: {e}")));
                    continue;
                }
            };
            let line = record.position().map(|p| p.line() as usize);
            let raw = record.get(columns.email).unwrap_or_default();
            let email = match normalise(raw) {
                Ok(email) => email,
                Err(why) => {
                    report.invalid += 1;
                    report.problems.push(Problem::new(shown, line, why));
                    continue;
                }
            };
            if ledger.subscriber(&email)?.is_some() {
                report.duplicates += 1;
                continue;
            }
            let name = columns.name(&record);
            ledger.insert_subscriber(&email, name.as_deref(), columns.status(&record))?;
            report.added += 1;
        }
        Ok(report)
    })
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
}
