//! Jekyll writes some tag arguments as bare paths (`{% link _docs/x.md %}`,
//! `{% post_url 2013-05-06-name %}`, `{% include my-logo@2x.svg %}`), which
//! Liquid's expression grammar cannot read. Before parsing, such an argument
//! is put in quotes, making it the string literal Jekyll meant. Text inside
//! `{% raw %}` and `{% comment %}` is left exactly as written. Only quotes
//! are added, never lines, so line numbers stay true.

use std::borrow::Cow;

/// Tags whose first argument is a path or name, not an expression.
const PATH_TAGS: &[&str] = &["link", "post_url", "gist", "include", "include_relative"];

pub fn quote_path_arguments(body: &str) -> Cow<'_, str> {
    if !body.contains("{%") {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some(start) = rest.find("{%") {
        let Some(len) = rest[start..].find("%}") else {
            break;
        };
        let tag = &rest[start..start + len + 2];
        out.push_str(&rest[..start]);
        rest = &rest[start + tag.len()..];
        let inner = tag[2..tag.len() - 2].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        match name {
            "raw" | "comment" => {
                out.push_str(tag);
                let end = format!("end{name}");
                let skipped = skip_to_end(rest, &end);
                out.push_str(&rest[..skipped]);
                rest = &rest[skipped..];
            }
            _ if PATH_TAGS.contains(&name) && needs_quotes(args) => {
                let args = args.trim();
                let (path, params) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                let open = &tag[..tag.find(name).unwrap_or(2) + name.len()];
                let close = if tag.ends_with("-%}") { " -%}" } else { " %}" };
                out.push_str(open);
                out.push_str(" \"");
                out.push_str(path);
                out.push('"');
                if !params.is_empty() {
                    out.push(' ');
                    out.push_str(params.trim());
                }
                out.push_str(close);
            }
            _ => out.push_str(tag),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A bare path: not already quoted, not a variable or a `{{ }}` expression.
fn needs_quotes(args: &str) -> bool {
    let first = args.split_whitespace().next().unwrap_or("");
    !first.is_empty()
        && !first.starts_with(['"', '\''])
        && !first.contains("{{")
        && first
            .chars()
            .any(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
}

/// Bytes of `text` up to the end of the first `{% end... %}` tag, or all of it.
fn skip_to_end(text: &str, end: &str) -> usize {
    let mut offset = 0;
    while let Some(start) = text[offset..].find("{%") {
        let at = offset + start;
        let Some(len) = text[at..].find("%}") else {
            break;
        };
        let inner = text[at + 2..at + len].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if inner == end {
            return at;
        }
        offset = at + len + 2;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_paths_are_quoted() {
        assert_eq!(
            quote_path_arguments("see ({% link _docs/history.md %}#v3)"),
            "see ({% link \"_docs/history.md\" %}#v3)"
        );
        assert_eq!(
            quote_path_arguments("{% post_url 2013-05-06-jekyll-1-0-0-released %}"),
            "{% post_url \"2013-05-06-jekyll-1-0-0-released\" %}"
        );
        assert_eq!(
            quote_path_arguments("{%- include my-logo@2x.svg alt=\"x\" -%}"),
            "{%- include \"my-logo@2x.svg\" alt=\"x\" -%}"
        );
    }

    #[test]
    fn raw_and_comment_text_is_untouched() {
        let text = "{% raw %}{% link _x/y.md %}{{ a }}{% endraw %} {% comment %}{% link a/b %}{% endcomment %}";
        assert_eq!(quote_path_arguments(text), text);
    }

    #[test]
    fn quoted_and_variable_arguments_are_left_alone() {
        for text in [
            "{% include \"a-b.html\" %}",
            "{% include footer.html %}",
            "{% link {{ page.x }} %}",
            "{% if a-b %}",
        ] {
            assert_eq!(quote_path_arguments(text), text);
        }
    }
}
