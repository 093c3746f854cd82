//! `herald build`, `check`, `init`, `new` and `completions` run as the real
//! binary on small real sites; every feed is read back with real parsers
//! (feed-rs for meaning, quick-xml for well-formedness) and compared with
//! the posts herald itself loads.

mod support;
use support::copy_dir;

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use herald::{LoadOptions, Site};
use predicates::prelude::*;

/// A site in a temporary folder, written file by file.
struct TestSite {
    dir: tempfile::TempDir,
}

const CONFIG: &str = r#"[site]
title = "Test notes"
url = "https://example.org/blog"
description = "A test site"
author = { name = "Jane Doe", email = "jane@example.org" }
timezone = "America/New_York"
"#;

impl TestSite {
    fn new() -> TestSite {
        TestSite {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The repository's own sample site (config/ and posts/).
    fn sample() -> TestSite {
        let site = TestSite::new();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&repo.join("config"), &site.path("config"));
        copy_dir(&repo.join("posts"), &site.path("posts"));
        site
    }

    fn with_config(self, text: &str) -> TestSite {
        self.file("config/herald.toml", text)
    }

    fn file(self, name: &str, text: &str) -> TestSite {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn herald(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("herald")
            .unwrap()
            .arg("-C")
            .arg(self.dir.path())
            .args(args)
            .assert()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn feed(&self, name: &str) -> feed_rs::model::Feed {
        let bytes = std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        feed_rs::parser::parse(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
    }

    /// The full content of the first entry of feed `name`.
    fn first_content(&self, name: &str) -> String {
        let feed = self.feed(name);
        let entry = feed
            .entries
            .first()
            .unwrap_or_else(|| panic!("{name}: no entry"));
        let content = entry.content.as_ref().and_then(|c| c.body.clone());
        content.unwrap_or_else(|| panic!("{name}: no full content"))
    }

    fn titles(&self, name: &str) -> Vec<String> {
        self.feed(name)
            .entries
            .into_iter()
            .map(|e| e.title.expect("title").content)
            .collect()
    }

    fn load(&self) -> Site {
        Site::load(self.dir.path(), None, &LoadOptions::default()).expect("site loads")
    }

    /// Every file under `public/`, path -> bytes.
    fn outputs(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let root = self.path("public");
        walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let name = e.path().strip_prefix(&root).unwrap().to_path_buf();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect()
    }
}

fn post(title: &str, extra: &str, body: &str) -> String {
    format!("---\ntitle: {title}\n{extra}---\n{body}")
}

/// Reads every XML event; panics with the position of the first error.
fn assert_well_formed(name: &str, bytes: &[u8]) {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut depth = 0i64;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(_) => {}
            Err(e) => panic!(
                "{name} is not well-formed at {}: {e}",
                reader.buffer_position()
            ),
        }
        buf.clear();
    }
    assert_eq!(depth, 0, "{name}: unbalanced elements");
}

/// Every href/src in `html` is absolute (or a mailto:).
fn assert_absolute_urls(name: &str, html: &str) {
    for attribute in ["href=\"", "src=\"", "poster=\""] {
        for (i, _) in html.match_indices(attribute) {
            let value = &html[i + attribute.len()..];
            assert!(
                value.starts_with("https://")
                    || value.starts_with("http://")
                    || value.starts_with("mailto:"),
                "{name}: relative URL in content: {}",
                &value[..value.len().min(60)]
            );
        }
    }
}

#[test]
fn the_sample_site_builds_every_feed_and_they_read_back_as_the_posts() {
    let site = TestSite::sample();
    site.herald(&["build"])
        .success()
        .stdout(predicate::str::contains("files in public"));
    let loaded = site.load();
    assert!(loaded.posts.len() >= 3, "the sample site has posts");

    for name in ["atom.xml", "rss.xml", "feed.json"] {
        let feed = site.feed(&format!("public/{name}"));
        assert_eq!(
            feed.entries.len(),
            loaded.posts.len(),
            "{name}: one entry per published post"
        );
        for (entry, post) in feed.entries.iter().zip(&loaded.posts) {
            assert_eq!(
                entry.title.as_ref().unwrap().content,
                post.title,
                "{name}: title, newest first"
            );
            assert_eq!(entry.id, post.feed_id(), "{name}: id is the permalink");
            assert_eq!(entry.links[0].href, post.url, "{name}: link");
            let published = entry.published.expect("published date");
            assert_eq!(
                published,
                post.date.with_timezone(&chrono::Utc),
                "{name}: date of {}",
                post.title
            );
            let body = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .expect("full content");
            assert_absolute_urls(name, &body);
            assert!(!body.contains("<script"), "{name}: scripts are removed");
        }
    }
    for (path, bytes) in site.outputs() {
        if path.extension().is_some_and(|e| e == "xml") {
            assert_well_formed(&path.display().to_string(), &bytes);
        }
    }
}

#[test]
fn feeds_carry_what_readers_and_the_validator_expect() {
    let site = TestSite::sample();
    site.herald(&["build"]).success();
    let rss = site.read("public/rss.xml");
    assert!(
        rss.contains(r#"<atom:link href="https://herald.example.org/blog/rss.xml" rel="self""#)
    );
    let description = rss.find("<description><![CDATA[").unwrap();
    let encoded = rss.find("<content:encoded>").unwrap();
    assert!(
        description < encoded,
        "description comes before content:encoded"
    );
    assert!(rss.contains("<author>ada@example.org (Ada Lovelace)</author>"));
    assert!(
        !rss.contains("<author>The herald"),
        "a bare name is never an RSS author"
    );
    assert!(
        rss.contains("<pubDate>Wed, 2 Apr 2025 18:00:00 +0200</pubDate>"),
        "RFC 822 dates"
    );

    let atom = site.read("public/atom.xml");
    assert!(
        atom.contains(
            r#"xml:base="https://herald.example.org/blog/2025/04/02/feeds-that-validate/""#
        )
    );
    assert!(atom.contains("<published>2025-04-02T18:00:00+02:00</published>"));
    assert!(atom.contains(r#"<link href="https://herald.example.org/blog/atom.xml" rel="self""#));

    let json: serde_json::Value = serde_json::from_str(&site.read("public/feed.json")).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        json["feed_url"],
        "https://herald.example.org/blog/feed.json"
    );
}

#[test]
fn a_feeds_date_is_its_newest_entrys_and_two_builds_give_the_same_bytes() {
    let first = TestSite::sample();
    let second = TestSite::sample();
    first.herald(&["build"]).success();
    second.herald(&["build"]).success();
    assert_eq!(first.outputs(), second.outputs(), "same posts, same bytes");

    let loaded = first.load();
    let newest = loaded
        .posts
        .iter()
        .map(|p| p.last_modified())
        .max()
        .unwrap();
    let atom = first.feed("public/atom.xml");
    assert_eq!(atom.updated.unwrap(), newest.with_timezone(&chrono::Utc));

    first
        .herald(&["build"])
        .success()
        .stdout(predicate::str::contains("(0 changed)"));
}

/// Posts are read and rendered in parallel; the bytes must not depend on
/// it, nor what the render cache keeps (a thread that finds the cache busy
/// leaves its rendering for the writing thread to take along).
#[test]
fn one_thread_and_many_give_the_same_feeds() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-news/_posts");
    let build = |threads: &str| {
        let site = TestSite::sample();
        copy_dir(&corpus, &site.path("posts/news"));
        Command::cargo_bin("herald")
            .unwrap()
            .env("RAYON_NUM_THREADS", threads)
            .arg("-C")
            .arg(site.dir.path())
            .arg("build")
            .assert()
            .success();
        let cache = rusqlite::Connection::open(site.path(".herald/render-cache.db")).unwrap();
        let kept: i64 = cache
            .query_row("SELECT COUNT(*) FROM rendered", [], |r| r.get(0))
            .unwrap();
        (site.outputs(), kept)
    };
    let (one, kept) = build("1");
    assert!(one.len() > 20, "tag and category feeds too: {}", one.len());
    assert!(kept > 30, "the posts of every feed are kept: {kept}");
    assert_eq!((one, kept), build("4"), "1 thread and 4 threads");
}

/// A full archive streamed in batches of posts, and with fewer files
/// open at once than it has feeds (more passes over the posts): the bytes
/// are those of a build that does each in one go.
#[test]
fn batches_of_posts_and_waves_of_files_write_the_same_feeds() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-news/_posts");
    let build = |batch: usize, files: usize| {
        let site = TestSite::sample();
        copy_dir(&corpus, &site.path("posts/news"));
        let config = std::fs::read_to_string(site.path("config/herald.toml")).unwrap();
        let config = config.replace("limit = 20", "limit = 0");
        assert!(config.contains("limit = 0"), "the sample config sets limit");
        let site = site.with_config(&config);
        let loaded = Site::load(site.dir.path(), None, &LoadOptions::default()).unwrap();
        let options = herald::build::Options {
            batch,
            files,
            ..herald::build::Options::new(false, false)
        };
        let report = herald::build::run(&loaded, options).unwrap();
        let left: Vec<_> = walkdir::WalkDir::new(site.path("public"))
            .into_iter()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".herald-") || name.starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        (site.outputs(), report.rendered)
    };
    let (whole, rendered) = build(usize::MAX, usize::MAX);
    let site_feed = String::from_utf8(whole[Path::new("atom.xml")].clone()).unwrap();
    assert!(
        site_feed.matches("<entry>").count() > 100,
        "every post, in the site feed and in tag feeds"
    );
    assert!(whole.len() > 20, "tag and category feeds: {}", whole.len());
    assert_eq!(
        (whole.clone(), rendered),
        build(1, 1),
        "a post at a time, a file at a time, each post rendered once"
    );
    assert_eq!(
        whole,
        build(7, 5).0,
        "seven posts at a time, five files at a time"
    );
}

/// A blog with more feed files than a process may have files open (a
/// tag per post, three formats each) builds, in several passes over its
/// posts, the same feeds as without the limit: the real binary, started
/// by a shell that lowers its limit.
#[cfg(unix)]
#[test]
fn more_feeds_than_open_files_allowed_are_all_written() {
    let mut site = TestSite::new().with_config(CONFIG);
    for i in 0..60 {
        site = site.file(
            &format!("posts/2024-02-{:02}-p{i}.md", i % 28 + 1),
            &post(
                &format!("Post {i}"),
                &format!("tags: [t{i}, all]\n"),
                "Text.",
            ),
        );
    }
    site.herald(&["build", "--no-cache"]).success();
    let unlimited = site.outputs();
    assert_eq!(unlimited.len(), 3 * 62, "the site's, and each tag's");
    std::fs::remove_dir_all(site.path("public")).unwrap();
    let herald = assert_cmd::cargo::cargo_bin("herald");
    Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 40 && exec "$0" -C "$1" build --no-cache"#)
        .arg(&herald)
        .arg(site.dir.path())
        .assert()
        .success();
    assert!(unlimited == site.outputs(), "the same files, byte for byte");
}

/// A full archive's configuration with Liquid on; `feeds` goes in its
/// `[feeds]` table.
fn liquid_archive(feeds: &str) -> String {
    format!("[posts]\nliquid = true\n\n{CONFIG}[feeds]\n{feeds}limit = 0\n")
}

/// A post tagged `x` whose Liquid is broken.
const BROKEN: &str = "---\ntitle: Bad\ntags: [x]\n---\n{% if %}\n";

/// Builds `site` a post at a time, without the render cache.
fn build_post_by_post(site: &TestSite, keep_going: bool) -> herald::Result<herald::build::Report> {
    let options = herald::build::Options {
        batch: 1,
        ..herald::build::Options::new(keep_going, false)
    };
    herald::build::run(&site.load(), options)
}

/// A site of `good` posts tagged `x`, one a day from 2024-01-01, and a
/// post whose Liquid is broken on day `bad`, built a post at a time.
fn build_with_a_broken_post(
    good: &[u32],
    bad: Option<u32>,
    keep_going: bool,
) -> (TestSite, herald::Result<herald::build::Report>) {
    let mut site = TestSite::new().with_config(&liquid_archive(""));
    for day in good {
        site = site.file(
            &format!("posts/2024-01-{day:02}-good.md"),
            &format!("---\ntitle: Good {day}\ntags: [x]\n---\nText {day}.\n"),
        );
    }
    if let Some(day) = bad {
        site = site.file(&format!("posts/2024-01-{day:02}-bad.md"), BROKEN);
    }
    let report = build_post_by_post(&site, keep_going);
    (site, report)
}

/// Posts are written beside the feeds a batch at a time: a post that
/// breaks after others were written leaves nothing behind, and with
/// --keep-going a feed whose newest post broke is dated by the newest that
/// did not (its head was written before the post broke).
#[test]
fn a_post_that_breaks_late_leaves_no_trace_and_dates_no_feed() {
    let (site, report) = build_with_a_broken_post(&[3, 4, 5], Some(1), false);
    let message = report
        .expect_err("a broken post fails the build")
        .to_string();
    assert!(message.contains("2024-01-01-bad.md"), "{message}");
    assert!(!site.path("public").exists(), "nothing is left behind");

    let (broken, report) = build_with_a_broken_post(&[1, 2, 3], Some(6), true);
    let report = report.expect("--keep-going");
    assert_eq!(report.rendered, 3);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("bad.md"))
    );
    let (without, _) = build_with_a_broken_post(&[1, 2, 3], None, true);
    let outputs = broken.outputs();
    assert!(outputs.contains_key(Path::new("tags/x/atom.xml")));
    assert_eq!(
        outputs,
        without.outputs(),
        "as if the broken post were not there"
    );
}

