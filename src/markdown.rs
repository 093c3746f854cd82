//! Markdown -> HTML with pulldown-cmark: CommonMark plus tables, footnotes,
//! strikethrough, task lists and heading attributes. Raw HTML passes
//! through; making it safe and portable is `html`'s job.
//!
//! Footnotes go at the end, with kramdown's markup (`fn:1`, `fnref:1`,
//! back-links), which Hugo's goldmark shares. A Jekyll blog's posts are
//! kramdown: [`Flavour`] adds its heading ids, typographic quotes and
//! dashes, and the syntax `kramdown` reads.

use std::borrow::Cow;
use std::collections::HashMap;

use pulldown_cmark::html as pulldown_html;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use url::Url;

use crate::html::{self, escape};
use crate::kramdown;

mod emphasis;

/// How a blog's Markdown is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flavour {
    /// kramdown's syntax, and its heading ids in this style.
    pub kramdown: Option<HeadingIds>,
    /// Typographic quotes, dashes and ellipses (kramdown's `smart_quotes`).
    pub smart: bool,
}

/// How kramdown makes heading ids: GitHub's way for `input: GFM` (Jekyll's
/// default), its own for `input: kramdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadingIds {
    Gfm,
    Kramdown,
}

impl Flavour {
    /// The flavour a Jekyll `_config.yml` asks for: kramdown unless
    /// `markdown:` names another converter.
    pub fn jekyll(config: &serde_json::Map<String, serde_json::Value>) -> Flavour {
        let converter = config
            .get("markdown")
            .and_then(|v| v.as_str())
            .unwrap_or("kramdown");
        if !converter.eq_ignore_ascii_case("kramdown") {
            return Flavour::default();
        }
        let options = config.get("kramdown");
        let option = |key: &str| options.and_then(|o| o.get(key));
        let ids = match option("input").and_then(|v| v.as_str()) {
            Some(input) if input.eq_ignore_ascii_case("kramdown") => HeadingIds::Kramdown,
            _ => HeadingIds::Gfm,
        };
        // `smart_quotes: apos,apos,quot,quot` keeps quotes straight.
        let straight = option("smart_quotes").is_some_and(|v| {
            let text = match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.as_str().unwrap_or_default().replace(' ', ""),
            };
            text == "apos,apos,quot,quot"
        });
        Flavour {
            kramdown: Some(ids),
            smart: !straight,
        }
    }
}

fn options(flavour: Flavour) -> Options {
    let mut options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    // kramdown strikes through only with `input: GFM`.
    if flavour.kramdown != Some(HeadingIds::Kramdown) {
        options |= Options::ENABLE_STRIKETHROUGH;
    }
    // kramdown turns quotes by its own rules, applied in `smart_text`.
    if flavour.smart && flavour.kramdown.is_none() {
        options |= Options::ENABLE_SMART_PUNCTUATION;
    }
    options
}

pub fn to_html(markdown: &str) -> String {
    to_html_with(markdown, Flavour::default())
}

pub fn to_html_with(markdown: &str, flavour: Flavour) -> String {
    render(markdown, flavour, None, false).0
}

/// `markdown` as portable HTML with URLs resolved against `base`: the
/// bytes of `html::portable` of [`to_html_with`], made from the events
/// where that way covers them, so most posts' HTML is never written out
/// and read back.
pub fn to_portable(markdown: &str, flavour: Flavour, base: &Url) -> String {
    render(markdown, flavour, Some(base), false).0
}

/// [`to_portable`], and the excerpt of a post that marks none: its first
/// top-level paragraph ([`first_paragraph_html`]) made portable, from the
/// same parse where the flavour reads the text as that function does.
pub fn to_portable_with_excerpt(markdown: &str, flavour: Flavour, base: &Url) -> (String, String) {
    let (html, excerpt) = render(markdown, flavour, Some(base), true);
    let excerpt = excerpt.unwrap_or_else(|| {
        let first = first_paragraph(Parser::new_ext(markdown, options(Flavour::default())));
        portable_paragraph(first, base)
    });
    (html, excerpt)
}

/// The HTML, portable when `portable_for` is given, and the first
/// paragraph made portable when asked and the parse serves it.
fn render(
    markdown: &str,
    flavour: Flavour,
    portable_for: Option<&Url>,
    excerpt: bool,
) -> (String, Option<String>) {
    // The excerpt is read with the default flavour, the same parse then.
    let excerpt = excerpt && flavour == Flavour::default();
    with_events(markdown, flavour, excerpt, |parsed| {
        let Parsed {
            events,
            prepared,
            headings,
            first_paragraph,
        } = parsed;
        let excerpt = portable_for
            .zip(first_paragraph)
            .map(|(base, first)| portable_paragraph(first, base));
        let capacity = markdown.len() * 3 / 2;
        let toc = prepared
            .filter(|p| p.toc)
            .map(|_| table_of_contents(headings));
        if let Some(base) = portable_for
            && let Some(portable) = match prepared {
                Some(prepared) => {
                    let placeholders = Kramdown {
                        prepared,
                        toc: toc.as_deref(),
                    };
                    html::portable_events(&events, base, &placeholders, capacity)
                }
                None => html::portable_events(&events, base, &html::NoPlaceholders, capacity),
            }
        {
            return (portable, excerpt);
        }
        let mut out = String::with_capacity(capacity);
        pulldown_html::push_html(&mut out, events.into_iter());
        if let Some(toc) = toc {
            out = out.replace(&format!("<p>{}</p>\n", kramdown::TOC), &toc);
        }
        if let Some(prepared) = prepared {
            out = prepared.finish(out);
        }
        match portable_for {
            Some(base) => (html::portable(&out, base), excerpt),
            None => (out, excerpt),
        }
    })
}

