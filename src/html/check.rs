//! The sanitiser's promise as a check, for tests and fuzz targets: what in
//! a piece of HTML a reader could be made to run or load.
//!
//! It reads the HTML with a different tokenizer (lol_html) from the one that
//! wrote it (html5ever), so it checks the output, not the sanitiser's own
//! idea of it.

use std::cell::RefCell;

use lol_html::{RewriteStrSettings, element, rewrite_str};
use url::Url;

/// Elements that run, embed or submit something.
const ACTIVE_ELEMENTS: &[&str] = &["base", "embed", "form", "iframe", "object", "script", "svg"];

/// Each thing in `html` a reader could be made to run or load: an element
/// that runs or embeds, an `on*`, `formaction`, `http-equiv` or xlink
/// attribute, a URL attribute (or srcset entry) that is not an absolute
/// http, https or mailto URL, `url(` in a style. Empty when there is none.
pub fn active_content(html: &str) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let settings = RewriteStrSettings::new().append_element_content_handler(element!("*", |el| {
        let tag = el.tag_name();
        if ACTIVE_ELEMENTS.contains(&tag.as_str()) {
            found.borrow_mut().push(format!("<{tag}>"));
        }
        for attribute in el.attributes() {
            let value = attribute.value().replace("&amp;", "&");
            if let Some(problem) = problem(&tag, &attribute.name(), &value) {
                found.borrow_mut().push(problem);
            }
        }
        Ok(())
    }));
    if rewrite_str(html, settings).is_err() {
        return vec!["HTML lol_html cannot read".into()];
    }
    found.into_inner()
}

fn problem(tag: &str, name: &str, value: &str) -> Option<String> {
    if name.starts_with("on")
        || ["formaction", "http-equiv"].contains(&name)
        || name.contains("xlink")
    {
        return Some(format!("<{tag} {name}>"));
    }
    if name == "style" && value.to_ascii_lowercase().contains("url(") {
        return Some(format!("<{tag} style={value:?}>"));
    }
    let urls: Vec<&str> = match name {
        "srcset" => value
            .split(", ")
            .filter_map(|c| c.split_whitespace().next())
            .collect(),
        "href" | "src" | "poster" | "cite" | "action" | "data" | "background" => vec![value],
        _ => return None,
    };
    urls.into_iter()
        .find(|url| {
            let scheme = Url::parse(url).map(|u| u.scheme().to_string());
            !matches!(scheme.as_deref(), Ok("http" | "https" | "mailto"))
        })
        .map(|url| format!("<{tag} {name}={url:?}>"))
}
