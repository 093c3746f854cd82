//! `config/herald.toml` -> [`Config`].
//!
//! The key names are the interface (scripts and users write them), so they
//! follow DESIGN.md exactly. Unknown keys are an error naming the key and the
//! file; every default is written beside its field. Values that have a shape
//! (URLs, time zones, durations, rates) are checked here, once, so later
//! stages can trust them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// The most proof-of-work bits `[serve]` may ask for: 2^24 hashes is
/// already many seconds on a phone.
pub const MAX_PROOF_OF_WORK: u8 = 24;

/// Where the configuration lives, relative to the site root, unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "config/herald.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: SiteConfig,
    #[serde(default)]
    pub posts: PostsConfig,
    #[serde(default)]
    pub feeds: FeedsConfig,
    #[serde(default)]
    pub email: EmailConfig,
    #[serde(default)]
    pub serve: ServeConfig,
    pub smtp: Option<SmtpConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub title: String,
    /// Absolute base URL, required; kept without a trailing slash.
    #[serde(deserialize_with = "absolute_url")]
    pub url: String,
    #[serde(default)]
    pub description: String,
    pub author: Option<AuthorConfig>,
    #[serde(default = "default_language")]
    pub language: String,
    /// For dates written without an offset.
    #[serde(default = "default_timezone", deserialize_with = "timezone")]
    pub timezone: chrono_tz::Tz,
    #[serde(default = "default_permalink")]
    pub permalink: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthorConfig {
    pub name: String,
    #[serde(default, deserialize_with = "optional_address")]
    pub email: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostsConfig {
    #[serde(default = "default_posts_dir")]
    pub dir: PathBuf,
    /// Render Jekyll Liquid before Markdown.
    #[serde(default = "yes")]
    pub liquid: bool,
    /// Where `{% include %}` looks, if the folder exists.
    #[serde(default = "default_includes")]
    pub includes: PathBuf,
    /// Where the excerpt ends when front matter gives no summary.
    #[serde(default = "default_excerpt_separator")]
    pub excerpt_separator: String,
    /// Extra Liquid variables, visible as `{{ NAME }}` and `{{ site.NAME }}`.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    /// A Jekyll blog's `_config.yml`: Liquid sees all of it as `site.*`.
    pub jekyll_config: Option<PathBuf>,
    /// Categories every post has before its own, as Jekyll gives the posts
    /// of `blog/_posts` the category `blog`.
    #[serde(default)]
    pub categories: Vec<String>,
}

impl Default for PostsConfig {
    fn default() -> Self {
        PostsConfig {
            dir: default_posts_dir(),
            liquid: true,
            includes: default_includes(),
            excerpt_separator: default_excerpt_separator(),
            vars: BTreeMap::new(),
            jekyll_config: None,
            categories: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Atom,
    Rss,
    Json,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FeedContent {
    Full,
    Excerpt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    #[serde(default = "default_feeds_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_formats")]
    pub formats: Vec<FeedFormat>,
    /// Entries per feed; 0 = every post.
    #[serde(default = "default_limit")]
    pub limit: usize,
    #[serde(default = "default_content")]
    pub content: FeedContent,
    /// Per-tag feeds under `tags/<slug>/`.
    #[serde(default = "yes")]
    pub tags: bool,
    /// Per-category feeds under `categories/<slug>/`.
    #[serde(default = "yes")]
    pub categories: bool,
    /// File names inside each feed folder.
    #[serde(default = "default_atom_file")]
    pub atom_file: String,
    #[serde(default = "default_rss_file")]
    pub rss_file: String,
    #[serde(default = "default_json_file")]
    pub json_file: String,
    /// Entry ids: the permalink, or the id jekyll-feed gave (so readers
    /// do not see every post again after a move from Jekyll).
    #[serde(default)]
    pub ids: FeedIds,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeedIds {
    #[default]
    Permalink,
    Jekyll,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            dir: default_feeds_dir(),
            formats: default_formats(),
            limit: default_limit(),
            content: default_content(),
            tags: true,
            categories: true,
            atom_file: default_atom_file(),
            rss_file: default_rss_file(),
            json_file: default_json_file(),
            ids: FeedIds::Permalink,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `Name <address>`; defaults to the site author.
    pub from: Option<String>,
    #[serde(default = "default_subject")]
    pub subject: String,
    pub unsubscribe_mailto: Option<String>,
    /// May use `{{ token }}`, the subscriber's unsubscribe token.
    pub unsubscribe_url: Option<String>,
    /// How `send` hands messages over. Never implied by default: unset
    /// means "smtp" when `[smtp]` is written, else none (`send` refuses).
    pub transport: Option<Transport>,
    #[serde(default = "default_outbox")]
    pub outbox: PathBuf,
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// Where the email templates live (email.html, email.txt); compiled-in defaults otherwise.
    #[serde(default = "default_templates")]
    pub templates: PathBuf,
    /// The SMTP envelope sender (MAIL FROM), where bounces go. With
    /// `{{ token }}` in it, each message gets its own (VERP), which tells
    /// `herald bounces` whose copy came back. Unset: the From address.
    pub envelope_from: Option<String>,
    /// Consecutive posts that soft-bounce (mailbox full, 4xx that never
    /// cleared) before a reader is marked bounced; 0: never.
    #[serde(default = "default_soft_bounce_limit")]
    pub soft_bounce_limit: u32,
    /// DKIM signing; off when the section is absent.
    pub dkim: Option<DkimConfig>,
}

/// `[email.dkim]`: sign every message with the key in `key_file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The signing domain (d=); must align with From's domain for DMARC.
    pub domain: String,
    /// The selector (s=): the key's DNS name is `selector._domainkey.domain`.
    pub selector: String,
    /// PEM: RSA (2048 bits or more) or Ed25519, readable by the owner only.
    #[serde(default = "default_dkim_key_file")]
    pub key_file: PathBuf,
    /// Sign even when `domain` does not align with From's domain (DMARC
    /// will not count the signature).
    #[serde(default)]
    pub allow_unaligned: bool,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            from: None,
            subject: default_subject(),
            unsubscribe_mailto: None,
            unsubscribe_url: None,
            transport: None,
            outbox: default_outbox(),
            state: default_state(),
            templates: default_templates(),
            envelope_from: None,
            soft_bounce_limit: default_soft_bounce_limit(),
            dkim: None,
        }
    }
}

/// `[serve]`: the signup, confirm and unsubscribe pages of `herald serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Where `herald serve` listens; behind a reverse proxy, a loopback address.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the reverse proxy exposes the pages; links in mail are made from
    /// it, and with it set `send` puts the one-click unsubscribe URL in every
    /// message. Kept without a trailing slash.
    #[serde(default, deserialize_with = "optional_absolute_url")]
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed (the reverse proxy).
    #[serde(default = "default_trusted_proxies")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Signup attempts per client address (IPv6: per /64).
    #[serde(default = "default_per_ip", deserialize_with = "rate")]
    pub per_ip: Rate,
    /// Confirmation mails for the whole site; past it, signups are refused politely.
    #[serde(default = "default_confirmations", deserialize_with = "rate")]
    pub confirmations: Rate,
    /// A form sent back sooner than this after it was served is a robot's.
    #[serde(default = "default_min_fill_time", deserialize_with = "duration")]
    pub min_fill_time: Duration,
    /// Leading zero bits of the proof of work a signup needs; 0 = none.
    #[serde(default)]
    pub proof_of_work: u8,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            public_url: None,
            trusted_proxies: default_trusted_proxies(),
            per_ip: default_per_ip(),
            confirmations: default_confirmations(),
            min_fill_time: default_min_fill_time(),
            proof_of_work: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// 587 for STARTTLS, 465 for implicit TLS, 25 for none.
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: Tls,
    pub username: Option<String>,
    /// A command whose standard output is the password; else $HERALD_SMTP_PASSWORD.
    pub password_command: Option<String>,
    #[serde(default = "default_connections")]
    pub connections: u32,
    #[serde(default = "default_rate", deserialize_with = "rate")]
    pub rate: Rate,
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// A PEM file of extra CA certificates to trust besides the public roots
    /// (a relay with a private or self-signed certificate).
    pub ca_file: Option<PathBuf>,
    /// How often a message is retried after a 4xx reply, a dropped connection or a timeout.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first wait before a retry; it doubles each time, up to 64 times this.
    #[serde(default = "default_backoff", deserialize_with = "duration")]
    pub backoff: Duration,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Starttls => 587,
            Tls::Tls => 465,
            Tls::None => 25,
        })
    }
}

