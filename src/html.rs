//! Portable HTML: what feed readers and mail clients can show as it is.
//!
//! Every URL (href, src, srcset, poster) is made absolute against the post's
//! URL; script, style, meta, form, object and similar elements are removed,
//! with `on*` handler attributes and `javascript:` links; an iframe becomes a
//! link to its source. The rewriting is done by lol_html, a real HTML
//! tokenizer, not by patterns. This is not a sanitiser for hostile input:
//! the author's own HTML is trusted, only made portable.

use lol_html::html_content::{ContentType, Element};
use lol_html::{RewriteStrSettings, element, rewrite_str};
use url::Url;

/// Elements that feed readers and mail clients strip or refuse.
const REMOVED: &str =
    "script, style, meta, link, base, form, object, embed, applet, noscript, template";

pub fn portable(html: &str, base: &Url) -> String {
    let resolve = |el: &mut Element<'_, '_>, attribute: &str| {
        if let Some(value) = el.get_attribute(attribute) {
            match absolute(base, &value) {
                Some(url) => el.set_attribute(attribute, &url).unwrap_or_default(),
                None => el.remove_attribute(attribute),
            }
        }
    };
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!(REMOVED, |el| {
            el.remove();
            Ok(())
        }))
        .append_element_content_handler(element!("iframe", |el| {
            let link = el
                .get_attribute("src")
                .and_then(|src| absolute(base, &src))
                .map(|src| {
                    let label = el.get_attribute("title").unwrap_or_else(|| src.clone());
                    format!("<p><a href=\"{}\">{}</a></p>", escape(&src), escape(&label))
                });
            el.replace(&link.unwrap_or_default(), ContentType::Html);
            Ok(())
        }))
        .append_element_content_handler(element!("*", |el| {
            let handlers: Vec<String> = el
                .attributes()
                .iter()
                .map(|a| a.name())
                .filter(|name| name.starts_with("on"))
                .collect();
            for name in handlers {
                el.remove_attribute(&name);
            }
            for attribute in ["href", "src", "poster", "cite", "background"] {
                resolve(el, attribute);
            }
            if let Some(style) = el.get_attribute("style") {
                match portable_style(&style) {
                    Some(kept) => el.set_attribute("style", &kept).unwrap_or_default(),
                    None => el.remove_attribute("style"),
                }
            }
            if let Some(srcset) = el.get_attribute("srcset") {
                el.set_attribute("srcset", &absolute_srcset(base, &srcset))
                    .unwrap_or_default();
            }
            Ok(())
        }));
    // lol_html only fails on memory limits we do not set, or on a handler's
    // error, and ours return none; keep the input rather than panic.
    rewrite_str(html, settings).unwrap_or_else(|_| html.to_string())
}

/// Resolves `value` against `base`. `None` for a link that must go
/// (`javascript:`); fragments and other schemes (mailto:, tel:) are kept.
fn absolute(base: &Url, value: &str) -> Option<String> {
    let trimmed = value.trim();
    if trimmed
        .get(..11)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("javascript:"))
    {
        return None;
    }
    match base.join(trimmed) {
        Ok(url) => Some(url.to_string()),
        Err(_) => Some(trimmed.to_string()),
    }
}

