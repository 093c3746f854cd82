//! An existing Jekyll blog, unchanged: `herald init --from-jekyll` then
//! `herald build` as the real binary, with URLs compared to what real
//! Jekyll 4.3.1 produced for the same posts (the expected files were made
//! with Jekyll; see tests/fixtures/jekyll-blog/make-expected.sh), and every
//! output searched for leaked Liquid.

mod support;
use support::copy_dir;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use herald::{LoadOptions, Site};
use predicates::prelude::*;

fn herald(root: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("herald")
        .unwrap()
        .arg("-C")
        .arg(root)
        .args(args)
        .assert()
}

/// A temporary root with a copy of `blog` under `blog/`, adopted with
/// `init --from-jekyll`.
fn adopt(blog: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    copy_dir(blog, &root.path().join("blog"));
    let blog = root.path().join("blog");
    herald(
        root.path(),
        &["init", "--from-jekyll", blog.to_str().unwrap()],
    )
    .success()
    .stdout(predicate::str::contains("config/herald.toml"));
    root
}

fn set_config(root: &Path, key: &str, value: &str) {
    let path = root.join("config/herald.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("{key} = ");
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) {
                format!("{prefix}{value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
}

/// `# permalink: STYLE` sections of `source-path url` lines.
fn expected_sections(path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        if let Some(style) = line.strip_prefix("# permalink: ") {
            current = style.to_string();
        } else if !line.starts_with('#') && !line.is_empty() {
            let (source, url) = line.rsplit_once(' ').unwrap();
            sections
                .entry(current.clone())
                .or_default()
                .insert(source.to_string(), url.to_string());
        }
    }
    sections
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn post_urls_equal_jekylls_for_every_permalink_style() {
    let blog = fixtures().join("jekyll-blog");
    let root = adopt(&blog);
    let sections = expected_sections(&blog.join("expected-urls.txt"));
    assert!(sections.len() >= 6, "{:?}", sections.keys());
    for (style, expected) in sections {
        set_config(root.path(), "permalink", &format!("{style:?}"));
        let site = Site::load(root.path(), None, &LoadOptions::default()).unwrap();
        let got: BTreeMap<String, String> = site
            .posts
            .iter()
            .map(|p| {
                let source = p.path.strip_prefix("blog").unwrap().display().to_string();
                (source, p.url.clone())
            })
            .collect();
        let want: BTreeMap<String, String> = expected
            .iter()
            .map(|(source, url)| (source.clone(), format!("https://example.org/blog{url}")))
            .collect();
        assert_eq!(got, want, "permalink style {style}");
    }
}

#[test]
fn the_jekyll_news_corpus_builds_with_jekylls_links_and_no_leaked_liquid() {
    let corpus = fixtures().join("jekyll-news");
    let root = adopt(&corpus);
    set_config(root.path(), "limit", "0");
    herald(root.path(), &["build"]).success();

    let expected: BTreeSet<String> =
        std::fs::read_to_string(fixtures().join("jekyll-news-urls.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| format!("https://jekyllrb.com{}", l.rsplit_once(' ').unwrap().1))
            .collect();
    assert_eq!(expected.len(), 102);
    // The same URLs worked out from the posts themselves, as Jekyll's docs
    // describe it: the front matter date (else the file name's) seen in the
    // site's time zone, and the file name's title.
    let from_posts: BTreeSet<String> = std::fs::read_dir(corpus.join("_posts"))
        .unwrap()
        .map(|entry| news_url(&entry.unwrap().path(), chrono_tz::America::Los_Angeles))
        .collect();
    assert_eq!(from_posts, expected);
    // jekyll-feed's address, so subscribers keep their feed.
    let atom = std::fs::read(root.path().join("public/feed.xml")).unwrap();
    let feed = feed_rs::parser::parse(atom.as_slice()).unwrap();
    let links: BTreeSet<String> = feed
        .entries
        .iter()
        .map(|e| e.links[0].href.clone())
        .collect();
    assert_eq!(links, expected);
    for other in ["rss.xml", "feed.json"] {
        let bytes = std::fs::read(root.path().join("public").join(other)).unwrap();
        let feed = feed_rs::parser::parse(bytes.as_slice()).unwrap();
        let links: BTreeSet<String> = feed
            .entries
            .iter()
            .map(|e| e.links[0].href.clone())
            .collect();
        assert_eq!(links, expected, "{other}");
    }
    // Entry ids as jekyll-feed wrote them: no trailing slash.
    assert!(
        feed.entries
            .iter()
            .all(|e| !e.id.ends_with('/') && e.id.starts_with("https://jekyllrb.com/news/"))
    );

    for entry in walkdir::WalkDir::new(root.path().join("public")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert_no_liquid_outside_code(&entry.path().display().to_string(), &text);
        }
    }
}

/// `https://jekyllrb.com/news/:year/:month/:day/:title/` for one post file.
fn news_url(path: &Path, zone: chrono_tz::Tz) -> String {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let name = path.file_stem().unwrap().to_str().unwrap();
    let (day, title) = name.split_at(10);
    let front_date = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("date:")
                .map(|d| d.trim().trim_matches('"').to_string())
        });
    let local = match front_date {
        Some(text) => {
            // "2016-07-26 11:00:00 -0700"; one post repeats its year before the offset.
            let words: Vec<&str> = text.split_whitespace().collect();
            let time = format!("{} {} {}", words[0], words[1], words[words.len() - 1]);
            chrono::DateTime::parse_from_str(&time, "%Y-%m-%d %H:%M:%S %z")
                .unwrap()
                .with_timezone(&zone)
                .date_naive()
        }
        None => {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0).unwrap();
            zone.from_local_datetime(&midnight).unwrap().date_naive()
        }
    };
    format!(
        "https://jekyllrb.com/news/{}/{}/",
        local.format("%Y/%m/%d"),
        &title[1..]
    )
}

