#!/usr/bin/env bash
# The main job on an embedded default: records every system call of a small
# shell session (files, processes, a pipeline) with eBPF into ./demo.syscap,
# then inspects the capture. Needs root (eBPF); storage is the local
# directory: the inspector prints what cat did, the summary, and a chisel.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "demo: run as root (eBPF needs CAP_BPF and CAP_PERFMON)" >&2; exit 1; }
scripts/setup.sh build
cargo build --release --locked -p capture-agent -p inspect-cli
target/release/syscap-agent capture -o demo.syscap -- /bin/sh -c '
    cat /etc/os-release > /dev/null
    ls -la /usr/bin | wc -l
    echo "hello from syscap" > /tmp/syscap-demo.txt
    mv /tmp/syscap-demo.txt /tmp/syscap-demo.old && rm /tmp/syscap-demo.old
    find /usr/share -maxdepth 2 -name "*.txt" | head -3
    cat /no/such/file 2>/dev/null || true'
target/release/syscap info demo.syscap
echo; echo "== what cat did"
target/release/syscap print demo.syscap proc.name = cat and evt.type in '(openat, read, write, close)'
echo; echo "== summary"
target/release/syscap summary demo.syscap
echo; echo "== chisel topfiles_bytes"
target/release/syscap chisel topfiles_bytes demo.syscap
