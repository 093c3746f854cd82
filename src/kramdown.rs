//! kramdown's own syntax, which Jekyll blogs use and CommonMark does not
//! know, read the way kramdown reads it so none of it leaks into a feed:
//!
//! - `$$ ... $$` math is taken out before Markdown runs (so `\\` keeps both
//!   backslashes and `_` makes no emphasis) and put back as kramdown's
//!   MathJax output: `\[ ... \]` for a block, `\( ... \)` inline;
//! - `* TOC` followed by `{:toc}` becomes a list of the post's headings;
//! - an attribute list (`{: .class #id}`) after an ATX heading becomes the
//!   heading's attributes; anywhere else it is dropped, as are attribute
//!   definitions and `{::comment}` / `{::options}` extensions;
//! - rows starting with `|` with no `|---|` rule are a table, as in kramdown.
//!
//! Fenced code blocks, code spans and raw HTML blocks whose content
//! neither reader parses (`<pre>`, as `{% highlight %}` writes it,
//! `<script>`, `<style>`, `<textarea>`) are left exactly as written. A
//! `<br>` or `<img>` alone on the line that starts a paragraph stays in
//! it, as in kramdown.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;

use crate::html::escape;

/// The post's Markdown with kramdown syntax turned into CommonMark, and
/// what goes back in after rendering.
#[derive(Debug, Default)]
pub struct Prepared {
    pub markdown: String,
    math: Vec<(String, bool)>,
    /// Where `{:toc}` asked for the table of contents.
    pub toc: bool,
}

const MATH: &str = "HERALDKDMATH";
/// Finds [`MATH`], built once: std's substring search sets itself up again
/// at each call, and texts are searched by the thousand.
static MATH_FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(MATH));
/// Finds where a span attribute list may start.
static SPAN_ATTRIBUTES: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("{:"));
/// Finds kramdown's math delimiter.
static DOLLARS: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("$$"));
/// Finds where a link destination may start.
static DESTINATION: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("]("));
pub const TOC: &str = "HERALDKDTOC";

pub fn prepare(source: &str) -> Prepared {
    let mut prepared = Prepared::default();
    prepared.markdown.reserve(source.len() + source.len() / 32);
    // Where the stretch of text since the last verbatim block starts: the
    // stretch is read in place, not gathered line by line.
    let mut text_from = 0;
    let mut at = 0;
    let mut verbatim: Option<Verbatim> = None;
    let mut layout = Layout::default();
    // The end of an indented code block already written.
    let mut skip_to = 0;
    for line in lines(source) {
        let line_at = at;
        at += line.len();
        if line_at < skip_to {
            continue;
        }
        match &verbatim {
            Some(Verbatim::Script) => {
                if !line.trim().is_empty() {
                    prepared.markdown.push_str(line);
                }
                if Verbatim::Script.closed_by(line) {
                    // Still inside the block or paragraph it opened in.
                    verbatim = None;
                    text_from = at;
                    layout.block_may_start = false;
                }
            }
            Some(block) => {
                prepared.markdown.push_str(line);
                if block.closed_by(line) {
                    verbatim = None;
                    text_from = at;
                    layout.block_may_start = true;
                }
            }
            None => {
                if layout.opens_indented_code(line, &source[at..]) {
                    prepared.text(&source[text_from..line_at]);
                    let (len, code) = indented_code(&source[line_at..]);
                    prepared.markdown.push_str(&code);
                    skip_to = line_at + len;
                    text_from = skip_to;
                    continue;
                }
                let Some(block) = Verbatim::opened_by(line) else {
                    if opens_script(line) {
                        prepared.text(&source[text_from..at]);
                        text_from = at;
                        verbatim = Some(Verbatim::Script);
                    }
                    continue;
                };
                prepared.text(&source[text_from..line_at]);
                // Right after a line of HTML, CommonMark would read `<pre>`
                // as more of that block, ended by a blank line in the code.
                if matches!(block, Verbatim::Html)
                    && last_line(&prepared.markdown).trim_start().starts_with('<')
                {
                    prepared.markdown.push('\n');
                }
                prepared.markdown.push_str(line);
                // A raw HTML block may end on the line that opens it.
                if matches!(block, Verbatim::Html) && block.closed_by(line) {
                    text_from = at;
                } else {
                    verbatim = Some(block);
                }
            }
        }
    }
    if verbatim.is_none() {
        prepared.text(&source[text_from..]);
    }
    prepared
}

/// What the lines so far tell about the next one: whether an indented
/// line there starts a code block (after a blank line, a heading or a
/// fenced block, outside any list), or goes on a paragraph or list item.
struct Layout {
    block_may_start: bool,
    /// The block element a line began, as kramdown reads it.
    element: HtmlBlock,
    /// A list item, footnote or definition began, and no unindented line
    /// after a blank has ended it: its indented lines are its content.
    in_list: bool,
    after_blank: bool,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            block_may_start: true,
            element: HtmlBlock::element(),
            in_list: false,
            after_blank: false,
        }
    }
}

impl Layout {
    /// Reads `line` (outside verbatim blocks): true when it opens an
    /// indented code block.
    fn opens_indented_code(&mut self, line: &str, rest: &str) -> bool {
        let trimmed = line.trim_start();
        let in_element = self.element.indents_html(line, rest);
        self.element.ended_by(line);
        if trimmed.is_empty() {
            self.block_may_start = true;
            self.after_blank = true;
            return false;
        }
        if code_indent(line) && self.block_may_start && !self.in_list && !in_element {
            return true;
        }
        let indent = indent_columns(line);
        if indent < 4
            && (is_list_item(line) || trimmed.starts_with("[^") || trimmed.starts_with(": "))
        {
            self.in_list = true;
        } else if indent == 0 && self.after_blank {
            self.in_list = false;
        }
        self.after_blank = false;
        self.block_may_start = is_atx_heading(line);
        false
    }
}

/// The indented code block `text` starts with, as kramdown reads it: its
/// length in `text`, and the same code as a fenced block. Lines indented
/// four columns go on it, with blank lines between them; so does a line
/// right after one of them however little it is indented (joined to it
/// with a space when indented less than four spaces), unless it starts an
/// attribute list or block HTML.
fn indented_code(text: &str) -> (usize, String) {
    let mut code = String::new();
    let mut end = 0;
    let mut at = 0;
    let mut blanks = String::new();
    let mut after_code = false;
    for line in lines(text) {
        at += line.len();
        if line.trim().is_empty() {
            blanks.push_str(line);
            after_code = false;
            continue;
        }
        if code_indent(line) {
            code.push_str(&blanks);
        } else if !after_code || !lazy_code_line(line) {
            break;
        }
        blanks.clear();
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let joined = spaces < 4 && !line[spaces..].starts_with(char::is_whitespace);
        if joined && code.ends_with('\n') {
            code.pop();
            code.push(' ');
        }
        code.push_str(line);
        if !line.ends_with('\n') {
            code.push('\n');
        }
        end = at;
        after_code = true;
    }
    let code: String = lines(&code)
        .map(|line| {
            line.strip_prefix('\t')
                .or_else(|| line.strip_prefix("    "))
                .unwrap_or(line)
        })
        .collect();
    let longest_tildes = code.split(|c| c != '~').map(str::len).max().unwrap_or(0);
    let fence = "~".repeat(longest_tildes.max(2) + 1);
    (end, format!("{fence}\n{code}{fence}\n"))
}

/// Indented as kramdown's code is: by a tab or four spaces.
fn code_indent(line: &str) -> bool {
    line.starts_with('\t') || line.starts_with("    ")
}

/// A line kramdown takes on into an indented code block right after a
/// line of it: not an attribute list, an end-of-block marker or a block
/// HTML tag.
fn lazy_code_line(line: &str) -> bool {
    let t = line.trim_start();
    if indent_columns(line) < 4
        && t.starts_with("{:")
        && !t.starts_with("{::")
        && !t.starts_with("{:/")
    {
        return false;
    }
    if line.trim_end() == "^" {
        return false;
    }
    !is_block_element(tag_name(t))
}

