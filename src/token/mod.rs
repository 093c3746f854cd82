//! Signed links: the tokens in confirmation and unsubscribe URLs, the
//! timestamp a signup form carries, and the proof-of-work challenge.
//!
//! A token is `ID.TAG` (unsubscribe) or `ID.ISSUED.TAG` (confirm), where
//! ID is the subscriber's random ledger token (16 random bytes as hex: it
//! says nothing about the address or the size of the list, unlike a row
//! id), ISSUED is a Unix time and TAG is HMAC-SHA256 under the site's
//! secret, truncated to 128 bits, over the purpose, the ID, ISSUED and the
//! subscriber's address. The address is in the MAC but never in the token:
//! a token is bound to one address and one purpose (a confirmation link
//! cannot unsubscribe, nor the reverse), and a ledger token that ever came
//! to name another address would not verify. Tags are compared in constant
//! time. Confirmation tokens expire after [`CONFIRM_LIFETIME`]; unsubscribe
//! tokens never do, since old mails must keep working (RFC 8058 asks that
//! the link work for as long as the mail is likely to be read).
//!
//! Rotation: links are made with the current secret and checked against
//! the current and, if there is one, the previous secret (see `secret`).

pub mod secret;

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration as Span, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Result;

/// How long a confirmation link works.
pub const CONFIRM_LIFETIME: Span = Span::days(7);

/// How far in the future an issue time may be (clocks of two machines).
const CLOCK_SKEW: Span = Span::minutes(5);

/// Bytes of HMAC kept: 128 bits, as many as an attacker would have to guess.
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Confirm,
    Unsubscribe,
    Form,
    Work,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Confirm => b"confirm",
            Purpose::Unsubscribe => b"unsubscribe",
            Purpose::Form => b"form",
            Purpose::Work => b"work",
        }
    }
}

/// The site's secret(s): makes links with the current one, checks them
/// against both.
#[derive(Clone)]
pub struct Keys {
    current: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for Keys {
    // Never shows a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(previous: {})", self.previous.is_some())
    }
}

impl Keys {
    pub fn new(current: Vec<u8>, previous: Option<Vec<u8>>) -> Keys {
        Keys { current, previous }
    }

    /// The secrets of the site whose ledger is `ledger` (they sit beside it).
    pub fn load(ledger: &Path) -> Result<Keys> {
        let dir = ledger
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (current, previous) = secret::load(dir)?;
        Ok(Keys::new(current, previous))
    }

    /// The unsubscribe token of the subscriber with ledger token `id` and address `email`.
    pub fn unsubscribe_token(&self, id: &str, email: &str) -> String {
        let tag = self.sign(Purpose::Unsubscribe, &[id.as_bytes(), &folded(email)]);
        format!("{id}.{tag}")
    }

    /// A confirmation token made at `issued`.
    pub fn confirm_token(&self, id: &str, email: &str, issued: DateTime<Utc>) -> String {
        let issued = issued.timestamp().to_string();
        let parts = [id.as_bytes(), issued.as_bytes(), &folded(email)];
        let tag = self.sign(Purpose::Confirm, &parts);
        format!("{id}.{issued}.{tag}")
    }

    /// The signed time a signup form was served at.
    pub fn form_stamp(&self, at: DateTime<Utc>) -> String {
        let at = at.timestamp().to_string();
        let tag = self.sign(Purpose::Form, &[at.as_bytes()]);
        format!("{at}.{tag}")
    }

    /// When a form stamp says the form was served, if herald signed it.
    pub fn form_time(&self, stamp: &str) -> Option<DateTime<Utc>> {
        let (at, tag) = stamp.rsplit_once('.')?;
        if !self.check(Purpose::Form, &[at.as_bytes()], tag) {
            return None;
        }
        DateTime::from_timestamp(at.parse().ok()?, 0)
    }

