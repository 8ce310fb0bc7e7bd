#!/usr/bin/env bash
# A private containerd (Debian's, with its CRI plugin) for the end-to-end
# tests: its own config, root, state and socket under DIR, nothing from a
# registry. Images are built here by hand from busybox-static: a docker-save
# archive of one layer, imported with ctr.
#
#   containerd-lab.sh start DIR   start containerd, import the images, print the socket
#   containerd-lab.sh stop DIR    stop it and everything it ran; remove mounts and cgroups
#
# Images: syscap.local/busybox:1 (busybox; runs what the container asks) and
# syscap.local/pause:1 (the pod sandbox image: busybox's sleep).
set -euo pipefail

cmd=${1:?usage: containerd-lab.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: containerd-lab.sh start|stop DIR}")
sock=$dir/containerd.sock

for tool in containerd ctr runc jq busybox; do
    command -v "$tool" >/dev/null || { echo "containerd-lab: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done
# shellcheck source=lib/image.sh
. "$(dirname "$0")/lib/image.sh"

start() {
    mkdir -p "$dir/root" "$dir/state" "$dir/cni/bin" "$dir/cni/net.d" "$dir/images"
    if [ -f "$dir/containerd.pid" ] && kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null; then
        echo "$sock"
        return
    fi
    # restrict_oom_score_adj: CRI gives the sandbox oom_score_adj -998, which
    # needs CAP_SYS_RESOURCE; where root lacks it (a sandboxed CI), runc dies
    # unless containerd keeps the adjustment at its own.
    cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/root/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "syscap.local/pause:1"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$dir/cni/bin"
  conf_dir = "$dir/cni/net.d"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "$dir/state/runc"
EOF
    setsid containerd --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 </dev/null &
    echo $! >"$dir/containerd.pid"
    for _ in $(seq 100); do
        ctr -a "$sock" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    ctr -a "$sock" version >/dev/null 2>&1 || {
        echo "containerd-lab: containerd did not start; its log:" >&2
        tail -20 "$dir/containerd.log" >&2
        exit 1
    }
    local rootfs=$dir/images/rootfs
    busybox_rootfs "$rootfs"
    build_image "$dir/images/busybox.tar" syscap.local/busybox:1 "$rootfs" '["/bin/sh"]'
    build_image "$dir/images/pause.tar" syscap.local/pause:1 "$rootfs" '["/bin/sleep", "1000000"]'
    for image in busybox pause; do
        ctr -a "$sock" -n k8s.io images import "$dir/images/$image.tar" >/dev/null
    done
    echo "$sock"
}

stop() {
    if [ -f "$dir/containerd.pid" ]; then
        local pid
        pid=$(cat "$dir/containerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/containerd.pid"
    fi
    # The shims (and their containers) of this instance name its socket.
    for pid in $(pgrep -f -- "-address $sock" || true); do
        pkill -9 -P "$pid" 2>/dev/null || true
        kill -9 "$pid" 2>/dev/null || true
    done
    findmnt -rn -o TARGET | { grep "^$dir/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    # runc leaves the pod-level cgroups (the kubelet's, normally) under
    # syscap-lab, the parent the tests give their pods; a cgroup can be
    # removed only once its killed processes are gone.
    for _ in $(seq 20); do
        local left=0
        for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
            [ -d "${h}syscap-lab" ] || continue
            find "${h}syscap-lab" -depth -type d -exec rmdir {} \; 2>/dev/null || true
            [ -d "${h}syscap-lab" ] && left=1
        done
        ((left)) || break
        sleep 0.2
    done
    rm -f "$sock"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) echo "usage: containerd-lab.sh start|stop DIR" >&2; exit 2 ;;
esac
