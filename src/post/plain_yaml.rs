//! Front matter of plain `key: value` lines, read without the YAML parser.
//!
//! Nearly every post's front matter is a handful of lines like
//! `title: "SciPy"`, `date: 2022-07-19 10:00:00 +0200` and `tags: [a, b]`.
//! serde-saphyr takes about 15 µs for such a block, which made reading the
//! front matter a fifth of a 10,000-post build. This reader takes only
//! lines whose meaning is beyond doubt and gives what serde-saphyr gives
//! for them (a property test checks that); at the first line it is not
//! sure of, it gives up and the YAML parser reads the whole block, so
//! errors and every other form of YAML are as before.

use serde_json::{Map, Value};

/// The block as a map, or `None` when a line is not one of the plain forms.
pub fn parse(text: &str) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(": ")?;
        let key_ok = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !key_ok || is_word(key) || map.contains_key(key) {
            return None;
        }
        map.insert(key.to_string(), value_of(value.trim_start())?);
    }
    Some(map)
}

fn value_of(text: &str) -> Option<Value> {
    let text = text.trim_end_matches(' ');
    if let Some(items) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if items.trim().is_empty() {
            return Some(Value::Array(Vec::new()));
        }
        return items
            .split(',')
            .map(|item| scalar(item.trim_matches(' '), true))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    scalar(text, false).or_else(|| date_time(text))
}

/// A quoted string without escapes, or a plain word that can only be text.
fn scalar(text: &str, in_list: bool) -> Option<Value> {
    let quoted = |q: char| {
        text.strip_prefix(q)?
            .strip_suffix(q)
            .filter(|inner| !inner.contains([q, '\\']) && !inner.chars().any(unusual))
    };
    if let Some(inner) = quoted('"').or_else(|| quoted('\'')) {
        return Some(Value::String(inner.to_string()));
    }
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && !text.ends_with(':')
        && !text.contains(": ")
        && !text.contains(" #")
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '_' | '-' | '.' | '/' | ':' | '(' | ')' | '?' | '!')
                || (!in_list && c == ',')
        });
    (plain && !is_word(text)).then(|| Value::String(text.to_string()))
}

/// Words some YAML reader takes for a boolean, a null or a number.
fn is_word(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "inf", "nan", "infinity",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(text))
}

/// Characters YAML refuses or reads specially, even quoted.
fn unusual(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// `2022-07-19`, `2022-07-19 10:00:00` or `2022-07-19 10:00:00 +0200`,
/// which YAML reads as text here.
fn date_time(text: &str) -> Option<Value> {
    let shape = |s: &str, pattern: &str| {
        s.len() == pattern.len()
            && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
                b'9' => c.is_ascii_digit(),
                b'+' => c == b'+' || c == b'-',
                _ => c == p,
            })
    };
    let known = [
        "9999-99-99",
        "9999-99-99 99:99:99",
        "9999-99-99 99:99:99 +9999",
    ];
    known
        .iter()
        .any(|pattern| shape(text, pattern))
        .then(|| Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn saphyr(text: &str) -> Option<Map<String, Value>> {
        match serde_saphyr::from_str::<Value>(text).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    #[test]
    fn a_typical_block_reads_as_yaml_reads_it() {
        let text = "layout: post\ntitle: \"Working note 9645: notes\"\ndate: 2025-01-02 06:30:00 +0000\ncategories: [blog]\ntags: [\"stats\", 'open-source', numpy]\n\nauthor: Jane Doe\n";
        assert_eq!(parse(text), saphyr(text));
        assert!(parse(text).is_some());
    }

    #[test]
    fn anything_in_doubt_is_left_to_the_parser() {
        for text in [
            "draft: true\n",
            "title: yes\n",
            "order: 3\n",
            "title: a: b\n",
            "title: x # comment\n",
            "title: \"a \\\" b\"\n",
            "tags:\n  - a\n",
            "title: x\ntitle: y\n",
            "title: &a x\n",
            "title:\n",
            "key : x\n",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    fn line() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec!["title", "tags", "date", "layout", "x_y", "a-b"]);
        let word = "[A-Za-z0-9 _.,:/()?!#'\"\\\\\\[\\]&*-]{0,12}";
        let value = prop_oneof![
            word.prop_map(|w| w.to_string()),
            word.prop_map(|w| format!("\"{w}\"")),
            word.prop_map(|w| format!("'{w}'")),
            prop::collection::vec(word, 0..4).prop_map(|w| format!("[{}]", w.join(", "))),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}( [+-][0-9]{4})?)?",
            prop::sample::select(vec!["true", "No", "ON", "null", "~", "Inf", ".nan", "0x1F"])
                .prop_map(str::to_string),
        ];
        (key, value).prop_map(|(k, v)| format!("{k}: {v}\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        #[test]
        fn what_it_reads_is_what_yaml_reads(lines in prop::collection::vec(line(), 1..6)) {
            let text = lines.concat();
            if let Some(map) = parse(&text) {
                prop_assert_eq!(Some(map), saphyr(&text), "{}", text);
            }
        }
    }
}
