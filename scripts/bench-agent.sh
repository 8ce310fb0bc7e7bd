#!/usr/bin/env bash
# Overhead of `syscap-agent capture` (whole host) side by side with strace -f
# and perf trace, in one run, on this machine. Run as root:
#
#   scripts/bench-agent.sh            # figures as a markdown table
#
# Workloads (the issue's): dd bs=1 (4M syscalls), find /usr -xdev, and
# redis-benchmark GET/SET against a local redis-server. strace and perf
# trace are hundreds of times slower on dd, so every tracer is also timed on
# a smaller dd (TRACER_DD_COUNT) to compare all four on the same command.
# syscap-agent runs twice: as it runs by default, and with --no-latency
# (calls recorded at return only, as Falco 0.42's drivers do).
# Then: sustained rate without drops, agent memory, bytes per event.
set -euo pipefail
cd "$(dirname "$0")/.."

DD_COUNT=${DD_COUNT:-2000000}
TRACER_DD_COUNT=${TRACER_DD_COUNT:-100000}
RUNS=${RUNS:-3}
REDIS_REQUESTS=${REDIS_REQUESTS:-200000}
REDIS_PORT=${REDIS_PORT:-6399}

[[ $(id -u) == 0 ]] || { echo "bench-agent: run as root (eBPF)" >&2; exit 1; }
need=()
command -v strace >/dev/null || need+=(strace)
command -v perf >/dev/null || need+=(linux-perf)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
if ((${#need[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
cargo build --release --quiet -p capture-agent -p inspect-cli
AGENT=$PWD/target/release/syscap-agent
WORK=$(mktemp -d /tmp/syscap-bench.XXXXXX)
trap 'stop_agent 2>/dev/null; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

# Wall seconds of the best of $RUNS runs of "$@".
best_of() {
    local best=""
    for ((i = 0; i < RUNS; i++)); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        local s=$(((t1 - t0) / 1000))
        [[ -z $best || $s -lt $best ]] && best=$s
    done
    printf '%d.%06d' $((best / 1000000)) $((best % 1000000))
}

AGENT_PID=""
start_agent() { # start_agent NAME [ARGS...]: whole-host capture in the background
    local name=$1; shift
    "$AGENT" capture -o "$WORK/$name.syscap" --max-size 8GiB "$@" 2>"$WORK/$name.err" &
    AGENT_PID=$!
    until grep -q capturing "$WORK/$name.err" 2>/dev/null; do
        kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; exit 1; }
        sleep 0.05
    done
}
agent_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$AGENT_PID/status"; }
stop_agent() {
    [[ -n $AGENT_PID ]] || return 0
    kill -INT "$AGENT_PID"
    wait "$AGENT_PID" || true
    AGENT_PID=""
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

dd_cmd() { dd if=/dev/zero of=/dev/null bs=1 count="$1"; }
find_cmd() { find /usr -xdev; }

echo "# syscap-agent overhead, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
echo
find_cmd >/dev/null 2>&1 # warm the dentry cache for every column alike

# --- dd and find: untraced, syscap, strace -f, perf trace ---------------
dd_base=$(best_of dd_cmd "$DD_COUNT")
dd_small_base=$(best_of dd_cmd "$TRACER_DD_COUNT")
find_base=$(best_of find_cmd)

start_agent dd
dd_syscap=$(best_of dd_cmd "$DD_COUNT")
dd_small_syscap=$(best_of dd_cmd "$TRACER_DD_COUNT")
find_syscap=$(best_of find_cmd)
rss=$(agent_rss_mib)
stop_agent
dd_summary=$(tail -1 "$WORK/dd.err")

start_agent dd-nolat --no-latency
dd_nolat=$(best_of dd_cmd "$DD_COUNT")
dd_small_nolat=$(best_of dd_cmd "$TRACER_DD_COUNT")
find_nolat=$(best_of find_cmd)
stop_agent

RUNS_SAVED=$RUNS
RUNS=1 # the tracers are slow and steady
dd_small_strace=$(best_of strace -f -o /dev/null dd if=/dev/zero of=/dev/null bs=1 count="$TRACER_DD_COUNT")
find_strace=$(best_of strace -f -o /dev/null find /usr -xdev)
dd_small_perf=$(best_of perf trace -o /dev/null -- dd if=/dev/zero of=/dev/null bs=1 count="$TRACER_DD_COUNT")
find_perf=$(best_of perf trace -o /dev/null -- find /usr -xdev)
RUNS=$RUNS_SAVED

echo "| workload | untraced | syscap-agent (whole host) | --no-latency | strace -f | perf trace |"
echo "|---|---|---|---|---|---|"
echo "| dd bs=1 count=$DD_COUNT | ${dd_base}s | ${dd_syscap}s ($(ratio "$dd_syscap" "$dd_base")) | ${dd_nolat}s ($(ratio "$dd_nolat" "$dd_base")) | - | - |"
echo "| dd bs=1 count=$TRACER_DD_COUNT | ${dd_small_base}s | ${dd_small_syscap}s ($(ratio "$dd_small_syscap" "$dd_small_base")) | ${dd_small_nolat}s ($(ratio "$dd_small_nolat" "$dd_small_base")) | ${dd_small_strace}s ($(ratio "$dd_small_strace" "$dd_small_base")) | ${dd_small_perf}s ($(ratio "$dd_small_perf" "$dd_small_base")) |"
echo "| find /usr -xdev | ${find_base}s | ${find_syscap}s ($(ratio "$find_syscap" "$find_base")) | ${find_nolat}s ($(ratio "$find_nolat" "$find_base")) | ${find_strace}s ($(ratio "$find_strace" "$find_base")) | ${find_perf}s ($(ratio "$find_perf" "$find_base")) |"

# --- redis GET/SET throughput ---------------------------------------------
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes >/dev/null
sleep 0.5
REDIS_PID=$(pgrep -f "redis-server .*:$REDIS_PORT" | head -1)
redis_rps() { # prints "GET SET" requests per second
    redis-benchmark -p "$REDIS_PORT" -t get,set -n "$REDIS_REQUESTS" -q 2>/dev/null |
        tr '\r' '\n' | awk '/^SET:/ {s=$2} /^GET:/ {g=$2} END {print g, s}'
}
read -r get_base set_base < <(redis_rps)
start_agent redis
read -r get_syscap set_syscap < <(redis_rps)
stop_agent
redis_summary=$(tail -1 "$WORK/redis.err")
start_agent redis-nolat --no-latency
read -r get_nolat set_nolat < <(redis_rps)
stop_agent
strace -f -o /dev/null -p "$REDIS_PID" 2>/dev/null &
tracer=$!
sleep 1
read -r get_strace set_strace < <(redis_rps)
kill -INT $tracer; wait $tracer 2>/dev/null || true
perf trace -o /dev/null -p "$REDIS_PID" 2>/dev/null &
tracer=$!
sleep 1
read -r get_perf set_perf < <(redis_rps)
kill -INT $tracer; wait $tracer 2>/dev/null || true
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
echo "| redis GET req/s | $get_base | $get_syscap ($(pct "$get_syscap" "$get_base")) | $get_nolat ($(pct "$get_nolat" "$get_base")) | $get_strace ($(pct "$get_strace" "$get_base")) | $get_perf ($(pct "$get_perf" "$get_base")) |"
echo "| redis SET req/s | $set_base | $set_syscap ($(pct "$set_syscap" "$set_base")) | $set_nolat ($(pct "$set_nolat" "$set_base")) | $set_strace ($(pct "$set_strace" "$set_base")) | $set_perf ($(pct "$set_perf" "$set_base")) |"

# --- sustained rate, drops, memory, size ---------------------------------
# getppid at a fixed rate (perl is in every Debian base system), 10 s a step.
paced() { # paced RATE SECONDS: prints the calls made
    perl -MTime::HiRes=time,sleep -e '
        my ($rate, $secs) = @ARGV; my $start = time; my $n = 0;
        while (time - $start < $secs) {
            syscall(110) for 1 .. 10000;
            $n += 10000;
            my $ahead = $start + $n / $rate - time;
            sleep($ahead) if $ahead > 0;
        }
        print "$n\n";' "$1" "$2"
}
sustained=()
for rate in 1000000 2000000; do
    start_agent "paced$rate"
    calls=$(paced "$rate" 10)
    rss=$(( $(agent_rss_mib) > rss ? $(agent_rss_mib) : rss ))
    stop_agent
    drops=$(grep -o 'dropped [0-9]*' "$WORK/paced$rate.err" | grep -o '[0-9]*' || echo 0)
    sustained+=("$((rate / 1000000))M/s for 10 s: $calls calls, ${drops:-0} drops")
done
start_agent saturated
dd_cmd 4000000 >/dev/null 2>&1 &
first=$!
dd_cmd 4000000 >/dev/null 2>&1 &
second=$!
wait $first $second
rss=$(( $(agent_rss_mib) > rss ? $(agent_rss_mib) : rss ))
stop_agent
sat_events=$(grep -o '^syscap-agent: [0-9]* events' "$WORK/saturated.err" | grep -o '[0-9]*')
sat_drops=$(grep -o 'dropped [0-9]*' "$WORK/saturated.err" | grep -o '[0-9]*' || echo 0)

echo
for line in "${sustained[@]}"; do echo "- sustained getppid, $line (default ring: 8 MiB per CPU)"; done
echo "- saturated: two dd bs=1 on both CPUs (16M calls, no CPU left for the agent): $sat_events recorded, ${sat_drops:-0} dropped and counted"
echo "- agent peak RSS: ${rss} MiB"
echo "- dd capture: ${dd_summary#syscap-agent: }"
echo "- redis capture: ${redis_summary#syscap-agent: }"