/// No `{%` or `{{` in feed content except inside `<pre>` or `<code>`
/// (where Jekyll's own posts show Liquid on purpose, with `{% raw %}`).
fn assert_no_liquid_outside_code(name: &str, xml: &str) {
    // The feeds escape their HTML; look at it unescaped.
    let text = xml
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">");
    let mut outside = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(['<']) {
        outside.push_str(&rest[..start]);
        rest = &rest[start..];
        let closing = ["pre", "code"].iter().find_map(|tag| {
            let open = format!("<{tag}");
            let next = rest.as_bytes().get(open.len()).copied();
            (rest.starts_with(&open) && matches!(next, Some(b'>' | b' ')))
                .then(|| format!("</{tag}>"))
        });
        match closing.and_then(|close| rest.find(&close).map(|end| end + close.len())) {
            Some(end) => rest = &rest[end..],
            None => {
                outside.push('<');
                rest = &rest[1..];
            }
        }
    }
    outside.push_str(rest);
    for marker in ["{%", "{{"] {
        if let Some(at) = outside.find(marker) {
            let context = &outside[at.saturating_sub(80)..(at + 80).min(outside.len())];
            panic!("{name}: Liquid leaked: ...{context}...");
        }
    }
}

#[test]
fn drafts_unpublished_and_undated_files_stay_out_as_in_jekyll() {
    let root = adopt(&fixtures().join("jekyll-blog"));
    let site = Site::load(root.path(), None, &LoadOptions::default()).unwrap();
    let names: Vec<String> = site
        .posts
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("unpublished") || n.contains("undated")),
        "{names:?}"
    );
    assert!(
        site.warnings
            .iter()
            .any(|w| w.path.ends_with("undated-notes.md"))
    );
    // Even with a date in its front matter, a file without the date prefix is not a Jekyll post.
    std::fs::write(
        root.path().join("blog/_posts/about.md"),
        "---\ntitle: About\ndate: 2020-01-01\n---\nhi\n",
    )
    .unwrap();
    let site = Site::load(root.path(), None, &LoadOptions::default()).unwrap();
    assert!(!site.posts.iter().any(|p| p.title == "About"));
    assert!(site.warnings.iter().any(|w| w.path.ends_with("about.md")));
}

#[test]
fn init_from_jekyll_refuses_to_overwrite_and_names_a_missing_config() {
    let root = adopt(&fixtures().join("jekyll-blog"));
    let blog = root.path().join("blog");
    herald(
        root.path(),
        &["init", "--from-jekyll", blog.to_str().unwrap()],
    )
    .code(2)
    .stderr(predicate::str::contains("--force"));
    let empty = tempfile::tempdir().unwrap();
    herald(
        empty.path(),
        &["init", "--from-jekyll", empty.path().to_str().unwrap()],
    )
    .code(2)
    .stderr(predicate::str::contains("no _config.yml"));
}

#[test]
fn liquid_in_a_jekyll_post_renders_into_the_feed() {
    let root = adopt(&fixtures().join("jekyll-blog"));
    let post = "---\ntitle: Liquid\n---\n\
        Docs at {{ site.JB.BASE_PATH }}/docs and [the first]({% post_url 2015-07-23-some-title %}).\n\n\
        {% highlight ruby %}\nputs \"{{ page.title }}\"\n{% endhighlight %}\n\n\
        {% raw %}`{{ not rendered }}`{% endraw %} {% seo %}\n";
    std::fs::write(root.path().join("blog/_posts/2022-02-02-liquid.md"), post).unwrap();
    set_config(root.path(), "limit", "0");
    herald(root.path(), &["build"])
        .success()
        .stderr(predicate::str::contains(
            "2022-02-02-liquid.md:10: Liquid: unknown tag `{% seo %}`",
        ));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("public/feed.json")).unwrap(),
    )
    .unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Liquid")
        .unwrap();
    let html = item["content_html"].as_str().unwrap();
    assert!(html.contains("Docs at /blog/docs"), "{html}");
    assert!(
        html.contains("href=\"https://example.org/blog/2015/07/23/some-title.html\""),
        "{html}"
    );
    assert!(
        html.contains("<pre><code class=\"language-ruby\">puts &quot;Liquid&quot;</code></pre>"),
        "{html}"
    );
    assert!(html.contains("<code>{{ not rendered }}</code>"), "{html}");
    assert_no_liquid_outside_code("feed.json", html);
}