/// A site whose `public/` is already there (an earlier build): a post with
/// a new tag is written (its folder made) before a later post breaks.
/// The failed build leaves the folders as they were.
#[test]
fn a_failed_rebuild_leaves_no_new_tag_folder() {
    let site = TestSite::new().with_config(&liquid_archive("")).file(
        "posts/2024-01-02-a.md",
        "---\ntitle: A\ntags: [x]\n---\nText.\n",
    );
    site.herald(&["build", "--no-cache"]).success();
    assert!(site.path("public/tags/x/atom.xml").exists());
    let site = site
        .file(
            "posts/2024-01-03-new.md",
            "---\ntitle: New\ntags: [brandnew]\n---\nText.\n",
        )
        .file("posts/2024-01-01-bad.md", BROKEN);
    assert!(build_post_by_post(&site, false).is_err());
    assert!(
        !site.path("public/tags/brandnew").exists(),
        "a failed build left the folder public/tags/brandnew behind"
    );
}

/// A first build into `out/feeds` (neither folder there yet) that fails on
/// a broken post leaves no folder, `out/` included.
#[test]
fn a_failed_first_build_leaves_no_parent_folder() {
    let site = TestSite::new()
        .with_config(&liquid_archive("dir = \"out/feeds\"\n"))
        .file(
            "posts/2024-01-03-a.md",
            "---\ntitle: A\ntags: [x]\n---\nText.\n",
        )
        .file(
            "posts/2024-01-02-b.md",
            "---\ntitle: B\ntags: [z]\n---\nText.\n",
        )
        .file("posts/2024-01-01-bad.md", BROKEN);
    assert!(build_post_by_post(&site, false).is_err());
    assert!(!site.path("out/feeds").exists());
    assert!(
        !site.path("out").exists(),
        "a failed first build left the folder out/ behind"
    );
}