/// Where kramdown reads no kramdown syntax (no math, no attribute lists,
/// no tables): fenced code, and the raw HTML blocks whose content it never
/// parses, `<pre>` above all, which `{% highlight %}` writes. Their lines
/// go into the Markdown as they are.
enum Verbatim {
    /// A code fence: its marker run (```` ``` ```` or `~~~`, as long as
    /// it opened).
    Fence(String),
    /// `<pre>`, `<script>`, `<style>` or `<textarea>`, up to the line
    /// holding the end tag of any of them (as CommonMark ends the block).
    Html,
    /// An HTML comment that a line starts and does not end, up to the
    /// line holding `-->`, blank lines and all: both readers keep it whole,
    /// and an indented line inside it is no code block.
    Comment,
    /// A `<script>` or `<style>` opened inside a line of text or HTML and
    /// not closed on it, up to the line that closes it; its blank lines
    /// are left out. kramdown keeps the element and its block whole; a
    /// blank line would end the block for CommonMark, and the element,
    /// never closed, would take the rest of the post with it when the
    /// HTML is cleaned (its content is dropped either way).
    Script,
}

impl Verbatim {
    fn opened_by(line: &str) -> Option<Verbatim> {
        if indent_columns(line) >= 4 {
            return None;
        }
        // Spaces and tabs only: a no-break space is text to both readers.
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let marker = trimmed.as_bytes()[0] as char;
            let run = trimmed.chars().take_while(|&c| c == marker).count();
            // A backtick in a backtick fence's info string makes the line
            // a code span (```` ```git tag``` ````), not a fence.
            if marker == '`' && trimmed[run..].contains('`') {
                return None;
            }
            return Some(Verbatim::Fence(marker.to_string().repeat(run)));
        }
        if trimmed.starts_with("<!--") && !trimmed.contains("-->") {
            return Some(Verbatim::Comment);
        }
        let bytes = trimmed.as_bytes();
        RAW_HTML
            .iter()
            .any(|tag| {
                bytes.len() > tag.len()
                    && bytes[0] == b'<'
                    && bytes[1..=tag.len()].eq_ignore_ascii_case(tag.as_bytes())
                    && matches!(
                        bytes.get(tag.len() + 1),
                        None | Some(b' ' | b'\t' | b'>' | b'\n' | b'\r')
                    )
            })
            .then_some(Verbatim::Html)
    }

    fn closed_by(&self, line: &str) -> bool {
        match self {
            Verbatim::Fence(open) => {
                let trimmed = line.trim_matches([' ', '\t', '\r', '\n']);
                indent_columns(line) < 4
                    && trimmed.starts_with(open.as_str())
                    && trimmed.bytes().all(|c| c == open.as_bytes()[0])
            }
            Verbatim::Comment => line.contains("-->"),
            Verbatim::Script => !opens_script(line) && ends_tag(line, &SCRIPTS),
            Verbatim::Html => ends_tag(line, &RAW_HTML),
        }
    }
}

/// Whether `line` holds the end tag of one of `tags`.
fn ends_tag(line: &str, tags: &[&str]) -> bool {
    let bytes = line.as_bytes();
    memmem::find_iter(bytes, b"</").any(|at| {
        let name = &bytes[at + 2..];
        tags.iter().any(|tag| {
            name.len() > tag.len()
                && name[..tag.len()].eq_ignore_ascii_case(tag.as_bytes())
                && name[tag.len()] == b'>'
        })
    })
}

/// Whether `text` holds an end tag of the element `name` (lower case),
/// found without a lower-case copy of `text`: it is the rest of the post,
/// asked about at each indented line of HTML.
fn closes(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    memmem::find_iter(bytes, b"</").any(|at| {
        let after = &bytes[at + 2..];
        after.len() >= name.len()
            && after[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && !after.get(name.len()).is_some_and(u8::is_ascii_alphanumeric)
    })
}

const SCRIPTS: [&str; 2] = ["script", "style"];

/// Whether `line` opens a `<script>` or `<style>` outside its code spans
/// and does not close it after. Its code spans are found only for a line
/// that names one.
fn opens_script(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut opened = memchr::memrchr_iter(b'<', bytes).filter(|&at| {
        let name = &bytes[at + 1..];
        SCRIPTS.iter().any(|tag| {
            name.len() > tag.len()
                && name[..tag.len()].eq_ignore_ascii_case(tag.as_bytes())
                && matches!(name[tag.len()], b' ' | b'\t' | b'>' | b'\n' | b'\r')
        })
    });
    let Some(last) = opened.next() else {
        return false;
    };
    let spans = code_spans(line);
    let outside = std::iter::once(last)
        .chain(opened)
        .find(|at| !spans.iter().any(|span| span.contains(at)));
    outside.is_some_and(|at| !ends_tag(&line[at..], &SCRIPTS))
}

/// The last line of `text` (without its line end), if it ends with one.
fn last_line(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or("");
    text.rsplit('\n').next().unwrap_or(text)
}

/// Any element kramdown does not read inside a paragraph: at the start of
/// a line, its tag begins a block of HTML.
fn is_block_element(name: &str) -> bool {
    !name.is_empty() && !is_span_element(name)
}

/// The name of the element whose tag `text` starts with (`<div ...`,
/// `</div>`).
fn tag_name(text: &str) -> &str {
    let text = text.strip_prefix('<').unwrap_or("");
    let text = text.strip_prefix('/').unwrap_or(text);
    let len = text.bytes().take_while(u8::is_ascii_alphanumeric).count();
    &text[..len]
}

/// The block of HTML the lines read so far are inside, if any: begun by a
/// block element's tag at the start of a line, ended by that element's
/// end tag.
#[derive(Default)]
struct HtmlBlock {
    /// The element that began it, lower case, and how deep in it the
    /// lines are (elements of its name inside it are counted).
    open: Option<(String, usize)>,
    /// Whether a blank line leaves the element open, as kramdown reads
    /// it, or ends the block, as CommonMark does.
    across_blanks: bool,
}

impl HtmlBlock {
    /// The element as kramdown reads it: open until its end tag.
    fn element() -> HtmlBlock {
        HtmlBlock {
            open: None,
            across_blanks: true,
        }
    }

    /// Whether `line`, read inside the element whose end tag comes in
    /// `rest`, is HTML that CommonMark would take for an indented code
    /// block after a blank line: the source of a `{% for %}` loop's cards
    /// shown as code. kramdown reads an element never closed as text.
    fn indents_html(&self, line: &str, rest: &str) -> bool {
        let Some((name, _)) = &self.open else {
            return false;
        };
        code_indent(line) && line.trim_start().starts_with('<') && closes(rest, name)
    }

    /// Reads `line`: true when it ends the block.
    fn ended_by(&mut self, line: &str) -> bool {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if !self.across_blanks {
                self.open = None;
            }
            return false;
        }
        if self.open.is_none() && trimmed.starts_with('<') && indent_columns(line) < 4 {
            let name = tag_name(trimmed);
            // kramdown keeps open across blank lines only the containers
            // of HTML, not a tag that closes itself (`<presence/>`).
            let self_closed = trimmed
                .find('>')
                .is_some_and(|end| trimmed[..end].ends_with('/'));
            let opens = match self.across_blanks {
                true => CONTAINERS.iter().any(|c| c.eq_ignore_ascii_case(name)) && !self_closed,
                false => is_block_element(name),
            };
            if opens && !trimmed.starts_with("</") {
                self.open = Some((name.to_ascii_lowercase(), 0));
            }
        }
        let Some((name, depth)) = &mut self.open else {
            return false;
        };
        let lower = trimmed.to_ascii_lowercase();
        let count = |prefix: &str| {
            let tag = format!("{prefix}{name}");
            memmem::find_iter(lower.as_bytes(), tag.as_bytes())
                .filter(|&at| {
                    !lower
                        .as_bytes()
                        .get(at + tag.len())
                        .is_some_and(u8::is_ascii_alphanumeric)
                })
                .count()
        };
        let opened = count("<");
        // `<hr>` and `<col>` have no end tag: they end themselves.
        let closed = if matches!(name.as_str(), "hr" | "col") {
            opened
        } else {
            count("</")
        };
        *depth = (*depth + opened).saturating_sub(closed);
        let ends = *depth == 0 && closed > 0 && trimmed.ends_with('>');
        if ends {
            self.open = None;
        }
        ends
    }
}