    /// A proof-of-work challenge: `BITS.ISSUED.NONCE.TAG`.
    pub fn work_challenge(&self, bits: u8, issued: DateTime<Utc>, nonce: &str) -> String {
        let (bits, issued) = (bits.to_string(), issued.timestamp().to_string());
        let parts = [bits.as_bytes(), issued.as_bytes(), nonce.as_bytes()];
        let tag = self.sign(Purpose::Work, &parts);
        format!("{bits}.{issued}.{nonce}.{tag}")
    }

    /// A challenge's difficulty and issue time, if herald signed it.
    pub fn work_terms(&self, challenge: &str) -> Option<(u8, DateTime<Utc>)> {
        let mut fields = challenge.splitn(4, '.');
        let (bits, issued, nonce, tag) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let parts = [bits.as_bytes(), issued.as_bytes(), nonce.as_bytes()];
        if !self.check(Purpose::Work, &parts, tag) {
            return None;
        }
        Some((
            bits.parse().ok()?,
            DateTime::from_timestamp(issued.parse().ok()?, 0)?,
        ))
    }

    fn sign(&self, purpose: Purpose, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD
            .encode(&mac(&self.current, purpose, parts).finalize().into_bytes()[..TAG_LEN])
    }

    /// Whether `tag` is this purpose's tag over `parts` under either secret.
    fn check(&self, purpose: Purpose, parts: &[&[u8]], tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        if tag.len() != TAG_LEN {
            return false;
        }
        let keys = std::iter::once(&self.current).chain(self.previous.as_ref());
        // Both keys are tried whatever the first gives: the time taken says
        // nothing about which one matched.
        keys.fold(false, |ok, key| {
            mac(key, purpose, parts).verify_truncated_left(&tag).is_ok() | ok
        })
    }
}

/// An unsubscribe token as it arrives: whose it claims to be, to be
/// checked once the ledger has given that subscriber's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    pub id: &'a str,
    tag: &'a str,
}

impl<'a> Unsubscribe<'a> {
    pub fn parse(token: &'a str) -> Option<Unsubscribe<'a>> {
        let (id, tag) = token.rsplit_once('.')?;
        (!id.is_empty()).then_some(Unsubscribe { id, tag })
    }

    /// Whether the token was made for `email`.
    pub fn is_for(&self, keys: &Keys, email: &str) -> bool {
        keys.check(
            Purpose::Unsubscribe,
            &[self.id.as_bytes(), &folded(email)],
            self.tag,
        )
    }
}

/// A confirmation token as it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm<'a> {
    pub id: &'a str,
    issued: &'a str,
    tag: &'a str,
}

