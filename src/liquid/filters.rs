//! Jekyll's filters that the liquid crate does not have (`relative_url`,
//! `absolute_url`, `xml_escape`, the date filters, `jsonify`,
//! `markdownify`...), and a pass-through filter standing in for plugin
//! filters herald does not know.

use std::fmt;
use std::sync::Arc;

use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{Filter, FilterReflection, ParseFilter, Result, Runtime, Value, ValueView};

type Apply = dyn Fn(&dyn ValueView) -> String + Send + Sync;

/// A filter with no arguments of its own, from a value to a string.
#[derive(Clone)]
pub struct Simple {
    pub name: &'static str,
    pub apply: Arc<Apply>,
}

impl Simple {
    /// A filter of the value's text.
    pub fn new(
        name: &'static str,
        apply: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Simple {
        Simple::of_value(name, move |value| apply(&value.to_kstr()))
    }

    /// A filter of the whole value (arrays, objects).
    pub fn of_value(
        name: &'static str,
        apply: impl Fn(&dyn ValueView) -> String + Send + Sync + 'static,
    ) -> Simple {
        Simple {
            name,
            apply: Arc::new(apply),
        }
    }
}

impl FilterReflection for Simple {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        ""
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Simple {
    fn parse(&self, _arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        Ok(Box::new(SimpleFilter(self.clone())))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

struct SimpleFilter(Simple);

impl fmt::Debug for SimpleFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for SimpleFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Filter for SimpleFilter {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> Result<Value> {
        Ok(Value::scalar((self.0.apply)(input)))
    }
}

/// The filters herald adds, given the site's absolute URL.
pub fn jekyll(site_url: &str) -> Vec<Box<dyn ParseFilter>> {
    let base_path = url::Url::parse(site_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let absolute_base = site_url.trim_end_matches('/').to_string();
    vec![
        Box::new(Simple::new("relative_url", move |path| {
            join(&base_path, path)
        })),
        Box::new(Simple::new("absolute_url", move |path| {
            join(&absolute_base, path)
        })),
        Box::new(Simple::new("xml_escape", crate::html::escape)),
        Box::new(Simple::new("cgi_escape", |s| escape_uri(s, true))),
        Box::new(Simple::new("uri_escape", |s| escape_uri(s, false))),
        Box::new(Simple::new("url_encode", |s| escape_uri(s, true))),
        Box::new(Simple::new("normalize_whitespace", |s| {
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        })),
        Box::new(Simple::new("number_of_words", |s| {
            s.split_whitespace().count().to_string()
        })),
        Box::new(Simple::new("markdownify", crate::markdown::to_html)),
        Box::new(Simple::new("date_to_xmlschema", |s| {
            date(s, "%Y-%m-%dT%H:%M:%S%:z")
        })),
        Box::new(Simple::new("date_to_rfc822", |s| {
            date(s, "%a, %d %b %Y %H:%M:%S %z")
        })),
        Box::new(Simple::of_value("jsonify", |value| {
            serde_json::to_string(&value.to_value()).unwrap_or_else(|_| "null".into())
        })),
    ]
}

/// Liquid's standard filters, as `liquid::ParserBuilder::stdlib` registers
/// them, listed so that each can be wrapped (see `bounded`).
pub fn stdlib() -> Vec<Box<dyn ParseFilter>> {
    use liquid_lib::stdlib::*;
    vec![
        Box::new(Abs),
        Box::new(Append),
        Box::new(AtLeast),
        Box::new(AtMost),
        Box::new(Capitalize),
        Box::new(Ceil),
        Box::new(Compact),
        Box::new(Concat),
        Box::new(Date),
        Box::new(Default),
        Box::new(DividedBy),
        Box::new(Downcase),
        Box::new(Escape),
        Box::new(EscapeOnce),
        Box::new(First),
        Box::new(Floor),
        Box::new(Last),
        Box::new(Lstrip),
        Box::new(Map),
        Box::new(Minus),
        Box::new(Modulo),
        Box::new(NewlineToBr),
        Box::new(Plus),
        Box::new(Prepend),
        Box::new(Remove),
        Box::new(RemoveFirst),
        Box::new(Replace),
        Box::new(ReplaceFirst),
        Box::new(Reverse),
        Box::new(Round),
        Box::new(Rstrip),
        Box::new(Size),
        Box::new(Slice),
        Box::new(Sort),
        Box::new(SortNatural),
        Box::new(Split),
        Box::new(Strip),
        Box::new(StripHtml),
        Box::new(StripNewlines),
        Box::new(Times),
        Box::new(Truncate),
        Box::new(TruncateWords),
        Box::new(Uniq),
        Box::new(Upcase),
        Box::new(UrlDecode),
        Box::new(UrlEncode),
        Box::new(Where),
    ]
}

/// A filter herald does not know: the input passes through unchanged.
pub fn pass_through(name: &'static str) -> Simple {
    Simple::new(name, str::to_string)
}

/// Jekyll's URL filters: a path joined to a base; an absolute URL is kept.
fn join(base: &str, path: &str) -> String {
    if path.contains("://") || path.starts_with("//") {
        return path.to_string();
    }
    let path = path.trim();
    if path.is_empty() {
        return format!("{base}/");
    }
    format!("{base}/{}", path.trim_start_matches('/'))
}

fn escape_uri(text: &str, component: bool) -> String {
    let keep = |b: u8| {
        b.is_ascii_alphanumeric()
            || b"-_.~".contains(&b)
            || (!component && b"/:?#[]@!$&'()*+,;=".contains(&b))
    };
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if keep(b) {
            out.push(b as char);
        } else if component && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Formats a date written as text; text that is no date passes through.
fn date(text: &str, format: &str) -> String {
    match crate::post::date::parse(text, chrono_tz::UTC) {
        Some(date) => date.format(format).to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_filters_join_like_jekyll() {
        assert_eq!(join("/blog", "/docs/x/"), "/blog/docs/x/");
        assert_eq!(
            join("https://e.org/blog", "docs"),
            "https://e.org/blog/docs"
        );
        assert_eq!(join("/blog", "https://other.org/x"), "https://other.org/x");
    }

    #[test]
    fn uri_escapes() {
        assert_eq!(escape_uri("example :page", false), "example%20:page");
        assert_eq!(escape_uri("a b&c", true), "a+b%26c");
    }

    #[test]
    fn dates_format_and_non_dates_pass() {
        assert_eq!(date("2024-01-05 10:00:00 +0200", "%d %b %Y"), "05 Jan 2024");
        assert_eq!(date("soon", "%d %b %Y"), "soon");
    }
}