/// A sending rate: `count` messages per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub fn parse(text: &str) -> Option<Rate> {
        let (count, unit) = text.trim().split_once('/')?;
        let count: u32 = count.trim().parse().ok().filter(|&c| c > 0)?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return None,
        };
        Some(Rate { count, per })
    }

    /// The least time between two messages.
    pub fn interval(&self) -> Duration {
        self.per / self.count
    }
}

/// Parses "30s", "2m", "1h", "500ms".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number * 60)),
        "h" => Some(Duration::from_secs(number * 3600)),
        _ => None,
    }
}

impl Config {
    /// Reads and checks the configuration at `path`; messages call it `shown`.
    pub fn load(path: &Path, shown: &Path) -> Result<Config> {
        let text = fs_err::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::config(
                    shown,
                    None,
                    "no configuration file here; run `herald init` to make a site, or pass -C DIR / --config FILE",
                )
            } else {
                Error::Io(e)
            }
        })?;
        Config::parse(&text, shown)
    }

    /// Parses configuration text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let config = toml::from_str::<Config>(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            Error::config(path, line, e.message().to_string())
        })?;
        config.check_serve(text, path)?;
        Ok(config)
    }

    /// What `[serve]` cannot hold that serde cannot see.
    fn check_serve(&self, text: &str, path: &Path) -> Result<()> {
        let line_with = |key: &str| {
            text.find(&format!("{key} ="))
                .or_else(|| text.find(&format!("{key}=")))
                .map(|at| line_of(text, at))
        };
        if self.serve.proof_of_work > MAX_PROOF_OF_WORK {
            return Err(Error::config(
                path,
                line_with("proof_of_work"),
                format!(
                    "serve.proof_of_work is {} bits; at most {MAX_PROOF_OF_WORK} (each bit doubles a phone's work: 16 to 20 is a good range)",
                    self.serve.proof_of_work
                ),
            ));
        }
        if self.serve.public_url.is_some() && self.email.unsubscribe_url.is_some() {
            return Err(Error::config(
                path,
                line_with("unsubscribe_url"),
                "email.unsubscribe_url and serve.public_url are both set: with public_url, `send` links to \
                 herald serve's own one-click unsubscribe page, so remove unsubscribe_url (or public_url, \
                 to keep your own unsubscribe handler)",
            ));
        }
        Ok(())
    }

    /// The transport the author chose: `email.transport`, else SMTP when an
    /// `[smtp]` section is written, else none. The outbox is never a
    /// default: a default that records readers as sent would use a post up.
    pub fn transport(&self) -> Option<Transport> {
        self.email
            .transport
            .or(self.smtp.as_ref().map(|_| Transport::Smtp))
    }
}