/// The feeds a build of a copy of `site` makes without the render cache.
fn uncached(site: &TestSite) -> BTreeMap<PathBuf, Vec<u8>> {
    let fresh = TestSite::new();
    copy_dir(site.dir.path(), fresh.dir.path());
    std::fs::remove_dir_all(fresh.path(".herald")).ok();
    std::fs::remove_dir_all(fresh.path("public")).ok();
    fresh.herald(&["build", "--no-cache"]).success();
    assert!(!fresh.path(".herald").exists(), "--no-cache makes no cache");
    fresh.outputs()
}

/// The render cache: a rebuild takes unchanged posts from it (a row
/// altered in the real SQLite file shows up in the feed, so it was read),
/// and whatever a post's rendering depends on (its text, an include, the
/// configuration) makes it render again: after each change, the feeds are
/// those of a build without the cache.
#[test]
fn a_rebuild_takes_unchanged_posts_from_the_render_cache_and_renders_changed_ones() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-news/_posts");
    let site = TestSite::sample()
        .file("_includes/note.html", "<em>first note</em>")
        .file(
            "posts/2030-01-01-with-include.md",
            &post(
                "Include",
                "date: 2024-05-01\n",
                "Before. {% include note.html %} After.\n",
            ),
        )
        .file(
            "posts/2030-01-02-linking.md",
            &post(
                "Linking",
                "date: 2024-05-02\n",
                "See [the other]({% post_url 2030-01-01-with-include %}).\n",
            ),
        );
    copy_dir(&corpus, &site.path("posts/news"));
    let warned = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let told = warned(site.herald(&["build"]).success().get_output());
    assert_eq!(told.matches("site.repository").count(), 2, "{told}");
    let first = site.outputs();
    assert_eq!(first, uncached(&site));
    let cache = site.path(".herald/render-cache.db");
    let rows = |sql: &str| -> i64 {
        let conn = rusqlite::Connection::open(&cache).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    let cached = rows("SELECT COUNT(*) FROM rendered");
    assert!(cached >= 20, "the feed's posts are kept: {cached}");
    assert!(
        site.path(".herald/.gitignore").exists(),
        "the folder ignores itself"
    );

    // An unchanged rebuild makes no feed again: each file in place is the
    // one the cache recorded for the same posts. The warnings kept with the
    // two posts that warn are told again, word for word.
    let again = warned(site.herald(&["build"]).success().get_output());
    assert_eq!(again, told);
    assert_eq!(site.outputs(), first);
    let conn = rusqlite::Connection::open(&cache).unwrap();
    conn.execute(
        "UPDATE rendered SET html = html || '<p>from the cache</p>'",
        [],
    )
    .unwrap();
    drop(conn);
    site.herald(&["build"]).success();
    assert_eq!(site.outputs(), first, "no feed was made again");

    // Run from inside the folder, which it then names `.`, not by its
    // absolute path: the same rows are found and kept, none rendered again.
    Command::cargo_bin("herald")
        .unwrap()
        .current_dir(site.dir.path())
        .arg("build")
        .assert()
        .success();
    assert_eq!(site.outputs(), first);
    assert_eq!(
        rows("SELECT COUNT(*) FROM rendered WHERE html LIKE '%from the cache%'"),
        cached,
        "every altered row was used, so kept"
    );

    // A feed file gone or changed on disk is made again, from the cache's rows.
    std::fs::remove_file(site.path("public/atom.xml")).unwrap();
    std::fs::write(site.path("public/rss.xml"), "edited by hand").unwrap();
    let replayed = warned(site.herald(&["build"]).success().get_output());
    assert_eq!(replayed, told, "warnings told from the cache");
    let atom = site.read("public/atom.xml");
    assert_eq!(
        atom.matches("from the cache").count(),
        site.feed("public/atom.xml").entries.len(),
        "every entry came from the cache"
    );
    assert!(site.read("public/rss.xml").contains("from the cache"));
    assert!(!site.read("public/feed.json").contains("from the cache"));

    // A new post renders alone; of the rest only the posts that link to
    // another (post_url, link) render again, since the list of posts changed.
    let site = site.file(
        "posts/2030-02-01-new.md",
        &post("New", "date: 2024-06-01\n", "A new post.\n"),
    );
    site.herald(&["build"]).success();
    let atom = site.read("public/atom.xml");
    let rendered: Vec<&str> = atom
        .split("<title>")
        .skip(2)
        .filter(|entry| !entry.contains("from the cache"))
        .map(|entry| &entry[..entry.find("</title>").unwrap()])
        .collect();
    assert_eq!(
        rendered,
        [
            "Jekyll 3.10.0 Released", // {% link %}
            "New",
            "Linking",
            "Jekyll 3.9.4 Released", // {% link %}
            "Jekyll 3.9.3 Released", // {% link %}
        ],
        "the rest came from the cache"
    );
    let linking = atom
        .split("<entry>")
        .find(|e| e.contains("Linking"))
        .unwrap();
    assert!(!linking.contains("from the cache"), "{linking}");

    // A changed post, include and configuration each render again.
    let text = site.read("posts/2030-01-01-with-include.md");
    let site = site.file(
        "posts/2030-01-01-with-include.md",
        &text.replace("Before.", "Changed before."),
    );
    site.herald(&["build"]).success();
    let atom = site.read("public/atom.xml");
    assert!(
        atom.contains("Changed before."),
        "the edited post rendered again"
    );
    let site = site.file("_includes/note.html", "<em>second note</em>");
    site.herald(&["build"]).success();
    assert!(site.read("public/atom.xml").contains("second note"));
    let config = site.read("config/herald.toml");
    let site = site.with_config(&config.replace("limit = 20", "limit = 25"));
    site.herald(&["build"]).success();
    assert!(!site.read("public/atom.xml").contains("from the cache"));
    let last = site.outputs();
    assert_eq!(last, uncached(&site));

    // A damaged cache is made again.
    std::fs::write(&cache, "not a database, and not empty either").unwrap();
    std::fs::remove_dir_all(site.path("public")).unwrap();
    site.herald(&["build"]).success();
    assert_eq!(site.outputs(), last);
    assert!(rows("SELECT COUNT(*) FROM rendered") >= 20, "made again");

    // An older herald's cache, of another layout, is emptied and used.
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", cache.display())).ok();
    }
    rusqlite::Connection::open(&cache)
        .unwrap()
        .execute_batch(
            "CREATE TABLE rendered (key BLOB PRIMARY KEY, html TEXT NOT NULL, excerpt TEXT NOT NULL);
             INSERT INTO rendered VALUES (x'00', 'old', 'old');",
        )
        .unwrap();
    site.herald(&["build"]).success();
    assert_eq!(site.outputs(), last);
    assert_eq!(rows("SELECT COUNT(*) FROM rendered WHERE html = 'old'"), 0);
    assert!(rows("SELECT COUNT(*) FROM rendered") >= 20);
}