impl<'a> Confirm<'a> {
    pub fn parse(token: &'a str) -> Option<Confirm<'a>> {
        let (rest, tag) = token.rsplit_once('.')?;
        let (id, issued) = rest.rsplit_once('.')?;
        (!id.is_empty()).then_some(Confirm { id, issued, tag })
    }

    /// When the link was made, if it was made for `email` and still works at `now`.
    pub fn is_for(&self, keys: &Keys, email: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let parts = [self.id.as_bytes(), self.issued.as_bytes(), &folded(email)];
        if !keys.check(Purpose::Confirm, &parts, self.tag) {
            return None;
        }
        let issued = DateTime::from_timestamp(self.issued.parse().ok()?, 0)?;
        (issued <= now + CLOCK_SKEW && now - issued <= CONFIRM_LIFETIME).then_some(issued)
    }

    /// Whether herald made this link for `email`, at whatever time: an
    /// expired link is told apart from a forged one.
    pub fn was_for(&self, keys: &Keys, email: &str) -> bool {
        let parts = [self.id.as_bytes(), self.issued.as_bytes(), &folded(email)];
        keys.check(Purpose::Confirm, &parts, self.tag)
    }
}

/// An address as the MAC sees it: the ledger compares addresses without case.
fn folded(email: &str) -> Vec<u8> {
    email.trim().to_lowercase().into_bytes()
}

/// HMAC over the purpose and the parts, each ended by a NUL (no part holds
/// one), so no two different lists of parts give the same input.
fn mac(key: &[u8], purpose: Purpose, parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(b"herald/1\0");
    mac.update(purpose.label());
    mac.update(b"\0");
    for part in parts {
        mac.update(part);
        mac.update(b"\0");
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(vec![7; 32], None)
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn an_unsubscribe_token_works_for_its_address_only_and_reveals_it_not() {
        let token = keys().unsubscribe_token(ID, "Ada@Example.org");
        assert!(!token.to_lowercase().contains("ada"), "{token}");
        let claim = Unsubscribe::parse(&token).unwrap();
        assert_eq!(claim.id, ID);
        assert!(claim.is_for(&keys(), "ada@example.org"));
        assert!(!claim.is_for(&keys(), "bob@example.org"));
        assert!(!claim.is_for(&Keys::new(vec![8; 32], None), "ada@example.org"));
    }

    #[test]
    fn a_confirmation_token_cannot_unsubscribe_and_an_unsubscribe_token_cannot_confirm() {
        let now = Utc::now();
        let confirm = keys().confirm_token(ID, "ada@example.org", now);
        let unsubscribe = keys().unsubscribe_token(ID, "ada@example.org");
        // Reshaped into the other kind, each fails.
        let (rest, tag) = confirm.rsplit_once('.').unwrap();
        let (id, _) = rest.rsplit_once('.').unwrap();
        let as_unsubscribe = format!("{id}.{tag}");
        assert!(
            !Unsubscribe::parse(&as_unsubscribe)
                .unwrap()
                .is_for(&keys(), "ada@example.org")
        );
        let (id, tag) = unsubscribe.rsplit_once('.').unwrap();
        let as_confirm = format!("{id}.{}.{tag}", now.timestamp());
        assert!(
            Confirm::parse(&as_confirm)
                .unwrap()
                .is_for(&keys(), "ada@example.org", now)
                .is_none()
        );
    }

    #[test]
    fn a_confirmation_token_expires_after_seven_days() {
        let issued = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let token = keys().confirm_token(ID, "ada@example.org", issued);
        let claim = Confirm::parse(&token).unwrap();
        let day = Span::days(1);
        assert_eq!(
            claim.is_for(&keys(), "ada@example.org", issued + day),
            Some(issued)
        );
        assert_eq!(
            claim.is_for(&keys(), "ada@example.org", issued + day * 7),
            Some(issued)
        );
        assert_eq!(
            claim.is_for(&keys(), "ada@example.org", issued + day * 8),
            None
        );
        // Nor can the issue time be moved forward.
        let later = token.replace("1700000000", "1700600000");
        assert_eq!(
            Confirm::parse(&later)
                .unwrap()
                .is_for(&keys(), "ada@example.org", issued + day * 8),
            None
        );
    }

    #[test]
    fn the_previous_secret_still_verifies_but_never_signs() {
        let old = Keys::new(vec![1; 32], None);
        let token = old.unsubscribe_token(ID, "ada@example.org");
        let rotated = Keys::new(vec![2; 32], Some(vec![1; 32]));
        assert!(
            Unsubscribe::parse(&token)
                .unwrap()
                .is_for(&rotated, "ada@example.org")
        );
        assert_ne!(rotated.unsubscribe_token(ID, "ada@example.org"), token);
        let dropped = Keys::new(vec![2; 32], None);
        assert!(
            !Unsubscribe::parse(&token)
                .unwrap()
                .is_for(&dropped, "ada@example.org")
        );
    }

    #[test]
    fn form_stamps_and_challenges_are_checked() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let stamp = keys().form_stamp(now);
        assert_eq!(keys().form_time(&stamp), Some(now));
        assert_eq!(
            keys().form_time(&stamp.replace("1700000000", "1600000000")),
            None
        );
        assert_eq!(keys().form_time("garbage"), None);
        let challenge = keys().work_challenge(18, now, "abcd");
        assert_eq!(keys().work_terms(&challenge), Some((18, now)));
        assert_eq!(keys().work_terms(&challenge.replacen("18", "1", 1)), None);
    }
}