/// The 1-based line number of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

pub fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    let offset = offset.min(bytes.len());
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

fn absolute_url<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let text = String::deserialize(d)?;
    match url::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(text.trim_end_matches('/').to_string())
        }
        _ => Err(serde::de::Error::custom(format!(
            "`url` must be an absolute http(s) URL such as \"https://example.org/blog\", not {text:?}"
        ))),
    }
}

/// An author's address, which feeds print as it is: a mailbox, not
/// whatever a theme put there (a `javascript:` link, seen on a real blog).
fn optional_address<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match text.parse::<lettre::Address>() {
        Ok(_) => Ok(Some(text)),
        Err(_) => Err(serde::de::Error::custom(format!(
            "`email` must be an email address such as \"jane@example.org\", not {text:?}"
        ))),
    }
}

fn optional_absolute_url<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match url::Url::parse(&text) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            Ok(Some(text.trim_end_matches('/').to_string()))
        }
        _ => Err(serde::de::Error::custom(format!(
            "`public_url` must be an absolute http(s) URL without a query, such as \"https://example.org/newsletter\", not {text:?}"
        ))),
    }
}

fn timezone<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<chrono_tz::Tz, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {text:?}; use an IANA name such as \"Europe/Berlin\" or \"UTC\""
        ))
    })
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Rate, D::Error> {
    let text = String::deserialize(d)?;
    Rate::parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "rate {text:?} is not a rate; write it as \"20/s\", \"300/m\" or \"1000/h\""
        ))
    })
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration; write it as \"30s\", \"2m\" or \"500ms\""
        ))
    })
}

