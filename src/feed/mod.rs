//! Which feeds exist and what goes in them: the site feed, one per tag and
//! one per category, each in the configured formats.
//!
//! Planning is cheap (it only picks posts); rendering happens once per post
//! in `build`, and each format module turns a planned [`Channel`] plus
//! rendered content into bytes. Nothing here reads the clock: a feed's date
//! is its newest entry's, so the same posts always give the same bytes.

pub mod atom;
mod content;
pub mod json;
pub mod rss;
pub mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, FeedContent, FeedFormat};
use crate::content::Content;
use crate::post::Post;
use crate::post::permalink::{Mode, fit_file_name, slugify};

/// One feed, in every format: its metadata and its posts (newest first).
#[derive(Debug)]
pub struct Channel<'a> {
    pub title: String,
    pub description: String,
    /// Folder under the feeds folder: "" for the site feed, `tags/<slug>` for a tag.
    pub dir: String,
    /// Indexes into the site's posts.
    pub posts: Vec<usize>,
    /// The tag or category this feed is for.
    pub term: Option<&'a str>,
}

/// A post with its rendered content, as a format module sees it.
pub struct Entry<'a> {
    pub post: &'a Post,
    pub content: &'a Content,
    /// The entry's `updated`: the post's, unique within the site (see [`entry_dates`]).
    pub updated: DateTime<FixedOffset>,
}

/// A tag or category: the first spelling seen is its name, matched without case.
#[derive(Debug)]
pub struct Term<'a> {
    pub name: &'a str,
    pub slug: String,
    pub posts: Vec<usize>,
}

/// Plans every feed of the site. `posts` are newest first.
pub fn plan<'a>(config: &Config, posts: &'a [Post]) -> Vec<Channel<'a>> {
    let limit = |mut list: Vec<usize>| {
        if config.feeds.limit > 0 {
            list.truncate(config.feeds.limit);
        }
        list
    };
    let site = &config.site;
    let mut channels = vec![Channel {
        title: site.title.clone(),
        description: site.description.clone(),
        dir: String::new(),
        posts: limit((0..posts.len()).collect()),
        term: None,
    }];
    let groups = [
        (
            config.feeds.tags,
            "tags",
            "tagged",
            terms(posts, |p| &p.tags),
        ),
        (
            config.feeds.categories,
            "categories",
            "in",
            terms(posts, |p| &p.categories),
        ),
    ];
    for (enabled, folder, word, terms) in groups {
        if !enabled {
            continue;
        }
        for term in terms {
            channels.push(Channel {
                title: format!("{}: {}", site.title, term.name),
                description: format!("Posts {word} “{}” from {}", term.name, site.title),
                dir: format!("{folder}/{}", term.slug),
                posts: limit(term.posts),
                term: Some(term.name),
            });
        }
    }
    channels
}

/// Groups posts by tag (or category), case-insensitively, in slug order.
/// The display name is the spelling of the oldest post that uses it.
pub fn terms<'a>(posts: &'a [Post], of: impl Fn(&'a Post) -> &'a Vec<String>) -> Vec<Term<'a>> {
    let mut by_key: BTreeMap<String, Term<'a>> = BTreeMap::new();
    for (index, post) in posts.iter().enumerate().rev() {
        for name in of(post) {
            let key = name.to_lowercase();
            let term = by_key.entry(key).or_insert_with(|| Term {
                name,
                slug: String::new(),
                posts: Vec::new(),
            });
            if term.posts.last() != Some(&index) {
                term.posts.push(index);
            }
        }
    }
    let mut terms: Vec<Term<'a>> = by_key.into_values().collect();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for term in &mut terms {
        term.posts.reverse();
        let base = match slugify(term.name, Mode::Default) {
            s if s.is_empty() => "-".to_string(),
            s => fit_file_name(&s),
        };
        // "C" and "C++" slugify alike; later ones get a number.
        let count = taken.entry(base.clone()).or_insert(0);
        *count += 1;
        term.slug = if *count == 1 {
            base
        } else {
            format!("{base}-{count}")
        };
    }
    terms
}

/// The absolute URL of a file in a feed folder.
pub fn file_url(config: &Config, dir: &str, file: &str) -> String {
    if dir.is_empty() {
        format!("{}/{file}", config.site.url)
    } else {
        format!("{}/{dir}/{file}", config.site.url)
    }
}

pub fn file_name(config: &Config, format: FeedFormat) -> &str {
    match format {
        FeedFormat::Atom => &config.feeds.atom_file,
        FeedFormat::Rss => &config.feeds.rss_file,
        FeedFormat::Json => &config.feeds.json_file,
    }
}

