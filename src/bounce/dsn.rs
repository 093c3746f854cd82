//! The standard reports: a delivery status notification (RFC 3464) and an
//! abuse report (RFC 5965, ARF). Both are a multipart/report whose machine
//! part is header fields in blocks (message/delivery-status: one block for
//! the message, then one per recipient; message/feedback-report: one).
//! Each block is read by mail-parser's header parser (folding, comments,
//! encodings), not by hand.

use mail_parser::{Message, MessageParser};

use super::report::{Failure, Form, Report, addresses_in, mime_type, one_line};
use super::status::{self, Enhanced, Verdict};

/// Fills `report` from a DSN or ARF part, if the message has one that
/// says something (a DSN whose fields are empty is left to `plain`, which
/// reads its words).
pub fn read(message: &Message<'_>, report: &mut Report) -> bool {
    for part in &message.parts {
        let kind = mime_type(part);
        match kind.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                return read_dsn(part.contents(), report);
            }
            "message/feedback-report" => {
                read_feedback(message, part.contents(), report);
                return true;
            }
            _ => {}
        }
    }
    if let Some(fields) = loose_fields(message.raw_message()) {
        // A DSN whose MIME is broken (a boundary that does not match) still
        // has its fields, as text.
        return read_dsn(fields.as_bytes(), report);
    }
    if jmrp(message) {
        read_feedback(message, b"Feedback-Type: abuse\n", report);
        return true;
    }
    false
}

/// The delivery-status fields in a message's raw text: from its
/// Reporting-MTA (or first Final-Recipient) to the next MIME boundary.
fn loose_fields(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let lower = text.to_ascii_lowercase();
    let at = lower.find("\nfinal-recipient:")?;
    if !lower[at..].contains("\naction:") && !lower[at..].contains("\nstatus:") {
        return None;
    }
    let start = lower[..at].rfind("\nreporting-mta:").unwrap_or(at);
    let end = lower[at..].find("\n--").map_or(text.len(), |e| at + e);
    Some(text[start..end].to_string())
}

/// Microsoft's older JMRP complaints: no feedback-report part, only the
/// original message under this subject.
fn jmrp(message: &Message<'_>) -> bool {
    let subject = message
        .subject()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    subject.starts_with("complaint about message from")
        && message.parts.iter().any(|p| p.message().is_some())
}

