//! One subscriber's copy of a [`Newsletter`] as an RFC 5322 message: the
//! headers a mailing list needs and a multipart/alternative body.
//!
//! lettre writes the MIME: it folds and RFC 2047-encodes header values (so
//! no title or name can add a header line) and picks each part's transfer
//! encoding (7bit, quoted-printable or base64), which keeps every line
//! within 998 octets however long the HTML's lines are. This module adds
//! what lettre leaves to the caller: a Message-ID that is stable per post
//! and subscriber (a re-send after a crash is recognisably the same
//! message), List-Id and the RFC 2369/8058 unsubscribe headers; the DKIM
//! signature when `[email.dkim]` asks for one (`crate::dkim`); and the
//! envelope sender, per message when `email.envelope_from` holds
//! `{{ token }}` (VERP), so that a bounce names the copy that bounced.

use std::time::SystemTime;

use lettre::address::{Address, Envelope};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use crate::config::Config;
use crate::dkim::Signer;
use crate::email::template::{Newsletter, Recipient, one_line};
use crate::error::{Error, Result};
use crate::site::Site;

/// What every message of a site shares: sender and list identity.
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub from: Mailbox,
    /// The From address's domain: Message-IDs live there.
    pub domain: String,
    /// `Title <list.id>` for List-Id.
    pub list_id: String,
    /// Signs each message, when `[email.dkim]` is written.
    pub signer: Option<Signer>,
    /// `email.envelope_from`: the MAIL FROM address, per message with VERP.
    pub envelope_from: Option<EnvelopeFrom>,
}

/// `email.envelope_from`, checked: an address, with `{{ token }}` standing
/// for each message's VERP token (or none, for one fixed bounce address).
#[derive(Debug, Clone)]
pub struct EnvelopeFrom {
    /// The text before and after the token (all of it in `before` without one).
    before: String,
    after: Option<String>,
}

/// Spellings of the one placeholder `envelope_from` takes.
const TOKEN_PLACEHOLDERS: [&str; 2] = ["{{ token }}", "{{token}}"];

impl EnvelopeFrom {
    pub fn parse(text: &str) -> Result<EnvelopeFrom> {
        let text = text.trim();
        let split = TOKEN_PLACEHOLDERS.iter().find_map(|p| text.split_once(p));
        let parsed = match split {
            Some((before, after)) => EnvelopeFrom {
                before: before.to_string(),
                after: Some(after.to_string()),
            },
            None => EnvelopeFrom {
                before: text.to_string(),
                after: None,
            },
        };
        let bad = |why: &str| {
            Error::Usage(format!(
                "email.envelope_from {text:?}: {why}; write an address such as \"bounces+{{{{ token }}}}@example.org\""
            ))
        };
        if parsed.before.contains("{{") || parsed.after.as_deref().is_some_and(|a| a.contains("{{"))
        {
            return Err(bad("the only placeholder it takes is {{ token }}, once"));
        }
        let sample = parsed.address("0123456789abcdef0123456789abcdef", "sample-post");
        match sample {
            Ok(address) if address.to_string().is_ascii() => Ok(parsed),
            Ok(_) => Err(bad("it must be ASCII")),
            Err(_) => Err(bad("not an address")),
        }
    }

    /// Whether each message gets its own address (VERP).
    pub fn is_verp(&self) -> bool {
        self.after.is_some()
    }

    /// The envelope sender of `subscriber_token`'s copy of `post_id`.
    pub fn address(&self, subscriber_token: &str, post_id: &str) -> Result<Address, ComposeError> {
        let text = match &self.after {
            Some(after) => format!(
                "{}{}{after}",
                self.before,
                verp_token(subscriber_token, post_id)
            ),
            None => self.before.clone(),
        };
        text.parse()
            .map_err(|_| ComposeError::Address(format!("envelope sender {text}")))
    }

    /// The VERP token in `address`, if it is one of ours (the text around
    /// the token compared without case: some servers lower-case it).
    pub fn token_in(&self, address: &str) -> Option<String> {
        let after = self.after.as_deref()?;
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let lower = address.to_ascii_lowercase();
        let (before, after) = (self.before.to_ascii_lowercase(), after.to_ascii_lowercase());
        if lower.len() <= before.len() + after.len()
            || !lower.starts_with(&before)
            || !lower.ends_with(&after)
        {
            return None;
        }
        let token = &lower[before.len()..lower.len() - after.len()];
        Some(token.to_string())
    }
}