/// HTML elements that hold blocks, which kramdown reads to their end tag.
const CONTAINERS: [&str; 16] = [
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "div",
    "dl",
    "figure",
    "footer",
    "form",
    "header",
    "main",
    "nav",
    "p",
    "section",
    "table",
];

/// A line kramdown reads as the start of a paragraph or other Markdown
/// block, not more HTML.
fn starts_text(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && indent_columns(line) < 4 && !t.starts_with('<')
}

/// The elements whose content CommonMark and kramdown take as it is.
const RAW_HTML: [&str; 4] = ["pre", "script", "style", "textarea"];

/// A line's indentation in columns, a tab reaching the next multiple of
/// four, as CommonMark counts it (a tab-indented line is code).
fn indent_columns(line: &str) -> usize {
    let mut columns = 0;
    for byte in line.bytes() {
        match byte {
            b' ' => columns += 1,
            b'\t' => columns += 4 - columns % 4,
            _ => break,
        }
    }
    columns
}

/// `text`'s lines, each with its `\n` (as `split_inclusive('\n')`, with
/// a SIMD search for the line ends).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

impl Prepared {
    /// A stretch of Markdown outside fenced code, written straight on to
    /// [`Prepared::markdown`].
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let text = self.take_math(text);
        // Most lines pass unchanged, and are not searched for what the
        // whole text does not hold.
        let span_attributes = SPAN_ATTRIBUTES.find(text.as_bytes()).is_some();
        let destinations = DESTINATION.find(text.as_bytes()).is_some();
        let backslashes = memchr::memchr(b'\\', text.as_bytes()).is_some();
        let start = self.markdown.len();
        // Where the last piece written starts: an attribute list goes
        // into the heading before it, `{:toc}` replaces the `* TOC` before it.
        let mut last: Option<usize> = None;
        let mut skipping_extension = false;
        let mut markdown_blocks: Vec<String> = Vec::new();
        let mut html_block = HtmlBlock::default();
        let mut element = HtmlBlock::element();
        let mut lines = lines(&text).peekable();
        let mut read = 0;
        while let Some(line) = lines.next() {
            read += line.len();
            let trimmed = line.trim();
            // A blank line inside a block element, before indented HTML,
            // would end CommonMark's block and make that HTML code.
            let skip_blank = trimmed.is_empty()
                && element.open.is_some()
                && text[read..]
                    .lines()
                    .find(|next| !next.trim().is_empty())
                    .is_some_and(|next| element.indents_html(next, &text[read..]));
            element.ended_by(line);
            if skip_blank {
                continue;
            }
            if let Some((opened, name)) = markdown_block(line) {
                // kramdown reads Markdown inside `<div markdown="1">`;
                // CommonMark does when blank lines set it apart.
                last = Some(self.markdown.len());
                self.markdown.push_str(opened.trim_end());
                self.markdown.push_str("\n\n");
                markdown_blocks.push(name);
                continue;
            }
            if let Some(name) = markdown_blocks.last()
                && trimmed.starts_with(&format!("</{name}>"))
            {
                last = Some(self.markdown.len());
                self.markdown.push('\n');
                self.markdown.push_str(line);
                markdown_blocks.pop();
                continue;
            }
            if skipping_extension {
                skipping_extension = !trimmed.starts_with("{:/");
                continue;
            }
            if trimmed.starts_with("{::comment}") && !trimmed.contains("{:/") {
                skipping_extension = true;
                continue;
            }
            if trimmed.starts_with("{::") && (trimmed.ends_with("/}") || trimmed.contains("{:/")) {
                continue;
            }
            if trimmed == "{:toc}" || trimmed == "{: toc}" {
                self.toc = true;
                // The list item kramdown replaces (`* TOC`).
                if let Some(previous) = last
                    && is_list_item(&self.markdown[previous..])
                {
                    self.markdown.truncate(previous);
                }
                last = Some(self.markdown.len());
                self.markdown.push_str(&format!("\n{TOC}\n\n"));
                continue;
            }
            if let Some(attributes) = block_attributes(trimmed) {
                if let Some(previous) = last
                    && is_atx_heading(&self.markdown[previous..])
                {
                    let heading = self.markdown[previous..]
                        .trim_end()
                        .trim_end_matches('#')
                        .trim_end()
                        .to_string();
                    self.markdown.truncate(previous);
                    self.markdown
                        .push_str(&format!("{heading} {{{attributes}}}\n"));
                }
                continue;
            }
            let line = if span_attributes {
                without_span_attributes(line)
            } else {
                Cow::Borrowed(line)
            };
            let line = if destinations {
                spaced_destinations(line)
            } else {
                line
            };
            let line = paren_marker_as_text(line);
            let line = footnote_before_bracket(line);
            let line = if backslashes {
                two_backslash_break(backslashes_kept(line))
            } else {
                line
            };
            let block_start = last.is_none_or(|previous| {
                let previous = &self.markdown[previous..];
                previous.trim().is_empty() || is_atx_heading(previous)
            });
            last = Some(self.markdown.len());
            // kramdown reads a `<br>` or `<img ...>` starting a block as the
            // start of a paragraph; alone on its line, it starts an HTML
            // block for CommonMark, whose lines after it are then not
            // Markdown. On one line with the text after it, it is inline.
            if block_start
                && lone_span_tag(line.trim())
                && lines
                    .peek()
                    .is_some_and(|next| continues_paragraph(next) || lone_span_tag(next.trim()))
            {
                self.markdown.push_str(line.trim_end());
                self.markdown.push(' ');
            } else {
                self.markdown.push_str(&line);
            }
            // kramdown ends a block HTML element at its end tag, and reads
            // the next line as Markdown; for CommonMark the HTML block runs
            // on to a blank line.
            if html_block.ended_by(&line) && lines.peek().is_some_and(|next| starts_text(next)) {
                self.markdown.push('\n');
            }
        }
        if memchr::memchr(b'|', &self.markdown.as_bytes()[start..]).is_some() {
            let written = self.markdown.split_off(start);
            self.markdown.push_str(&with_table_rules(&written));
        }
    }

    /// Replaces each `$$ ... $$` with a placeholder, skipping code spans.
    fn take_math<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        if DOLLARS.find(text.as_bytes()).is_none() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        // Where the text is read from, and the next `$$` at or after it:
        // found again only once passed (each search from the cursor made a
        // post with many code spans quadratic).
        let mut at = 0;
        let mut next_math = DOLLARS.find(text.as_bytes());
        while let Some(m) = next_math {
            if let Some(c) = memchr::memchr(b'`', &text.as_bytes()[at..m]).map(|c| at + c) {
                let run = text[c..].bytes().take_while(|&b| b == b'`').count();
                let ticks = &text[c..c + run];
                let end = memmem::find(&text.as_bytes()[c + run..], ticks.as_bytes())
                    .map_or(c + run, |e| c + run + e + run);
                out.push_str(&text[at..end]);
                at = end;
                if m < at {
                    next_math = DOLLARS.find(&text.as_bytes()[at..]).map(|m| at + m);
                }
                continue;
            }
            let Some(len) = DOLLARS.find(&text.as_bytes()[m + 2..]) else {
                break;
            };
            out.push_str(&text[at..m]);
            let after = &text[m + 4 + len..];
            let line_ends = after.trim_start_matches([' ', '\t']);
            let block =
                at_block_start(&out) && (line_ends.is_empty() || line_ends.starts_with('\n'));
            self.math
                .push((text[m + 2..m + 2 + len].trim().to_string(), block));
            out.push_str(&format!("{MATH}{}X", self.math.len() - 1));
            at = m + 4 + len;
            next_math = DOLLARS.find(&text.as_bytes()[at..]).map(|m| at + m);
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Whether `text` holds a math placeholder.
    pub fn holds_math(text: &str) -> bool {
        MATH_FINDER.find(text.as_bytes()).is_some()
    }

    /// Each math placeholder in `text`, in order: where it starts and
    /// ends, and which math it stands for.
    fn placeholders<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = (usize, usize, usize)> + 't {
        let mut from = 0;
        std::iter::from_fn(move || {
            while let Some(found) = MATH_FINDER.find(&text.as_bytes()[from..]) {
                let start = from + found;
                from = start + 1;
                let digits = &text[start + MATH.len()..];
                let len = digits.bytes().take_while(u8::is_ascii_digit).count();
                // The number as it was written: no sign, no leading zero.
                let n = digits[..len].parse::<usize>().ok().filter(|n| {
                    n.to_string().len() == len
                        && digits[len..].starts_with('X')
                        && *n < self.math.len()
                });
                if let Some(n) = n {
                    from = start + MATH.len() + len + 1;
                    return Some((start, from, n));
                }
            }
            None
        })
    }

    /// `text` with its math placeholders replaced as [`Prepared::finish`]
    /// replaces them outside a paragraph of their own, unescaped.
    pub fn inline_math<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = String::new();
        let mut copied = 0;
        for (start, end, n) in self.placeholders(text) {
            out.push_str(&text[copied..start]);
            out.push_str(&format!("\\({}\\)", self.math[n].0));
            copied = end;
        }
        if copied == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// What [`Prepared::finish`] puts in place of a paragraph holding just
    /// `text`, unescaped: block math, if `text` is its placeholder.
    pub fn block_math(&self, text: &str) -> Option<String> {
        let (start, end, n) = self.placeholders(text).next()?;
        let (body, block) = &self.math[n];
        (*block && start == 0 && end == text.len()).then(|| format!("\\[{body}\\]"))
    }

    /// Puts the math back into rendered HTML: block math in place of a
    /// paragraph of its own, the rest inline. One pass over the HTML (a
    /// search of the whole per formula made a post with thousands of them
    /// take minutes).
    pub fn finish(&self, html: String) -> String {
        if self.math.is_empty() {
            return html;
        }
        let mut out = String::with_capacity(html.len());
        let mut copied = 0;
        for (start, end, n) in self.placeholders(&html) {
            let (body, block) = &self.math[n];
            let body = escape(body);
            let alone = html[copied..start].ends_with("<p>") && html[end..].starts_with("</p>");
            if *block && alone {
                out.push_str(&html[copied..start - "<p>".len()]);
                out.push_str(&format!("\\[{body}\\]"));
                copied = end + "</p>".len();
            } else {
                out.push_str(&html[copied..start]);
                out.push_str(&format!("\\({body}\\)"));
                copied = end;
            }
        }
        out.push_str(&html[copied..]);
        out
    }
}

