//! Portable, safe HTML: what feed readers and mail clients get of a post.
//!
//! The post's HTML is parsed the way a browser parses it (html5ever, through
//! ammonia) and written out again, so broken markup (`<a name="x"/>`, a
//! stray `</a>`) arrives well-formed. While the tree is walked, an
//! allow-list ([`allow`]) keeps the elements and attributes readers need and
//! drops the rest; every URL attribute (`href`, `src`, `srcset` entry by
//! entry, `poster`, `cite`) is resolved against the post's URL *after* the
//! parser has normalised it (tabs, newlines and leading control characters
//! gone, entities decoded) and kept only as http, https or mailto, so
//! `java&#9;script:` or `data:` cannot slip through. Inline styles keep what
//! readers keep ([`style`]).
//!
//! A second, streaming pass (lol_html) over the cleaned, canonical HTML turns
//! an iframe into a link to its source and bounds nesting at [`MAX_DEPTH`]:
//! elements deeper than that are unwrapped and their text kept, so the
//! recursive stages after this one (CSS inlining and html2text for email)
//! never see a pathological tree. Before any of this, a linear guard
//! ([`guard`]) keeps the parser's own quadratic cost on deep nesting away.
//! The result is cleaned again until it re-parses to itself (a link inside a
//! link through a table's foster parenting does not), so what readers parse
//! is exactly what was checked. Most posts skip both the streaming pass
//! and that parse: a scan of the cleaned tags shows there is nothing to
//! change and that it re-parses to itself ([`settled`]).

mod allow;
mod check;
mod direct;
mod events;
mod guard;
mod settled;
mod style;

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ammonia::{Builder, UrlRelative};
use lol_html::html_content::{ContentType, Element};
use lol_html::{RewriteStrSettings, element, rewrite_str};
use url::Url;

pub use check::active_content;
pub use events::{NoPlaceholders, Placeholders, Replacement};
pub use style::portable_style;

/// The deepest element nesting a post keeps. Real posts stay under 20
/// levels; past this, elements are unwrapped (their text stays). css-inline
/// and html2text recurse once per level (16,000 nested blockquotes, a 16 KB
/// post, overflowed the stack), and the text part indents each quote level
/// by two columns: at 32 levels a quoted line still fits its 72.
pub const MAX_DEPTH: usize = 32;

/// URL schemes a reader may follow or load.
const SCHEMES: &[&str] = &["http", "https", "mailto"];

/// `html` as safe, well-formed HTML with absolute URLs (see the module doc).
pub fn portable(html: &str, base: &Url) -> String {
    // Most posts: cleaned tag by tag, and the tags show that the result
    // re-parses to itself (and so that the post parsed to the same tree).
    if let Some(out) = direct::clean(html, base) {
        return out;
    }
    parsed(html, base)
}

