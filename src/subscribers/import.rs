//! CSV imports: Mailchimp, Buttondown and Substack exports, herald's own
//! export, hand-made lists; the email column found by its name, the
//! delimiter by the header row, every bad row reported with its line.

use std::fmt;
use std::path::Path;

use super::{is_token, normalise, parse};
use crate::error::{Error, Problem, Result};
use crate::ledger::{Ledger, Record, SubscriberStatus};

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

impl ImportReport {
    fn count_added(&mut self, status: SubscriberStatus) {
        self.added += 1;
        match status {
            // Exports' unconfirmed rows are left out, never added as pending.
            SubscriberStatus::Active | SubscriberStatus::Pending => {}
            SubscriberStatus::Unsubscribed => self.added_unsubscribed += 1,
            SubscriberStatus::Bounced => self.added_bounced += 1,
        }
    }
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
#[derive(Default)]
struct Columns {
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    status: Option<usize>,
    /// Substack: `email_disabled` true means they turned mail off.
    disabled: Option<usize>,
    /// Mailchimp: a time here means unsubscribed (`UNSUB_TIME`) or cleaned,
    /// that is bounced (`CLEAN_TIME`). An empty cell is no status at all:
    /// an export of everyone has the columns, empty for the subscribed.
    unsub_time: Option<usize>,
    clean_time: Option<usize>,
    /// herald's own export: restored as they were.
    token: Option<usize>,
    created: Option<usize>,
    updated: Option<usize>,
    active_since: Option<usize>,
}

/// The columns seen, for a message when none holds addresses.
fn header_names(headers: &csv::StringRecord) -> Vec<String> {
    headers
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect()
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Option<Columns> {
        let names = header_names(headers);
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
            unsub_time: find(&["unsub_time", "unsubscribed_at"]),
            clean_time: find(&["clean_time"]),
            token: find(&["token"]),
            created: find(&["created"]),
            updated: find(&["updated"]),
            active_since: find(&["active_since"]),
        })
    }

    /// A file of bare addresses, one per line, without a header row.
    fn bare() -> Columns {
        Columns::default()
    }

    /// The trimmed cell of column `i`, if there is one and it is not empty.
    fn cell(record: &csv::StringRecord, i: Option<usize>) -> Option<&str> {
        i.and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
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
        if Columns::cell(record, self.clean_time).is_some() {
            return Listed::Is(SubscriberStatus::Bounced);
        }
        if Columns::cell(record, self.unsub_time).is_some() {
            return Listed::Is(SubscriberStatus::Unsubscribed);
        }
        let word = Columns::cell(record, self.status).unwrap_or_default();
        let disabled =
            Columns::cell(record, self.disabled).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        match listed(word) {
            Listed::Is(SubscriberStatus::Active) if disabled => {
                Listed::Is(SubscriberStatus::Unsubscribed)
            }
            other => other,
        }
    }

    /// A row of herald's own export, as it was: its token, and its dates
    /// when they are dates (else now).
    fn record(
        &self,
        row: &csv::StringRecord,
        email: &str,
        name: Option<String>,
        status: SubscriberStatus,
    ) -> Option<std::result::Result<Record, String>> {
        let token = Columns::cell(row, self.token)?;
        if !is_token(token) {
            return Some(Err(format!(
                "{email}: token {token:?} is not one herald made (32 hex digits)"
            )));
        }
        let now = crate::ledger::now();
        let date = |i| {
            Columns::cell(row, i)
                .filter(|d| chrono::DateTime::parse_from_rfc3339(d).is_ok())
                .map_or_else(|| now.clone(), str::to_string)
        };
        Some(Ok(Record {
            email: email.to_string(),
            name,
            status,
            token: token.to_ascii_lowercase(),
            created: date(self.created),
            updated: date(self.updated),
            active_since: date(self.active_since),
        }))
    }
}

/// Rows written per transaction. A whole large import in one transaction
/// (1.5 million rows: 15 s) outlasted other commands' wait for the write
/// lock, and a `send` running meanwhile failed with "database is locked";
/// 1,000 rows hold it for milliseconds.
pub const CHUNK: usize = 1000;

