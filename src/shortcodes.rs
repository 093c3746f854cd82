//! Hugo and Zola shortcodes, rendered before Markdown so none reaches a
//! reader raw: Hugo's `{{< name args >}}` and `{{% name args %}}` (paired
//! with `{{< /name >}}` or not), Zola's `{{ name(args) }}` and
//! `{% name(args) %}...{% end %}`, and Zola's `@/path.md` internal links.
//!
//! The common built-in ones are rendered as their generator renders them:
//! `figure`, `youtube`, `vimeo`, `gist`, `highlight`, `ref`/`relref`,
//! `x`/`tweet`, `instagram`. Any other shortcode is left out, its inner
//! text kept, with a warning naming the file and line. Hugo's escaped form
//! `{{</* name */>}}` (used to show a shortcode) becomes the literal text.

use std::collections::HashMap;
use std::path::Path;

use crate::error::Problem;
use crate::html::escape;
use crate::post::Post;

/// Which generator's syntax a blog's posts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    Hugo,
    Zola,
}

impl Generator {
    /// A Hugo or Zola project holding the posts folder: its config file in
    /// the folder or one of its parents.
    pub fn detect(posts_dir: &Path) -> Option<Generator> {
        let absolute = std::path::absolute(posts_dir).ok()?;
        for dir in absolute.ancestors().take(4) {
            for name in ["hugo.toml", "hugo.yaml", "hugo.json"] {
                if dir.join(name).is_file() {
                    return Some(Generator::Hugo);
                }
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("config.toml")) {
                if text.contains("baseURL") {
                    return Some(Generator::Hugo);
                }
                if text.contains("base_url") {
                    return Some(Generator::Zola);
                }
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("zola.toml"))
                && text.contains("base_url")
            {
                return Some(Generator::Zola);
            }
        }
        None
    }
}

/// Whether `body` looks up other posts' URLs: a `ref` or `relref`
/// shortcode, or a Zola `@/` link.
pub fn links_to_posts(body: &str) -> bool {
    let shortcode = |open: &str| {
        body.match_indices(open).any(|(at, _)| {
            let name = body[at + open.len()..]
                .trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            name == "ref" || name == "relref"
        })
    };
    body.contains("@/") || shortcode("{{<") || shortcode("{{%")
}

/// Post URLs by source path, for `ref`, `relref` and `@/` links.
#[derive(Debug, Default)]
pub struct Targets {
    posts: Vec<(String, String)>,
}

impl Targets {
    pub fn new(posts: &[Post]) -> Targets {
        Targets {
            posts: posts
                .iter()
                .map(|p| (p.path.to_string_lossy().replace('\\', "/"), p.url.clone()))
                .collect(),
        }
    }

    /// The post a reference names: by path (`posts/x.md`, `/blog/x.md`),
    /// by a page bundle's folder, or by file name.
    fn find(&self, reference: &str) -> Option<&str> {
        let reference = reference.trim().trim_start_matches('/');
        let reference = reference.split('#').next().unwrap_or(reference);
        let stem = reference.trim_end_matches(".md");
        let found = self.posts.iter().find(|(path, _)| {
            let without = path.trim_end_matches(".md");
            without.ends_with(&format!("/{stem}"))
                || without == stem
                || without.ends_with(&format!("/{stem}/index"))
                || without.ends_with(&format!("/{stem}/_index"))
        });
        found.map(|(_, url)| url.as_str())
    }
}

/// A post's body with its shortcodes rendered, and warnings for the rest.
pub struct Rendered {
    pub text: String,
    pub warnings: Vec<Problem>,
}

pub fn render(post: &Post, body: &str, generator: Generator, targets: &Targets) -> Rendered {
    let mut renderer = Renderer {
        post,
        targets,
        warnings: Vec::new(),
    };
    let text = match generator {
        Generator::Hugo => renderer.hugo(body),
        // Links first: they keep the lines, so warnings name the right ones.
        Generator::Zola => {
            let text = renderer.zola_links(body);
            renderer.zola(&text)
        }
    };
    Rendered {
        text,
        warnings: renderer.warnings,
    }
}

