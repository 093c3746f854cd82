//! Jekyll compatibility: a post's Liquid rendered before Markdown, with the
//! `liquid` crate (Jekyll's include tag and array filters from liquid-lib,
//! the rest of Jekyll's tags and filters in `tags` and `filters`).
//!
//! Jekyll is lenient where liquid-rust is strict, and real blogs depend on
//! it: an unknown variable renders as nothing, and a plugin's tag or filter
//! herald does not have must not stop the build. So an unknown tag becomes a
//! silent tag, an unknown filter passes its input through, and an unknown
//! variable is defined as nil and the post rendered again, each with a
//! warning naming the file and line. A missing include is dropped with one
//! warning per name for the whole build. Nothing of `{%` or `{{` reaches the
//! output unless the post asked for it with `{% raw %}`.

mod arrays;
mod bounded;
mod compat;
mod filters;
mod fold;
mod globals;
mod limits;
mod loops;
mod tags;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use liquid_core::ParseFilter;
use liquid_core::model::Value;
use liquid_core::parser::Language;
use liquid_core::partials::{PartialCompiler, PartialSource};
use liquid_core::runtime::{PartialStore, Renderable};

use crate::error::{Problem, Result};
use crate::post::Post;
use crate::site::Site;
use globals::Globals;
pub use globals::jekyll_config;

pub struct Engine<'a> {
    parser: RwLock<Parsing>,
    /// Names of unknown tags and filters met so far, and so made lenient.
    unknown: Mutex<UnknownNames>,
    /// Names already warned about (unknown tags, filters, missing includes).
    warned: Mutex<HashSet<String>>,
    links: Arc<tags::Links>,
    includes: Includes,
    /// `site` without `site.posts`, and with it for the texts that read it.
    site: Value,
    site_with_posts: OnceLock<Value>,
    posts: &'a [Post],
    /// An include may read `site.posts`, so every post gets it.
    includes_read_posts: bool,
    /// An include looks up other posts' URLs (`post_url`, `link`).
    includes_link_posts: bool,
    jekyll: Value,
    vars: Vec<(String, Value)>,
}

#[derive(Default)]
struct UnknownNames {
    tags: BTreeSet<&'static str>,
    filters: BTreeSet<&'static str>,
}

#[derive(Clone, Copy)]
enum Unknown {
    Tag,
    Filter,
}

pub struct Output {
    pub text: String,
    pub warnings: Vec<Problem>,
}

thread_local! {
    /// Includes asked for but missing while rendering the current post.
    static MISSING_INCLUDES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Includes asked for but refused (nested too deep) while rendering the current post.
    static REFUSED_INCLUDES: RefCell<Vec<Problem>> = const { RefCell::new(Vec::new()) };
}

/// The include folder's files, read once. A missing name renders as
/// nothing and is noted for a warning.
#[derive(Debug, Clone, Default)]
struct Includes {
    files: Arc<HashMap<String, String>>,
    /// Files that failed the nesting check, with why: never given to the parser.
    refused: Arc<HashMap<String, Problem>>,
    /// What cuts the files' long whitespace runs (see `compat`).
    marker: Option<char>,
}

impl PartialSource for Includes {
    fn contains(&self, _name: &str) -> bool {
        true
    }

    fn names(&self) -> Vec<&str> {
        self.files.keys().map(String::as_str).collect()
    }

    fn try_get<'a>(&'a self, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        if let Some(problem) = self.refused.get(name) {
            REFUSED_INCLUDES.with(|refused| refused.borrow_mut().push(problem.clone()));
            return Some("".into());
        }
        match self.files.get(name) {
            Some(text) => Some(text.as_str().into()),
            None => {
                MISSING_INCLUDES.with(|missing| missing.borrow_mut().push(name.to_string()));
                Some("".into())
            }
        }
    }
}

