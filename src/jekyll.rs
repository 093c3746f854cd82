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
    /// What it found and kept (the feed, where the URL came from).
    pub notes: Vec<String>,
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
    let mut notes = Vec::new();
    let jekyll = match fs_err::read_to_string(&jekyll_file) {
        Ok(text) => parse(&text, &jekyll_file)?,
        // GitHub Pages builds a blog without one, on Jekyll's defaults.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && blog.join("_posts").is_dir() => {
            notes.push("no _config.yml: Jekyll's defaults".to_string());
            Map::new()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "{}: no _config.yml and no _posts here; point --from-jekyll at the blog's folder",
                blog.display()
            )));
        }
        Err(e) => return Err(Error::Io(e)),
    };
    let (url, source) = site_url(&jekyll, blog)?;
    notes.push(format!("site.url {url} ({source})"));
    if text(&jekyll, "title")
        .or_else(|| text(&jekyll, "name"))
        .is_none()
    {
        notes.push("no title in _config.yml: the feeds are titled \"My blog\" until [site] title says otherwise".to_string());
    }
    // Octopress keeps the site in `source/` (`source: source`).
    let site = match text(&jekyll, "source") {
        Some(source) => blog.join(source),
        None => blog.to_path_buf(),
    };
    let (posts, categories) = posts_folder(&site);
    // A blog beside a project's pages has its feed in its own folder.
    let feed = existing_feed(&site, "").or_else(|| {
        let [folder] = categories.as_slice() else {
            return None;
        };
        existing_feed(&site, &format!("{folder}/"))
    });
    notes.push(match &feed {
        Some(found) => format!(
            "the blog publishes its own {} feed at /{} (entry ids from {}); herald writes it there",
            match found.format {
                crate::config::FeedFormat::Rss => "RSS",
                _ => "Atom",
            },
            found.path,
            if found.jekyll_ids {
                "post.id"
            } else {
                "post.url"
            }
        ),
        None if uses_jekyll_feed(&jekyll) => {
            "jekyll-feed's Atom feed: kept at its path, with its entry ids".to_string()
        }
        None => "no feed published yet: herald's Atom feed goes to /feed.xml".to_string(),
    });
    let mut warnings = Vec::new();
    if let [category] = categories.as_slice() {
        notes.push(format!(
            "posts in {category}/_posts: each has the category {category}, as in Jekyll"
        ));
    }
    let sources = Sources {
        jekyll_file: &jekyll_file,
        root,
        site: &site,
        posts: &posts,
        categories: &categories,
        url: &url,
        feed: feed.as_ref(),
    };
    let toml = herald_toml(&jekyll, &sources, &mut warnings);
    if let Some(parent) = config_path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&config_path, toml)?;
    ignore_state(root)?;
    Ok(Imported {
        config: config_path,
        warnings,
        notes,
    })
}

/// The folder of a Jekyll site's posts: `_posts`, or else the one
/// `FOLDER/_posts` (a blog beside the project's pages), whose posts
/// Jekyll gives the category `FOLDER`.
fn posts_folder(site: &Path) -> (PathBuf, Vec<String>) {
    let top = site.join("_posts");
    if top.is_dir() {
        return (top, Vec::new());
    }
    let mut nested: Vec<(PathBuf, String)> = fs_err::read_dir(site)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let posts = entry.path().join("_posts");
            let hidden = name.starts_with(['.', '_']) || name == "node_modules" || name == "vendor";
            (!hidden && posts.is_dir()).then_some((posts, name))
        })
        .collect();
    match nested.pop() {
        Some((posts, category)) if nested.is_empty() => (posts, vec![category]),
        _ => (top, Vec::new()),
    }
}

/// Where the blog's settings and files are, and what was found in them.
struct Sources<'a> {
    jekyll_file: &'a Path,
    root: &'a Path,
    /// The Jekyll site's own folder (`source`), where `_includes` is.
    site: &'a Path,
    posts: &'a Path,
    /// Categories the posts' folder gives them.
    categories: &'a [String],
    /// The site's absolute URL, baseurl included.
    url: &'a str,
    feed: Option<&'a FoundFeed>,
}

