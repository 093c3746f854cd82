//! What a post's Liquid can see: `site` (a Jekyll blog's whole
//! `_config.yml` when `posts.jekyll_config` names it, plus herald's own site
//! settings, `[posts.vars]` and `site.posts`), `page` (the front matter and
//! the post's URL, date, slug...), `jekyll.environment`, and each
//! `[posts.vars]` entry by its bare name (`{{ BASE_PATH }}`).
//!
//! `site` is built once per build and borrowed by every render; only a
//! render that needs a missing `site.*` key defined clones it.

use std::collections::HashMap;
use std::path::Path;

use liquid_core::model::{DisplayCow, KStringCow, State};
use liquid_core::{Object, ObjectView, Value, ValueView};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::post::Post;
use crate::site::Site;

/// The top-level names of one render.
#[derive(Debug)]
pub struct Globals<'a> {
    pub site: &'a Value,
    pub page: &'a Value,
    pub jekyll: &'a Value,
    pub vars: &'a [(String, Value)],
    /// Variables found undefined in an earlier attempt, now nil.
    pub extra: &'a [(String, Value)],
}

impl Globals<'_> {
    fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        [
            ("site", self.site),
            ("page", self.page),
            ("jekyll", self.jekyll),
        ]
        .into_iter()
        .chain(self.vars.iter().map(|(k, v)| (k.as_str(), v)))
        .chain(self.extra.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl ValueView for Globals<'_> {
    fn as_debug(&self) -> &dyn std::fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Borrowed(&"")
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Borrowed(&"")
    }
    fn type_name(&self) -> &'static str {
        "object"
    }
    fn query_state(&self, state: State) -> bool {
        matches!(state, State::Truthy)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        KStringCow::from_static("")
    }
    fn to_value(&self) -> Value {
        let mut object = Object::new();
        for (key, value) in self.entries() {
            object.insert(key.to_string().into(), value.clone());
        }
        Value::Object(object)
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        Some(self)
    }
}

impl ObjectView for Globals<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        self.entries().count() as i64
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(self.entries().map(|(k, _)| KStringCow::from_ref(k)))
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.entries().map(|(_, v)| v as &dyn ValueView))
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        Box::new(
            self.entries()
                .map(|(k, v)| (KStringCow::from_ref(k), v as &dyn ValueView)),
        )
    }
    fn contains_key(&self, index: &str) -> bool {
        self.entries().any(|(k, _)| k == index)
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        self.entries()
            .find(|(k, _)| *k == index)
            .map(|(_, v)| v as &dyn ValueView)
    }
}

/// The Jekyll `_config.yml` named by `posts.jekyll_config`, or an empty map.
pub fn jekyll_config(site: &Site) -> Result<Map<String, Json>> {
    let Some(relative) = &site.config.posts.jekyll_config else {
        return Ok(Map::new());
    };
    let path = site.path(relative);
    let shown = site.shown(&path);
    let value = yaml_file(site, &path)?;
    match value {
        Json::Object(map) => Ok(map),
        Json::Null => Ok(Map::new()),
        _ => Err(Error::config(
            &shown,
            Some(1),
            "a Jekyll _config.yml is a map of settings",
        )),
    }
}

/// A YAML file's value; an error names the file and the line.
fn yaml_file(site: &Site, path: &Path) -> Result<Json> {
    let text = fs_err::read_to_string(path)?;
    crate::jekyll::config_yaml(&text).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize);
        Error::config(
            site.shown(path),
            line,
            format!(
                "not valid YAML: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        )
    })
}

