#!/usr/bin/env bash
# Whole-process comparison: herald against Jekyll (jekyll-feed) and Hugo
# building feeds for the same generated posts, timed with hyperfine.
#
#   benches/compare.sh [POSTS]      (default 1000)
#
# Needs hyperfine, and jekyll + ruby-jekyll-feed and hugo for the others
# (Debian: apt-get install hyperfine jekyll ruby-jekyll-feed hugo); a tool
# that is missing is left out. Each tool builds its whole site, which is what
# a user runs; herald writes only feeds, which is what herald is for.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
HERALD_BENCH_POSTS=$posts HERALD_BENCH_SITE="$work/herald" cargo bench --quiet --bench build
commands=(-n herald "target/release/herald -q -C $work/herald build")

if command -v jekyll >/dev/null; then
    mkdir -p "$work/jekyll"
    cp -r "$work/herald/posts" "$work/jekyll/_posts"
    printf 'title: Bench\nurl: https://example.org\nbaseurl: /blog\nplugins: [jekyll-feed]\nfeed:\n  tags: true\n  categories: [blog]\n' > "$work/jekyll/_config.yml"
    commands+=(-n jekyll "jekyll build --quiet -s $work/jekyll -d $work/jekyll/_site")
fi

if command -v hugo >/dev/null; then
    mkdir -p "$work/hugo/content"
    cp -r "$work/herald/posts" "$work/hugo/content/posts"
    printf 'baseURL = "https://example.org/blog/"\ntitle = "Bench"\nrssLimit = 20\n' > "$work/hugo/config.toml"
    commands+=(-n hugo "hugo --quiet -s $work/hugo -d $work/hugo/public")
fi

hyperfine --warmup 1 --runs 5 "${commands[@]}"
