//! `cargo bench --bench corpus`: writes a blog of real-sized posts for the
//! whole-process benchmarks (`benches/compare.sh`), the same bytes for the
//! same seed.
//!
//! The generated benchmark in `benches/build.rs` has 3 KB posts without
//! Liquid, which flatters any feed builder. Real blogs have posts of a few to
//! a hundred kilobytes, a Liquid include in most of them (Jekyll-Bootstrap's
//! `{% include JB/setup %}`), code, tables, images, footnotes and math. The
//! prose here is taken paragraph by paragraph from Jekyll's own news posts
//! (the MIT-licensed corpus the tests use), so Markdown parsing meets real
//! text; the rest is made here.
//!
//! Environment:
//! - `HERALD_CORPUS_DIR=DIR` (required): where the site is written: a herald
//!   site (`config/herald.toml`, `posts/`, `_includes/`) and, beside it in
//!   `DIR/hugo`, the same posts as a Hugo site.
//! - `HERALD_CORPUS_POSTS` (default 10000), `HERALD_CORPUS_SEED` (default 1).
//! - `HERALD_CORPUS_LIMIT` (default 20): the feeds' `limit`, 0 for every post.
//! - `HERALD_CORPUS_LIQUID` (default true).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// splitmix64: small, fast and the same everywhere, which is all a corpus
/// needs; no crate for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Post sizes: log-normal around a median of 8 KB, clamped to 1-100 KB, the
/// spread of real blogs (many short notes, a long tail of long articles).
fn post_size(rng: &mut Rng) -> usize {
    let size = 8_000.0 * (0.75 * rng.normal()).exp();
    size.clamp(1_000.0, 100_000.0) as usize
}

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
    "machine learning",
];

const CATEGORIES: &[&str] = &["blog", "research", "software", "talks"];

/// `[label]: destination`, as Markdown reads a line starting so.
fn is_link_definition(line: &str) -> bool {
    line.starts_with('[')
        && line
            .find(']')
            .is_some_and(|end| line[end + 1..].starts_with(':'))
}

/// Paragraphs of real prose from the corpus, without Liquid of their own (the
/// generator places its Liquid on purpose).
fn prose(source: &Path) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(source)
        .unwrap_or_else(|e| panic!("{}: {e}", source.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let body = text.splitn(3, "---\n").nth(2).unwrap_or(&text);
        for paragraph in body.split("\n\n") {
            let paragraph = paragraph.trim();
            let plain = !paragraph.contains("{%")
                && !paragraph.contains("{{")
                && !paragraph.starts_with('#')
                && !paragraph.starts_with("```")
                && !paragraph.starts_with('<');
            if plain && paragraph.len() > 80 {
                paragraphs.push(paragraph.to_string());
            }
        }
    }
    assert!(
        !paragraphs.is_empty(),
        "no prose under {}",
        source.display()
    );
    paragraphs
}

fn corpus_source() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("tests/fixtures/jekyll-news/_posts"),
        here.join("../shared/corpus/jekyll-docs/_posts"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
    .expect("the Jekyll news corpus (tests/fixtures/jekyll-news or ../shared/corpus)")
}

const CODE: &[(&str, &str)] = &[
    (
        "python",
        "import numpy as np\n\ndef smooth(x, width=5):\n    kernel = np.ones(width) / width\n    return np.convolve(x, kernel, mode=\"same\")\n\nprint(smooth(np.random.rand(100)).mean())\n",
    ),
    (
        "rust",
        "fn mean(xs: &[f64]) -> Option<f64> {\n    if xs.is_empty() {\n        return None;\n    }\n    Some(xs.iter().sum::<f64>() / xs.len() as f64)\n}\n",
    ),
    (
        "bash",
        "for f in data/*.csv; do\n  python analyse.py \"$f\" > \"out/$(basename \"$f\" .csv).json\"\ndone\n",
    ),
    (
        "julia",
        "using Statistics\nxs = randn(10_000)\n@show mean(xs), std(xs)\n",
    ),
];

