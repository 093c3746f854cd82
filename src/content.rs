//! A post's body turned into what feeds and emails carry: Liquid (when on),
//! then Markdown, then portable HTML, for the whole post and its excerpt.
//!
//! Rendering is the costly step, so callers render only the posts that
//! reach an output, in parallel, through one [`Renderer`] per site.

use std::borrow::Cow;

use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Problem, Result};
use crate::post::Post;
use crate::shortcodes::{self, Generator, Targets};
use crate::site::Site;
use crate::{liquid, markdown};

/// A post ready to publish: both parts are portable HTML with absolute URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub html: String,
    /// Front matter summary, else the text before the excerpt separator, else
    /// the first paragraph. Empty only when the post has no paragraph at all.
    pub excerpt: String,
}

/// What rendering one post gave: its content and any warnings.
pub struct Rendered {
    pub content: Content,
    pub warnings: Vec<Problem>,
}

pub struct Renderer<'a> {
    site: &'a Site,
    liquid: Option<liquid::Engine<'a>>,
    markdown: markdown::Flavour,
    /// A Hugo or Zola blog: shortcodes instead of Liquid.
    generator: Option<(Generator, Targets)>,
}

impl<'a> Renderer<'a> {
    pub fn new(site: &'a Site) -> Result<Renderer<'a>> {
        let generator = match &site.config.posts.jekyll_config {
            Some(_) => None,
            None => Generator::detect(&site.path(&site.config.posts.dir)),
        };
        let liquid = if site.config.posts.liquid && generator.is_none() {
            Some(liquid::Engine::new(site)?)
        } else {
            None
        };
        let markdown = match (&site.config.posts.jekyll_config, generator) {
            (Some(_), _) => markdown::Flavour::jekyll(&liquid::jekyll_config(site)?),
            // Hugo's goldmark makes typographic quotes by default.
            (None, Some(Generator::Hugo)) => markdown::Flavour {
                smart: true,
                ..markdown::Flavour::default()
            },
            _ => markdown::Flavour::default(),
        };
        Ok(Renderer {
            site,
            liquid,
            markdown,
            generator: generator.map(|g| (g, Targets::new(&site.posts))),
        })
    }

    /// Renders one post; problems (broken Liquid) are returned, all of them.
    pub fn render(&self, post: &Post) -> Result<Rendered, Vec<Problem>> {
        let body = post.body().map_err(|p| vec![p])?;
        self.render_body(post, body)
    }

    /// Renders `post` whose text is `body` (from [`Post::body`]).
    pub fn render_body(&self, post: &Post, body: Cow<'_, str>) -> Result<Rendered, Vec<Problem>> {
        // Text without `{{` or `{%` is its own rendering: most posts of most
        // blogs, and parsing them as templates was the larger part of a build.
        let (source, warnings) = match (&self.liquid, &self.generator) {
            (_, Some((generator, targets))) => {
                let out = shortcodes::render(post, &body, *generator, targets);
                (out.text, out.warnings)
            }
            (Some(engine), None) if body.contains("{{") || body.contains("{%") => {
                let out = engine.render_text(post, &body)?;
                (out.text, out.warnings)
            }
            _ => (body.into_owned(), Vec::new()),
        };
        let base = Url::parse(&post.url).map_err(|e| {
            vec![Problem::file(
                &post.path,
                format!("the post's URL {} is not valid: {e}", post.url),
            )]
        })?;
        let separator = self.site.config.posts.excerpt_separator.as_str();
        let portable = |text: &str| markdown::to_portable(text, self.markdown, &base);
        let (html, excerpt) = match (&post.summary, source.find(separator)) {
            (Some(summary), _) => (portable(&source), portable(summary)),
            (None, Some(end)) if !separator.is_empty() => {
                (portable(&source), portable(&source[..end]))
            }
            _ => markdown::to_portable_with_excerpt(&source, self.markdown, &base),
        };
        let content = Content { html, excerpt };
        Ok(Rendered { content, warnings })
    }

    /// Whether rendering `body` reads other posts' text (`site.posts` in
    /// Liquid), so that any post's change may change it.
    pub fn reads_other_posts(&self, body: &str) -> bool {
        self.liquid
            .as_ref()
            .is_some_and(|engine| engine.reads_site_posts(body))
    }

    /// Whether rendering `body` looks up other posts' URLs (`post_url`,
    /// `link`, shortcodes' `ref`, `@/` links), so that the list of posts
    /// ([`Renderer::post_list_digest`]) is part of what it depends on.
    pub fn links_to_posts(&self, body: &str) -> bool {
        match (&self.liquid, &self.generator) {
            (_, Some(_)) => shortcodes::links_to_posts(body),
            (Some(engine), None) => engine.links_to_posts(body),
            (None, None) => false,
        }
    }

    /// Adds to `hasher` everything besides a post's own file that every
    /// post's rendering depends on: the configuration, how Markdown and
    /// Liquid or shortcodes are read, and the includes.
    pub fn digest(&self, hasher: &mut Sha256) {
        let site = self.site;
        hasher.update(format!("{:?}", site.config));
        hasher.update(format!("{:?}", self.markdown));
        hasher.update(format!("{:?}", self.generator.as_ref().map(|(g, _)| g)));
        if let Some(jekyll) = &site.config.posts.jekyll_config {
            hasher.update(std::fs::read(site.path(jekyll)).unwrap_or_default());
        }
        if let Some(engine) = &self.liquid {
            engine.digest(hasher);
        }
    }

    /// Adds every post's path and URL to `hasher`: what a post that links
    /// to others depends on as well.
    pub fn post_list_digest(&self, hasher: &mut Sha256) {
        let site = self.site;
        for post in &site.posts {
            hasher.update(post.path.as_os_str().as_encoded_bytes());
            hasher.update([0]);
            hasher.update(&post.url);
            hasher.update([0]);
        }
    }
}
