#!/usr/bin/env bash
# syscap-agent run under load (root): the pre-trigger ring and the example
# rules active, captures stored into a real S3 server on 127.0.0.1. Times
# the workloads of the capture benchmark untraced and with the agent
# running, and prints the agent's CPU and memory and the upload throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "bench-agent-run: run as root (eBPF)" >&2; exit 2; }
cargo build --release --quiet -p capture-agent -p s3-test-server -p inspect-cli
A=$PWD/target/release/syscap-agent
REDIS_PORT=${REDIS_PORT:-6399}
REDIS_REQUESTS=${REDIS_REQUESTS:-200000}
command -v redis-benchmark >/dev/null || { echo "bench-agent-run: needs redis-server and redis-tools (apt-get install redis-server redis-tools)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/syscap-bench-run.XXXXXX)
cleanup() {
    [[ -n ${AGENT:-} ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    [[ -n ${S3:-} ]] && kill "$S3" 2>/dev/null
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/s3/caps"
target/release/syscap-s3-test-server "$WORK/s3" >"$WORK/s3.log" &
S3=$!
sleep 0.5
endpoint=$(grep -o 'http://[0-9.:]*' "$WORK/s3.log")
{
    cat capture-agent/examples/rules.yaml | sed '/^limits:/,$d'
    printf '  - name: bench\n    condition:\n      manual: true\n    capture:\n      before: 60s\n      after: 1s\n'
} >"$WORK/rules.yaml"
cat >"$WORK/agent.toml" <<EOF
rules = "$WORK/rules.yaml"
storage = "s3://caps/bench"
spool = "$WORK/spool"
control_socket = "$WORK/agent.sock"
metrics = "127.0.0.1:0"
[ring]
bytes = "256MiB"
seconds = 60
[s3]
endpoint = "$endpoint"
path_style = true
region = "us-east-1"
EOF
export AWS_ACCESS_KEY_ID=syscap AWS_SECRET_ACCESS_KEY=syscap-secret

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
workloads=("dd if=/dev/zero of=/dev/null bs=1 count=2000000" "find /usr -xdev")

declare -A base
for w in "${workloads[@]}"; do
    # shellcheck disable=SC2086 # the workload's words
    secs $w >/dev/null # warm the page cache first
    # shellcheck disable=SC2086
    base[$w]=$(secs $w)
done
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes >/dev/null
sleep 0.5
redis_get() { # GET requests per second
    redis-benchmark -p "$REDIS_PORT" -t get -n "$REDIS_REQUESTS" -q 2>/dev/null |
        tr '\r' '\n' | awk '/^GET: [0-9]/ {g = $2} END {print g}'
}
redis_base=$(redis_get)

"$A" run --config "$WORK/agent.toml" 2>"$WORK/agent.log" &
AGENT=$!
while ! grep -q 'running:' "$WORK/agent.log"; do sleep 0.1; done
sleep 2
hz=$(getconf CLK_TCK)
echo "# syscap-agent run: ring 256 MiB / 60 s, $(grep -c '  - name:' "$WORK/rules.yaml") rules, S3 on 127.0.0.1, $(nproc) CPUs"
echo
echo "| workload | untraced | with the agent | slowdown | agent CPU | agent RSS |"
echo "|---|---|---|---|---|---|"
for w in "${workloads[@]}"; do
    t0=$(cpu_ticks "$AGENT")
    # shellcheck disable=SC2086
    t=$(secs $w)
    t1=$(cpu_ticks "$AGENT")
    awk -v w="$w" -v a="${base[$w]}" -v b="$t" -v c="$(( t1 - t0 ))" -v hz="$hz" -v r="$(rss "$AGENT")" 'BEGIN {
        printf "| `%s` | %.3f s | %.3f s | %.2fx | %.0f%% of one CPU | %.0f MiB |\n", w, a, b, b / a, c / hz / b * 100, r / 1024 }'
done
t0=$(cpu_ticks "$AGENT"); s0=$(date +%s.%N)
redis_agent=$(redis_get)
t1=$(cpu_ticks "$AGENT"); s1=$(date +%s.%N)
awk -v a="$redis_base" -v b="$redis_agent" -v c="$(( t1 - t0 ))" -v hz="$hz" -v d="$(awk -v x="$s0" -v y="$s1" 'BEGIN {print y - x}')" -v r="$(rss "$AGENT")" 'BEGIN {
    printf "| `redis-benchmark -t get` | %.0f req/s | %.0f req/s | %.0f%% of untraced | %.0f%% of one CPU | %.0f MiB |\n", a, b, b / a * 100, c / hz / d * 100, r / 1024 }'
t0=$(cpu_ticks "$AGENT"); sleep 10; t1=$(cpu_ticks "$AGENT")
awk -v c="$(( t1 - t0 ))" -v hz="$hz" 'BEGIN { printf "\nidle host, 10 s: agent CPU %.1f%% of one CPU\n", c / hz / 10 * 100 }'
"$A" trigger bench --socket "$WORK/agent.sock" >/dev/null 2>&1
while ! grep -q 'stored s3://caps/bench/.*_bench_' "$WORK/agent.log"; do sleep 0.2; done
grep -o 'stored s3://caps/bench/.*_bench_.*' "$WORK/agent.log" | sed 's/^stored [^ ]* /upload of the capture of the whole ring: /'
page=$(curl -s "http://$(grep -o 'metrics 127.0.0.1:[0-9]*' "$WORK/agent.log" | cut -d' ' -f2)/metrics")
metric() { awk -v m="syscap_$1" '$1 == m {print $2}' <<<"$page"; }
awk -v h="$(hwm "$AGENT")" -v r="$(metric ring_bytes)" -v s="$(metric ring_seconds)" -v e="$(metric events_total)" -v d="$(metric kernel_drops_total)" 'BEGIN {
    printf "agent peak RSS %.0f MiB; ring %.1f MiB holding %.0f s; %d events recorded, %d dropped in the kernel\n", h / 1024, r / 1048576, s, e, d }'
