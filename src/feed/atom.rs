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

/// Stands in for an entry's content while the crate writes the entry:
/// U+FFFF is never in a feed's text (`xml_safe` removes it), so the marker
/// is found only where it was put.
const MARKER: &str = "\u{ffff}herald content\u{ffff}";

/// The document with this one entry, as [`document`] writes it. The
/// content, by far the biggest text of an entry, is escaped here as
/// quick-xml escapes a text node, straight into the document in place of
/// a marker: the crate's writer escaped it into a string of its own and
/// copied it twice more (a tenth of a full archive's CPU went to Atom entries).
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
        vec![entry_with(entry, Some(MARKER.to_string()))],
    ))?;
    let mut found = memchr::memmem::find_iter(&marked, MARKER.as_bytes());
    let (Some(at), None) = (found.next(), found.next()) else {
        return whole();
    };
    let html = xml_safe(html);
    let mut bytes = Vec::with_capacity(marked.len() + html.len() + html.len() / 4);
    bytes.extend_from_slice(&marked[..at]);
    escape_text(&mut bytes, &html);
    bytes.extend_from_slice(&marked[at + MARKER.len()..]);
    Ok(bytes)
}

/// Escapes `text` as quick-xml escapes a text node (`BytesText::new`).
fn escape_text(out: &mut Vec<u8>, text: &str) {
    // Post HTML has one of the five in about every eleventh byte, so a
    // branch per byte mispredicts and a copy per run is mostly call
    // overhead: each byte is looked up and its bytes (itself, or its
    // reference) stored eight at a time into a buffer on the stack.
    let mut buffer = [0u8; ESCAPE_CHUNK * 6 + 8];
    for chunk in text.as_bytes().chunks(ESCAPE_CHUNK) {
        let mut len = 0;
        for &byte in chunk {
            let (bytes, n) = ESCAPES[usize::from(byte)];
            buffer[len..len + 8].copy_from_slice(&bytes.to_le_bytes());
            len += n;
        }
        out.extend_from_slice(&buffer[..len]);
    }
}

/// Bytes of text escaped into the stack buffer at a time.
const ESCAPE_CHUNK: usize = 1024;

/// Each byte as it is written in a text node (up to 8 bytes, little-end
/// first) and how many bytes that is.
const ESCAPES: [(u64, usize); 256] = {
    let mut table = [(0, 1); 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u64, 1);
        byte += 1;
    }
    table[b'<' as usize] = (u64::from_le_bytes(*b"&lt;\0\0\0\0"), 4);
    table[b'>' as usize] = (u64::from_le_bytes(*b"&gt;\0\0\0\0"), 4);
    table[b'&' as usize] = (u64::from_le_bytes(*b"&amp;\0\0\0"), 5);
    table[b'\'' as usize] = (u64::from_le_bytes(*b"&apos;\0\0"), 6);
    table[b'"' as usize] = (u64::from_le_bytes(*b"&quot;\0\0"), 6);
    table
};

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn content_is_escaped_as_quick_xml_escapes_it(
            pieces in prop::collection::vec(
                prop_oneof![
                    Just("<".to_string()), Just(">".to_string()), Just("&".to_string()),
                    Just("'".to_string()), Just("\"".to_string()), Just("é\u{a0}".to_string()),
                    "[a-z ]{0,40}",
                ],
                0..400,
            ),
            repeat in 1usize..8,
        ) {
            // Long enough to cross the stack buffer's chunks.
            let text = pieces.concat().repeat(repeat);
            let mut out = Vec::new();
            super::escape_text(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), quick_xml::escape::escape(text.as_str()));
        }
    }
}