/// The includes, each parsed on its first use and kept for the parser's
/// life (liquid's `OnDemandCompiler` parsed an include again for every
/// post using it: `{% include JB/setup %}` in nine posts of ten). A name
/// missing or refused is not kept: each use notes it for its own post.
impl PartialCompiler for Includes {
    fn compile(
        self,
        language: Arc<Language>,
    ) -> liquid_core::Result<Box<dyn PartialStore + Send + Sync>> {
        Ok(Box::new(ParsedIncludes {
            language,
            source: self,
            kept: RwLock::new(HashMap::new()),
        }))
    }

    fn source(&self) -> &dyn PartialSource {
        self
    }
}

struct ParsedIncludes {
    language: Arc<Language>,
    source: Includes,
    kept: RwLock<HashMap<String, Arc<dyn Renderable>>>,
}

impl ParsedIncludes {
    fn parse(&self, name: &str, text: &str) -> liquid_core::Result<Arc<dyn Renderable>> {
        let template: Arc<dyn Renderable> = Arc::new(liquid_core::runtime::Template::new(
            liquid_core::parser::parse(text, &self.language)?,
        ));
        let keep = self.source.files.contains_key(name) && !self.source.refused.contains_key(name);
        if keep {
            self.kept
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_string(), template.clone());
        }
        Ok(template)
    }

    fn kept(&self, name: &str) -> Option<Arc<dyn Renderable>> {
        self.kept
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

impl std::fmt::Debug for ParsedIncludes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl PartialStore for ParsedIncludes {
    fn contains(&self, name: &str) -> bool {
        self.source.contains(name)
    }

    fn names(&self) -> Vec<&str> {
        self.source.names()
    }

    fn try_get(&self, name: &str) -> Option<Arc<dyn Renderable>> {
        if let Some(template) = self.kept(name) {
            return Some(template);
        }
        let text = self.source.try_get(name)?;
        self.parse(name, &text).ok()
    }

    fn get(&self, name: &str) -> liquid_core::Result<Arc<dyn Renderable>> {
        if let Some(template) = self.kept(name) {
            return Ok(template);
        }
        let text = self.source.get(name)?;
        self.parse(name, &text)
    }
}

/// A parser, and the texts it has parsed. Once its prose is folded away
/// (see `fold`), many posts' text for Liquid is the same (`{% include
/// JB/setup %}` and a placeholder, in a Jekyll-Bootstrap blog), and a
/// template is the same whichever post it renders: such a text is parsed
/// once per build, not once per post. Made anew with the parser, since an
/// unknown name made lenient changes what a text parses to.
struct Parsing {
    parser: liquid::Parser,
    kept: Mutex<KeptTexts>,
}

/// Parsed texts, and the hashes of texts met once: a text is kept when
/// it comes a second time, so texts of one post never fill the room.
#[derive(Default)]
struct KeptTexts {
    parsed: HashMap<String, Arc<liquid::Template>>,
    seen: HashSet<u64>,
}

/// Texts longer than this are not kept: a folded text is a few tags and
/// placeholders, and a long one is unlikely to come again.
const MAX_KEPT_TEXT: usize = 2048;
/// Parsed texts kept, and texts met once remembered, at most: memory
/// stays bounded (a few MB) on any blog.
const MAX_KEPT: usize = 512;
const MAX_SEEN: usize = 65_536;

impl Parsing {
    fn new(parser: liquid::Parser) -> Parsing {
        Parsing {
            parser,
            kept: Mutex::new(KeptTexts::default()),
        }
    }

    fn parse(&self, text: &str) -> Result<Arc<liquid::Template>, liquid::Error> {
        let kept = || self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(template) = kept().parsed.get(text) {
            return Ok(template.clone());
        }
        let template = Arc::new(self.parser.parse(text)?);
        if text.len() <= MAX_KEPT_TEXT {
            let hash = {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                text.hash(&mut hasher);
                hasher.finish()
            };
            let mut kept = kept();
            if kept.seen.contains(&hash) {
                if kept.parsed.len() < MAX_KEPT {
                    kept.parsed.insert(text.to_string(), template.clone());
                }
            } else if kept.seen.len() < MAX_SEEN {
                kept.seen.insert(hash);
            }
        }
        Ok(template)
    }
}

/// How many times one post may be rendered again after defining a missing variable.
const RETRIES: usize = 32;
/// How many unknown tags and filters one post may use (each costs a parse).
const MAX_UNKNOWN_NAMES: usize = 64;

impl<'a> Engine<'a> {
    pub fn new(site: &'a Site) -> Result<Engine<'a>> {
        let config = &site.config;
        let links = Arc::new(tags::Links {
            site_url: config.site.url.clone(),
            posts: site
                .posts
                .iter()
                .filter_map(|p| Some((p.path.file_stem()?.to_str()?.to_string(), p.url.clone())))
                .collect(),
            collections: globals::collection_permalinks(site)?,
        });
        let includes = read_includes(&site.shown(&site.path(&config.posts.includes)), &site.root);
        let engine = Engine {
            parser: RwLock::new(Parsing::new(build_parser(&links, &includes, &[], &[])?)),
            unknown: Mutex::new(UnknownNames::default()),
            warned: Mutex::new(HashSet::new()),
            site: globals::site(site)?,
            site_with_posts: OnceLock::new(),
            posts: &site.posts,
            includes_read_posts: includes
                .files
                .values()
                .any(|t| globals::reads_site_posts(t)),
            includes_link_posts: includes.files.values().any(|t| globals::links_to_posts(t)),
            jekyll: globals::jekyll(),
            vars: globals::vars(site),
            links,
            includes,
        };
        Ok(engine)
    }

    /// Whether `body` (or every post, through an include) reads `site.posts`.
    pub fn reads_site_posts(&self, body: &str) -> bool {
        self.includes_read_posts || globals::reads_site_posts(body)
    }

    /// Whether `body` (or an include it may use) looks up other posts' URLs.
    pub fn links_to_posts(&self, body: &str) -> bool {
        (self.includes_link_posts && body.contains("{%")) || globals::links_to_posts(body)
    }

    /// Adds the includes (names and text, in name order) to `hasher`.
    pub fn digest(&self, hasher: &mut sha2::Sha256) {
        use sha2::Digest;
        let mut files: Vec<(&String, &String)> = self.includes.files.iter().collect();
        files.sort();
        for (name, text) in files {
            hasher.update(format!("{}:{name}:{}:", name.len(), text.len()));
            hasher.update(text);
        }
        let mut refused: Vec<&String> = self.includes.refused.keys().collect();
        refused.sort();
        hasher.update(format!("{refused:?}{:?}", self.includes.marker));
    }

    /// Renders a post's Liquid; problems (syntax errors, unknown posts in
    /// `post_url`) carry the file and line.
    pub fn render(&self, post: &Post) -> Result<Output, Vec<Problem>> {
        let body = post.body().map_err(|p| vec![p])?;
        self.render_text(post, &body)
    }

    /// Renders `body`, the text of `post` (read by the caller). The liquid
    /// crate may panic on input nobody foresaw; that is one post's problem,
    /// not the end of the build.
    ///
    /// Only the span from the first tag to the last is given to Liquid: the
    /// text around it is Liquid's own output unchanged, and parsing it was
    /// most of a build's time on blogs whose posts open with one include.
    pub fn render_text(&self, post: &Post, body: &str) -> Result<Output, Vec<Problem>> {
        let span = liquid_span(body);
        let lines_before = body[..span.start].matches('\n').count();
        let shift = |problems: Vec<Problem>| -> Vec<Problem> {
            problems
                .into_iter()
                .map(|mut p| {
                    p.line = p.line.map(|l| l + lines_before);
                    p
                })
                .collect()
        };
        let out = self
            .render_folded(post, &body[span.clone()])
            .map_or_else(|| self.render_guarded(post, &body[span.clone()], None), Ok)
            .map_err(shift)?;
        Ok(Output {
            text: [&body[..span.start], &out.text, &body[span.end..]].concat(),
            warnings: shift(out.warnings),
        })
    }

    /// The post rendered with its prose folded away (see `fold`), or
    /// `None` where it must be rendered whole: folding does not apply, or
    /// the folded render failed (the whole text gives the exact message).
    fn render_folded(&self, post: &Post, body: &str) -> Option<Output> {
        let folded = fold::fold(body)?;
        let out = self.render_guarded(post, &folded.text, Some(body)).ok()?;
        let text = folded.unfold(&out.text)?;
        // Folded text is smaller, so the output limit is checked again on the real size.
        (text.len() <= limits::MAX_OUTPUT).then_some(Output {
            text,
            warnings: out.warnings,
        })
    }

    /// Renders `body`; `folded_from` is the text it was folded from, where
    /// messages find their lines.
    fn render_guarded(
        &self,
        post: &Post,
        body: &str,
        folded_from: Option<&str>,
    ) -> Result<Output, Vec<Problem>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.render_unguarded(post, body, folded_from)
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(vec![Problem::new(
                &post.path,
                Some(post.body_line),
                format!(
                    "Liquid failed on this post ({why}); check its {{% %}} and {{{{ }}}} markup"
                ),
            )])
        })
    }

    fn render_unguarded(
        &self,
        post: &Post,
        body: &str,
        folded_from: Option<&str>,
    ) -> Result<Output, Vec<Problem>> {
        limits::start_post();
        if let Err(e) = limits::check_nesting(body) {
            return Err(vec![Problem::new(
                &post.path,
                Some(post.body_line + e.line),
                e.message,
            )]);
        }
        let mut warnings = Vec::new();
        let Some(marker) = compat::unused_marker(body) else {
            return Err(vec![Problem::file(
                &post.path,
                "the post holds every Unicode noncharacter U+FDD0 to U+FDEF; they mean nothing in text, remove them",
            )]);
        };
        // A folded text that does not parse as it is goes whole (the caller
        // renders it again): its messages and leniency are found there.
        let template = self.parse(post, body, marker, folded_from.is_some(), &mut warnings)?;
        // Lines are looked up in the post's own text.
        let body = folded_from.unwrap_or(body);
        let mut page = globals::page(post, &self.links.site_url);
        let base_site = if self.includes_read_posts || globals::reads_site_posts(body) {
            self.site_with_posts
                .get_or_init(|| globals::with_posts(&self.site, self.posts, &self.links.site_url))
        } else {
            &self.site
        };
        let mut site: Option<Value> = None;
        let mut extra: Vec<(String, Value)> = Vec::new();
        let mut defined_paths: Vec<String> = Vec::new();
        MISSING_INCLUDES.with(|m| m.borrow_mut().clear());
        REFUSED_INCLUDES.with(|r| r.borrow_mut().clear());
        for _ in 0..RETRIES {
            let globals = Globals {
                site: site.as_ref().unwrap_or(base_site),
                page: &page,
                jekyll: &self.jekyll,
                vars: &self.vars,
                extra: &extra,
            };
            let mut out = limits::Bounded::default();
            match template.render_to(&mut out, &globals) {
                Ok(()) => {
                    let refused = REFUSED_INCLUDES.with(|r| std::mem::take(&mut *r.borrow_mut()));
                    if !refused.is_empty() {
                        return Err(refused);
                    }
                    self.warn_missing_includes(post, body, &mut warnings);
                    let mut text = String::from_utf8_lossy(&out.bytes).replace(marker, "");
                    if let Some(marker) = self.includes.marker {
                        text = text.replace(marker, "");
                    }
                    return Ok(Output { text, warnings });
                }
                Err(_) if out.exceeded => {
                    return Err(vec![Problem::new(
                        &post.path,
                        Some(post.body_line),
                        limits::output_message(),
                    )]);
                }
                Err(e) => {
                    let message = e.to_string().replace(marker, "");
                    let Some(missing) = Missing::from_error(&message) else {
                        let line = error_line(post, body, &message);
                        return Err(vec![self.problem(post, &message, line)]);
                    };
                    let line = line_of(post, body, &missing.needle());
                    // `a.b.c` after `a` was found missing is the same mistake.
                    let path = missing.path();
                    let repeated = defined_paths
                        .iter()
                        .any(|p: &String| path.starts_with(&format!("{p}.")));
                    // Only what the post itself names: a theme's include testing a
                    // setting nobody set (`site.JB.setup` in Jekyll-Bootstrap's
                    // setup, included by every post) is how Liquid asks whether
                    // a value is there, and Jekyll says nothing of it; nor of an
                    // include's parameter left out (`include.caption`).
                    let own = missing.root != "include"
                        && memchr::memmem::find(body.as_bytes(), path.as_bytes()).is_some();
                    defined_paths.push(path);
                    if !repeated && own {
                        warnings.push(Problem::new(
                            &post.path,
                            line,
                            format!(
                                "Liquid: `{}` is not defined; it renders as nothing",
                                missing.path()
                            ),
                        ));
                    }
                    let defined = match missing.root.as_str() {
                        "site" => globals::define(
                            site.get_or_insert_with(|| base_site.clone()),
                            &missing.rest,
                        ),
                        "page" => globals::define(&mut page, &missing.rest),
                        _ if missing.rest.is_empty() => {
                            extra.push((missing.root.clone(), Value::Nil));
                            true
                        }
                        // `include.x` outside an include, or below a name found missing before.
                        root => match extra.iter_mut().find(|(name, _)| name == root) {
                            Some((_, value)) => globals::define(value, &missing.rest),
                            // A loop's item, `post.subtitle` over `site.posts`.
                            None => {
                                let [key] = missing.rest.as_slice() else {
                                    return Err(vec![self.problem(post, &message, line)]);
                                };
                                let site = site.get_or_insert_with(|| base_site.clone());
                                globals::define_in_items(site, key)
                            }
                        },
                    };
                    if !defined {
                        return Err(vec![self.problem(post, &message, line)]);
                    }
                }
            }
        }
        Err(vec![Problem::file(
            &post.path,
            "Liquid: too many undefined variables",
        )])
    }

    /// Parses a post, making each unknown tag or filter lenient on the way;
    /// `folded` text that does not parse at once fails with no message.
    fn parse(
        &self,
        post: &Post,
        body: &str,
        marker: char,
        folded: bool,
        warnings: &mut Vec<Problem>,
    ) -> Result<Arc<liquid::Template>, Vec<Problem>> {
        let mut text = compat::break_whitespace_runs(&compat::quote_path_arguments(body), marker);
        // Each round makes one more unknown name lenient, or one output lax,
        // and parses again.
        for _ in 0..MAX_UNKNOWN_NAMES {
            let parsed = self.read_parser().parse(&text);
            let e = match parsed {
                Ok(template) => return Ok(template),
                Err(_) if folded => return Err(Vec::new()),
                Err(e) => e.to_string().replace(marker, ""),
            };
            let line = error_line(post, body, &e);
            if e.contains("Unknown tag") {
                let Some(name) = context(&e, "requested") else {
                    return Err(vec![self.problem(post, &e, line)]);
                };
                // A tag whose arguments were dropped is not quoted as written.
                let line = line.or_else(|| line_of(post, body, &format!("{{% {name} ")));
                self.warn_once(
                    &format!("tag {name}"),
                    || {
                        Problem::new(
                            &post.path,
                            line,
                            format!(
                                "Liquid: unknown tag `{{% {name} %}}` is left out (warned once)"
                            ),
                        )
                    },
                    warnings,
                );
                self.lenient(Unknown::Tag, name)?;
            } else if e.contains("Unknown filter") {
                let Some(name) = context(&e, "requested filter") else {
                    return Err(vec![self.problem(post, &e, line)]);
                };
                let line = line_of(post, body, name);
                self.warn_once(&format!("filter {name}"), || {
                    Problem::new(&post.path, line, format!("Liquid: unknown filter `{name}` passes its input through (warned once)"))
                }, warnings);
                self.lenient(Unknown::Filter, name)?;
            } else if let Some(fixed) = compat::unknown_tag_arguments(&text, &e) {
                // Parsed again, the tag is an unknown one, warned about and left out.
                text = fixed;
            } else if let Some((fixed, written, read_as)) = compat::lax_output(&text, &e) {
                let written = written.replace(marker, "");
                let line = line.or_else(|| line_of(post, body, &written));
                let read_as = match read_as.as_str() {
                    "" => "left out".to_string(),
                    _ => format!("read as `{read_as}`"),
                };
                warnings.push(Problem::new(
                    &post.path,
                    line,
                    format!("Liquid: `{written}` is not valid Liquid; {read_as}, as Jekyll's lax mode does"),
                ));
                text = fixed;
            } else {
                return Err(vec![self.problem(post, &e, line)]);
            }
        }
        Err(vec![Problem::file(
            &post.path,
            format!("Liquid: more than {MAX_UNKNOWN_NAMES} unknown tags and filters in one post"),
        )])
    }

    fn read_parser(&self) -> std::sync::RwLockReadGuard<'_, Parsing> {
        self.parser
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a name lenient: the parser is rebuilt with it. The names stay
    /// locked until the new parser is in place, so a thread that finds its
    /// name there can parse again at once, and no rebuild from an older
    /// list of names replaces a newer one (two threads adding two names
    /// at once lost one, and the post meeting it went round until it gave
    /// up with "more than 64 unknown tags").
    fn lenient(&self, kind: Unknown, name: &str) -> Result<(), Vec<Problem>> {
        let mut names = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        let set = match kind {
            Unknown::Tag => &mut names.tags,
            Unknown::Filter => &mut names.filters,
        };
        if set.contains(name) {
            return Ok(());
        }
        // The tag registry wants `&'static str`: one small leak per distinct unknown name.
        set.insert(Box::leak(name.to_string().into_boxed_str()));
        let tags: Vec<&'static str> = names.tags.iter().copied().collect();
        let filters: Vec<&'static str> = names.filters.iter().copied().collect();
        let parser = build_parser(&self.links, &self.includes, &tags, &filters)
            .map_err(|e| vec![Problem::file("Liquid", e.to_string())])?;
        *self.parser.write().unwrap_or_else(|p| p.into_inner()) = Parsing::new(parser);
        Ok(())
    }

    fn warn_once(&self, key: &str, problem: impl FnOnce() -> Problem, warnings: &mut Vec<Problem>) {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.insert(key.to_string()) {
            warnings.push(problem());
        }
    }

    fn warn_missing_includes(&self, post: &Post, body: &str, warnings: &mut Vec<Problem>) {
        let missing = MISSING_INCLUDES.with(|m| std::mem::take(&mut *m.borrow_mut()));
        for name in missing {
            let line = line_of(post, body, &name);
            self.warn_once(&format!("include {name}"), || {
                Problem::new(
                    &post.path,
                    line,
                    format!("Liquid: `{{% include {name} %}}` is left out: no such file in the includes folder (warned once)"),
                )
            }, warnings);
        }
    }

    fn problem(&self, post: &Post, message: &str, line: Option<usize>) -> Problem {
        Problem::new(
            &post.path,
            line.or(Some(post.body_line)),
            format!("Liquid: {}", summary(message)),
        )
    }
}