/// What kramdown's preparation and the table of contents leave in the
/// text for the written HTML to have replaced (see `render`).
struct Kramdown<'a> {
    prepared: &'a kramdown::Prepared,
    toc: Option<&'a str>,
}

impl html::Placeholders for Kramdown<'_> {
    fn paragraph(&self, text: &str) -> Option<html::Replacement> {
        match self.toc {
            Some(toc) if text == kramdown::TOC => Some(html::Replacement::Html(toc.to_string())),
            _ => self.prepared.block_math(text).map(html::Replacement::Text),
        }
    }

    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.prepared.inline_math(text)
    }

    fn holds(&self, text: &str) -> bool {
        kramdown::Prepared::holds_math(text) || (self.toc.is_some() && text.contains(kramdown::TOC))
    }
}

/// A post's events as they are written out, and what goes with them.
struct Parsed<'a> {
    /// With heading ids, and footnotes at the end.
    events: Vec<Event<'a>>,
    /// kramdown's preparation of the text.
    prepared: Option<&'a kramdown::Prepared>,
    /// For a table of contents.
    headings: &'a [Heading],
    /// The first top-level paragraph's events, when asked for.
    first_paragraph: Option<Option<Vec<Event<'a>>>>,
}

/// Parses `markdown` and hands `then` the result; with `first_paragraph`,
/// also the first paragraph as the parser gave it.
fn with_events<R>(
    markdown: &str,
    flavour: Flavour,
    first_paragraph: bool,
    then: impl FnOnce(Parsed<'_>) -> R,
) -> R {
    let prepared = flavour.kramdown.map(|_| kramdown::prepare(markdown));
    let source = prepared.as_ref().map_or(markdown, |p| p.markdown.as_str());
    let events = Parser::new_ext(source, options(flavour));
    // The parser gives no size hint: room for a post's events up front, as
    // doubling the list copied it about twice over (about one event per
    // 12 bytes of real posts, seldom more than one per 8).
    let room = source.len() / 8 + 16;
    let mut headings = Vec::new();
    let events: Vec<Event<'_>> = match flavour.kramdown {
        Some(style) => {
            let mut all = emphasis::paired(events.into_offset_iter(), source, room);
            if flavour.smart {
                all = smart_text(all);
            }
            with_heading_ids(all, style, &mut headings)
        }
        None => {
            let mut all = Vec::with_capacity(room);
            all.extend(events);
            all
        }
    };
    let first_paragraph = first_paragraph.then(|| self::first_paragraph(events.iter().cloned()));
    // kramdown names footnote ids after the note (`fn:name`); goldmark numbers them.
    let by_name = flavour.kramdown.is_some();
    then(Parsed {
        events: footnotes_at_end(events, by_name),
        prepared: prepared.as_ref(),
        headings: &headings,
        first_paragraph,
    })
}

/// `html::portable` of a first paragraph's HTML (of nothing without one).
fn portable_paragraph(events: Option<Vec<Event<'_>>>, base: &Url) -> String {
    let Some(events) = events else {
        return html::portable("", base);
    };
    if let Some(portable) = html::portable_events(&events, base, &html::NoPlaceholders, 0) {
        return portable;
    }
    let mut out = String::new();
    pulldown_html::push_html(&mut out, events.into_iter());
    html::portable(&out, base)
}

