//! A post rendered into a [`Newsletter`]: the HTML and text bodies of its
//! email, made once per post and personalised per subscriber cheaply.
//!
//! The templates (`email.html`, `email.txt`, and `email.subject` from the
//! configuration) are minijinja; the user's `templates/` folder wins over the
//! compiled-in defaults. The HTML is rendered and its CSS inlined (css-inline)
//! once per post, with unique placeholder words where the subscriber's
//! details go; the result is split at those words into [`Pieces`], so each
//! subscriber's copy is one concatenation, never a re-render or re-inline.
//! This module does not build MIME messages (`message` does) or send them.

use std::fmt::Write as _;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value, context};
use url::Url;

use crate::content::Content;
use crate::error::{Error, Result};
use crate::html;
use crate::post::Post;
use crate::scaffold;
use crate::site::Site;

/// Width of the text part's lines (html2text wraps there).
const TEXT_WIDTH: usize = 72;

/// Where a subscriber's own details go. The placeholder words are plain
/// ASCII letters so that HTML escaping, CSS inlining and text wrapping all
/// pass them through untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    UnsubscribeUrl,
    Name,
    Email,
    Token,
}

const SLOTS: [(Slot, &str); 4] = [
    (Slot::UnsubscribeUrl, "xHERALDxUNSUBSCRIBExURLx"),
    (Slot::Name, "xHERALDxSUBSCRIBERxNAMEx"),
    (Slot::Email, "xHERALDxSUBSCRIBERxEMAILx"),
    (Slot::Token, "xHERALDxSUBSCRIBERxTOKENx"),
];

fn placeholder(slot: Slot) -> &'static str {
    SLOTS
        .iter()
        .find(|(s, _)| *s == slot)
        .map_or("", |(_, p)| p)
}

/// Who one copy is for: what personalisation needs, nothing of the ledger.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// The subscriber's unsubscribe token, `{{ token }}` in `unsubscribe_url`.
    pub token: &'a str,
}

/// A text cut at the placeholders: literal runs and slots, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pieces {
    parts: Vec<Piece>,
    literal_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