/// One block of Markdown, chosen so that a post has the mix of a real one.
fn block(rng: &mut Rng, prose: &[String], post: usize, notes: &mut usize, out: &mut String) {
    match rng.below(12) {
        0 => {
            let (lang, code) = rng.pick(CODE);
            write!(out, "```{lang}\n{code}```\n\n").unwrap();
        }
        1 => {
            let title = rng.pick(prose).split_whitespace().take(5).collect::<Vec<_>>();
            write!(out, "## {}\n\n", title.join(" ")).unwrap();
        }
        2 => {
            out.push_str("| run | cores | seconds | speed-up |\n|---|---:|---:|---:|\n");
            for row in 1..=1 + rng.below(8) {
                let seconds = 100.0 / row as f64;
                writeln!(out, "| {row} | {} | {seconds:.2} | {row}x |", row * 2).unwrap();
            }
            out.push('\n');
        }
        3 => write!(
            out,
            "![Figure {post}](../images/fig-{post}-{}.png \"figure\")\n\n",
            rng.below(9)
        )
        .unwrap(),
        4 => {
            *notes += 1;
            let text = rng.pick(prose);
            let note = rng.pick(prose).lines().next().unwrap_or("A note.");
            // A note that is a link reference definition (`[x]: https://...`)
            // leaves the footnote empty, and kramdown 2.4 (Jekyll) stops on that.
            let note = if is_link_definition(note) { "A note." } else { note };
            write!(out, "{text} [^{notes}]\n\n[^{notes}]: {note}\n\n").unwrap();
        }
        5 => out.push_str(
            "$$\n\\hat{\\beta} = (X^\\top X)^{-1} X^\\top y, \\qquad \\sigma^2 = \\frac{1}{n} \\sum_{i=1}^{n} (y_i - \\hat{y}_i)^2\n$$\n\n",
        ),
        6 => {
            for _ in 0..3 + rng.below(4) {
                let words = rng.pick(prose).split_whitespace().take(12).collect::<Vec<_>>();
                writeln!(out, "- {}", words.join(" ")).unwrap();
            }
            out.push('\n');
        }
        7 => write!(
            out,
            "See [the earlier post]({{{{ BASE_PATH }}}}/{}/) and [the data](https://zenodo.org/record/{}).\n\n",
            post.saturating_sub(1 + rng.below(50)),
            100_000 + rng.below(900_000)
        )
        .unwrap(),
        _ => write!(out, "{}\n\n", rng.pick(prose)).unwrap(),
    }
}

fn post_text(rng: &mut Rng, prose: &[String], post: usize, liquid: bool) -> String {
    let size = post_size(rng);
    let mut body = String::with_capacity(size + 2_000);
    if liquid && rng.below(10) < 9 {
        body.push_str("{% include JB/setup %}\n\n");
    }
    write!(body, "{}\n\n<!--more-->\n\n", rng.pick(prose)).unwrap();
    let mut notes = 0;
    while body.len() < size {
        block(rng, prose, post, &mut notes, &mut body);
    }
    body
}

fn front_matter(rng: &mut Rng, post: usize, posts: usize) -> (String, String) {
    let year = 2000 + post * 26 / posts;
    let day = rng.below(365);
    let (month, mday) = (1 + day / 31 % 12, 1 + day % 28);
    let date = format!("{year}-{month:02}-{mday:02}");
    let tags: Vec<String> = (0..1 + rng.below(4))
        .map(|_| format!("\"{}\"", rng.pick(TAGS)))
        .collect();
    let matter = format!(
        "---\nlayout: post\ntitle: \"Working note {post}: {}\"\ndate: {date} {:02}:{:02}:00 +0000\n\
         categories: [{}]\ntags: [{}]\n---\n",
        rng.pick(TAGS),
        rng.below(24),
        rng.below(60),
        rng.pick(CATEGORIES),
        tags.join(", "),
    );
    (matter, format!("{date}-working-note-{post}"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Ok(dir) = std::env::var("HERALD_CORPUS_DIR") else {
        // `cargo test --benches` runs every bench once with no setting.
        return;
    };
    let dir = PathBuf::from(dir);
    let posts: usize = env_or("HERALD_CORPUS_POSTS", 10_000);
    let seed: u64 = env_or("HERALD_CORPUS_SEED", 1);
    let limit: usize = env_or("HERALD_CORPUS_LIMIT", 20);
    let liquid: bool = env_or("HERALD_CORPUS_LIQUID", true);
    let prose = prose(&corpus_source());
    let mut rng = Rng(seed);
    let mut bytes = 0;
    for post in 0..posts {
        let (matter, name) = front_matter(&mut rng, post, posts);
        let text = format!("{matter}\n{}", post_text(&mut rng, &prose, post, liquid));
        bytes += text.len();
        let year = &name[..4];
        write(&dir.join(format!("posts/{year}/{name}.md")), &text);
        write(&dir.join(format!("hugo/content/posts/{name}.md")), &text);
    }
    write(
        &dir.join("_includes/JB/setup"),
        "{% capture jbcache %}{% assign BASE_PATH = site.url %}{% endcapture %}{% assign jbcache = nil %}",
    );
    write(
        &dir.join("config/herald.toml"),
        &format!(
            "[site]\ntitle = \"Working notes\"\nurl = \"https://notes.invalid/blog\"\n\
             author = {{ name = \"Jane Doe\", email = \"jane@notes.invalid\" }}\n\
             [posts]\nliquid = {liquid}\nincludes = \"_includes\"\n[feeds]\nlimit = {limit}\n"
        ),
    );
    let hugo_limit = if limit == 0 { -1 } else { limit as i64 };
    write(
        &dir.join("hugo/config.toml"),
        &format!(
            "baseURL = \"https://notes.invalid/blog/\"\ntitle = \"Working notes\"\n\
             rssLimit = {hugo_limit}\n[taxonomies]\ntag = \"tags\"\ncategory = \"categories\"\n"
        ),
    );
    println!(
        "wrote {posts} posts, {:.1} MB, under {} (seed {seed})",
        bytes as f64 / 1e6,
        dir.display()
    );
}
