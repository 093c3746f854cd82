//! A nesting guard that runs before the HTML parser sees a post.
//!
//! html5ever's tree builder checks scopes by walking its stack of open
//! elements, so its time grows with the square of the nesting: 4,000 nested
//! blockquotes took seconds, 100,000 would take many minutes. This pass
//! reads the post with html5ever's own tokenizer (linear, and the same
//! tokens the parser would see), keeps a stack of the elements that are
//! surely still open, and drops start tags (and as many end tags) past
//! [`GUARD_DEPTH`]. The stack pops only where the parser surely pops too
//! (an end tag for the element on top, or above only elements whose end tags
//! may be omitted), so it over-counts, never under-counts, and the parser's
//! depth stays within a small multiple of the guard. Real posts never reach
//! it; [`super::MAX_DEPTH`] is the bound readers see, applied after parsing.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Open elements tolerated before the parser; well above `MAX_DEPTH`, so
/// markup with omitted end tags is never touched.
pub const GUARD_DEPTH: usize = 256;

const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose end tag may be left out: the parser closes them itself.
const OMITTABLE: &[&str] = &[
    "caption", "colgroup", "dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt", "rtc",
    "tbody", "td", "tfoot", "th", "thead", "tr",
];

/// Elements with an end tag the parser honours across omittable ones (the
/// formatting elements like `b` are absent: the adoption agency keeps
/// elements open that a naive pop would close).
const SPECIAL: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// `html`, or a copy with start tags past [`GUARD_DEPTH`] dropped.
pub fn guard(html: &str) -> Cow<'_, str> {
    // The parser opens an element only for a start tag (or a formatting
    // element it reopens, one per start tag at most), and a start tag is a
    // `<` followed by a letter: end tags, comments and `<` in text and code
    // open nothing. Most posts have fewer than this and skip the tokenizer,
    // which cost as much as the parse itself.
    if start_tags_at_most(html) <= GUARD_DEPTH {
        return Cow::Borrowed(html);
    }
    let tokenizer = Tokenizer::new(Guard::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let sink = tokenizer.sink;
    if sink.dropped.get() {
        Cow::Owned(sink.out.into_inner())
    } else {
        Cow::Borrowed(html)
    }
}

/// How many start tags `html` can hold at most: each `<` followed by an
/// ASCII letter, the only way the tokenizer begins one.
fn start_tags_at_most(html: &str) -> usize {
    let bytes = html.as_bytes();
    memchr::memchr_iter(b'<', bytes)
        .filter(|&at| bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic))
        .count()
}

#[derive(Default)]
struct Guard {
    out: RefCell<String>,
    open: RefCell<Vec<String>>,
    /// Start tags dropped whose end tags are still to come.
    excess: Cell<usize>,
    dropped: Cell<bool>,
    /// Inside script, style, plaintext...: text is written as it came.
    raw: Cell<bool>,
}

