#!/usr/bin/env bash
# The deployment on a real container runtime (Debian's podman standing in
# for the cluster), as root:
#
# 1. builds the image (scripts/build-image.sh) and a busybox workload image;
# 2. starts moto's S3 server on 127.0.0.1 and podman's Docker-compatible
#    API socket;
# 3. plays the DaemonSet's pod template as a Pod (scripts/kube-pod.py says
#    what differs) with `podman kube play`: the agent records the host from
#    its container (podman 4.3 gives the pod a PID namespace of its own
#    whatever hostPID says, so the host's /proc is mounted for it; on a
#    cgroup v2 host the pod also has a private cgroup namespace);
# 4. GETs the probes' paths (/healthz, /readyz) and reads the agent's RSS;
# 5. starts a second container writing a marker file, triggers a capture
#    in the agent's container (`podman exec ... syscap-agent trigger`), waits
#    for its upload, and reads it on the host with `syscap ls/get/print`:
#    the marker's writes are there, named with the container's name and id;
#    `kubectl syscap` (deploy/kubernetes/kubectl-syscap, with a kubectl
#    stand-in that asks podman) triggers a capture filtered for a pod;
# 6. triggers a long capture and stops the pod (SIGTERM, then SIGKILL after
#    the DaemonSet's terminationGracePeriodSeconds, as the kubelet does)
#    while it runs: the capture is finished and stored before the container
#    exits; `podman kube down` removes the pod.
#
#   scripts/kube-test.sh [--no-build]   (--no-build: release binaries as built)
#
# Everything it starts is removed on exit, unless SYSCAP_KUBE_TEST_KEEP=1
# (the agent's image stays: it is what build-image.sh makes; so does the
# pause image podman builds from catatonit). Waits are for conditions, with
# generous deadlines; no fixed sleeps.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
for tool in podman catatonit curl jq python3 busybox; do
    command -v "$tool" >/dev/null || [ -x "/usr/libexec/podman/$tool" ] ||
        { echo "kube-test: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "kube-test: python3-yaml is missing (scripts/setup.sh test)" >&2; exit 1; }
target=${CARGO_TARGET_DIR:-target}
moto_server=${SYSCAP_MOTO_SERVER:-target/moto-venv/bin/moto_server}
[ -x "$moto_server" ] || { echo "kube-test: $moto_server is missing (scripts/setup.sh test)" >&2; exit 1; }
# shellcheck source=lib/image.sh
. "$(dirname "$0")/lib/image.sh"

work=$(mktemp -d /tmp/syscap-kube.XXXXXX)
chmod 0755 "$work"
workload=syscap-kube-workload
busybox_image=localhost/syscap-kube-busybox:test
pod_yaml=$work/pod.yaml
pids=()
cleanup() {
    local rc=$?
    if [ -n "${SYSCAP_KUBE_TEST_KEEP:-}" ]; then
        echo "kube-test: left running (SYSCAP_KUBE_TEST_KEEP): $work" >&2
        return
    fi
    if [ -f "$pod_yaml" ] && podman pod exists syscap-kube-test 2>/dev/null; then
        podman kube down "$pod_yaml" >/dev/null 2>&1 || true
    fi
    podman rm -f -t 0 "$workload" >/dev/null 2>&1 || true
    podman rmi -f "$busybox_image" >/dev/null 2>&1 || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((rc != 0)); then
        echo "kube-test: FAILED; the agent said:" >&2
        tail -40 "$work/agent.log" >&2 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Podman's default rlimits (nofile 1048576) need CAP_SYS_RESOURCE, which a
# root inside a container (a CI runner) may not have: lower ones (open
# files: this shell's hard limit, at most 65536), for every podman command
# of this test.
nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || ((nofile > 65536)); then nofile=65536; fi
nproc=4096
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
EOF
export CONTAINERS_CONF=$work/containers.conf

# Waits until COMMAND succeeds, at most SECONDS; says WHAT on failure.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            echo "kube-test: no $what within ${seconds} s" >&2
            return 1
        fi
        sleep 0.2
    done
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== image"
image=$(scripts/build-image.sh "$@")
rootfs=$work/busybox
busybox_rootfs "$rootfs"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/busybox.tar" .
podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$work/busybox.tar" "$busybox_image" >/dev/null

echo "== moto and podman's API socket"
moto_port=$(free_port)
"$moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
endpoint=http://127.0.0.1:$moto_port
wait_for "moto on $endpoint" 60 curl -sf -o /dev/null "$endpoint/"
curl -sf -X PUT "$endpoint/caps" >/dev/null
mkdir -p "$work/podman"
podman system service --time=0 "unix://$work/podman/podman.sock" >"$work/podman-service.log" 2>&1 &
pids+=($!)
wait_for "podman's API socket" 60 curl -sf -o /dev/null --unix-socket "$work/podman/podman.sock" http://d/_ping

syscap() {
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
        SYSCAP_S3_ENDPOINT=$endpoint SYSCAP_S3_PATH_STYLE=true "$target/release/syscap" "$@"
}

echo "== the agent's pod (podman kube play)"
metrics_port=$(free_port)
python3 scripts/kube-pod.py "$work" "$image" "$endpoint" "$metrics_port" >"$pod_yaml"
podman kube play "$pod_yaml" >/dev/null
agent=syscap-kube-test-agent
podman logs -f "$agent" >"$work/agent.log" 2>&1 &
pids+=($!)
logged() { grep -q -- "$1" "$work/agent.log"; }
# A failure to start is one line "syscap-agent: ...": no need to wait on.
running() {
    if grep -q '^syscap-agent: ' "$work/agent.log"; then
        echo "kube-test: the agent failed to start" >&2
        exit 1
    fi
    logged "running:"
}
wait_for "\"running:\" from the agent" 120 running

# The probes' paths and port, as the DaemonSet gives them.
probe_path() { python3 -c "import yaml, sys; c = yaml.safe_load(open('deploy/kubernetes/daemonset.yaml'))['spec']['template']['spec']['containers'][0]; print(c['$1']['httpGet']['path'])"; }
answers_200() { [ "$(curl -s -o "$work/probe" -w '%{http_code}' "http://127.0.0.1:$metrics_port$1")" = 200 ]; }
for probe in livenessProbe readinessProbe; do
    path=$(probe_path "$probe")
    wait_for "200 from $path ($probe)" 60 answers_200 "$path"
    echo "$probe: GET $path -> 200 $(cat "$work/probe")"
done
curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -q '^syscap_events_total [1-9]' ||
    { echo "kube-test: the metrics count no event" >&2; exit 1; }

echo "== a second container, named through podman's API"
podman run -d -q --name "$workload" "$busybox_image" sh \
    -c 'while true; do echo syscap-kube-marker >/tmp/syscap-kube-marker; sleep 0.3; done' >/dev/null
workload_id=$(podman inspect --format '{{.Id}}' "$workload")
# The workload's writes reach the ring once it ran a moment: its marker
# file exists.
wait_for "the workload's marker" 60 podman exec "$workload" sh -c 'test -s /tmp/syscap-kube-marker'
stored() { [ "$(grep -c "stored s3://.*_$1_" "$work/agent.log")" -ge "$2" ]; }
podman exec "$agent" syscap-agent trigger on-demand --before 5s --after 1s
wait_for "the first capture stored" 120 stored on-demand 1
key=$(syscap ls s3://caps/kube --rule on-demand --json | jq -r .key | head -1)
[ -n "$key" ] || { echo "kube-test: syscap ls lists nothing" >&2; exit 1; }
syscap get "s3://caps/$key" -o "$work/got" >/dev/null 2>&1
file=$(find "$work/got" -name '*.syscap' | head -1)
syscap print "$file" -p '%container.name %container.id %proc.name %evt.type %fd.name' \
    "fd.name = /tmp/syscap-kube-marker" >"$work/marker-events"
expected="$workload ${workload_id:0:12} "
grep -q "^$expected" "$work/marker-events" || {
    echo "kube-test: no write of the marker named $expected in $key:" >&2
    head -5 "$work/marker-events" >&2
    exit 1
}
echo "capture $key: $(grep -c "^$expected" "$work/marker-events") marker events of $workload (${workload_id:0:12})"

echo "== kubectl syscap (kubectl played by podman)"
# A stand-in for kubectl that answers what the plugin asks: the pod's node,
# the agent on it, and exec into the agent.
mkdir -p "$work/bin"
cat >"$work/bin/kubectl" <<EOF
#!/usr/bin/env bash
set -euo pipefail
case "\$1 \$2" in
    "get pod") echo kube-test-node ;;
    "get pods") [[ " \$* " == *" --field-selector spec.nodeName=kube-test-node "* ]] && echo $agent ;;
    "exec -n") shift 4; [ "\$1" = -- ] && shift; exec podman exec $agent "\$@" ;;
    *) echo "kubectl stand-in: \$*" >&2; exit 1 ;;
esac
EOF
chmod +x "$work/bin/kubectl"
PATH=$work/bin:$PATH deploy/kubernetes/kubectl-syscap web-1 -n shop --before 2s --after 1s >"$work/plugin.out" 2>&1
grep -q 'capture of rule on-demand started' "$work/plugin.out" &&
    grep -q -- '--host kube-test-node --rule on-demand' "$work/plugin.out" ||
    { echo "kube-test: kubectl syscap said:" >&2; cat "$work/plugin.out" >&2; exit 1; }
wait_for "the plugin's capture stored" 120 stored on-demand 2
plugin_key=$(syscap ls s3://caps/kube --rule on-demand --json | jq -r .key | grep -vxF "$key" | head -1)
syscap info "s3://caps/$plugin_key" | grep -qF 'k8s.ns.name = shop and k8s.pod.name = web-1' ||
    { echo "kube-test: the plugin's capture $plugin_key is not filtered for shop/web-1" >&2; exit 1; }
echo "kubectl syscap: capture $plugin_key filtered for pod shop/web-1"

agent_pid=$(podman inspect --format '{{.State.Pid}}' "$agent")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
echo "agent RSS in the container: $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB)"

echo "== SIGTERM during a capture, then podman kube down"
fired() { [ "$(grep -c "rule $1 fired (" "$work/agent.log")" -ge "$2" ]; }
podman exec "$agent" syscap-agent trigger on-demand --before 2s --after 10m
wait_for "the long capture started" 60 fired on-demand 3
# What the kubelet does when the pod is deleted: SIGTERM, then SIGKILL
# after terminationGracePeriodSeconds. podman 4.3's `kube down` kills at
# once (no SIGTERM reaches the agent: checked), so the pod is stopped with
# the DaemonSet's grace period first.
grace=$(python3 -c "import yaml; print(yaml.safe_load(open('deploy/kubernetes/daemonset.yaml'))['spec']['template']['spec']['terminationGracePeriodSeconds'])")
stop_started=$SECONDS
podman pod stop -t "$grace" syscap-kube-test >/dev/null
stop_took=$((SECONDS - stop_started))
# All it said, from podman (the follower may still be writing agent.log).
final=$work/agent-final.log
podman logs "$agent" >"$final" 2>&1
podman kube down "$pod_yaml" >/dev/null
grep -q 'stopping: finishing the running captures' "$final" ||
    { echo "kube-test: the agent did not get SIGTERM" >&2; exit 1; }
grep -q 'INFO stopped$' "$final" ||
    { echo "kube-test: the agent did not stop with every capture stored" >&2; exit 1; }
fired=$(grep -c ' fired (' "$final")
stored=$(syscap ls s3://caps/kube --json | wc -l)
on_demand=$(syscap ls s3://caps/kube --rule on-demand --json | wc -l)
[ "$stored" -eq "$fired" ] && [ "$on_demand" -eq 3 ] || {
    echo "kube-test: $fired captures fired, $stored stored ($on_demand on-demand, expected 3)" >&2
    exit 1
}
leftover=$(find "$work/host/spool" -name '*.syscap' | wc -l)
[ "$leftover" -eq 0 ] || { echo "kube-test: $leftover captures left in the spool" >&2; exit 1; }
echo "SIGTERM: the capture in progress was finished and stored ($stored captures in all) within ${stop_took} s of ${grace}"
echo "== kube test passed in $((SECONDS - started)) s"