/// The header blocks of a report part, each as (name, value) pairs.
fn blocks(contents: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(contents).replace("\r\n", "\n");
    let parser = MessageParser::default();
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            // The header parser wants a message: a block plus an empty body.
            let as_message = format!("{}\n\n", block.trim_start_matches('\n'));
            parser
                .parse_headers(as_message.as_bytes())
                .map(|m| {
                    m.headers_raw()
                        .map(|(n, v)| (n.to_string(), one_line(v, 2000)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .filter(|fields| !fields.is_empty())
        .collect()
}

fn field<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// RFC 3464: every per-recipient block whose Action is `failed` is a
/// failure (and `expired`, which some servers write when the retries ran
/// out); `delayed` (still trying), `delivered`, `relayed` and `expanded`
/// are not bounces. False when no block says anything.
fn read_dsn(contents: &[u8], report: &mut Report) -> bool {
    report.form = Form::Dsn;
    let mut other_actions = Vec::new();
    for block in blocks(contents) {
        let per_recipient = ["Final-Recipient", "Original-Recipient", "Action", "Status"]
            .iter()
            .any(|name| field(&block, name).is_some());
        if !per_recipient {
            continue; // the per-message block
        }
        // The recipient may be missing or no address ("rfc822; @host"):
        // the VERP address or the Message-ID may still say whose it was.
        let recipient = field(&block, "Final-Recipient").and_then(first_address);
        let original = field(&block, "Original-Recipient").and_then(first_address);
        let status = field(&block, "Status").and_then(Enhanced::parse);
        let action = field(&block, "Action").map(|a| a.to_ascii_lowercase());
        let failed = match action.as_deref() {
            Some(a) => a.starts_with("failed") || a.starts_with("expired"),
            None => status.is_some_and(|s| s.class == 5),
        };
        if !failed {
            other_actions.push(action.unwrap_or_else(|| "no action".into()));
            continue;
        }
        let diagnostic = field(&block, "Diagnostic-Code")
            .map(strip_type)
            .unwrap_or_default()
            .to_string();
        report
            .failures
            .push(failure(recipient, original, status, diagnostic));
    }
    if !report.failures.is_empty() {
        return true;
    }
    if other_actions.is_empty() {
        return false;
    }
    let said = if other_actions.iter().any(|a| a.starts_with("delayed")) {
        "a delay warning (the server is still trying), not a bounce".to_string()
    } else {
        format!(
            "a delivery report ({}), not a bounce",
            other_actions.join(", ")
        )
    };
    report.form = Form::NotABounce(said);
    true
}

/// One failed recipient: the status a DSN gives, made more precise by the
/// diagnostic's own code when the status is a generic x.0.0.
pub fn failure(
    recipient: Option<String>,
    original: Option<String>,
    status: Option<Enhanced>,
    diagnostic: String,
) -> Failure {
    failure_in(recipient, original, status, diagnostic.clone(), &diagnostic)
}

/// A failure judged on `text` (the diagnostic, or the whole explanation
/// of a bounce in words), shown as `diagnostic`. The remote server's own
/// code in the text wins over the reporting server's Status when they
/// differ in detail (Status 5.1.1 over "552 5.2.2 Over quota" happens).
pub fn failure_in(
    recipient: Option<String>,
    original: Option<String>,
    status: Option<Enhanced>,
    diagnostic: String,
    text: &str,
) -> Failure {
    let from_text = Enhanced::find(text);
    let status = match (status, from_text) {
        (Some(s), Some(t)) if t.class == s.class => Some(t),
        (None, t) => t,
        (s, _) => s,
    };
    let mut verdict = status::judge(status, text);
    // A code that says "no such user" beside words that say the mailbox is
    // full or the message was refused: the words, which do not drop the reader.
    if verdict == Verdict::Hard
        && matches!(
            status::by_words(text),
            Some(Verdict::Soft | Verdict::Message)
        )
    {
        verdict = status::by_words(text).unwrap_or(verdict);
    }
    // A failure the server calls permanent but does not explain stays soft
    // (see `status::judge`); a transient one is never hard.
    if status.is_some_and(|s| s.class == 4) && verdict == Verdict::Hard {
        verdict = Verdict::Soft;
    }
    Failure {
        recipient,
        original,
        status,
        diagnostic,
        verdict,
    }
}

/// "rfc822; a@b" -> "a@b".
fn first_address(value: &str) -> Option<String> {
    addresses_in(strip_type(value)).into_iter().next()
}

/// Drops the "type;" prefix of an address or diagnostic field.
fn strip_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && kind.len() < 20 => rest.trim(),
        _ => value.trim(),
    }
}

/// RFC 5965: `abuse`, `fraud` and `other` are complaints (the reader asked
/// for it to stop); `not-spam`, `auth-failure` (a DMARC failure report) and
/// `virus` are not about the reader's wish.
fn read_feedback(message: &Message<'_>, contents: &[u8], report: &mut Report) {
    report.form = Form::Feedback;
    let fields: Vec<(String, String)> = blocks(contents).into_iter().flatten().collect();
    let kind = field(&fields, "Feedback-Type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    if !matches!(kind.as_str(), "abuse" | "fraud" | "other") {
        report.form =
            Form::NotABounce(format!("a feedback report of type {kind}, not a complaint"));
        return;
    }
    report.complaint = true;
    for name in ["Original-Mail-From", "Original-Envelope-Id"] {
        if let Some(value) = field(&fields, name) {
            report.envelope.extend(addresses_in(value));
        }
    }
    let mut recipients: Vec<String> = ["Original-Rcpt-To", "Removal-Recipient"]
        .iter()
        .filter_map(|name| field(&fields, name))
        .flat_map(addresses_in)
        .collect();
    if recipients.is_empty() {
        recipients = original_to(message);
    }
    let said = format!("reported as {kind} by the reader's mail provider");
    if recipients.is_empty() {
        report.failures.push(complaint(None, &said));
    }
    for recipient in recipients {
        report.failures.push(complaint(Some(recipient), &said));
    }
}

/// A complainer, as a failure: the report's `complaint` flag is what
/// counts; the verdict only ranks it first among a report's failures.
fn complaint(recipient: Option<String>, said: &str) -> Failure {
    Failure {
        recipient,
        original: None,
        status: None,
        diagnostic: said.to_string(),
        verdict: Verdict::Hard,
    }
}

/// The To of the returned original (message/rfc822 or text/rfc822-headers).
fn original_to(message: &Message<'_>) -> Vec<String> {
    for part in &message.parts {
        if let Some(to) = part
            .message()
            .and_then(|original| original.header_raw("To"))
        {
            return addresses_in(to);
        }
        if mime_type(part) == "text/rfc822-headers" {
            let headers = MessageParser::default().parse_headers(part.contents());
            if let Some(to) = headers.as_ref().and_then(|h| h.header_raw("To")) {
                return addresses_in(to);
            }
        }
    }
    Vec::new()
}