fn build_parser(
    links: &Arc<tags::Links>,
    includes: &Includes,
    unknown_tags: &[&'static str],
    unknown_filters: &[&'static str],
) -> Result<liquid::Parser> {
    let mut builder = liquid::ParserBuilder::with_stdlib()
        .tag(tags::Include)
        .tag(tags::PostUrl(links.clone()))
        .tag(tags::Link(links.clone()))
        .tag(tags::Gist)
        .block(tags::Highlight)
        .block(loops::LoopBlock(loops::Kind::For))
        .block(loops::LoopBlock(loops::Kind::TableRow))
        .block(bounded::CaptureBlock);
    let jekyll: Vec<Box<dyn ParseFilter>> = vec![
        Box::new(liquid_lib::jekyll::Slugify),
        Box::new(liquid_lib::jekyll::Pop),
        Box::new(liquid_lib::jekyll::Push),
        Box::new(liquid_lib::jekyll::Shift),
        Box::new(liquid_lib::jekyll::Unshift),
        Box::new(liquid_lib::jekyll::ArrayToSentenceString),
    ];
    let unknown = unknown_filters
        .iter()
        .map(|name| Box::new(filters::pass_through(name)) as Box<dyn ParseFilter>);
    for filter in filters::stdlib()
        .into_iter()
        .chain(jekyll)
        .chain(filters::jekyll(&links.site_url))
        .chain(arrays::filters())
        .chain(unknown)
    {
        builder = builder.filter(bounded::BoundedFilter(filter));
    }
    for name in unknown_tags {
        builder = builder.tag(tags::Silent(name));
    }
    builder
        .partials(includes.clone())
        .build()
        .map_err(|e| crate::error::Error::Message(format!("Liquid: {e}")))
}

/// Every file under the includes folder (`dir`, as messages name it, under
/// `root`), by its path inside it, prepared as a post's body is; a file
/// nested too deep is refused, with its line.
fn read_includes(dir: &Path, root: &Path) -> Includes {
    let mut texts = HashMap::new();
    let full = root.join(dir);
    if full.is_dir() {
        for entry in walkdir::WalkDir::new(&full)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            let Ok(name) = entry.path().strip_prefix(&full) else {
                continue;
            };
            if !entry.file_type().is_file() {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                texts.insert(name.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    let marker = compat::unused_marker(&texts.values().map(String::as_str).collect::<String>());
    let mut files = HashMap::new();
    let mut refused = HashMap::new();
    for (name, text) in texts {
        if let Err(e) = limits::check_nesting(&text) {
            let problem = Problem::new(dir.join(&name), Some(e.line + 1), e.message);
            refused.insert(name, problem);
            continue;
        }
        // Includes hold Jekyll's bare paths too (`{% include custom/setup %}`).
        let text = compat::quote_path_arguments(&text);
        let text = match marker {
            Some(marker) => compat::break_whitespace_runs(&text, marker),
            None => text.into_owned(),
        };
        files.insert(name, text);
    }
    Includes {
        files: Arc::new(files),
        refused: Arc::new(refused),
        marker,
    }
}

/// An undefined variable, from liquid's error: `foo` or `site.a.b`.
struct Missing {
    root: String,
    rest: Vec<String>,
}

impl Missing {
    fn from_error(message: &str) -> Option<Missing> {
        if message.contains("Unknown variable") {
            let name = context(message, "requested variable")?;
            return Some(Missing {
                root: name.to_string(),
                rest: Vec::new(),
            });
        }
        if message.contains("Unknown index") {
            let variable = context(message, "variable")?;
            let index = context(message, "requested index")?;
            let mut parts = variable.split('.').map(str::to_string);
            let root = parts.next()?;
            let mut rest: Vec<String> = parts.collect();
            rest.push(index.to_string());
            return Some(Missing { root, rest });
        }
        None
    }

    fn path(&self) -> String {
        std::iter::once(self.root.as_str())
            .chain(self.rest.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// What to look for in the post to find the line.
    fn needle(&self) -> String {
        self.rest
            .last()
            .cloned()
            .unwrap_or_else(|| self.root.clone())
    }
}

/// A value from liquid's error context (`    key=value`).
fn context<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        line.trim_start()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// The part of `body` Liquid must see: from the line of the first `{{` or
/// `{%` to the end of the last `}}` or `%}`, widened over the whitespace
/// around it that `{%-` and `-%}` may trim. Lines before it are whole, so
/// Liquid's line numbers only shift by their count.
fn liquid_span(body: &str) -> std::ops::Range<usize> {
    // Byte scans for the braces: a search for a two-byte string from the
    // end walks the whole post when the tags are all at its top.
    let bytes = body.as_bytes();
    let opens = |at: &usize| matches!(bytes.get(at + 1), Some(b'{' | b'%'));
    let Some(first) = memchr::memchr_iter(b'{', bytes).find(opens) else {
        return 0..0;
    };
    let before = body[..first].trim_end();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let last_open = memchr::memrchr_iter(b'{', bytes).find(opens);
    // Where the last `}}` or `%}` starts: one before the last `}` that ends one.
    let last_close = memchr::memrchr_iter(b'}', bytes)
        .find(|&at| at > 0 && matches!(bytes[at - 1], b'}' | b'%'))
        .map(|at| at - 1);
    let end = match (last_open, last_close) {
        (Some(open), Some(close)) if close > open => close + 2,
        _ => body.len(),
    };
    let end = body.len() - body[end..].trim_start().len();
    start..end
}

/// The file line of a parse error: the line pest numbers (`12 | text`)
/// when the post's line of that number holds the text quoted, else the
/// first line that does. Liquid parses a tag's arguments on their own, so
/// pest's number may count from the tag; and a tag can be quoted alone
/// (`3 | {% endfor %}` where a post ends) while an earlier line holds it too.
fn error_line(post: &Post, body: &str, message: &str) -> Option<usize> {
    let quoted = message.lines().find_map(|line| {
        let (number, text) = line.trim_start().split_once(" | ")?;
        let number = number.trim().parse::<usize>().ok()?;
        Some((number, text.trim())).filter(|(_, t)| !t.is_empty())
    });
    let numbered = quoted.and_then(|(number, text)| {
        let line = body.lines().nth(number.checked_sub(1)?)?;
        line.contains(text).then(|| post.body_line + number - 1)
    });
    // A name in quotes in the message (`no post named "x"`) is the next best clue.
    let named = message.split('"').nth(1).filter(|n| !n.is_empty());
    numbered
        .or_else(|| quoted.and_then(|(_, text)| line_of(post, body, text)))
        .or_else(|| named.and_then(|name| line_of(post, body, name)))
        .or_else(|| {
            message.lines().find_map(|line| {
                let position = line.trim_start().strip_prefix("--> ")?;
                let line: usize = position.split(':').next()?.trim().parse().ok()?;
                Some(post.body_line + line.saturating_sub(1))
            })
        })
}

/// The first line of a post's body mentioning `needle`, as a file line.
fn line_of(post: &Post, body: &str, needle: &str) -> Option<usize> {
    body.lines()
        .position(|line| line.contains(needle))
        .map(|i| post.body_line + i)
}

/// Liquid's first message line, without its "liquid:" prefix.
fn summary(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or(message);
    let first = first.strip_prefix("liquid:").unwrap_or(first).trim();
    // pest errors put the real reason a few lines down, after `= `.
    let reason = message
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("= "))
        .map(str::trim);
    match reason {
        Some(reason) if first.starts_with("-->") || first.is_empty() => reason.to_string(),
        Some(reason) => format!("{first}: {reason}"),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests;
