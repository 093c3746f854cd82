//! A post's prose folded out of Liquid's way.
//!
//! liquid-rust's parser (pest) walks raw text a character at a time, and
//! posts are mostly raw text with a tag here and there: on real-sized posts
//! that walk was a quarter of a build. Raw text at any depth comes out of
//! Liquid as it went in (once, many times in a loop, or not at all), as long
//! as no tag reads or transforms it. So each long stretch of prose between
//! tags is swapped for a short placeholder before parsing and swapped back
//! in the output.
//!
//! Only posts whose every tag passes its raw text through unchanged are
//! folded: `capture` (whose text a filter may read), `highlight` (which
//! escapes it), `liquid` and tags herald does not know are not on the list,
//! and a post using one is parsed whole, as before. A placeholder starts
//! and ends with a marker character, so whitespace control (`{%-`, `-%}`)
//! trims exactly the whitespace it trimmed before: the stretch's leading
//! and trailing whitespace stays in the text. A placeholder is a few
//! characters on one line, however many lines the stretch has (its
//! newlines, each followed by a marker against Liquid's grammar's cost on
//! whitespace runs, were most of what was left to parse), so lines in the
//! folded text are not the file's: messages look their lines up in the
//! post's own text, and a folded text that does not parse at once (an
//! unknown tag or filter, a syntax error) is rendered again whole, where
//! its messages and their lines come from.

/// Tags whose raw text reaches the output unchanged, if at all.
const PASS_THROUGH: &[&str] = &[
    "include",
    "if",
    "elsif",
    "else",
    "endif",
    "unless",
    "endunless",
    "for",
    "endfor",
    "break",
    "continue",
    "case",
    "when",
    "endcase",
    "assign",
    "increment",
    "decrement",
    "raw",
    "endraw",
    "comment",
    "endcomment",
    "post_url",
    "link",
    "cycle",
    "echo",
    "tablerow",
    "endtablerow",
];

/// Stretches shorter than this are left in place: a placeholder is about
/// 8 bytes, and the parser's cost per tag dwarfs a short stretch.
const MIN_FOLD: usize = 48;

/// Markers are taken from Unicode's last private-use plane, which prose
/// does not use; one that occurs in the post is not taken.
const MARKERS: std::ops::RangeInclusive<char> = '\u{10FFF0}'..='\u{10FFFD}';

#[derive(Debug)]
pub struct Folded<'a> {
    /// The text to give Liquid.
    pub text: String,
    stretches: Vec<&'a str>,
    marker: char,
}

/// `body` with its long stretches of prose folded away, or `None` if it
/// must be parsed whole (a tag that reads raw text, markup the scan does not
/// follow, nothing worth folding).
pub fn fold(body: &str) -> Option<Folded<'_>> {
    let marker = MARKERS.clone().find(|&c| !body.contains(c))?;
    let mut text = String::with_capacity(body.len() / 4);
    let mut stretches = Vec::new();
    let mut rest = body;
    loop {
        let Some(open) = next_open(rest) else {
            fold_stretch(rest, marker, &mut text, &mut stretches);
            break;
        };
        fold_stretch(&rest[..open], marker, &mut text, &mut stretches);
        let tag_len = tag_len(&rest[open..])?;
        text.push_str(&rest[open..open + tag_len]);
        rest = &rest[open + tag_len..];
    }
    (!stretches.is_empty()).then_some(Folded {
        text,
        stretches,
        marker,
    })
}

impl Folded<'_> {
    /// Liquid's output with the prose put back, or `None` if a placeholder
    /// did not come through whole (then the post is rendered unfolded).
    pub fn unfold(&self, out: &str) -> Option<String> {
        let folded: usize = self.stretches.iter().map(|s| s.len()).sum();
        let mut text = String::with_capacity(out.len() + folded);
        let mut rest = out;
        while let Some(at) = rest.find(self.marker) {
            text.push_str(&rest[..at]);
            let after = &rest[at + self.marker.len_utf8()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let stretch = self.stretches.get(after[..digits].parse::<usize>().ok()?)?;
            rest = after[digits..].strip_prefix(self.marker)?;
            text.push_str(stretch);
        }
        text.push_str(rest);
        Some(text)
    }
}

/// Appends `raw` to `text`, its core (without the whitespace at its ends)
/// replaced by a placeholder if it is long enough to be worth it.
fn fold_stretch<'a>(raw: &'a str, marker: char, text: &mut String, stretches: &mut Vec<&'a str>) {
    let core = raw.trim_matches(|c: char| c.is_whitespace());
    if core.len() < MIN_FOLD {
        text.push_str(raw);
        return;
    }
    let start = raw.len() - raw.trim_start_matches(|c: char| c.is_whitespace()).len();
    text.push_str(&raw[..start]);
    text.push(marker);
    text.push_str(&stretches.len().to_string());
    text.push(marker);
    text.push_str(&raw[start + core.len()..]);
    stretches.push(core);
}

/// Where the next `{{` or `{%` starts.
fn next_open(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| b == b'{') {
        let at = from + at;
        if matches!(bytes.get(at + 1), Some(b'{' | b'%')) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The length of the tag or output at the start of `text`, or `None` if it
/// is one the fold must not cross: unclosed, holding a quote (a `%}` inside a
/// string would end it for this scan but perhaps not for Liquid), or a tag
/// that reads its raw text.
fn tag_len(text: &str) -> Option<usize> {
    let close = if text.starts_with("{{") { "}}" } else { "%}" };
    let end = text[2..].find(close)? + 2 + close.len();
    let inner = &text[2..end - 2];
    let odd = |quote: char| inner.matches(quote).count() % 2 == 1;
    if inner.contains(['{', '}']) || odd('"') || odd('\'') {
        return None;
    }
    if close == "%}" {
        let name = inner.trim_start_matches('-').trim_start();
        let name = &name[..name
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(name.len())];
        if !PASS_THROUGH.contains(&name) {
            return None;
        }
    }
    Some(end)
}