/// `site.data`: the files of the Jekyll site's data folder (`_data`, or
/// `data_dir`, in its `source`), each under its name and folders nested,
/// as Jekyll reads them: YAML and JSON as they are, CSV as a list of rows
/// keyed by the header. `None` when there is no such folder.
fn data(site: &Site, jekyll: &Map<String, Json>) -> Result<Option<Json>> {
    let Some(relative) = &site.config.posts.jekyll_config else {
        return Ok(None);
    };
    let config = site.path(relative);
    let text = |key: &str, default: &'static str| {
        jekyll
            .get(key)
            .and_then(Json::as_str)
            .map_or(default.to_string(), str::to_string)
    };
    let folder = config
        .parent()
        .unwrap_or(Path::new("."))
        .join(text("source", "."))
        .join(text("data_dir", "_data"));
    if !folder.is_dir() {
        return Ok(None);
    }
    data_folder(site, &folder).map(Some)
}

fn data_folder(site: &Site, folder: &Path) -> Result<Json> {
    let mut entries: Vec<_> = fs_err::read_dir(folder)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    let mut map = Map::new();
    for path in entries {
        let (Some(stem), extension) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|e| e.to_str()),
        ) else {
            continue;
        };
        let mut value = match extension {
            _ if path.is_dir() => data_folder(site, &path)?,
            Some("yml" | "yaml") => yaml_file(site, &path)?,
            Some("json") => {
                let text = fs_err::read_to_string(&path)?;
                serde_json::from_str(&text).map_err(|e| {
                    Error::config(
                        site.shown(&path),
                        Some(e.line()),
                        format!("not valid JSON: {e}"),
                    )
                })?
            }
            Some("csv") => csv_rows(site, &path)?,
            _ => continue,
        };
        with_sibling_keys(&mut value);
        map.insert(stem.to_string(), value);
    }
    Ok(Json::Object(map))
}

/// Every map in a list given, as nil, the keys its siblings have: data
/// files leave optional fields out (`jobs:` for some graduates only), Ruby
/// Liquid reads a missing key as nil, and the liquid crate refuses it.
fn with_sibling_keys(value: &mut Json) {
    match value {
        Json::Array(items) => {
            let mut keys: Vec<String> = Vec::new();
            for item in items.iter() {
                if let Json::Object(map) = item {
                    for key in map.keys() {
                        if !keys.contains(key) {
                            keys.push(key.clone());
                        }
                    }
                }
            }
            for item in items.iter_mut() {
                if let Json::Object(map) = item {
                    for key in &keys {
                        map.entry(key.as_str()).or_insert(Json::Null);
                    }
                }
                with_sibling_keys(item);
            }
        }
        Json::Object(map) => map.values_mut().for_each(with_sibling_keys),
        _ => {}
    }
}

/// A CSV file's rows, each a map from the header's names to its fields.
fn csv_rows(site: &Site, path: &Path) -> Result<Json> {
    let problem = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        Error::config(site.shown(path), line, format!("not valid CSV: {e}"))
    };
    let mut reader = csv::Reader::from_path(path).map_err(problem)?;
    let header = reader.headers().map_err(problem)?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(problem)?;
        let row: Map<String, Json> = header
            .iter()
            .zip(record.iter())
            .map(|(name, field)| (name.to_string(), Json::String(field.to_string())))
            .collect();
        rows.push(Json::Object(row));
    }
    Ok(Json::Array(rows))
}

/// `collections.NAME.permalink` from the Jekyll config, for `{% link %}`.
pub fn collection_permalinks(site: &Site) -> Result<HashMap<String, String>> {
    let config = jekyll_config(site)?;
    let mut permalinks = HashMap::new();
    if let Some(Json::Object(collections)) = config.get("collections") {
        for (name, settings) in collections {
            if let Some(Json::String(permalink)) = settings.get("permalink") {
                permalinks.insert(name.clone(), permalink.clone());
            }
        }
    }
    Ok(permalinks)
}

