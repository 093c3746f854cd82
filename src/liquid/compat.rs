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
    let body = &*without_baseurl_before_links(body);
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some(start) = next_markup(rest) {
        // An output is read whole, as Liquid reads it: a `{%` inside its
        // string (`{{ "{% endhighlight " }}%}`) opens no tag.
        if rest[start..].starts_with("{{") {
            let end = rest[start + 2..]
                .find("}}")
                .map_or(rest.len(), |len| start + 2 + len + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        // `%}` is looked for after the `{%`: in `{%}` the two overlap.
        let Some(len) = rest[start + 2..].find("%}") else {
            break;
        };
        let tag = &rest[start..start + len + 4];
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
            // Ruby's Liquid ignores words after an end tag
            // (`{% endhighlight Vim Script %}`); liquid-rust refuses them.
            _ if name.starts_with("end") && !args.trim().is_empty() => {
                out.push_str(&tag[..tag.find(name).unwrap_or(2) + name.len()]);
                out.push_str(if tag.ends_with("-%}") { " -%}" } else { " %}" });
            }
            _ if PATH_TAGS.contains(&name) && needs_quotes(args) => {
                let (path, params) = split_path(args.trim());
                let quote = if path.contains('"') { '\'' } else { '"' };
                let open = &tag[..tag.find(name).unwrap_or(2) + name.len()];
                let close = if tag.ends_with("-%}") { " -%}" } else { " %}" };
                out.push_str(open);
                out.push(' ');
                out.push(quote);
                out.push_str(path);
                out.push(quote);
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

/// Tags the parser knows, and the words inside their blocks: any other
/// tag is a plugin herald leaves out, whatever its arguments.
const KNOWN_TAGS: &[&str] = &[
    "assign",
    "break",
    "capture",
    "case",
    "comment",
    "continue",
    "cycle",
    "decrement",
    "else",
    "elsif",
    "for",
    "gist",
    "highlight",
    "if",
    "ifchanged",
    "include",
    "increment",
    "link",
    "post_url",
    "raw",
    "render",
    "tablerow",
    "unless",
    "when",
];

/// The tag Liquid could not parse (the one `message` places the error in,
/// or one before it whose arguments leave a quote open), when its name is
/// no tag herald knows: its arguments dropped, so that the next parse
/// meets an unknown tag and leaves it out, as any other plugin tag is.
/// Liquid's grammar refused arguments such as Octopress's
/// `{% img /images/x.png %}` before it looked the name up, and the post
/// was refused with "expected Value, Range". Returns the text with it
/// replaced; line breaks inside the tag stay, so line numbers stay true.
pub fn unknown_tag_arguments(text: &str, message: &str) -> Option<String> {
    let at = error_offset(text, message)?.min(text.len());
    let mut search = 0;
    while search < at {
        let Some(found) = text[search..at].find("{%") else {
            break;
        };
        let open = search + found;
        let close = open + 2 + text[open + 2..].find("%}")?;
        search = close + 2;
        let inner = &text[open + 2..close];
        let name = inner
            .trim_start_matches('-')
            .trim_start()
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        let known = name.is_empty() || KNOWN_TAGS.contains(&name) || name.starts_with("end");
        // A quote the arguments leave open (`author of Java's core`) runs
        // the tag on past its `%}` for Liquid, which fails further on.
        let unclosed = |quote: char| inner.matches(quote).count() % 2 == 1;
        if known || (search < at && !unclosed('\'') && !unclosed('"')) {
            continue;
        }
        let lines = "\n".repeat(inner.matches('\n').count());
        let dash = |yes: bool| if yes { "-" } else { "" };
        let tag = format!(
            "{{%{} {name} {}{lines}%}}",
            dash(inner.starts_with('-')),
            dash(inner.ends_with('-'))
        );
        return Some(format!("{}{tag}{}", &text[..open], &text[search..]));
    }
    None
}

/// The byte offset in `text` of the place liquid's error `message` points
/// at (`--> line:column`).
fn error_offset(text: &str, message: &str) -> Option<usize> {
    let position = message
        .lines()
        .find_map(|line| line.split_once("--> ").map(|(_, at)| at))?;
    let (line, column) = position.trim().split_once(':')?;
    let (line, column): (usize, usize) = (line.parse().ok()?, column.parse().ok()?);
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let line_text = text[line_start..].split('\n').next()?;
    Some(
        line_start
            + line_text
                .char_indices()
                .nth(column.checked_sub(1)?)
                .map_or(line_text.len(), |(i, _)| i),
    )
}

/// An output Liquid could not parse, where `message` (liquid's error,
/// `--> line:column`) places it, read as Ruby Liquid's lax mode (Jekyll's
/// default) reads it: its first value alone, so `{{ User Input }}` is
/// `{{ User }}`, nothing at all when that is all it was. Returns the text
/// with it replaced, the output as written and what it is read as.
pub fn lax_output(text: &str, message: &str) -> Option<(String, String, String)> {
    let at = error_offset(text, message)?;
    let open = text[..at].rfind("{{")?;
    let close = open + 2 + text[open + 2..].find("}}")?;
    if close < at {
        return None;
    }
    let written = &text[open..close + 2];
    let inner = &text[open + 2..close];
    let (trim_left, trim_right) = (inner.starts_with('-'), inner.ends_with('-'));
    let expression = inner.trim_matches('-').trim();
    let first = first_fragment(expression);
    let read_as = if first.is_empty() || first == expression {
        String::new()
    } else {
        format!(
            "{{{{{} {first} {}}}}}",
            if trim_left { "-" } else { "" },
            if trim_right { "-" } else { "" }
        )
    };
    let fixed = format!("{}{read_as}{}", &text[..open], &text[close + 2..]);
    Some((fixed, written.to_string(), read_as))
}

/// Ruby Liquid's `QuotedFragment` at the start of `expression`: a quoted
/// string, or a run up to a space, comma or `|` (quoted strings inside
/// it included).
fn first_fragment(expression: &str) -> &str {
    let mut quote = None;
    for (i, c) in expression.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() || c == ',' || c == '|' => return &expression[..i],
            _ => {}
        }
    }
    expression
}

/// Where the first `{%` or `{{` in `text` starts.
fn next_markup(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'{', bytes).find(|&at| matches!(bytes.get(at + 1), Some(b'%' | b'{')))
}

/// `{{ site.baseurl }}{% post_url x %}` is how Jekyll 3 (GitHub Pages)
/// wants it written; Jekyll 4's tags include the baseurl themselves. Both
/// mean the post, so the baseurl output right before `post_url` or `link`
/// is dropped and the tag's own path (baseurl included) stands.
fn without_baseurl_before_links(body: &str) -> Cow<'_, str> {
    if !body.contains("baseurl") {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let output = &rest[start..start + len + 2];
        let inner =
            output[2..output.len() - 2].trim_matches(|c: char| c == '-' || c.is_whitespace());
        let after = &rest[start + output.len()..];
        let before_link = ["post_url", "link"].iter().any(|tag| {
            after
                .strip_prefix("{%")
                .map(|t| t.trim_start_matches(|c: char| c == '-' || c.is_whitespace()))
                .and_then(|t| t.strip_prefix(tag))
                .is_some_and(|t| t.starts_with(char::is_whitespace))
        });
        out.push_str(&rest[..start]);
        if !(inner == "site.baseurl" && before_link) {
            out.push_str(output);
        }
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whitespace that Liquid's grammar reads once per character of its run
/// (before each character it looks ahead across the rest of the run for a
/// `{%-`), making parse time quadratic: 20,000 spaces took seconds. A run
/// outside tags is cut every [`RUN`] characters by `marker`, a character
/// the text does not contain, which the caller removes from the output.
/// A run that a `-%}` or `{%-` trims is left whole: the marker would stop
/// the trim, and the grammar reads such a run only once anyway.
pub fn break_whitespace_runs(text: &str, marker: char) -> String {
    const RUN: usize = 32;
    let is_space = |b: u8| matches!(b, b' ' | b'\n' | b'\r');
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / RUN);
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("{%") || text[i..].starts_with("{{") {
            let close = if bytes[i + 1] == b'%' { "%}" } else { "}}" };
            let end = text[i + 2..].find(close).map_or(text.len(), |n| i + n + 4);
            out.push_str(&text[i..end]);
            i = end;
        } else if is_space(bytes[i]) {
            let end = (i..bytes.len())
                .find(|&j| !is_space(bytes[j]))
                .unwrap_or(bytes.len());
            let run = &text[i..end];
            let trimmed = out.ends_with("-%}")
                || out.ends_with("-}}")
                || text[end..].starts_with("{%-")
                || text[end..].starts_with("{{-");
            if run.len() > RUN && !trimmed {
                for (n, chunk) in run.as_bytes().chunks(RUN).enumerate() {
                    if n > 0 {
                        out.push(marker);
                    }
                    // Spaces, CR and LF are ASCII: every chunk is valid UTF-8.
                    out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                }
            } else {
                out.push_str(run);
            }
            i = end;
        } else {
            let end = (i + 1..bytes.len())
                .find(|&j| is_space(bytes[j]) || bytes[j] == b'{')
                .unwrap_or(bytes.len());
            out.push_str(&text[i..end]);
            i = end;
        }
    }
    out
}

