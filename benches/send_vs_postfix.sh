#!/usr/bin/env bash
# `herald send` against Postfix's own load generator, side by side in one
# run: both deliver the same number of messages of the same size into one
# `smtp-sink` on loopback, over the same number of connections.
#
#   benches/send_vs_postfix.sh [MESSAGES] [CONNECTIONS]   (default 10000, 4)
#
# Needs smtp-source and smtp-sink (Debian: apt-get install postfix), hyperfine
# and GNU time. herald runs with the durable ledger on (as always) and
# `rate` lifted, as README says to do for a local relay. Prints each tool's
# messages per second, herald's share of smtp-source's rate, and herald's
# peak memory at 1,000 readers and at MESSAGES readers.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-10000}
connections=${2:-4}
port=${HERALD_SINK_PORT:-2525}
work=$(mktemp -d)
trap 'kill "$sink" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet
herald=${CARGO_TARGET_DIR:-$PWD/target}/release/herald
post=../shared/corpus/jekyll-docs/_posts/2017-10-19-diversity-open-source.markdown

# A site with one post and N readers, ready to send; copied fresh for each
# timed run, since a mailing goes to each reader once.
site() { # site DIR READERS
    "$herald" -q init "$1"
    rm "$1"/posts/*.md
    cp "$post" "$1/posts/"
    sed -i -e 's|https://example.org|https://bench.test|' \
        -e 's|you@example.org|news@bench.test|' \
        -e 's|you+unsubscribe@example.org|leave@bench.test|' "$1/config/herald.toml"
    printf '\n[smtp]\nhost = "127.0.0.1"\nport = %s\ntls = "none"\nconnections = %s\nrate = "1000000/s"\n' \
        "$port" "$connections" >>"$1/config/herald.toml"
    {
        echo "email,name"
        seq 1 "$2" | sed 's/.*/reader&@bench.test,Reader &/'
    } >"$work/readers.csv"
    "$herald" -q -C "$1" subscribers import "$work/readers.csv"
}

site "$work/small" 1000
site "$work/big" "$messages"

# smtp-sink drops privileges when run as root; it keeps nothing it receives.
user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
smtp-sink "${user[@]}" "127.0.0.1:$port" 1024 &
sink=$!
sleep 0.5

# smtp-source sends messages of the size herald's copy of this post has,
# and like herald keeps each connection for many messages (-d).
"$herald" -q -C "$work/big" preview -o preview
size=$(cat "$work/big"/preview/*.eml | wc -c)
rm -r "$work/big/preview"
echo "message size: $size bytes; $messages messages over $connections connections"

hyperfine --warmup 1 --runs "${HERALD_RUNS:-5}" --export-json "$work/times.json" \
    --prepare "rm -rf $work/run && cp -r $work/big $work/run" \
    -n "herald send" "$herald -q -C $work/run send" \
    -n "smtp-source" "smtp-source -d -s $connections -m $messages -l $size -f news@bench.test -t reader@bench.test 127.0.0.1:$port"

python3 - "$work/times.json" "$messages" <<'EOF'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
for name, secs in results.items():
    print(f"{name:14} {secs:6.2f} s  {n / secs:8.0f} messages/s")
print(f"herald / smtp-source rate: {results['smtp-source'] / results['herald send']:.2f}")
EOF

peak() { # peak NAME SITE
    rm -rf "$work/run" && cp -r "$2" "$work/run"
    /usr/bin/time -f "%e %M" -o "$work/time" "$herald" -q -C "$work/run" send
    read -r secs kb <"$work/time"
    printf 'peak memory, %-18s %6.0f MiB (%.2f s)\n' "$1:" "$((kb / 1024))" "$secs"
}
peak "1000 readers" "$work/small"
peak "$messages readers" "$work/big"