struct Renderer<'a> {
    post: &'a Post,
    targets: &'a Targets,
    warnings: Vec<Problem>,
}

/// A shortcode's arguments: positional ones in order, and named ones.
#[derive(Debug, Default)]
struct Arguments {
    positional: Vec<String>,
    named: HashMap<String, String>,
}

impl Arguments {
    /// `"a b" c key="v" n=1` (Hugo) or `key="v", n=1` (Zola).
    fn parse(text: &str) -> Arguments {
        let mut arguments = Arguments::default();
        let mut rest = text.trim();
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', '\t', '\n', ',']);
            let key_end = rest.find(|c: char| {
                c == '=' || c.is_whitespace() || c == ',' || c == '"' || c == '\'' || c == '`'
            });
            let key = match key_end {
                Some(end) if rest[end..].starts_with('=') => {
                    let key = rest[..end].to_string();
                    rest = &rest[end + 1..];
                    Some(key)
                }
                _ => None,
            };
            let (value, after) = take_value(rest);
            rest = after;
            match key {
                Some(key) => {
                    arguments.named.insert(key, value);
                }
                None if !value.is_empty() => arguments.positional.push(value),
                None => break,
            }
        }
        arguments
    }

    fn get(&self, name: &str, position: usize) -> Option<&str> {
        self.named
            .get(name)
            .or_else(|| self.positional.get(position))
            .map(String::as_str)
    }
}

/// One value: quoted with `"`, `'` or `` ` ``, or bare up to a space or comma.
fn take_value(text: &str) -> (String, &str) {
    let text = text.trim_start();
    match text.chars().next() {
        Some(quote @ ('"' | '\'' | '`')) => {
            let body = &text[1..];
            match body.find(quote) {
                Some(end) => (body[..end].to_string(), &body[end + 1..]),
                None => (body.to_string(), ""),
            }
        }
        Some(_) => {
            let end = text
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(text.len());
            (text[..end].to_string(), &text[end..])
        }
        None => (String::new(), ""),
    }
}

