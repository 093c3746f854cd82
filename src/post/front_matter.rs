//! Splitting a post file into front matter and body, and reading the front
//! matter (YAML between `---` lines, TOML between `+++` lines) into a
//! generic map. What the keys mean is `post`'s business, not this module's.

use serde_json::{Map, Value};

/// A post file cut in two. Line numbers are 1-based, in the whole file.
#[derive(Debug)]
pub struct Split<'a> {
    pub front: &'a str,
    pub format: Format,
    /// The line where the front matter text starts (after the opening fence).
    pub front_line: usize,
    pub body: &'a str,
    /// The line where the body starts.
    pub body_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

/// A post's front matter as written, kept instead of its parsed map: the
/// map of a short YAML head is several times its text (a third of the
/// memory of a loaded 100,000-post site), and only posts that Liquid
/// renders ever ask for it. (The render cache's key hashes the post, so
/// an edit to the front matter's comments or spacing now renders the post
/// again: a miss, never a stale entry.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    text: Box<str>,
    format: Format,
}

impl Kept {
    /// The front matter of `split`, which [`parse`] has read without error.
    pub fn of(split: &Split<'_>) -> Kept {
        Kept {
            text: split.front.into(),
            format: split.format,
        }
    }

    /// Every key, as [`parse`] gave them when the post was read.
    pub fn fields(&self) -> Map<String, Value> {
        let split = Split {
            front: &self.text,
            format: self.format,
            front_line: 1,
            body: "",
            body_line: 1,
        };
        // It parsed when the post was read; the same text parses the same way.
        let fields = parse(&split);
        debug_assert!(
            fields.is_ok(),
            "kept front matter no longer parses: {fields:?}"
        );
        fields.unwrap_or_default()
    }
}

/// A located complaint about the front matter, relative to the whole file.
#[derive(Debug, PartialEq, Eq)]
pub struct FrontMatterError {
    pub line: usize,
    pub message: String,
}

impl<'a> Split<'a> {
    /// A file that is all body, as Jekyll reads a post without front matter.
    pub fn body_only(text: &'a str) -> Split<'a> {
        Split {
            front: "",
            format: Format::Yaml,
            front_line: 1,
            body: text.strip_prefix('\u{feff}').unwrap_or(text),
            body_line: 1,
        }
    }
}

pub fn split(text: &str) -> Result<Split<'_>, FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let (fence, format) = match text[..first_line_end].trim_end() {
        "---" => ("---", Format::Yaml),
        "+++" => ("+++", Format::Toml),
        _ => {
            return Err(FrontMatterError {
                line: 1,
                message: "no front matter: a post starts with a `---` line, then `title: ...`, then `---` (or `+++` for TOML)".into(),
            });
        }
    };
    let mut offset = first_line_end;
    let mut line = 2;
    while offset < text.len() {
        let end = text[offset..]
            .find('\n')
            .map_or(text.len(), |i| offset + i + 1);
        let content = text[offset..end].trim_end();
        if content == fence || (format == Format::Yaml && content == "...") {
            return Ok(Split {
                front: &text[first_line_end..offset],
                format,
                front_line: 2,
                body: &text[end..],
                body_line: line + 1,
            });
        }
        offset = end;
        line += 1;
    }
    Err(FrontMatterError {
        line: 1,
        message: format!(
            "the front matter opened here is never closed: add a `{fence}` line after it"
        ),
    })
}

/// Parses front matter text into a map. Dates and times become strings, so
/// both formats give the same shapes to the caller.
pub fn parse(split: &Split<'_>) -> Result<Map<String, Value>, FrontMatterError> {
    if split.front.trim().is_empty() {
        return Ok(Map::new());
    }
    match split.format {
        Format::Yaml => parse_yaml(split.front, split.front_line),
        Format::Toml => parse_toml(split.front, split.front_line),
    }
}

fn parse_yaml(text: &str, first_line: usize) -> Result<Map<String, Value>, FrontMatterError> {
    if let Some(map) = super::plain_yaml::parse(text) {
        return Ok(map);
    }
    let value: Value = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line() as usize);
        FrontMatterError {
            line: first_line + line.saturating_sub(1),
            message: format!(
                "front matter is not valid YAML: {}",
                first_line_of(&e.to_string())
            ),
        }
    })?;
    into_map(value, first_line)
}