/// The blog's address: `url` + `baseurl` from _config.yml, else a CNAME
/// file (GitHub Pages' custom domain), else the GitHub repository it is
/// pushed to (`USER.github.io`, or `USER.github.io/REPO` for a project).
fn site_url(jekyll: &Map<String, Value>, blog: &Path) -> Result<(String, &'static str)> {
    let base = text(jekyll, "baseurl")
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let join = |url: &str, base: &str| {
        let url = url.trim_end_matches('/');
        if base.is_empty() {
            url.to_string()
        } else {
            format!("{url}/{base}")
        }
    };
    if let Some(url) =
        text(jekyll, "url").filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        return Ok((join(url, &base), "url and baseurl in _config.yml"));
    }
    // Jekyll-Bootstrap's name for it.
    if let Some(url) = text(jekyll, "production_url")
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        return Ok((
            join(url, &base),
            "production_url and baseurl in _config.yml",
        ));
    }
    if let Some(domain) = fs_err::read_to_string(blog.join("CNAME"))
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
        .filter(|d| !d.is_empty())
    {
        return Ok((join(&format!("https://{domain}"), &base), "the CNAME file"));
    }
    if let Some((user, repo)) = github_remote(blog) {
        let user_site = format!("{}.github.io", user.to_lowercase());
        let url = format!("https://{user_site}");
        // A project site is served under the repository's name.
        let base = if !base.is_empty() || repo.to_lowercase() == user_site {
            base
        } else {
            repo
        };
        return Ok((
            join(&url, &base),
            "the GitHub repository the blog is pushed to",
        ));
    }
    Err(Error::Usage(
        "no `url` in _config.yml, no domain in a CNAME file and no GitHub remote to tell where the blog is served; \
         add `url: https://...` to _config.yml and run init again"
            .to_string(),
    ))
}

/// `(user, repository)` of the blog's `origin` remote on GitHub.
fn github_remote(blog: &Path) -> Option<(String, String)> {
    let absolute = std::path::absolute(blog).ok()?;
    let config = absolute
        .ancestors()
        .take(4)
        .find_map(|dir| fs_err::read_to_string(dir.join(".git/config")).ok())?;
    let mut in_origin = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
        } else if let Some(url) = line.strip_prefix("url = ").filter(|_| in_origin) {
            let rest = url
                .split("github.com")
                .nth(1)?
                .trim_start_matches([':', '/']);
            let mut parts = rest
                .trim_end_matches('/')
                .trim_end_matches(".git")
                .split('/');
            return Some((parts.next()?.to_string(), parts.next()?.to_string()));
        }
    }
    None
}

fn uses_jekyll_feed(jekyll: &Map<String, Value>) -> bool {
    ["plugins", "gems"].iter().any(|key| {
        jekyll
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|p| p.as_str() == Some("jekyll-feed")))
    }) || jekyll.contains_key("feed")
}

/// A feed the blog renders itself from a template in its folder.
#[derive(Debug)]
struct FoundFeed {
    /// Where it is served, under the site URL.
    path: String,
    format: crate::config::FeedFormat,
    /// Entry ids made from `post.id` (no trailing slash), as herald's
    /// `ids = "jekyll"`; else from the post's URL.
    jekyll_ids: bool,
}

/// `feed.xml`, `atom.xml`, `rss.xml`... in the site's `folder` (empty, or
/// ending in `/`), with front matter (so Jekyll renders it) and an `<rss`
/// or `<feed` root.
fn existing_feed(site: &Path, folder: &str) -> Option<FoundFeed> {
    use crate::config::FeedFormat;
    [
        "feed.xml",
        "atom.xml",
        "rss.xml",
        "index.xml",
        "feed/index.xml",
        "feed.rss",
        "feed.atom",
    ]
    .iter()
    .find_map(|name| {
        let name = format!("{folder}{name}");
        let text = fs_err::read_to_string(site.join(&name)).ok()?;
        if !text.starts_with("---") {
            return None;
        }
        let format = if text.contains("<rss") {
            FeedFormat::Rss
        } else if text.contains("<feed") {
            FeedFormat::Atom
        } else {
            return None;
        };
        let permalink = text
            .lines()
            .skip(1)
            .take_while(|l| l.trim() != "---")
            .find_map(|l| l.strip_prefix("permalink:"))
            .map(|p| {
                p.trim()
                    .trim_matches(['"', '\''])
                    .trim_start_matches('/')
                    .to_string()
            });
        let entry_id = match format {
            FeedFormat::Rss => element(&text, "guid"),
            _ => text
                .find("<entry")
                .and_then(|at| element(&text[at..], "id")),
        };
        Some(FoundFeed {
            path: permalink.unwrap_or(name),
            format,
            jekyll_ids: entry_id.is_some_and(|id| id.contains("post.id")),
        })
    })
}

