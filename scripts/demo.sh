#!/usr/bin/env bash
# The main job on an embedded default: writes a capture of a realistic
# synthetic workload (one million system calls from web, database, cache,
# JVM, cron and find processes) to ./demo.syscap and inspects it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p capture-agent -p inspect-cli
target/release/syscap-agent synth --events 1000000 -o demo.syscap
target/release/syscap info demo.syscap
