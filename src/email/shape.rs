//! CSS inlining once per *shape* of a rendered email, not once per reader.
//!
//! Every reader's HTML is rendered by the template for real, with their own
//! name, address and unsubscribe link, so `{{ subscriber.name | upper }}` and
//! `{% if subscriber.name %}` do what they say. Inlining the CSS (css-inline)
//! is what costs; it is done on a *shape*: the template rendered with unique
//! marker words where one reader's values go. When a reader's real rendering
//! is exactly that shape with their escaped values in the markers' places,
//! their inlined copy is the inlined shape with the same values put back: the
//! inliner only looks at tags, classes and attributes, which are the same.
//!
//! When it is not (the template changed a value, as `upper` does, or chose a
//! branch on it), a new shape is made from that reader's values; when even
//! that does not match, or the shape cannot be trusted (an attribute selector
//! in the CSS could match a marker differently from a value; an unquoted
//! attribute splits a marker), that reader's HTML is inlined on its own. Slow,
//! never wrong. The markers hold a random word made per run, and a copy that
//! still holds one is refused, never sent.

use std::sync::{Arc, PoisonError, RwLock};

/// Shapes kept per post: a template has few (with and without a name).
const MAX_SHAPES: usize = 8;

/// Where one reader's values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Email,
    Name,
    UnsubscribeUrl,
}

const SLOTS: [Slot; 3] = [Slot::Email, Slot::Name, Slot::UnsubscribeUrl];

/// The marker words of one run: letters, digits and a space, which HTML
/// escaping and CSS inlining pass through untouched (the space makes an
/// unquoted attribute split it, so that case is caught, not trusted).
#[derive(Debug, Clone)]
pub struct Markers {
    nonce: String,
}

impl Markers {
    pub fn new() -> Markers {
        let mut bytes = [0u8; 8];
        // Without randomness a fixed word still works; it is only less unique.
        let _ = getrandom::fill(&mut bytes);
        Markers {
            nonce: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub fn word(&self, slot: Slot) -> String {
        let name = match slot {
            Slot::Email => "EMAIL",
            Slot::Name => "NAME",
            Slot::UnsubscribeUrl => "UNSUBSCRIBE",
        };
        format!("xHERALD{}x{name} x", self.nonce)
    }

    /// Whether any marker of this run is in `text`, as written or through
    /// a case filter (`upper`, `lower`, `title` keep the random word's case
    /// uniform): the random word is what no post can hold by chance.
    pub fn found_in(&self, text: &str) -> bool {
        text.contains(&self.nonce) || text.contains(&self.nonce.to_ascii_uppercase())
    }
}

impl Default for Markers {
    fn default() -> Self {
        Markers::new()
    }
}

/// One reader's values as they appear in the rendered HTML (escaped);
/// `None` for a value the reader does not have (no marker then either).
pub type Values<'a> = [(Slot, Option<&'a str>); 3];

/// A text cut at the markers: literal runs and slots, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pieces(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

impl Pieces {
    fn split(text: &str, markers: &Markers) -> Pieces {
        let words: Vec<(Slot, String)> = SLOTS.iter().map(|s| (*s, markers.word(*s))).collect();
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some((at, slot, len)) = words
            .iter()
            .filter_map(|(slot, word)| rest.find(word.as_str()).map(|at| (at, *slot, word.len())))
            .min_by_key(|(at, _, _)| *at)
        {
            if at > 0 {
                parts.push(Piece::Text(rest[..at].to_string()));
            }
            parts.push(Piece::Slot(slot));
            rest = &rest[at + len..];
        }
        if !rest.is_empty() {
            parts.push(Piece::Text(rest.to_string()));
        }
        Pieces(parts)
    }

    fn value<'v>(values: &Values<'v>, slot: Slot) -> Option<&'v str> {
        values
            .iter()
            .find(|(s, _)| *s == slot)
            .and_then(|(_, v)| *v)
    }

    /// Whether `text` is these pieces with `values` in the slots.
    fn matches(&self, mut text: &str, values: &Values<'_>) -> bool {
        for part in &self.0 {
            let expected = match part {
                Piece::Text(literal) => literal.as_str(),
                Piece::Slot(slot) => match Pieces::value(values, *slot) {
                    Some(value) => value,
                    None => return false,
                },
            };
            match text.strip_prefix(expected) {
                Some(rest) => text = rest,
                None => return false,
            }
        }
        text.is_empty()
    }

    fn fill(&self, values: &Values<'_>) -> Option<String> {
        let mut out = String::with_capacity(self.len() + 512);
        for part in &self.0 {
            match part {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(slot) => out.push_str(Pieces::value(values, *slot)?),
            }
        }
        Some(out)
    }

    fn len(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Slot(_) => 0,
            })
            .sum()
    }

    fn slots(&self) -> Vec<Slot> {
        self.0
            .iter()
            .filter_map(|p| match p {
                Piece::Slot(s) => Some(*s),
                Piece::Text(_) => None,
            })
            .collect()
    }
}

/// A rendering with markers, and the same inlined.
#[derive(Debug)]
struct Shape {
    rendered: Pieces,
    inlined: Pieces,
}

/// The shapes of one post's email, shared by the sending threads.
#[derive(Debug, Default)]
pub struct Shapes {
    shapes: RwLock<Vec<Arc<Shape>>>,
    /// The CSS has attribute selectors: no shape can be trusted.
    off: RwLock<bool>,
}

