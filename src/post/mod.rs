//! A post: one dated Markdown file with front matter, read into [`Post`].
//!
//! This module knows what the front matter keys mean (DESIGN.md, Posts) and
//! reports every problem of a file at once, each with its line. It does not
//! render anything: that is `content`'s job, done only for posts that reach
//! a feed or an email.

pub mod date;
pub mod discover;
pub mod front_matter;
pub mod permalink;
mod plain_yaml;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveTime};
use serde_json::{Map, Value};

use crate::config::{Config, FeedIds};
use crate::error::Problem;
use front_matter::Split;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Post {
    /// The file, as the user would name it (relative to the site root).
    pub path: PathBuf,
    /// The file name's slug, without date and extension: `scipy-mission`.
    pub file_slug: String,
    /// Front matter `slug`, else the file name's slug.
    pub slug: String,
    pub title: String,
    pub date: DateTime<FixedOffset>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub authors: Vec<Author>,
    /// Front matter summary/description/excerpt (Markdown).
    pub summary: Option<String>,
    /// Front matter `id`: keeps a feed id stable when a URL changes.
    pub id: Option<String>,
    /// The absolute URL of the post.
    pub url: String,
    /// `email: false` keeps a post out of newsletters.
    pub email: bool,
    pub lang: Option<String>,
    /// `draft: true` or `published: false`.
    pub draft: bool,
    /// The text after the front matter, unrendered: see [`Body`].
    pub body: Body,
    /// The line of the file where `body` starts, for messages.
    pub body_line: usize,
    /// Every front matter key, known or not (Liquid's `page.*`).
    pub front_matter: front_matter::Kept,
}

/// A post's text after its front matter.
///
/// A loaded site keeps only where that text is ([`Body::InFile`]): 10,000
/// real posts are over 100 MB of text, and most never reach a feed, so the
/// text is read again, from the page cache, when a post is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    InFile {
        file: PathBuf,
        offset: usize,
        len: usize,
    },
}

/// What reading a file gave.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a site's reads become its posts in place, in the same allocation (`Site::load`); boxed, 100,000 posts were held twice"
)]
pub enum Read {
    Post(Post),
    /// Not a post (no date anywhere): a warning says why.
    Skipped(Problem),
    /// A post with problems, every one listed.
    Broken(Vec<Problem>),
}