/// kramdown's typographic quotes and dashes in text outside code, each
/// text seeing the character before it in its block.
fn smart_text(mut merged: Vec<Event<'_>>) -> Vec<Event<'_>> {
    // pulldown-cmark splits text at quotes; kramdown's rules look at both
    // sides. Texts side by side are joined in place, each event moved down
    // over those joined before it.
    let mut kept: usize = 0;
    // The texts since the last other event, joined once there are two
    // (joining each into the one before copied a paragraph over and over).
    let mut run: Option<String> = None;
    for read in 0..merged.len() {
        let event = std::mem::replace(&mut merged[read], Event::SoftBreak);
        let last = kept.checked_sub(1).map(|k| &mut merged[k]);
        match (last, event) {
            (Some(Event::Text(previous)), Event::Text(text)) => {
                run.get_or_insert_with(|| previous.to_string())
                    .push_str(&text);
            }
            (last, event) => {
                if let (Some(last), Some(run)) = (last, run.take()) {
                    *last = Event::Text(CowStr::from(run));
                }
                merged[kept] = event;
                kept += 1;
            }
        }
    }
    merged.truncate(kept);
    if let (Some(last), Some(run)) = (merged.last_mut(), run.take()) {
        *last = Event::Text(CowStr::from(run));
    }
    // In place: each text is read with the one after it as it came.
    let mut in_code = false;
    let mut before: Option<char> = None;
    for i in 0..merged.len() {
        let after = char_after(&merged, i);
        match &mut merged[i] {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(text) if !in_code => {
                let smart = match kramdown::smarten(text, before, after) {
                    Cow::Owned(smart) => Some(smart),
                    Cow::Borrowed(_) => None,
                };
                before = text.chars().last();
                if let Some(smart) = smart {
                    *text = CowStr::from(smart);
                }
            }
            Event::Code(code) => before = code.chars().last(),
            Event::SoftBreak | Event::HardBreak => before = Some(' '),
            Event::Start(Tag::Emphasis | Tag::Strong | Tag::Link { .. } | Tag::Strikethrough)
            | Event::End(
                TagEnd::Emphasis | TagEnd::Strong | TagEnd::Link | TagEnd::Strikethrough,
            )
            | Event::InlineHtml(_) => {}
            _ => before = None,
        }
    }
    merged
}

/// The source character an event starts with, as kramdown would see it.
/// The character the text before the event at `i` is read with. kramdown
/// reads a quote right before a link or a code span as one before a word
/// (`"[The Book](u)"`, `"`-v`"`: both open), whatever they start with.
fn char_after(events: &[Event<'_>], i: usize) -> Option<char> {
    match events.get(i + 1)? {
        Event::Start(Tag::Link { .. }) | Event::Code(_) => Some('w'),
        event => first_char(event),
    }
}

fn first_char(event: &Event<'_>) -> Option<char> {
    match event {
        Event::Text(text) => text.chars().next(),
        Event::Start(Tag::Emphasis | Tag::Strong) => Some('*'),
        Event::Start(Tag::Link { .. }) => Some('['),
        Event::Code(_) => Some('`'),
        Event::SoftBreak | Event::HardBreak => Some('\n'),
        _ => None,
    }
}

/// A heading as the table of contents lists it.
struct Heading {
    level: usize,
    id: String,
    text: String,
}

/// Gives every heading without an id kramdown's id, unique in the post,
/// and notes the headings for a table of contents (`.no_toc` ones aside).
fn with_heading_ids<'a>(
    mut events: Vec<Event<'a>>,
    style: HeadingIds,
    headings: &mut Vec<Heading>,
) -> Vec<Event<'a>> {
    // In place: a second list of a long post's events was most of its
    // rendering's memory.
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut open: Option<usize> = None;
    for at in 0..events.len() {
        match &events[at] {
            Event::Start(Tag::Heading { .. }) => open = Some(at),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(start) = open.take() {
                    let text: String = events[start + 1..at]
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    if let Event::Start(Tag::Heading {
                        level, id, classes, ..
                    }) = &mut events[start]
                    {
                        let id = id.get_or_insert_with(|| {
                            CowStr::from(unique_id(&text, style, &mut used))
                        });
                        if !classes.iter().any(|c| c.as_ref() == "no_toc") {
                            headings.push(Heading {
                                level: level_number(*level),
                                id: id.to_string(),
                                text: text.clone(),
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    events
}

fn level_number(level: HeadingLevel) -> usize {
    level as usize
}

fn unique_id(text: &str, style: HeadingIds, used: &mut HashMap<String, usize>) -> String {
    let base = match style {
        HeadingIds::Gfm => text
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' ' | '\t'))
            .map(|c| if c == ' ' || c == '\t' { '-' } else { c })
            .collect::<String>(),
        HeadingIds::Kramdown => {
            let id: String = text
                .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| {
                    if c == ' ' {
                        '-'
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            if id.is_empty() {
                "section".to_string()
            } else {
                id
            }
        }
    };
    let count = used.entry(base.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        base
    } else {
        format!("{base}-{}", *count - 1)
    }
}

/// kramdown's `markdown-toc` list, nested by heading level.
fn table_of_contents(headings: &[Heading]) -> String {
    // kramdown writes no list at all for a post without headings.
    if headings.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul id=\"markdown-toc\">\n");
    let mut stack: Vec<usize> = Vec::new();
    for heading in headings {
        while stack.last().is_some_and(|&l| l > heading.level) {
            stack.pop();
            // Above every open level, kramdown puts the heading in the
            // outer list, beside the first.
            out.push_str(if stack.is_empty() {
                "</li>\n"
            } else {
                "</li></ul>\n"
            });
        }
        if stack.last() == Some(&heading.level) {
            out.push_str("</li>\n");
        } else if !stack.is_empty() {
            out.push_str("<ul>\n");
            stack.push(heading.level);
        } else {
            stack.push(heading.level);
        }
        let id = escape(&heading.id);
        out.push_str(&format!(
            "<li><a href=\"#{id}\" id=\"markdown-toc-{id}\">{}</a>",
            escape(&heading.text)
        ));
    }
    // Each list closed inside its parent's item, innermost first, the
    // newlines where a parser put them when these end tags came in the
    // wrong order (so feeds kept their bytes): the cleaner's quick way
    // takes only HTML that nests as written.
    if stack.is_empty() {
        out.push_str("</ul>\n");
    } else {
        out.push_str("</li>\n</ul>\n");
        for _ in 1..stack.len() {
            out.push_str("</li></ul>\n");
        }
    }
    out
}

/// Moves footnote definitions to a list at the end, numbered in the order
/// they are first referred to, with kramdown's ids and back-links (by the
/// note's name), or goldmark's (Hugo: by number).
/// Definitions nothing refers to are left out, as kramdown does.
fn footnotes_at_end(mut events: Vec<Event<'_>>, by_name: bool) -> Vec<Event<'_>> {
    if !events
        .iter()
        .any(|e| matches!(e, Event::FootnoteReference(_)))
    {
        return events;
    }
    let mut definitions: HashMap<String, Vec<Event<'_>>> = HashMap::new();
    let mut current: Option<(String, Vec<Event<'_>>)> = None;
    let mut order: Vec<String> = Vec::new();
    // Each note's number, by name: found by a search of `order`, a post of
    // many notes took time in the square of their count.
    let mut numbers: HashMap<String, usize> = HashMap::new();
    let mut references: HashMap<String, usize> = HashMap::new();
    // The body is gathered in place, at the front of `events`: a post's
    // events copied into a second list cost as much as this whole step.
    let mut kept = 0;
    for at in 0..events.len() {
        let event = std::mem::replace(&mut events[at], Event::SoftBreak);
        let event = match event {
            Event::Start(Tag::FootnoteDefinition(name)) => {
                current = Some((name.to_string(), Vec::new()));
                continue;
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                if let Some((name, events)) = current.take() {
                    definitions.entry(name).or_insert(events);
                }
                continue;
            }
            Event::FootnoteReference(name) => {
                let mut name = name.to_string();
                let number = match numbers.get(&name) {
                    Some(&number) => number,
                    None => {
                        order.push(name.clone());
                        numbers.insert(name.clone(), order.len());
                        order.len()
                    }
                };
                if !by_name {
                    name = number.to_string();
                }
                let seen = references.entry(name.clone()).or_insert(0);
                let id = reference_id(&name, *seen);
                *seen += 1;
                let name = escape(&name);
                Event::InlineHtml(CowStr::from(if by_name {
                    format!(
                        "<sup id=\"{id}\" role=\"doc-noteref\"><a href=\"#fn:{name}\" class=\"footnote\" rel=\"footnote\">{number}</a></sup>"
                    )
                } else {
                    format!(
                        "<sup id=\"{id}\"><a href=\"#fn:{name}\" class=\"footnote-ref\" role=\"doc-noteref\">{number}</a></sup>"
                    )
                }))
            }
            other => other,
        };
        match &mut current {
            Some((_, note)) => note.push(event),
            None => {
                events[kept] = event;
                kept += 1;
            }
        }
    }
    events.truncate(kept);
    let mut body = events;
    body.push(Event::Html(CowStr::from(if by_name {
        "<div class=\"footnotes\" role=\"doc-endnotes\">\n<ol>\n"
    } else {
        "<div class=\"footnotes\" role=\"doc-endnotes\">\n<hr>\n<ol>\n"
    })));
    for (index, note_name) in order.into_iter().enumerate() {
        let Some(mut note) = definitions.remove(&note_name) else {
            continue;
        };
        let name = if by_name {
            note_name
        } else {
            (index + 1).to_string()
        };
        let count = references.get(&name).copied().unwrap_or(1);
        let backlinks: String = (0..count)
            .map(|n| {
                let sup = if n == 0 { String::new() } else { format!("<sup>{}</sup>", n + 1) };
                if by_name {
                    format!(" <a href=\"#{}\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;{sup}</a>", reference_id(&name, n))
                } else {
                    format!("&#160;<a href=\"#{}\" class=\"footnote-backref\" role=\"doc-backlink\">&#x21a9;&#xfe0e;</a>", reference_id(&name, n))
                }
            })
            .collect();
        let backlinks = Event::InlineHtml(CowStr::from(backlinks));
        match note
            .iter()
            .rposition(|e| matches!(e, Event::End(TagEnd::Paragraph)))
        {
            Some(at) if at + 1 == note.len() => note.insert(at, backlinks),
            _ => {
                note.push(Event::Html(CowStr::from("<p>")));
                note.push(backlinks);
                note.push(Event::Html(CowStr::from("</p>\n")));
            }
        }
        body.push(Event::Html(CowStr::from(format!(
            "<li id=\"fn:{}\" role=\"doc-endnote\">\n",
            escape(&name)
        ))));
        body.extend(note);
        body.push(Event::Html(CowStr::from("</li>\n")));
    }
    body.push(Event::Html(CowStr::from("</ol>\n</div>\n")));
    body
}

/// kramdown's id for the n-th reference (from 0) to a footnote.
fn reference_id(name: &str, n: usize) -> String {
    let name = escape(name);
    if n == 0 {
        format!("fnref:{name}")
    } else {
        format!("fnref:{name}:{n}")
    }
}

/// The first top-level paragraph, as HTML: the excerpt when the post marks none.
pub fn first_paragraph_html(markdown: &str) -> Option<String> {
    let events = first_paragraph(Parser::new_ext(markdown, options(Flavour::default())))?;
    let mut out = String::new();
    pulldown_html::push_html(&mut out, events.into_iter());
    Some(out)
}

/// The events of the first top-level paragraph, footnote references left
/// out (they would point nowhere in an excerpt).
fn first_paragraph<'a>(events: impl Iterator<Item = Event<'a>>) -> Option<Vec<Event<'a>>> {
    let mut depth = 0usize;
    let mut kept: Vec<Event<'a>> = Vec::new();
    let mut inside = false;
    for event in events {
        match &event {
            Event::Start(Tag::Paragraph) if depth == 0 => inside = true,
            Event::Start(_) => {}
            Event::End(TagEnd::Paragraph) if depth == 1 && inside => {
                kept.push(event);
                return Some(kept);
            }
            _ => {}
        }
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if inside && !matches!(event, Event::FootnoteReference(_)) {
            kept.push(event);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`to_portable`]'s quick way alone: `None` where it falls back.
    fn from_events(markdown: &str, flavour: Flavour, base: &Url) -> Option<String> {
        with_events(markdown, flavour, false, |parsed| {
            let Some(prepared) = parsed.prepared else {
                return html::portable_events(&parsed.events, base, &html::NoPlaceholders, 0);
            };
            let toc = prepared.toc.then(|| table_of_contents(parsed.headings));
            let placeholders = Kramdown {
                prepared,
                toc: toc.as_deref(),
            };
            html::portable_events(&parsed.events, base, &placeholders, 0)
        })
    }

    const KRAMDOWN: Flavour = Flavour {
        kramdown: Some(HeadingIds::Gfm),
        smart: true,
    };

    fn markdown_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                markdown_files(&path, found);
            } else if path
                .extension()
                .is_some_and(|e| e == "md" || e == "markdown")
            {
                found.push(path);
            }
        }
    }

    #[test]
    fn a_quote_before_a_link_or_code_span_opens_as_in_kramdown() {
        // andrewbolster.github.io; checked against kramdown 2.4.
        let html = to_html_with(
            "no '[agency](u)' at all, \"[The Book](u)\", \"`Restarting`\", \"`-v`\"; word\"`x`\"\n",
            KRAMDOWN,
        );
        assert!(
            html.contains("no ‘<a href=\"u\">agency</a>’ at all, “<a href=\"u\">The Book</a>”, “<code>Restarting</code>”, “<code>-v</code>”; word”<code>x</code>”"),
            "{html}"
        );
    }

    #[test]
    fn an_indented_line_inside_a_comment_opens_no_code_block() {
        // blog.rust-lang.org's 2016-09-08-incremental.md: ASCII diagrams
        // commented out; the rest of the post became one code block.
        let html = to_html_with(
            "Intro:\n\n<!--\n         AST\n\n       A A A\n    >=====>\n-->\n\n![Graph][g]\n\nMore.\n\n[g]: /g.svg\n",
            KRAMDOWN,
        );
        assert_eq!(
            html,
            "<p>Intro:</p>\n<!--\n         AST\n\n       A A A\n    >=====>\n-->\n<p><img src=\"/g.svg\" alt=\"Graph\" /></p>\n<p>More.</p>\n"
        );
    }

    #[test]
    fn a_script_with_a_blank_line_inside_a_block_keeps_the_block_whole() {
        // bair.berkeley.edu's 2018-09-06-rig.md: the block ended at the
        // blank line, and the script, never closed, took the rest of the
        // post with it when the HTML was cleaned.
        let source = "<p><b>Paper</b><br/>\n    Nair A.\n    <script type=\"math/tex\">^*\n\n    </script>\n    , Dalal M.</p>\n\nThanks to `<script>` all.\n";
        let html = to_html_with(source, KRAMDOWN);
        assert_eq!(
            html,
            "<p><b>Paper</b><br/>\n    Nair A.\n    <script type=\"math/tex\">^*\n    </script>\n    , Dalal M.</p>\n<p>Thanks to <code>&lt;script&gt;</code> all.</p>\n"
        );
    }

    #[test]
    fn two_backslashes_end_a_line_with_a_break_as_in_kramdown() {
        // bair.berkeley.edu's publication lists; each expectation is
        // kramdown 2.4's output (but for the code span's line end).
        let html = to_html_with(
            "- **CQL**\\\\\n    Kumar.\\\\\n    2020.\n\nLine\\\\\nnext `a\\\\\nb` c\n\nEnd\\\\\n\n<i>x</i>\\\\\ny\n",
            KRAMDOWN,
        );
        assert_eq!(
            html,
            "<ul>\n<li><strong>CQL</strong><br />\nKumar.<br />\n2020.</li>\n</ul>\n\
             <p>Line<br />\nnext <code>a\\\\ b</code> c</p>\n<p>End\\</p>\n<p><i>x</i><br />\ny</p>\n"
        );
    }

    #[test]
    fn indented_html_after_a_blank_inside_an_element_is_html_not_code() {
        // bair.berkeley.edu's graduates posts: a `{% for %}` loop's cards,
        // indented, with blank lines where its `{% if %}` lines were.
        let cards = "<div class=\"row\">\n\n    <div class=\"card\">\n      <b>Ana</b>\n\n    </div>\n\n</div>\n\nAfter.\n";
        assert_eq!(
            to_html_with(cards, KRAMDOWN),
            "<div class=\"row\">\n    <div class=\"card\">\n      <b>Ana</b>\n    </div>\n</div>\n<p>After.</p>\n"
        );
        // An element never closed, or one that closes itself, holds nothing
        // for kramdown: the indented line is code (EZLippi.github.io).
        for source in [
            "<p>Text\n\n    <iq type=\"get\"/>\n",
            "<div class=\"x\"/>\n\n    <iq type=\"get\"/>\n\n<div>a</div>\n",
        ] {
            let html = to_html_with(source, KRAMDOWN);
            assert!(html.contains("<pre><code>&lt;iq"), "{html}");
        }
    }

    #[test]
    fn a_footnote_reference_right_before_a_link_is_both() {
        // julialang.org's blog (2 posts): `[^tf]` showed as text.
        let html = to_html_with(
            "Frameworks[^tf][are languages](https://e.org/x), `[^a][b]`.\n\n[^tf]: A note.\n",
            KRAMDOWN,
        );
        assert!(
            html.starts_with("<p>Frameworks<sup id=\"fnref:tf\" role=\"doc-noteref\"><a href=\"#fn:tf\" class=\"footnote\" rel=\"footnote\">1</a></sup><!-- --><a href=\"https://e.org/x\">are languages</a>, <code>[^a][b]</code>.</p>"),
            "{html}"
        );
    }

    #[test]
    fn span_tags_alone_on_the_lines_that_start_a_paragraph_keep_it_markdown() {
        // bair.berkeley.edu's 2024-05-29-tiny-agent.md; kramdown 2.4 gives
        // `<p><br />\n<i>\nDemo at <a href="u">site</a>\n</i></p>`.
        let html = to_html_with("Intro.\n\n<br>\n<i>\nDemo at [site](u)\n</i>\n", KRAMDOWN);
        assert!(
            html.contains("<p><br> <i>\nDemo at <a href=\"u\">site</a>\n</i></p>"),
            "{html}"
        );
    }

    #[test]
    fn emphasis_beside_punctuation_is_kramdown_s() {
        // houbb.github.io (134 of its posts); each expectation is kramdown
        // 2.4's own output for the line.
        let cases = [
            (
                "**注意：**后面的内容。",
                "<strong>注意：</strong>后面的内容。",
            ),
            (
                "这是**“引用”**的例子。",
                "这是<strong>“引用”</strong>的例子。",
            ),
            ("中文，**加粗。**中文", "中文，<strong>加粗。</strong>中文"),
            (
                "**Note:**text and *注意：*后面",
                "<strong>Note:</strong>text and <em>注意：</em>后面",
            ),
            // A no-break space is no space to kramdown (andrewbolster.github.io).
            (
                "**UPDATE 2011\u{a0}**QUB",
                "<strong>UPDATE 2011\u{a0}</strong>QUB",
            ),
            (
                "通过我们的**[交互式演示](http://x)**在浏览器",
                "通过我们的<strong><a href=\"http://x\">交互式演示</a></strong>在浏览器",
            ),
            // What kramdown leaves as text stays text.
            (
                "a ** b ** c, 2 * 3 * 4, *.rs and *.toml",
                "a ** b ** c, 2 * 3 * 4, *.rs and *.toml",
            ),
            ("\\**注意：**后面", "**注意：**后面"),
            ("`**代码：**后`", "<code>**代码：**后</code>"),
            ("**注意：\n\n**后面", "**注意：</p>\n<p>**后面"),
            // Nested, each closer closing its own kind.
            (
                "**粗 *斜：*后 粗：**后",
                "<strong>粗 <em>斜：</em>后 粗：</strong>后",
            ),
        ];
        for (markdown, inner) in cases {
            let html = to_html_with(markdown, KRAMDOWN);
            assert_eq!(html, format!("<p>{inner}</p>\n"), "{markdown}");
        }
        // CommonMark's own rules stay in the default flavour.
        assert_eq!(
            to_html_with("**注意：**后面", Flavour::default()),
            "<p>**注意：**后面</p>\n"
        );
    }

    #[test]
    fn table_cells_are_split_as_kramdown_splits_them() {
        // houbb.github.io's operator tables, and a rule with a column more
        // than the header; each is kramdown 2.4's table, shown compactly.
        let compact = |markdown: &str| {
            to_html_with(markdown, KRAMDOWN)
                .chars()
                .filter(|c| *c != '\n')
                .collect::<String>()
        };
        assert_eq!(
            compact("| op | 例 |\n|---|---|\n| `||` | (A `||` B) `x==5 || y==5` |\n"),
            "<table><thead><tr><th>op</th><th>例</th></tr></thead><tbody>\
             <tr><td><code>||</code></td><td>(A <code>||</code> B) <code>x==5 || y==5</code></td></tr>\
             </tbody></table>"
        );
        assert_eq!(
            compact("| 类型 | 描述 |\n|:---|:---|:---|\n| `(en1|en2)` | 值 |\n"),
            "<table><thead><tr><th style=\"text-align: left\">类型</th><th style=\"text-align: left\">描述</th></tr></thead><tbody>\
             <tr><td style=\"text-align: left\"><code>(en1|en2)</code></td><td style=\"text-align: left\">值</td></tr>\
             </tbody></table>"
        );
        // Rows that are no table keep their pipes as written.
        // No table right after a paragraph's line; a table as wide as its
        // widest row, the header given empty cells.
        assert_eq!(
            compact(
                "输出结果：\n| 字段 | 类型 |\n|----|----|\n\n| 消息 | 职责 |\n|:----|:----|:----|\n| T | 记录 | 1. 执行 |\n"
            ),
            // (Jekyll sets kramdown's `hard_wrap` off: no `<br />`.)
            "<p>输出结果：| 字段 | 类型 ||—-|—-|</p>\
             <table><thead><tr><th style=\"text-align: left\">消息</th><th style=\"text-align: left\">职责</th><th style=\"text-align: left\"></th></tr></thead><tbody>\
             <tr><td style=\"text-align: left\">T</td><td style=\"text-align: left\">记录</td><td style=\"text-align: left\">1. 执行</td></tr>\
             </tbody></table>"
        );
        // A rule cut over several lines (andrewbolster.github.io) makes no
        // table of the row above it, in kramdown either.
        let cut = compact("| a | b |\n|:---\n---\n-:|:---\n| x | y |\n");
        assert!(!cut.contains(">a</th>"), "{cut}");
        let no_table = compact("| a `x|y` |\n| b |\n|---|\n");
        assert!(no_table.contains("<code>x|y</code>"), "{no_table}");
        assert!(!no_table.contains('\\'), "{no_table}");
    }

    #[test]
    fn only_two_tildes_strike_through_as_in_kramdown() {
        // andrewbolster.github.io; kramdown 2.4's output, `input: GFM`.
        let text = "your ~/.hgrc then (~/src) and ~~gone~~, `~x~`, ~ok~ and ~~a ~b~ c~~\n";
        assert_eq!(
            to_html_with(text, KRAMDOWN),
            "<p>your ~/.hgrc then (~/src) and <del>gone</del>, <code>~x~</code>, ~ok~ and <del>a ~b~ c</del></p>\n"
        );
        // `input: kramdown` strikes nothing through.
        let kramdown_input = Flavour {
            kramdown: Some(HeadingIds::Kramdown),
            smart: true,
        };
        assert_eq!(
            to_html_with("~~gone~~ and ~ok~\n", kramdown_input),
            "<p>~~gone~~ and ~ok~</p>\n"
        );
        assert_eq!(
            to_html_with("~~gone~~ and ~ok~\n", Flavour::default()),
            "<p><del>gone</del> and <del>ok</del></p>\n"
        );
    }

    #[test]
    fn a_table_of_contents_without_headings_is_left_out_as_in_kramdown() {
        // EZLippi.github.io: `{:toc}` over headings written in HTML.
        let text = "* TOC\n{:toc}\n\n<h2>Only HTML</h2>\n\ntext\n";
        let html = to_html_with(text, KRAMDOWN);
        assert!(!html.contains("markdown-toc"), "{html}");
        assert!(html.contains("<h2>Only HTML</h2>"), "{html}");
    }

    #[test]
    fn a_table_of_contents_comes_from_the_events_too() {
        let base = Url::parse("https://example.org/blog/post/").unwrap();
        let text = "* TOC\n{:toc}\n\n# One & *two*\n\ntext\n\n## Three\n\n- HERALDKDTOC\n\n> * TOC\n> {:toc}\n";
        let via_html = html::portable(&to_html_with(text, KRAMDOWN), &base);
        assert!(via_html.contains("<ul id=\"markdown-toc\">"), "{via_html}");
        assert_eq!(from_events(text, KRAMDOWN, &base).as_ref(), Some(&via_html));
        let raw = format!("{text}\n<p>{}</p>\n", kramdown::TOC);
        assert_eq!(from_events(&raw, KRAMDOWN, &base), None);
        assert_eq!(
            to_portable(&raw, KRAMDOWN, &base),
            html::portable(&to_html_with(&raw, KRAMDOWN), &base)
        );
    }

    #[test]
    fn kramdown_math_comes_from_the_events_too() {
        let base = Url::parse("https://example.org/blog/post/").unwrap();
        let text = "* TOC\n{:toc}\n\n# Energy\n\nSee $$E = mc^2 & a<b$$ here.\n\n\
                    $$\n\\sum_i x_i\n$$\n\n- $$\\alpha$$\n\n`$$code$$`\n";
        let via_html = html::portable(&to_html_with(text, KRAMDOWN), &base);
        assert!(
            via_html.contains("\\(E = mc^2 &amp; a&lt;b\\)"),
            "{via_html}"
        );
        assert!(via_html.contains("\\[\\sum_i x_i\\]"), "{via_html}");
        assert_eq!(from_events(text, KRAMDOWN, &base).as_ref(), Some(&via_html));
        // Math in a heading is in the table of contents too: that HTML is
        // replaced where it stands, so the quick way leaves it.
        let in_heading = "* TOC\n{:toc}\n\n# On $$x$$\n";
        assert_eq!(from_events(in_heading, KRAMDOWN, &base), None);
        assert_eq!(
            to_portable(in_heading, KRAMDOWN, &base),
            html::portable(&to_html_with(in_heading, KRAMDOWN), &base)
        );
    }

    #[test]
    fn a_heading_above_the_first_is_listed_beside_it() {
        let html = to_html_with("* TOC\n{:toc}\n\n## Two\n\n### Three\n\n# One\n", KRAMDOWN);
        let toc = &html[..html.find("</ul>\n<h2").expect("a list before the headings") + 6];
        assert_eq!(
            toc,
            "<ul id=\"markdown-toc\">\n\
             <li><a href=\"#two\" id=\"markdown-toc-two\">Two</a><ul>\n\
             <li><a href=\"#three\" id=\"markdown-toc-three\">Three</a></li></ul>\n\
             </li>\n\
             <li><a href=\"#one\" id=\"markdown-toc-one\">One</a></li>\n\
             </ul>\n"
        );
    }

    #[test]
    fn real_posts_come_from_their_events_as_from_their_html() {
        let base = Url::parse("https://example.org/blog/2024/01/05/post/").unwrap();
        let mut files = Vec::new();
        markdown_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut files,
        );
        assert!(files.len() > 100, "{} files", files.len());
        let (mut quick, mut all) = (0, 0);
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for flavour in [Flavour::default(), KRAMDOWN] {
                let via_html = html::portable(&to_html_with(&text, flavour), &base);
                let excerpt_via_html =
                    html::portable(&first_paragraph_html(&text).unwrap_or_default(), &base);
                assert_eq!(
                    to_portable(&text, flavour, &base),
                    via_html,
                    "{}",
                    file.display()
                );
                assert_eq!(
                    to_portable_with_excerpt(&text, flavour, &base),
                    (via_html.clone(), excerpt_via_html),
                    "{}",
                    file.display()
                );
                if let Some(quickly) = from_events(&text, flavour, &base) {
                    assert_eq!(quickly, via_html, "{}", file.display());
                    quick += 1;
                }
                all += 1;
            }
        }
        // The quick way must be the usual one, or it saves nothing.
        assert!(quick * 10 >= all * 7, "{quick} of {all} from their events");
    }

    #[test]
    fn renders_tables_footnotes_and_strikethrough() {
        let html = to_html("| a |\n|---|\n| 1 |\n\n~~old~~ new[^1]\n\n[^1]: note\n");
        assert!(html.contains("<table>"));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains("footnote"));
    }

    #[test]
    fn footnotes_go_to_the_end_with_kramdowns_ids_and_back_links() {
        let kramdown = Flavour {
            kramdown: Some(HeadingIds::Gfm),
            smart: false,
        };
        let goldmark = to_html("a[^x] b[^y]\n\n[^x]: one\n[^y]: two\n");
        assert!(goldmark.contains("<sup id=\"fnref:2\"><a href=\"#fn:2\" class=\"footnote-ref\" role=\"doc-noteref\">2</a></sup>"), "{goldmark}");
        assert!(goldmark.contains("<li id=\"fn:2\" role=\"doc-endnote\">\n<p>two&#160;<a href=\"#fnref:2\" class=\"footnote-backref\""), "{goldmark}");
        let html = to_html_with(
            "a[^1] b[^x] c[^1]\n\n[^1]: one\n\nmiddle\n\n[^x]: two\n\n[^unused]: gone\n",
            kramdown,
        );
        let end = html.find("<div class=\"footnotes\"").unwrap();
        assert!(html[..end].contains("<p>middle</p>"), "{html}");
        assert!(html.contains("<sup id=\"fnref:1\" role=\"doc-noteref\"><a href=\"#fn:1\" class=\"footnote\" rel=\"footnote\">1</a></sup>"), "{html}");
        assert!(html.contains("<sup id=\"fnref:1:1\""), "{html}");
        assert!(
            html.contains("<a href=\"#fn:x\" class=\"footnote\" rel=\"footnote\">2</a>"),
            "{html}"
        );
        assert!(html[end..].contains("<li id=\"fn:1\" role=\"doc-endnote\">\n<p>one <a href=\"#fnref:1\" class=\"reversefootnote\""), "{html}");
        assert!(html[end..].contains("<a href=\"#fnref:1:1\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;<sup>2</sup></a>"), "{html}");
        assert!(!html.contains("gone"), "{html}");
    }

    #[test]
    fn kramdown_math_keeps_its_backslashes_outside_code_only() {
        let kramdown = Flavour {
            kramdown: Some(HeadingIds::Gfm),
            smart: true,
        };
        let html = to_html_with(
            "a $$x \\\\ y_1 < z_2$$ b `$$c_1 d_2$$`\n\n$$\n\\frac{1}{2}\n$$\n\n```\n$$ e_1 $$\n```\n",
            kramdown,
        );
        assert!(
            html.contains("<p>a \\(x \\\\ y_1 &lt; z_2\\) b <code>$$c_1 d_2$$</code></p>"),
            "{html}"
        );
        assert!(html.contains("\n\\[\\frac{1}{2}\\]"), "{html}");
        assert!(html.contains("<code>$$ e_1 $$\n</code>"), "{html}");
    }

    #[test]
    fn kramdown_headings_get_ids_and_a_table_of_contents() {
        let kramdown = Flavour {
            kramdown: Some(HeadingIds::Gfm),
            smart: true,
        };
        let html = to_html_with(
            "* TOC\n{:toc}\n\n## Hello, World!\n{: .x}\n\n### Sub\n\n## Hello, World!\n\nText {: #span} \"here\".\n{: .note}\n",
            kramdown,
        );
        assert!(html.starts_with("<ul id=\"markdown-toc\">\n<li><a href=\"#hello-world\" id=\"markdown-toc-hello-world\">Hello, World!</a><ul>\n<li><a href=\"#sub\""), "{html}");
        assert!(
            html.contains("<h2 id=\"hello-world\" class=\"x\">"),
            "{html}"
        );
        assert!(html.contains("<h2 id=\"hello-world-1\">"), "{html}");
        assert!(html.contains("<p>Text  “here”.</p>"), "{html}");
        assert!(!html.contains("{:"), "{html}");
    }

    #[test]
    fn raw_html_passes_through() {
        assert!(to_html("<div class=\"x\">hi</div>\n").contains("<div class=\"x\">hi</div>"));
    }

    #[test]
    fn the_first_paragraph_skips_headings_and_nested_paragraphs() {
        let md = "# Title\n\n> quoted\n\nFirst *real* paragraph.\n\nSecond.\n";
        assert_eq!(
            first_paragraph_html(md).unwrap(),
            "<p>First <em>real</em> paragraph.</p>\n"
        );
    }

    #[test]
    fn no_paragraph_means_no_excerpt() {
        assert_eq!(first_paragraph_html("# Only a heading\n"), None);
    }
}
