//! Bounces written for people only: no DSN part, just words (older Exim's
//! "Mail delivery failed: returning message to sender", qmail's "failure
//! notice", appliances and hosted filters). Read only when the message
//! looks like a bounce (from a mailer daemon, a bounce subject, or Exim's
//! X-Failed-Recipients), and only the explanation above the returned copy,
//! so the original's own text is never taken for the server's.

use mail_parser::Message;

use super::dsn::failure_in;
use super::report::{Form, Report, addresses_in, one_line};

/// Subjects bounces are sent with, lower-cased.
const SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "mail delivery failure",
    "failure notice",
    "returned mail",
    "returned to sender",
    "non-delivery",
    "nondeliverable",
    "could not be delivered",
    "delivery notification",
    "mail failure",
    "error sending your mail",
];

/// Senders bounces come from, lower-cased local parts.
const SENDERS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// The most addresses a bounce in words may name. herald sends each copy
/// to one reader, so a bounce of one names that reader and perhaps a
/// forward's hops; a text naming more is about some other mail (or made
/// up to take a whole list off at once), and reading each address's
/// section of it would cost the square of its length.
const MAX_NAMED: usize = 20;

/// Lines where the explanation ends and the returned message begins.
const SEPARATORS: &[&str] = &[
    "------ this is a copy of the message",
    "--- below this line is a copy of the message",
    "original message follows",
    "----- original message -----",
    "------ original message",
    "-----original message-----",
    "----- the header of the original message",
    "------ received:",
    "original message headers",
];

/// Fills `report` from a bounce in words, if the message is one.
pub fn read(message: &Message<'_>, report: &mut Report) -> bool {
    let failed_header: Vec<String> = message
        .header_raw("X-Failed-Recipients")
        .map(addresses_in)
        .unwrap_or_default();
    if failed_header.is_empty() && !looks_like_a_bounce(message) {
        return false;
    }
    if is_a_delay_warning(message) {
        report.form =
            Form::NotABounce("a delay warning (the server is still trying), not a bounce".into());
        return true;
    }
    let text = explanation(message);
    let recipients = if failed_header.is_empty() {
        recipients_in(&text, report)
    } else {
        failed_header
    };
    if recipients.len() > MAX_NAMED {
        report.form = Form::NotABounce(format!(
            "a text naming {} addresses, not the bounce of one message",
            recipients.len()
        ));
        return true;
    }
    report.form = Form::Plain;
    if recipients.is_empty() {
        // A bounce that names nobody: matched by Message-ID or VERP, if at all.
        let failure = failure_in(None, None, None, diagnostic(&text), &text);
        report.failures.push(failure);
    }
    for (i, recipient) in recipients.iter().enumerate() {
        // Judged on the whole section about the address, shown by its line.
        let section = section(&text, recipient, recipients.get(i + 1));
        let shown = diagnostic(section);
        let failure = failure_in(Some(recipient.clone()), None, None, shown, section);
        report.failures.push(failure);
    }
    true
}

fn looks_like_a_bounce(message: &Message<'_>) -> bool {
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    let from_daemon = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .and_then(|a| a.split('@').next().map(str::to_ascii_lowercase))
        .is_some_and(|local| SENDERS.contains(&local.as_str()));
    // Not Auto-Submitted: bounces carry "auto-replied" as often as vacation
    // replies do; who sent it and what it says tell them apart.
    from_daemon || SUBJECTS.iter().any(|s| subject.contains(s))
}

/// Exim's "Warning: message ... delayed 24 hours" and its kind.
fn is_a_delay_warning(message: &Message<'_>) -> bool {
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    subject.contains("delayed")
        || subject.starts_with("warning:")
        || subject.contains("delivery delay")
}

/// The text above the returned copy of the message.
fn explanation(message: &Message<'_>) -> String {
    let text = message
        .body_text(0)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let mut kept = String::new();
    for line in text.lines() {
        let lower = line.trim().to_ascii_lowercase();
        if SEPARATORS.iter().any(|s| lower.starts_with(s)) {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The failed addresses a bounce in words names: every address in the
/// explanation except the sender's own (the daemon, the envelope).
fn recipients_in(text: &str, report: &Report) -> Vec<String> {
    addresses_in(text)
        .into_iter()
        .filter(|a| {
            let local = a.split('@').next().unwrap_or("").to_ascii_lowercase();
            !SENDERS.contains(&local.as_str())
                && !report.envelope.iter().any(|e| e.eq_ignore_ascii_case(a))
        })
        .collect()
}

/// The part of the text about `recipient`: from its first mention to the
/// next recipient's (Exim lists each address with its own error below it).
fn section<'a>(text: &'a str, recipient: &str, next: Option<&String>) -> &'a str {
    let lower = text.to_ascii_lowercase();
    let Some(start) = lower.find(&recipient.to_ascii_lowercase()) else {
        return text;
    };
    let end = next
        .and_then(|n| lower[start + recipient.len()..].find(&n.to_ascii_lowercase()))
        .map_or(text.len(), |e| start + recipient.len() + e);
    let section = &text[start..end];
    // qmail and others write the reason above the address: keep the whole
    // text when the section itself says nothing.
    if super::status::Enhanced::find(section).is_some() || section.len() > recipient.len() + 20 {
        section
    } else {
        text
    }
}

/// The line that says what happened: the one with a status code, else the
/// first lines of the section.
fn diagnostic(section: &str) -> String {
    let lines: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let coded = lines.iter().position(|l| {
        super::status::Enhanced::find(l).is_some()
            || super::status::basic_code(l).is_some_and(|c| c >= 400)
    });
    match coded {
        // The reason often continues on the next lines (Exim indents them).
        Some(i) => one_line(&lines[i..lines.len().min(i + 3)].join(" "), 300),
        None => one_line(&lines.join(" "), 300),
    }
}
