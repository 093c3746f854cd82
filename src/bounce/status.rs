//! What a refusal says about the reader's address: the enhanced status
//! code (RFC 3463, "5.1.1") when the server gives one, else its basic code
//! and words. Shared by the SMTP client (a 5xx to RCPT or DATA) and the
//! bounce reader (a DSN's Status and Diagnostic-Code).
//!
//! The point is to never drop a reader for a problem with one message (a
//! spam filter's 5.7.1, a 5.3.4 size limit), and never keep mailing an
//! address that does not exist (5.1.1). What cannot be told apart is
//! counted as soft: it bounces a reader only when it repeats post after post.

use std::fmt;

/// What a failure means for the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The address does not exist or will never take mail: bounced at once.
    Hard,
    /// The mailbox cannot take mail now (full, a 4xx that never cleared, a
    /// permanent failure that does not say why): counted, and `email.soft_bounce_limit`
    /// consecutive posts of it bounce the reader.
    Soft,
    /// About this message (policy, content, size) or this sender: only this
    /// delivery fails; the reader stays.
    Message,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Hard => "hard",
            Verdict::Soft => "soft",
            Verdict::Message => "message",
        }
    }
}

/// An enhanced status code: class.subject.detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enhanced {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Enhanced {
    /// Parses "5.1.1" (and nothing around it).
    pub fn parse(text: &str) -> Option<Enhanced> {
        let mut parts = text.trim().split('.');
        let class: u8 = parts.next()?.parse().ok()?;
        let subject = number(parts.next()?)?;
        let detail = number(parts.next()?)?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Enhanced {
            class,
            subject,
            detail,
        })
    }

    /// The first enhanced code in a reply or diagnostic text, as servers
    /// write it after the basic code: "550 5.1.1 <a@b>: user unknown",
    /// "550-5.1.1 The email account...", "#5.1.1" (qmail), "(5.2.2)".
    pub fn find(text: &str) -> Option<Enhanced> {
        let bytes = text.as_bytes();
        let mut start = 0;
        while let Some(offset) = text[start..].find(['2', '4', '5']) {
            let at = start + offset;
            start = at + 1;
            let before_ok =
                at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'.');
            if !before_ok || bytes.get(at + 1) != Some(&b'.') {
                continue;
            }
            let end = text[at..]
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(text.len(), |e| at + e);
            let candidate = text[at..end].trim_end_matches('.');
            // Not part of a version or a name ("mta-5.5.0-3", "5.1.1a").
            let after_ok = text[at + candidate.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
            if let Some(code) = Enhanced::parse(candidate).filter(|_| after_ok) {
                return Some(code);
            }
        }
        None
    }
}