impl Post {
    /// The text after the front matter, read from the file if it was left
    /// there. A file changed since it was loaded is a problem, not a panic.
    pub fn body(&self) -> Result<Cow<'_, str>, Problem> {
        match &self.body {
            Body::Text(text) => Ok(Cow::Borrowed(text)),
            Body::InFile { file, offset, len } => {
                let mut bytes = fs_err::read(file)
                    .map_err(|e| Problem::file(&self.path, format!("cannot read: {e}")))?;
                if bytes.len() != offset + len {
                    return Err(Problem::file(
                        &self.path,
                        "the file changed while herald was reading it; run the command again",
                    ));
                }
                // Only the front matter was checked when the site loaded.
                String::from_utf8(bytes.split_off(*offset))
                    .map(Cow::Owned)
                    .map_err(|e| {
                        let at = e.utf8_error().valid_up_to();
                        let line =
                            self.body_line + crate::config::line_of_bytes(e.as_bytes(), at) - 1;
                        Problem::at(&self.path, line, "not UTF-8 text; save the file as UTF-8")
                    })
            }
        }
    }

    /// [`Post::read`] for `text`, the whole of `file`: the body is left in
    /// the file, for [`Post::body`] to read when it is needed, and never
    /// copied.
    pub fn read_file(path: &Path, text: &str, config: &Config, file: &Path) -> Read {
        Post::read_head(path, text, config, file, text.len())
    }

    /// [`Post::read_file`] for `head`, the start of `file`, `size` bytes
    /// long: `head` must hold the whole front matter, and the body runs
    /// from where it ends in `head` to the end of the file.
    pub fn read_head(path: &Path, head: &str, config: &Config, file: &Path, size: usize) -> Read {
        let end = head.as_ptr() as usize + head.len();
        Post::read_with(path, head, config, |body| {
            if body.as_ptr() as usize + body.len() == end {
                let offset = head.len() - body.len();
                Body::InFile {
                    file: file.to_path_buf(),
                    offset,
                    len: size - offset,
                }
            } else {
                Body::Text(body.to_string())
            }
        })
    }

    /// The id used by feeds: front matter `id`, else the permalink.
    pub fn feed_id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.url)
    }

    /// `updated`, else `date`.
    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.date).max(self.date)
    }

    /// Reads a post from its text. `path` is how messages name it.
    pub fn read(path: &Path, text: &str, config: &Config) -> Read {
        Post::read_with(path, text, config, |body| Body::Text(body.to_string()))
    }

    /// [`Post::read`], with the body (the end of `text`) kept as `body` says.
    fn read_with(
        path: &Path,
        text: &str,
        config: &Config,
        body: impl FnOnce(&str) -> Body,
    ) -> Read {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let file_date = date::from_file_stem(stem);
        if let Some((day, _)) = file_date
            && !date::in_range(&date::localize(
                day.and_time(NaiveTime::MIN),
                config.site.timezone,
            ))
        {
            return Read::Broken(vec![Problem::file(
                path,
                format!(
                    "the date in the file name, {day}, is out of range (years 1 to 9999, in UTC too)"
                ),
            )]);
        }
        // Jekyll only takes `_posts` files named YYYY-MM-DD-title as posts.
        if file_date.is_none() && config.posts.jekyll_config.is_some() {
            return Read::Skipped(Problem::file(
                path,
                "not a post: Jekyll posts are named YYYY-MM-DD-title.md",
            ));
        }
        let jekyll = config.posts.jekyll_config.is_some();
        let split = match front_matter::split(text) {
            Ok(split) => split,
            // Jekyll publishes a dated `_posts` file without front matter.
            Err(_) if jekyll && file_date.is_some() => front_matter::Split::body_only(text),
            Err(e) if file_date.is_none() => {
                return Read::Skipped(Problem::at(
                    path,
                    e.line,
                    "not a post: no date in the file name (YYYY-MM-DD-slug.md) and no front matter",
                ));
            }
            Err(e) => return Read::Broken(vec![Problem::at(path, e.line, e.message)]),
        };
        let fields = match front_matter::parse(&split) {
            Ok(fields) => fields,
            Err(e) => return Read::Broken(vec![Problem::at(path, e.line, e.message)]),
        };
        let mut reader = Reader {
            path,
            split: &split,
            fields: &fields,
            problems: Vec::new(),
        };
        let tz = config.site.timezone;
        let date = match reader.string("date") {
            // YAML reads an unquoted date-time without an offset as UTC, and
            // Jekyll follows it; a Jekyll blog's URLs depend on that.
            Some(text)
                if config.posts.jekyll_config.is_some() && reader.is_bare_yaml_time("date") =>
            {
                reader.date(&text, chrono_tz::UTC, "date")
            }
            Some(text) => reader.date(&text, tz, "date"),
            None => None,
        };
        let date = match (date, file_date) {
            (Some(date), _) => date,
            (None, Some((day, _))) if reader.fields.get("date").is_none() => {
                date::localize(day.and_time(NaiveTime::MIN), tz)
            }
            (None, None) if reader.problems.is_empty() => {
                return Read::Skipped(Problem::file(
                    path,
                    "not a post: no date in the file name (YYYY-MM-DD-slug.md) or in front matter",
                ));
            }
            // A `date` that failed to parse is already a problem.
            (None, _) => chrono::DateTime::UNIX_EPOCH.fixed_offset(),
        };
        let mut title = reader.string("title").unwrap_or_default();
        if title.trim().is_empty() && jekyll {
            // Jekyll's default title: the file name's slug, titleized.
            title = titleize(file_date.map_or(stem, |(_, slug)| slug));
        }
        if title.trim().is_empty() {
            let line = front_matter::key_line(&split, "title");
            reader.problems.push(Problem::at(
                path,
                line,
                "`title` is missing or empty; every post needs one",
            ));
        }
        let updated = reader
            .string("updated")
            .or_else(|| reader.string("last_modified_at"))
            .and_then(|text| reader.date(&text, tz, "updated"));
        let file_slug = file_date.map(|(_, slug)| slug).unwrap_or(stem).to_string();
        let front_slug = reader.string("slug");
        let mut categories = config.posts.categories.clone();
        categories.extend(reader.words("categories"));
        // Jekyll splits a `categories` string on spaces, never `category`.
        for category in reader.single_or_list("category") {
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        // Jekyll reads a singular `tag` (one tag, or a list) before `tags`.
        let tags = match reader.fields.get("tag") {
            None | Some(Value::Null) => reader.words("tags"),
            Some(_) => reader.single_or_list("tag"),
        };
        let tags = dedupe_without_case(tags);
        let categories = dedupe_without_case(categories);
        let authors = reader.authors();
        let summary = ["summary", "description", "excerpt"]
            .iter()
            .find_map(|key| reader.string(key))
            .filter(|s| !s.trim().is_empty());
        let draft =
            reader.boolean("draft") == Some(true) || reader.boolean("published") == Some(false);
        let email = reader.boolean("email") != Some(false);
        let id = reader.string("id");
        let lang = reader.string("lang");
        let own_permalink = reader.string("permalink");
        let own_url = own_permalink
            .as_deref()
            .and_then(|p| reader.absolute_url(p));
        if !reader.problems.is_empty() {
            return Read::Broken(reader.problems);
        }
        // Jekyll reads a permalink's date tokens in the site's time zone.
        let parts = permalink::Parts {
            date: date.with_timezone(&tz).fixed_offset(),
            file_slug: &file_slug,
            slug: front_slug.as_deref(),
            categories: &categories,
        };
        let pattern = own_permalink.as_deref().unwrap_or(&config.site.permalink);
        let url_path = permalink::expand(pattern, &parts);
        let slug = front_slug.unwrap_or_else(|| file_slug.clone());
        // A post published elsewhere (`permalink: https://other.example/x`) keeps its own URL.
        let url = own_url
            .clone()
            .unwrap_or_else(|| absolute(&config.site.url, &url_path));
        let id = id.or(own_url).or_else(|| {
            (config.feeds.ids == FeedIds::Jekyll)
                .then(|| jekyll_id(&config.site.url, &url_path, &slug))
        });
        Read::Post(Post {
            path: path.to_path_buf(),
            file_slug,
            slug,
            title: clean_title(&title),
            date,
            updated,
            tags,
            categories,
            authors,
            summary,
            id,
            url,
            email,
            lang,
            draft,
            body: body(split.body),
            body_line: split.body_line,
            front_matter: front_matter::Kept::of(&split),
        })
    }
}

