//! Markdown -> HTML with pulldown-cmark: CommonMark plus tables, footnotes,
//! strikethrough, task lists and heading attributes. Raw HTML passes
//! through; making it safe and portable is `html`'s job.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

pub fn to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options()));
    out
}

/// The first top-level paragraph, as HTML: the excerpt when the post marks none.
pub fn first_paragraph_html(markdown: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut inside = false;
    for event in Parser::new_ext(markdown, options()) {
        match &event {
            Event::Start(Tag::Paragraph) if depth == 0 => inside = true,
            Event::Start(_) => {}
            Event::End(TagEnd::Paragraph) if depth == 1 && inside => {
                events.push(event);
                let mut out = String::new();
                html::push_html(&mut out, events.into_iter());
                return Some(out);
            }
            _ => {}
        }
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if inside {
            // Footnote references would point nowhere in an excerpt.
            if !matches!(event, Event::FootnoteReference(_)) {
                events.push(event);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tables_footnotes_and_strikethrough() {
        let html = to_html("| a |\n|---|\n| 1 |\n\n~~old~~ new[^1]\n\n[^1]: note\n");
        assert!(html.contains("<table>"));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains("footnote"));
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