/// Each post's `updated` for feeds, made unique across the site: two posts
/// stamped with the same second (Jekyll's own news has such pairs) make
/// readers and the W3C validator suspect duplicate entries, so the later
/// one by path is moved on by a second. Deterministic: it depends only on
/// the posts' dates and paths.
pub fn entry_dates(posts: &[Post]) -> Vec<DateTime<FixedOffset>> {
    let mut order: Vec<usize> = (0..posts.len()).collect();
    order.sort_by(|&a, &b| {
        posts[a]
            .last_modified()
            .cmp(&posts[b].last_modified())
            .then_with(|| posts[a].path.cmp(&posts[b].path))
    });
    let mut dates = vec![DateTime::UNIX_EPOCH.fixed_offset(); posts.len()];
    let mut used = std::collections::HashSet::with_capacity(posts.len());
    for index in order {
        let mut date = posts[index].last_modified();
        while !used.insert(date.timestamp()) {
            // Never past year 9999, which RSS cannot write: a shared stamp there is harmless.
            match date.checked_add_signed(chrono::Duration::seconds(1)) {
                Some(next) if crate::post::date::in_range(&next) => date = next,
                _ => break,
            }
        }
        dates[index] = date;
    }
    dates
}

/// Each post's entry in one format, as bytes: made once per post and
/// written into every feed of that format that holds it. An entry's bytes
/// do not depend on the feed it is in (the feed's own data is all in its
/// head), so a post in the site feed and three tag feeds is escaped and
/// serialised once, not four times.
pub struct Entries<'a> {
    ctx: Context<'a>,
    format: FeedFormat,
    frame: Frame,
}

impl<'a> Entries<'a> {
    /// Entries for the feeds of `format`; `channel` is any of them.
    pub fn new(
        config: &'a Config,
        channel: &'a Channel<'a>,
        format: FeedFormat,
    ) -> std::io::Result<Entries<'a>> {
        let ctx = Context::new(config, channel, format, None);
        let frame = Frame::of(&ctx, format)?;
        Ok(Entries { ctx, format, frame })
    }

    /// The bytes of `entry` as every feed of this format writes it: the
    /// document with this one entry, less the head and tail it shares with
    /// the empty document.
    pub fn entry(&self, entry: &Entry<'_>) -> std::io::Result<Vec<u8>> {
        let mut document = match self.format {
            FeedFormat::Atom => atom::one_entry_document(&self.ctx, entry)?,
            FeedFormat::Json => json::one_entry_document(&self.ctx, entry)?,
            FeedFormat::Rss => document(&self.ctx, FeedFormat::Rss, std::slice::from_ref(entry))?,
        };
        let (head, tail) = (&self.frame.head, &self.frame.tail);
        if !(document.starts_with(head) && document[head.len()..].ends_with(tail)) {
            return Err(std::io::Error::other(
                "an entry changed its feed's head; nothing is written",
            ));
        }
        // In place: the entry is most of the document.
        document.truncate(document.len() - tail.len());
        document.drain(..head.len());
        Ok(document)
    }
}

/// A feed written entry by entry as its posts' entries arrive: the
/// document's head before the first, separators between them, its tail
/// at the end. The bytes are those of the format's crate writing the
/// whole document.
pub struct Stream {
    frame: Frame,
    /// Where each entry lies in the file: (offset, length).
    spans: Vec<(u64, usize)>,
    offset: u64,
}

impl Stream {
    pub fn new(
        config: &Config,
        channel: &Channel<'_>,
        updated: Option<DateTime<FixedOffset>>,
        format: FeedFormat,
    ) -> std::io::Result<Stream> {
        let ctx = Context::new(config, channel, format, updated);
        Ok(Stream {
            frame: Frame::of(&ctx, format)?,
            spans: Vec::new(),
            offset: 0,
        })
    }

    /// Takes the next entries, made by [`Entries::entry`]: returns the
    /// pieces of the file they make, in order, each entry with what goes
    /// before it (the document's head before the first).
    pub fn push<'a>(&'a mut self, entries: &[&'a [u8]]) -> Vec<&'a [u8]> {
        let first = self.spans.is_empty();
        for entry in entries {
            let before = if self.spans.is_empty() {
                self.frame.head.len()
            } else {
                self.frame.separator.len()
            };
            self.offset += before as u64;
            self.spans.push((self.offset, entry.len()));
            self.offset += entry.len() as u64;
        }
        let mut pieces = Vec::with_capacity(2 * entries.len());
        for (k, entry) in entries.iter().enumerate() {
            pieces.push(if k == 0 && first {
                self.frame.head.as_slice()
            } else {
                self.frame.separator
            });
            pieces.push(*entry);
        }
        pieces
    }

    /// Appends the end of the document to `out`; returns where each entry
    /// lies in the file, for the render cache.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Vec<(u64, usize)> {
        if self.spans.is_empty() {
            out.extend_from_slice(&self.frame.empty);
        } else {
            out.extend_from_slice(&self.frame.tail);
        }
        out.push(b'\n');
        std::mem::take(&mut self.spans)
    }
}

