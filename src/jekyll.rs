//! `herald init --from-jekyll PATH`: a `config/herald.toml` written from a
//! Jekyll blog's `_config.yml`, so the blog's feeds come out as Jekyll (and
//! jekyll-feed) publish them without touching a post.
//!
//! What is read: `url` + `baseurl`, `title`, `description`, `author`,
//! `lang`/`locale`, `timezone`, `permalink` (the posts collection's own
//! permalink wins, as in Jekyll), `excerpt_separator`, and jekyll-feed's
//! `feed:` settings (`path`, `posts_limit`, `excerpt_only`, `tags`,
//! `categories`). The whole `_config.yml` stays visible to Liquid as `site`
//! through `posts.jekyll_config`.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Problem, Result};

/// What `init --from-jekyll` did.
#[derive(Debug)]
pub struct Imported {
    pub config: PathBuf,
    pub warnings: Vec<Problem>,
}

/// Writes `root/config/herald.toml` for the Jekyll blog at `blog`.
pub fn init(root: &Path, blog: &Path, force: bool) -> Result<Imported> {
    let config_path = root.join(crate::config::DEFAULT_PATH);
    if config_path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} already exists; pass --force to overwrite it",
            config_path.display()
        )));
    }
    let jekyll_file = blog.join("_config.yml");
    let text = fs_err::read_to_string(&jekyll_file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(format!(
                "{}: no _config.yml here; point --from-jekyll at the blog's folder",
                blog.display()
            ))
        } else {
            Error::Io(e)
        }
    })?;
    let jekyll = parse(&text, &jekyll_file)?;
    let mut warnings = Vec::new();
    let toml = herald_toml(&jekyll, &jekyll_file, root, blog, &mut warnings);
    if let Some(parent) = config_path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&config_path, toml)?;
    ignore_state(root)?;
    Ok(Imported {
        config: config_path,
        warnings,
    })
}

fn parse(text: &str, path: &Path) -> Result<Map<String, Value>> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize);
        let reason = e.to_string();
        Error::config(
            path,
            line,
            format!("not valid YAML: {}", reason.lines().next().unwrap_or("")),
        )
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(Error::config(
            path,
            Some(1),
            "a _config.yml is a map of settings",
        )),
    }
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn herald_toml(
    jekyll: &Map<String, Value>,
    jekyll_file: &Path,
    root: &Path,
    blog: &Path,
    warnings: &mut Vec<Problem>,
) -> String {
    let mut out = String::from(
        "# Written by `herald init --from-jekyll`; see README for every key.\n[site]\n",
    );
    let title = text(jekyll, "title")
        .or_else(|| text(jekyll, "name"))
        .unwrap_or("My blog");
    out.push_str(&format!("title = {}\n", quoted(title)));
    let url = match text(jekyll, "url") {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            let base = text(jekyll, "baseurl").unwrap_or("").trim_matches('/');
            let url = url.trim_end_matches('/');
            if base.is_empty() {
                url.to_string()
            } else {
                format!("{url}/{base}")
            }
        }
        _ => {
            warnings.push(Problem::file(
                jekyll_file,
                "no absolute `url` in _config.yml; wrote https://example.org: set site.url to where the blog is served",
            ));
            "https://example.org".to_string()
        }
    };
    out.push_str(&format!("url = {}\n", quoted(&url)));
    if let Some(description) = text(jekyll, "description") {
        out.push_str(&format!("description = {}\n", quoted(description)));
    }
    if let Some(author) = author(jekyll.get("author")) {
        out.push_str(&author);
    }
    if let Some(language) = text(jekyll, "lang").or_else(|| text(jekyll, "locale")) {
        out.push_str(&format!(
            "language = {}\n",
            quoted(&language.replace('_', "-"))
        ));
    }
    match text(jekyll, "timezone") {
        Some(tz) if tz.parse::<chrono_tz::Tz>().is_ok() => {
            out.push_str(&format!("timezone = {}\n", quoted(tz)));
        }
        Some(tz) => warnings.push(Problem::file(
            jekyll_file,
            format!("timezone {tz:?} is not an IANA time zone; UTC is used"),
        )),
        None => {}
    }
    let permalink = jekyll
        .get("collections")
        .and_then(|c| c.get("posts"))
        .and_then(|p| p.get("permalink"))
        .and_then(Value::as_str)
        .or_else(|| text(jekyll, "permalink"))
        // Jekyll's own default.
        .unwrap_or("date");
    out.push_str(&format!("permalink = {}\n", quoted(permalink)));

    out.push_str("\n[posts]\n");
    out.push_str(&format!(
        "dir = {}\n",
        quoted(&relative(root, &blog.join("_posts")))
    ));
    out.push_str("liquid = true\n");
    out.push_str(&format!(
        "includes = {}\n",
        quoted(&relative(root, &blog.join("_includes")))
    ));
    out.push_str(&format!(
        "jekyll_config = {}\n",
        quoted(&relative(root, jekyll_file))
    ));
    if let Some(separator) = text(jekyll, "excerpt_separator") {
        out.push_str(&format!("excerpt_separator = {}\n", quoted(separator)));
    }

    out.push_str("\n[feeds]\n");
    let feed = jekyll.get("feed").and_then(Value::as_object);
    // jekyll-feed serves Atom at /feed.xml; readers keep that address.
    let atom = feed
        .and_then(|f| text(f, "path"))
        .map(|p| p.trim_start_matches('/').to_string())
        .unwrap_or_else(|| "feed.xml".into());
    out.push_str(&format!("atom_file = {}\n", quoted(&atom)));
    // Entry ids as jekyll-feed wrote them: readers keep their read state.
    out.push_str("ids = \"jekyll\"\n");
    let limit = feed
        .and_then(|f| f.get("posts_limit"))
        .and_then(Value::as_u64)
        .unwrap_or(10);
    out.push_str(&format!("limit = {limit}\n"));
    if feed
        .and_then(|f| f.get("excerpt_only"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.push_str("content = \"excerpt\"\n");
    }
    let wants = |key: &str| {
        feed.and_then(|f| f.get(key))
            .is_some_and(|v| !matches!(v, Value::Bool(false) | Value::Null))
    };
    out.push_str(&format!("tags = {}\n", wants("tags")));
    out.push_str(&format!("categories = {}\n", wants("categories")));

    if let Some(email) = jekyll
        .get("author")
        .and_then(|a| a.get("email"))
        .and_then(Value::as_str)
        .or_else(|| text(jekyll, "email"))
    {
        out.push_str(&format!(
            "\n[email]\nfrom = {}\n",
            quoted(&format!("{title} <{email}>"))
        ));
    }
    out
}