/// A full archive made again after one post is edited: every other entry
/// is copied from the site feed in place (the cache's rows, altered, are
/// not read), unless that file is no longer the one the cache recorded.
#[test]
fn an_archive_made_again_after_an_edit_copies_the_other_entries_from_the_site_feed() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-news/_posts");
    let site = TestSite::sample();
    copy_dir(&corpus, &site.path("posts/news"));
    let config = site.read("config/herald.toml");
    let site = site.with_config(&config.replace("limit = 20", "limit = 0"));
    site.herald(&["build"]).success();
    let conn = rusqlite::Connection::open(site.path(".herald/render-cache.db")).unwrap();
    conn.execute(
        "UPDATE rendered SET html = html || '<p>from the cache</p>'",
        [],
    )
    .unwrap();
    drop(conn);
    let mut names: Vec<PathBuf> = std::fs::read_dir(site.path("posts/news"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let newest = names.last().unwrap().clone();
    let edit = |words: &str| {
        let mut text = std::fs::read_to_string(&newest).unwrap();
        text.push_str(&format!("\n{words}\n"));
        std::fs::write(&newest, text).unwrap();
    };

    edit("First edit.");
    site.herald(&["build"]).success();
    let atom = site.read("public/atom.xml");
    assert!(atom.contains("First edit."), "the edited post rendered");
    assert!(
        site.feed("public/atom.xml").entries.len() > 100,
        "every post is in the site feed"
    );
    for name in ["atom.xml", "rss.xml", "feed.json"] {
        let feed = site.read(&format!("public/{name}"));
        assert!(!feed.contains("from the cache"), "{name}: a row was read");
    }
    assert_eq!(site.outputs(), uncached(&site));

    // A site feed changed by hand is not copied from: the rows are read.
    std::fs::write(site.path("public/atom.xml"), format!("{atom} ")).unwrap();
    edit("Second edit.");
    site.herald(&["build"]).success();
    let rss = site.read("public/rss.xml");
    assert!(rss.contains("Second edit."));
    // All but the edited post and the few never cached (one reads site.posts).
    let from_rows = rss.matches("from the cache").count();
    let entries = site.feed("public/rss.xml").entries.len();
    assert!(
        from_rows > 90 && from_rows < entries,
        "{from_rows} of {entries} entries came from the cache's rows"
    );
}

#[test]
fn drafts_unpublished_and_future_posts_never_reach_a_feed() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file("posts/2024-01-01-live.md", &post("Live", "", "Hello\n"))
        .file(
            "posts/2024-01-02-draft.md",
            &post("Draft", "draft: true\n", "x\n"),
        )
        .file(
            "posts/2024-01-03-hidden.md",
            &post("Hidden", "published: false\n", "x\n"),
        )
        .file("posts/2999-01-01-later.md", &post("Later", "", "x\n"));
    site.herald(&["build"]).success();
    for name in ["atom.xml", "rss.xml", "feed.json"] {
        assert_eq!(site.titles(&format!("public/{name}")), ["Live"], "{name}");
    }
}

