//! Jekyll's tags on the liquid crate: `include`, `highlight`, `link`,
//! `post_url`, `gist`, and a silent tag standing in for plugin tags herald
//! does not know (`{% seo %}`, `{% youtube %}`), which are warned about
//! instead.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use liquid_core::error::ResultLiquidExt;
use liquid_core::model::{KString, Object, Value};
use liquid_core::runtime::StackFrame;
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, ParseTag, Renderable, Result,
    Runtime, TagBlock, TagReflection, TagTokenIter, Template,
};

use crate::html::escape;

/// What tags need to know about the site to turn names into URLs.
#[derive(Debug, Default)]
pub struct Links {
    /// The site's absolute URL, without a trailing slash.
    pub site_url: String,
    /// Post URLs by file stem (`2013-05-06-jekyll-1-0-0-released`).
    pub posts: HashMap<String, String>,
    /// Collection permalink patterns from Jekyll's `_config.yml`.
    pub collections: HashMap<String, String>,
}

impl Links {
    fn post(&self, name: &str) -> Option<&String> {
        let name = name.trim().trim_end_matches('/');
        let stem = name.rsplit('/').next().unwrap_or(name);
        let stem = stem
            .strip_suffix(".md")
            .or_else(|| stem.strip_suffix(".markdown"))
            .unwrap_or(stem);
        self.posts.get(stem)
    }

    /// Jekyll's `{% link path %}`: the URL of a post, a collection document
    /// or a page, given its source path.
    fn link(&self, path: &str) -> Option<String> {
        let path = path.trim().trim_start_matches('/');
        if path.starts_with("_posts/") {
            return self.post(path).cloned();
        }
        let without_ext = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
        let relative = match path.strip_prefix('_').and_then(|p| p.split_once('/')) {
            Some((collection, rest)) => {
                let rest = rest.rsplit_once('.').map_or(rest, |(stem, _)| stem);
                let pattern = self
                    .collections
                    .get(collection)
                    .map_or("/:collection/:path:output_ext", String::as_str);
                pattern
                    .replace(":collection", collection)
                    .replace(":path", rest)
                    .replace(":name", rest.rsplit('/').next().unwrap_or(rest))
                    .replace(":output_ext", ".html")
            }
            None if without_ext == "index" => "/".to_string(),
            None => match without_ext.strip_suffix("/index") {
                Some(folder) => format!("/{folder}/"),
                None => format!("/{without_ext}.html"),
            },
        };
        Some(format!(
            "{}/{}",
            self.site_url,
            relative.trim_start_matches('/')
        ))
    }

    /// A URL of this site as Jekyll 4's `post_url` and `link` give it: the
    /// path, baseurl included (`/blog/2020/01/02/x/`). Links are made
    /// absolute after Markdown, like every other link of the post.
    fn path<'u>(&self, url: &'u str) -> &'u str {
        let origin_end = url
            .find("://")
            .and_then(|scheme| url[scheme + 3..].find('/').map(|p| scheme + 3 + p));
        match origin_end {
            Some(end) if url.starts_with(self.origin()) => &url[end..],
            _ => url,
        }
    }

    fn origin(&self) -> &str {
        let host_start = self.site_url.find("://").map_or(0, |i| i + 3);
        match self.site_url[host_start..].find('/') {
            Some(path) => &self.site_url[..host_start + path],
            None => &self.site_url,
        }
    }
}