fn author(value: Option<&Value>) -> Option<String> {
    let (name, email) = match value? {
        Value::String(name) => (name.trim().to_string(), None),
        Value::Object(map) => (
            text(map, "name")?.to_string(),
            text(map, "email").map(str::to_string),
        ),
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some(match email {
        Some(email) => format!(
            "author = {{ name = {}, email = {} }}\n",
            quoted(&name),
            quoted(&email)
        ),
        None => format!("author = {{ name = {} }}\n", quoted(&name)),
    })
}

/// `path` as the configuration should name it: relative to the site root
/// where it can be, so the pair can move together.
fn relative(root: &Path, path: &Path) -> String {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .map(|p| normalise(&p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (root, path) = (absolute(root), absolute(path));
    let common = root
        .components()
        .zip(path.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return path.display().to_string();
    }
    let mut out = PathBuf::new();
    for _ in root.components().skip(common) {
        out.push("..");
    }
    for part in path.components().skip(common) {
        out.push(part);
    }
    let text = out.display().to_string();
    if text.is_empty() {
        ".".into()
    } else {
        text.replace('\\', "/")
    }
}

/// Removes `.` and folds `..` without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Adds `.herald/` (subscribers' personal data) and `public/` to the root's .gitignore.
fn ignore_state(root: &Path) -> Result<()> {
    let path = root.join(".gitignore");
    let existing = fs_err::read_to_string(&path).unwrap_or_default();
    let missing: Vec<&str> = [".herald/", "public/"]
        .into_iter()
        .filter(|line| !existing.lines().any(|l| l.trim() == *line))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# herald\n");
    for line in missing {
        text.push_str(line);
        text.push('\n');
    }
    fs_err::write(&path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn convert(yaml: &str) -> (Config, Vec<Problem>) {
        let jekyll = parse(yaml, Path::new("_config.yml")).unwrap();
        let mut warnings = Vec::new();
        let root = Path::new("/site");
        let toml = herald_toml(
            &jekyll,
            Path::new("/site/blog/_config.yml"),
            root,
            Path::new("/site/blog"),
            &mut warnings,
        );
        (
            Config::parse(&toml, Path::new("herald.toml")).unwrap(),
            warnings,
        )
    }

    #[test]
    fn url_baseurl_permalink_and_feed_settings_carry_over() {
        let (config, warnings) = convert(
            "title: Notes\nurl: https://example.org/\nbaseurl: /blog\ntimezone: Europe/Berlin\n\
             permalink: pretty\nauthor:\n  name: Jane\n  email: jane@example.org\n\
             feed:\n  posts_limit: 30\n  excerpt_only: true\n  categories: [news]\n",
        );
        assert!(warnings.is_empty());
        assert_eq!(config.site.url, "https://example.org/blog");
        assert_eq!(config.site.permalink, "pretty");
        assert_eq!(config.site.timezone.name(), "Europe/Berlin");
        assert_eq!(
            config.site.author.unwrap().email.as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(config.feeds.limit, 30);
        assert_eq!(config.feeds.content, crate::config::FeedContent::Excerpt);
        assert!(config.feeds.categories && !config.feeds.tags);
        assert_eq!(config.feeds.atom_file, "feed.xml");
        assert_eq!(config.feeds.ids, crate::config::FeedIds::Jekyll);
        assert_eq!(config.posts.dir, PathBuf::from("blog/_posts"));
        assert_eq!(
            config.posts.jekyll_config,
            Some(PathBuf::from("blog/_config.yml"))
        );
    }

    #[test]
    fn the_posts_collection_permalink_wins() {
        let (config, _) = convert(
            "url: https://jekyllrb.com\npermalink: date\ncollections:\n  posts:\n    permalink: /news/:year/:month/:day/:title/\n",
        );
        assert_eq!(config.site.permalink, "/news/:year/:month/:day/:title/");
    }

    #[test]
    fn a_missing_url_is_a_placeholder_with_a_warning() {
        let (config, warnings) = convert("title: x\n");
        assert_eq!(config.site.url, "https://example.org");
        assert_eq!(config.site.permalink, "date");
        assert!(warnings[0].message.contains("url"));
    }

    #[test]
    fn paths_are_relative_to_the_root_where_possible() {
        assert_eq!(
            relative(Path::new("/a/site"), Path::new("/a/blog/_posts")),
            "../blog/_posts"
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a/_posts")), "_posts");
    }
}