#[test]
fn tags_that_differ_only_by_case_make_one_feed() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file(
            "posts/2024-01-01-a.md",
            &post("A", "tags: [Python]\n", "a\n"),
        )
        .file(
            "posts/2024-02-01-b.md",
            &post("B", "tags: python rust\n", "b\n"),
        )
        .file(
            "posts/sub/folder/2024-03-01-c.markdown",
            &post("C", "tags: [PYTHON]\ncategory: Notes\n", "c\n"),
        );
    site.herald(&["build"]).success();
    let python = site.feed("public/tags/python/atom.xml");
    assert_eq!(
        python.entries.len(),
        3,
        "sub-folders and .markdown are read; case is ignored"
    );
    assert_eq!(
        python.title.unwrap().content,
        "Test notes: Python",
        "the first spelling names the tag"
    );
    assert_eq!(site.titles("public/tags/rust/rss.xml"), ["B"]);
    assert_eq!(site.titles("public/categories/notes/feed.json"), ["C"]);
    let tag_dirs = std::fs::read_dir(site.path("public/tags")).unwrap().count();
    assert_eq!(tag_dirs, 2, "one folder per tag");
}

#[test]
fn the_feeds_of_a_tag_no_post_has_any_more_are_removed() {
    let site = TestSite::new().with_config(CONFIG).file(
        "posts/2024-01-01-a.md",
        &post("A", "tags: [old, kept]\n", "a\n"),
    );
    site.herald(&["build"]).success();
    assert!(site.path("public/tags/old/atom.xml").exists());
    std::fs::write(site.path("public/tags/kept/notes.txt"), "mine").unwrap();
    let site = site.file("posts/2024-01-01-a.md", &post("A", "tags: [kept]\n", "a\n"));
    site.herald(&["build"])
        .success()
        .stdout(predicate::str::contains("3 stale feed files removed"));
    assert!(!site.path("public/tags/old").exists());
    assert!(site.path("public/tags/kept/atom.xml").exists());
    assert!(
        site.path("public/tags/kept/notes.txt").exists(),
        "other files are left alone"
    );
}

#[test]
fn limit_and_excerpt_mode_shape_the_feeds() {
    let config = format!(
        "{CONFIG}[feeds]\nlimit = 1\ncontent = \"excerpt\"\nformats = [\"rss\", \"atom\"]\n"
    );
    let site = TestSite::new()
        .with_config(&config)
        .file("posts/2024-01-01-old.md", &post("Old", "", "old\n"))
        .file(
            "posts/2024-02-01-new.md",
            &post(
                "New",
                "",
                "Intro with [a link](../../../01/01/old/).\n\n<!--more-->\n\nThe rest, only in full mode.\n",
            ),
        );
    site.herald(&["build"]).success();
    assert!(
        !site.path("public/feed.json").exists(),
        "formats picks the files"
    );
    let rss = site.read("public/rss.xml");
    assert!(
        !rss.contains("content:encoded>"),
        "no full content in excerpt mode"
    );
    assert!(!rss.contains("The rest"));
    let atom = site.feed("public/atom.xml");
    assert_eq!(atom.entries.len(), 1);
    let summary = atom.entries[0].summary.as_ref().unwrap().content.clone();
    assert!(summary.contains("Intro with"), "{summary}");
    assert!(
        summary.contains("https://example.org/blog/2024/01/01/old/"),
        "{summary}"
    );
}

#[test]
fn every_broken_post_is_reported_at_once_and_nothing_is_written() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file("posts/2024-01-01-good.md", &post("Good", "", "fine\n"))
        .file(
            "posts/2024-01-02-bad-date.md",
            "---\ntitle: Bad\ndate: 2024-13-45\n---\n",
        )
        .file(
            "posts/2024-01-03-no-title.md",
            "---\ntags: [x]\n---\nbody\n",
        )
        .file(
            "posts/2024-01-04-bad-yaml.md",
            "---\ntitle: [unclosed\n---\n",
        )
        .file("posts/notes.md", "just some notes\n");
    site.herald(&["build"])
        .code(1)
        .stderr(predicate::str::contains(
            "posts/2024-01-02-bad-date.md:3: `date` is not a date",
        ))
        .stderr(predicate::str::contains(
            "posts/2024-01-03-no-title.md:2: `title` is missing",
        ))
        .stderr(predicate::str::contains(
            "posts/2024-01-04-bad-yaml.md:2: front matter is not valid YAML",
        ))
        .stderr(predicate::str::contains(
            "warning: posts/notes.md:1: not a post",
        ));
    assert!(
        !site.path("public").exists(),
        "no feed is written when a post is broken"
    );

    site.herald(&["build", "--keep-going"])
        .success()
        .stderr(predicate::str::contains("bad-date.md:3"));
    assert_eq!(site.titles("public/atom.xml"), ["Good"]);
}

#[test]
fn an_empty_feed_is_refused_never_dated_1970() {
    let site = TestSite::new().with_config(CONFIG).file(
        "posts/2024-01-02-bad.md",
        "---\ntitle: Bad\n---\n{% if %}\n",
    );
    let config = site.path("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("[site]", "[posts]\nliquid = true\n\n[site]"),
    )
    .unwrap();
    site.herald(&["build", "--keep-going"])
        .code(1)
        .stderr(predicate::str::contains("2024-01-02-bad.md:4"))
        .stderr(predicate::str::contains("no post to publish"));
    assert!(!site.path("public").exists());
}

#[test]
fn keep_going_counts_only_the_posts_in_the_feeds() {
    let site = TestSite::new()
        .with_config(&format!("[posts]\nliquid = true\n\n{CONFIG}"))
        .file("posts/2024-01-01-good.md", &post("Good", "", "fine\n"))
        .file(
            "posts/2024-01-02-bad.md",
            "---\ntitle: Bad\n---\n{% if %}\n",
        )
        // Broken while loading, before any rendering: counted too.
        .file(
            "posts/2024-01-03-bad-yaml.md",
            "---\ntitle: Bad YAML\ndescription:no space\n---\ntext\n",
        );
    site.herald(&["build", "--keep-going"])
        .success()
        .stdout(predicate::str::contains(
            "1 posts (2 left out for their problems), 1 feeds",
        ));
    assert_eq!(site.titles("public/atom.xml"), ["Good"]);
}

#[test]
fn configuration_mistakes_name_the_key_the_file_and_the_line() {
    let site = TestSite::new().with_config(&format!("{CONFIG}[feeds]\nlimmit = 3\n"));
    site.herald(&["build"])
        .code(1)
        .stderr(predicate::str::contains("config/herald.toml:8"))
        .stderr(predicate::str::contains("limmit"));
    TestSite::new()
        .herald(&["build"])
        .code(1)
        .stderr(predicate::str::contains("herald init"));
    TestSite::new().herald(&["build", "--no-such-flag"]).code(2);
}

#[test]
fn check_reads_everything_and_writes_nothing() {
    let site = TestSite::sample();
    site.herald(&["check"])
        .success()
        .stdout(predicate::str::contains("no problems"));
    assert!(!site.path("public").exists());
}