/// Joins the site URL and a site-relative path; an absolute permalink is kept.
pub fn absolute(site_url: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    let path = path.trim_start_matches('/');
    format!("{}/{}", site_url.trim_end_matches('/'), path)
}

/// The id jekyll-feed gives a post: Jekyll's `post.id` (the URL's folder
/// and the slug, no trailing slash), made absolute.
fn jekyll_id(site_url: &str, path: &str, slug: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let folder = trimmed.rsplit_once('/').map_or("", |(folder, _)| folder);
    absolute(site_url, &format!("{folder}/{slug}"))
}

/// `[python, Python]` is one tag: the first spelling stays.
fn dedupe_without_case(words: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut words: Vec<String> = words
        .into_iter()
        .filter(|w| seen.insert(w.to_lowercase()))
        .collect();
    // Every loaded post keeps its lists: no room to spare in each.
    words.shrink_to_fit();
    words
}

/// Jekyll's `titleize_slug`: `my-first-post` is "My First Post" (Ruby's
/// `capitalize`, so the rest of each word is lower case).
fn titleize(slug: &str) -> String {
    slug.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// Titles are plain text on one line.
fn clean_title(title: &str) -> String {
    title.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads typed values out of front matter, collecting located problems.
struct Reader<'a> {
    path: &'a Path,
    split: &'a Split<'a>,
    fields: &'a Map<String, Value>,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, key: &str, message: String) {
        let line = front_matter::key_line(self.split, key);
        self.problems.push(Problem::at(self.path, line, message));
    }

    /// A scalar as text (numbers are text too: `title: 2024`).
    fn string(&mut self, key: &str) -> Option<String> {
        match self.fields.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                let kind = if other.is_array() { "a list" } else { "a map" };
                self.problem(key, format!("`{key}` should be text, not {kind}"));
                None
            }
        }
    }

    /// A permalink that is a whole URL (`https://other.example/x`), checked;
    /// None for a path on this site.
    fn absolute_url(&mut self, permalink: &str) -> Option<String> {
        let scheme = permalink.split_once("://")?.0;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            self.problem(
                "permalink",
                format!("`permalink` {permalink:?} is neither a path nor an http(s) URL"),
            );
            return None;
        }
        match url::Url::parse(permalink) {
            Ok(url) if url.host().is_some() => Some(url.to_string()),
            _ => {
                self.problem(
                    "permalink",
                    format!("`permalink` {permalink:?} is not a valid URL"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.fields.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "yes" => Some(true),
            Value::String(s) if s == "false" || s == "no" => Some(false),
            Value::Null => None,
            other => {
                self.problem(key, format!("`{key}` should be true or false, not {other}"));
                None
            }
        }
    }

    /// True for `date: 2016-02-29 23:30:00` in YAML: unquoted, with a time
    /// and no offset (YAML's timestamp type, which means UTC).
    fn is_bare_yaml_time(&self, key: &str) -> bool {
        if self.split.format != front_matter::Format::Yaml {
            return false;
        }
        let line = front_matter::key_line(self.split, key);
        let Some(raw) = self
            .split
            .front
            .lines()
            .nth(line.saturating_sub(self.split.front_line))
            .and_then(|l| l.split_once(':'))
            .map(|(_, value)| value.trim())
        else {
            return false;
        };
        let time = raw
            .get(10..)
            .unwrap_or("")
            .trim_start_matches(['T', 't', ' ']);
        let has_offset = time.ends_with(['Z', 'z']) || time.contains(['+', '-']);
        !raw.starts_with(['"', '\'']) && raw.len() > 10 && !has_offset
    }

    fn date(&mut self, text: &str, tz: chrono_tz::Tz, key: &str) -> Option<DateTime<FixedOffset>> {
        match date::parse(text, tz) {
            Some(date) if date::in_range(&date) => Some(date),
            Some(_) => {
                self.problem(
                    key,
                    format!("`{key}` is out of range: {text:?} (years 1 to 9999, in UTC too)"),
                );
                None
            }
            None => {
                self.problem(
                    key,
                    format!("`{key}` is not a date: {text:?} (write 2024-01-05, 2024-01-05 10:30 or 2024-01-05T10:30:00+02:00)"),
                );
                None
            }
        }
    }

    /// A list, or a space-separated string as Jekyll allows. Zola keeps
    /// tags and categories under `[taxonomies]`; those count too.
    fn words(&mut self, key: &str) -> Vec<String> {
        let mut words = self.words_in(self.fields.get(key), key);
        if let Some(Value::Object(taxonomies)) = self.fields.get("taxonomies") {
            words.extend(self.words_in(taxonomies.get(key), key));
        }
        words
    }

    /// `category: Nominal Logic` is one category; a list is taken as it is.
    fn single_or_list(&mut self, key: &str) -> Vec<String> {
        match self.fields.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_string()],
            Some(Value::String(_)) => Vec::new(),
            other => {
                let other = other.cloned();
                self.words_in(other.as_ref(), key)
            }
        }
    }

    fn words_in(&mut self, value: Option<&Value>, key: &str) -> Vec<String> {
        let mut words: Vec<String> = match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            Some(Value::Number(n)) => vec![n.to_string()],
            Some(Value::Array(items)) => {
                let mut words = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => words.push(s.trim().to_string()),
                        Value::Number(n) => words.push(n.to_string()),
                        Value::Null => {}
                        other => self.problem(
                            key,
                            format!("`{key}` should be a list of words, but holds {other}"),
                        ),
                    }
                }
                words
            }
            Some(other) => {
                self.problem(
                    key,
                    format!("`{key}` should be a list or a space-separated string, not {other}"),
                );
                Vec::new()
            }
        };
        words.retain(|w| !w.is_empty());
        words
    }

    fn authors(&mut self) -> Vec<Author> {
        let mut authors = Vec::new();
        for key in ["author", "authors"] {
            match self.fields.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for item in items.clone() {
                        self.author(key, &item, &mut authors);
                    }
                }
                Some(value) => {
                    let value = value.clone();
                    self.author(key, &value, &mut authors);
                }
            }
        }
        authors
    }

    fn author(&mut self, key: &str, value: &Value, authors: &mut Vec<Author>) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        match value {
            // An empty name is no author, as Jekyll reads it.
            Value::String(name) => authors.extend(person_name(name).map(|name| Author {
                name,
                email: None,
                url: None,
            })),
            Value::Object(map) => match text(map.get("name")).as_deref().and_then(person_name) {
                Some(name) => authors.push(Author {
                    name,
                    email: text(map.get("email")),
                    url: text(map.get("url")).or_else(|| text(map.get("uri"))),
                }),
                None => self.problem(key, format!("`{key}` needs a `name`")),
            },
            _ => self.problem(
                key,
                format!("`{key}` should be a name or {{ name, email }}, not {value}"),
            ),
        }
    }
}

