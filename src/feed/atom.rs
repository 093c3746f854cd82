//! Atom 1.0 with atom_syndication: published, updated, summary (never
//! blank), content with xml:base, categories and authors.

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};

use super::{Context, full_content, plain, title};
use crate::html::xml_safe;
use crate::post::Author;

/// The feed's XML with these of its entries.
pub(super) fn document(
    ctx: &Context<'_>,
    entries: &[super::Entry<'_>],
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(4096);
    // Indented for people who open the file.
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    feed(ctx, entries)?
        .write_with_config(&mut bytes, config)
        .map_err(std::io::Error::other)?;
    Ok(bytes)
}

/// The feed with these of its entries: the rest of it (its `updated`
/// too) is the whole channel's.
fn feed(ctx: &Context<'_>, entries: &[super::Entry<'_>]) -> std::io::Result<Feed> {
    let site = &ctx.config.site;
    let updated = ctx
        .updated
        .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH.fixed_offset());
    Ok(Feed {
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
        entries: entries
            .iter()
            .map(|e| entry(ctx, e))
            .collect::<std::io::Result<_>>()?,
        ..Feed::default()
    })
}

fn entry(ctx: &Context<'_>, entry: &super::Entry<'_>) -> std::io::Result<Entry> {
    let post = entry.post;
    let rendered = entry.content;
    let summary = if rendered.excerpt.trim().is_empty() {
        Text::plain(title(post))
    } else {
        Text::html(xml_safe(&rendered.excerpt).into_owned())
    };
    let content = full_content(ctx, rendered).map(|html| Content {
        base: Some(post.url.clone()),
        lang: post.lang.clone(),
        value: Some(xml_safe(html).into_owned()),
        src: None,
        content_type: Some("html".into()),
    });
    Ok(Entry {
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
    })
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