/// All remaining argument text of a tag, string quotes removed (`compat`
/// quotes bare paths so the grammar accepts them).
fn rest(arguments: TagTokenIter<'_>) -> String {
    arguments
        .map(|token| token.as_str().trim_matches(['"', '\'']).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Output that is fixed at parse time.
#[derive(Debug)]
struct Text(String);

impl Renderable for Text {
    fn render_to(&self, writer: &mut dyn Write, _runtime: &dyn Runtime) -> Result<()> {
        writer
            .write_all(self.0.as_bytes())
            .map_err(|e| Error::with_msg(e.to_string()))
    }
}

macro_rules! tag_reflection {
    ($type:ty, $name:expr) => {
        impl TagReflection for $type {
            fn tag(&self) -> &str {
                $name
            }
            fn description(&self) -> &str {
                ""
            }
        }
    };
}

/// `{% post_url 2010-07-03-name %}`: the post's path, as in Jekyll 4; an
/// unknown post is an error, as in Jekyll.
#[derive(Debug, Clone)]
pub struct PostUrl(pub Arc<Links>);
tag_reflection!(PostUrl, "post_url");

impl ParseTag for PostUrl {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name = rest(arguments);
        match self.0.post(&name) {
            Some(url) => Ok(Box::new(Text(self.0.path(url).to_string()))),
            None => Err(Error::with_msg(format!(
                "post_url: no post named {name:?} (give the file name without extension, e.g. 2010-07-03-name)"
            ))),
        }
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// `{% link _posts/2016-07-26-name.md %}`, `{% link _docs/page.md %}`.
#[derive(Debug, Clone)]
pub struct Link(pub Arc<Links>);
tag_reflection!(Link, "link");

impl ParseTag for Link {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let path = rest(arguments);
        match self.0.link(&path) {
            Some(url) => Ok(Box::new(Text(self.0.path(&url).to_string()))),
            None => Err(Error::with_msg(format!("link: no post at {path:?}"))),
        }
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// `{% gist user/id [file] %}`: a link to the gist (feeds and mail run no scripts).
#[derive(Debug, Clone, Copy)]
pub struct Gist;
tag_reflection!(Gist, "gist");

impl ParseTag for Gist {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let args = rest(arguments);
        let id = args
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches('"');
        let url = format!("https://gist.github.com/{}", id.trim_start_matches('/'));
        Ok(Box::new(Text(format!(
            "<a href=\"{}\">{}</a>",
            escape(&url),
            escape(&url)
        ))))
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// How deep includes may nest. Jekyll stops at Liquid's nesting limit;
/// herald stops earlier, well before a thread's stack would run out, and a
/// file that includes itself ends here with an error instead of a crash.
pub const MAX_INCLUDE_DEPTH: usize = 24;

/// Jekyll's `{% include NAME key=value ... %}`: NAME is a path under the
/// includes folder, sub-folders too (`JB/setup`), and may hold `{{ }}`
/// (`{% include {{ page.kind }}.html %}`). The parameters are
/// `include.key`; everything else is the page's own scope, so an include's
/// `assign` is visible to the page after it, as in Jekyll.
#[derive(Debug, Clone, Copy)]
pub struct Include;
tag_reflection!(Include, "include");

impl ParseTag for Include {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let first = arguments.expect_next("a file name to include")?;
        let written = first.as_str().trim_matches(['"', '\'']).to_string();
        let name = if written.contains("{{") {
            IncludeName::Template(Template::new(liquid_core::parser::parse(
                &written, options,
            )?))
        } else {
            IncludeName::Fixed(written.clone())
        };
        let mut params = Vec::new();
        while let Ok(key) = arguments.expect_next("") {
            let key = key.expect_identifier().into_result()?.to_string();
            arguments
                .expect_next("`=` expected after a parameter name")?
                .expect_str("=")
                .into_result_custom_msg("an include parameter is written key=value")?;
            let value = arguments
                .expect_next("a value after `=`")?
                .expect_value()
                .into_result()?;
            params.push((KString::from(key), value));
        }
        arguments.expect_nothing()?;
        Ok(Box::new(IncludeFile {
            written,
            name,
            params,
        }))
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
enum IncludeName {
    Fixed(String),
    Template(Template),
}

#[derive(Debug)]
struct IncludeFile {
    written: String,
    name: IncludeName,
    params: Vec<(KString, Expression)>,
}

/// The includes being rendered, outermost first, for the depth limit.
#[derive(Debug, Default)]
struct IncludeStack(Vec<String>);

impl IncludeFile {
    fn name(&self, runtime: &dyn Runtime) -> Result<String> {
        match &self.name {
            IncludeName::Fixed(name) => Ok(name.clone()),
            IncludeName::Template(template) => Ok(template.render(runtime)?.trim().to_string()),
        }
    }
}

impl Renderable for IncludeFile {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let name = self.name(runtime)?;
        {
            let mut stack = runtime.registers().get_mut::<IncludeStack>();
            if stack.0.len() >= MAX_INCLUDE_DEPTH {
                let chain = stack.0.join(" -> ");
                return Err(Error::with_msg(format!(
                    "include \"{}\" nests deeper than {MAX_INCLUDE_DEPTH} includes ({chain} -> {name}); does a file include itself?",
                    self.written
                )));
            }
            stack.0.push(name.clone());
        }
        let rendered = self.render_partial(&name, writer, runtime);
        runtime.registers().get_mut::<IncludeStack>().0.pop();
        rendered
    }
}

impl IncludeFile {
    fn render_partial(
        &self,
        name: &str,
        writer: &mut dyn Write,
        runtime: &dyn Runtime,
    ) -> Result<()> {
        let mut params = Object::new();
        for (key, value) in &self.params {
            params.insert(key.clone(), value.evaluate(runtime)?.into_owned());
        }
        let mut frame = Object::new();
        if !self.params.is_empty() {
            frame.insert("include".into(), Value::Object(params));
        }
        let scope = StackFrame::new(runtime, &frame);
        let partial = scope
            .partials()
            .get(name)
            .trace_with(|| format!("{{% include {name} %}}").into())?;
        partial
            .render_to(writer, &scope)
            .trace_with(|| format!("{{% include {name} %}}").into())
    }
}

/// A tag herald does not know: it renders nothing. Its name is leaked once
/// per distinct unknown tag, because the registry wants `&'static str`.
#[derive(Debug, Clone, Copy)]
pub struct Silent(pub &'static str);

impl TagReflection for Silent {
    fn tag(&self) -> &str {
        self.0
    }
    fn description(&self) -> &str {
        ""
    }
}

impl ParseTag for Silent {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        drop(rest(arguments));
        Ok(Box::new(Text(String::new())))
    }

    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

/// `{% highlight LANG [linenos] %}...{% endhighlight %}`: a code block with
/// the language class, its text escaped. The content is Liquid, as in Jekyll
/// (`{% raw %}` inside keeps braces literal).
#[derive(Debug, Clone, Copy)]
pub struct Highlight;

impl BlockReflection for Highlight {
    fn start_tag(&self) -> &str {
        "highlight"
    }
    fn end_tag(&self) -> &str {
        "endhighlight"
    }
    fn description(&self) -> &str {
        ""
    }
}

impl ParseBlock for Highlight {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let args = rest(arguments);
        let language = args
            .split_whitespace()
            .next()
            .filter(|l| {
                l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-_#.".contains(c))
            })
            .map(str::to_string);
        let template = Template::new(
            tokens
                .parse_all(options)
                .trace_with(|| format!("{{% highlight {args} %}}").into())?,
        );
        tokens.assert_empty();
        Ok(Box::new(CodeBlock { language, template }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct CodeBlock {
    language: Option<String>,
    template: Template,
}

impl Renderable for CodeBlock {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let mut code = Vec::new();
        self.template.render_to(&mut code, runtime)?;
        let code = String::from_utf8_lossy(&code);
        let code = code.trim_matches(|c| c == '\n' || c == '\r');
        let class = self
            .language
            .as_ref()
            .map(|l| format!(" class=\"language-{}\"", escape(l)))
            .unwrap_or_default();
        // Its own HTML block for Markdown: it starts a line and ends one.
        write!(
            writer,
            "\n<pre><code{class}>{}</code></pre>\n",
            escape(code)
        )
        .map_err(|e| Error::with_msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links {
            site_url: "https://jekyllrb.com".into(),
            posts: [(
                "2017-03-02-jekyll-3-4-1-released".to_string(),
                "https://jekyllrb.com/news/2017/03/02/jekyll-3-4-1-released/".to_string(),
            )]
            .into(),
            collections: [("docs".to_string(), "/:collection/:path/".to_string())].into(),
        }
    }

    #[test]
    fn link_finds_posts_collection_documents_and_pages() {
        let links = links();
        assert_eq!(
            links
                .link("_posts/2017-03-02-jekyll-3-4-1-released.markdown")
                .unwrap(),
            "https://jekyllrb.com/news/2017/03/02/jekyll-3-4-1-released/"
        );
        assert_eq!(
            links.link("_docs/history.md").unwrap(),
            "https://jekyllrb.com/docs/history/"
        );
        assert_eq!(
            links.link("_tutorials/x.md").unwrap(),
            "https://jekyllrb.com/tutorials/x.html"
        );
        assert_eq!(
            links.link("about.md").unwrap(),
            "https://jekyllrb.com/about.html"
        );
        assert_eq!(
            links.link("blog/index.html").unwrap(),
            "https://jekyllrb.com/blog/"
        );
        assert!(links.link("_posts/nope.md").is_none());
    }

    #[test]
    fn tags_give_paths_under_the_site_origin() {
        let links = Links {
            site_url: "https://e.org/blog".into(),
            ..Links::default()
        };
        assert_eq!(links.path("https://e.org/blog/2020/x/"), "/blog/2020/x/");
        assert_eq!(links.path("https://other.org/x/"), "https://other.org/x/");
    }
}