/// True when `out` ends where a block may start: at the start of a line
/// that follows a blank line (or nothing). Read back from the end and
/// stopped at the first character that is not a blank: splitting off the
/// last two lines read a whole line per formula, so a long line of
/// formulas took time in the square of its length.
fn at_block_start(out: &str) -> bool {
    let mut back = out.chars().rev();
    // The current line: blank back to its start.
    loop {
        match back.next() {
            None => return true,
            Some('\n') => break,
            Some(c) if c.is_whitespace() => {}
            Some(_) => return false,
        }
    }
    // The line before it, if any: blank too.
    back.take_while(|&c| c != '\n').all(char::is_whitespace)
}

/// An opening tag alone on its line with `markdown="1"` (or `"block"`):
/// the line without the attribute, and the tag's name.
fn markdown_block(line: &str) -> Option<(String, String)> {
    let t = line.trim();
    if !t.starts_with('<')
        || !t.ends_with('>')
        || t.starts_with("</")
        || memmem::find(t.as_bytes(), b"markdown=").is_none()
    {
        return None;
    }
    let attribute = [
        "markdown=\"1\"",
        "markdown='1'",
        "markdown=\"block\"",
        "markdown=1",
    ]
    .into_iter()
    .find(|a| t.contains(a))?;
    let name: String = t[1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if name.is_empty() || t[1..].contains('<') {
        return None;
    }
    Some((line.replacen(&format!(" {attribute}"), "", 1), name))
}

/// HTML elements kramdown reads inside a paragraph (its
/// `HTML_SPAN_ELEMENTS`).
const SPAN_ELEMENTS: [&str; 38] = [
    "a", "abbr", "acronym", "b", "big", "bdo", "br", "button", "cite", "code", "del", "dfn", "em",
    "i", "img", "input", "ins", "kbd", "label", "mark", "option", "q", "rb", "rbc", "rp", "rt",
    "rtc", "ruby", "samp", "select", "small", "span", "strong", "sub", "sup", "tt", "u", "var",
];

fn is_span_element(name: &str) -> bool {
    SPAN_ELEMENTS
        .iter()
        .any(|span| span.eq_ignore_ascii_case(name))
}

/// One start or end tag of a span element, alone: `<br>`, `<img src="a.png">`.
fn lone_span_tag(trimmed: &str) -> bool {
    let Some(inner) = trimmed.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
        return false;
    };
    if inner.contains(['<', '>']) {
        return false;
    }
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    let name_len = inner.bytes().take_while(u8::is_ascii_alphanumeric).count();
    let (name, after) = inner.split_at(name_len);
    is_span_element(name) && (after.is_empty() || after.starts_with([' ', '\t', '/']))
}

/// A line that would go on a paragraph begun on the line before it: text,
/// not a blank, a heading, a list item, a rule, a table, a fence, code,
/// block math or HTML.
fn continues_paragraph(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && indent_columns(line) < 4
        && !is_list_item(line)
        && !t.starts_with(['#', '<', '|', '>', '`', '~', '{', '=', '-', '_'])
        && !t.starts_with(MATH)
}