pub fn site(site: &Site) -> Result<Value> {
    let mut map = jekyll_config(site)?;
    if let Some(data) = data(site, &map)? {
        map.insert("data".to_string(), data);
    }
    let config = &site.config.site;
    let url = url::Url::parse(&config.url).ok();
    let origin = url
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| config.url.clone());
    let base_path = url
        .as_ref()
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let defaults = [
        ("title", Json::String(config.title.clone())),
        ("description", Json::String(config.description.clone())),
        ("url", Json::String(origin)),
        ("baseurl", Json::String(base_path)),
        ("lang", Json::String(config.language.clone())),
        ("timezone", Json::String(config.timezone.name().to_string())),
        // GitHub Pages builds in safe mode, and Jekyll-Bootstrap's
        // `JB/setup` sets `BASE_PATH` only then.
        ("safe", Json::Bool(true)),
    ];
    for (key, value) in defaults {
        map.entry(key).or_insert(value);
    }
    for (key, value) in &site.config.posts.vars {
        map.insert(key.clone(), toml_to_json(value));
    }
    to_liquid(&Json::Object(map))
}

/// `site` with `site.posts`, every post's summary. Built only for a text
/// that may read it ([`reads_site_posts`]): at 10,000 posts it was a
/// twentieth of a build, spent before the first post could render.
pub fn with_posts(site: &Value, posts: &[Post], site_url: &str) -> Value {
    let mut site = site.clone();
    let mut summaries = Json::Array(posts.iter().map(|p| post_summary(p, site_url)).collect());
    // `{% if post.series == page.series %}` over posts some of which have
    // no `series`: nil there, as in Jekyll, not an unknown index.
    with_sibling_keys(&mut summaries);
    if let (Value::Object(map), Ok(posts)) = (&mut site, to_liquid(&summaries)) {
        map.insert("posts".into(), posts);
    }
    site
}

/// Whether a tag in `text` may read `site.posts`: one names `posts`, or
/// takes `site` whole (`{% assign s = site %}`, `{{ site | jsonify }}`).
/// An unclosed tag counts as reading it.
pub fn reads_site_posts(text: &str) -> bool {
    any_tag(text, |tag| {
        let whole_site = tag
            .match_indices("site")
            .any(|(at, _)| !tag[at + 4..].starts_with('.'));
        tag.contains("posts") || whole_site
    })
}

/// Whether `text` has a `post_url` or `link` tag, which looks up another
/// post's URL. An unclosed tag counts as one.
pub fn links_to_posts(text: &str) -> bool {
    any_tag(text, |tag| {
        let Some(inner) = tag.strip_prefix("{%") else {
            return false;
        };
        let name = inner
            .trim_start_matches(|c: char| c == '-' || c.is_whitespace())
            .split(|c: char| c.is_whitespace() || c == '-' || c == '%')
            .next()
            .unwrap_or("");
        name == "post_url" || name == "link"
    })
}

/// Whether any `{{ ... }}` or `{% ... %}` in `text` (given from its opening
/// braces to just before its closing ones) satisfies `test`; an unclosed
/// one does.
fn any_tag(text: &str, test: impl Fn(&str) -> bool) -> bool {
    let mut rest = text;
    // Each `{` is looked for once: searching for `{{` and `{%` separately
    // went through the rest of the text twice per tag.
    while let Some(brace) = rest.find('{') {
        let after = &rest[brace + 1..];
        let close = match after.as_bytes().first() {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let Some(len) = rest[brace..].find(close) else {
            return true;
        };
        if test(&rest[brace..brace + len]) {
            return true;
        }
        rest = &rest[brace + len..];
    }
    false
}

/// A post's URL as Jekyll's `url`: the path under the site's url and
/// baseurl, so `{{ site.baseurl }}{{ post.url }}` and `{{ post.url |
/// absolute_url }}` give the full address as they do in Jekyll.
fn jekyll_url<'a>(post: &'a Post, site_url: &str) -> &'a str {
    post.url
        .strip_prefix(site_url.trim_end_matches('/'))
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(&post.url)
}