#[test]
fn init_then_new_then_build_works_in_an_empty_folder() {
    let site = TestSite::new();
    site.herald(&["init"]).success();
    assert!(site.read(".gitignore").contains(".herald/"));
    assert!(site.path("templates/email.html").exists());
    site.herald(&["new", "Second post: the sequel", "--tags", "a,b"])
        .success()
        .stdout(predicate::str::contains("-second-post-the-sequel.md"));
    site.herald(&["build"]).success();
    let titles = site.titles("public/atom.xml");
    assert!(
        titles.contains(&"Second post: the sequel".to_string()),
        "{titles:?}"
    );
    assert!(site.path("public/tags/a/rss.xml").exists());
}

#[test]
fn completions_print_a_script() {
    TestSite::new()
        .herald(&["completions", "bash"])
        .success()
        .stdout(predicate::str::contains("_herald"));
}

#[test]
fn the_jekyll_news_corpus_builds_without_error_and_every_feed_reads_back() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jekyll-news/_posts");
    let site = TestSite::new().with_config(
        "[site]\ntitle = \"Jekyll news\"\nurl = \"https://jekyllrb.com\"\n\
         timezone = \"America/Los_Angeles\"\npermalink = \"/news/:year/:month/:day/:title/\"\n\
         [posts]\nliquid = false\n[feeds]\nlimit = 0\n",
    );
    copy_dir(&corpus, &site.path("posts"));
    site.herald(&["build"]).success();
    let atom = site.feed("public/atom.xml");
    assert_eq!(atom.entries.len(), 102);
    let ids: std::collections::HashSet<_> = atom.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 102, "ids are unique");
    let updated: std::collections::HashSet<_> = atom.entries.iter().map(|e| e.updated).collect();
    assert_eq!(updated.len(), 102, "no two entries share an updated stamp");
    for (path, bytes) in site.outputs() {
        if path.extension().is_some_and(|e| e == "xml") {
            assert_well_formed(&path.display().to_string(), &bytes);
        }
    }
}

/// The content (or, without it, the summary) of every entry titled `title`,
/// in all three formats, as feed-rs reads it back.
fn contents(site: &TestSite, title: &str) -> Vec<(String, Option<String>)> {
    ["public/atom.xml", "public/rss.xml", "public/feed.json"]
        .into_iter()
        .map(|name| {
            let entry = site
                .feed(name)
                .entries
                .into_iter()
                .find(|e| e.title.as_ref().is_some_and(|t| t.content == title))
                .unwrap_or_else(|| panic!("{name} has no entry titled {title:?}"));
            (name.to_string(), entry.content.and_then(|c| c.body))
        })
        .collect()
}

#[test]
fn a_hostile_post_reaches_no_feed_with_anything_active() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file("posts/2024-06-01-hostile.md", support::hostile::POST);
    site.herald(&["build"]).success();
    for name in ["public/atom.xml", "public/rss.xml"] {
        assert_well_formed(name, site.read(name).as_bytes());
    }
    // The title is decoded and stripped the same way in every format.
    let title = "Tom & Jerry strike back";
    for (name, content) in contents(&site, title) {
        let html = content.unwrap_or_else(|| panic!("{name}: no content"));
        assert_eq!(
            herald::html::active_content(&html),
            Vec::<String>::new(),
            "{name}: {html}"
        );
        assert!(!html.contains("<style"), "{name}: {html}");
        assert_absolute_urls(&name, &html);
        for kept in [
            // The iframe's link, escaped once.
            r#"<a href="https://www.youtube.com/embed/x?a=1&amp;b=2">A talk</a>"#,
            r#"<a href="https://example.org/relative/?a=1&amp;b=2">kept, made absolute</a>"#,
            r#"srcset="https://example.org/blog/2024/06/01/hostile/ok.png 1x""#,
            // Broken markup, as a browser reads it.
            r#"<p><a name="anchor">Text after a self-closed anchor</a></p>"#,
            // The unclosed anchor goes on into the next paragraph, where the
            // stray end tag closes it, as in a browser.
            r#"<p><a name="anchor">A stray end tag</a> and <b>misnested <i>tags</i></b><i> here</i>.</p>"#,
        ] {
            assert!(html.contains(kept), "{name} lacks {kept}: {html}");
        }
        assert!(!html.contains("&amp;amp;"), "{name}: {html}");
    }
    // Summaries too (the excerpt is the first paragraph, full of links).
    for name in ["public/atom.xml", "public/rss.xml"] {
        let feed = site.feed(name);
        let summary = feed.entries[0]
            .summary
            .as_ref()
            .expect("summary")
            .content
            .clone();
        assert_eq!(
            herald::html::active_content(&summary),
            Vec::<String>::new(),
            "{name}: {summary}"
        );
    }
}

#[test]
fn an_empty_post_has_no_empty_content_element() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file("posts/2024-06-02-empty.md", "---\ntitle: Empty\n---\n")
        .file(
            "posts/2024-06-01-full.md",
            &post("Full", "", "Some text.\n"),
        );
    site.herald(&["build"]).success();
    for (name, content) in contents(&site, "Empty") {
        // feed-rs reads JSON's `content_text: ""` as an empty body.
        assert!(content.unwrap_or_default().is_empty(), "{name}");
    }
    let atom = site.read("public/atom.xml");
    assert_eq!(atom.matches("<content ").count(), 1, "{atom}");
    let rss = site.read("public/rss.xml");
    assert_eq!(rss.matches("<content:encoded>").count(), 1, "{rss}");
    let json: serde_json::Value = serde_json::from_str(&site.read("public/feed.json")).unwrap();
    let empty = &json["items"][0];
    assert_eq!(empty["title"], "Empty");
    assert!(empty.get("content_html").is_none(), "{empty}");
    assert_eq!(empty["content_text"], "");
    assert!(
        json["items"][1]["content_html"]
            .as_str()
            .unwrap()
            .contains("Some text.")
    );
}

#[test]
fn deeply_nested_posts_build_with_their_nesting_bounded() {
    let levels = 16_000;
    let site = TestSite::new()
        .with_config(CONFIG)
        .file(
            "posts/2024-06-01-quotes.md",
            &post("Quotes", "", &format!("{} deep\n", ">".repeat(levels))),
        )
        .file(
            "posts/2024-06-02-divs.md",
            &post("Divs", "", &format!("{}deeper\n", "<div>".repeat(100_000))),
        );
    site.herald(&["build"]).success();
    assert_well_formed("atom.xml", site.read("public/atom.xml").as_bytes());
    for (title, element, text) in [
        ("Quotes", "<blockquote>", "deep"),
        ("Divs", "<div>", "deeper"),
    ] {
        for (name, content) in contents(&site, title) {
            let html = content.expect("content");
            assert_eq!(
                html.matches(element).count(),
                herald::html::MAX_DEPTH,
                "{name}"
            );
            assert!(html.contains(text), "{name}: the text is kept");
        }
    }
}

