#!/usr/bin/env bash
# Speed of the inspector on a capture of EVENTS (default 2 M) events of the
# synthetic workload: printing everything, a two-clause filter count, the
# summary and a table chisel. Prints events/s and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-2000000}
RUNS=${RUNS:-5}
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; }
cargo build --release --quiet -p capture-agent -p inspect-cli
S=$PWD/target/release/syscap
WORK=$(mktemp -d /tmp/syscap-bench-inspect.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
target/release/syscap-agent synth --events "$EVENTS" -o "$WORK/big.syscap" 2>/dev/null
echo "# syscap inspector, $EVENTS events ($(du -h "$WORK/big.syscap" | cut -f1)), $(nproc) CPUs"
echo
echo "| command | time | events/s | peak RSS |"
echo "|---|---|---|---|"
measure() { # measure LABEL ARGS...
    local label=$1; shift
    local mean
    mean=$(hyperfine -N -w 1 -r "$RUNS" --output=null --export-json "$WORK/h.json" "$S $*" >/dev/null 2>&1 &&
        grep -o '"mean": *[0-9.]*' "$WORK/h.json" | head -1 | grep -o '[0-9.]*$')
    local rss
    rss=$(/usr/bin/time -f %M "$S" "$@" 2>&1 >/dev/null | tail -1)
    awk -v l="$label" -v m="$mean" -v n="$EVENTS" -v r="$rss" \
        'BEGIN { printf "| %s | %.3f s | %.1f M | %.0f MiB |\n", l, m, n / m / 1e6, r / 1024 }'
}
measure "print (every event, default format) > /dev/null" print "$WORK/big.syscap"
measure "print -p %evt.num evt.type=openat and proc.name=nginx" print "$WORK/big.syscap" -p %evt.num evt.type=openat and proc.name=nginx
measure "summary" summary "$WORK/big.syscap"
measure "chisel topfiles_bytes" chisel topfiles_bytes "$WORK/big.syscap"