impl Shapes {
    /// The inlined copy of `real` (a reader's rendering, whose escaped
    /// values are `values`), from a shape when one fits; `make` renders this
    /// reader's shape (markers in the values' places) when none does.
    pub fn inline<E>(
        &self,
        real: &str,
        values: &Values<'_>,
        markers: &Markers,
        make: impl FnOnce() -> Result<String, E>,
        inline: impl Fn(&str) -> Result<String, E>,
    ) -> Result<String, E> {
        let off = *self.off.read().unwrap_or_else(PoisonError::into_inner);
        if off {
            return inline(real);
        }
        let known: Vec<Arc<Shape>> = self
            .shapes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(out) = known
            .iter()
            .find(|s| s.rendered.matches(real, values))
            .and_then(|s| s.inlined.fill(values))
        {
            return Ok(out);
        }
        let marked = make()?;
        if attribute_selectors(&marked) {
            *self.off.write().unwrap_or_else(PoisonError::into_inner) = true;
            return inline(real);
        }
        let rendered = Pieces::split(&marked, markers);
        if !rendered.matches(real, values) {
            // The template treats this reader's values unlike the markers.
            return inline(real);
        }
        let inlined = Pieces::split(&inline(&marked)?, markers);
        let out = match (inlined.slots() == rendered.slots(), inlined.fill(values)) {
            (true, Some(out)) => out,
            _ => return inline(real),
        };
        let mut shapes = self.shapes.write().unwrap_or_else(PoisonError::into_inner);
        if shapes.len() < MAX_SHAPES {
            shapes.push(Arc::new(Shape { rendered, inlined }));
        }
        Ok(out)
    }
}

/// Whether a `<style>` element of `html` holds an attribute selector, which
/// could match a marker and a reader's value differently.
fn attribute_selectors(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find("<style") {
        let body = &rest[start..];
        let end = body.find("</style").unwrap_or(body.len());
        if body[..end].contains('[') {
            return true;
        }
        rest = &body[end..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(markers: &Markers) -> String {
        format!(
            "<p>Hi {}, <a href=\"{}\">x</a> {}</p>",
            markers.word(Slot::Name),
            markers.word(Slot::UnsubscribeUrl),
            markers.word(Slot::Name)
        )
    }

    #[test]
    fn a_reading_matches_its_shape_only_with_the_same_values_in_the_same_places() {
        let markers = Markers::new();
        let pieces = Pieces::split(&marked(&markers), &markers);
        let values: Values<'_> = [
            (Slot::Email, Some("a@b.test")),
            (Slot::Name, Some("Ada &amp; Co")),
            (Slot::UnsubscribeUrl, Some("https:&#x2f;&#x2f;u")),
        ];
        let real = "<p>Hi Ada &amp; Co, <a href=\"https:&#x2f;&#x2f;u\">x</a> Ada &amp; Co</p>";
        assert!(pieces.matches(real, &values));
        assert_eq!(pieces.fill(&values).as_deref(), Some(real));
        assert!(
            !pieces.matches(&real.to_uppercase(), &values),
            "a changed value is another shape"
        );
        let nameless: Values<'_> = [values[0], (Slot::Name, None), values[2]];
        assert!(!pieces.matches(real, &nameless));
    }

    #[test]
    fn shapes_are_reused_and_a_value_the_template_changed_is_inlined_alone() {
        let markers = Markers::new();
        let shapes = Shapes::default();
        let inlined = std::cell::Cell::new(0);
        let inline = |html: &str| -> Result<String, ()> {
            inlined.set(inlined.get() + 1);
            Ok(html.replace("<p>", "<p style=\"x\">"))
        };
        for name in ["Ada", "Bob"] {
            let values: Values<'_> = [
                (Slot::Email, Some("e")),
                (Slot::Name, Some(name)),
                (Slot::UnsubscribeUrl, Some("u")),
            ];
            let real = format!("<p>Hi {name}, <a href=\"u\">x</a> {name}</p>");
            let out = shapes
                .inline(&real, &values, &markers, || Ok(marked(&markers)), inline)
                .unwrap();
            assert_eq!(out, real.replace("<p>", "<p style=\"x\">"));
        }
        assert_eq!(
            inlined.get(),
            1,
            "one inlining for two readers of one shape"
        );
        // `{{ subscriber.name | upper }}`: the marker would be changed too; the real text is inlined.
        let values: Values<'_> = [
            (Slot::Email, Some("e")),
            (Slot::Name, Some("Cy")),
            (Slot::UnsubscribeUrl, Some("u")),
        ];
        let upper = |m: &Markers| format!("<p>Hi {}</p>", m.word(Slot::Name).to_uppercase());
        let out = shapes
            .inline(
                "<p>Hi CY</p>",
                &values,
                &markers,
                || Ok(upper(&markers)),
                inline,
            )
            .unwrap();
        assert_eq!(out, "<p style=\"x\">Hi CY</p>");
        assert!(!markers.found_in(&out));
        assert!(markers.found_in(&upper(&markers)), "found in any case");
    }

    #[test]
    fn attribute_selectors_turn_shapes_off() {
        assert!(attribute_selectors(
            "<STYLE>a[href^=mailto] { color: red }</style>"
        ));
        assert!(!attribute_selectors(
            "<style>a { color: red }</style><p>[1]</p>"
        ));
    }
}