/// A site holding one post, for the hostile-input tests.
fn one_post(name: &str, text: &str) -> TestSite {
    TestSite::new()
        .with_config(CONFIG)
        .file(&format!("posts/{name}"), text)
}

/// `build` and `check` fail with `file:line: message`, and no panic.
fn assert_refused(site: &TestSite, file_line: &str, message: &str) {
    for command in ["build", "check"] {
        let out = site.herald(&[command]).failure().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&format!("{file_line}: ")) && stderr.contains(message),
            "{command}: wanted {file_line}: ...{message}..., got:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn hostile_liquid_is_an_error_with_its_file_and_line_never_a_panic() {
    let doubling = "{% assign s = \"0123456789\" %}".to_string()
        + &"{% assign s = s | append: s %}".repeat(40);
    let cases = [
        ("a {%} b\n".to_string(), 4, "Liquid"),
        (
            "x\n".to_string() + &"{% if true %}\n".repeat(5000),
            5 + 100,
            "blocks nested more than 100 deep",
        ),
        (
            "x\n{% for i in (1..100000000) %}{% endfor %}\n".to_string(),
            5,
            "more than 1000000 times",
        ),
        (
            "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}"
                .to_string(),
            4,
            "more than 1000000 times",
        ),
        (doubling, 4, "larger than 16 MB"),
        (
            format!("x\n{{% if {}a %}}y{{% endif %}}\n", "3".repeat(90)),
            5,
            "a number with more than 18 digits",
        ),
        (
            format!("{{{{ a{}{} }}}}", "[a".repeat(5000), "]".repeat(5000)),
            4,
            "brackets nested more than 32 deep",
        ),
    ];
    for (body, line, message) in cases {
        let site = one_post("2024-01-01-a.md", &post("A", "", &body));
        assert_refused(&site, &format!("posts/2024-01-01-a.md:{line}"), message);
    }
}

#[test]
fn a_post_file_over_4_mb_is_a_broken_post() {
    let body = "word ".repeat(900_000);
    let site = one_post("2024-01-01-a.md", &post("A", "", &body));
    let out = site.herald(&["build"]).failure().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("posts/2024-01-01-a.md: 4500017 bytes: larger than the 4 MB"),
        "{stderr}"
    );
}

#[test]
fn an_include_nested_too_deep_is_refused_with_its_own_file_and_line() {
    let deep = "\n".to_string() + &"{% if true %}".repeat(5000) + &"{% endif %}".repeat(5000);
    let site = one_post(
        "2024-01-01-a.md",
        &post("A", "", "{% include deep.html %}\n"),
    )
    .file("_includes/deep.html", &deep);
    assert_refused(
        &site,
        "_includes/deep.html:2",
        "blocks nested more than 100 deep",
    );
}

#[test]
fn long_runs_of_whitespace_build_and_keep_their_text() {
    let body = format!(
        "start{}middle{}{{{{ page.title }}}} end\n",
        " ".repeat(50_000),
        "\n".repeat(20_000)
    );
    let site = one_post("2024-01-01-a.md", &post("Spaced", "", &body));
    site.herald(&["build"]).success();
    let content = site.first_content("public/atom.xml");
    assert!(content.contains("middle"), "{content}");
    assert!(content.contains("Spaced end"), "{content}");
    assert!(!content.contains('\u{FDD0}'), "the run markers are gone");
}

#[test]
fn dates_outside_years_1_to_9999_are_errors_with_their_line() {
    let site = one_post("2024-01-01-a.md", &post("A", "date: -0001-01-01\n", "x\n"));
    assert_refused(&site, "posts/2024-01-01-a.md:3", "`date` is out of range");
    let late = post("A", "updated: 9999-12-31T23:00:00-05:00\n", "x\n");
    let site = one_post("2024-01-01-a.md", &late);
    assert_refused(
        &site,
        "posts/2024-01-01-a.md:3",
        "`updated` is out of range",
    );
    let site = one_post("0000-06-01-a.md", &post("A", "", "x\n"));
    let out = site.herald(&["build"]).failure().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("posts/0000-06-01-a.md: the date in the file name"),
        "{stderr}"
    );
}

/// Text that is not UTF-8 is an error naming its line, whether it is in
/// the front matter (read as the site loads) or deep in a long body (read
/// only when the post is rendered: loading reads a file's first bytes).
#[test]
fn text_that_is_not_utf8_is_an_error_with_its_line() {
    let site = one_post("2024-01-01-a.md", "replaced below");
    let file = site.path("posts/2024-01-01-a.md");
    std::fs::write(&file, b"---\ntitle: A\nsummary: caf\xe9\n---\nBody.\n").unwrap();
    assert_refused(&site, "posts/2024-01-01-a.md:3", "not UTF-8");

    let mut long = post("A", "", &"A line of the body.\n".repeat(500)).into_bytes();
    long.extend_from_slice(b"caf\xe9\n");
    std::fs::write(&file, long).unwrap();
    assert_refused(&site, "posts/2024-01-01-a.md:504", "not UTF-8");

    // A character cut by the end of the first bytes read is read whole.
    let cut = post("A", "", &"é".repeat(3000));
    assert_eq!(cut.find('é').unwrap() % 2, 1, "byte 4096 falls inside an é");
    std::fs::write(&file, cut).unwrap();
    site.herald(&["build"]).success();
    let content = site.first_content("public/atom.xml");
    assert_eq!(content.matches('é').count(), 3000, "{content}");
}

