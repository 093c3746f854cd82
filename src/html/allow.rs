//! The allow-list: which elements and attributes reach readers.
//!
//! Everything not named here goes. An element that is not allowed is
//! unwrapped (its text stays) unless it is in [`DROPPED`], whose content is
//! code, a form, or a plugin and makes no sense as text. The list is what a
//! post needs in a feed reader or a mail client: text, links, images and
//! media, tables, code (`class="language-x"`), footnotes (ids, back-links),
//! figures, details, and MathML; nothing that runs, submits or loads a
//! document (`script`, `form`, `object`, `svg`; an `iframe` becomes a link).

use std::collections::{HashMap, HashSet};

/// Elements kept, with their content.
const ELEMENTS: &[&str] = &[
    // Text and structure.
    "a",
    "abbr",
    "address",
    "article",
    "aside",
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
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "time",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
    // Tables.
    "caption",
    "col",
    "colgroup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    // Images and media.
    "audio",
    "img",
    "picture",
    "source",
    "track",
    "video",
    // Turned into a link to its source after cleaning.
    "iframe",
];

/// MathML presentation markup (no `maction`, no `annotation-xml`: they can
/// carry HTML or behaviour).
const MATHML: &[&str] = &[
    "math",
    "menclose",
    "merror",
    "mfrac",
    "mi",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "none",
    "semantics",
    "annotation",
];

/// Elements removed with everything inside them.
const DROPPED: &[&str] = &[
    "annotation-xml",
    "applet",
    "button",
    "canvas",
    "dialog",
    "embed",
    "form",
    "frame",
    "frameset",
    "input",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "script",
    "select",
    "style",
    "svg",
    "template",
    "textarea",
    "title",
    "xmp",
];

/// Attributes kept on every element. `class` and `id` carry code languages
/// and footnote anchors; `style` is filtered declaration by declaration.
const GENERIC: &[&str] = &["class", "dir", "id", "lang", "role", "style", "title"];

/// Attributes kept on one element. URL attributes (`href`, `src`, `srcset`,
/// `poster`, `cite`) are checked and made absolute after this list.
const PER_ELEMENT: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang", "name", "rel", "type"]),
    ("img", &["alt", "height", "sizes", "src", "srcset", "width"]),
    ("source", &["media", "sizes", "src", "srcset", "type"]),
    (
        "video",
        &[
            "controls",
            "height",
            "loop",
            "muted",
            "playsinline",
            "poster",
            "preload",
            "src",
            "width",
        ],
    ),
    ("audio", &["controls", "loop", "muted", "preload", "src"]),
    ("track", &["default", "kind", "label", "src", "srclang"]),
    ("iframe", &["src"]),
    ("blockquote", &["cite"]),
    ("q", &["cite"]),
    ("del", &["cite", "datetime"]),
    ("ins", &["cite", "datetime"]),
    ("time", &["datetime"]),
    ("data", &["value"]),
    ("ol", &["reversed", "start", "type"]),
    ("li", &["value"]),
    ("details", &["open"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("td", &["colspan", "headers", "rowspan"]),
    ("th", &["abbr", "colspan", "headers", "rowspan", "scope"]),
    ("math", &["display"]),
    ("annotation", &["encoding"]),
];

/// MathML's presentation attributes, on every MathML element.
const MATHML_ATTRIBUTES: &[&str] = &[
    "accent",
    "accentunder",
    "columnalign",
    "columnlines",
    "columnspacing",
    "depth",
    "displaystyle",
    "fence",
    "form",
    "height",
    "largeop",
    "linethickness",
    "lspace",
    "mathbackground",
    "mathcolor",
    "mathsize",
    "mathvariant",
    "movablelimits",
    "notation",
    "rowalign",
    "rowlines",
    "rowspacing",
    "rspace",
    "scriptlevel",
    "separator",
    "stretchy",
    "symmetric",
    "width",
];

/// Whether `attribute` is kept on `element`: what [`generic`] and
/// [`per_element`] together allow, without building the sets.
pub fn keeps(element: &str, attribute: &str) -> bool {
    GENERIC.contains(&attribute)
        || PER_ELEMENT
            .iter()
            .find(|(name, _)| *name == element)
            .is_some_and(|(_, kept)| kept.contains(&attribute))
        || (MATHML_ATTRIBUTES.contains(&attribute) && MATHML.contains(&element))
}

pub fn elements() -> HashSet<&'static str> {
    ELEMENTS.iter().chain(MATHML).copied().collect()
}

pub fn dropped() -> HashSet<&'static str> {
    DROPPED.iter().copied().collect()
}

pub fn generic() -> HashSet<&'static str> {
    GENERIC.iter().copied().collect()
}

pub fn per_element() -> HashMap<&'static str, HashSet<&'static str>> {
    let mut map: HashMap<&str, HashSet<&str>> = PER_ELEMENT
        .iter()
        .map(|(element, attributes)| (*element, attributes.iter().copied().collect()))
        .collect();
    for element in MATHML {
        map.entry(element)
            .or_default()
            .extend(MATHML_ATTRIBUTES.iter().copied());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_agrees_with_the_sets_given_to_the_cleaner() {
        let (generic, per_element) = (generic(), per_element());
        let attributes: HashSet<&str> = GENERIC
            .iter()
            .chain(PER_ELEMENT.iter().flat_map(|(_, kept)| kept.iter()))
            .chain(MATHML_ATTRIBUTES)
            .chain(&["onclick", "href", "xlink:href", "data-x"])
            .copied()
            .collect();
        for element in elements().iter().chain(&["svg", "form", "x"]) {
            for attribute in &attributes {
                let kept = generic.contains(attribute)
                    || per_element
                        .get(element)
                        .is_some_and(|kept| kept.contains(attribute));
                assert_eq!(keeps(element, attribute), kept, "{element} {attribute}");
            }
        }
    }
}
