//! A post rendered into a [`Newsletter`]: the post's part of its email made
//! once, and each reader's copy rendered from it for real.
//!
//! The templates (`email.html`, `email.txt`, and `email.subject` and
//! `email.unsubscribe_url` from the configuration) are minijinja; the user's
//! `templates/` folder wins over the compiled-in defaults. Per post, the
//! content is rendered once (Liquid, Markdown, portable HTML) and handed to
//! the templates as a ready value. Per reader, every template is rendered
//! with that reader's values, so filters and conditions on `subscriber.*`
//! work; the costly CSS inlining is shared between readers whose copies
//! have one shape (`shape`). This module does not build MIME messages
//! (`message` does) or send them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::{Environment, HtmlEscape, UndefinedBehavior, Value, context};
use url::Url;

use crate::content::Content;
use crate::email::shape::{Markers, Shapes, Slot};
use crate::email::text;
use crate::email::transfer::Alternative;
use crate::error::{Error, Result};
use crate::post::Post;
use crate::scaffold;
use crate::site::Site;
use crate::token::Keys;

/// Who one copy is for: what personalisation needs, nothing of the ledger.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// The subscriber's unsubscribe token, `{{ token }}` in `unsubscribe_url`.
    pub token: &'a str,
}

/// One reader's subject and bodies.
#[derive(Debug, Clone)]
pub struct Copy {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The reader's https unsubscribe URL, when one is configured.
    pub https_unsubscribe: Option<String>,
}

/// The readers the templates are tried on before anything is sent, so a
/// template error stops the run at once instead of failing every reader.
const PROBES: [Recipient<'static>; 2] = [
    Recipient {
        email: "reader@example.org",
        name: Some("Sample Reader"),
        token: "preview-token",
    },
    Recipient {
        email: "reader@example.org",
        name: None,
        token: "preview-token",
    },
];

/// One post's email, ready to be rendered for each reader.
#[derive(Debug)]
pub struct Newsletter {
    /// The post's ledger identity: `Post::feed_id`.
    pub post_id: String,
    pub slug: String,
    pub title: String,
    /// The subject as a sample reader gets it (for summaries); one line.
    pub subject: String,
    /// `mailto:` URL for unsubscribing; always present.
    pub mailto_unsubscribe: String,
    templates: Arc<Shared>,
    site: Value,
    post: Value,
    markers: Markers,
    shapes: Shapes,
    /// Bytes of the sample reader's HTML (for the Gmail clipping warning).
    html_len: usize,
    /// The parts' transfer encoding, shared by every reader's copy.
    pub encoders: Alternative,
}

impl Newsletter {
    /// `recipient`'s copy: every template rendered with their values.
    pub fn copy_for(&self, recipient: &Recipient<'_>) -> Result<Copy> {
        let https_unsubscribe = self.https_unsubscribe_for(recipient)?;
        let unsubscribe_url = https_unsubscribe
            .clone()
            .unwrap_or_else(|| self.mailto_unsubscribe.clone());
        let name = recipient.name.map(one_line).unwrap_or_default();
        let ctx = self.context(recipient.email, &name, &unsubscribe_url);
        let real = self.templates.render("email.html", &ctx)?;
        let escaped = |text: &str| HtmlEscape(text).to_string();
        let (email, name_html, url) = (
            escaped(recipient.email),
            escaped(&name),
            escaped(&unsubscribe_url),
        );
        let values = [
            (Slot::Email, Some(email.as_str())),
            (Slot::Name, (!name.is_empty()).then_some(name_html.as_str())),
            (Slot::UnsubscribeUrl, Some(url.as_str())),
        ];
        let marked = || {
            let word = |slot| self.markers.word(slot);
            let name = if name.is_empty() {
                String::new()
            } else {
                word(Slot::Name)
            };
            let ctx = self.context(&word(Slot::Email), &name, &word(Slot::UnsubscribeUrl));
            self.templates.render("email.html", &ctx)
        };
        let html = self
            .shapes
            .inline(&real, &values, &self.markers, marked, inline_css)?;
        let text = self.templates.render("email.txt", &ctx)?;
        let subject = one_line(&self.templates.render("subject", &ctx)?);
        let copy = Copy {
            subject: if subject.is_empty() {
                one_line(&self.title)
            } else {
                subject
            },
            html,
            text,
            https_unsubscribe,
        };
        self.refuse_markers(&copy)?;
        Ok(copy)
    }

    /// The subscriber's https unsubscribe URL, when one is configured.
    pub fn https_unsubscribe_for(&self, recipient: &Recipient<'_>) -> Result<Option<String>> {
        match &self.templates.https_unsubscribe {
            Unsubscribe::MailtoOnly => Ok(None),
            Unsubscribe::Template => {
                let ctx = context! { token => encode_component(recipient.token) };
                self.templates
                    .render("unsubscribe_url", &ctx)
                    .map(|url| Some(one_line(&url)))
            }
            Unsubscribe::Serve { public_url, keys } => {
                let token = keys.unsubscribe_token(recipient.token, recipient.email);
                Ok(Some(format!(
                    "{public_url}/unsubscribe?t={}",
                    encode_component(&token)
                )))
            }
        }
    }

