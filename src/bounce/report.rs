//! One message from the bounce mailbox, read into what it says: which
//! recipients failed and how (a bounce), who complained (an abuse report),
//! or that it is neither (a delay warning, an auto-reply, anything else).
//!
//! The MIME is mail-parser's. The shapes recognised, in order: a
//! multipart/report of delivery-status (RFC 3464: Postfix, Gmail, Outlook
//! and Exchange, Amazon SES's forwarded bounces, modern Exim) or of
//! feedback-report (RFC 5965 ARF: Yahoo, Outlook.com's JMRP, most feedback
//! loops), also when another multipart wraps it (`dsn`); an Amazon SES
//! notification delivered by email as JSON (`ses`); and the plain-text
//! bounces of servers that send no DSN (older Exim, qmail, many appliances)
//! (`plain`). Each failure carries what identifies the reader: the failed
//! address and, for the matcher, every herald Message-ID and every
//! envelope address the message holds.

use std::collections::HashSet;

use mail_parser::{Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::status::{Enhanced, Verdict};
use super::{dsn, plain, ses};

/// What a message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// A delivery status notification (RFC 3464).
    Dsn,
    /// An abuse report (RFC 5965).
    Feedback,
    /// An Amazon SES notification (JSON).
    Ses,
    /// A bounce in words, without a DSN.
    Plain,
    /// Not a bounce: why (a delay warning, an auto-reply, ...).
    NotABounce(String),
}

/// One recipient that failed (or complained).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The address that failed, as the report gives it (Final-Recipient).
    pub recipient: Option<String>,
    /// The address herald sent to, when the report keeps it (Original-Recipient).
    pub original: Option<String>,
    pub status: Option<Enhanced>,
    /// The server's words (Diagnostic-Code, or the line that says it).
    pub diagnostic: String,
    pub verdict: Verdict,
}

/// What one message says.
#[derive(Debug, Clone)]
pub struct Report {
    /// The message's identity, so it is counted once: `id:` its
    /// Message-ID, else `sha256:` of its bytes.
    pub key: String,
    pub form: Form,
    /// Bounces: the failed recipients. Complaints: the complainers.
    pub failures: Vec<Failure>,
    /// A complaint (spam button), not a bounce.
    pub complaint: bool,
    /// Addresses the report was sent to or names as the sender: where a
    /// VERP token may be.
    pub envelope: Vec<String>,
    /// herald Message-IDs found anywhere in it (`herald.<post>.<reader>`,
    /// without the domain): the returned copy's own.
    pub message_ids: Vec<String>,
    pub subject: String,
}

/// Headers that carry the address a message was delivered to: for a
/// bounce, the envelope sender herald used.
const ENVELOPE_HEADERS: [&str; 7] = [
    "To",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-Original-Recipient",
    "Return-Path",
];

impl Report {
    /// Reads one message's bytes. Never fails: what cannot be read is
    /// "not a bounce", with the reason.
    pub fn parse(raw: &[u8]) -> Report {
        let Some(message) = MessageParser::default().parse(raw) else {
            return Report::empty(
                key_of(None, raw),
                Form::NotABounce("not an email message".into()),
            );
        };
        let mut report = Report::empty(key_of(message.message_id(), raw), Form::Dsn);
        report.subject = message.subject().unwrap_or_default().to_string();
        report.message_ids = herald_message_ids(&message);
        report.envelope = envelope_addresses(&message);
        if !(dsn::read(&message, &mut report)
            || ses::read(&message, &mut report)
            || plain::read(&message, &mut report))
        {
            report.form = Form::NotABounce(not_a_bounce(&message));
        }
        report
    }

    fn empty(key: String, form: Form) -> Report {
        Report {
            key,
            form,
            failures: Vec::new(),
            complaint: false,
            envelope: Vec::new(),
            message_ids: Vec::new(),
            subject: String::new(),
        }
    }
}

/// Why a message is not taken as a bounce, in a few words.
fn not_a_bounce(message: &Message<'_>) -> String {
    let auto = message
        .header_raw("Auto-Submitted")
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("auto-replied"));
    if auto {
        "an automatic reply (out of office?), not a bounce".into()
    } else {
        "no bounce or complaint found in it".into()
    }
}

fn key_of(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => format!("id:{}", id.to_ascii_lowercase()),
        None => {
            let digest = Sha256::digest(raw);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}

/// Every address in the headers that say where the report went, and the
/// Return-Path of a returned original (the envelope sender herald used).
fn envelope_addresses(message: &Message<'_>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in message.headers_raw() {
        if ENVELOPE_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            found.extend(addresses_in(value));
        }
    }
    for part in &message.parts {
        if let Some(original) = part.message() {
            for (name, value) in original.headers_raw() {
                if name.eq_ignore_ascii_case("Return-Path") {
                    found.extend(addresses_in(value));
                }
            }
        }
    }
    found.dedup();
    found
}

/// herald's own Message-IDs in the message, its parts and any returned
/// original (decoded, so a base64 original is read too).
fn herald_message_ids(message: &Message<'_>) -> Vec<String> {
    let mut found = Vec::new();
    scan_ids(&String::from_utf8_lossy(message.raw_message()), &mut found);
    for part in &message.parts {
        if !part.is_multipart() {
            scan_ids(&String::from_utf8_lossy(part.contents()), &mut found);
        }
    }
    found
}

/// Finds `herald.<16 hex>.<16 hex>@`.
fn scan_ids(text: &str, found: &mut Vec<String>) {
    let mut rest = text;
    while let Some(at) = rest.find("herald.") {
        let candidate = &rest[at..];
        rest = &rest[at + 7..];
        let Some(id) = candidate.get(..40) else { break };
        let bytes = id.as_bytes();
        let hex = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_hexdigit);
        if hex(7..23)
            && bytes[23] == b'.'
            && hex(24..40)
            && candidate.as_bytes().get(40) == Some(&b'@')
        {
            let id = id.to_ascii_lowercase();
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
}

/// The email addresses in a piece of text: `<a@b>`, `rfc822; a@b`, or bare.
pub fn addresses_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Lower-cased, so that a text of many addresses is read in one pass.
    let mut seen = HashSet::new();
    for word in text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\''
            )
    }) {
        let word = word.trim_matches(|c: char| matches!(c, '.' | ':'));
        let Some((local, domain)) = word.rsplit_once('@') else {
            continue;
        };
        let looks_right = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if looks_right && seen.insert(word.to_ascii_lowercase()) {
            found.push(word.to_string());
        }
    }
    found
}

/// The content type of a part, as "type/subtype", lower-cased.
pub fn mime_type<'x>(part: &impl MimeHeaders<'x>) -> String {
    part.content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")).to_ascii_lowercase())
        .unwrap_or_default()
}

/// Text shortened for a one-line summary: whitespace runs to one space,
/// at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let cut: String = joined.chars().take(max).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn herald_ids_are_found_without_their_domain() {
        let mut found = Vec::new();
        scan_ids(
            "Message-ID: <herald.0123456789abcdef.FEDCBA9876543210@example.org>\nherald.short@x",
            &mut found,
        );
        assert_eq!(found, ["herald.0123456789abcdef.fedcba9876543210"]);
    }

    #[test]
    fn addresses_are_found_in_the_forms_reports_use() {
        assert_eq!(addresses_in("rfc822; ada@example.org"), ["ada@example.org"]);
        assert_eq!(
            addresses_in("<bob@example.com>: host mx.example.com said: 550"),
            ["bob@example.com"]
        );
        assert_eq!(addresses_in("no address here @ all"), Vec::<String>::new());
    }
}