/// A post as `site.posts` lists it: its front matter (`post.series`,
/// `post.description`), and what Jekyll computes over it.
fn post_summary(post: &Post, site_url: &str) -> Json {
    let mut map = post.front_matter.fields();
    let computed = serde_json::json!({
        "title": post.title,
        "url": jekyll_url(post, site_url),
        "collection": "posts",
        "id": post.feed_id(),
        "date": post.date.format("%Y-%m-%d %H:%M:%S %z").to_string(),
        "slug": post.slug,
        "tags": post.tags,
        "categories": post.categories,
    });
    if let Json::Object(computed) = computed {
        map.extend(computed);
    }
    Json::Object(map)
}

pub fn page(post: &Post, site_url: &str) -> Value {
    let mut map = post.front_matter.fields();
    let name = post
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fields = [
        ("title", Json::String(post.title.clone())),
        ("url", Json::String(jekyll_url(post, site_url).to_string())),
        ("collection", Json::String("posts".into())),
        ("id", Json::String(post.feed_id().to_string())),
        (
            "date",
            Json::String(post.date.format("%Y-%m-%d %H:%M:%S %z").to_string()),
        ),
        ("slug", Json::String(post.slug.clone())),
        (
            "path",
            Json::String(post.path.to_string_lossy().into_owned()),
        ),
        ("name", Json::String(name)),
        ("tags", Json::from(post.tags.clone())),
        ("categories", Json::from(post.categories.clone())),
    ];
    for (key, value) in fields {
        map.insert(key.into(), value);
    }
    to_liquid(&Json::Object(map)).unwrap_or(Value::Nil)
}

pub fn jekyll() -> Value {
    let mut object = Object::new();
    object.insert("environment".into(), Value::scalar("production"));
    object.insert("version".into(), Value::scalar("4.3.0"));
    Value::Object(object)
}

/// `[posts.vars]`, visible by their bare names.
pub fn vars(site: &Site) -> Vec<(String, Value)> {
    site.config
        .posts
        .vars
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), to_liquid(&toml_to_json(value)).ok()?)))
        .collect()
}

/// Defines `path` inside `value` as nil, making objects on the way.
/// False where the path runs through something that is not an object.
pub fn define(value: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for key in parents {
        // `a.b` where `a` is nil: in Jekyll that is nil too.
        if current.is_nil() {
            *current = Value::Object(Object::new());
        }
        let Value::Object(object) = current else {
            return false;
        };
        current = object
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Object::new()));
    }
    if current.is_nil() {
        *current = Value::Object(Object::new());
    }
    match current {
        Value::Object(object) => {
            object.insert(last.clone().into(), Value::Nil);
            true
        }
        _ => false,
    }
}

/// `key` as nil in every map that `site.posts` or `site.data` lists and
/// that lacks it, for a loop's item (`{{ post.subtitle }}` when no post has
/// one): nil, as in Jekyll. False when no map was missing it.
pub fn define_in_items(site: &mut Value, key: &str) -> bool {
    fn in_lists(value: &mut Value, key: &str) -> bool {
        match value {
            Value::Array(items) => items.iter_mut().fold(false, |defined, item| {
                let here = match item {
                    Value::Object(map) if !map.contains_key(key) => {
                        map.insert(key.to_string().into(), Value::Nil);
                        true
                    }
                    _ => false,
                };
                in_lists(item, key) | here | defined
            }),
            Value::Object(map) => map
                .values_mut()
                .fold(false, |defined, value| in_lists(value, key) | defined),
            _ => false,
        }
    }
    let Value::Object(site) = site else {
        return false;
    };
    let mut defined = false;
    for list in ["posts", "data"] {
        if let Some(list) = site.get_mut(list) {
            defined |= in_lists(list, key);
        }
    }
    defined
}

fn to_liquid(json: &Json) -> Result<Value> {
    liquid_core::to_value(json).map_err(|e| Error::Message(format!("Liquid variables: {e}")))
}

fn toml_to_json(value: &toml::Value) -> Json {
    match value {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => Json::from(*f),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