/// The text of the first `<name ...>...</name>` in a template.
fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{name}"))?;
    let open_end = start + text[start..].find('>')? + 1;
    let close = open_end + text[open_end..].find(&format!("</{name}>"))?;
    Some(&text[open_end..close])
}

/// Reads a `_config.yml` as Jekyll does: a key written twice takes its last
/// value (Ruby's YAML allows it, and real blogs' configs do it).
pub fn config_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<T, serde_saphyr::Error> {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    serde_saphyr::from_str_with_options(text, options)
}

fn parse(text: &str, path: &Path) -> Result<Map<String, Value>> {
    let value: Value = config_yaml(text).map_err(|e| {
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
    sources: &Sources<'_>,
    warnings: &mut Vec<Problem>,
) -> String {
    let Sources {
        jekyll_file,
        root,
        site,
        posts,
        categories,
        url,
        feed: found,
    } = *sources;
    let mut out = String::from(
        "# Written by `herald init --from-jekyll`; see README for every key.\n[site]\n",
    );
    let title = text(jekyll, "title")
        .or_else(|| text(jekyll, "name"))
        .unwrap_or("My blog");
    out.push_str(&format!("title = {}\n", quoted(title)));
    out.push_str(&format!("url = {}\n", quoted(url)));
    if let Some(description) = text(jekyll, "description") {
        out.push_str(&format!("description = {}\n", quoted(description)));
    }
    if let Some(author) = author(jekyll.get("author")) {
        out.push_str(&author);
    }
    let emails = [
        jekyll.get("author").and_then(|a| a.get("email")),
        jekyll.get("email"),
    ];
    if let Some(email) = emails
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|email| !email.trim().is_empty() && !is_address(email))
    {
        warnings.push(Problem::file(
            jekyll_file,
            format!(
                "email {email:?} is not an email address; left out of the feeds and of [email] from"
            ),
        ));
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
    out.push_str(&format!("dir = {}\n", quoted(&relative(root, posts))));
    if !categories.is_empty() {
        let quoted: Vec<String> = categories.iter().map(|c| quoted(c)).collect();
        out.push_str(&format!("categories = [{}]\n", quoted.join(", ")));
    }
    out.push_str("liquid = true\n");
    let includes = text(jekyll, "includes_dir").unwrap_or("_includes");
    out.push_str(&format!(
        "includes = {}\n",
        quoted(&relative(root, &site.join(includes)))
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
    match found {
        // The blog's own feed keeps its address, format and ids, so readers
        // do not see every post again; the other formats go beside it.
        Some(found) => {
            use crate::config::FeedFormat;
            let (key, other, other_file) = match found.format {
                FeedFormat::Rss => ("rss_file", "atom_file", "atom.xml"),
                _ => ("atom_file", "rss_file", "rss.xml"),
            };
            out.push_str(&format!("{key} = {}\n", quoted(&found.path)));
            if found.path == other_file {
                out.push_str(&format!(
                    "{other} = \"feed.{}\"\n",
                    other_file.trim_end_matches(".xml")
                ));
            }
            if found.jekyll_ids {
                out.push_str("ids = \"jekyll\"\n");
            }
        }
        None => {
            // jekyll-feed serves Atom at /feed.xml; readers keep that address.
            let atom = feed
                .and_then(|f| text(f, "path"))
                .map(|p| p.trim_start_matches('/').to_string())
                .unwrap_or_else(|| "feed.xml".into());
            out.push_str(&format!("atom_file = {}\n", quoted(&atom)));
            // Entry ids as jekyll-feed wrote them: readers keep their read state.
            out.push_str("ids = \"jekyll\"\n");
        }
    }
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
        .filter(|email| is_address(email))
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
            text(map, "email")
                .filter(|email| is_address(email))
                .map(str::to_string),
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

/// Whether a Jekyll config's email is a mailbox: themes hide theirs from
/// robots in all sorts of ways (`javascript:window.location.href=atob(...)`
/// on a real blog), which a feed or a From line cannot carry.
fn is_address(email: &str) -> bool {
    email.parse::<lettre::Address>().is_ok()
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
        let (url, _) = site_url(&jekyll, Path::new("/nowhere")).unwrap();
        let sources = Sources {
            jekyll_file: Path::new("/site/blog/_config.yml"),
            root: Path::new("/site"),
            site: Path::new("/site/blog"),
            posts: Path::new("/site/blog/_posts"),
            categories: &[],
            url: &url,
            feed: None,
        };
        let toml = herald_toml(&jekyll, &sources, &mut warnings);
        (
            Config::parse(&toml, Path::new("herald.toml")).unwrap(),
            warnings,
        )
    }

    #[test]
    fn an_author_email_that_is_no_address_is_left_out_with_a_warning() {
        // afrendeiro.github.io hides its address from robots this way.
        let (config, warnings) = convert(
            "title: Notes\nurl: https://example.org/\nauthor:\n  name: Jane\n  \
             email: javascript:window.location.href=atob('amFuZUBleGFtcGxlLm9yZw==')\n",
        );
        let author = config.site.author.unwrap();
        assert_eq!((author.name.as_str(), author.email), ("Jane", None));
        assert_eq!(config.email.from, None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].message.contains("is not an email address"));
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
    fn a_key_written_twice_takes_its_last_value_as_in_jekyll() {
        // As in a real blog's `_config.yml` (houbb.github.io: `blogName` twice).
        let (config, _) = convert("title: First\nurl: https://example.org\ntitle: Second\n");
        assert_eq!(config.site.title, "Second");
    }

    #[test]
    fn the_posts_collection_permalink_wins() {
        let (config, _) = convert(
            "url: https://jekyllrb.com\npermalink: date\ncollections:\n  posts:\n    permalink: /news/:year/:month/:day/:title/\n",
        );
        assert_eq!(config.site.permalink, "/news/:year/:month/:day/:title/");
    }

    #[test]
    fn without_url_the_address_comes_from_cname_or_the_github_remote() {
        let dir = tempfile::tempdir().unwrap();
        let blog = dir.path();
        let config = parse("baseurl: /blog\n", Path::new("_config.yml")).unwrap();
        let refused = site_url(&config, blog).unwrap_err().to_string();
        assert!(refused.contains("add `url: https://...`"), "{refused}");
        std::fs::create_dir_all(blog.join(".git")).unwrap();
        std::fs::write(
            blog.join(".git/config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:Ada/notes.git\n",
        )
        .unwrap();
        assert_eq!(
            site_url(&Map::new(), blog).unwrap().0,
            "https://ada.github.io/notes"
        );
        assert_eq!(
            site_url(&config, blog).unwrap().0,
            "https://ada.github.io/blog"
        );
        std::fs::write(blog.join("CNAME"), "notes.example.net\n").unwrap();
        assert_eq!(
            site_url(&config, blog).unwrap().0,
            "https://notes.example.net/blog"
        );
        // Jekyll-Bootstrap's `production_url` (abbypan.github.io has no `url`).
        let bootstrap = parse(
            "production_url : https://abbypan.github.io\n",
            Path::new("_config.yml"),
        )
        .unwrap();
        assert_eq!(
            site_url(&bootstrap, blog).unwrap().0,
            "https://abbypan.github.io"
        );
    }

    #[test]
    fn a_feed_template_in_the_blog_is_found_with_its_format_and_ids() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("feed.xml"),
            "---\nlayout: null\n---\n<rss version=\"2.0\"><channel>{% for post in site.posts %}<item>\
             <guid isPermaLink=\"true\">{{ site.url }}{{ post.url }}</guid></item>{% endfor %}</channel></rss>\n",
        )
        .unwrap();
        let found = existing_feed(dir.path(), "").unwrap();
        assert_eq!(found.path, "feed.xml");
        assert_eq!(found.format, crate::config::FeedFormat::Rss);
        assert!(!found.jekyll_ids);
        std::fs::remove_file(dir.path().join("feed.xml")).unwrap();
        std::fs::write(
            dir.path().join("atom.xml"),
            "---\npermalink: /atom.xml\n---\n<feed><id>{{ site.url }}</id>{% for post in site.posts %}<entry><id>{{ site.url }}{{ post.id }}</id></entry>{% endfor %}</feed>\n",
        )
        .unwrap();
        let found = existing_feed(dir.path(), "").unwrap();
        assert_eq!((found.path.as_str(), found.jekyll_ids), ("atom.xml", true));
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