/// 1 to 3 digits, as RFC 3463 allows.
fn number(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The basic reply code at the start of a reply ("550 ..." -> 550).
pub fn basic_code(text: &str) -> Option<u16> {
    let code = text.trim_start().get(..3)?;
    let number: u16 = code.parse().ok()?;
    (200..600).contains(&number).then_some(number)
}

/// Judges a failure from its enhanced code (if any) and words.
pub fn judge(enhanced: Option<Enhanced>, text: &str) -> Verdict {
    if let Some(verdict) = enhanced.filter(|c| c.class != 2).and_then(by_enhanced) {
        return verdict;
    }
    if let Some(verdict) = by_words(text) {
        return verdict;
    }
    // A bare 550, 551 or 553 may be "no such user" or a relay that refuses
    // everyone: marking a whole list bounced on one misconfigured relay is
    // worse than three posts' wait.
    Verdict::Soft
}

/// Judges an SMTP reply's text ("550 5.1.1 ...").
pub fn judge_reply(reply: &str) -> Verdict {
    judge(Enhanced::find(reply), reply)
}

/// What a refusal while sending says about the reader: `Hard` or `Soft`
/// (a bounce to record), or `None` (about the message, or not a server's
/// reply at all). `permanent`: a 5xx; otherwise a 4xx that outlasted the
/// retries, which counts only when it is about the mailbox: not 421 (the
/// server closing) nor a mail system, network or protocol status (4.3.x,
/// 4.4.x, 4.5.x), which say nothing about the reader.
pub fn at_send(reply: &str, permanent: bool) -> Option<Verdict> {
    let basic = basic_code(reply)?;
    let enhanced = Enhanced::find(reply);
    if !permanent {
        let about_the_server = basic == 421 || enhanced.is_some_and(|c| matches!(c.subject, 3..=5));
        return (basic / 100 == 4 && !about_the_server).then_some(Verdict::Soft);
    }
    match judge(enhanced, reply) {
        Verdict::Message => None,
        verdict => Some(verdict),
    }
}

/// RFC 3463's subjects and details, as they bear on the reader.
fn by_enhanced(code: Enhanced) -> Option<Verdict> {
    let Enhanced {
        class,
        subject,
        detail,
    } = code;
    if class == 4 {
        // Transient by definition; whether it cleared is for the caller to know.
        return Some(Verdict::Soft);
    }
    Some(match (subject, detail) {
        // Bad mailbox, bad system, bad syntax, moved, null MX (RFC 7505), and
        // Exchange's "recipient not found" (5.1.10).
        (1, 1 | 2 | 3 | 6 | 10) => Verdict::Hard,
        // The sender's own address (5.1.7, 5.1.8): our problem, not the reader's.
        (1, 7 | 8) => Verdict::Message,
        (1, _) => return None,
        // Mailbox disabled.
        (2, 1) => Verdict::Hard,
        // Mailbox full.
        (2, 2) => Verdict::Soft,
        // Message too long for the mailbox, list expansion.
        (2, 3 | 4) => Verdict::Message,
        (2, _) => return None,
        // "Other" protocol status: Outlook.com says 5.5.0 for a mailbox that
        // does not exist, others for a command refused; the words decide.
        (5, 0) => return None,
        // "Other" mail system status: servers write 5.3.0 for "no such user
        // here" too; the words decide.
        (3, 0) => return None,
        // Mail system (5.3.4 too big), protocol, content: this message.
        (3 | 5 | 6, _) => Verdict::Message,
        // Unable to route: no such domain ("Host or domain name not found")
        // or a name server that failed; the words decide.
        (4, 4) => return None,
        // Microsoft says 5.4.1 "Recipient address rejected: Access denied"
        // for an address its tenant does not have, others for a network
        // problem: the words decide.
        (4, 1) => return None,
        // Routing: a host that does not answer may come back.
        (4, _) => Verdict::Soft,
        // RFC 7372: the account is disabled.
        (7, 13) => Verdict::Hard,
        // Security and policy: spam filters, DMARC, blocklists.
        (7, _) => Verdict::Message,
        _ => return None,
    })
}

/// What servers write when they give no usable code (or 5.0.0), lower-cased.
const HARD_WORDS: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such mailbox",
    "no mailbox",
    "mailbox not found",
    "recipient not found",
    "address not found",
    "unknown recipient",
    "invalid recipient",
    "invalid mailbox",
    "does not exist",
    "doesn't exist",
    "not a valid mailbox",
    "account disabled",
    "account has been disabled",
    "mailbox disabled",
    "unrouteable address",
    "no longer available",
    "user doesn't have",
    "mailbox is disabled",
    "mailbox is inactive",
    "account is disabled",
    "user not found",
    "user not exist",
    "no such recipient",
    "invalid final delivery userid",
    "not listed in domino directory",
    "recipient address rejected: access denied",
    "no such domain",
    "invalid domain",
    "host unknown",
    "unknown host",
    "host or domain name not found",
    "couldn't find a mail exchanger",
    "no mx record",
    "does not accept mail",
];
const SOFT_WORDS: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "over quota",
    "quota exceeded",
    "exceeded storage",
    "insufficient storage",
];
const MESSAGE_WORDS: &[&str] = &[
    "spam",
    "blocked",
    "blocklist",
    "blacklist",
    "policy",
    "reputation",
    "dmarc",
    "message too big",
    "message size",
    "too large",
    "receiving mail at a rate",
    "rate limit",
    "too many",
];

