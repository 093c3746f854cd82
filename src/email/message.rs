//! One subscriber's copy of a [`Newsletter`] as an RFC 5322 message: the
//! headers a mailing list needs and a multipart/alternative body.
//!
//! lettre writes the MIME: it folds and RFC 2047-encodes header values (so
//! no title or name can add a header line) and picks each part's transfer
//! encoding (7bit, quoted-printable or base64), which keeps every line
//! within 998 octets however long the HTML's lines are. This module adds
//! what lettre leaves to the caller: a Message-ID that is stable per post
//! and subscriber (a re-send after a crash is recognisably the same
//! message), List-Id and the RFC 2369/8058 unsubscribe headers.

use std::time::SystemTime;

use lettre::address::{Address, Envelope};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::config::Config;
use crate::email::template::{Newsletter, Recipient, one_line};
use crate::error::{Error, Result};

/// What every message of a site shares: sender and list identity.
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub from: Mailbox,
    /// The From address's domain: Message-IDs live there.
    pub domain: String,
    /// `Title <list.id>` for List-Id.
    pub list_id: String,
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
    pub fn new(config: &Config) -> Result<Letterhead> {
        let from = from_mailbox(config)?;
        let domain = from.email.domain().to_ascii_lowercase();
        Ok(Letterhead {
            list_id: list_id(&config.site.title, &config.site.url),
            from,
            domain,
        })
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
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(copy.text))
            .singlepart(SinglePart::html(copy.html));
        let message = builder
            .multipart(body)
            .map_err(|e| ComposeError::Build(e.to_string()))?;
        Ok(Letter {
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
            message_id,
        })
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
