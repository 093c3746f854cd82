//! Which feeds exist and what goes in them: the site feed, one per tag and
//! one per category, each in the configured formats.
//!
//! Planning is cheap (it only picks posts); rendering happens once per post
//! in `build`, and each format module turns a planned [`Channel`] plus
//! rendered content into bytes. Nothing here reads the clock: a feed's date
//! is its newest entry's, so the same posts always give the same bytes.

pub mod atom;
pub mod json;
pub mod rss;
pub mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, FeedContent, FeedFormat};
use crate::content::Content;
use crate::post::Post;
use crate::post::permalink::{Mode, fit_file_name, slugify};
use crate::spill::Held;

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
    /// In memory or spilled (see [`crate::spill`]); read with `get`.
    pub content: &'a Held,
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

/// The newest date among the entries: the feed's own date.
pub fn updated(entries: &[Entry<'_>]) -> Option<DateTime<FixedOffset>> {
    entries.iter().map(|e| e.updated).max()
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

/// Writes one channel in one format to `out`, as it is rendered.
pub fn render(
    config: &Config,
    channel: &Channel<'_>,
    entries: &[Entry<'_>],
    format: FeedFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let ctx = Context {
        config,
        channel,
        entries,
        self_url: file_url(config, &channel.dir, file_name(config, format)),
        full: config.feeds.content == FeedContent::Full,
    };
    match format {
        FeedFormat::Atom => {
            write_batched(out, entries, "</feed>", |batch| atom::document(&ctx, batch))?
        }
        FeedFormat::Rss => write_batched(out, entries, "</channel>", |batch| {
            rss::document(&ctx, batch)
        })?,
        FeedFormat::Json => json::render(&ctx, out)?,
    }
    out.write_all(b"\n")
}

/// Entries an XML feed is built with at a time. The feed crates build a
/// whole document in memory before writing it; for a full archive that was
/// every post's HTML at once, twice over (RSS and Atom side by side).
const BATCH: usize = 64;

/// Writes an XML feed whose entries are the last children of `closing`'s
/// element (`</feed>`, `</channel>`), a [`BATCH`] of entries at a time.
/// `document(batch)` is the whole document with those entries; written
/// without any, it gives the head and the tail, and each batch adds what
/// lies between them: the bytes the whole document would have. Each batch
/// is checked to begin with the head and end with the tail; if the first
/// does not, the feed is written whole, and if a later one does not (the
/// head does not depend on the entries, so never), the feed fails rather
/// than be written wrong.
fn write_batched<'a>(
    out: &mut dyn std::io::Write,
    entries: &'a [Entry<'a>],
    closing: &str,
    document: impl Fn(&'a [Entry<'a>]) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<()> {
    if entries.len() <= BATCH {
        return out.write_all(&document(entries)?);
    }
    let empty = document(&[])?;
    let split = empty
        .windows(closing.len())
        .rposition(|window| window == closing.as_bytes())
        .and_then(|end| empty[..end].iter().rposition(|&b| b == b'\n'));
    let Some(split) = split else {
        return out.write_all(&document(entries)?);
    };
    let (head, tail) = empty.split_at(split);
    for (n, batch) in entries.chunks(BATCH).enumerate() {
        let bytes = document(batch)?;
        let middle = bytes
            .strip_prefix(head)
            .and_then(|rest| rest.strip_suffix(tail));
        match (middle, n) {
            (Some(middle), 0) => {
                out.write_all(head)?;
                out.write_all(middle)?;
            }
            (Some(middle), _) => out.write_all(middle)?,
            (None, 0) => return out.write_all(&document(entries)?),
            (None, _) => {
                return Err(std::io::Error::other(
                    "a batch of entries changed the feed's head; nothing is written",
                ));
            }
        }
    }
    out.write_all(tail)
}

/// What every format module needs to write one feed.
pub struct Context<'a> {
    pub config: &'a Config,
    pub channel: &'a Channel<'a>,
    pub entries: &'a [Entry<'a>],
    pub self_url: String,
    /// Full content, or excerpts only.
    pub full: bool,
}

impl Context<'_> {
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
                    Read::Post(p) => *p,
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
    fn feeds_written_in_batches_are_the_bytes_of_the_whole_document() {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://e.org\"\n[feeds]\nlimit = 0\n",
            Path::new("c"),
        )
        .unwrap();
        // Three batches and a bit; items with and without dc:creator.
        let posts: Vec<Post> = (0..3 * BATCH + 5)
            .map(|i| {
                let author = if i % 2 == 0 { "author: Jane Doe\n" } else { "" };
                let name = format!("2024-01-01-p{i:03}.md");
                let text = format!("---\ntitle: Post {i}\ntags: [x]\n{author}---\nText {i}.\n");
                match Post::read(Path::new(&name), &text, &config) {
                    Read::Post(p) => *p,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        let contents: Vec<Held> = (0..posts.len())
            .map(|i| {
                Held::Memory(Content {
                    html: format!("<p>Text {i} &amp; more.</p>"),
                    excerpt: format!("Text {i}."),
                })
            })
            .collect();
        let dates = entry_dates(&posts);
        let channels = plan(&config, &posts);
        let entries: Vec<Entry<'_>> = channels[0]
            .posts
            .iter()
            .map(|&i| Entry {
                post: &posts[i],
                content: &contents[i],
                updated: dates[i],
            })
            .collect();
        assert_eq!(entries.len(), posts.len());
        let ctx = Context {
            config: &config,
            channel: &channels[0],
            entries: &entries,
            self_url: "https://e.org/atom.xml".into(),
            full: true,
        };
        type Document = fn(&Context<'_>, &[Entry<'_>]) -> std::io::Result<Vec<u8>>;
        let formats: [(&str, Document); 2] =
            [("</feed>", atom::document), ("</channel>", rss::document)];
        for (closing, document) in formats {
            let calls = std::cell::Cell::new(0);
            let mut batched = Vec::new();
            write_batched(&mut batched, &entries, closing, |batch| {
                calls.set(calls.get() + 1);
                document(&ctx, batch)
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(batched).unwrap(),
                String::from_utf8(document(&ctx, &entries).unwrap()).unwrap(),
                "{closing}"
            );
            assert_eq!(
                calls.get(),
                1 + 4,
                "{closing}: written in 4 batches, not whole"
            );
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