/// What the words alone say (lower-cased matching), if anything.
pub fn by_words(text: &str) -> Option<Verdict> {
    let lower = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(MESSAGE_WORDS) {
        Some(Verdict::Message)
    } else if has(HARD_WORDS) {
        Some(Verdict::Hard)
    } else if has(SOFT_WORDS) {
        Some(Verdict::Soft)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_are_found_where_servers_write_them() {
        let found = |t: &str| Enhanced::find(t).map(|c| c.to_string());
        assert_eq!(
            found("550 5.1.1 <a@b.org>: Recipient address rejected"),
            Some("5.1.1".into())
        );
        assert_eq!(
            found("550-5.1.1 The email account that you tried"),
            Some("5.1.1".into())
        );
        assert_eq!(
            found("550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
            Some("5.1.10".into())
        );
        assert_eq!(
            found("Sorry, no mailbox here by that name. (#5.1.1)"),
            Some("5.1.1".into())
        );
        assert_eq!(found("smtp; 552 5.2.2 mailbox full."), Some("5.2.2".into()));
        assert_eq!(found("host 10.5.1.1 said: no"), None);
        assert_eq!(found("version 1.2.3"), None);
        assert_eq!(found("by mx (mxl_mta-5.5.0-3) with ESMTP"), None);
        assert_eq!(found("550 no code here"), None);
    }

    #[test]
    fn address_problems_are_hard_message_problems_are_not() {
        for hard in [
            "550 5.1.1 user unknown",
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound",
            "550 5.2.1 mailbox disabled",
            "553 5.1.3 bad address syntax",
            "550 5.1.6 mailbox has moved",
        ] {
            assert_eq!(judge_reply(hard), Verdict::Hard, "{hard}");
        }
        for message in [
            "554 5.7.1 rejected as spam",
            "552 5.3.4 message too big",
            "550 5.7.26 unauthenticated email from example.org is not accepted due to DMARC",
            "554 5.6.0 content rejected",
            "553 5.1.8 sender address domain does not exist",
        ] {
            assert_eq!(judge_reply(message), Verdict::Message, "{message}");
        }
        for soft in [
            "552 5.2.2 mailbox full",
            "452 4.2.2 over quota",
            "451 4.7.1 greylisted",
            "550 something went wrong",
        ] {
            assert_eq!(judge_reply(soft), Verdict::Soft, "{soft}");
        }
    }

    #[test]
    fn at_send_time_only_refusals_about_the_address_count() {
        assert_eq!(at_send("550 5.1.1 no such user", true), Some(Verdict::Hard));
        assert_eq!(at_send("552 5.2.2 mailbox full", true), Some(Verdict::Soft));
        assert_eq!(at_send("554 5.7.1 spam", true), None);
        assert_eq!(at_send("451 4.7.1 greylisted", false), Some(Verdict::Soft));
        assert_eq!(at_send("452 4.2.2 over quota", false), Some(Verdict::Soft));
        assert_eq!(at_send("421 4.3.2 shutting down", false), None);
        assert_eq!(at_send("451 4.3.0 local error", false), None);
        assert_eq!(at_send("127.0.0.1:25: connection lost", false), None);
        assert_eq!(at_send("not a deliverable address: x", true), None);
    }

    #[test]
    fn without_a_code_the_words_decide() {
        assert_eq!(
            judge_reply("550 Mailbox unavailable: no such user"),
            Verdict::Hard
        );
        assert_eq!(judge_reply("550 5.0.0 User unknown"), Verdict::Hard);
        assert_eq!(
            judge_reply("554 Message rejected: blocked by policy"),
            Verdict::Message
        );
        assert_eq!(
            judge_reply("553 sorry, that domain isn't mine"),
            Verdict::Soft
        );
        assert_eq!(
            judge_reply("554 5.7.1 <a@b.org>: Relay access denied"),
            Verdict::Message
        );
    }
}