impl Renderer<'_> {
    fn warn(&mut self, at: &str, whole: &str, message: String) {
        let offset = whole.len() - at.len();
        let line = self.post.body_line + whole[..offset].matches('\n').count();
        self.warnings
            .push(Problem::new(&self.post.path, Some(line), message));
    }

    /// Hugo: `{{< ... >}}` and `{{% ... %}}`, paired or not.
    fn hugo(&mut self, body: &str) -> String {
        let mut out = String::with_capacity(body.len());
        let mut rest = body;
        while let Some((start, open, close)) = next_hugo(rest) {
            out.push_str(&rest[..start]);
            let after_open = &rest[start + open.len()..];
            let Some(end) = after_open.find(close) else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let inside = after_open[..end].trim();
            let after = &after_open[end + close.len()..];
            // `{{</* x */>}}` shows a shortcode instead of running it.
            if let Some(shown) = inside.strip_prefix("/*").and_then(|s| s.strip_suffix("*/")) {
                out.push_str(&format!("{}{}{}", open, shown, close));
                rest = after;
                continue;
            }
            let (name, args) = inside
                .split_once(char::is_whitespace)
                .unwrap_or((inside, ""));
            let inner = find_closing(after, open, close, name);
            let (inner, after) = match inner {
                Some((inner_end, closing_len)) => {
                    (Some(&after[..inner_end]), &after[inner_end + closing_len..])
                }
                None => (None, after),
            };
            let inner = inner.map(|text| self.hugo(text));
            let html = self.builtin(
                name,
                &Arguments::parse(args),
                inner.as_deref(),
                &rest[start..],
                body,
            );
            out.push_str(&html);
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// A built-in shortcode; an unknown one keeps its inner text, with a warning.
    fn builtin(
        &mut self,
        name: &str,
        args: &Arguments,
        inner: Option<&str>,
        at: &str,
        whole: &str,
    ) -> String {
        match name {
            "figure" => figure(args),
            "youtube" => match args.get("id", 0) {
                Some(id) => embed(
                    &format!("https://www.youtube.com/embed/{id}"),
                    args.get("title", 99).unwrap_or("YouTube video"),
                ),
                None => String::new(),
            },
            "vimeo" => match args.get("id", 0) {
                Some(id) => embed(
                    &format!("https://player.vimeo.com/video/{id}"),
                    args.get("title", 99).unwrap_or("Vimeo video"),
                ),
                None => String::new(),
            },
            "gist" => {
                let url = match (
                    args.get("url", 99),
                    args.positional.first(),
                    args.positional.get(1),
                ) {
                    (Some(url), _, _) => url.to_string(),
                    (None, Some(user), Some(id)) => format!("https://gist.github.com/{user}/{id}"),
                    _ => String::new(),
                };
                link(&url)
            }
            "x" | "tweet" | "twitter" => {
                let user = args.get("user", 0).unwrap_or("x");
                match args.get("id", 1) {
                    Some(id) => link(&format!("https://x.com/{user}/status/{id}")),
                    None => String::new(),
                }
            }
            "instagram" => args
                .get("id", 0)
                .map(|id| link(&format!("https://www.instagram.com/p/{id}/")))
                .unwrap_or_default(),
            "highlight" => {
                let language = args.get("lang", 0).unwrap_or("");
                code_block(language, inner.unwrap_or(""))
            }
            "ref" | "relref" => {
                let target = args.get("path", 0).unwrap_or("");
                let anchor = target.split_once('#').map(|(_, a)| a).unwrap_or("");
                match self.targets.find(target) {
                    Some(url) if anchor.is_empty() => url.to_string(),
                    Some(url) => format!("{url}#{anchor}"),
                    None => {
                        self.warn(
                            at,
                            whole,
                            format!(
                                "shortcode `{name}`: no post at {target:?}; the link is left out"
                            ),
                        );
                        String::new()
                    }
                }
            }
            _ => {
                self.warn(
                    at,
                    whole,
                    format!(
                        "shortcode `{name}` is not one herald renders; it is left out{}",
                        if inner.is_some() {
                            ", its inner text kept"
                        } else {
                            ""
                        }
                    ),
                );
                inner.unwrap_or_default().to_string()
            }
        }
    }

    /// Zola: `{{ name(args) }}` and `{% name(args) %}body{% end %}`.
    fn zola(&mut self, body: &str) -> String {
        let mut out = String::with_capacity(body.len());
        let mut rest = body;
        loop {
            let next = [("{{", "}}"), ("{%", "%}")]
                .into_iter()
                .filter_map(|(open, close)| Some((rest.find(open)?, open, close)))
                .min_by_key(|(at, _, _)| *at);
            let Some((start, open, close)) = next else {
                break;
            };
            let after_open = &rest[start + 2..];
            let Some(end) = after_open.find(close) else {
                break;
            };
            let inside = after_open[..end].trim();
            let call = zola_call(inside);
            let Some((name, args)) = call else {
                out.push_str(&rest[..start + 2]);
                rest = after_open;
                continue;
            };
            out.push_str(&rest[..start]);
            let mut after = &after_open[end + 2..];
            let mut inner = None;
            if open == "{%"
                && let Some((body_end, end_len)) = find_zola_end(after)
            {
                inner = Some(self.zola(&after[..body_end]));
                after = &after[body_end + end_len..];
            }
            let at = &rest[start..];
            let html = self.builtin(name, &Arguments::parse(args), inner.as_deref(), at, body);
            out.push_str(&html);
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// `[text](@/blog/post.md)`: the post's URL.
    fn zola_links(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("(@/") {
            out.push_str(&rest[..at + 1]);
            let target_end = rest[at + 1..].find(')').map_or(rest.len(), |e| at + 1 + e);
            let target = &rest[at + 3..target_end];
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            match self.targets.find(path) {
                Some(url) if anchor.is_empty() => out.push_str(url),
                Some(url) => out.push_str(&format!("{url}#{anchor}")),
                None => {
                    let line = self.post.body_line
                        + text[..text.len() - rest.len() + at].matches('\n').count();
                    self.warnings.push(Problem::new(
                        &self.post.path,
                        Some(line),
                        format!(
                            "internal link @/{target}: no such post; it points to the post itself"
                        ),
                    ));
                    out.push_str(&format!("#{anchor}"));
                }
            }
            rest = &rest[target_end..];
        }
        out.push_str(rest);
        out
    }
}

/// The next Hugo shortcode opening: its offset and delimiters.
fn next_hugo(text: &str) -> Option<(usize, &'static str, &'static str)> {
    [("{{<", ">}}"), ("{{%", "%}}")]
        .into_iter()
        .filter_map(|(open, close)| Some((text.find(open)?, open, close)))
        .min_by_key(|(at, _, _)| *at)
}

/// Where `{{< /name >}}` (any spacing) starts in `text`, and its length.
fn find_closing(text: &str, open: &str, close: &str, name: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    while let Some(at) = text[offset..].find(open) {
        let start = offset + at;
        let after = &text[start + open.len()..];
        let end = after.find(close)?;
        if after[..end].trim().strip_prefix('/').map(str::trim) == Some(name) {
            return Some((start, open.len() + end + close.len()));
        }
        offset = start + open.len();
    }
    None
}

/// `name(args)` inside Zola's delimiters.
fn zola_call(inside: &str) -> Option<(&str, &str)> {
    let (name, rest) = inside.split_once('(')?;
    let args = rest.trim_end().strip_suffix(')')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some((name, args))
}

/// Where Zola's `{% end %}` starts, and its length.
fn find_zola_end(text: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    while let Some(at) = text[offset..].find("{%") {
        let start = offset + at;
        let end = text[start..].find("%}")?;
        if text[start + 2..start + end].trim() == "end" {
            return Some((start, end + 2));
        }
        offset = start + 2;
    }
    None
}

/// Hugo's `figure`: an image with its caption, linked when asked.
fn figure(args: &Arguments) -> String {
    let src = args.get("src", 0).unwrap_or("");
    let alt = args
        .get("alt", 99)
        .or(args.get("caption", 99))
        .unwrap_or("");
    let mut image = format!("<img src=\"{}\" alt=\"{}\">", escape(src), escape(alt));
    if let Some(link) = args.get("link", 99) {
        image = format!("<a href=\"{}\">{image}</a>", escape(link));
    }
    let mut caption = String::new();
    if let Some(title) = args.get("title", 99) {
        caption.push_str(&format!("<h4>{}</h4>", escape(title)));
    }
    if let Some(text) = args.get("caption", 99) {
        caption.push_str(&format!("<p>{}</p>", escape(text)));
    }
    if !caption.is_empty() {
        caption = format!("<figcaption>{caption}</figcaption>");
    }
    format!("\n<figure>{image}{caption}</figure>\n")
}

/// A video player, as its generator embeds it (feeds turn it into a link).
fn embed(src: &str, title: &str) -> String {
    format!(
        "\n<iframe src=\"{}\" title=\"{}\" allowfullscreen></iframe>\n",
        escape(src),
        escape(title)
    )
}

fn link(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    format!("<a href=\"{0}\">{0}</a>", escape(url))
}

fn code_block(language: &str, code: &str) -> String {
    let class = if language.is_empty() {
        String::new()
    } else {
        format!(" class=\"language-{}\"", escape(language))
    };
    format!(
        "\n<pre><code{class}>{}</code></pre>\n",
        escape(code.trim_matches('\n'))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::post::Read;

    #[test]
    fn links_to_posts_finds_ref_shortcodes_and_zola_links() {
        for text in [
            "{{< ref \"post.md\" >}}",
            "{{% relref post.md %}}",
            "[b](@/blog/b.md)",
        ] {
            assert!(links_to_posts(text), "{text}");
        }
        for text in ["<a href=\"x\">refer</a>", "{{< figure src=ref.png >}}"] {
            assert!(!links_to_posts(text), "{text}");
        }
    }

    fn posts(files: &[(&str, &str)]) -> Vec<Post> {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\npermalink = \"/:slug/\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        files
            .iter()
            .map(
                |(path, text)| match Post::read(Path::new(path), text, &config) {
                    Read::Post(post) => post,
                    other => panic!("{other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn zola_shortcodes_and_internal_links_render() {
        let posts = posts(&[
            (
                "content/blog/2024-01-01-a.md",
                "+++\ntitle = \"A\"\n+++\nSee [b](@/blog/2024-01-02-b.md#part).\n\n{{ youtube(id=\"abc\", autoplay=true) }}\n\n{% note(kind=\"info\") %}\nKept *text*.\n{% end %}\n\n[gone](@/nope.md)\n",
            ),
            (
                "content/blog/2024-01-02-b.md",
                "+++\ntitle = \"B\"\n+++\nb\n",
            ),
        ]);
        let targets = Targets::new(&posts);
        let out = render(
            &posts[0],
            &posts[0].body().unwrap(),
            Generator::Zola,
            &targets,
        );
        assert!(
            out.text.contains("[b](https://e.org/b/#part)"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("<iframe src=\"https://www.youtube.com/embed/abc\""),
            "{}",
            out.text
        );
        assert!(out.text.contains("\nKept *text*.\n"), "{}", out.text);
        assert!(
            !out.text.contains("{%") && !out.text.contains("{{"),
            "{}",
            out.text
        );
        let mut lines: Vec<(Option<usize>, &str)> = out
            .warnings
            .iter()
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        lines.sort();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].0, Some(8), "{lines:?}");
        assert!(lines[0].1.contains("`note`"), "{lines:?}");
        assert_eq!(lines[1].0, Some(12), "{lines:?}");
    }

    #[test]
    fn hugo_shortcodes_unknown_ones_warn_and_escaped_ones_show() {
        let posts = posts(&[(
            "content/posts/2024-01-01-a.md",
            "---\ntitle: A\n---\n{{% notice tip %}}\nInner **text**.\n{{% /notice %}}\n\n`{{</* figure src=\"x\" */>}}`\n{{< figure src=\"/c.png\" link=\"/big.png\" >}}\n",
        )]);
        let out = render(
            &posts[0],
            &posts[0].body().unwrap(),
            Generator::Hugo,
            &Targets::new(&posts),
        );
        assert!(out.text.starts_with("\nInner **text**.\n"), "{}", out.text);
        assert!(
            out.text.contains("`{{< figure src=\"x\" >}}`"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("<a href=\"/big.png\"><img src=\"/c.png\" alt=\"\"></a>"),
            "{}",
            out.text
        );
        assert_eq!(out.warnings.len(), 1);
        assert_eq!(out.warnings[0].line, Some(4));
    }

    #[test]
    fn the_generator_is_found_from_its_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("content/posts");
        std::fs::create_dir_all(&posts).unwrap();
        assert_eq!(Generator::detect(&posts), None);
        std::fs::write(
            dir.path().join("config.toml"),
            "base_url = \"https://e.org\"\n",
        )
        .unwrap();
        assert_eq!(Generator::detect(&posts), Some(Generator::Zola));
        std::fs::write(
            dir.path().join("hugo.toml"),
            "baseURL = \"https://e.org\"\n",
        )
        .unwrap();
        assert_eq!(Generator::detect(&posts), Some(Generator::Hugo));
    }
}
