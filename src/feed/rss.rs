//! RSS 2.0 with the rss crate: atom:link rel=self, description before
//! content:encoded, RFC 822 dates, categories, and the author as
//! `email (Name)` only when an email is known (else dc:creator, never both:
//! the W3C validator rejects a bare name in `author`).

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item};

use super::{Context, full_content, plain, title};
use crate::html::xml_safe;

/// The feed's XML with these of its items.
pub(super) fn document(
    ctx: &Context<'_>,
    entries: &[super::Entry<'_>],
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(4096);
    // Indented for people who open the file.
    channel(ctx, entries)?
        .pretty_write_to(&mut bytes, b' ', 2)
        .map_err(std::io::Error::other)?;
    Ok(bytes)
}

/// The channel with these of its items: the rest of it (its dates too) is
/// the whole channel's. Every namespace an item may use is declared here,
/// so the head is the same whichever items are in.
fn channel(ctx: &Context<'_>, entries: &[super::Entry<'_>]) -> std::io::Result<Channel> {
    let site = &ctx.config.site;
    let date = ctx.updated.map(|d| d.to_rfc2822());
    let namespaces: BTreeMap<String, String> = [
        ("atom", "http://www.w3.org/2005/Atom"),
        ("content", "http://purl.org/rss/1.0/modules/content/"),
        ("dc", "http://purl.org/dc/elements/1.1/"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(Channel {
        title: plain(&ctx.channel.title),
        link: ctx.home_url(),
        description: plain(&ctx.description()),
        language: Some(site.language.clone()),
        last_build_date: date.clone(),
        pub_date: date,
        generator: Some(format!("herald {}", env!("CARGO_PKG_VERSION"))),
        items: entries
            .iter()
            .map(|e| item(ctx, e))
            .collect::<std::io::Result<_>>()?,
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: ctx.self_url.clone(),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Link::default()
            }],
        }),
        namespaces,
        ..Channel::default()
    })
}

fn item(ctx: &Context<'_>, entry: &super::Entry<'_>) -> std::io::Result<Item> {
    let post = entry.post;
    let id = post.feed_id();
    let rendered = entry.content;
    let description = if rendered.excerpt.trim().is_empty() {
        title(post)
    } else {
        xml_safe(&rendered.excerpt).into_owned()
    };
    let emailed: Vec<String> = post
        .authors
        .iter()
        .filter_map(|a| {
            a.email
                .as_ref()
                .map(|email| format!("{email} ({})", plain(&a.name)))
        })
        .collect();
    // RSS allows one `author`; with more than one, or without an email, dc:creator says it.
    let (author, creators) = if post.authors.len() == 1 && emailed.len() == 1 {
        (emailed.into_iter().next(), Vec::new())
    } else {
        (None, post.authors.iter().map(|a| plain(&a.name)).collect())
    };
    Ok(Item {
        title: Some(title(post)),
        link: Some(post.url.clone()),
        description: Some(description),
        content: full_content(ctx, rendered).map(|html| xml_safe(html).into_owned()),
        pub_date: Some(post.date.to_rfc2822()),
        guid: Some(Guid {
            value: id.to_string(),
            permalink: id == post.url,
        }),
        categories: post
            .tags
            .iter()
            .chain(&post.categories)
            .map(|term| Category {
                name: plain(term),
                domain: None,
            })
            .collect(),
        author,
        dublin_core_ext: (!creators.is_empty()).then(|| DublinCoreExtension {
            creators,
            ..DublinCoreExtension::default()
        }),
        ..Item::default()
    })
}
