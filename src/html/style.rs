//! Inline styles that survive: the declarations feed readers keep anyway.
//!
//! Readers sanitise `style` with a property list (Universal Feed Parser's,
//! which the W3C validator also warns outside of) and drop values with
//! functions (`url(...)`, `expression(...)`, `rgba(...)`); doing the same
//! here keeps the feed valid and means no `url()` ever reaches a reader.

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
    // What Markdown writes for an aligned table column, on every cell of
    // it: kept as it is, without taking it apart (3% of a full archive).
    if MARKDOWN_ALIGNMENTS.contains(&style) {
        return Some(style.to_string());
    }
    declarations(style)
}

/// The `style` pulldown-cmark gives a cell of an aligned column.
const MARKDOWN_ALIGNMENTS: [&str; 3] = [
    "text-align: left",
    "text-align: center",
    "text-align: right",
];

/// [`portable_style`], one declaration at a time.
fn declarations(style: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_s_alignments_are_kept_as_each_declaration_would_be() {
        for style in MARKDOWN_ALIGNMENTS {
            assert_eq!(portable_style(style), declarations(style), "{style}");
            assert_eq!(declarations(style).as_deref(), Some(style));
        }
    }
}