/// Imports a CSV export (`shown` is the path as the user wrote it, for
/// messages). The delimiter (`,`, `;` or tab) is taken from the header row.
/// Bad rows are reported with their line and passed over; the rest are
/// written `CHUNK` rows per transaction, so other commands (a `send`) go on
/// meanwhile, and an interrupted import is finished by running it again
/// (rows already in count as already subscribed). People the export says
/// left or bounced are kept as such (never mailed, and never revived by a
/// later import); one active here whom the export says left is marked so:
/// an unsubscribe always wins. herald's own export is restored as it was.
pub fn import_csv(ledger: &mut Ledger, path: &Path, shown: &Path) -> Result<ImportReport> {
    let not_csv =
        |e: csv::Error| Error::Message(format!("{}: not a CSV file: {e}", shown.display()));
    // Read whole: a 100,000-row export is a few megabytes, and line numbers
    // come from the bytes (see `Lines`).
    let bytes = fs_err::read(path)?;
    let reader = |headers| {
        csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(headers)
            .delimiter(delimiter(&bytes))
            .from_reader(bytes.as_slice())
    };
    let mut csv = reader(true);
    let headers = csv.headers().map_err(not_csv)?.clone();
    let columns = match Columns::find(&headers) {
        Some(columns) => columns,
        // No header row, only addresses: read the first line as a record too.
        None if headers.len() == 1 && normalise(&headers[0]).is_ok() => {
            csv = reader(false);
            Columns::bare()
        }
        None => {
            return Err(Error::Message(format!(
                "{}:1: no email column among the columns seen ({}); the header row needs a column named like \
                 \"email\" or \"Email Address\" (or give a file of bare addresses, one per line)",
                shown.display(),
                crate::terminal::escape(&format!("{:?}", header_names(&headers)))
            )));
        }
    };
    let mut lines = Lines::new(&bytes);
    let mut report = ImportReport::default();
    let mut records = csv.records();
    loop {
        let chunk: Vec<_> = records.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            return Ok(report);
        }
        ledger.in_transaction(|ledger| {
            for record in chunk {
                import_record(ledger, &columns, record, &mut report, &mut lines, shown)?;
            }
            Ok(())
        })?;
        // A gap between chunks, for a command waiting to write.
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The most frequent of `,`, `;` and tab in the first line (`,` when none):
/// European spreadsheets export with `;`, others with tabs.
fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .filter(|&d| count(d) > 0)
        .unwrap_or(b',')
}

/// One CSV record: an unreadable or bad row goes into the report with its
/// line; a database error ends the import.
fn import_record(
    ledger: &Ledger,
    columns: &Columns,
    record: csv::Result<csv::StringRecord>,
    report: &mut ImportReport,
    lines: &mut Lines<'_>,
    shown: &Path,
) -> Result<()> {
    let record = match record {
        Ok(record) => record,
        Err(e) => {
            let line = e.position().map(|p| lines.at(p.byte()));
            report.invalid += 1;
            report
                .problems
                .push(Problem::new(shown, line, format!("unreadable row: {e}")));
            return Ok(());
        }
    };
    if record.iter().all(|field| field.trim().is_empty()) {
        return Ok(());
    }
    if let Err(why) = import_row(ledger, columns, &record, report)? {
        let line = record.position().map(|p| lines.at(p.byte()));
        report.problems.push(Problem::new(shown, line, why));
    }
    Ok(())
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
    let mailbox = match parse(raw) {
        Ok(mailbox) => mailbox,
        Err(why) => {
            report.invalid += 1;
            return Ok(Err(why));
        }
    };
    let email = mailbox.email;
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
            let name = columns.name(record).or(mailbox.name);
            match columns.record(record, &email, name.clone(), status) {
                Some(Err(why)) => {
                    report.invalid += 1;
                    return Ok(Err(why));
                }
                Some(Ok(restored)) => {
                    if ledger.subscriber_by_token(&restored.token)?.is_some() {
                        report.invalid += 1;
                        return Ok(Err(format!(
                            "{email}: its token belongs to another subscriber here; left out"
                        )));
                    }
                    ledger.restore(&restored)?;
                }
                None => {
                    ledger.insert_subscriber(&email, name.as_deref(), status)?;
                }
            }
            report.count_added(status);
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_delimiter_is_the_commonest_of_comma_semicolon_and_tab_in_the_header() {
        assert_eq!(delimiter(b"Email Address;First Name;Last\na,b;c"), b';');
        assert_eq!(delimiter(b"email\tname\n"), b'\t');
        assert_eq!(delimiter(b"email,name;x\n"), b',');
        assert_eq!(delimiter(b"ada@example.org\n"), b',');
    }
}