fn parse_toml(text: &str, first_line: usize) -> Result<Map<String, Value>, FrontMatterError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(1, |s| crate::config::line_of(text, s.start));
        FrontMatterError {
            line: first_line + line - 1,
            message: format!("front matter is not valid TOML: {}", e.message()),
        }
    })?;
    into_map(toml_to_json(toml::Value::Table(table)), first_line)
}

fn into_map(value: Value, first_line: usize) -> Result<Map<String, Value>, FrontMatterError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(FrontMatterError {
            line: first_line,
            message: "front matter must be a list of `key: value` lines".into(),
        }),
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

/// The parser's own first line, without its "error: line 1 column 8:" prefix
/// (that line counts from the front matter, not the file; ours replaces it).
fn first_line_of(message: &str) -> &str {
    let line = message.lines().next().unwrap_or(message);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, reason)) => reason,
        None => line,
    }
}

/// The line (in the whole file) where `key` is set, for messages about its value.
pub fn key_line(split: &Split<'_>, key: &str) -> usize {
    let separator = match split.format {
        Format::Yaml => ':',
        Format::Toml => '=',
    };
    split
        .front
        .lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(separator))
        })
        .map_or(split.front_line, |i| split.front_line + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_split_yaml_front_matter_from_the_body() {
        let split = split("---\ntitle: Hi\n---\nBody\n").unwrap();
        assert_eq!(split.format, Format::Yaml);
        assert_eq!(split.front, "title: Hi\n");
        assert_eq!(split.body, "Body\n");
        assert_eq!(split.body_line, 4);
    }

    #[test]
    fn can_split_toml_front_matter_with_crlf_line_ends() {
        let split = split("+++\r\ntitle = \"Hi\"\r\n+++\r\nBody").unwrap();
        assert_eq!(split.format, Format::Toml);
        assert_eq!(split.body, "Body");
        let map = parse(&split).unwrap();
        assert_eq!(map["title"], "Hi");
    }

    #[test]
    fn errors_if_front_matter_is_missing_or_unclosed() {
        assert!(
            split("# Just markdown\n")
                .unwrap_err()
                .message
                .contains("`---`")
        );
        assert!(
            split("---\ntitle: x\n")
                .unwrap_err()
                .message
                .contains("never closed")
        );
    }

    #[test]
    fn yaml_errors_carry_the_line_in_the_file() {
        let text = "---\ntitle: ok\ntags: [a, b\n---\n";
        let err = parse(&split(text).unwrap()).unwrap_err();
        assert!(err.line >= 3, "{err:?}");
        assert!(err.message.contains("YAML"));
    }

    #[test]
    fn toml_dates_become_strings() {
        let text = "+++\ntitle = \"x\"\ndate = 2024-01-05T10:00:00+02:00\n+++\n";
        let map = parse(&split(text).unwrap()).unwrap();
        assert_eq!(map["date"], "2024-01-05T10:00:00+02:00");
    }

    #[test]
    fn kept_front_matter_gives_back_every_key_as_parsed() {
        for text in [
            "---\ntitle: x\ntags: [a, b]\nthings:\n  - {name: c, kind: z}\nwhen: 2024-01-05\n---\nBody\n",
            "+++\ntitle = \"x\"\ndate = 2024-01-05T10:00:00+02:00\n[extra]\nn = 3\n+++\nBody\n",
            "---\n---\nBody\n",
            "\u{feff}---\r\ntitle: x\r\ntags: a b\r\n...\r\nBody",
        ] {
            let split = split(text).unwrap();
            assert_eq!(Kept::of(&split).fields(), parse(&split).unwrap(), "{text}");
        }
        let body_only = Split::body_only("Body\n");
        assert!(Kept::of(&body_only).fields().is_empty());
    }

    #[test]
    fn key_line_finds_the_line_of_a_key() {
        let text = "---\ntitle: x\ndate: nope\n---\n";
        assert_eq!(key_line(&split(text).unwrap(), "date"), 3);
    }
}
