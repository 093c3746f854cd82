//! What the fuzz targets run and assert, shared with the normal test suite
//! (tests/fuzz.rs replays every saved input in tests/fixtures/fuzz/<target>/
//! through these same functions). Each function panics when herald breaks
//! a promise: a panic inside herald, a feed that is not well-formed XML, or
//! active content (a script element, an `on*` attribute, a `javascript:`,
//! `vbscript:` or `data:` URL) in a feed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use herald::config::{Config, FeedFormat};
use herald::content::Renderer;
use herald::feed::{self, Entry};
use herald::post::{Post, Read};
use herald::site::Site;

/// Liquid on, every feed format, tag and category feeds, full content.
pub const CONFIG: &str = r#"[site]
title = "Fuzz"
url = "https://example.org/blog"
timezone = "America/New_York"
[posts]
liquid = true
[feeds]
formats = ["atom", "rss", "json"]
"#;

/// A post file's text, through reading, Liquid, Markdown, the cleaner and
/// every feed format; each feed is checked.
pub fn post_to_feed(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = Config::parse(CONFIG, Path::new("fuzz.toml")).expect("the fuzz config parses");
    let post = match Post::read(Path::new("posts/2024-01-01-fuzz.md"), text, &config) {
        Read::Post(post) => post,
        Read::Skipped(_) | Read::Broken(_) => return,
    };
    let site = Site {
        root: PathBuf::from("/nonexistent-fuzz-site"),
        config_path: PathBuf::from("fuzz.toml"),
        config,
        posts: vec![post],
        warnings: Vec::new(),
        drafts: 0,
        future: 0,
        broken: 0,
        problems: Vec::new(),
    };
    let Ok(renderer) = Renderer::new(&site) else {
        return;
    };
    let Ok(rendered) = renderer.render(&site.posts[0]) else {
        return;
    };
    let dates = feed::entry_dates(&site.posts);
    let entry = Entry {
        post: &site.posts[0],
        content: &rendered.content,
        updated: dates[0],
    };
    let channels = feed::plan(&site.config, &site.posts);
    for format in [FeedFormat::Atom, FeedFormat::Rss, FeedFormat::Json] {
        let made = feed::Entries::new(&site.config, &channels[0], format)
            .and_then(|maker| maker.entry(&entry))
            .expect("an entry renders into memory");
        for channel in &channels {
            let mut stream = feed::Stream::new(&site.config, channel, Some(dates[0]), format)
                .expect("a feed renders into memory");
            let mut bytes = Vec::new();
            bytes.extend(stream.push(&[&made]).concat());
            stream.finish(&mut bytes);
            match format {
                FeedFormat::Json => check_json(&bytes),
                _ => check_xml(&bytes),
            }
        }
    }
}

/// Elements whose text a feed reader shows as HTML.
const HTML_ELEMENTS: &[&str] = &["content", "summary", "description", "content:encoded"];

/// Well-formed XML; no active content in any HTML it carries, and no
/// script URL in a link.
pub fn check_xml(bytes: &[u8]) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut open: Vec<String> = Vec::new();
    // The escaped text of the HTML element being read.
    let mut html = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                check_xml_attributes(&e);
                open.push(e.name().as_ref().to_string());
                html.clear();
            }
            Ok(Event::Empty(e)) => check_xml_attributes(&e),
            Ok(Event::End(_)) => {
                if open
                    .pop()
                    .is_some_and(|name| HTML_ELEMENTS.contains(&name.as_str()))
                {
                    let text = quick_xml::escape::unescape(&html).expect("entities are known");
                    check_html(&text);
                }
                html.clear();
            }
            Ok(Event::Text(text)) => html.push_str(&text.xml10_content()),
            Ok(Event::GeneralRef(name)) => {
                html.push('&');
                html.push_str(&name.xml10_content());
                html.push(';');
            }
            Ok(Event::CData(data)) => check_html(&data.into_inner()),
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed XML at {}: {e}\n{}",
                reader.buffer_position(),
                String::from_utf8_lossy(bytes)
            ),
        }
        buf.clear();
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
}

fn check_xml_attributes(element: &quick_xml::events::BytesStart<'_>) {
    for attribute in element.attributes() {
        let attribute = attribute.expect("attributes are well-formed");
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .expect("attribute values unescape");
        let key: &str = attribute.key.as_ref();
        if URL_ATTRIBUTES.contains(&key) {
            assert_no_script_url(key, &value);
        }
    }
}

/// Feed attributes a reader follows or resolves as a URL. A category's
/// `term` or `label` is text the author chose (`category: data:science` is a
/// topic, not a link), so it is not held to URL schemes.
const URL_ATTRIBUTES: &[&str] = &["href", "src", "url", "uri", "scheme", "domain", "xml:base"];

fn assert_no_script_url(key: &str, value: &str) {
    let value: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    for scheme in ["javascript:", "vbscript:", "data:"] {
        assert!(
            !value.starts_with(scheme),
            "{scheme} URL in {key}: {value:?}"
        );
    }
}

/// Valid JSON, and no active content in `content_html`. (`summary` and
/// `content_text` are plain text in JSON Feed 1.1: a reader shows `<x>` in
/// them as the characters it is, so they are not read as HTML here.)
pub fn check_json(bytes: &[u8]) {
    let feed: serde_json::Value = serde_json::from_slice(bytes).expect("the JSON feed parses");
    for item in feed["items"].as_array().into_iter().flatten() {
        if let Some(html) = item["content_html"].as_str() {
            check_html(html);
        }
    }
}

/// Text a feed reader may show as HTML: nothing in it that runs or loads
/// (the library's own check, `herald::html::active_content`).
pub fn check_html(html: &str) {
    let found = herald::html::active_content(html);
    assert!(found.is_empty(), "active content {found:?} in {html:?}");
}

/// A subscriber CSV through `subscribers import` into a real ledger file.
pub fn csv_import(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("list.csv");
    std::fs::write(&csv, data).expect("write the CSV");
    let mut ledger =
        herald::ledger::Ledger::open(&dir.path().join("ledger.sqlite")).expect("open the ledger");
    let _ = herald::subscribers::import_csv(&mut ledger, &csv, Path::new("list.csv"));
}

/// A configuration file's text through the loader.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, Path::new("herald.toml"));
    }
}