impl Pieces {
    fn split(text: &str) -> Pieces {
        let mut parts = Vec::new();
        let mut rest = text;
        loop {
            let next = SLOTS
                .iter()
                .filter_map(|(slot, word)| rest.find(word).map(|at| (at, *slot, word.len())))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, slot, len)) => {
                    if at > 0 {
                        parts.push(Piece::Text(rest[..at].to_string()));
                    }
                    parts.push(Piece::Slot(slot));
                    rest = &rest[at + len..];
                }
                None => {
                    if !rest.is_empty() {
                        parts.push(Piece::Text(rest.to_string()));
                    }
                    break;
                }
            }
        }
        let literal_len = parts
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Slot(_) => 0,
            })
            .sum();
        Pieces { parts, literal_len }
    }

    /// The text with `values` in the slots, HTML-escaped when `escape`.
    fn fill(&self, values: &Values<'_>, escape: bool) -> String {
        let mut out = String::with_capacity(self.literal_len + 256);
        for part in &self.parts {
            match part {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(slot) => {
                    let value = values.get(*slot);
                    if escape {
                        out.push_str(&html::escape(value));
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }

    /// Bytes of the text without the slots' values: what every copy shares.
    pub fn len(&self) -> usize {
        self.literal_len
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

struct Values<'a> {
    unsubscribe_url: String,
    recipient: &'a Recipient<'a>,
}

impl Values<'_> {
    fn get(&self, slot: Slot) -> &str {
        match slot {
            Slot::UnsubscribeUrl => &self.unsubscribe_url,
            Slot::Name => self.recipient.name.unwrap_or(""),
            Slot::Email => self.recipient.email,
            Slot::Token => self.recipient.token,
        }
    }
}

/// One post's email, ready to be personalised for each subscriber.
#[derive(Debug, Clone)]
pub struct Newsletter {
    /// The post's ledger identity: `Post::feed_id`.
    pub post_id: String,
    pub slug: String,
    pub title: String,
    /// One line, no control characters: safe as a header.
    pub subject: String,
    html: Pieces,
    text: Pieces,
    /// `unsubscribe_url` with the token's slot; `None` when not configured.
    https_unsubscribe: Option<Pieces>,
    /// `mailto:` URL for unsubscribing; always present.
    pub mailto_unsubscribe: String,
}

impl Newsletter {
    pub fn html_for(&self, recipient: &Recipient<'_>) -> String {
        self.html.fill(&self.values(recipient), true)
    }

    pub fn text_for(&self, recipient: &Recipient<'_>) -> String {
        self.text.fill(&self.values(recipient), false)
    }

    /// The subscriber's https unsubscribe URL, when one is configured.
    pub fn https_unsubscribe_for(&self, recipient: &Recipient<'_>) -> Option<String> {
        self.https_unsubscribe.as_ref().map(|pieces| {
            let values = Values {
                unsubscribe_url: String::new(),
                recipient: &Recipient {
                    token: &encode_component(recipient.token),
                    ..*recipient
                },
            };
            pieces.fill(&values, false)
        })
    }

    /// Shared HTML bytes, before personalisation (for the Gmail clipping warning).
    pub fn html_len(&self) -> usize {
        self.html.len()
    }

    fn values<'a>(&self, recipient: &'a Recipient<'a>) -> Values<'a> {
        let unsubscribe_url = self
            .https_unsubscribe_for(recipient)
            .unwrap_or_else(|| self.mailto_unsubscribe.clone());
        Values {
            unsubscribe_url,
            recipient,
        }
    }
}

/// The email templates of a site, loaded once and used for every post.
pub struct Templates {
    env: Environment<'static>,
    mailto: String,
}

impl Templates {
    /// Loads `email.html` and `email.txt` from the site's templates folder,
    /// each falling back to the compiled-in default, and the subject template.
    pub fn load(site: &Site) -> Result<Templates> {
        let email = &site.config.email;
        let dir = site.path(&email.templates);
        let mut env = Environment::new();
        // A misspelt variable should be an error the author sees in `preview`,
        // not a blank in a thousand inboxes.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, default) in [
            ("email.html", scaffold::EMAIL_HTML),
            ("email.txt", scaffold::EMAIL_TXT),
        ] {
            let path = dir.join(name);
            let source = match fs_err::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => default.to_string(),
                Err(e) => return Err(Error::Io(e)),
            };
            env.add_template_owned(name, source)
                .map_err(|e| template_error(&site.shown(&path), &e))?;
        }
        env.add_template_owned("subject", email.subject.clone())
            .map_err(|e| template_error(&site.shown(&site.config_path), &e))?;
        Ok(Templates {
            env,
            mailto: mailto_unsubscribe(site)?,
        })
    }

    /// Renders `post` (whose rendered `content` the caller made once) into a newsletter.
    pub fn render(&self, site: &Site, post: &Post, content: &Content) -> Result<Newsletter> {
        let text_body = html_to_text(&content.html);
        let ctx = context! {
            site => site_value(site),
            post => post_value(post, content, &text_body),
            subscriber => context! {
                email => placeholder(Slot::Email),
                name => placeholder(Slot::Name),
            },
            unsubscribe_url => placeholder(Slot::UnsubscribeUrl),
        };
        let render = |name: &str| -> Result<String> {
            let template = self
                .env
                .get_template(name)
                .map_err(|e| self.error(site, name, &e))?;
            template
                .render(&ctx)
                .map_err(|e| self.error(site, name, &e))
        };
        let html = inline_css(&render("email.html")?)?;
        let text = render("email.txt")?;
        let subject = one_line(&render("subject")?);
        let https_unsubscribe = match &site.config.email.unsubscribe_url {
            Some(template) => {
                let url = self
                    .env
                    .render_str(template, context! { token => placeholder(Slot::Token) })
                    .map_err(|e| template_error(&site.shown(&site.config_path), &e))?;
                Some(Pieces::split(&url))
            }
            None => None,
        };
        Ok(Newsletter {
            post_id: post.feed_id().to_string(),
            slug: post.slug.clone(),
            title: post.title.clone(),
            subject: if subject.is_empty() {
                one_line(&post.title)
            } else {
                subject
            },
            html: Pieces::split(&html),
            text: Pieces::split(&text),
            https_unsubscribe,
            mailto_unsubscribe: self.mailto.clone(),
        })
    }

    fn error(&self, site: &Site, name: &str, e: &minijinja::Error) -> Error {
        let path = match name {
            "subject" => site.shown(&site.config_path),
            _ => site.shown(&site.path(&site.config.email.templates).join(name)),
        };
        template_error(&path, e)
    }
}

fn template_error(path: &Path, e: &minijinja::Error) -> Error {
    let mut message = format!("template: {}", e.kind());
    if let Some(detail) = e.detail() {
        let _ = write!(message, ": {detail}");
    }
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        message.push_str(
            " (available: site.*, post.title/url/date/content/text/excerpt/tags, subscriber.email/name, unsubscribe_url)",
        );
    }
    Error::config(path, e.line(), message)
}

