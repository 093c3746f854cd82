#!/usr/bin/env bash
# Whole-process comparison on real-sized posts (benches/corpus.rs): herald
# against Hugo, and Jekyll with jekyll-feed where it is installed and the
# corpus is small enough for it to finish, timed side by side in one run.
#
#   benches/compare.sh [POSTS] [SEED]       (default 10000 posts, seed 1)
#
# Needs hyperfine and GNU time (/usr/bin/time) and, for the others, hugo,
# jekyll + ruby-jekyll-feed (Debian: apt-get install hyperfine time hugo
# jekyll ruby-jekyll-feed); a tool that is missing is left out.
#
# Two jobs, each with Liquid on (the default) for herald:
#   default  feeds of 20 entries, tag and category feeds
#   archive  every post in every feed (herald limit = 0, Hugo rssLimit = -1)
# herald is timed three ways:
#   - a rebuild with its render cache, what a second `herald build` on an
#     unchanged blog does (hyperfine's warm-up run fills the cache): no post
#     is rendered and no feed made again;
#   - the same after the newest post was edited (a line added before each
#     run): that post is rendered, and the feeds holding it are made again;
#   - with --no-cache: every post rendered, as in a fresh CI checkout.
# All find the feeds of the run before in place, as Hugo finds its
# public/ folder.
# Hugo builds HTML pages too (it cannot build only feeds); herald writes
# only feeds, which is the job a user asks of it.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-10000}
seed=${2:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
cargo bench --quiet --bench corpus --no-run 2>/dev/null
herald=${CARGO_TARGET_DIR:-$PWD/target}/release/herald

corpus() { # corpus DIR LIMIT
    HERALD_CORPUS_DIR=$1 HERALD_CORPUS_POSTS=$posts HERALD_CORPUS_SEED=$seed \
        HERALD_CORPUS_LIMIT=$2 cargo bench --quiet --bench corpus
}

peak() { # peak NAME COMMAND...: one run, its wall time and peak memory
    /usr/bin/time -f "%e %M" -o "$work/time" "${@:2}" >/dev/null 2>&1
    read -r secs kb <"$work/time"
    printf '%-28s %8.2f s %8.0f MiB\n' "$1" "$secs" "$((kb / 1024))"
}

for job in default archive; do
    limit=20
    [ "$job" = archive ] && limit=0
    dir=$work/$job
    corpus "$dir" "$limit"
    newest=$(find "$dir/posts" -name '*.md' | sort | tail -n 1)
    commands=(-n "herald $job" "$herald -q -C $dir build"
        -n "herald $job, newest post edited" "$herald -q -C $dir build"
        -n "herald $job --no-cache" "$herald -q -C $dir build --no-cache")
    # hyperfine takes one --prepare per command, in order.
    prepares=(--prepare true --prepare "sh -c 'echo edited >> $newest'" --prepare true)
    if command -v hugo >/dev/null; then
        commands+=(-n "hugo $job" "hugo --quiet -s $dir/hugo -d $dir/hugo/public")
        prepares+=(--prepare true)
    fi
    if command -v jekyll >/dev/null && [ "$posts" -le 1000 ]; then
        mkdir -p "$dir/jekyll"
        cp -r "$dir/posts" "$dir/jekyll/_posts"
        cp -r "$dir/_includes" "$dir/jekyll/_includes"
        printf 'title: Bench\nurl: https://notes.invalid\nbaseurl: /blog\nplugins: [jekyll-feed]\nfeed:\n  tags: true\n  posts_limit: %s\n' \
            "$([ "$limit" = 0 ] && echo 1000000 || echo "$limit")" >"$dir/jekyll/_config.yml"
        # Timed only if it builds: a Jekyll without jekyll-feed, or one that
        # stops on a post, is reported and left out rather than timed failing.
        if jekyll build --quiet -s "$dir/jekyll" -d "$dir/jekyll/_site" >"$work/jekyll.log" 2>&1; then
            commands+=(-n "jekyll $job" "jekyll build --quiet -s $dir/jekyll -d $dir/jekyll/_site")
            prepares+=(--prepare true)
            jekyll_timed=1
        else
            echo "jekyll left out: it failed on this corpus:"
            grep -m 3 -i "error" "$work/jekyll.log" || tail -n 3 "$work/jekyll.log"
        fi
    fi
    echo "== $job: $posts posts, seed $seed"
    hyperfine --warmup 1 --runs 5 --export-json "$work/$job.json" "${prepares[@]}" "${commands[@]}"
    echo "-- peak memory (one run each)"
    peak "herald $job" "$herald" -q -C "$dir" build
    echo edited >>"$newest"
    peak "herald $job, newest edited" "$herald" -q -C "$dir" build
    peak "herald $job --no-cache" "$herald" -q -C "$dir" build --no-cache
    command -v hugo >/dev/null && peak "hugo $job" hugo --quiet -s "$dir/hugo" -d "$dir/hugo/public"
    [ -n "${jekyll_timed:-}" ] && peak "jekyll $job" jekyll build --quiet -s "$dir/jekyll" -d "$dir/jekyll/_site"
    jekyll_timed=
    python3 - "$work/$job.json" <<'EOF'
import json, sys
runs = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
for herald_name, herald in ((k, v) for k, v in runs.items() if k.startswith("herald")):
    print(f"-- {herald_name}")
    for name, median in runs.items():
        if not name.startswith("herald"):
            print(f"   {name:<28} median {median:7.3f} s   herald takes {herald / median:6.3f}x its time")
    print(f"   {herald_name:<28} median {herald:7.3f} s")
EOF
done