/// [`portable`] of the HTML `push_html` would write for `events` (with
/// its `placeholders` replaced), made from the events themselves when the
/// quick way covers them (see [`events`]); `None` when it does not.
pub fn portable_events(
    events: &[pulldown_cmark::Event<'_>],
    base: &Url,
    placeholders: &dyn Placeholders,
    capacity: usize,
) -> Option<String> {
    events::portable(events, base, placeholders, capacity)
}

/// [`portable`] by parsing `html`, the way that works for any HTML.
fn parsed(html: &str, base: &Url) -> String {
    let mut out = clean(&guard::guard(html), base);
    // Most posts: nothing to unframe or unwrap, and the tags show that it
    // re-parses to itself.
    if settled::settled(&out, MAX_DEPTH) {
        return out;
    }
    if let Some(changed) = unframe_and_bound(&out) {
        out = clean(&changed, base);
    }
    // Until it re-parses to itself (see the module doc).
    for _ in 0..MAX_ROUNDS {
        let again = clean(&out, base);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

/// Cleaning rounds after the first: real posts settle at once, the broken
/// markup the property tests make within these.
const MAX_ROUNDS: usize = 3;

thread_local! {
    /// The cleaner, built once per thread: building its allow-lists (and
    /// ammonia's defaults, which they replace) cost a tenth of the cleaning.
    static CLEANER: RefCell<Builder<'static>> = RefCell::new(cleaner());
    /// The URL of the post being cleaned, which the cleaner's attribute
    /// filter resolves against (the filter can be set only once).
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
}

fn cleaner() -> Builder<'static> {
    let mut builder = Builder::empty();
    builder
        .tags(allow::elements())
        .clean_content_tags(allow::dropped())
        .generic_attributes(allow::generic())
        .tag_attributes(allow::per_element())
        .url_schemes(SCHEMES.iter().copied().collect())
        .link_rel(None)
        .strip_comments(true)
        .attribute_filter(|_element, attribute, value| {
            BASE.with_borrow(|base| filter_attribute(base.as_ref()?, attribute, value))
        });
    builder
}

fn clean(html: &str, base: &Url) -> String {
    BASE.set(Some(base.clone()));
    CLEANER.with_borrow_mut(|cleaner| {
        cleaner
            .url_relative(UrlRelative::RewriteWithBase(base.clone()))
            .clean(html)
            .to_string()
    })
}

/// The second look at each kept attribute: URLs resolved and checked (ammonia
/// checks only some of them, and leaves `srcset`, `poster` and `cite` alone),
/// styles filtered.
fn filter_attribute<'a>(base: &Url, attribute: &str, value: &'a str) -> Option<Cow<'a, str>> {
    match attribute {
        "href" | "src" | "poster" | "cite" => absolute(base, value).map(Cow::Owned),
        "srcset" => absolute_srcset(base, value).map(Cow::Owned),
        "style" => portable_style(value).map(Cow::Owned),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// `value` resolved against `base`, if it is a URL a reader may follow.
/// The WHATWG parser removes tabs and newlines anywhere and control
/// characters and spaces at the ends before it reads the scheme, as
/// browsers do, so the scheme checked is the one a browser would use.
fn absolute(base: &Url, value: &str) -> Option<String> {
    let url = base.join(value).ok()?;
    SCHEMES.contains(&url.scheme()).then(|| url.into())
}

/// Each candidate of a `srcset` resolved and checked; the unsafe ones go.
/// Candidates are split as the HTML standard does: a URL is a run without
/// whitespace (commas inside it are part of it unless it ends with one).
fn absolute_srcset(base: &Url, srcset: &str) -> Option<String> {
    let mut kept = Vec::new();
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let url_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (url, after) = rest.split_at(url_end);
        let (url, descriptor, next) = match url.strip_suffix(',') {
            Some(url) => (url.trim_end_matches(','), "", after),
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (url, after[..end].trim(), &after[end..])
            }
        };
        // A browser drops a candidate with a broken descriptor too.
        let valid = descriptor.split_whitespace().all(is_descriptor);
        if let Some(url) = absolute(base, url).filter(|_| valid) {
            // The URL parser strips what followed a final comma (`A,\u{1}`);
            // written as it is, that comma would end the candidate.
            let commas = url.len() - url.trim_end_matches(',').len();
            let url = format!("{}{}", url.trim_end_matches(','), "%2C".repeat(commas));
            kept.push(if descriptor.is_empty() {
                url
            } else {
                format!("{url} {descriptor}")
            });
        }
        rest = next;
    }
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// `2x`, `1.5x`, `640w`, `480h`: a width, density or height.
fn is_descriptor(word: &str) -> bool {
    let Some(number) = word.strip_suffix(['w', 'x', 'h']) else {
        return false;
    };
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.parse::<f64>().is_ok()
}

/// On cleaned HTML (every element closed, attributes escaped once): iframes
/// become links, and elements past [`MAX_DEPTH`] are unwrapped. `None` when
/// there was nothing to change.
fn unframe_and_bound(html: &str) -> Option<String> {
    let depth = Rc::new(Cell::new(0usize));
    let changed = Rc::new(Cell::new(false));
    let (depth_in, changed_in) = (depth.clone(), changed.clone());
    let settings =
        RewriteStrSettings::new().append_element_content_handler(element!("*", move |el| {
            if el.tag_name() == "iframe" {
                changed_in.set(true);
                el.replace(&iframe_link(el), ContentType::Html);
                return Ok(());
            }
            let level = depth_in.get() + 1;
            let Some(handlers) = el.end_tag_handlers() else {
                return Ok(());
            };
            depth_in.set(level);
            let depth_out = depth_in.clone();
            handlers.push(Box::new(move |_| {
                depth_out.set(depth_out.get() - 1);
                Ok(())
            }));
            if level > MAX_DEPTH {
                changed_in.set(true);
                el.remove_and_keep_content();
            }
            Ok(())
        }));
    // The handler never fails and no memory limit is set; on the impossible
    // error, keep the cleaned HTML, which is already safe.
    let out = rewrite_str(html, settings).ok()?;
    changed.get().then_some(out)
}

/// `<a href=src>title</a>` for an iframe (nothing when it had no source);
/// no paragraph around it, since the iframe may sit inside one. The cleaned attribute values are already escaped for an
/// attribute, so `src` is reused as it is (escaping it again turned `&amp;`
/// into `&amp;amp;`); as text, only `<` and `>` still need escaping.
fn iframe_link(el: &Element<'_, '_>) -> String {
    let Some(src) = el.get_attribute("src") else {
        return String::new();
    };
    let label = el.get_attribute("title").unwrap_or_else(|| src.clone());
    let label = label.replace('<', "&lt;").replace('>', "&gt;");
    format!("<a href=\"{src}\">{label}</a>")
}

/// Text of an HTML fragment: tags stripped, entities decoded, whitespace
/// collapsed. For titles, which front matter may write as HTML
/// (`Tom &amp; Jerry`, `<em>x</em>`) but feeds and subjects show as text.
pub fn plain_text(html: &str) -> String {
    // Most titles and summaries: the text is read off the tokens.
    let text = direct::text(html).unwrap_or_else(|| parsed_text(html));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of `html` by parsing it, the way that works for any HTML.
fn parsed_text(html: &str) -> String {
    thread_local! {
        static TEXT_ONLY: Builder<'static> = {
            let mut builder = Builder::empty();
            builder.clean_content_tags(["script", "style"].into_iter().collect());
            // Kept only to become spaces, as `direct::text` makes them.
            builder.add_tags(["br"]);
            builder
        };
    }
    let text = TEXT_ONLY.with(|builder| builder.clean(html).to_string());
    // The serialiser writes every line break as `<br>`, and escapes exactly
    // these in text; `&amp;` last.
    text.replace("<br>", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Escapes text for an HTML attribute or text node.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Removes what XML 1.0 forbids: control characters other than tab and
/// newlines, lone surrogates (impossible in Rust strings) and U+FFFE/U+FFFF.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{7f}'
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    };
    // Without decoding: a bad ASCII character is a byte below 0x20 or
    // 0x7f, found by folding each 64-byte block without a branch (which the
    // compiler vectorises), and the two others are looked for by their
    // last byte. Decoding a post's HTML character by character was most of
    // this function's time, and U+FE0E after footnote arrows is common.
    let control = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0x7f);
    let any_control = text
        .as_bytes()
        .chunks(64)
        .any(|block| block.iter().fold(false, |seen, &b| seen | control(b)));
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8: one SIMD
    // search for their first two bytes (std searches for a character
    // outside ASCII as for a string, setting the search up each time).
    let bytes = text.as_bytes();
    let noncharacter = || {
        memchr::memmem::find_iter(bytes, b"\xEF\xBF")
            .any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
    };
    if any_control || noncharacter() {
        text.chars().filter(|&c| !bad(c)).collect::<String>().into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests;