/// `<case NAME>text</case>` pieces, by name.
fn cases(text: &str) -> BTreeMap<String, String> {
    let mut cases = BTreeMap::new();
    let mut rest = text;
    while let Some(start) = rest.find("<case ") {
        rest = &rest[start + "<case ".len()..];
        let Some((name, after)) = rest.split_once('>') else {
            break;
        };
        let Some((body, after)) = after.split_once("</case>") else {
            break;
        };
        cases.insert(name.to_string(), body.to_string());
        rest = after;
    }
    cases
}

#[test]
fn liquid_renders_each_case_as_jekyll_does() {
    let fixture = fixtures().join("jekyll-liquid");
    let root = adopt(&fixture);
    // Jekyll renders an .html post's Liquid and nothing else; herald reads
    // Markdown posts, so the same text goes in as .md and only Liquid runs.
    let posts = root.path().join("blog/_posts");
    std::fs::rename(
        posts.join("2020-01-02-cases.html"),
        posts.join("2020-01-02-cases.md"),
    )
    .unwrap();
    let site = Site::load(root.path(), None, &LoadOptions::default()).unwrap();
    let engine = herald::liquid::Engine::new(&site).unwrap();
    let post = site
        .posts
        .iter()
        .find(|p| p.path.ends_with("2020-01-02-cases.md"))
        .unwrap();
    let output = engine.render(post).unwrap_or_else(|e| panic!("{e:?}"));
    let got = cases(&output.text);
    let want = cases(&std::fs::read_to_string(fixture.join("expected.html")).unwrap());
    assert!(want.len() >= 58, "{}", want.len());
    let wrong: Vec<String> = want
        .iter()
        .filter(|(name, text)| got.get(*name) != Some(text))
        .map(|(name, text)| format!("{name}: jekyll {text:?}, herald {:?}", got.get(name)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The `key=value` line of a liquid error message, as src/liquid reads it.
fn error_field<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        line.trim_start()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// A canary: herald's leniency (unknown tags left out, unknown filters
/// passed through, undefined variables empty) recognises liquid's errors by
/// their wording. liquid is pinned exactly in Cargo.toml; if an upgrade
/// changes the wording, this fails before the leniency silently stops.
#[test]
fn liquid_words_its_errors_as_the_leniency_code_reads_them() {
    let parser = liquid::ParserBuilder::with_stdlib().build().unwrap();
    let parse_error = |text: &str| match parser.parse(text) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.to_string(),
    };
    let tag = parse_error("a\n{% seo title=false %}");
    assert!(tag.contains("Unknown tag"), "{tag}");
    assert_eq!(error_field(&tag, "requested"), Some("seo"), "{tag}");

    let filter = parse_error("{{ 'x' | nosuch }}");
    assert!(filter.contains("Unknown filter"), "{filter}");
    assert_eq!(
        error_field(&filter, "requested filter"),
        Some("nosuch"),
        "{filter}"
    );

    let render = |text: &str| {
        let globals = liquid::object!({ "site": { "title": "t" } });
        parser
            .parse(text)
            .unwrap()
            .render(&globals)
            .unwrap_err()
            .to_string()
    };
    let variable = render("{{ missing }}");
    assert!(variable.contains("Unknown variable"), "{variable}");
    assert_eq!(
        error_field(&variable, "requested variable"),
        Some("missing"),
        "{variable}"
    );

    let index = render("{{ site.nope }}");
    assert!(index.contains("Unknown index"), "{index}");
    assert_eq!(error_field(&index, "variable"), Some("site"), "{index}");
    assert_eq!(
        error_field(&index, "requested index"),
        Some("nope"),
        "{index}"
    );

    // Parse errors quote the offending line as `N | text`, which is how
    // herald finds the file line.
    let syntax = parse_error("one\ntwo {% if %}\n");
    assert!(
        syntax.lines().any(|l| l
            .trim_start()
            .split_once(" | ")
            .is_some_and(|(n, _)| n.trim().parse::<usize>().is_ok())),
        "{syntax}"
    );
}