/// The whole document of one channel with these entries, as the format's
/// crate writes it.
fn document(
    ctx: &Context<'_>,
    format: FeedFormat,
    entries: &[Entry<'_>],
) -> std::io::Result<Vec<u8>> {
    match format {
        FeedFormat::Atom => atom::document(ctx, entries),
        FeedFormat::Rss => rss::document(ctx, entries),
        FeedFormat::Json => json::document(ctx, entries),
    }
}

/// A channel's document cut where its entries go: the document with
/// entries is `head`, the entries with `separator` between them, `tail`.
struct Frame {
    head: Vec<u8>,
    tail: Vec<u8>,
    separator: &'static [u8],
    /// The document without entries.
    empty: Vec<u8>,
}

impl Frame {
    fn of(ctx: &Context<'_>, format: FeedFormat) -> std::io::Result<Frame> {
        let empty = document(ctx, format, &[])?;
        let cut = match format {
            // XML entries are the last children of the root's element: they
            // go on the line before its closing tag.
            FeedFormat::Atom => xml_cut(&empty, "</feed>"),
            FeedFormat::Rss => xml_cut(&empty, "</channel>"),
            // JSON's items are the document's last member, `"items": []`;
            // serde_json's pretty printer opens each item on a new line and
            // closes a non-empty array on a line of its own.
            FeedFormat::Json => empty
                .windows(2)
                .rposition(|w| w == b"[]")
                .map(|at| (at + 1, b"\n  ".as_slice(), at + 1)),
        };
        let Some((head_end, tail_start, rest)) = cut else {
            return Err(std::io::Error::other(
                "the feed's document has no place for entries; nothing is written",
            ));
        };
        Ok(Frame {
            head: empty[..head_end].to_vec(),
            tail: [tail_start, &empty[rest..]].concat(),
            separator: if format == FeedFormat::Json {
                b","
            } else {
                b""
            },
            empty,
        })
    }
}

/// Where entries go in an empty XML document: before the line of `closing`.
fn xml_cut(empty: &[u8], closing: &str) -> Option<(usize, &'static [u8], usize)> {
    let end = empty
        .windows(closing.len())
        .rposition(|window| window == closing.as_bytes())?;
    let line = empty[..end].iter().rposition(|&b| b == b'\n')?;
    Some((line, b"", line))
}

/// What every format module needs to write one feed.
pub struct Context<'a> {
    pub config: &'a Config,
    pub channel: &'a Channel<'a>,
    /// The feed's date: its newest entry's.
    pub updated: Option<DateTime<FixedOffset>>,
    pub self_url: String,
    /// Full content, or excerpts only.
    pub full: bool,
}

impl<'a> Context<'a> {
    fn new(
        config: &'a Config,
        channel: &'a Channel<'a>,
        format: FeedFormat,
        updated: Option<DateTime<FixedOffset>>,
    ) -> Context<'a> {
        Context {
            config,
            channel,
            updated,
            self_url: file_url(config, &channel.dir, file_name(config, format)),
            full: config.feeds.content == FeedContent::Full,
        }
    }

    pub fn home_url(&self) -> String {
        format!("{}/", self.config.site.url)
    }

    /// The feed's description, never empty (RSS requires one).
    pub fn description(&self) -> String {
        if self.channel.description.trim().is_empty() {
            self.channel.title.clone()
        } else {
            self.channel.description.clone()
        }
    }
}

/// A post's title as text: front matter may write it as HTML (`Tom &amp;
/// Jerry`, `<em>x</em>`), and every feed format gets the same plain title
/// (see README, Feeds, for why not Atom's `type="html"`).
pub fn title(post: &Post) -> String {
    plain(&crate::html::plain_text(&post.title))
}

/// The full content, unless the post has none: an empty `<content>` or
/// `content:encoded` is what the W3C validator warns about.
pub fn full_content<'a>(ctx: &Context<'_>, content: &'a Content) -> Option<&'a str> {
    let html = content.html.as_str();
    (ctx.full && !html.trim().is_empty()).then_some(html)
}

