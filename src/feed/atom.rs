//! Atom 1.0 with atom_syndication: published, updated, summary (never
//! blank), content with xml:base, categories and authors.

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};

use super::{Context, content, full_content, plain, title};
use crate::html::xml_safe;
use crate::post::Author;

/// The feed's XML with these of its entries.
pub(super) fn document(
    ctx: &Context<'_>,
    entries: &[super::Entry<'_>],
) -> std::io::Result<Vec<u8>> {
    write(feed(ctx, entries))
}

fn write(feed: Feed) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(4096);
    // Indented for people who open the file.
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    feed.write_with_config(&mut bytes, config)
        .map_err(std::io::Error::other)?;
    Ok(bytes)
}

/// The document with this one entry, as [`document`] writes it, the
/// content escaped by [`super::content`] in place of its marker.
pub(super) fn one_entry_document(
    ctx: &Context<'_>,
    entry: &super::Entry<'_>,
) -> std::io::Result<Vec<u8>> {
    let whole = || document(ctx, std::slice::from_ref(entry));
    let Some(html) = full_content(ctx, entry.content) else {
        return whole();
    };
    let marked = write(feed_of(
        ctx,
        vec![entry_with(entry, Some(content::MARKER.to_string()))],
    ))?;
    match content::splice(&marked, &xml_safe(html), &content::XML_TEXT) {
        Some(bytes) => Ok(bytes),
        None => whole(),
    }
}

/// The feed with these of its entries: the rest of it (its `updated`
/// too) is the whole channel's.
fn feed(ctx: &Context<'_>, entries: &[super::Entry<'_>]) -> Feed {
    let entries = entries
        .iter()
        .map(|e| {
            let content = full_content(ctx, e.content).map(|html| xml_safe(html).into_owned());
            entry_with(e, content)
        })
        .collect();
    feed_of(ctx, entries)
}

fn feed_of(ctx: &Context<'_>, entries: Vec<Entry>) -> Feed {
    let site = &ctx.config.site;
    let updated = ctx
        .updated
        .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH.fixed_offset());
    Feed {
        title: Text::plain(plain(&ctx.channel.title)),
        id: ctx.self_url.clone(),
        updated,
        authors: vec![site_author(ctx)],
        links: vec![
            link(&ctx.self_url, "self", Some("application/atom+xml")),
            link(&ctx.home_url(), "alternate", Some("text/html")),
        ],
        subtitle: Some(Text::plain(plain(&ctx.description()))),
        generator: Some(Generator {
            value: "herald".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        lang: Some(site.language.clone()),
        entries,
        ..Feed::default()
    }
}

/// The entry of `entry`, its content's text `content` (made XML-safe).
fn entry_with(entry: &super::Entry<'_>, content: Option<String>) -> Entry {
    let post = entry.post;
    let rendered = entry.content;
    let summary = if rendered.excerpt.trim().is_empty() {
        Text::plain(title(post))
    } else {
        Text::html(xml_safe(&rendered.excerpt).into_owned())
    };
    let content = content.map(|value| Content {
        base: Some(post.url.clone()),
        lang: post.lang.clone(),
        value: Some(value),
        src: None,
        content_type: Some("html".into()),
    });
    Entry {
        title: Text::plain(title(post)),
        id: post.feed_id().to_string(),
        updated: entry.updated,
        published: Some(post.date),
        authors: post.authors.iter().map(person).collect(),
        categories: post
            .tags
            .iter()
            .chain(&post.categories)
            .map(|term| Category {
                term: plain(term),
                scheme: None,
                label: None,
            })
            .collect(),
        links: vec![link(&post.url, "alternate", Some("text/html"))],
        summary: Some(summary),
        content,
        ..Entry::default()
    }
}

/// The feed's author: the configured one, else the site itself (Atom needs one).
fn site_author(ctx: &Context<'_>) -> Person {
    match &ctx.config.site.author {
        Some(author) => Person {
            name: plain(&author.name),
            email: author.email.clone(),
            uri: author.url.clone(),
            ..Person::default()
        },
        None => Person {
            name: plain(&ctx.config.site.title),
            email: None,
            uri: Some(ctx.home_url()),
            ..Person::default()
        },
    }
}

fn person(author: &Author) -> Person {
    Person {
        name: plain(&author.name),
        email: author.email.clone(),
        uri: author.url.clone(),
        ..Person::default()
    }
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        ..Link::default()
    }
}