/// An author's name as readers are shown it: plain text, like a title.
/// Blogs with several authors write them as HTML in front matter
/// (`<a href="...">Ana</a><sup>1</sup>, <a href="...">Bo</a><sup>2</sup>`),
/// which feeds would show as markup. `None` when nothing is left.
fn person_name(name: &str) -> Option<String> {
    let name = if name.contains(['<', '&']) {
        crate::html::plain_text(name)
    } else {
        name.trim().to_string()
    };
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://example.org/blog\"\ntimezone = \"America/New_York\"\n",
            Path::new("c.toml"),
        )
        .unwrap()
    }

    fn read(name: &str, text: &str) -> Read {
        Post::read(Path::new(name), text, &config())
    }

    fn post(name: &str, text: &str) -> Post {
        match read(name, text) {
            Read::Post(post) => post,
            other => panic!("not a post: {other:?}"),
        }
    }

    #[test]
    fn a_loaded_posts_lists_have_no_room_to_spare() {
        let p = post(
            "posts/2024-01-01-x.md",
            "---\ntitle: x\ntags: [a, A, b, \"\"]\ncategories: [c, C]\ncategory: d\n---\nBody\n",
        );
        assert_eq!(p.tags, ["a", "b"]);
        assert_eq!(p.categories, ["c", "d"]);
        assert_eq!(p.tags.capacity(), p.tags.len());
        assert_eq!(p.categories.capacity(), p.categories.len());
    }

    #[test]
    fn the_file_name_gives_date_and_slug() {
        let post = post(
            "posts/2022-07-19-scipy-mission.md",
            "---\ntitle: SciPy\n---\nHi\n",
        );
        assert_eq!(post.date.to_rfc3339(), "2022-07-19T00:00:00-04:00");
        assert_eq!(
            post.url,
            "https://example.org/blog/2022/07/19/scipy-mission/"
        );
        assert_eq!(post.slug, "scipy-mission");
        assert_eq!(post.body().unwrap(), "Hi\n");
    }

    #[test]
    fn a_body_left_in_its_file_is_read_back_and_a_changed_file_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("2022-07-19-scipy-mission.md");
        let text = "---\ntitle: SciPy\n---\nHi there\n";
        std::fs::write(&file, text).unwrap();
        let Read::Post(post) = Post::read_file(
            Path::new("posts/2022-07-19-scipy-mission.md"),
            text,
            &config(),
            &file,
        ) else {
            panic!("the post reads")
        };
        assert!(matches!(post.body, Body::InFile { .. }), "{:?}", post.body);
        assert_eq!(post.body().unwrap(), "Hi there\n");

        std::fs::write(&file, "---\ntitle: SciPy\n---\nHi\n").unwrap();
        let problem = post.body().unwrap_err();
        assert_eq!(problem.path, Path::new("posts/2022-07-19-scipy-mission.md"));
        assert!(problem.message.contains("changed"), "{}", problem.message);
    }

    #[test]
    fn front_matter_date_wins_over_the_file_name() {
        let post = post(
            "2022-07-19-x.md",
            "---\ntitle: x\ndate: 2022-07-20 08:00:00 +0200\n---\n",
        );
        assert_eq!(post.date.to_rfc3339(), "2022-07-20T08:00:00+02:00");
    }

    #[test]
    fn tags_may_be_a_list_or_a_space_separated_string() {
        assert_eq!(
            post("2022-07-19-x.md", "---\ntitle: x\ntags: [a, B]\n---\n").tags,
            ["a", "B"]
        );
        assert_eq!(
            post("2022-07-19-x.md", "---\ntitle: x\ntags: a B\n---\n").tags,
            ["a", "B"]
        );
    }

    #[test]
    fn a_singular_tag_is_read_first_and_never_split_as_in_jekyll() {
        // ewenwan.github.io's posts say `tag: SLAM`.
        let tags =
            |front: &str| post("2022-07-19-x.md", &format!("---\ntitle: x\n{front}---\n")).tags;
        assert_eq!(tags("tag: SLAM\n"), ["SLAM"]);
        assert_eq!(tags("tag: Visual SLAM\ntags: a b\n"), ["Visual SLAM"]);
        assert_eq!(tags("tag: [a, b]\n"), ["a", "b"]);
        assert_eq!(tags("tag:\ntags: a b\n"), ["a", "b"]);
    }

    #[test]
    fn a_singular_category_is_never_split_as_in_jekyll() {
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\ncategory: Nominal Logic\ncategories: a b\npermalink: /:categories/:title/\n---\n",
        );
        assert_eq!(p.categories, ["a", "b", "Nominal Logic"]);
        assert_eq!(p.url, "https://example.org/blog/a/b/nominal%20logic/x/");
    }

    #[test]
    fn a_jekyll_post_without_front_matter_is_titled_from_its_file_name() {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n[posts]\njekyll_config = \"_config.yml\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let Read::Post(p) = Post::read(
            Path::new("_posts/2020-01-05-no-front-MATTER.md"),
            "hello *world*\n",
            &config,
        ) else {
            panic!("not a post");
        };
        assert_eq!(p.title, "No Front Matter");
        assert_eq!(p.body().unwrap(), "hello *world*\n");
        assert!(matches!(
            read("2020-01-05-x.md", "hello\n"),
            Read::Broken(_)
        ));
    }

    #[test]
    fn zola_taxonomies_give_tags_and_categories() {
        let p = post(
            "2022-07-19-x.md",
            "+++\ntitle = \"x\"\n[taxonomies]\ntags = [\"a\"]\ncategories = [\"c\"]\n+++\n",
        );
        assert_eq!(p.tags, ["a"]);
        assert_eq!(p.categories, ["c"]);
    }

    #[test]
    fn drafts_and_unpublished_posts_are_marked() {
        assert!(post("2022-07-19-x.md", "---\ntitle: x\ndraft: true\n---\n").draft);
        assert!(post("2022-07-19-x.md", "---\ntitle: x\npublished: false\n---\n").draft);
        assert!(!post("2022-07-19-x.md", "---\ntitle: x\n---\n").draft);
    }

    #[test]
    fn a_file_without_any_date_is_skipped_with_a_warning() {
        match read("posts/about.md", "---\ntitle: About\n---\n") {
            Read::Skipped(problem) => assert!(
                problem
                    .to_string()
                    .starts_with("posts/about.md: not a post")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_problem_of_a_post_is_reported_with_its_line() {
        let text = "---\ndate: 2024-13-45\nupdated: later\ndraft: maybe\n---\n";
        match read("2024-01-01-x.md", text) {
            Read::Broken(problems) => {
                let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
                assert_eq!(problems.len(), 4, "{problems:?}");
                assert!(
                    lines.contains(&Some(2))
                        && lines.contains(&Some(3))
                        && lines.contains(&Some(4))
                );
                assert!(problems.iter().any(|p| p.message.contains("title")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn authors_come_as_names_maps_or_lists() {
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\nauthor: { name: Ada, email: ada@example.org }\n---\n",
        );
        assert_eq!(p.authors[0].email.as_deref(), Some("ada@example.org"));
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\nauthors: [Ada, Bob]\n---\n",
        );
        assert_eq!(p.authors.len(), 2);
    }

    #[test]
    fn author_names_written_as_html_are_read_as_text_and_an_empty_one_is_none() {
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\nauthor: <a href=\"https://a.example/\">Ana Lee</a><sup>1</sup>, \
             <a href=\"https://b.example/\">Bo &amp; Co</a><sup>2</sup>\n---\n",
        );
        assert_eq!(p.authors[0].name, "Ana Lee1, Bo & Co2");
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\nauthors:\n  - { name: \"<b>Ada</b>\" }\n  - Ben\n---\n",
        );
        assert_eq!(p.authors[0].name, "Ada");
        assert_eq!(p.authors[1].name, "Ben");
        let p = post("2022-07-19-x.md", "---\ntitle: x\nauthor: \"\"\n---\n");
        assert!(p.authors.is_empty());
    }

    #[test]
    fn jekyll_style_ids_match_jekyll_feed() {
        assert_eq!(
            jekyll_id(
                "https://jekyllrb.com",
                "/news/2025/01/29/jekyll-4-4-1-released/",
                "jekyll-4-4-1-released"
            ),
            "https://jekyllrb.com/news/2025/01/29/jekyll-4-4-1-released"
        );
        assert_eq!(
            jekyll_id(
                "https://e.org/blog",
                "/2015/07/23/some-title.html",
                "some-title"
            ),
            "https://e.org/blog/2015/07/23/some-title"
        );
    }

    #[test]
    fn an_absolute_permalink_is_the_url_as_written() {
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\npermalink: \"https://other.example/x\"\n---\n",
        );
        assert_eq!(p.url, "https://other.example/x");
        match read(
            "2022-07-19-x.md",
            "---\ntitle: x\npermalink: \"javascript://x\"\n---\n",
        ) {
            Read::Broken(problems) => assert_eq!(problems[0].line, Some(3), "{problems:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_post_permalink_wins() {
        let p = post(
            "2022-07-19-x.md",
            "---\ntitle: x\npermalink: /about/x/\n---\n",
        );
        assert_eq!(p.url, "https://example.org/blog/about/x/");
    }
}