/// A message's VERP token: the subscriber's token and a tag of the post,
/// `<token>-<8 hex>`, so a bounce that carries nothing else still names
/// both. 49 characters with `bounces+`: within the 64 a local part may have.
pub fn verp_token(subscriber_token: &str, post_id: &str) -> String {
    format!("{subscriber_token}-{}", post_tag(post_id))
}

/// The post part of a VERP token.
pub fn post_tag(post_id: &str) -> String {
    format!("{:08x}", fnv1a(post_id.as_bytes()) as u32)
}

/// One message, ready for a transport.
#[derive(Debug, Clone)]
pub struct Letter {
    pub envelope: Envelope,
    /// The formatted message, CRLF line ends.
    pub bytes: Vec<u8>,
    /// Without angle brackets.
    pub message_id: String,
}

/// Why a copy could not be made for one subscriber; the others go on.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("not a deliverable address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The templates failed for this reader: no copy for anyone is safe.
    #[error("{0}")]
    Template(String),
}

/// `email.from`, else the site author's name and email.
pub fn from_mailbox(config: &Config) -> Result<Mailbox> {
    let text = match (&config.email.from, &config.site.author) {
        (Some(from), _) => from.clone(),
        (None, Some(author)) if author.email.is_some() => {
            format!(
                "{} <{}>",
                author.name,
                author.email.as_deref().unwrap_or("")
            )
        }
        _ => {
            return Err(Error::Usage(
                "no sender: set email.from (\"Name <you@example.org>\") or site.author.email in config/herald.toml".into(),
            ));
        }
    };
    let text = one_line(&text);
    text.parse::<Mailbox>().or_else(|_| {
        // A display name with commas or dots must be quoted; accept it unquoted as people write it.
        match text.rsplit_once('<') {
            Some((name, rest)) => {
                let address = rest.trim_end_matches('>').trim().parse::<Address>();
                address.map(|a| Mailbox::new(Some(name.trim().trim_matches('"').to_string()), a))
            }
            None => text.parse::<Address>().map(|a| Mailbox::new(None, a)),
        }
        .map_err(|e| Error::Usage(format!("email.from {text:?} is not an address: {e}")))
    })
}

impl Letterhead {
    /// Sender, list identity and envelope sender; no signing (see [`Letterhead::for_site`]).
    pub fn new(config: &Config) -> Result<Letterhead> {
        let from = from_mailbox(config)?;
        let domain = from.email.domain().to_ascii_lowercase();
        let envelope_from = config
            .email
            .envelope_from
            .as_deref()
            .map(EnvelopeFrom::parse)
            .transpose()?;
        Ok(Letterhead {
            list_id: list_id(&config.site.title, &config.site.url),
            from,
            domain,
            signer: None,
            envelope_from,
        })
    }

    /// [`Letterhead::new`], with the site's DKIM key read and checked when
    /// `[email.dkim]` is written.
    pub fn for_site(site: &Site) -> Result<Letterhead> {
        let mut letterhead = Letterhead::new(&site.config)?;
        if let Some(dkim) = &site.config.email.dkim {
            let path = site.path(&dkim.key_file);
            let signer = Signer::new(dkim, &path, &site.shown(&path), &letterhead.domain)?;
            letterhead.signer = Some(signer);
        }
        Ok(letterhead)
    }

