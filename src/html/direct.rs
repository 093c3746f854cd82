//! The cleaner's output written straight from HTML in the form Markdown
//! renderers give, without building a tree.
//!
//! pulldown-cmark, and herald's own footnote and kramdown markup, write HTML
//! in a narrow form: elements closed in the order they opened, attributes
//! as ` name="value"`, text with `&`, `<`, `>` and `"` escaped, comments
//! (`<!--more-->`) that the cleaner drops. Parsing such
//! HTML gives back the tags' own nesting, so cleaning it (ammonia: parse,
//! keep what the allow-list keeps, filter the attributes, serialise) can be
//! done tag by tag: [`clean`] keeps each tag's allowed attributes through
//! the same checks in the same order as ammonia (its removals reorder the
//! rest, and so do these) and writes them as html5ever's serialiser does.
//! Parsing, cleaning and serialising a post was half of a cold build.
//!
//! It gives up (`None`) on anything else: another form, an element other
//! than the plain ones [`super::settled`] knows, an entity it does not
//! know, a character the parser would change. Its tokens go through
//! [`super::settled`]'s parse model as they are written, which must hold:
//! that proves the result re-parses to itself, and so that the input
//! parsed to the same tree (they differ only in attributes, in how text is
//! escaped and in `<br />` for `<br>`, none of which moves an element);
//! else the caller cleans the slow way. Tests compare the two ways on real
//! posts, on Markdown and on broken markup.

use std::borrow::Cow;

use url::Url;

use super::settled::{Element, Settled, plain};
use super::{MAX_DEPTH, SCHEMES, allow, filter_attribute};

const BR: Element = plain("br");

/// `html` cleaned as [`super::clean`] would clean it, if `html` has the
/// form described in the module doc and parses as its tags nest, no deeper
/// than [`MAX_DEPTH`].
pub fn clean(html: &str, base: &Url) -> Option<String> {
    let mut cleaner = Cleaner::new(html.len() + html.len() / 4, base);
    cleaner.html(html)?;
    cleaner.finish()
}

/// [`clean`]'s work as the tokens come: from HTML text, or straight from
/// Markdown's events (`super::events`), which skips writing the HTML and
/// reading it back.
pub struct Cleaner<'u> {
    out: String,
    parse: Settled,
    base: &'u Url,
}

