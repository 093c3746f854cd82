//! Post URLs from Jekyll-style permalink patterns (`/:year/:month/:day/:slug/`)
//! and the built-in styles (`date`, `pretty`, `ordinal`, `none`).

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

/// What a permalink pattern can refer to.
pub struct Parts<'a> {
    pub date: DateTime<FixedOffset>,
    /// The file name's slug (Jekyll's `:title` source), e.g. `scipy-mission`.
    pub file_slug: &'a str,
    /// Front matter `slug`, if any.
    pub slug: Option<&'a str>,
    pub categories: &'a [String],
}

/// Expands a pattern or built-in style into a site-relative path starting with `/`.
pub fn expand(pattern: &str, parts: &Parts<'_>) -> String {
    let pattern = match pattern {
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext",
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext",
        "none" => "/:categories/:title:output_ext",
        other => other,
    };
    let date = parts.date;
    let title = parts
        .slug
        .map(|s| slugify(s, Mode::Pretty))
        .unwrap_or_else(|| slugify(parts.file_slug, Mode::Pretty));
    let slug = parts
        .slug
        .map(|s| slugify(s, Mode::Default))
        .unwrap_or_else(|| slugify(parts.file_slug, Mode::Default));
    let categories = categories_path(parts.categories);
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(i) = rest.find(':') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let token_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let token = &after[..token_len];
        let value = match token {
            "year" => Some(format!("{:04}", date.year())),
            "short_year" => Some(format!("{:02}", date.year() % 100)),
            "month" => Some(format!("{:02}", date.month())),
            "i_month" => Some(date.month().to_string()),
            "short_month" => Some(date.format("%b").to_string()),
            "long_month" => Some(date.format("%B").to_string()),
            "day" => Some(format!("{:02}", date.day())),
            "i_day" => Some(date.day().to_string()),
            "y_day" => Some(format!("{:03}", date.ordinal())),
            "week" => Some(format!("{:02}", date.iso_week().week())),
            "short_day" => Some(date.format("%a").to_string()),
            "long_day" => Some(date.format("%A").to_string()),
            "hour" => Some(format!("{:02}", date.hour())),
            "minute" => Some(format!("{:02}", date.minute())),
            "second" => Some(format!("{:02}", date.second())),
            "title" => Some(title.clone()),
            "slug" => Some(slug.clone()),
            "name" => Some(slug.clone()),
            "categories" => Some(categories.clone()),
            "output_ext" => Some(".html".to_string()),
            _ => None,
        };
        match value {
            Some(value) => {
                out.push_str(&value);
                rest = &after[token_len..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    clean(&out)
}

fn categories_path(categories: &[String]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for category in categories {
        let lower = category.to_lowercase();
        if !seen.contains(&lower) {
            seen.push(lower);
        }
    }
    seen.join("/")
}

/// Collapses the `//` left by empty tokens, makes sure the path starts with
/// `/`, and percent-encodes what a URL path cannot hold (spaces, non-ASCII)
/// as Jekyll does.
fn clean(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    for ch in path.chars() {
        if ch == '/' && out.ends_with('/') {
            continue;
        }
        let allowed = ch.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(ch);
        if allowed {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for byte in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lower case; anything but letters and digits becomes `-`.
    Default,
    /// Keeps case and the URL-safe punctuation Jekyll's "pretty" mode keeps.
    Pretty,
}

/// Jekyll's `slugify`.
pub fn slugify(text: &str, mode: Mode) -> String {
    let keep = |c: char| match mode {
        Mode::Default => c.is_alphanumeric(),
        // Jekyll's posts keep `_` in `:title` too (checked against Jekyll 4.3).
        Mode::Pretty => c.is_alphanumeric() || "._~!$&'()+,;=@".contains(c) || c == '_',
    };
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if keep(c) {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    match mode {
        Mode::Default => out.to_lowercase(),
        // Jekyll drops dots at the ends too (`dots...md` is `/dots/`).
        Mode::Pretty => out.trim_matches('.').to_string(),
    }
}

/// The longest slug used as a folder name, in bytes. File systems allow 255
/// bytes per name; this leaves room for a `-2` suffix and percent-encoding
/// stays readable in URLs.
pub const MAX_NAME_BYTES: usize = 120;

/// A slug that fits in a file name: a longer one is cut at a character
/// boundary and given a short hash of the whole, so two long names that
/// share a beginning stay apart, and the same name always gives the same folder.
pub fn fit_file_name(slug: &str) -> String {
    if slug.len() <= MAX_NAME_BYTES {
        return slug.to_string();
    }
    let mut end = MAX_NAME_BYTES - 9;
    while !slug.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}-{:08x}",
        slug[..end].trim_end_matches('-'),
        fnv1a(slug) as u32
    )
}

/// FNV-1a: stable across Rust versions and platforms, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(categories: &'a [String]) -> Parts<'a> {
        Parts {
            date: chrono::DateTime::parse_from_rfc3339("2015-07-03T09:05:07-07:00").unwrap(),
            file_slug: "Some Title!",
            slug: None,
            categories,
        }
    }

    #[test]
    fn the_default_pattern_uses_date_and_slug() {
        assert_eq!(
            expand("/:year/:month/:day/:slug/", &parts(&[])),
            "/2015/07/03/some-title/"
        );
    }

    #[test]
    fn built_in_styles_match_jekyll() {
        let cats = vec!["Release".to_string()];
        assert_eq!(
            expand("date", &parts(&cats)),
            "/release/2015/07/03/Some-Title!.html"
        );
        assert_eq!(expand("pretty", &parts(&[])), "/2015/07/03/Some-Title!/");
        assert_eq!(expand("none", &parts(&[])), "/Some-Title!.html");
        assert_eq!(expand("ordinal", &parts(&[])), "/2015/184/Some-Title!.html");
    }

    #[test]
    fn integer_and_time_tokens() {
        assert_eq!(
            expand(
                "/:short_year/:i_month/:i_day/:hour:minute:second/",
                &parts(&[])
            ),
            "/15/7/3/090507/"
        );
    }

    #[test]
    fn slugify_modes() {
        assert_eq!(
            slugify("Jekyll 1.0.0 Released", Mode::Default),
            "jekyll-1-0-0-released"
        );
        assert_eq!(
            slugify("jekyll-1-0-0-released", Mode::Pretty),
            "jekyll-1-0-0-released"
        );
        assert_eq!(slugify("Hello, World", Mode::Pretty), "Hello,-World");
    }

    #[test]
    fn long_slugs_are_cut_to_fit_a_file_name_with_a_stable_hash() {
        let long = "漢".repeat(87);
        let fitted = fit_file_name(&long);
        assert!(fitted.len() <= MAX_NAME_BYTES, "{}", fitted.len());
        assert_eq!(fitted, fit_file_name(&long));
        assert_ne!(fitted, fit_file_name(&format!("{long}字")));
        assert_eq!(fit_file_name("short"), "short");
    }
}