    /// Bytes of a sample reader's HTML (for the Gmail clipping warning).
    pub fn html_len(&self) -> usize {
        self.html_len
    }

    fn context(&self, email: &str, name: &str, unsubscribe_url: &str) -> Value {
        context! {
            site => self.site.clone(),
            post => self.post.clone(),
            subscriber => context! { email => email, name => name },
            unsubscribe_url => unsubscribe_url,
        }
    }

    /// A marker word that reached a copy would go to a reader: never send it.
    fn refuse_markers(&self, copy: &Copy) -> Result<()> {
        for (part, text) in [
            ("HTML", &copy.html),
            ("text", &copy.text),
            ("subject", &copy.subject),
        ] {
            if self.markers.found_in(text) {
                return Err(Error::Message(format!(
                    "{}: a placeholder of herald's own reached the email's {part}; nothing is sent (please report this)",
                    self.slug
                )));
            }
        }
        Ok(())
    }
}

/// The compiled templates and where they came from, shared by a site's newsletters.
#[derive(Debug)]
struct Shared {
    env: Environment<'static>,
    https_unsubscribe: Unsubscribe,
    /// How messages name the templates folder and the configuration file.
    dir: PathBuf,
    config: PathBuf,
}

impl Shared {
    fn render(&self, name: &str, ctx: &Value) -> Result<String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| self.error(name, &e))?;
        template.render(ctx).map_err(|e| self.error(name, &e))
    }

    fn error(&self, name: &str, e: &minijinja::Error) -> Error {
        let path = match name {
            "subject" | "unsubscribe_url" => self.config.clone(),
            _ => self.dir.join(name),
        };
        template_error(&path, e)
    }
}

/// Where a reader's https unsubscribe link points.
enum Unsubscribe {
    /// Nowhere: List-Unsubscribe has only the mailto.
    MailtoOnly,
    /// `email.unsubscribe_url`, compiled as the template `unsubscribe_url`.
    Template,
    /// `herald serve`'s one-click page under `serve.public_url`, with a signed token.
    Serve { public_url: String, keys: Keys },
}

impl std::fmt::Debug for Unsubscribe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsubscribe::MailtoOnly => f.write_str("MailtoOnly"),
            Unsubscribe::Template => f.write_str("Template"),
            Unsubscribe::Serve { public_url, .. } => write!(f, "Serve({public_url})"),
        }
    }
}

/// The email templates of a site, loaded once and used for every post.
pub struct Templates {
    shared: Arc<Shared>,
    mailto: String,
}

impl Templates {
    /// Loads `email.html` and `email.txt` from the site's templates folder,
    /// each falling back to the compiled-in default, and the subject and
    /// unsubscribe URL templates from the configuration.
    pub fn load(site: &Site) -> Result<Templates> {
        let email = &site.config.email;
        let dir = site.path(&email.templates);
        let config = site.shown(&site.config_path);
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
            .map_err(|e| template_error(&config, &e))?;
        if let Some(url) = &email.unsubscribe_url {
            env.add_template_owned("unsubscribe_url", url.clone())
                .map_err(|e| template_error(&config, &e))?;
        }
        let https_unsubscribe = match (&site.config.serve.public_url, &email.unsubscribe_url) {
            (Some(public_url), _) => Unsubscribe::Serve {
                public_url: public_url.clone(),
                keys: Keys::load(&site.path(&email.state))?,
            },
            (None, Some(_)) => Unsubscribe::Template,
            (None, None) => Unsubscribe::MailtoOnly,
        };
        Ok(Templates {
            shared: Arc::new(Shared {
                env,
                https_unsubscribe,
                dir: site.shown(&dir),
                config,
            }),
            mailto: mailto_unsubscribe(site)?,
        })
    }

    /// Makes `post`'s newsletter from its `content` (rendered once by the
    /// caller), and tries it on sample readers so a template error stops
    /// here, before anyone is mailed.
    pub fn render(&self, site: &Site, post: &Post, content: &Content) -> Result<Newsletter> {
        let text_body = text::from_html(&content.html, &post.url);
        let mut newsletter = Newsletter {
            post_id: post.feed_id().to_string(),
            slug: post.slug.clone(),
            title: crate::html::plain_text(&post.title),
            subject: String::new(),
            mailto_unsubscribe: self.mailto.clone(),
            templates: Arc::clone(&self.shared),
            site: site_value(site),
            post: post_value(post, content, &text_body),
            markers: Markers::new(),
            shapes: Shapes::default(),
            html_len: 0,
            encoders: Alternative::default(),
        };
        for probe in PROBES.iter().rev() {
            let copy = newsletter.copy_for(probe)?;
            newsletter.subject = copy.subject;
            newsletter.html_len = copy.html.len();
        }
        Ok(newsletter)
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
        // Plain text, as in the feeds: the templates escape it for HTML.
        title => crate::html::plain_text(&post.title),
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