#[test]
fn a_tag_too_long_for_a_file_name_gets_a_short_stable_folder() {
    let tag = "漢".repeat(87);
    let site = one_post(
        "2024-01-01-a.md",
        &post("A", &format!("tags: [{tag}, short]\n"), "x\n"),
    );
    site.herald(&["build"]).success();
    let folders: Vec<String> = std::fs::read_dir(site.path("public/tags"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 2, "{folders:?}");
    assert!(folders.iter().all(|f| f.len() <= 255), "{folders:?}");
    let long = folders.iter().find(|f| *f != "short").unwrap();
    let feed = site.feed(&format!("public/tags/{long}/atom.xml"));
    assert_eq!(feed.entries.len(), 1);
    site.herald(&["build"])
        .success()
        .stdout(predicate::str::contains("(0 changed)"));
}

#[test]
fn a_build_that_cannot_write_every_feed_writes_none() {
    let site = one_post("2024-01-01-a.md", &post("Old", "tags: [t]\n", "x\n"));
    site.herald(&["build"]).success();
    let before = site.read("public/atom.xml");
    std::fs::write(
        site.path("posts/2024-01-01-a.md"),
        post("New", "tags: [t]\n", "x\n"),
    )
    .unwrap();
    // The tag feed's folder cannot be made: a file stands where it goes.
    std::fs::remove_dir_all(site.path("public/tags")).unwrap();
    std::fs::write(site.path("public/tags"), "in the way").unwrap();
    site.herald(&["build", "--keep-going"]).failure();
    assert_eq!(
        site.read("public/atom.xml"),
        before,
        "the site feed is untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(site.path("public"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".herald-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn two_posts_with_one_url_or_id_are_an_error_naming_both() {
    let site = TestSite::new()
        .with_config(CONFIG)
        .file(
            "posts/2024-01-01-a.md",
            &post("A", "permalink: /same/\n", "a\n"),
        )
        .file(
            "posts/2024-02-01-b.md",
            &post("B", "permalink: /same/\n", "b\n"),
        )
        .file("posts/2024-03-01-c.md", &post("C", "id: tag:x\n", "c\n"))
        .file("posts/2024-04-01-d.md", &post("D", "id: tag:x\n", "d\n"))
        .file("posts/2024-05-01-e.md", &post("E", "", "e\n"));
    let out = site.herald(&["build"]).failure().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("posts/2024-02-01-b.md: has the same URL as posts/2024-01-01-a.md"),
        "{stderr}"
    );
    assert!(
        stderr.contains("posts/2024-04-01-d.md: has the same id as posts/2024-03-01-c.md"),
        "{stderr}"
    );
    assert!(!site.path("public").exists());
    // With --keep-going both of each pair are left out: which one is meant cannot be known.
    site.herald(&["build", "--keep-going"]).success();
    assert_eq!(site.titles("public/atom.xml"), ["E"]);
}

#[cfg(unix)]
#[test]
fn dangling_and_looping_links_are_broken_posts_not_a_failed_walk() {
    let site = one_post("2024-01-01-a.md", &post("A", "", "a\n"));
    std::os::unix::fs::symlink("missing.md", site.path("posts/2024-01-02-gone.md")).unwrap();
    std::os::unix::fs::symlink(".", site.path("posts/loop")).unwrap();
    let out = site.herald(&["build"]).failure().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("posts/2024-01-02-gone.md: cannot read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("posts/loop: a symbolic link that loops"),
        "{stderr}"
    );
    let out = site.herald(&["build", "--keep-going"]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("posts/2024-01-02-gone.md"), "{stderr}");
    assert_eq!(site.titles("public/atom.xml"), ["A"]);
}

#[test]
fn an_absolute_permalink_is_the_posts_url_as_written() {
    let site = one_post(
        "2024-01-01-a.md",
        &post("A", "permalink: \"https://other.example/x\"\n", "a\n"),
    );
    site.herald(&["build"]).success();
    for name in ["public/atom.xml", "public/rss.xml", "public/feed.json"] {
        let feed = site.feed(name);
        assert_eq!(
            feed.entries[0].links[0].href, "https://other.example/x",
            "{name}"
        );
    }
}

/// Every input the fuzzers found a fault with, replayed through the same
/// checks (fuzz/src/checks.rs).
#[test]
fn saved_fuzz_inputs_pass_the_fuzz_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 3] = [
        ("post_to_feed", checks::post_to_feed),
        ("csv_import", checks::csv_import),
        ("config", checks::config),
    ];
    let mut replayed = 0;
    for (target, check) in targets {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let caught = std::panic::catch_unwind(|| check(&bytes));
            assert!(caught.is_ok(), "{target}: {} fails again", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "the fixtures are there");
}

mod no_panic {
    use std::path::Path;

    use herald::config::Config;
    use herald::post::{Post, Read};
    use proptest::prelude::*;

    fn config() -> Config {
        Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://example.org/blog\"\n",
            Path::new("c.toml"),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any front matter and body: a post, a skip or located problems; never a panic.
        #[test]
        fn any_post_text_reads_without_panic(
            front in "(title|date|tags|author|draft|permalink|slug|id|updated|[a-z]{1,6})(: |:|=| = )[ -~\u{0}-\u{1f}\u{a0}-\u{2ff}]{0,40}(\n[a-z]{1,8}: [ -~]{0,20}){0,4}",
            body in "[ -~\n\u{0}-\u{1f}\u{e9}\u{2603}<>&\\]\\[]{0,200}",
            fence in "(---|\\+\\+\\+|)",
        ) {
            let text = format!("{fence}\n{front}\n{fence}\n{body}");
            match Post::read(Path::new("posts/2024-01-01-x.md"), &text, &config()) {
                Read::Post(post) => {
                    prop_assert!(post.url.starts_with("https://example.org/blog/"));
                    let html = herald::markdown::to_html(&post.body().unwrap());
                    let base = url::Url::parse(&post.url).unwrap();
                    let _ = herald::html::portable(&html, &base);
                }
                Read::Broken(problems) => prop_assert!(problems.iter().all(|p| p.line.unwrap_or(1) >= 1)),
                Read::Skipped(_) => {}
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Any text of Liquid pieces, with Liquid on: read, rendered and
        /// written into every feed format without a panic, the feeds
        /// well-formed and free of active content.
        #[test]
        fn any_liquid_post_renders_into_clean_feeds(
            pieces in proptest::collection::vec(
                "(\\{%-?|-?%\\}|\\{\\{-?|-?\\}\\}|if|endif|for|endfor|in|raw|endraw|comment|endcomment|capture|endcapture|assign|=|[ \n]{1,40}|\\(1\\.\\.[0-9]{1,4}\\)|\\||append|size|[a-z]{1,3}|\"[a-z<>]{0,4}\"|\\[|\\]|<b>|&|:|,)",
                0..60,
            ),
            title in "[a-z ]{1,10}",
        ) {
            let text = format!("---\ntitle: {title}\ntags: [a]\n---\n{}", pieces.concat());
            super::checks::post_to_feed(text.as_bytes());
        }
    }
}
