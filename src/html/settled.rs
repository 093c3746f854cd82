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

/// A plain element, by its place in [`PLAIN`]: the rules below look
/// elements up in tables instead of comparing names, which was most of
/// their time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element(u8);

/// A name of at most 16 bytes as a number that sorts as the name does
/// (zero-padded, big-endian): a name holding a NUL byte would not.
const fn packed(name: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let mut i = 0;
    while i < name.len() {
        bytes[i] = name[i];
        i += 1;
    }
    u128::from_be_bytes(bytes)
}

/// [`PLAIN`], packed, in the same order.
const PACKED: [u128; PLAIN.len()] = {
    let mut packed_names = [0; PLAIN.len()];
    let mut i = 0;
    while i < PLAIN.len() {
        assert!(
            PLAIN[i].len() <= 16,
            "a plain element's name fits in 16 bytes"
        );
        packed_names[i] = packed(PLAIN[i].as_bytes());
        i += 1;
    }
    packed_names
};

impl Element {
    /// The plain element `name` (lower-case) is, if the rules cover it.
    pub fn of(name: &str) -> Option<Element> {
        // Compared as numbers: a binary search of the names themselves was
        // a few `memcmp` calls per tag, a tenth of the cleaning's time.
        let name = name.as_bytes();
        if name.is_empty() || name.len() > 16 || name.contains(&0) {
            return None;
        }
        PACKED
            .binary_search(&packed(name))
            .ok()
            .map(|at| Element(at as u8))
    }

    pub fn name(self) -> &'static str {
        PLAIN[usize::from(self.0)]
    }

    /// Without content or end tag.
    pub fn is_void(self) -> bool {
        self.kind().void
    }

    fn kind(self) -> Kind {
        KINDS[usize::from(self.0)]
    }
}

/// What the rules ask of one plain element, from the lists above.
#[derive(Debug, Clone, Copy)]
struct Kind {
    closes_p: bool,
    heading: bool,
    formatting: bool,
    void: bool,
    table_part: bool,
}

const KINDS: [Kind; PLAIN.len()] = kinds();

const fn kinds() -> [Kind; PLAIN.len()] {
    let none = Kind {
        closes_p: false,
        heading: false,
        formatting: false,
        void: false,
        table_part: false,
    };
    let mut kinds = [none; PLAIN.len()];
    let mut i = 0;
    while i < PLAIN.len() {
        let name = PLAIN[i];
        kinds[i] = Kind {
            closes_p: listed(CLOSE_P, name),
            heading: listed(HEADINGS, name),
            formatting: listed(FORMATTING, name),
            void: listed(VOID, name),
            table_part: listed(TABLE_PARTS, name),
        };
        i += 1;
    }
    kinds
}

const fn listed(list: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < list.len() {
        if same(list[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The element `name` names; the build fails if it is not plain.
pub(super) const fn plain(name: &str) -> Element {
    let mut i = 0;
    while i < PLAIN.len() {
        if same(PLAIN[i], name) {
            return Element(i as u8);
        }
        i += 1;
    }
    panic!("not a plain element")
}

const A: Element = plain("a");
const DD: Element = plain("dd");
const DL: Element = plain("dl");
const DT: Element = plain("dt");
const LI: Element = plain("li");
const OL: Element = plain("ol");
const P: Element = plain("p");
const PRE: Element = plain("pre");
const TABLE: Element = plain("table");
const TBODY: Element = plain("tbody");
const TD: Element = plain("td");
const TFOOT: Element = plain("tfoot");
const TH: Element = plain("th");
const THEAD: Element = plain("thead");
const TR: Element = plain("tr");
const UL: Element = plain("ul");

/// Follows HTML token by token (see the module doc): [`settled`] reads the
/// tokens from the cleaned HTML, `direct` hands them over as it writes.
#[derive(Debug)]
pub struct Settled {
    open: Vec<Element>,
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
        match Element::of(name) {
            Some(element) => self.start_element(element),
            None => {
                self.after_pre = false;
                self.doubt = true;
            }
        }
    }

    /// A start tag of a plain element.
    pub fn start_element(&mut self, element: Element) {
        self.after_pre = false;
        let kind = element.kind();
        let alike = || self.open.iter().filter(|&&o| o == element).count();
        let doubt = !self.fits_parent(element)
            || (kind.closes_p && self.open.contains(&P))
            || (kind.heading && self.open.iter().any(|o| o.kind().heading))
            || (element == A && alike() > 0)
            || (kind.formatting && alike() >= 2);
        self.doubt |= doubt;
        if !kind.void {
            self.open.push(element);
            self.after_pre = element == PRE;
        }
    }

    /// An end tag, which must close the innermost open element.
    pub fn end(&mut self, name: &str) {
        self.after_pre = false;
        self.doubt |= self.open.pop().map(Element::name) != Some(name);
    }

    /// A run of text, as written or decoded (what is looked at, whitespace,
    /// carriage returns and NULs, is the same either way).
    pub fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        // The parser moves text other than whitespace out of a table.
        let moved = self.open.last().is_some_and(|p| p.kind().table_part)
            && !text
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0c'));
        // A carriage return comes back a newline, a NUL not at all.
        let changed = memchr::memchr2(b'\r', b'\0', text.as_bytes()).is_some();
        self.doubt |= moved || changed || (self.after_pre && text.starts_with('\n'));
        self.after_pre = false;
    }

    /// Whether the parser puts `name` where it stands: table parts only in
    /// the part above, list items only in a list.
    fn fits_parent(&self, element: Element) -> bool {
        let parent = self.open.last().copied();
        let wanted: &[Element] = match element {
            THEAD | TBODY | TFOOT => &[TABLE],
            TR => &[THEAD, TBODY, TFOOT],
            TD | TH => &[TR],
            LI => &[UL, OL],
            DD | DT => &[DL],
            _ => return !parent.is_some_and(|p| p.kind().table_part),
        };
        parent.is_some_and(|p| wanted.contains(&p))
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

    #[test]
    fn each_plain_name_is_found_by_its_number_and_nothing_else() {
        for (at, name) in PLAIN.iter().enumerate() {
            assert_eq!(Element::of(name).map(|e| e.0 as usize), Some(at), "{name}");
            assert_eq!(Element::of(name).unwrap().name(), *name);
        }
        for name in [
            "",
            "h",
            "h7",
            "h1\0",
            "\0",
            "bb",
            "blockquotes",
            "blockquote\0",
            "A",
            "tbodyx",
            "abcdefghijklmnopq",
        ] {
            assert!(Element::of(name).is_none(), "{name:?}");
        }
    }
}
