//! The text/plain part: a post laid out as people write plain-text email.
//!
//! It starts from the post's finished HTML, the content the HTML part shows
//! (Liquid, kramdown syntax, raw HTML and footnotes already resolved, URLs
//! absolute), so both parts always say the same. html2text does the layout
//! (paragraphs wrapped at 72 columns, `#` headings, `*` and `1.` lists,
//! `>` quotes, tables); this module decides what a plain-text reader
//! expects where html2text does otherwise:
//!
//! - code blocks are indented by four spaces and never wrapped;
//! - inline code keeps its backquotes;
//! - each link is its text and a number, `[2]`, and every URL is listed
//!   once at the end, whole, on its own line (`[2] https://...`): a URL
//!   wrapped across lines cannot be followed;
//! - footnote references read `[^1]`, and the notes stay at the end.

use html2text::render::{RichAnnotation, TaggedLine};

/// Width of the wrapped text.
const WIDTH: usize = 72;

/// A run of text on a line and what it is (link, code, ...).
type Piece<'a> = (&'a str, &'a [RichAnnotation]);

/// `html` (a post's content, at `page`) as the text of a plain-text email.
pub fn from_html(html: &str, page: &str) -> String {
    let lines = html2text::config::rich()
        .no_link_wrapping()
        .allow_width_overflow()
        .lines_from_read(html.as_bytes(), WIDTH);
    let Ok(lines) = lines else {
        return html2text::from_read(html.as_bytes(), WIDTH).unwrap_or_default();
    };
    let mut writer = Writer {
        page: page.split('#').next().unwrap_or(page),
        out: String::with_capacity(html.len()),
        links: Vec::new(),
        open_sup: false,
    };
    for line in &lines {
        writer.line(line);
    }
    writer.finish()
}

/// What a link is, seen from the post.
enum Link {
    /// Elsewhere: numbered, listed at the end.
    Away,
    /// A footnote reference on this page.
    Footnote,
    /// The note's way back to its reference: nothing in text.
    Back,
    /// Another place on this page: its text only.
    Here,
}

struct Writer<'a> {
    page: &'a str,
    out: String,
    /// URLs in order of first use; a link's number is its place here plus one.
    links: Vec<String>,
    /// A footnote reference's `^{` was left out: leave out its `}` too.
    open_sup: bool,
}

impl Writer<'_> {
    fn line(&mut self, line: &TaggedLine<Vec<RichAnnotation>>) {
        let pieces: Vec<Piece<'_>> = line
            .tagged_strings()
            .map(|t| (t.s.as_str(), t.tag.as_slice()))
            .collect();
        let code = pieces.iter().filter_map(preformat).reduce(|a, b| a || b);
        match code {
            // html2text broke a long code line: put it back together.
            Some(true) if self.out.ends_with('\n') => {
                self.out.pop();
            }
            Some(false) => self.out.push_str("    "),
            _ => {}
        }
        for (i, piece) in pieces.iter().enumerate() {
            let before = i.checked_sub(1).and_then(|j| pieces.get(j));
            let after = pieces.get(i + 1);
            let inline = inline_code(piece);
            if inline && !before.is_some_and(inline_code) {
                self.out.push('`');
            }
            match target(piece) {
                Some(url) => {
                    let last = after.and_then(|p| target(p)) != Some(url);
                    self.link(piece.0, url, last);
                }
                None if self.open_sup && piece.0.starts_with('}') => {
                    self.open_sup = false;
                    self.out.push_str(&piece.0[1..]);
                }
                None => self.out.push_str(piece.0),
            }
            if inline && !after.is_some_and(inline_code) {
                self.out.push('`');
            }
        }
        if code.is_none() {
            // Code keeps its spaces: a broken line is joined back at them.
            let end = self.out.trim_end_matches(' ').len();
            self.out.truncate(end);
        }
        self.out.push('\n');
    }

    fn link(&mut self, text: &str, url: &str, last: bool) {
        match self.kind(url) {
            Link::Away => {
                self.out.push_str(text);
                if last {
                    let n = self.number(url);
                    self.out.push_str(&format!(" [{n}]"));
                }
            }
            Link::Footnote => {
                // html2text writes <sup> as ^{...}; a reference is [^1] alone.
                if self.out.ends_with("^{") {
                    self.out.truncate(self.out.len() - 2);
                    self.open_sup = true;
                }
                self.out.push_str(&format!("[^{}]", text.trim()));
            }
            Link::Back => {}
            Link::Here => self.out.push_str(text),
        }
    }

    fn kind(&self, url: &str) -> Link {
        let fragment = match url.split_once('#') {
            Some((base, fragment)) if base.is_empty() || base == self.page => fragment,
            _ => return Link::Away,
        };
        if fragment.starts_with("fnref") {
            Link::Back
        } else if fragment.starts_with("fn") {
            Link::Footnote
        } else {
            Link::Here
        }
    }

    fn number(&mut self, url: &str) -> usize {
        match self.links.iter().position(|u| u == url) {
            Some(i) => i + 1,
            None => {
                self.links.push(url.to_string());
                self.links.len()
            }
        }
    }

    fn finish(mut self) -> String {
        let end = self.out.trim_end().len();
        self.out.truncate(end);
        self.out.push('\n');
        if !self.links.is_empty() {
            self.out.push('\n');
            for (i, url) in self.links.iter().enumerate() {
                self.out.push_str(&format!("[{}] {url}\n", i + 1));
            }
        }
        self.out
    }
}

