//! Portable HTML straight from Markdown's events, without writing the HTML
//! and reading it back.
//!
//! [`portable`] hands [`super::direct`]'s cleaner the tokens it would read
//! from pulldown-cmark's `push_html` output: the same tags, attributes
//! (values as the tokenizer decodes them), texts and newlines, in the same
//! order, so the cleaned HTML is the same bytes. Writing a post's HTML,
//! finding its tags again and decoding its text was a fifth of rendering
//! it. Raw HTML (a post's own, and the footnote markup `markdown` makes)
//! goes through the cleaner's tokenizer as it stands. Whatever the
//! tokenizer would refuse, and the events herald's Markdown options never
//! produce, give `None`, and the caller cleans the written HTML instead.
//! Tests compare the two ways on real posts and on every construct.

use std::borrow::Cow;

use pulldown_cmark::{Alignment, BlockQuoteKind, CodeBlockKind, Event, LinkType, Tag, TagEnd};
use url::Url;

use super::direct::{Cleaner, StartTag, decode};
use super::settled::{Element, plain};

const A: Element = plain("a");
const BLOCKQUOTE: Element = plain("blockquote");
const BR: Element = plain("br");
const CODE: Element = plain("code");
const DEL: Element = plain("del");
const EM: Element = plain("em");
const HEADINGS: [Element; 6] = [
    plain("h1"),
    plain("h2"),
    plain("h3"),
    plain("h4"),
    plain("h5"),
    plain("h6"),
];
const HR: Element = plain("hr");
const IMG: Element = plain("img");
const LI: Element = plain("li");
const OL: Element = plain("ol");
const P: Element = plain("p");
const PRE: Element = plain("pre");
const STRONG: Element = plain("strong");
const SUB: Element = plain("sub");
const SUP: Element = plain("sup");
const TABLE: Element = plain("table");
const TBODY: Element = plain("tbody");
const TD: Element = plain("td");
const TH: Element = plain("th");
const THEAD: Element = plain("thead");
const TR: Element = plain("tr");
const UL: Element = plain("ul");

/// Text Markdown was given in place of what a renderer puts in after
/// `push_html`, by replacing it in the written HTML (kramdown's table of
/// contents and math).
pub trait Placeholders {
    /// What a paragraph holding just `text` is replaced by, if anything.
    fn paragraph(&self, text: &str) -> Option<Replacement>;
    /// `text` with the placeholders in it replaced.
    fn text<'t>(&self, text: &'t str) -> Cow<'t, str>;
    /// Whether `text` holds a placeholder: where the quick way cannot put
    /// one in (raw HTML, code, an attribute), it leaves the post.
    fn holds(&self, text: &str) -> bool;
}

/// What a placeholder paragraph becomes.
pub enum Replacement {
    /// HTML for `<p>placeholder</p>` and the newline after it.
    Html(String),
    /// Text for `<p>placeholder</p>`; the newline after it stays.
    Text(String),
}

/// No placeholders: Markdown as it came.
pub struct NoPlaceholders;

impl Placeholders for NoPlaceholders {
    fn paragraph(&self, _: &str) -> Option<Replacement> {
        None
    }

    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        Cow::Borrowed(text)
    }

    fn holds(&self, _: &str) -> bool {
        false
    }
}

