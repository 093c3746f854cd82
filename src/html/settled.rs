//! Which cleaned HTML surely re-parses to itself, told from its tags alone.
//!
//! The sanitiser proves its output re-parses to itself by cleaning it again
//! and comparing (see the module doc of `html`): a third of its time, on
//! every post. Yet the serialised tree re-parses differently only where the
//! HTML parser would close, move, reopen or drop something: a block opened
//! inside a paragraph, a link inside a link, a list item outside a list, a
//! cell outside a row, text between table rows, a newline just after `<pre>`,
//! MathML, and elements with parsing rules of their own. [`settled`] reads
//! the tags and text of the cleaned HTML and says yes only for markup made
//! of [`PLAIN`] elements nested as the parser itself nests them (and no
//! deeper than the sanitiser's bound); anything else goes through the
//! streaming pass and is cleaned again as before. Real posts
//! (pulldown-cmark's HTML, kramdown's) are almost all of the first kind.
//!
//! The scan relies on the form html5ever's serialiser gives the cleaned
//! HTML: text escapes `<`, `>` and `&`; a tag is `<name>`, `</name>` or
//! `<name a="v" b="w">` with `"` escaped in values (which may hold `>`); no
//! comments. The only raw-text element the allow-list keeps, `iframe`, is
//! not plain. Anything else in a tag is doubt, never an error.
//!
//! The rules are those of the HTML standard's tree construction "in body",
//! "in table", "in table body", "in row" and "in cell" for these elements,
//! taken more strictly than the standard where that keeps them short (a
//! paragraph anywhere above a block, not only in button scope). The
//! cleaned HTML closes every element it opens, in order, so the parser's
//! stack of open elements is the stack kept here, and its list of active
//! formatting elements holds just the formatting elements on that stack.

/// Elements whose parsing the rules below cover, sorted for the search.
const PLAIN: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "audio",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "center",
    "cite",
    "code",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
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
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "picture",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Start tags that close an open paragraph.
const CLOSE_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
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
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
];

const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// Formatting elements: the parser reopens them after a misnested close,
/// and forgets the earliest of three alike.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "i", "s", "small", "strike", "strong", "tt", "u",
];

const VOID: &[&str] = &["br", "hr", "img", "source", "track", "wbr"];

/// Table parts, in which only the next part down and whitespace may stand.
const TABLE_PARTS: &[&str] = &["table", "tbody", "tfoot", "thead", "tr"];

/// Whether `html`, as the cleaner wrote it, surely re-parses to itself and
/// nests no deeper than `max_depth` (see the module doc).
pub fn settled(html: &str, max_depth: usize) -> bool {
    let mut state = Settled::new(max_depth);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        state.text(&rest[..open]);
        rest = &rest[open + 1..];
        let end = if let Some(name_and_after) = rest.strip_prefix('/') {
            let Some(end) = name_and_after.find('>') else {
                return false;
            };
            state.end(&name_and_after[..end]);
            end + 2
        } else {
            let Some((name, end)) = start_tag(rest) else {
                return false;
            };
            state.start(name);
            end
        };
        if !state.holds() {
            return false;
        }
        rest = &rest[end..];
    }
    state.text(rest);
    state.ends()
}

/// The name of the start tag `tag` begins with (just after its `<`), and
/// where the tag ends; `None` where it has not the serialiser's form.
fn start_tag(tag: &str) -> Option<(&str, usize)> {
    let name_end = tag.find([' ', '>'])?;
    let mut at = name_end;
    loop {
        let rest = &tag[at..];
        if rest.starts_with('>') {
            return Some((&tag[..name_end], at + 1));
        }
        // ` name="value"`, and nothing else.
        let attribute = rest.strip_prefix(' ')?;
        let equals = attribute.find("=\"")?;
        if attribute[..equals].contains([' ', '>', '"']) {
            return None;
        }
        let close = attribute[equals + 2..].find('"')?;
        at += 1 + equals + 2 + close + 1;
    }
}

/// Whether the rules here cover how `name` (lower-case) is parsed.
pub fn is_plain(name: &str) -> bool {
    PLAIN.binary_search(&name).is_ok()
}

/// Whether `name` is a plain element without content or end tag.
pub fn is_void(name: &str) -> bool {
    VOID.contains(&name)
}

