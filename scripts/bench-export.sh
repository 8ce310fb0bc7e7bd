#!/usr/bin/env bash
# `syscap export --format parquet` on a large capture: curl_google.scap's
# events repeated to EVENTS (default 2.2 M, as scripts/bench-scap.sh),
# converted to .syscap, then exported. Prints calls/s, peak RSS and bytes
# per call of the Parquet file next to the .syscap's and the .scap.gz's.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-2200000}
SAMPLE=${SAMPLE:-$(scripts/scap-conformance.sh --samples)/curl_google.scap}
cargo build --release --quiet -p inspect-cli --bin syscap -p scap-import --example scap_repeat
S=$PWD/target/release/syscap
WORK=$(mktemp -d /tmp/syscap-bench-export.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

target/release/examples/scap_repeat "$SAMPLE" "$WORK/big.scap" "$EVENTS" >/dev/null
gzip -c "$WORK/big.scap" >"$WORK/big.scap.gz"
"$S" convert "$WORK/big.scap" "$WORK/big.syscap" >/dev/null
/usr/bin/time -f "%e %M" -o "$WORK/time" "$S" export "$WORK/big.syscap" -o "$WORK/out" --flat >"$WORK/said"
calls=$(grep -o "^[0-9]*" "$WORK/said")
read -r secs rss <"$WORK/time"
size() { stat -c %s "$1"; }
echo "# syscap export --format parquet, $calls calls ($(basename "$SAMPLE") repeated), $(nproc) CPUs, $(uptime | grep -o "load average.*")"
awk -v n="$calls" -v s="$secs" -v rss="$rss" -v pq="$(size "$WORK/out/big.parquet")" \
    -v sc="$(size "$WORK/big.syscap")" -v gz="$(size "$WORK/big.scap.gz")" 'BEGIN {
    printf "export: %.2f s, %.2f M calls/s, peak RSS %d KiB\n", s, n / s / 1e6, rss
    printf "bytes per call: parquet %.2f, .syscap %.2f, .scap.gz %.2f\n", pq / n, sc / n, gz / n }'
