#!/usr/bin/env bash
# syscap against sysdig on a large .scap file, side by side in one run: the
# events of a sample capture repeated with shifted timestamps to EVENTS
# (default 2.2 M, issue 22's setting: curl_google.scap about 100 times), read by sysdig, by syscap directly, and by syscap from the
# converted .syscap file, and the .syscap converted back to .scap. Prints
# times, events/s, speed-ups and file sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-2200000}
RUNS=${RUNS:-5}
SAMPLE=${SAMPLE:-$(scripts/scap-conformance.sh --samples)/curl_google.scap}
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; }
command -v sysdig >/dev/null || scripts/setup.sh test
cargo build --release --quiet -p inspect-cli
cargo build --release --quiet -p scap-import --example scap_repeat
S=$PWD/target/release/syscap
WORK=$(mktemp -d /tmp/syscap-bench-scap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

target/release/examples/scap_repeat "$SAMPLE" "$WORK/big.scap" "$EVENTS" >/dev/null
gzip -c "$WORK/big.scap" >"$WORK/big.scap.gz"
events=$("$S" convert "$WORK/big.scap" "$WORK/big.syscap" | grep -o "[0-9]* events" | cut -d" " -f1)

mean() { # mean COMMAND...: seconds, from hyperfine
    hyperfine -N -w 1 -r "$RUNS" --output=null --export-json "$WORK/h.json" "$*" >/dev/null 2>&1
    grep -o '"mean": *[0-9.]*' "$WORK/h.json" | head -1 | grep -o '[0-9.]*$'
}

echo "# syscap vs $(sysdig --version | head -1), $events .scap events ($(basename "$SAMPLE") repeated), $(nproc) CPUs, $(uptime | grep -o "load average.*")"
echo
echo "| task | sysdig .scap | syscap .scap | syscap .syscap | .scap speed-up | .syscap speed-up |"
echo "|---|---|---|---|---|---|"
row() { # row LABEL 'SYSDIG ARGS' 'SYSCAP ARGS' (FILE is replaced by the capture)
    local label=$1 sd=$2 sc=$3
    local a b c
    a=$(mean sysdig -r "$WORK/big.scap" "$sd")
    b=$(mean "$S" ${sc//FILE/$WORK/big.scap})
    c=$(mean "$S" ${sc//FILE/$WORK/big.syscap})
    awk -v l="$label" -v a="$a" -v b="$b" -v c="$c" -v n="$events" 'BEGIN {
        printf "| %s | %.3f s (%.1f M ev/s) | %.3f s | %.3f s | %.2fx | %.2fx |\n",
            l, a, n / a / 1e6, b, c, a / b, a / c }'
}
# calls FILTER: checks that sysdig and syscap match the same calls of
# big.scap, and syscap the same of big.syscap, before they are timed. sysdig
# shows the enter and the exit event of a call, syscap one line per call
# (numbered in its own records, so evt.num cannot be compared): a call is its
# thread and the time of its enter event (sysdig: the last enter of that type
# on the thread before the exit; syscap: evt.rawtime). Exits with no enter
# are keyed by their own time on both sides.
calls() {
    local filter=$1
    sysdig -r "$WORK/big.scap" -p '%thread.tid %evt.dir %evt.type %evt.rawtime' "$filter" |
        awk '$2 == ">" { enter[$1] = $3 " " $4; next }
             { split(enter[$1], e, " "); t = e[1] == $3 ? e[2] : $4; delete enter[$1]; print $1, t }' \
            >"$WORK/calls.sysdig"
    "$S" print "$WORK/big.scap" -p '%thread.tid %evt.rawtime' "$filter" >"$WORK/calls.scap"
    "$S" print "$WORK/big.syscap" -p '%thread.tid %evt.rawtime' "$filter" >"$WORK/calls.syscap"
    local n
    n=$(wc -l <"$WORK/calls.sysdig")
    for f in scap syscap; do
        cmp -s "$WORK/calls.sysdig" "$WORK/calls.$f" || {
            echo "bench-scap: '$filter': sysdig matches $n calls, syscap on the .$f $(wc -l <"$WORK/calls.$f"), first difference:" >&2
            diff "$WORK/calls.sysdig" "$WORK/calls.$f" | head -5 >&2
            exit 1
        }
    done
    echo "'$filter': sysdig and syscap (.scap and .syscap) match the same $n calls" >&2
}
calls 'proc.name=curl and evt.type=connect'
calls 'evt.type=read and proc.name=curl'

# sysdig takes its filter as trailing words; so does syscap. Both print the
# same -p format (sysdig a line per event, syscap a line per call).
row "issue 22: proc.name=curl and evt.type=connect" \
    "-p '%evt.num %evt.type %proc.name' proc.name=curl and evt.type=connect" \
    "print FILE -p '%evt.num %evt.type %proc.name' proc.name=curl and evt.type=connect"
row "filter: evt.type=read and proc.name=curl" \
    "-p %evt.num evt.type=read and proc.name=curl" \
    "print FILE -p %evt.num evt.type=read and proc.name=curl"
row "chisel topfiles_bytes" "-c topfiles_bytes" "chisel topfiles_bytes FILE"
row "print every event > /dev/null" "" "print FILE"
gz=$(mean "$S" chisel topfiles_bytes "$WORK/big.scap.gz")
gzs=$(mean sysdig -r "$WORK/big.scap.gz" -c topfiles_bytes)
awk -v a="$gzs" -v b="$gz" 'BEGIN { printf "| chisel topfiles_bytes, .scap.gz | %.3f s | %.3f s | | %.2fx | |\n", a, b, a / b }'
conv=$(mean "$S" convert "$WORK/big.syscap" "$WORK/back.scap")
convgz=$(mean "$S" convert "$WORK/big.syscap" "$WORK/back.scap.gz")
back=$("$S" convert "$WORK/big.syscap" "$WORK/back.scap" 2>/dev/null | grep -o "[0-9]* events" | cut -d" " -f1)
awk -v a="$conv" -v b="$convgz" -v n="$back" 'BEGIN {
    printf "\nconvert .syscap -> .scap: %.3f s (%.2f M events/s); -> .scap.gz: %.3f s (%.2f M events/s)\n",
        a, n / a / 1e6, b, n / b / 1e6 }'
echo "peak RSS, syscap convert .syscap -> .scap: $(/usr/bin/time -f %M "$S" convert "$WORK/big.syscap" "$WORK/back.scap" 2>&1 >/dev/null | tail -1) KiB"
echo
size() { stat -c %s "$1"; }
awk -v raw="$(size "$WORK/big.scap")" -v gz="$(size "$WORK/big.scap.gz")" -v sc="$(size "$WORK/big.syscap")" 'BEGIN {
    printf "sizes: .scap %.1f MB, .scap.gz %.1f MB, .syscap %.2f MB (%.3f of the .scap.gz)\n",
        raw / 1e6, gz / 1e6, sc / 1e6, sc / gz }'
echo "peak RSS, syscap chisel topfiles_bytes on the .scap: $(/usr/bin/time -f %M "$S" chisel topfiles_bytes "$WORK/big.scap" 2>&1 >/dev/null | tail -1) KiB"