    /// What `herald check` says about sending: the DKIM key and the envelope
    /// sender as `send` would read them (problems), and what DMARC would
    /// make of them (warnings): a DKIM domain that does not align with From
    /// (allowed, or refused by `send`), or no aligned DKIM with an envelope
    /// sender on another domain (then neither SPF nor DKIM aligns).
    pub fn check(site: &Site) -> (Vec<crate::Problem>, Vec<crate::Problem>) {
        let config_file = site.shown(&site.config_path);
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let plain = match Letterhead::new(&site.config) {
            Ok(plain) => plain,
            // No sender is `send`'s to refuse: a site may publish feeds only.
            Err(_)
                if site.config.email.envelope_from.is_none()
                    && site.config.email.dkim.is_none() =>
            {
                return (problems, warnings);
            }
            Err(e) => {
                problems.push(crate::Problem::file(&config_file, e.to_string()));
                return (problems, warnings);
            }
        };
        let from_domain = plain.domain.clone();
        let dkim = site.config.email.dkim.as_ref();
        if let Some(dkim) = dkim {
            if !crate::dkim::aligned(&dkim.domain, &from_domain) {
                let mut text = crate::dkim::unaligned_message(dkim.domain.trim(), &from_domain);
                if dkim.allow_unaligned {
                    text = format!(
                        "email.dkim.domain {} does not align with From's domain {from_domain}: the signature is made (allow_unaligned = true) but DMARC will not count it",
                        dkim.domain.trim()
                    );
                }
                warnings.push(crate::Problem::file(&config_file, text));
            }
            if let Err(e) = Letterhead::for_site(site) {
                let unaligned =
                    !crate::dkim::aligned(&dkim.domain, &from_domain) && !dkim.allow_unaligned;
                if !unaligned {
                    problems.push(crate::Problem::file(&config_file, e.to_string()));
                }
            }
        }
        let dkim_aligned = dkim.is_some_and(|d| crate::dkim::aligned(&d.domain, &from_domain));
        if let Some(sender) = &plain.envelope_from {
            let domain = sender
                .address("token", "post")
                .map(|a| a.domain().to_string())
                .unwrap_or_default();
            if !dkim_aligned && !crate::dkim::aligned(&domain, &from_domain) {
                warnings.push(crate::Problem::file(
                    &config_file,
                    format!(
                        "email.envelope_from is on {domain}, not {from_domain}, and no aligned DKIM key signs: \
                         neither SPF nor DKIM will align for DMARC; use a bounce address on {from_domain} or add [email.dkim]"
                    ),
                ));
            }
        }
        (problems, warnings)
    }

    /// Builds `recipient`'s copy of `newsletter`, dated `date`.
    pub fn compose(
        &self,
        newsletter: &Newsletter,
        recipient: &Recipient<'_>,
        date: SystemTime,
    ) -> Result<Letter, ComposeError> {
        let address: Address = recipient
            .email
            .trim()
            .parse()
            .map_err(|_| ComposeError::Address(recipient.email.to_string()))?;
        let name = recipient.name.map(one_line).filter(|n| !n.is_empty());
        let message_id = message_id(&newsletter.post_id, &address, &self.domain);
        let copy = newsletter
            .copy_for(recipient)
            .map_err(|e| ComposeError::Template(e.to_string()))?;
        let mut unsubscribe = format!("<{}>", newsletter.mailto_unsubscribe);
        if let Some(url) = &copy.https_unsubscribe {
            unsubscribe.push_str(&format!(", <{url}>"));
        }
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(copy.subject)
            .date(date)
            .message_id(Some(format!("<{message_id}>")))
            .raw_header(header("List-Id", self.list_id.clone()))
            .raw_header(header("List-Unsubscribe", unsubscribe));
        if copy.https_unsubscribe.is_some() {
            builder = builder.raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        let body = newsletter.encoders.parts(&copy.text, &copy.html);
        let mut message = match &self.signer {
            Some(_) => signable(builder, &body),
            None => builder.multipart(body),
        }
        .map_err(|e| ComposeError::Build(e.to_string()))?;
        if let Some(signer) = &self.signer {
            signer.sign(&mut message);
        }
        let envelope = match &self.envelope_from {
            Some(sender) => {
                let sender = sender.address(recipient.token, &newsletter.post_id)?;
                Envelope::new(Some(sender), message.envelope().to().to_vec())
                    .map_err(|e| ComposeError::Build(e.to_string()))?
            }
            None => message.envelope().clone(),
        };
        Ok(Letter {
            envelope,
            bytes: message.formatted(),
            message_id,
        })
    }
}

/// The message with its multipart body handed over ready-made, under a
/// Content-Type header of its own. lettre writes a multipart's Content-Type
/// as part of the body, after the DKIM-Signature, and signs it as absent:
/// a receiver would then see a Content-Type the signature says is not
/// there. As a header of the message, it is signed like the others.
fn signable(
    builder: lettre::message::MessageBuilder,
    body: &MultiPart,
) -> Result<lettre::Message, lettre::error::Error> {
    use lettre::message::header::{ContentTransferEncoding, ContentType};
    let formatted = body.formatted();
    let content_type = body.headers().get::<ContentType>();
    let split = formatted.windows(4).position(|w| w == b"\r\n\r\n");
    // lettre encodes each part for 7-bit transport (lines within 998
    // octets, ASCII), so the whole is 7-bit; checked, not assumed. (Its own
    // choice of encoding wants lines under 78 and would re-encode it.)
    let ready = split
        .map(|at| formatted[at + 4..].to_vec())
        .filter(|bytes| {
            bytes.is_ascii() && bytes.split(|&b| b == b'\n').all(|line| line.len() <= 998)
        });
    match (content_type, ready) {
        (Some(content_type), Some(ready)) => builder
            .header(content_type)
            .header(lettre::message::header::MIME_VERSION_1_0)
            .body(lettre::message::Body::dangerous_pre_encoded(
                ready,
                ContentTransferEncoding::SevenBit,
            )),
        _ => builder.multipart(body.clone()),
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), one_line(&value))
}