/// `html::portable(push_html(events), base)`, when the cleaner's quick
/// way covers it (see the module doc), `push_html`'s output having had
/// its `placeholders` replaced; `capacity` is room for the result.
pub fn portable(
    events: &[Event<'_>],
    base: &Url,
    placeholders: &dyn Placeholders,
    capacity: usize,
) -> Option<String> {
    let mut writer = Writer {
        clean: Cleaner::new(capacity, base),
        placeholders,
        end_newline: true,
        table_head: true,
        alignments: &[],
        cell: 0,
    };
    let mut at = 0;
    while let Some(event) = events.get(at) {
        at += 1;
        match event {
            Event::Start(Tag::Paragraph)
                if let [Event::Text(text), Event::End(TagEnd::Paragraph), ..] = &events[at..]
                    && let Some(replacement) = placeholders.paragraph(text) =>
            {
                at += 2;
                writer.fresh_line()?;
                match replacement {
                    Replacement::Html(html) => writer.html(writer.attribute(&html)?)?,
                    Replacement::Text(text) => {
                        writer.text(&text)?;
                        writer.literal("\n")?;
                    }
                }
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => {
                let (alt, next) = raw_text(&events[at..])?;
                at += next;
                writer.image(dest_url, title, alt)?;
            }
            Event::Start(tag) => writer.start(tag)?,
            Event::End(tag) => writer.end(*tag)?,
            other => writer.event(other)?,
        }
    }
    writer.clean.finish()
}

/// `push_html`'s state, mirrored: whether its output ends a line, and the
/// table being written.
struct Writer<'u, 'e> {
    clean: Cleaner<'u>,
    placeholders: &'u dyn Placeholders,
    end_newline: bool,
    table_head: bool,
    alignments: &'e [Alignment],
    cell: usize,
}

type Attributes<'e> = Vec<(&'e str, Cow<'e, str>)>;

impl<'e> Writer<'_, 'e> {
    fn event(&mut self, event: &'e Event<'_>) -> Option<()> {
        match event {
            Event::Text(text) => {
                self.text(&self.placeholders.text(text))?;
                self.end_newline = text.ends_with('\n');
            }
            Event::Code(text) => {
                self.open(CODE, Vec::new())?;
                self.text(self.attribute(text)?)?;
                self.close(CODE)?;
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                self.attribute(html)?;
                self.html(html)?;
            }
            Event::SoftBreak => self.literal("\n")?,
            Event::HardBreak => {
                self.open(BR, Vec::new())?;
                self.literal("\n")?;
            }
            Event::Rule => {
                self.fresh_line()?;
                self.open(HR, Vec::new())?;
                self.literal("\n")?;
            }
            // Task lists write `<input>`, which the quick way leaves to
            // the parser; math and footnote references are not in the
            // options, or `markdown` has made them HTML.
            _ => return None,
        }
        Some(())
    }

    fn start(&mut self, tag: &'e Tag<'_>) -> Option<()> {
        match tag {
            Tag::HtmlBlock => {}
            Tag::Paragraph => {
                self.fresh_line()?;
                self.open(P, Vec::new())?;
            }
            Tag::Heading {
                level,
                id,
                classes,
                attrs,
            } => {
                self.fresh_line()?;
                let mut attributes: Attributes<'e> = Vec::new();
                if let Some(id) = id {
                    attributes.push(("id", Cow::Borrowed(self.attribute(id)?)));
                }
                if !classes.is_empty() {
                    let joined = classes.iter().map(|c| c.as_ref()).collect::<Vec<_>>();
                    attributes.push((
                        "class",
                        Cow::Owned(self.attribute(&joined.join(" "))?.into()),
                    ));
                }
                for (key, value) in attrs {
                    // The tokenizer reads only lower-case names, once each.
                    let name_ok = !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                    if !name_ok || attributes.iter().any(|(k, _)| *k == key.as_ref()) {
                        return None;
                    }
                    let value = value.as_deref().unwrap_or("");
                    attributes.push((key.as_ref(), Cow::Borrowed(self.attribute(value)?)));
                }
                self.open(HEADINGS[*level as usize - 1], attributes)?;
            }
            Tag::Table(alignments) => {
                self.alignments = alignments;
                self.open(TABLE, Vec::new())?;
            }
            Tag::TableHead => {
                self.table_head = true;
                self.cell = 0;
                self.open(THEAD, Vec::new())?;
                self.open(TR, Vec::new())?;
            }
            Tag::TableRow => {
                self.cell = 0;
                self.open(TR, Vec::new())?;
            }
            Tag::TableCell => {
                let element = if self.table_head { TH } else { TD };
                let style = match self.alignments.get(self.cell) {
                    Some(Alignment::Left) => Some("text-align: left"),
                    Some(Alignment::Center) => Some("text-align: center"),
                    Some(Alignment::Right) => Some("text-align: right"),
                    _ => None,
                };
                let attributes = style
                    .map(|s| ("style", Cow::Borrowed(s)))
                    .into_iter()
                    .collect();
                self.open(element, attributes)?;
            }
            Tag::BlockQuote(kind) => {
                self.fresh_line()?;
                let class = kind.map(|kind| match kind {
                    BlockQuoteKind::Note => "markdown-alert-note",
                    BlockQuoteKind::Tip => "markdown-alert-tip",
                    BlockQuoteKind::Important => "markdown-alert-important",
                    BlockQuoteKind::Warning => "markdown-alert-warning",
                    BlockQuoteKind::Caution => "markdown-alert-caution",
                });
                let attributes = class
                    .map(|c| ("class", Cow::Borrowed(c)))
                    .into_iter()
                    .collect();
                self.open(BLOCKQUOTE, attributes)?;
                self.literal("\n")?;
            }
            Tag::CodeBlock(kind) => {
                self.fresh_line()?;
                self.open(PRE, Vec::new())?;
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info.split(' ').next().unwrap_or(""),
                    CodeBlockKind::Indented => "",
                };
                let mut attributes = Vec::new();
                if !language.is_empty() {
                    let class = format!("language-{}", self.attribute(language)?);
                    attributes.push(("class", Cow::Owned(class)));
                }
                self.open(CODE, attributes)?;
            }
            Tag::List(start) => {
                self.fresh_line()?;
                let (element, attributes) = match start {
                    Some(1) => (OL, Vec::new()),
                    Some(n) => (OL, vec![("start", Cow::Owned(n.to_string()))]),
                    None => (UL, Vec::new()),
                };
                self.open(element, attributes)?;
                self.literal("\n")?;
            }
            Tag::Item => {
                self.fresh_line()?;
                self.open(LI, Vec::new())?;
            }
            Tag::Subscript => self.open(SUB, Vec::new())?,
            Tag::Superscript => self.open(SUP, Vec::new())?,
            Tag::Emphasis => self.open(EM, Vec::new())?,
            Tag::Strong => self.open(STRONG, Vec::new())?,
            Tag::Strikethrough => self.open(DEL, Vec::new())?,
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                let mut href = href(self.attribute(dest_url)?)?;
                if *link_type == LinkType::Email {
                    href = Cow::Owned(format!("mailto:{href}"));
                }
                let mut attributes = vec![("href", href)];
                if !title.is_empty() {
                    attributes.push(("title", Cow::Borrowed(self.attribute(title)?)));
                }
                self.open(A, attributes)?;
            }
            // Images are written whole by `image`; footnote definitions
            // and the rest are not in herald's options.
            _ => return None,
        }
        Some(())
    }

    fn end(&mut self, tag: TagEnd) -> Option<()> {
        match tag {
            TagEnd::HtmlBlock => {}
            TagEnd::Paragraph => self.close_line(P)?,
            TagEnd::Heading(level) => self.close_line(HEADINGS[level as usize - 1])?,
            TagEnd::Table => {
                self.close(TBODY)?;
                self.close_line(TABLE)?;
            }
            TagEnd::TableHead => {
                self.close(TR)?;
                self.close(THEAD)?;
                self.open(TBODY, Vec::new())?;
                self.literal("\n")?;
                self.table_head = false;
            }
            TagEnd::TableRow => self.close_line(TR)?,
            TagEnd::TableCell => {
                self.close(if self.table_head { TH } else { TD })?;
                self.cell += 1;
            }
            TagEnd::BlockQuote(_) => self.close_line(BLOCKQUOTE)?,
            TagEnd::CodeBlock => {
                self.close(CODE)?;
                self.close_line(PRE)?;
            }
            TagEnd::List(true) => self.close_line(OL)?,
            TagEnd::List(false) => self.close_line(UL)?,
            TagEnd::Item => self.close_line(LI)?,
            TagEnd::Emphasis => self.close(EM)?,
            TagEnd::Superscript => self.close(SUP)?,
            TagEnd::Subscript => self.close(SUB)?,
            TagEnd::Strong => self.close(STRONG)?,
            TagEnd::Strikethrough => self.close(DEL)?,
            TagEnd::Link => self.close(A)?,
            _ => return None,
        }
        Some(())
    }

    /// `<img src alt title />`, as `push_html` writes it.
    fn image(&mut self, dest_url: &'e str, title: &'e str, alt: String) -> Option<()> {
        self.attribute(&alt)?;
        let mut attributes = vec![
            ("src", href(self.attribute(dest_url)?)?),
            ("alt", Cow::Owned(alt)),
        ];
        if !title.is_empty() {
            attributes.push(("title", Cow::Borrowed(self.attribute(title)?)));
        }
        self.open(IMG, attributes)
    }

    /// `value` as it is, where the quick way can write it: without a
    /// placeholder, and without what the tokenizer refuses.
    fn attribute<'v>(&self, value: &'v str) -> Option<&'v str> {
        let value = plain_value(value)?;
        (!self.placeholders.holds(value)).then_some(value)
    }

    /// HTML as it stands: a post's own, or markup herald made.
    fn html(&mut self, html: &str) -> Option<()> {
        self.clean.html(html)?;
        if !html.is_empty() {
            self.end_newline = html.ends_with('\n');
        }
        Some(())
    }

    /// Text of the post's own, which the tokenizer would decode from what
    /// `push_html` escaped: unless the parser would change it.
    fn text(&mut self, text: &str) -> Option<()> {
        self.clean.text(plain_value(text)?)
    }

    /// Text `push_html` writes itself (newlines).
    fn literal(&mut self, text: &'static str) -> Option<()> {
        self.end_newline = text.ends_with('\n');
        self.clean.text(text)
    }

    /// A block starts on a line of its own.
    fn fresh_line(&mut self) -> Option<()> {
        if self.end_newline {
            return Some(());
        }
        self.literal("\n")
    }

    fn open(&mut self, element: Element, attributes: Attributes<'e>) -> Option<()> {
        self.end_newline = false;
        self.clean.start(StartTag {
            element,
            attributes,
        })
    }

    fn close(&mut self, element: Element) -> Option<()> {
        self.end_newline = false;
        self.clean.end(element.name())
    }

    /// An end tag and the newline after it.
    fn close_line(&mut self, element: Element) -> Option<()> {
        self.close(element)?;
        self.literal("\n")
    }
}