impl<'u> Cleaner<'u> {
    pub fn new(capacity: usize, base: &'u Url) -> Cleaner<'u> {
        Cleaner {
            out: String::with_capacity(capacity),
            parse: Settled::new(MAX_DEPTH),
            base,
        }
    }

    /// Text, decoded. `None` once the tokens no longer parse as they nest.
    pub fn text(&mut self, text: &str) -> Option<()> {
        self.parse.text(text);
        escape(&mut self.out, text, false);
        self.parse.holds().then_some(())
    }

    pub fn start(&mut self, tag: StartTag<'_>) -> Option<()> {
        self.parse.start_element(tag.element);
        tag.write(&mut self.out, self.base);
        self.parse.holds().then_some(())
    }

    pub fn end(&mut self, name: &str) -> Option<()> {
        self.parse.end(name);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self.parse.holds().then_some(())
    }

    /// HTML in the renderers' form; `None` if it is not.
    pub fn html(&mut self, html: &str) -> Option<()> {
        tokens(html, |token| match token {
            Token::Text(text) => self.text(&text),
            Token::Start(tag) => self.start(tag),
            Token::End(name) => self.end(name),
        })
    }

    /// The cleaned HTML, if it closes every element it opened.
    pub fn finish(self) -> Option<String> {
        self.parse.ends().then_some(self.out)
    }
}

/// The text a parse of `html` holds (for titles and summaries), on the
/// same condition as [`clean`], without a bound on depth.
pub fn text(html: &str) -> Option<String> {
    let mut out = String::with_capacity(html.len());
    let mut parse = Settled::new(usize::MAX);
    tokens(html, |token| {
        match token {
            Token::Text(text) => {
                parse.text(&text);
                out.push_str(&text);
            }
            Token::Start(tag) => {
                // A line break between words is a space in one line of text
                // (`Neural<br>Network`), not nothing.
                if tag.element == BR {
                    out.push(' ');
                }
                parse.start_element(tag.element)
            }
            Token::End(name) => parse.end(name),
        }
        parse.holds().then_some(())
    })?;
    parse.ends().then_some(out)
}

/// A piece of HTML in the renderers' form.
enum Token<'a> {
    /// Decoded.
    Text(Cow<'a, str>),
    Start(StartTag<'a>),
    End(&'a str),
}

/// Hands `html`'s tokens, comments left out, to `each` until it or a piece
/// not in the form says `None`.
fn tokens<'a>(html: &'a str, mut each: impl FnMut(Token<'a>) -> Option<()>) -> Option<()> {
    // The tokenizer drops a byte-order mark at the start.
    if html.starts_with('\u{feff}') {
        return None;
    }
    let mut rest = html;
    while let Some(at) = memchr::memchr(b'<', rest.as_bytes()) {
        each(Token::Text(decode(&rest[..at])?))?;
        rest = &rest[at + 1..];
        rest = if let Some(comment) = rest.strip_prefix("!--") {
            after_comment(comment)?
        } else if let Some(end_tag) = rest.strip_prefix('/') {
            let end = end_tag.find('>')?;
            each(Token::End(&end_tag[..end]))?;
            &end_tag[end + 1..]
        } else {
            let (tag, after) = StartTag::read(rest)?;
            each(Token::Start(tag))?;
            after
        };
    }
    each(Token::Text(decode(rest)?))
}

/// What follows a comment whose text (after its `<!--`) is `comment`; the
/// cleaner drops comments. `None` for the forms the tokenizer ends early
/// (`<!-->`, `<!--->`, `--!>`).
fn after_comment(comment: &str) -> Option<&str> {
    let end = comment.find("-->")?;
    let text = &comment[..end];
    let plain = !comment.starts_with('>') && !comment.starts_with("->") && !text.contains("--!>");
    plain.then(|| &comment[end + 3..])
}

/// A start tag: a plain element and its attributes, values decoded, in
/// the order written.
pub struct StartTag<'a> {
    pub element: Element,
    pub attributes: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> StartTag<'a> {
    /// The start tag `tag` begins with (just after its `<`) and what
    /// follows it, if it is `<name a="v" b="w">` (or `<br />` for a void
    /// element) naming a plain element.
    fn read(tag: &'a str) -> Option<(StartTag<'a>, &'a str)> {
        let name_end = tag.bytes().position(|b| !b.is_ascii_alphanumeric())?;
        let element = Element::of(&tag[..name_end])?;
        let mut attributes: Vec<(&str, Cow<str>)> = Vec::new();
        let mut rest = &tag[name_end..];
        loop {
            if let Some(after) = rest.strip_prefix('>') {
                return Some((
                    StartTag {
                        element,
                        attributes,
                    },
                    after,
                ));
            }
            // `/>` is read as `>`, but only on a void element.
            if let Some(after) = rest.strip_prefix(" />").or_else(|| rest.strip_prefix("/>")) {
                let tag = StartTag {
                    element,
                    attributes,
                };
                return element.is_void().then_some((tag, after));
            }
            let attribute = rest.strip_prefix(' ')?;
            let lower_case = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
            let key_end = attribute.bytes().take_while(lower_case).count();
            let key = &attribute[..key_end];
            let value = attribute[key_end..].strip_prefix("=\"")?;
            // The parser keeps the first of two alike; not worth following.
            if key.is_empty() || attributes.iter().any(|(k, _)| *k == key) {
                return None;
            }
            let close = memchr::memchr(b'"', value.as_bytes())?;
            attributes.push((key, decode(&value[..close])?));
            rest = &value[close + 1..];
        }
    }

    /// Writes the tag with the attributes ammonia keeps, in its order.
    fn write(self, out: &mut String, base: &Url) {
        let StartTag {
            element,
            mut attributes,
        } = self;
        let name = element.name();
        // ammonia's `clean_child`: the allow-list, then the schemes of URL
        // attributes (relative ones pass, to be resolved below).
        attributes.retain(|(key, value)| {
            allow::keeps(name, key)
                && (!is_url_attribute(name, key)
                    || match Url::parse(value) {
                        Ok(url) => SCHEMES.contains(&url.scheme()),
                        Err(e) => e == url::ParseError::RelativeUrlWithoutBase,
                    })
        });
        // Its `adjust_node_attributes`: herald's filter, dropping by
        // `swap_remove` from the last. It then resolves relative URLs, but
        // there are none left: the filter made every `href`, `src` and
        // `poster` absolute (a URL it serialised, which starts with its
        // scheme), and these are the only URL attributes plain elements keep.
        let mut dropped = Vec::new();
        for (i, (key, value)) in attributes.iter_mut().enumerate() {
            match filter_attribute(base, key, value) {
                None => dropped.push(i),
                Some(new) if new != *value => *value = Cow::Owned(new.into_owned()),
                Some(_) => {}
            }
        }
        dropped.into_iter().rev().for_each(|i| {
            attributes.swap_remove(i);
        });
        out.push('<');
        out.push_str(name);
        for (key, value) in &attributes {
            out.push(' ');
            out.push_str(key);
            out.push_str("=\"");
            escape(out, value, true);
            out.push('"');
        }
        out.push('>');
    }
}

/// ammonia's list of attributes holding a URL, for the plain elements.
fn is_url_attribute(element: &str, attribute: &str) -> bool {
    matches!(attribute, "href" | "src")
        || (element == "a" && attribute == "ping")
        || (element == "video" && attribute == "poster")
}

/// `text` with its character references decoded, if each is one the
/// renderers write and decodes to what the parser would decode it to; and
/// without a carriage return or NUL, which the parser changes.
pub(super) fn decode(text: &str) -> Option<Cow<'_, str>> {
    if memchr::memchr2(b'\r', b'\0', text.as_bytes()).is_some() {
        return None;
    }
    let Some(first) = memchr::memchr(b'&', text.as_bytes()) else {
        return Some(Cow::Borrowed(text));
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(reference) = rest.strip_prefix('&') {
        let end = reference.find(';')?;
        out.push(character(&reference[..end])?);
        rest = &reference[end + 1..];
        let next = rest.find('&').unwrap_or(rest.len());
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    Some(Cow::Owned(out))
}

/// The character `&name;` stands for: the few names the renderers write,
/// or a number that the parser neither remaps (the C1 range, zero) nor
/// flags (other control characters).
fn character(name: &str) -> Option<char> {
    let number = |digits: &str, radix| {
        let ok = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
        ok.then(|| u32::from_str_radix(digits, radix).ok())
            .flatten()
    };
    let code = match name {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        "nbsp" => return Some('\u{a0}'),
        _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
            Some(hex) => number(hex, 16)?,
            None => number(name.strip_prefix('#')?, 10)?,
        },
    };
    let plain = matches!(code, 0x09 | 0x0a | 0x20..=0x7e) || code >= 0xa0;
    plain.then(|| char::from_u32(code)).flatten()
}

/// Escapes as html5ever's serialiser does: `&`, `<`, `>` and no-break
/// spaces, and `"` in attribute values.
fn escape(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    // Text without a no-break space (C2 A0; most text): vector scans for
    // the other three, where a byte-by-byte loop was a tenth of the cleaning.
    if !attribute && memchr::memchr(0xC2, bytes).is_none() {
        let mut written = 0;
        for at in memchr::memchr3_iter(b'&', b'<', b'>', bytes) {
            out.push_str(&text[written..at]);
            out.push_str(match bytes[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                _ => "&gt;",
            });
            written = at + 1;
        }
        out.push_str(&text[written..]);
        return;
    }
    // Byte by byte: a search for a set of chars decodes each one.
    let mut written = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escaped = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if attribute => "&quot;",
            0xC2 if bytes.get(at + 1) == Some(&0xA0) => "&nbsp;",
            _ => continue,
        };
        out.push_str(&text[written..at]);
        out.push_str(escaped);
        written = at + if byte == 0xC2 { 2 } else { 1 };
    }
    out.push_str(&text[written..]);
}