/// `herald.<post>.<subscriber>@domain`: the same for the same post and
/// address on every run and machine (FNV-1a, a fixed, documented hash; std's
/// hasher may change between Rust releases).
pub fn message_id(post_id: &str, address: &Address, domain: &str) -> String {
    let subscriber = address.to_string().to_ascii_lowercase();
    format!(
        "herald.{:016x}.{:016x}@{domain}",
        fnv1a(post_id.as_bytes()),
        fnv1a(subscriber.as_bytes())
    )
}

/// FNV-1a, 64 bits: a fixed, documented hash (std's may change between releases).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// RFC 2919 List-Id: the site title as the phrase and the site URL's host
/// and path, reversed like a domain: `https://example.org/blog` ->
/// `blog.example.org`.
fn list_id(title: &str, site_url: &str) -> String {
    let url = url::Url::parse(site_url).ok();
    let host = url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost");
    let mut labels: Vec<String> = url
        .as_ref()
        .and_then(|u| u.path_segments())
        .map(|segments| {
            segments
                .filter(|s| !s.is_empty())
                .rev()
                .map(label)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    labels.push(host.to_ascii_lowercase());
    let phrase: String = title
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '\''))
        .collect();
    format!("{} <{}>", one_line(&phrase), labels.join("."))
}

fn label(segment: &str) -> String {
    segment
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_per_post_and_subscriber() {
        let ada: Address = "Ada@Example.org".parse().unwrap();
        let ada_lower: Address = "ada@example.org".parse().unwrap();
        let bob: Address = "bob@example.org".parse().unwrap();
        let a = message_id("https://e.org/p/", &ada, "e.org");
        assert_eq!(a, message_id("https://e.org/p/", &ada_lower, "e.org"));
        assert_ne!(a, message_id("https://e.org/p/", &bob, "e.org"));
        assert_ne!(a, message_id("https://e.org/q/", &ada, "e.org"));
        assert!(a.starts_with("herald.") && a.ends_with("@e.org"), "{a}");
    }

    #[test]
    fn a_verp_envelope_sender_carries_the_token_and_is_found_again() {
        let verp = EnvelopeFrom::parse("bounces+{{ token }}@example.org").unwrap();
        assert!(verp.is_verp());
        let address = verp
            .address("abc123", "https://e.org/p/")
            .unwrap()
            .to_string();
        let token = verp_token("abc123", "https://e.org/p/");
        assert_eq!(address, format!("bounces+{token}@example.org"));
        assert_eq!(
            verp.token_in(&format!("<{}>", address.to_uppercase())),
            Some(token)
        );
        assert_eq!(verp.token_in("someone@example.org"), None);
        let fixed = EnvelopeFrom::parse("bounces@example.org").unwrap();
        assert!(!fixed.is_verp());
        assert_eq!(fixed.token_in("bounces@example.org"), None);
    }

    #[test]
    fn an_envelope_sender_that_is_no_address_or_has_other_placeholders_is_refused() {
        for bad in [
            "not an address",
            "b+{{ post }}@example.org",
            "{{ token }}{{ token }}@x.org",
        ] {
            let error = EnvelopeFrom::parse(bad).unwrap_err().to_string();
            assert!(error.contains("email.envelope_from"), "{bad}: {error}");
        }
    }

    #[test]
    fn list_id_reverses_the_site_path_onto_the_host() {
        assert_eq!(
            list_id("Working notes", "https://example.org/blog"),
            "Working notes <blog.example.org>"
        );
        assert_eq!(
            list_id("A \"quoted\" <title>", "https://Example.org"),
            "A quoted title <example.org>"
        );
    }
}