/// Text for an XML element or attribute: no control characters, one line for titles.
pub fn plain(text: &str) -> String {
    crate::html::xml_safe(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::Read;
    use std::path::Path;

    fn posts(specs: &[(&str, &str)]) -> Vec<Post> {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n",
            Path::new("c"),
        )
        .unwrap();
        specs
            .iter()
            .map(|(name, tags)| {
                let text = format!("---\ntitle: {name}\ntags: {tags}\n---\n");
                match Post::read(Path::new(name), &text, &config) {
                    Read::Post(p) => p,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn tags_that_differ_only_by_case_are_one_term_named_by_the_oldest_post() {
        // Newest first, as the site holds them.
        let posts = posts(&[
            ("2024-03-01-c.md", "python"),
            ("2024-02-01-b.md", "Python"),
            ("2024-01-01-a.md", "PyThon rust"),
        ]);
        let terms = terms(&posts, |p| &p.tags);
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].name, "PyThon");
        assert_eq!(terms[0].slug, "python");
        assert_eq!(terms[0].posts, vec![0, 1, 2]);
        assert_eq!(terms[1].name, "rust");
    }

    #[test]
    fn feeds_made_of_entries_are_the_bytes_of_the_whole_document() {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n[feeds]\nlimit = 0\n",
            Path::new("c"),
        )
        .unwrap();
        // Items with and without dc:creator, tagged and not, with and
        // without an excerpt and a body.
        let posts: Vec<Post> = (0..40)
            .map(|i| {
                let author = if i % 2 == 0 { "author: Jane Doe\n" } else { "" };
                let tags = if i % 3 == 0 { "[rust, data]" } else { "[data]" };
                let name = format!("2024-01-01-p{i:03}.md");
                let text = format!("---\ntitle: Post {i}\ntags: {tags}\n{author}---\nText {i}.\n");
                match Post::read(Path::new(&name), &text, &config) {
                    Read::Post(p) => p,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        let contents: Vec<Content> = (0..posts.len())
            .map(|i| Content {
                html: if i % 5 == 4 {
                    String::new()
                } else {
                    // Every character XML escapes, and two it forbids.
                    format!("<p class=\"x\">Text {i} &amp; <em>it's</em>\u{1} more\u{ffff}.</p>")
                },
                excerpt: if i % 7 == 6 {
                    String::new()
                } else {
                    format!("Text {i}.")
                },
            })
            .collect();
        let dates = entry_dates(&posts);
        let channels = plan(&config, &posts);
        assert_eq!(channels.len(), 3, "the site feed and two tags");
        for format in [FeedFormat::Atom, FeedFormat::Rss, FeedFormat::Json] {
            // Made with the site feed, written into every feed.
            let maker = Entries::new(&config, &channels[0], format).unwrap();
            for channel in &channels {
                let entries: Vec<Entry<'_>> = channel
                    .posts
                    .iter()
                    .map(|&i| Entry {
                        post: &posts[i],
                        content: &contents[i],
                        updated: dates[i],
                    })
                    .collect();
                let updated = entries.iter().map(|e| e.updated).max();
                let ctx = Context::new(&config, channel, format, updated);
                let mut whole = document(&ctx, format, &entries).unwrap();
                whole.push(b'\n');
                let mut stream = Stream::new(&config, channel, updated, format).unwrap();
                let mut written = Vec::new();
                for (n, entry) in entries.iter().enumerate() {
                    let entry = maker.entry(entry).unwrap();
                    written.extend(stream.push(&[&entry]).concat());
                    let (at, len) = stream.spans[n];
                    assert_eq!(written.len() as u64, at + len as u64, "the span ends it");
                }
                let spans = stream.finish(&mut written);
                assert_eq!(spans.len(), entries.len());
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    String::from_utf8(whole).unwrap(),
                    "{format:?} {}",
                    channel.dir
                );
            }
            // No entries: the empty document.
            let mut written = Vec::new();
            let spans = Stream::new(&config, &channels[1], None, format)
                .unwrap()
                .finish(&mut written);
            assert!(spans.is_empty());
            let mut empty = document(
                &Context::new(&config, &channels[1], format, None),
                format,
                &[],
            )
            .unwrap();
            empty.push(b'\n');
            assert_eq!(written, empty, "{format:?} without entries");
        }
    }

    #[test]
    fn posts_stamped_with_the_same_second_get_distinct_entry_dates() {
        let mut list = posts(&[
            ("2024-01-01-b.md", "x"),
            ("2024-01-01-a.md", "x"),
            ("2023-12-31-c.md", "x"),
        ]);
        list[2].date = list[0].date;
        let dates = entry_dates(&list);
        // c.md sorts first by path, so it keeps the shared date.
        assert_eq!(dates[2], list[2].date);
        assert_ne!(dates[0], dates[1]);
        assert_ne!(dates[2], dates[1]);
        assert_ne!(dates[0], dates[2]);
        assert_eq!(dates, entry_dates(&list), "deterministic");
    }

    #[test]
    fn terms_whose_slugs_collide_get_distinct_folders() {
        let posts = posts(&[("2024-01-01-a.md", "[c, c++]")]);
        let slugs: Vec<_> = terms(&posts, |p| &p.tags)
            .into_iter()
            .map(|t| t.slug)
            .collect();
        assert_eq!(slugs, ["c", "c-2"]);
    }
}