/// `Some(continuation)` for a line of a code block.
fn preformat(piece: &Piece<'_>) -> Option<bool> {
    piece.1.iter().find_map(|a| match a {
        RichAnnotation::Preformat(continuation) => Some(*continuation),
        _ => None,
    })
}

fn inline_code(piece: &Piece<'_>) -> bool {
    piece.1.iter().any(|a| matches!(a, RichAnnotation::Code)) && preformat(piece).is_none()
}

/// Where a link or an image points.
fn target<'a>(piece: &Piece<'a>) -> Option<&'a str> {
    piece.1.iter().find_map(|a| match a {
        RichAnnotation::Link(url) | RichAnnotation::Image(url) => Some(url.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://blog.test/2024/01/02/post/";

    #[test]
    fn code_blocks_are_indented_and_never_wrapped() {
        let long = format!("x = {}", "1 + ".repeat(40));
        let html = format!(
            "<p>Before.</p><pre><code>def f():\n    return 1\n{long}</code></pre><p>After <code>f()</code>.</p>"
        );
        let text = from_html(&html, PAGE);
        assert!(
            text.contains("\n    def f():\n        return 1\n"),
            "{text}"
        );
        assert!(text.contains(&format!("    {}", long.trim_end())), "{text}");
        assert!(text.contains("After `f()`."), "{text}");
    }

    #[test]
    fn links_are_numbered_and_listed_whole_at_the_end() {
        let url = format!("https://example.org/{}", "very-long-path/".repeat(12));
        let html = format!(
            "<p>See <a href=\"{url}\">the notebook</a>, <a href=\"https://a.test/\">this</a> and <a href=\"{url}\">it again</a>.</p>"
        );
        let text = from_html(&html, PAGE);
        assert!(
            text.contains("See the notebook [1], this [2] and it again [1]."),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("\n[1] {url}\n[2] https://a.test/\n")),
            "{text}"
        );
    }

    #[test]
    fn headings_lists_and_footnotes_keep_their_shape() {
        let html = format!(
            "<h2>The change</h2><ul><li>one</li><li>two</li></ul><p>Claim<sup><a href=\"{PAGE}#fn:1\">1</a></sup>.</p>\
             <div class=\"footnotes\"><ol><li id=\"fn:1\"><p>The note. <a href=\"{PAGE}#fnref:1\">↩</a></p></li></ol></div>"
        );
        let text = from_html(&html, PAGE);
        assert!(text.contains("## The change"), "{text}");
        assert!(text.contains("* one\n* two"), "{text}");
        assert!(text.contains("Claim[^1]."), "{text}");
        assert!(text.trim_end().ends_with("1. The note."), "{text}");
        assert!(!text.contains('↩') && !text.contains("fnref"), "{text}");
    }
}
