#!/usr/bin/env bash
# Checks that `syscap` reads sysdig's sample .scap captures as sysdig 0.29.3
# (Debian's package) does: the same events in the same order with the same
# field values, and the same chisel results.
#
# usage: scripts/scap-conformance.sh [--bless]
#   SYSCAP=path/to/syscap (default: target/release/syscap, built if missing)
#   SCAP_SAMPLES=dir with the sample captures (default: target/scap-public,
#   which scripts/setup.sh fills with falcosecurity/libs' test captures from
#   Debian's source package, and with the pcapng-commented copy of one of
#   them that scripts/scap-with-comments.py writes)
# scripts/scap-conformance.sh --samples prints where the samples are.
#
# Every check prints the lines where syscap and sysdig disagree; the report
# must equal the reviewed file scripts/scap-conformance/SAMPLE.CHECK.expected
# (no file: no disagreement allowed). Each expected disagreement is explained
# in scripts/scap-conformance/README.md. --bless rewrites the expected files.
set -euo pipefail
cd "$(dirname "$0")/.."

bless=false
[[ ${1:-} == --bless ]] && bless=true
expected_dir=scripts/scap-conformance
samples=${SCAP_SAMPLES:-target/scap-public}
for sample in curl_google curl_google_comments test_ipv6_client single_ipv6_conn; do
    [[ -f $samples/$sample.scap ]] || {
        echo "scap-conformance: no $sample.scap in $samples: run scripts/setup.sh" \
            "(it fetches falcosecurity/libs' test captures), or set SCAP_SAMPLES" >&2
        exit 2
    }
done
[[ ${1:-} == --samples ]] && { realpath "$samples"; exit 0; }
command -v sysdig >/dev/null ||
    { echo "scap-conformance: sysdig is not installed (apt-get install sysdig)" >&2; exit 2; }
syscap=${SYSCAP:-target/release/syscap}
[[ -x $syscap ]] || cargo build --release --locked -q -p inspect-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
checks=0

# compare NAME: the report in $work/report must equal the expected file.
compare() {
    local name=$1 expected=$expected_dir/$1.expected agree
    checks=$((checks + 1))
    if $bless; then
        if [[ -s $work/report ]]; then cp "$work/report" "$expected"; else rm -f "$expected"; fi
        return
    fi
    if [[ -f $expected ]]; then
        cmp -s "$expected" "$work/report" && agree=true || agree=false
    else
        [[ ! -s $work/report ]] && agree=true || agree=false
    fi
    if $agree; then
        echo "ok   $name"
    else
        echo "FAIL $name: syscap and sysdig disagree beyond $expected:"
        diff -u "$([[ -f $expected ]] && echo "$expected" || echo /dev/null)" "$work/report" |
            tail -n +3 | head -40 | sed 's/^/    /' || true
        failures=$((failures + 1))
    fi
}

# cells A B: line-by-line, '|'-separated; a cell where sysdig shows <NA>
# accepts any syscap value (syscap merged the enter event, or knows state
# sysdig does not). Writes the disagreeing lines to $work/report.
cells() {
    awk -F"$sep" -v other="$2" '
        BEGIN {
            while ((getline line < other) > 0) b[++nb] = line
            # What sysdig shows for "no value": <NA>, NULL (empty tuples and
            # buffers), 4294967295 (a uid it does not know).
            none["<NA>"]; none["NULL"]; none["4294967295"]
        }
        {
            na++
            if (na > nb) { print "line " na ": sysdig: " $0 " | syscap: (none)"; next }
            n = split($0, x, FS); m = split(b[na], y, FS)
            bad = (n != m)
            for (i = 1; i <= n && !bad; i++) if (x[i] != y[i] && !(x[i] in none)) bad = 1
            if (bad) print "line " na ": sysdig: " $0 " | syscap: " b[na]
        }
        END { for (i = na + 1; i <= nb; i++) print "line " i ": sysdig: (none) | syscap: " b[i] }
    ' "$1" >"$work/report"
}