impl TokenSink for Guard {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => return self.tag(&tag),
            Token::CharacterTokens(text) if self.raw.get() => self.out.borrow_mut().push_str(&text),
            Token::CharacterTokens(text) => escape_into(&mut self.out.borrow_mut(), &text, false),
            Token::CommentToken(text) => {
                let mut out = self.out.borrow_mut();
                out.push_str("<!--");
                out.push_str(&text);
                out.push_str("-->");
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl Guard {
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name = &*tag.name;
        let keep = match tag.kind {
            TagKind::StartTag => self.open(name, tag.self_closing),
            TagKind::EndTag => self.close(name),
        };
        if keep {
            self.write(tag);
        } else {
            self.dropped.set(true);
        }
        self.raw.set(false);
        if tag.kind == TagKind::EndTag || !keep {
            return TokenSinkResult::Continue;
        }
        // What the tree builder would tell the tokenizer, so that the tokens
        // inside these elements are the ones the parser will see.
        let raw = match name {
            "title" | "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            _ => return TokenSinkResult::Continue,
        };
        self.raw.set(true);
        raw
    }

    /// Whether to keep a start tag.
    fn open(&self, name: &str, self_closing: bool) -> bool {
        if VOID.contains(&name) {
            return true;
        }
        let mut open = self.open.borrow_mut();
        // `<li>` after `<li>`, `<td>` after `<td>`: the parser closes the first.
        if OMITTABLE.contains(&name) {
            while open
                .last()
                .is_some_and(|top| OMITTABLE.contains(&top.as_str()) && closes(name, top))
            {
                open.pop();
            }
        }
        if open.len() >= GUARD_DEPTH {
            self.excess.set(self.excess.get() + 1);
            return false;
        }
        // `<x/>` is closed at once in SVG and MathML; elsewhere it stays open.
        if !self_closing {
            open.push(name.to_string());
        }
        true
    }

    /// Whether to keep an end tag.
    fn close(&self, name: &str) -> bool {
        if self.excess.get() > 0 {
            self.excess.set(self.excess.get() - 1);
            return false;
        }
        let mut open = self.open.borrow_mut();
        let Some(at) = open.iter().rposition(|n| n == name) else {
            return true;
        };
        let above = &open[at + 1..];
        if above.is_empty()
            || (SPECIAL.contains(&name) && above.iter().all(|n| OMITTABLE.contains(&n.as_str())))
        {
            open.truncate(at);
        }
        true
    }

    fn write(&self, tag: &Tag) {
        let mut out = self.out.borrow_mut();
        out.push('<');
        if tag.kind == TagKind::EndTag {
            out.push('/');
        }
        out.push_str(&tag.name);
        for attribute in &tag.attrs {
            out.push(' ');
            out.push_str(&attribute.name.local);
            out.push_str("=\"");
            escape_into(&mut out, &attribute.value, true);
            out.push('"');
        }
        if tag.self_closing {
            out.push('/');
        }
        out.push('>');
    }
}

/// Whether a start tag `name` implicitly ends an open `top` (both omittable).
fn closes(name: &str, top: &str) -> bool {
    match name {
        "li" => top == "li",
        "dt" | "dd" => matches!(top, "dt" | "dd"),
        "td" | "th" => matches!(top, "td" | "th"),
        "tr" => matches!(top, "td" | "th" | "tr"),
        "tbody" | "thead" | "tfoot" => {
            matches!(top, "td" | "th" | "tr" | "tbody" | "thead" | "tfoot")
        }
        "option" => top == "option",
        "rb" | "rp" | "rt" | "rtc" => matches!(top, "rb" | "rp" | "rt"),
        _ => top == name,
    }
}

fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' if !attribute => out.push_str("&lt;"),
            '>' if !attribute => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_ordinary_html_is_left_alone() {
        let html = "<ul><li>a<li>b</ul>".repeat(200);
        assert!(matches!(guard(&html), Cow::Borrowed(_)));
        let table = format!("<table>{}</table>", "<tr><td>a<td>b".repeat(500));
        assert!(matches!(guard(&table), Cow::Borrowed(_)));
    }

    #[test]
    fn only_what_can_start_a_tag_counts_towards_the_guard() {
        // End tags and a `<` before a space, digit or `!` open nothing.
        let text = "<p>1 < 2, <3 and <!-- x --></p>".repeat(GUARD_DEPTH);
        assert_eq!(start_tags_at_most(&text), GUARD_DEPTH);
        assert!(matches!(guard(&text), Cow::Borrowed(_)));
        let deeper = format!("{}x", "<DIV>".repeat(GUARD_DEPTH + 1));
        assert_eq!(guard(&deeper).matches("<div>").count(), GUARD_DEPTH);
    }

    #[test]
    fn deep_nesting_is_cut_at_the_guard() {
        let n = 20_000;
        let html = format!("{}x{}", "<blockquote>".repeat(n), "</blockquote>".repeat(n));
        let out = guard(&html);
        assert_eq!(out.matches("<blockquote>").count(), GUARD_DEPTH);
        assert_eq!(out.matches("</blockquote>").count(), GUARD_DEPTH);
        assert!(out.contains('x'));
    }

    #[test]
    fn end_tags_the_parser_ignores_do_not_hide_depth() {
        // `</b>` across a div and `</span>` across a special element are not
        // pops for the parser; the guard must not count them as pops either.
        let html = "<b><div></b>".repeat(2_000) + &"<span><p></span>".repeat(2_000);
        let out = guard(&html);
        assert!(out.matches("<div>").count() <= GUARD_DEPTH, "{}", out.len());
    }
}