fn site_value(site: &Site) -> Value {
    let c = &site.config.site;
    context! {
        title => &c.title,
        url => &c.url,
        description => &c.description,
        language => &c.language,
        author => c.author.as_ref().map(|a| context! { name => &a.name, email => &a.email }),
    }
}

fn post_value(post: &Post, content: &Content, text: &str) -> Value {
    context! {
        title => &post.title,
        url => &post.url,
        date => post.date.format("%-d %B %Y").to_string(),
        date_iso => post.date.to_rfc3339(),
        tags => &post.tags,
        categories => &post.categories,
        authors => post.authors.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        content => Value::from_safe_string(content.html.clone()),
        excerpt => Value::from_safe_string(content.excerpt.clone()),
        text => text,
        lang => &post.lang,
    }
}

/// Moves the template's `<style>` rules onto the elements, once per post, so
/// clients that strip `<style>` (some webmail, many corporate filters) still
/// show the layout and readable code blocks. `@media` rules (dark mode,
/// phone width) cannot be inlined and stay in a `<style>` element.
fn inline_css(html: &str) -> Result<String> {
    css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_at_rules(true)
        .build()
        .inline(html)
        .map_err(|e| Error::Message(format!("cannot inline the email's CSS: {e}")))
}

/// The text/plain alternative: the post's HTML as wrapped text with links
/// listed as numbered references, which reads well in mutt and in previews.
pub fn html_to_text(html: &str) -> String {
    html2text::from_read(html.as_bytes(), TEXT_WIDTH).unwrap_or_else(|_| html.to_string())
}

/// Control characters (CR, LF, tab, ...) become spaces and runs of spaces
/// collapse: a title can never add a header line.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `email.unsubscribe_mailto`, else the From address, as a `mailto:` URL
/// whose subject says what the reader wants.
fn mailto_unsubscribe(site: &Site) -> Result<String> {
    let address = match &site.config.email.unsubscribe_mailto {
        Some(address) => address.trim().to_string(),
        None => crate::email::message::from_mailbox(&site.config)?
            .email
            .to_string(),
    };
    let mut url = Url::parse(&format!("mailto:{address}")).map_err(|_| {
        Error::config(
            &site.config_path,
            None,
            format!("email.unsubscribe_mailto {address:?} is not an address"),
        )
    })?;
    url.set_query(Some("subject=unsubscribe"));
    Ok(url.to_string())
}

fn encode_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> Recipient<'static> {
        Recipient {
            email: "ada@example.org",
            name: Some("Ada <&> Lovelace"),
            token: "t0k/en",
        }
    }

    #[test]
    fn pieces_fill_every_slot_and_escape_only_html() {
        let text = format!(
            "Hi {}, <a href=\"{}\">x</a> {}",
            placeholder(Slot::Name),
            placeholder(Slot::UnsubscribeUrl),
            placeholder(Slot::Name)
        );
        let pieces = Pieces::split(&text);
        let r = recipient();
        let values = Values {
            unsubscribe_url: "https://e.org/u?a=1&t=2".into(),
            recipient: &r,
        };
        assert_eq!(
            pieces.fill(&values, true),
            "Hi Ada &lt;&amp;&gt; Lovelace, <a href=\"https://e.org/u?a=1&amp;t=2\">x</a> Ada &lt;&amp;&gt; Lovelace"
        );
        assert_eq!(
            pieces.fill(&values, false),
            "Hi Ada <&> Lovelace, <a href=\"https://e.org/u?a=1&t=2\">x</a> Ada <&> Lovelace"
        );
    }

    #[test]
    fn text_without_placeholders_is_one_piece() {
        let pieces = Pieces::split("plain");
        assert_eq!(pieces.parts, vec![Piece::Text("plain".into())]);
        assert_eq!(pieces.len(), 5);
    }

    #[test]
    fn a_title_with_line_breaks_becomes_one_line() {
        assert_eq!(
            one_line("Hello\r\nBcc: victim@example.org\t x"),
            "Hello Bcc: victim@example.org x"
        );
    }

    #[test]
    fn css_is_inlined_and_media_rules_are_kept() {
        let html = "<html><head><style>pre { white-space: pre-wrap; } @media (prefers-color-scheme: dark) { body { color: #eee !important; } }</style></head><body><pre>x</pre></body></html>";
        let out = inline_css(html).unwrap();
        assert!(
            out.contains("<pre style=\"white-space: pre-wrap;\">"),
            "{out}"
        );
        assert!(out.contains("prefers-color-scheme"), "{out}");
    }
}