/// A line whose text starts with `1)` (after any `>` or list markers),
/// with the `)` written as a character reference: an ordered list item
/// for CommonMark, plain text for kramdown, whose markers are `1.` only.
fn paren_marker_as_text(line: Cow<'_, str>) -> Cow<'_, str> {
    if indent_columns(&line) >= 4 {
        return line;
    }
    let bytes = line.as_bytes();
    let digits_from = |at: usize| {
        bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = bytes
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    loop {
        let next = match bytes.get(at) {
            Some(b'>') => at + 1,
            Some(b'-' | b'*' | b'+') => at + 1,
            Some(b'0'..=b'9') if bytes.get(at + digits_from(at)) == Some(&b'.') => {
                at + digits_from(at) + 1
            }
            _ => break,
        };
        let spaces = bytes[next..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if spaces == 0 && bytes.get(at) != Some(&b'>') {
            break;
        }
        at = next + spaces;
    }
    let digits = digits_from(at);
    let marker = (1..=9).contains(&digits)
        && bytes.get(at + digits) == Some(&b')')
        && matches!(
            bytes.get(at + digits + 1),
            None | Some(b' ' | b'\t' | b'\n' | b'\r')
        );
    if !marker {
        return line;
    }
    let paren = at + digits;
    Cow::Owned(format!("{}&#41;{}", &line[..paren], &line[paren + 1..]))
}

fn is_list_item(line: &str) -> bool {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    t.starts_with("* ")
        || t.starts_with("- ")
        || t.starts_with("+ ")
        || (digits > 0 && t[digits..].starts_with(". "))
}

fn is_atx_heading(line: &str) -> bool {
    let t = line.trim_start();
    indent_columns(line) < 4 && t.starts_with('#') && {
        let level = t.chars().take_while(|&c| c == '#').count();
        level <= 6 && t[level..].starts_with([' ', '\t'])
    }
}

/// `{: .class #id key="v"}` or `{:.class}` alone on a line, as attributes
/// CommonMark headings take; `{:name: ...}` definitions give an empty list.
fn block_attributes(line: &str) -> Option<String> {
    let inner = line.strip_prefix("{:")?.strip_suffix('}')?;
    if inner.starts_with(':') || inner.contains('{') {
        return None;
    }
    let word_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    if inner[..word_end].ends_with(':') {
        return Some(String::new());
    }
    let kept: Vec<&str> = inner
        .split_whitespace()
        .filter(|w| w.starts_with(['.', '#']) || w.contains('='))
        .collect();
    Some(kept.join(" "))
}

/// Drops span attribute lists (`*word*{: .x}`) outside code spans.
fn without_span_attributes(line: &str) -> Cow<'_, str> {
    if SPAN_ATTRIBUTES.find(line.as_bytes()).is_none() {
        return Cow::Borrowed(line);
    }
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    let mut copied = 0;
    let mut at = 0;
    // A search for `}` at every `{:` made a long line of them with no `}`
    // take time in the square of its length.
    let mut close = Ahead::default();
    while at < bytes.len() {
        match bytes[at] {
            b'`' => in_code = !in_code,
            b'{' if !in_code && bytes.get(at + 1) == Some(&b':') => {
                if let Some(end) = close.find(bytes, at, |b| memchr::memchr(b'}', b)) {
                    out.push_str(&line[copied..at]);
                    at = end + 1;
                    copied = at;
                    continue;
                }
            }
            _ => {}
        }
        at += 1;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// A footnote reference right before a bracket (`word[^1][a link](u)`):
/// kramdown reads the reference, then the link; pulldown-cmark takes the
/// brackets for one reference link and shows `[^1]` as text. An empty
/// comment between them, which cleaning drops, keeps them apart.
fn footnote_before_bracket(line: Cow<'_, str>) -> Cow<'_, str> {
    if !line.contains("[^") {
        return line;
    }
    let spans = code_spans(&line);
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in line.match_indices("[^") {
        let Some(len) = line[at + 2..].find(']') else {
            continue;
        };
        let end = at + 2 + len + 1;
        let id = &line[at + 2..end - 1];
        let is_id = !id.is_empty() && !id.contains(|c: char| c.is_whitespace() || c == '[');
        if is_id && line[end..].starts_with('[') && !spans.iter().any(|span| span.contains(&at)) {
            out.push_str(&line[copied..end]);
            out.push_str("<!-- -->");
            copied = end;
        }
    }
    if copied == 0 {
        return line;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// kramdown breaks a line that ends with two backslashes (`a\\`), where
/// CommonMark breaks one that ends with one and shows `\` for two; not in
/// a code span left open at the line's end.
fn two_backslash_break(line: Cow<'_, str>) -> Cow<'_, str> {
    let body = line.trim_end_matches(['\n', '\r']);
    let run = body.len() - body.trim_end_matches('\\').len();
    if run != 2 || body.matches('`').count() % 2 == 1 {
        return line;
    }
    let mut out = String::with_capacity(line.len());
    out.push_str(&body[..body.len() - 1]);
    out.push_str(&line[body.len()..]);
    Cow::Owned(out)
}

/// Characters CommonMark lets a backslash escape but kramdown (with its
/// GFM input, Jekyll's default) does not, so that it shows the backslash.
const KEEPS_BACKSLASH: &[u8] = b"%&,/;?@^";

/// Doubles a backslash before a character of [`KEEPS_BACKSLASH`], so that
/// `\%` shows as written, as in kramdown; not in code spans or HTML tags.
fn backslashes_kept(line: Cow<'_, str>) -> Cow<'_, str> {
    if code_in_quote(&line) {
        return line;
    }
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut in_code = false;
    let mut at = 0;
    let mut tag_end = Ahead::default();
    while let Some(found) = memchr::memchr3(b'\\', b'`', b'<', &bytes[at..]) {
        at += found;
        match bytes[at] {
            b'`' => {
                in_code = !in_code;
                at += bytes[at..].iter().take_while(|&&b| b == b'`').count();
            }
            b'<' if !in_code
                && bytes
                    .get(at + 1)
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/') =>
            {
                at = tag_end
                    .find(bytes, at, |b| memchr::memchr(b'>', b))
                    .map_or(bytes.len(), |end| end + 1);
            }
            b'\\' if !in_code => {
                if bytes
                    .get(at + 1)
                    .is_some_and(|b| KEEPS_BACKSLASH.contains(b))
                {
                    out.push_str(&line[copied..at]);
                    out.push('\\');
                    copied = at;
                }
                at += 2;
            }
            _ => at += 1,
        }
        if at >= bytes.len() {
            break;
        }
    }
    // Each change writes a backslash.
    if out.is_empty() {
        return line;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

/// Whether `line` is code, maybe inside block quotes (`>     code`): its
/// text is indented four columns or more after any `>` markers, each
/// taking one space after it.
fn code_in_quote(line: &str) -> bool {
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if indent_columns(rest) >= 4 {
            return true;
        }
        match trimmed.strip_prefix('>') {
            Some(after) => rest = after.strip_prefix(' ').unwrap_or(after),
            None => return false,
        }
    }
}

/// kramdown takes a link destination with spaces (`[a](my page.html)`);
/// CommonMark wants it in angle brackets. Destinations with a title, and
/// code spans, are left alone.
fn spaced_destinations(line: Cow<'_, str>) -> Cow<'_, str> {
    if DESTINATION.find(line.as_bytes()).is_none()
        || memchr::memchr(b'`', line.as_bytes()).is_some()
    {
        return line;
    }
    let text = line.as_ref();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 4);
    let mut copied = 0;
    let mut next = DESTINATION.find(bytes);
    let mut close = Ahead::default();
    while let Some(at) = next {
        let from = at + 2;
        next = DESTINATION.find(&bytes[from..]).map(|n| from + n);
        let Some(end) = close.find(bytes, from, |b| memchr::memchr(b')', b)) else {
            break;
        };
        // Past the next `](` the destination would hold its `(`: never
        // spaced, and not read (so a line of many is read once).
        if next.is_some_and(|next| next < end) {
            continue;
        }
        let destination = &text[from..end];
        let spaced = destination.trim().contains(' ')
            && !destination.contains(['"', '\'', '<', '(', '['])
            && !destination.trim().is_empty();
        if spaced {
            out.push_str(&text[copied..from]);
            out.push_str(&format!("<{}>", destination.trim()));
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// kramdown takes rows starting with `|` as a table even with no `|---|`
/// rule; CommonMark needs the rule, so one goes after the first row. And
/// kramdown splits a row into cells only at pipes outside code spans
/// (`` | `a || b` | ``, operator tables); GFM splits at every pipe not
/// escaped, so those in code are escaped.
fn with_table_rules(text: &str) -> Cow<'_, str> {
    if !text.contains('|') {
        return Cow::Borrowed(text);
    }
    let lines: Vec<&str> = lines(text).collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        while i < lines.len()
            && lines[i].trim_start().starts_with('|')
            && indent_columns(lines[i]) < 4
        {
            i += 1;
        }
        if i == start {
            out.push_str(lines[i]);
            i += 1;
            continue;
        }
        let rows = &lines[start..i];
        let has_rule = rows.iter().any(|l| is_rule(l));
        // A rule cut short (`|:---` alone, the rest on the lines after) is
        // taken for no rule of this table, as GFM takes it.
        let ruled = rows.len() > 1 && is_rule(rows[1]) && rows[1].trim_end().ends_with('|');
        // A table cannot interrupt a paragraph in kramdown; in GFM it can,
        // unless its header is no row. (A line with a pipe anywhere is a
        // table row to kramdown, as when a long cell was wrapped.)
        let in_paragraph = start > 0
            && !lines[start - 1].trim().is_empty()
            && !lines[start - 1].contains('|')
            && !is_atx_heading(lines[start - 1]);
        if in_paragraph || (has_rule && !ruled) {
            let header = if in_paragraph && ruled {
                pipes_escaped(rows[0], Escape::OutsideCode)
            } else {
                Cow::Borrowed(rows[0])
            };
            out.push_str(&header);
            rows[1..].iter().for_each(|row| out.push_str(row));
            continue;
        }
        let header = pipes_escaped(rows[0], Escape::InCode);
        let body: Vec<Cow<'_, str>> = rows[if ruled { 2 } else { 1 }..]
            .iter()
            .map(|row| pipes_escaped(row, Escape::InCode))
            .collect();
        // kramdown's table is as wide as its widest row, whatever its
        // header and rule hold; GFM's is as wide as its header, and drops
        // the cells past it. So the header gets empty cells, and the rule
        // as many columns.
        let header_cells = cells(&header).count();
        let columns = body
            .iter()
            .map(|row| cells(row).count())
            .fold(header_cells, usize::max)
            .max(1);
        out.push_str(header.trim_end_matches(['\n', '\r']));
        if header_cells < columns {
            if !header.trim_end().ends_with('|') || header.trim_end().ends_with("\\|") {
                out.push_str(" |");
            }
            out.push_str(&" |".repeat(columns - header_cells));
        }
        out.push('\n');
        // Indented as the header: the table may be in a list item.
        out.push_str(&rows[0][..rows[0].len() - rows[0].trim_start().len()]);
        let mut rule: Vec<&str> = if ruled {
            cells(rows[1]).collect()
        } else {
            Vec::new()
        };
        rule.resize(columns, "---");
        out.push_str(&format!("|{}|\n", rule.join("|")));
        for row in &body {
            out.push_str(row);
        }
    }
    Cow::Owned(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Escape {
    InCode,
    OutsideCode,
}

/// `row` with each pipe not yet escaped escaped, those inside code spans or
/// those outside.
fn pipes_escaped(row: &str, which: Escape) -> Cow<'_, str> {
    if !row.contains('|') || (which == Escape::InCode && !row.contains('`')) {
        return Cow::Borrowed(row);
    }
    let spans = code_spans(row);
    let bytes = row.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    for pipe in memchr::memchr_iter(b'|', bytes) {
        let in_code = spans.iter().any(|span| span.contains(&pipe));
        let escaped = pipe > 0 && bytes[pipe - 1] == b'\\';
        if escaped || in_code != (which == Escape::InCode) {
            continue;
        }
        out.push_str(&row[copied..pipe]);
        out.push('\\');
        copied = pipe;
    }
    // Each change writes a backslash.
    if out.is_empty() {
        return Cow::Borrowed(row);
    }
    out.push_str(&row[copied..]);
    Cow::Owned(out)
}

/// The byte ranges of the text of a line's code spans. A code span opens
/// at a run of backticks not escaped and closes at the next run as long.
fn code_spans(line: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = line.as_bytes();
    let run_at = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'`').count();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'`', &bytes[at..]) {
        let open = at + found;
        let len = run_at(open);
        at = open + len;
        let backslashes = bytes[..open].iter().rev().take_while(|&&b| b == b'\\');
        if backslashes.count() % 2 == 1 {
            continue;
        }
        // The closing run: as long as the opening one, no longer.
        let mut from = at;
        let close = loop {
            let Some(found) = memchr::memchr(b'`', &bytes[from..]) else {
                // Unclosed: the rest of the line is no code.
                return spans;
            };
            let start = from + found;
            let run = run_at(start);
            if run == len {
                break start;
            }
            from = start + run;
        };
        spans.push(at..close);
        at = close + len;
    }
    spans
}

/// A row's cells: the text between pipes not escaped, outer pipes aside.
fn cells(row: &str) -> impl Iterator<Item = &str> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = match row.strip_suffix('|') {
        Some(inner) if !inner.ends_with('\\') => inner,
        _ => row,
    };
    let bytes = row.as_bytes();
    let mut from = 0;
    let mut separators = memchr::memchr_iter(b'|', bytes)
        .filter(move |&at| at == 0 || bytes[at - 1] != b'\\')
        .chain(std::iter::once(bytes.len()));
    std::iter::from_fn(move || {
        let end = separators.next()?;
        let cell = &row[from..end];
        from = end + 1;
        Some(cell)
    })
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.contains('-')
        && t.chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '+' | '\t'))
}

/// kramdown's typographic symbols in a piece of text: quotes turned by its
/// rules (which differ from CommonMark's: a quote after a letter closes,
/// in any script), `---` and `--` dashes, `...` and `<<` `>>`. `before` is
/// the character before the text in its block, `after` the one after it
/// (`*` for emphasis), if any.
pub fn smarten(text: &str, before: Option<char>, after: Option<char>) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    // Most text has nothing to turn: it is searched a run at a time, and
    // only at a quote, dash, dot or angle bracket are its neighbours read;
    // a text with nothing turned is given back as it came.
    let mut copied = 0;
    let mut specials = Specials::default();
    let mut from = 0;
    while let Some(at) = specials.next(bytes, from) {
        let c = char::from(bytes[at]);
        // The characters after this one (then `after`), as kramdown sees them.
        let next = |k: usize| text[at + 1..].chars().chain(after).nth(k - 1);
        let (turned, skip): (char, usize) = match c {
            '"' | '\'' => {
                let (left, right) = if c == '"' {
                    ('“', '”')
                } else {
                    ('‘', '’')
                };
                let mut previous = text[..at].chars().rev();
                let prev = previous.next().or(if at == 0 { before } else { None });
                let before_prev = previous.next();
                let window = Window {
                    c,
                    first: at == 0,
                    prev,
                    before_prev,
                    next: [next(1), next(2), next(3)],
                };
                (if window.opens() { left } else { right }, 0)
            }
            '-' if next(1) == Some('-') && next(2) == Some('-') => ('—', 2),
            '-' if next(1) == Some('-') => ('–', 1),
            '.' if next(1) == Some('.') && next(2) == Some('.') => ('…', 2),
            '<' if next(1) == Some('<') => ('«', 1),
            '>' if next(1) == Some('>') => ('»', 1),
            _ => {
                from = at + 1;
                continue;
            }
        };
        if out.is_empty() {
            out.reserve(text.len() + 8);
        }
        out.push_str(&text[copied..at]);
        out.push(turned);
        from = at + 1 + skip;
        copied = from.min(bytes.len());
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the next byte [`smarten`] may turn is: two SIMD searches of three
/// bytes each (a search from every match of the other would read prose
/// with many dots over and over).
#[derive(Default)]
struct Specials {
    quote_or_dash: Ahead,
    dot_or_angle: Ahead,
}

impl Specials {
    fn next(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        let a = self
            .quote_or_dash
            .find(bytes, from, |b| memchr::memchr3(b'"', b'\'', b'-', b));
        let b = self
            .dot_or_angle
            .find(bytes, from, |b| memchr::memchr3(b'.', b'<', b'>', b));
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The next match of one search, searched for again only once the reader
/// has passed it: searching afresh from every place that asks made a long
/// line with a match far ahead, or none, take time in the square of its
/// length.
#[derive(Default)]
struct Ahead {
    /// The match at or after where it was last searched from, if searched.
    found: Option<Option<usize>>,
}

impl Ahead {
    /// The first match of `search` in `bytes` at or after `from`; `from`
    /// never goes back.
    fn find(
        &mut self,
        bytes: &[u8],
        from: usize,
        search: fn(&[u8]) -> Option<usize>,
    ) -> Option<usize> {
        if self.found.is_none_or(|at| at.is_some_and(|at| at < from)) {
            self.found = Some(search(bytes.get(from..).unwrap_or_default()).map(|at| from + at));
        }
        self.found.flatten()
    }
}

/// A quote and the characters about it.
struct Window {
    c: char,
    /// The text's first character: `prev` is the one before the text.
    first: bool,
    prev: Option<char>,
    /// The character before `prev`, in the same text.
    before_prev: Option<char>,
    next: [Option<char>; 3],
}

impl Window {
    /// kramdown's `SQ_RULES`, in its order: whether the quote opens.
    fn opens(&self) -> bool {
        let Window {
            c,
            first,
            prev,
            before_prev,
            next: [next, after, third],
        } = *self;
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let space = |c: Option<char>| c.is_none_or(char::is_whitespace);
        // Before emphasis (`"*word*"`): opening.
        if matches!(next, Some('_' | '*')) && !after.is_some_and(char::is_whitespace) {
            return true;
        }
        // Before punctuation that does not start a word: closing.
        if next.is_some_and(|c| c.is_ascii_punctuation())
            && !word(after)
            && !(next == Some('.') && after == Some('.'))
        {
            return false;
        }
        // `"'Quoted'` and `'"Quoted"`: both open.
        if matches!(next, Some('"' | '\'')) && word(after) {
            return true;
        }
        if !first && matches!(prev, Some('"' | '\'')) && word(next) && space(before_prev) {
            return true;
        }
        // The '80s.
        if c == '\''
            && word(next)
            && next.is_some_and(|c| c.is_ascii_digit())
            && after.is_some_and(|c| c.is_ascii_digit())
            && third == Some('s')
        {
            return false;
        }
        if prev.is_some_and(char::is_whitespace) && word(next) {
            return true;
        }
        // After anything but a space, a backslash or an opening bracket: closing.
        if prev.is_some_and(|p| !p.is_whitespace() && !matches!(p, '\\' | '[' | '{' | '(' | '-')) {
            return false;
        }
        if space(next) || (next == Some('s') && !word(after)) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::*;

    /// The rules as first written, a `Vec<char>` per text: what
    /// [`smarten`] must give.
    mod oracle {
        pub fn smarten_chars(text: &str, before: Option<char>, after: Option<char>) -> String {
            let mut chars: Vec<char> = text.chars().collect();
            let len = chars.len();
            chars.extend(after);
            let chars = chars;
            let mut out = String::with_capacity(text.len() + 8);
            let mut i = 0;
            while i < len {
                let c = chars[i];
                let prev = if i == 0 { before } else { Some(chars[i - 1]) };
                let at = |k: usize| chars.get(i + k).copied();
                match c {
                    '"' | '\'' => {
                        let double = c == '"';
                        let (left, right) = if double {
                            ('“', '”')
                        } else {
                            ('‘', '’')
                        };
                        out.push(if opens(&chars, i, prev) { left } else { right });
                    }
                    '-' if at(1) == Some('-') && at(2) == Some('-') => {
                        out.push('—');
                        i += 2;
                    }
                    '-' if at(1) == Some('-') => {
                        out.push('–');
                        i += 1;
                    }
                    '.' if at(1) == Some('.') && at(2) == Some('.') => {
                        out.push('…');
                        i += 2;
                    }
                    '<' if at(1) == Some('<') => {
                        out.push('«');
                        i += 1;
                    }
                    '>' if at(1) == Some('>') => {
                        out.push('»');
                        i += 1;
                    }
                    _ => out.push(c),
                }
                i += 1;
            }
            out
        }

        /// kramdown's `SQ_RULES`, in its order, for the quote at `i`.
        fn opens(chars: &[char], i: usize, prev: Option<char>) -> bool {
            let next = chars.get(i + 1).copied();
            let after = chars.get(i + 2).copied();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let space = |c: Option<char>| c.is_none_or(char::is_whitespace);
            // Before emphasis (`"*word*"`): opening.
            if matches!(next, Some('_' | '*')) && !after.is_some_and(char::is_whitespace) {
                return true;
            }
            // Before punctuation that does not start a word: closing.
            if next.is_some_and(|c| c.is_ascii_punctuation())
                && !word(after)
                && !(next == Some('.') && after == Some('.'))
            {
                return false;
            }
            // `"'Quoted'` and `'"Quoted"`: both open.
            if matches!(next, Some('"' | '\'')) && word(after) {
                return true;
            }
            if matches!(prev, Some('"' | '\'')) && word(next) && i >= 1 {
                let before = if i >= 2 {
                    chars.get(i - 2).copied()
                } else {
                    None
                };
                if space(before) {
                    return true;
                }
            }
            // The '80s.
            if chars[i] == '\''
                && word(next)
                && next.is_some_and(|c| c.is_ascii_digit())
                && after.is_some_and(|c| c.is_ascii_digit())
                && chars.get(i + 3) == Some(&'s')
            {
                return false;
            }
            if prev.is_some_and(char::is_whitespace) && word(next) {
                return true;
            }
            // After anything but a space, a backslash or an opening bracket: closing.
            if prev
                .is_some_and(|p| !p.is_whitespace() && !matches!(p, '\\' | '[' | '{' | '(' | '-'))
            {
                return false;
            }
            if space(next) || (next == Some('s') && !word(after)) {
                return false;
            }
            true
        }
    }

    /// Span attribute lists and spaced link destinations as first written:
    /// a search for `}` or `)` at every candidate. What the one-pass
    /// versions must give.
    fn without_span_attributes_by_chars(line: &str) -> Cow<'_, str> {
        if SPAN_ATTRIBUTES.find(line.as_bytes()).is_none() {
            return Cow::Borrowed(line);
        }
        let mut out = String::with_capacity(line.len());
        let mut in_code = false;
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            if c == '`' {
                in_code = !in_code;
            }
            if let Some(end) = rest
                .find('}')
                .filter(|_| !in_code && rest.starts_with("{:"))
            {
                rest = &rest[end + 1..];
                continue;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        Cow::Owned(out)
    }

    // kramdown takes a link destination with spaces (`[a](my page.html)`);
    // CommonMark wants it in angle brackets. Destinations with a title, and
    // code spans, are left alone.
    fn spaced_destinations_by_search(line: Cow<'_, str>) -> Cow<'_, str> {
        if DESTINATION.find(line.as_bytes()).is_none()
            || memchr::memchr(b'`', line.as_bytes()).is_some()
        {
            return line;
        }
        let mut out = String::with_capacity(line.len() + 4);
        let mut rest = line.as_ref();
        while let Some(at) = DESTINATION.find(rest.as_bytes()) {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else {
                break;
            };
            let destination = &rest[..end];
            let spaced = destination.trim().contains(' ')
                && !destination.contains(['"', '\'', '<', '(', '['])
                && !destination.trim().is_empty();
            if spaced {
                out.push_str(&format!("<{}>", destination.trim()));
                rest = &rest[end..];
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    /// The math put back as first written: one search of the whole HTML
    /// per formula, the highest first.
    fn finish_by_search(prepared: &Prepared, html: &str) -> String {
        let mut html = html.to_string();
        for (n, (body, block)) in prepared.math.iter().enumerate().rev() {
            let marker = format!("{MATH}{n}X");
            let body = escape(body);
            if *block {
                html = html.replace(&format!("<p>{marker}</p>"), &format!("\\[{body}\\]"));
            }
            html = html.replace(&marker, &format!("\\({body}\\)"));
        }
        html
    }

    proptest::proptest! {
        #[test]
        fn math_goes_back_in_one_pass_as_by_one_search_per_formula(
            html in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "HERALDKDMATH", "0", "1", "12", "X", " ", "\n",
                "<p>HERALDKDMATH0X</p>", "<p>HERALDKDMATH1X</p>", "HERALDKDMATH2X", "HERALDKDMATH00X",
                "HERALDKDMATH12X", "HERALDKDMATH13X",
            ]), 0..40).prop_map(|p| p.concat()),
            math in proptest::collection::vec((proptest::sample::select(vec!["a<b", "x&y", "'q'", ""]), proptest::bool::ANY), 0..14),
        ) {
            let prepared = Prepared {
                math: math.into_iter().map(|(body, block)| (body.to_string(), block)).collect(),
                ..Prepared::default()
            };
            proptest::prop_assert_eq!(prepared.finish(html.clone()), finish_by_search(&prepared, &html));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]

        #[test]
        fn attribute_lists_and_destinations_are_read_in_one_pass_as_by_search(
            line in proptest::collection::vec(proptest::sample::select(vec![
                "{:", "}", " ", "`", "x", "](", ")", "[a", "\"", "(", "é", "{", ":", "]",
            ]), 0..24).prop_map(|p| p.concat()),
        ) {
            proptest::prop_assert_eq!(without_span_attributes(&line), without_span_attributes_by_chars(&line));
            proptest::prop_assert_eq!(
                spaced_destinations(Cow::Borrowed(&line)),
                spaced_destinations_by_search(Cow::Borrowed(&line))
            );
        }

        #[test]
        fn a_block_start_is_found_reading_back_as_by_splitting_lines(
            out in proptest::collection::vec(proptest::sample::select(vec![
                "\n", " ", "\t", "\r", "\u{3000}", "a", "$", "\n\n", "HERALDKDMATH0X",
            ]), 0..12).prop_map(|p| p.concat()),
        ) {
            let mut lines = out.rsplit('\n');
            let current = lines.next().unwrap_or("");
            let previous = lines.next();
            let by_lines = current.trim().is_empty() && previous.is_none_or(|p| p.trim().is_empty());
            proptest::prop_assert_eq!(at_block_start(&out), by_lines);
        }

        #[test]
        fn quotes_turn_as_the_rules_first_written_turn_them(
            text in proptest::collection::vec(proptest::sample::select(vec![
                "\"", "'", "-", ".", "<", ">", " ", "\n", "a", "s", "8", "_", "*", "(", "[", "\\", "以", "é", "!", "?",
            ]), 0..40).prop_map(|p| p.concat()),
            before in proptest::option::of(proptest::sample::select(vec![' ', 'a', '"', '\'', '-', '(', '以'])),
            after in proptest::option::of(proptest::sample::select(vec!['*', '[', '`', '\n', 'a', '-', '.', '"'])),
        ) {
            proptest::prop_assert_eq!(smarten(&text, before, after), oracle::smarten_chars(&text, before, after));
        }
    }

    #[test]
    fn quotes_turn_by_kramdowns_rules() {
        assert_eq!(
            smarten("以\"无向图\"为例 it's the '80s", None, None),
            "以”无向图”为例 it’s the ’80s"
        );
        assert_eq!(smarten("as \"", None, Some('*')), "as “");
        assert_eq!(
            smarten("(or \"key\" -- a --- b... <<c>>", None, None),
            "(or “key” – a — b… «c»"
        );
    }

    #[test]
    fn link_destinations_with_spaces_are_links_as_in_kramdown() {
        assert_eq!(
            spaced_destinations("[a](my page.html) [b](x.html \"title\") [c](d)\n".into()),
            "[a](<my page.html>) [b](x.html \"title\") [c](d)\n"
        );
    }

    #[test]
    fn raw_html_blocks_such_as_highlights_output_are_left_as_they_are() {
        // `{% highlight perl %}` wrote this: `$$` and `|` are the code's own.
        let source = "Before $$a$$.\n\n<pre><code class=\"language-perl\">my $$link = 1;\n|___name\nprint $$link;</code></pre>\n\nAfter $$b$$.\n";
        let prepared = prepare(source);
        assert_eq!(
            prepared.markdown,
            "Before HERALDKDMATH0X.\n\n<pre><code class=\"language-perl\">my $$link = 1;\n|___name\nprint $$link;</code></pre>\n\nAfter HERALDKDMATH1X.\n"
        );
        assert_eq!(prepared.math.len(), 2);
        // Ended by the line holding the end tag, even the line it opened on.
        let one_line = prepare("<PRE>$$x$$</Pre>\n| a |\n");
        assert_eq!(one_line.markdown, "<PRE>$$x$$</Pre>\n| a |\n|---|\n");
        let script = prepare("<script>\nvar s = '$$';\n</script>\n$$y$$\n");
        assert_eq!(
            script.markdown,
            "<script>\nvar s = '$$';\n</script>\nHERALDKDMATH0X\n"
        );
        // `<prefix>` is no `<pre>`.
        assert_eq!(prepare("<prefix>$$z$$\n").math.len(), 1);
    }

    #[test]
    fn tab_indented_lines_are_code_not_table_rows_headings_or_fences() {
        let source = "Code:\n\n\t|P1.row(1)|\n\t|P2|\n\n\t```\n\tcode\n\n| real | table |\n";
        assert_eq!(
            prepare(source).markdown,
            "Code:\n\n~~~\n|P1.row(1)|\n|P2|\n\n```\ncode\n~~~\n\n| real | table |\n|---|---|\n"
        );
        assert!(!is_atx_heading("\t# not a heading\n"));
        // houbb.github.io: a no-break space after a fence, or four
        // spaces before it, and it ends nothing.
        let open = "```\n1) a\n```\u{a0}\n    ```\n2) b\n```\n";
        assert_eq!(prepare(open).markdown, open);
        // houbb.github.io: a code span alone on its line is no fence.
        let span = "```git tag```\n\n```\n\n    code $$x$$\n```\n";
        assert_eq!(prepare(span).markdown, span);
        assert!(is_atx_heading("   # a heading\n"));
        assert_eq!(indent_columns("  \tx"), 4);
    }

    #[test]
    fn a_br_or_img_starting_a_paragraph_stays_in_it_as_in_kramdown() {
        // ewenwan.github.io ends its posts so: a heading, `<br>`, a credit line.
        assert_eq!(
            prepare("## 参考\n<br>\n*转载请注明：[site](https://x.io)*\n").markdown,
            "## 参考\n<br> *转载请注明：[site](https://x.io)*\n"
        );
        assert_eq!(
            prepare("<IMG src=\"a.png\" />\nFigure *one*\n").markdown,
            "<IMG src=\"a.png\" /> Figure *one*\n"
        );
        // Inside a paragraph already, before a blank, a heading, a list or
        // block math, or not a span element: as it was.
        for kept in [
            "text\n<br>\nmore\n",
            "<br>\n\nafter\n",
            "<br>\n# H\n",
            "<br>\n* item\n",
            "<br>\n$$x$$\n",
            "<div>\nx\n",
            "<brick>\nx\n",
            "<br><br>\nx\n",
        ] {
            let prepared = prepare(kept);
            assert_eq!(prepared.markdown.replace("HERALDKDMATH0X", "$$x$$"), kept);
        }
    }

    #[test]
    fn markdown_inside_a_block_marked_markdown_1_is_read() {
        let prepared = prepare("<div class=\"x\" markdown=\"1\">\n[a](b)\n</div>\n");
        assert_eq!(prepared.markdown, "<div class=\"x\">\n\n[a](b)\n\n</div>\n");
    }

    #[test]
    fn indented_code_is_read_as_kramdown_reads_it() {
        // Checked against kramdown 2.4: no math in code, lazy lines joined
        // on with a space (ewenwan's headings after code), blank lines
        // inside kept, a tab or four spaces taken off.
        let prepared = prepare(
            "para\n\n    a $$x$$\n    b\nc\n  d\n\ne\n\n\tt1\n\t\tt2\n\n        eight\n\n    ~~~\n",
        );
        assert_eq!(
            prepared.markdown,
            "para\n\n~~~\na $$x$$\nb c   d\n~~~\n\ne\n\n~~~~\nt1\n\tt2\n\n    eight\n\n~~~\n~~~~\n"
        );
        assert!(prepared.math.is_empty());
        // Not code: a paragraph's indented line, a list item's or a
        // footnote's content; an attribute list or block HTML ends the code.
        for kept in [
            "para\n    $$x$$\n",
            "* item\n\n    $$x$$\n",
            "1. item\n\n    $$x$$\n",
            "[^1]: Note.\n\n    $$x$$\n",
        ] {
            assert_eq!(prepare(kept).math.len(), 1, "{kept:?}");
        }
        assert_eq!(
            prepare("\n    code\n{: .x}\n<div>\n").markdown,
            "\n~~~\ncode\n~~~\n<div>\n"
        );
        // After a list, an unindented paragraph ends it: code again.
        assert!(prepare("* item\n\npara\n\n    $$x$$\n").math.is_empty());
    }

    #[test]
    fn paren_list_markers_are_text_as_in_kramdown() {
        assert_eq!(
            prepare("text\n1) one\n- 2) two\n> 3) three\n10)\n1)no\n").markdown,
            "text\n1&#41; one\n- 2&#41; two\n> 3&#41; three\n10&#41;\n1)no\n"
        );
    }

    #[test]
    fn a_backslash_kramdown_does_not_escape_with_stays() {
        assert_eq!(
            prepare(">     find {} \\;\n").markdown,
            ">     find {} \\;\n"
        );
        assert_eq!(
            prepare("50\\% \\& \\_ \\\\% `\\%` <a title=\"\\%\">\\@</a>\n").markdown,
            "50\\\\% \\\\& \\_ \\\\% `\\%` <a title=\"\\%\">\\\\@</a>\n"
        );
    }

    #[test]
    fn a_block_html_element_ends_at_its_end_tag_as_in_kramdown() {
        // EZLippi.github.io: Markdown right after a line of HTML, and a
        // `<pre>` after one with blank lines in its code.
        assert_eq!(
            prepare("<p>One.</p>\n[a](b) and **bold**\n<p>Two.\nmore</p>\n*c*\n").markdown,
            "<p>One.</p>\n\n[a](b) and **bold**\n<p>Two.\nmore</p>\n\n*c*\n"
        );
        assert_eq!(
            prepare("<p>Loops:</p>\n<pre>a\n\nb\n</pre>\n").markdown,
            "<p>Loops:</p>\n\n<pre>a\n\nb\n</pre>\n"
        );
        // Still inside the element, or a span element: as it was.
        for kept in [
            "<div>\n<p>a</p>\nb\n</div>\n",
            "<div><div>a</div>\nb</div>\n",
            "<u>x</u>\nmore\n",
            "text\n<pre>a</pre>\n",
        ] {
            assert_eq!(prepare(kept).markdown, kept);
        }
    }

    #[test]
    fn a_backslash_kept_at_the_start_of_a_line_is_kept_too() {
        assert_eq!(prepare("\\% first\n").markdown, "\\\\% first\n");
    }
}