/// A character `text` does not contain, from Unicode's noncharacters (set
/// aside for a program's internal use), if one is free.
pub fn unused_marker(text: &str) -> Option<char> {
    ('\u{FDD0}'..='\u{FDEF}').find(|&c| !text.contains(c))
}

/// A bare path (not already quoted, not a variable), or a name built with
/// `{{ }}` (`{{ page.kind }}.html`), which the tag renders.
fn needs_quotes(args: &str) -> bool {
    let first = args.split_whitespace().next().unwrap_or("");
    !first.is_empty()
        && !first.starts_with(['"', '\''])
        && (first.contains("{{")
            || first
                .chars()
                .any(|c| !(c.is_alphanumeric() || c == '_' || c == '.')))
}

/// The path argument and the parameters after it. A `{{ ... }}` in the
/// path may hold spaces.
fn split_path(args: &str) -> (&str, &str) {
    let mut end = 0;
    loop {
        let rest = &args[end..];
        let space = rest.find(char::is_whitespace).unwrap_or(rest.len());
        match rest.find("{{") {
            Some(open) if open < space => match rest[open..].find("}}") {
                Some(close) => end += open + close + 2,
                None => return (args, ""),
            },
            _ => {
                end += space;
                return (&args[..end], args[end..].trim());
            }
        }
    }
}