# The enter and exit events of each call, merged as syscap merges them (exit
# values first), one line per returned call; input lines are tid|dir|type|...
merge_calls() {
    awk -F"$sep" -v OFS="$sep" '
        $2 == ">" { enter[$1] = $0; next }
        {
            split(enter[$1], e, FS)
            out = $1 OFS $3
            for (i = 4; i <= NF; i++) {
                v = $i
                if (v == "<NA>" && e[3] == $3 && (i in e)) v = e[i]
                out = out OFS v
            }
            delete enter[$1]
            print out
        }'
}

# Fields are separated by the ASCII unit separator: values contain '|'.
sep=$'\x1f'

# Events with one direction in sysdig; syscap keeps them as records too.
single_events='procexit,switch,procinfo,signaldeliver,container'

# fields NAME...: a -p format printing every line, fields separated by $sep.
fields() {
    local IFS=$sep
    local names=("${@/#/%}")
    echo "*${names[*]}"
}

# check_sample SAMPLE REFERENCE: syscap reading SAMPLE against sysdig
# reading REFERENCE, both among the samples.
check_sample() {
    local sample=$1 reference=$2 s=$samples/$1.scap r=$samples/$2.scap
    local sd=$work/sysdig sc=$work/syscap

    # 1. The issue's comparison: every exit event, in order.
    local f=$(fields evt.type thread.tid proc.name fd.name evt.res evt.rawres)
    sysdig -r "$r" 'evt.dir=<' -p "$f" 2>/dev/null >"$sd"
    "$syscap" print "$s" -p "$f" 'evt.dir=<' >"$sc" 2>/dev/null || true
    cells "$sd" "$sc"; compare "$sample.exits"

    # 2. Processes and users.
    f=$(fields evt.type thread.tid proc.cmdline proc.ppid proc.exe user.name user.uid)
    sysdig -r "$r" 'evt.dir=<' -p "$f" 2>/dev/null >"$sd"
    "$syscap" print "$s" -p "$f" 'evt.dir=<' >"$sc" 2>/dev/null || true
    cells "$sd" "$sc"; compare "$sample.processes"

    # 3. Socket ends.
    f=$(fields evt.type thread.tid fd.sip fd.sport fd.cip fd.cport fd.type fd.l4proto)
    sysdig -r "$r" 'evt.dir=<' -p "$f" 2>/dev/null >"$sd"
    "$syscap" print "$s" -p "$f" 'evt.dir=<' >"$sc" 2>/dev/null || true
    cells "$sd" "$sc"; compare "$sample.sockets"

    # 3a. Local and remote ends (README item 12: sysdig picks the local end
    # from the capture's interface list, syscap from the socket's role).
    f=$(fields evt.type thread.tid fd.lip fd.lport fd.rip fd.rport fd.lproto fd.rproto)
    sysdig -r "$r" 'evt.dir=<' -p "$f" 2>/dev/null >"$sd"
    "$syscap" print "$s" -p "$f" 'evt.dir=<' >"$sc" 2>/dev/null || true
    cells "$sd" "$sc"; compare "$sample.ends"

    # 3b. Fields added for sysdig's field list (issue 21).
    f=$(fields evt.type thread.tid evt.latency.human evt.latency.s syscall.type evt.io_dir \
        evt.count.error evt.count.error.file evt.count.error.net evt.count.error.memory \
        evt.count.error.other evt.count.exit evt.is_open_read evt.is_open_write evt.is_open_exec \
        proc.exeline proc.pcmdline proc.pname proc.apid[1] proc.loginshellid user.loginuid \
        thread.ismain fd.connected evt.is_wait evt.wait_latency)
    sysdig -r "$r" 'evt.dir=<' -p "$f" 2>/dev/null >"$sd"
    "$syscap" print "$s" -p "$f" 'evt.dir=<' >"$sc" 2>/dev/null || true
    cells "$sd" "$sc"; compare "$sample.fields"

    # 4. Arguments of every call (enter and exit events merged), per thread.
    local args=(evt.arg.fd evt.arg.size evt.arg.res evt.rawarg.res evt.arg.data evt.arg.tuple
        evt.arg.name evt.arg.flags evt.arg.mode evt.arg.prot evt.arg.addr evt.arg.length
        evt.arg.domain evt.arg.type evt.arg.proto evt.arg.path)
    sysdig -r "$r" "not evt.type in ($single_events)" -p "$(fields thread.tid evt.dir evt.type "${args[@]}")" 2>/dev/null |
        merge_calls | sort -s -t"$sep" -k1,1 >"$sd"
    "$syscap" print "$s" -p "$(fields thread.tid evt.type "${args[@]}")" 'evt.dir=<' 2>/dev/null |
        sort -s -t"$sep" -k1,1 >"$sc" || true
    cells "$sd" "$sc"; compare "$sample.args"

    # 5. Chisels. Tables: every row sysdig shows is a row of syscap's full
    # table (sysdig breaks ties in hash order, so its top rows are a sample).
    local c
    for c in topfiles_bytes topprocs_net topconns 'fdbytes_by fd.name'; do
        local chisel=(${c})
        sysdig -r "$r" -c "${chisel[@]}" 2>/dev/null | tail -n +3 | sed 's/ *$//' >"$sd" || true
        "$syscap" chisel --rows 0 "${chisel[0]}" "$s" "${chisel[@]:1}" |
            tail -n +3 | sed 's/ *$//' >"$sc"
        grep -vxFf "$sc" "$sd" | sed 's/^/sysdig row not in syscap: /' >"$work/report" || true
        compare "$sample.${chisel[0]}"
    done
    # 6. The capture's span: `info` starts and ends within 1 s of sysdig's
    # first and last events (the driver's hidden procinfo samples and the
    # container events do not count).
    sysdig -r "$r" -p '%evt.rawtime' 2>/dev/null | sed -n '1p;$p' >"$sd"
    "$syscap" info "$s" 2>/dev/null | awk '$1 == "start" || $1 == "end" { print $2 }' |
        while read -r t; do date -u -d "$t" +%s%N; done >"$sc"
    paste "$sd" "$sc" | awk -v OFS=' ' '{
        which = NR == 1 ? "start" : "end"; d = $1 - $2; if (d < 0) d = -d
        if (NF != 2 || d > 1e9) print which ": sysdig " $1 ", syscap " $2
    }' >"$work/report"
    compare "$sample.span"

    # State tables and spy_users: the same rows (sysdig prints them in hash order).
    for c in ps lsof netstat spy_users; do
        # (A table can be empty: grep then selects nothing.)
        sysdig -r "$r" -c "$c" 2>/dev/null | { grep -v $'^\e\\[0m$' || true; } | sed 's/ *$//' | sort >"$sd"
        "$syscap" chisel "$c" "$s" | sed 's/ *$//' | sort >"$sc"
        diff "$sd" "$sc" | grep '^[<>]' | sed 's/^</sysdig:/; s/^>/syscap:/' >"$work/report" || true
        compare "$sample.$c"
    done
}

check_sample test_ipv6_client test_ipv6_client
check_sample curl_google curl_google
# sysdig 0.29.3 cannot open this copy of curl_google (its section header
# carries pcapng options, written by Wireshark's editcap); syscap must read
# it exactly as sysdig reads the original.
if sysdig -r "$samples/curl_google_comments.scap" -c topfiles_bytes >/dev/null 2>&1; then
    echo "note: this sysdig opens curl_google_comments.scap; compare it directly"
fi
check_sample curl_google_comments curl_google
check_sample single_ipv6_conn single_ipv6_conn

echo "scap-conformance: $((checks - failures)) of $checks checks agree with $(sysdig --version 2>/dev/null | head -1)"
[[ $failures -eq 0 ]]