fn yes() -> bool {
    true
}
fn default_language() -> String {
    "en".into()
}
fn default_timezone() -> chrono_tz::Tz {
    chrono_tz::UTC
}
fn default_permalink() -> String {
    "/:year/:month/:day/:slug/".into()
}
fn default_posts_dir() -> PathBuf {
    "posts".into()
}
fn default_includes() -> PathBuf {
    "_includes".into()
}
fn default_excerpt_separator() -> String {
    "<!--more-->".into()
}
fn default_feeds_dir() -> PathBuf {
    "public".into()
}
fn default_formats() -> Vec<FeedFormat> {
    vec![FeedFormat::Atom, FeedFormat::Rss, FeedFormat::Json]
}
fn default_limit() -> usize {
    20
}
fn default_content() -> FeedContent {
    FeedContent::Full
}
fn default_atom_file() -> String {
    "atom.xml".into()
}
fn default_rss_file() -> String {
    "rss.xml".into()
}
fn default_json_file() -> String {
    "feed.json".into()
}
fn default_subject() -> String {
    "{{ post.title }}".into()
}
fn default_outbox() -> PathBuf {
    "outbox".into()
}
fn default_state() -> PathBuf {
    ".herald/herald.db".into()
}
fn default_templates() -> PathBuf {
    "templates".into()
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8025))
}
fn default_trusted_proxies() -> Vec<IpAddr> {
    vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ]
}
fn default_per_ip() -> Rate {
    Rate {
        count: 10,
        per: Duration::from_secs(3600),
    }
}
fn default_confirmations() -> Rate {
    Rate {
        count: 100,
        per: Duration::from_secs(3600),
    }
}
fn default_min_fill_time() -> Duration {
    Duration::from_secs(2)
}
fn default_soft_bounce_limit() -> u32 {
    3
}
fn default_dkim_key_file() -> PathBuf {
    ".herald/dkim.pem".into()
}
fn default_tls() -> Tls {
    Tls::Starttls
}
fn default_connections() -> u32 {
    4
}
fn default_rate() -> Rate {
    Rate {
        count: 20,
        per: Duration::from_secs(1),
    }
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    5
}
fn default_backoff() -> Duration {
    Duration::from_secs(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("config/herald.toml"))
    }

    #[test]
    fn a_minimal_config_gets_every_default() {
        let config = parse("[site]\ntitle = \"T\"\nurl = \"https://example.org/blog/\"\n").unwrap();
        assert_eq!(config.site.url, "https://example.org/blog");
        assert_eq!(config.feeds.limit, 20);
        assert_eq!(config.posts.dir, PathBuf::from("posts"));
        assert_eq!(
            config.transport(),
            None,
            "no transport unless one is chosen"
        );
    }

    #[test]
    fn unknown_keys_are_named_with_file_and_line() {
        let err = parse("[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n[feeds]\nlimt = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config/herald.toml:5:"), "{err}");
        assert!(err.contains("limt"), "{err}");
    }

    #[test]
    fn a_relative_site_url_is_refused() {
        let err = parse("[site]\ntitle = \"T\"\nurl = \"/blog\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("absolute"), "{err}");
    }

    #[test]
    fn an_author_email_must_be_an_address() {
        let site = "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n";
        let err = parse(&format!(
            "{site}author = {{ name = \"J\", email = \"javascript:alert(1)\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("config/herald.toml:4:"), "{err}");
        assert!(err.contains("must be an email address"), "{err}");
        let config = parse(&format!(
            "{site}author = {{ name = \"J\", email = \"j@e.org\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            config.site.author.unwrap().email.as_deref(),
            Some("j@e.org")
        );
    }

    #[test]
    fn serve_has_safe_defaults_and_checks_its_values() {
        let base = "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n";
        let config = parse(base).unwrap();
        assert_eq!(config.serve.listen.to_string(), "127.0.0.1:8025");
        assert_eq!(config.serve.public_url, None);
        assert_eq!(config.serve.proof_of_work, 0);
        let config = parse(&format!(
            "{base}[serve]\npublic_url = \"https://e.org/news/\"\ntrusted_proxies = [\"10.0.0.1\"]\nper_ip = \"3/m\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.serve.public_url.as_deref(),
            Some("https://e.org/news")
        );
        assert_eq!(config.serve.per_ip.count, 3);
        let err = parse(&format!("{base}[serve]\nproof_of_work = 40\n"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config/herald.toml:5:"), "{err}");
        let err = parse(&format!("{base}[serve]\npublic_url = \"/news\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("absolute"), "{err}");
        let err = parse(&format!(
            "{base}[email]\nunsubscribe_url = \"https://e.org/u?t={{{{ token }}}}\"\n[serve]\npublic_url = \"https://e.org/n\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("both set"), "{err}");
    }

    #[test]
    fn rates_and_durations_parse() {
        assert_eq!(
            Rate::parse("20/s").unwrap().interval(),
            Duration::from_millis(50)
        );
        assert_eq!(
            Rate::parse("60/m").unwrap().interval(),
            Duration::from_secs(1)
        );
        assert!(Rate::parse("0/s").is_none());
        assert!(Rate::parse("fast").is_none());
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("soon"), None);
    }
}
