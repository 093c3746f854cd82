//! JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), written with serde.
//! Field order is fixed by the structs, so the bytes are deterministic.

use serde::Serialize;

use super::{Context, content, plain, title};

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    language: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author>,
    /// Last, so that a feed is its head, its items and its tail (see [`super::Entries`]).
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Author {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    url: &'a str,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    /// Only for a post without a body: JSON Feed needs one of the two.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
}

/// The feed's JSON with these of its items.
pub(super) fn document(
    ctx: &Context<'_>,
    entries: &[super::Entry<'_>],
) -> std::io::Result<Vec<u8>> {
    let items = entries.iter().map(|e| item(ctx, e)).collect();
    Ok(serde_json::to_vec_pretty(&feed(ctx, items))?)
}

/// The document with this one item, as [`document`] writes it, its
/// `content_html` escaped by [`super::content`] in place of its marker.
pub(super) fn one_entry_document(
    ctx: &Context<'_>,
    entry: &super::Entry<'_>,
) -> std::io::Result<Vec<u8>> {
    let mut marked = item(ctx, entry);
    let Some(html) = marked.content_html.replace(content::MARKER) else {
        return document(ctx, std::slice::from_ref(entry));
    };
    let bytes = serde_json::to_vec_pretty(&feed(ctx, vec![marked]))?;
    match content::splice(&bytes, html, &content::JSON_STRING) {
        Some(bytes) => Ok(bytes),
        None => document(ctx, std::slice::from_ref(entry)),
    }
}

fn feed<'a>(ctx: &'a Context<'_>, items: Vec<Item<'a>>) -> Feed<'a> {
    let site = &ctx.config.site;
    Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: plain(&ctx.channel.title),
        home_page_url: ctx.home_url(),
        feed_url: &ctx.self_url,
        description: plain(&ctx.channel.description),
        language: &site.language,
        authors: site
            .author
            .iter()
            .map(|a| Author {
                name: a.name.clone(),
                url: a.url.clone(),
            })
            .collect(),
        items,
    }
}

fn item<'a>(ctx: &Context<'_>, entry: &super::Entry<'a>) -> Item<'a> {
    let post = entry.post;
    let rendered = entry.content;
    let summary = Some(summary_text(&rendered.excerpt)).filter(|s| !s.is_empty());
    // Without content_html, JSON Feed needs content_text; the excerpt as HTML is the content then.
    let content_html = if ctx.full {
        &rendered.html
    } else {
        &rendered.excerpt
    };
    let content_html = Some(content_html.as_str()).filter(|html| !html.trim().is_empty());
    Item {
        id: post.feed_id(),
        url: &post.url,
        title: title(post),
        content_text: content_html.is_none().then_some(""),
        content_html,
        summary,
        date_published: post.date.to_rfc3339(),
        date_modified: post.updated.map(|d| d.to_rfc3339()),
        authors: post
            .authors
            .iter()
            .map(|a| Author {
                name: a.name.clone(),
                url: a.url.clone(),
            })
            .collect(),
        tags: post
            .tags
            .iter()
            .chain(&post.categories)
            .map(String::as_str)
            .collect(),
        language: post.lang.as_deref(),
    }
}

/// JSON Feed's summary is plain text: the excerpt without its markup.
fn summary_text(html: &str) -> String {
    plain(&crate::html::plain_text(html))
}
