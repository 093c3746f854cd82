//! `cargo bench --bench build`: how long loading and building the feeds of a
//! large generated site takes, in process, median of several runs.
//!
//! Environment:
//! - `HERALD_BENCH_POSTS` (default 10000): how many posts to generate.
//! - `HERALD_BENCH_SITE=DIR`: only write the generated site into DIR and exit,
//!   for whole-process comparisons (`benches/compare.sh`).

use std::path::Path;
use std::time::{Duration, Instant};

use herald::{LoadOptions, Site, build};

const TAGS: &[&str] = &[
    "rust",
    "python",
    "Python",
    "science",
    "hpc",
    "notes",
    "release",
    "talks",
    "numpy",
    "julia",
    "gpu",
    "data",
    "teaching",
    "open-source",
    "packaging",
    "ci",
    "climate",
    "genomics",
    "stats",
    "ml",
];

fn body(i: usize) -> String {
    let mut text = String::with_capacity(3000);
    text.push_str(&format!(
        "Post number {i} starts with a paragraph that has [a relative link](../{prev}/) and \
         **bold** words, `inline code` and an image ![plot](/img/plot-{i}.png).\n\n<!--more-->\n\n",
        prev = i.saturating_sub(1)
    ));
    for section in 0..4 {
        text.push_str(&format!("## Section {section}\n\n"));
        text.push_str(
            "Scientists keep their notes in git because history matters. This paragraph is \
             long enough to look like real prose, with a footnote[^n] and a list:\n\n\
             - first item with a [link](https://example.org/x)\n- second item\n- third item\n\n",
        );
        text.push_str("```python\nimport numpy as np\nprint(np.arange(10).sum())\n```\n\n");
    }
    text.push_str("| a | b |\n|---|---|\n| 1 | 2 |\n\n[^n]: A footnote.\n");
    text
}

fn generate(dir: &Path, posts: usize) {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/herald.toml"),
        "[site]\ntitle = \"Bench\"\nurl = \"https://example.org/blog\"\ntimezone = \"UTC\"\n\
         author = { name = \"Jane Doe\", email = \"jane@example.org\" }\n\
         [posts]\nliquid = false\n",
    )
    .unwrap();
    for i in 0..posts {
        let year = 2000 + i / 400;
        let day = i % 400;
        let (month, mday) = (1 + day / 31 % 12, 1 + day % 28);
        let folder = dir.join(format!("posts/{year}"));
        std::fs::create_dir_all(&folder).unwrap();
        let tags = [TAGS[i % TAGS.len()], TAGS[(i * 7 + 3) % TAGS.len()]];
        let text = format!(
            "---\ntitle: \"Post {i}: notes on things\"\ndate: {year}-{month:02}-{mday:02}T{h:02}:{m:02}:00+00:00\n\
             tags: [{}, {}]\ncategory: blog\n---\n\n{}",
            tags[0],
            tags[1],
            body(i),
            h = i % 24,
            m = i % 60,
        );
        std::fs::write(
            folder.join(format!("{year}-{month:02}-{mday:02}-post-{i}.md")),
            text,
        )
        .unwrap();
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time_build(dir: &Path, runs: usize) -> (Duration, Duration) {
    let mut load = Vec::new();
    let mut total = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let site = Site::load(dir, None, &LoadOptions::default()).unwrap();
        load.push(start.elapsed());
        build::run(
            &site,
            // Every run renders: this measures the work, not the cache.
            build::Options::new(false, false),
        )
        .unwrap();
        total.push(start.elapsed());
    }
    (median(load), median(total))
}

fn main() {
    let posts: usize = std::env::var("HERALD_BENCH_POSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    if let Ok(dir) = std::env::var("HERALD_BENCH_SITE") {
        generate(Path::new(&dir), posts);
        println!("wrote {posts} posts under {dir}");
        return;
    }
    // `cargo test --benches` runs this once with no arguments; keep it quick then.
    if std::env::args().all(|a| a != "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), posts);
    let runs = 5;
    let (load, total) = time_build(dir.path(), runs);
    println!(
        "{posts} posts, limit 20 (default): load {load:?}, load+render+write {total:?} (median of {runs})"
    );
    let config = dir.path().join("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}[feeds]\nlimit = 0\n")).unwrap();
    let (load, total) = time_build(dir.path(), runs);
    println!(
        "{posts} posts, limit 0 (every post in every feed): load {load:?}, load+render+write {total:?} (median of {runs})"
    );
}