fn absolute_srcset(base: &Url, srcset: &str) -> String {
    srcset
        .split(',')
        .map(str::trim)
        .filter(|candidate| !candidate.is_empty())
        .map(|candidate| {
            let (url, descriptor) = candidate
                .split_once(char::is_whitespace)
                .unwrap_or((candidate, ""));
            let url = absolute(base, url).unwrap_or_default();
            if descriptor.trim().is_empty() {
                url
            } else {
                format!("{url} {}", descriptor.trim())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// CSS properties that feed readers keep (the whitelist Universal Feed Parser
/// sanitises with, and the W3C validator warns outside of).
const KEPT_PROPERTIES: &[&str] = &[
    "azimuth",
    "background",
    "background-color",
    "border",
    "border-bottom",
    "border-bottom-color",
    "border-bottom-style",
    "border-bottom-width",
    "border-collapse",
    "border-color",
    "border-left",
    "border-left-color",
    "border-left-style",
    "border-left-width",
    "border-right",
    "border-right-color",
    "border-right-style",
    "border-right-width",
    "border-spacing",
    "border-style",
    "border-top",
    "border-top-color",
    "border-top-style",
    "border-top-width",
    "border-width",
    "clear",
    "color",
    "cursor",
    "direction",
    "display",
    "elevation",
    "float",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "overflow",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "pause",
    "pause-after",
    "pause-before",
    "pitch",
    "pitch-range",
    "richness",
    "speak",
    "speak-header",
    "speak-numeral",
    "speak-punctuation",
    "speech-rate",
    "stress",
    "text-align",
    "text-decoration",
    "text-indent",
    "unicode-bidi",
    "vertical-align",
    "voice-family",
    "volume",
    "white-space",
    "width",
];

/// Keywords readers accept in box and background shorthands.
const KEPT_KEYWORDS: &[&str] = &[
    "aqua",
    "auto",
    "black",
    "block",
    "blue",
    "bold",
    "both",
    "bottom",
    "brown",
    "center",
    "collapse",
    "dashed",
    "dotted",
    "fuchsia",
    "gray",
    "green",
    "!important",
    "italic",
    "left",
    "lime",
    "maroon",
    "medium",
    "none",
    "navy",
    "normal",
    "nowrap",
    "olive",
    "pointer",
    "purple",
    "red",
    "right",
    "solid",
    "silver",
    "teal",
    "top",
    "transparent",
    "underline",
    "white",
    "yellow",
];

/// Keeps the declarations of a `style` attribute that readers keep anyway;
/// the rest (`rgba(...)`, `url(...)`, positioning) would be stripped by them,
/// or flagged by the validator. `None` when nothing is left.
pub fn portable_style(style: &str) -> Option<String> {
    let kept: Vec<String> = style
        .split(';')
        .filter_map(|declaration| {
            let (property, value) = declaration.split_once(':')?;
            let property = property.trim().to_ascii_lowercase();
            let value = value.trim();
            let plain_value = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " \t#%.,!-".contains(c));
            if !KEPT_PROPERTIES.contains(&property.as_str()) || !plain_value {
                return None;
            }
            let shorthand = ["background", "border", "margin", "padding"]
                .contains(&property.split('-').next().unwrap_or_default());
            if shorthand
                && !value.split_whitespace().all(|word| {
                    KEPT_KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
                        || is_css_length_or_color(word)
                })
            {
                return None;
            }
            Some(format!("{property}: {value}"))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// `#fff`, `0`, `8px`, `0.75em`, `50%`: values without functions.
fn is_css_length_or_color(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    if let Some(hex) = word.strip_prefix('#') {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    let number_end = word
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(number_end);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    (1..=3).contains(&digits)
        && number.matches('.').count() <= 1
        && ["", "cm", "em", "ex", "in", "mm", "pc", "pt", "px", "%"].contains(&unit)
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
    if text.chars().any(bad) {
        text.chars().filter(|&c| !bad(c)).collect::<String>().into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/blog/2024/01/05/post/").unwrap()
    }

    #[test]
    fn relative_urls_become_absolute() {
        let html = portable(
            r#"<a href="../other/">x</a><img src="/img/a.png" srcset="a.png 1x, /b.png 2x"><video poster="p.jpg"></video>"#,
            &base(),
        );
        assert!(
            html.contains(r#"href="https://example.org/blog/2024/01/05/other/""#),
            "{html}"
        );
        assert!(
            html.contains(r#"src="https://example.org/img/a.png""#),
            "{html}"
        );
        assert!(html.contains(r#"srcset="https://example.org/blog/2024/01/05/post/a.png 1x, https://example.org/b.png 2x""#), "{html}");
        assert!(
            html.contains(r#"poster="https://example.org/blog/2024/01/05/post/p.jpg""#),
            "{html}"
        );
    }

    #[test]
    fn fragments_and_mailto_survive() {
        let html = portable(
            r##"<a href="#fn1">1</a><a href="mailto:a@b.org">m</a>"##,
            &base(),
        );
        assert!(
            html.contains("https://example.org/blog/2024/01/05/post/#fn1"),
            "{html}"
        );
        assert!(html.contains(r#"href="mailto:a@b.org""#), "{html}");
    }

    #[test]
    fn unsafe_elements_and_handlers_are_removed() {
        let html = portable(
            r#"<p onclick="x()">a</p><script>alert(1)</script><style>p{}</style><form><input></form><object></object><a href="javascript:x()">j</a>"#,
            &base(),
        );
        assert_eq!(html, "<p>a</p><a>j</a>");
    }

    #[test]
    fn an_iframe_becomes_a_link() {
        let html = portable(
            r#"<iframe src="https://www.youtube.com/embed/x" title="Talk"></iframe>"#,
            &base(),
        );
        assert_eq!(
            html,
            r#"<p><a href="https://www.youtube.com/embed/x">Talk</a></p>"#
        );
    }

    #[test]
    fn styles_keep_only_what_feed_readers_keep() {
        assert_eq!(
            portable_style("padding:8px 0 2px;text-align:center;background:rgba(240,0,0,0.1)")
                .as_deref(),
            Some("padding: 8px 0 2px; text-align: center")
        );
        assert_eq!(
            portable_style("position: absolute; background: url(x.png)"),
            None
        );
        let html = portable(
            r#"<span style="margin:0 6px;font-size:0.75em;vertical-align:top">x</span>"#,
            &base(),
        );
        assert!(
            html.contains(r#"style="margin: 0 6px; font-size: 0.75em; vertical-align: top""#),
            "{html}"
        );
    }

    #[test]
    fn control_characters_are_dropped_for_xml() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td"), "abc\td");
        assert!(matches!(xml_safe("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