/// Follows HTML token by token (see the module doc): [`settled`] reads the
/// tokens from the cleaned HTML, `direct` hands them over as it writes.
#[derive(Debug)]
pub struct Settled {
    open: Vec<&'static str>,
    max_depth: usize,
    doubt: bool,
    /// Just after `<pre>`, where the parser drops a newline.
    after_pre: bool,
}

impl Settled {
    pub fn new(max_depth: usize) -> Settled {
        Settled {
            open: Vec::new(),
            max_depth,
            doubt: false,
            after_pre: false,
        }
    }

    /// Whether the tokens so far are parsed as they nest, no deeper than
    /// the bound.
    pub fn holds(&self) -> bool {
        !self.doubt && self.open.len() <= self.max_depth
    }

    /// Whether the whole is parsed as it nests: it holds, and closes every
    /// element it opens.
    pub fn ends(&self) -> bool {
        self.holds() && self.open.is_empty()
    }

    /// A start tag, `name` lower-case as the cleaner wrote it.
    pub fn start(&mut self, name: &str) {
        self.after_pre = false;
        let Ok(at) = PLAIN.binary_search(&name) else {
            self.doubt = true;
            return;
        };
        let name = PLAIN[at];
        let open = |names: &[&str]| self.open.iter().any(|o| names.contains(o));
        let alike = || self.open.iter().filter(|&&o| o == name).count();
        let listed = |list: &[&str]| list.binary_search(&name).is_ok();
        let doubt = !self.fits_parent(name)
            || (listed(CLOSE_P) && open(&["p"]))
            || (listed(HEADINGS) && open(HEADINGS))
            || (name == "a" && alike() > 0)
            || (listed(FORMATTING) && alike() >= 2);
        self.doubt |= doubt;
        if !listed(VOID) {
            self.open.push(name);
            self.after_pre = name == "pre";
        }
    }

    /// An end tag, which must close the innermost open element.
    pub fn end(&mut self, name: &str) {
        self.after_pre = false;
        self.doubt |= self.open.pop() != Some(name);
    }

    /// A run of text, as written or decoded (what is looked at, whitespace,
    /// carriage returns and NULs, is the same either way).
    pub fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let parent = self.open.last().copied().unwrap_or_default();
        // The parser moves text other than whitespace out of a table.
        let moved = TABLE_PARTS.contains(&parent)
            && !text
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0c'));
        // A carriage return comes back a newline, a NUL not at all.
        let changed = text.contains(['\r', '\0']);
        self.doubt |= moved || changed || (self.after_pre && text.starts_with('\n'));
        self.after_pre = false;
    }

    /// Whether the parser puts `name` where it stands: table parts only in
    /// the part above, list items only in a list.
    fn fits_parent(&self, name: &str) -> bool {
        let parent = self.open.last().copied().unwrap_or_default();
        let wanted: &[&str] = match name {
            "thead" | "tbody" | "tfoot" => &["table"],
            "tr" => &["thead", "tbody", "tfoot"],
            "td" | "th" => &["tr"],
            "li" => &["ul", "ol"],
            "dd" | "dt" => &["dl"],
            _ => return !TABLE_PARTS.contains(&parent),
        };
        wanted.contains(&parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_in_the_serialisers_form_only() {
        let link = r#"<p><a href="https://e.org/?a>b" title="x &quot;y&quot;">t</a> &lt;b&gt;</p>"#;
        assert!(settled(link, 32));
        assert!(settled(
            r#"<details open=""><summary>s</summary></details>"#,
            32
        ));
        for odd in [
            "<p a=b>x</p>",
            "<p>x</div>",
            "<p>x",
            "<p>x</p",
            "<p a=\"x>",
            "<p  a=\"\">",
        ] {
            assert!(!settled(odd, 32), "{odd}");
        }
    }

    #[test]
    fn nesting_past_the_bound_is_left_to_the_streaming_pass() {
        let nested = |n| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        assert!(settled(&nested(32), 32));
        assert!(!settled(&nested(33), 32));
    }

    #[test]
    fn the_lists_are_sorted_and_plain() {
        for list in [PLAIN, CLOSE_P, HEADINGS, FORMATTING, VOID, TABLE_PARTS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|name| PLAIN.contains(name)), "{list:?}");
        }
        // A plain element the cleaner never keeps would be a dead rule.
        let kept = super::super::allow::elements();
        assert!(PLAIN.iter().all(|name| kept.contains(name)));
    }
}