/// `value` as the tokenizer gives it back from `push_html`'s escaping;
/// `None` with a carriage return or a NUL, which it refuses.
fn plain_value(value: &str) -> Option<&str> {
    memchr::memchr2(b'\r', b'\0', value.as_bytes())
        .is_none()
        .then_some(value)
}

/// A link's destination as `push_html` writes it (percent-encoded where
/// a URL may not hold the byte) and the tokenizer decodes it.
fn href(dest_url: &str) -> Option<Cow<'static, str>> {
    let mut written = String::with_capacity(dest_url.len() + 8);
    pulldown_cmark_escape::escape_href(&mut written, dest_url).ok()?;
    Some(Cow::Owned(decode(&written)?.into_owned()))
}

/// An image's alt text from the events up to its end, as `push_html`
/// writes it, and how many events that took.
fn raw_text(events: &[Event<'_>]) -> Option<(String, usize)> {
    let mut alt = String::new();
    let mut nest = 0;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Start(_) => nest += 1,
            Event::End(_) if nest == 0 => return Some((alt, i + 1)),
            Event::End(_) => nest -= 1,
            Event::Html(_) => {}
            Event::InlineHtml(text) | Event::Code(text) | Event::Text(text) => {
                alt.push_str(plain_value(text)?);
            }
            Event::SoftBreak | Event::HardBreak | Event::Rule => alt.push(' '),
            Event::TaskListMarker(true) => alt.push_str("[x]"),
            Event::TaskListMarker(false) => alt.push_str("[ ]"),
            _ => return None,
        }
    }
    Some((alt, events.len()))
}