/// Bytes of `text` up to the end of the first `{% end... %}` tag, or all of it.
fn skip_to_end(text: &str, end: &str) -> usize {
    let mut offset = 0;
    while let Some(start) = text[offset..].find("{%") {
        let at = offset + start;
        let Some(len) = text[at + 2..].find("%}") else {
            break;
        };
        let inner =
            text[at + 2..at + 2 + len].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if inner == end {
            return at;
        }
        offset = at + len + 4;
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
    fn names_built_with_output_tags_are_quoted_whole() {
        assert_eq!(
            quote_path_arguments("{% include {{ page.kind }}.html a=1 %}"),
            "{% include \"{{ page.kind }}.html\" a=1 %}"
        );
        assert_eq!(
            quote_path_arguments("{% include {{ \"x\" | append: \".html\" }} %}"),
            "{% include '{{ \"x\" | append: \".html\" }}' %}"
        );
    }

    #[test]
    fn the_baseurl_before_post_url_and_link_is_left_to_the_tag() {
        assert_eq!(
            quote_path_arguments(
                "[a]({{ site.baseurl }}{% post_url 2020-01-02-x %}) {{site.baseurl}}{%- link a.md -%} {{ site.baseurl }}/x {{ site.baseurl }}{% linkx %}"
            ),
            "[a]({% post_url \"2020-01-02-x\" %}) {%- link a.md -%} {{ site.baseurl }}/x {{ site.baseurl }}{% linkx %}"
        );
    }

    #[test]
    fn words_after_an_end_tag_are_dropped_as_ruby_liquid_ignores_them() {
        assert_eq!(
            quote_path_arguments(
                "{% highlight vim %}x{% endhighlight Vim Script %}{%- endif x -%}"
            ),
            "{% highlight vim %}x{% endhighlight %}{%- endif -%}"
        );
    }

    #[test]
    fn long_whitespace_runs_are_cut_outside_tags_only() {
        let text = format!(
            "a{}b{{{{ x{}}}}}c {}{{%- if %}}",
            " ".repeat(70),
            " ".repeat(70),
            "\n".repeat(70)
        );
        let marked = break_whitespace_runs(&text, '#');
        assert_eq!(marked.matches('#').count(), 2, "{marked}");
        assert_eq!(marked.replace('#', ""), text);
        assert_eq!(unused_marker("plain"), Some('\u{FDD0}'));
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
            "{% if a-b %}",
        ] {
            assert_eq!(quote_path_arguments(text), text);
        }
    }
}
