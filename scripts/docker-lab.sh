#!/usr/bin/env bash
# A private Docker engine (Debian's docker.io 20.10, with the containerd it
# starts and manages itself) for the end-to-end tests: its own data root,
# exec root, socket and pid file under DIR; no systemd, no iptables, no
# bridge, nothing from a registry. The image is built here by hand from
# busybox-static: a docker-save archive of one layer, loaded with docker load.
#
#   docker-lab.sh start DIR   start dockerd, load the image, print the socket
#   docker-lab.sh stop DIR    stop it and everything it ran; remove mounts and cgroups
#
# Image: syscap.local/busybox:1 (busybox; ENTRYPOINT ["/bin/sh"], so
#   docker run ... syscap.local/busybox:1 -c 'while true; do sleep 1; done'
# runs a shell loop).
#
# Containers land in the cgroup /docker/<64-hex id> of every v1 hierarchy and
# of the v2 (unified) one (cgroupfs driver; dockerd picks it without systemd).
# dockerd 20.10 still writes its trust key to /etc/docker/key.json and makes
# /run/docker/plugins; nothing else outside DIR.
# DOCKER_LAB_STORAGE_DRIVER (default: dockerd's own choice, overlay2 on ext4,
# vfs where overlay is impossible) overrides the storage driver.
set -euo pipefail

cmd=${1:?usage: docker-lab.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: docker-lab.sh start|stop DIR}")
sock=$dir/docker.sock
# Debian's client: /usr/local/bin/docker may be a different (newer) one.
docker_cli=/usr/bin/docker

for tool in dockerd containerd containerd-shim-runc-v2 runc jq busybox curl "$docker_cli"; do
    command -v "$tool" >/dev/null || { echo "docker-lab: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done
# shellcheck source=lib/image.sh
. "$(dirname "$0")/lib/image.sh"

ping_ok() { curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

start() {
    mkdir -p "$dir/root" "$dir/exec" "$dir/images"
    if [ -f "$dir/docker.pid" ] && kill -0 "$(cat "$dir/docker.pid")" 2>/dev/null && ping_ok; then
        echo "$sock"
        return
    fi
    # An empty config file, so that an /etc/docker/daemon.json never leaks in.
    echo '{}' >"$dir/daemon.json"
    local driver=()
    [ -n "${DOCKER_LAB_STORAGE_DRIVER:-}" ] && driver=(--storage-driver "$DOCKER_LAB_STORAGE_DRIVER")
    # Without --containerd, dockerd starts its own containerd (socket
    # $dir/exec/containerd/containerd.sock, root $dir/root/containerd) -- but
    # only if /run/containerd/containerd.sock does not exist: dockerd 20.10
    # uses that one whenever the file is there. In that case (or with
    # DOCKER_LAB_OWN_CONTAINERD=1) start a private containerd here instead.
    local ctrd=()
    if [ -e /run/containerd/containerd.sock ] || [ -n "${DOCKER_LAB_OWN_CONTAINERD:-}" ]; then
        mkdir -p "$dir/containerd"
        cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd/containerd.sock"
[ttrpc]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/root/opt"
EOF
        setsid containerd --config "$dir/containerd/config.toml" >>"$dir/containerd.log" 2>&1 </dev/null &
        echo $! >"$dir/containerd.pid"
        for _ in $(seq 100); do
            [ -S "$dir/containerd/containerd.sock" ] && break
            sleep 0.1
        done
        ctrd=(--containerd "$dir/containerd/containerd.sock")
    fi
    setsid dockerd \
        --config-file "$dir/daemon.json" \
        --data-root "$dir/root" \
        --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" \
        -H "unix://$sock" \
        --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --bridge=none --userland-proxy=false \
        --exec-opt native.cgroupdriver=cgroupfs \
        "${driver[@]}" "${ctrd[@]}" \
        >>"$dir/dockerd.log" 2>&1 </dev/null &
    echo $! >"$dir/dockerd.launch.pid"
    for _ in $(seq 150); do
        ping_ok && break
        kill -0 "$(cat "$dir/dockerd.launch.pid")" 2>/dev/null || break
        sleep 0.1
    done
    ping_ok || {
        echo "docker-lab: dockerd did not start; its log:" >&2
        tail -20 "$dir/dockerd.log" >&2
        exit 1
    }
    local rootfs=$dir/images/rootfs
    busybox_rootfs "$rootfs"
    build_image "$dir/images/busybox.tar" syscap.local/busybox:1 "$rootfs" '["/bin/sh"]'
    "$docker_cli" -H "unix://$sock" load -i "$dir/images/busybox.tar" >/dev/null
    echo "$sock"
}

stop() {
    local ids=()
    if ping_ok; then
        mapfile -t ids < <("$docker_cli" -H "unix://$sock" ps -aq --no-trunc 2>/dev/null || true)
        ((${#ids[@]})) && "$docker_cli" -H "unix://$sock" rm -f "${ids[@]}" >/dev/null 2>&1 || true
    fi
    # Every container this data root has known (even if dockerd is gone).
    if [ -d "$dir/root/containers" ]; then
        local c
        for c in "$dir"/root/containers/*/; do [ -d "$c" ] && ids+=("$(basename "$c")"); done
    fi
    # dockerd stops its managed containerd itself on SIGTERM.
    local pid pids=()
    for f in docker.pid dockerd.launch.pid containerd.pid; do
        [ -f "$dir/$f" ] && pids+=("$(cat "$dir/$f")")
    done
    # Its managed containerd, by its config path (in case dockerd died first).
    for pid in $(pgrep -f -- "--config $dir/exec/containerd/containerd.toml" || true); do pids+=("$pid"); done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -f "$dir/docker.pid" "$dir/dockerd.launch.pid" "$dir/containerd.pid"
    # The shims (and their containers) of this instance name its containerd socket.
    for pid in $(pgrep -f -- "-address $dir/(exec/)?containerd/containerd.sock" || true); do
        pkill -9 -P "$pid" 2>/dev/null || true
        kill -9 "$pid" 2>/dev/null || true
    done
    findmnt -rn -o TARGET | { grep -E "^$dir(/|$)" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    # runc leaves /docker/<id> cgroups behind a killed container; remove the
    # ones of this instance's containers, then /docker itself if now empty.
    for _ in $(seq 20); do
        local left=0
        for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
            [ -d "${h}docker" ] || continue
            for id in "${ids[@]}"; do
                [ -d "${h}docker/$id" ] && { rmdir "${h}docker/$id" 2>/dev/null || left=1; }
            done
            rmdir "${h}docker" 2>/dev/null || true
        done
        ((left)) || break
        sleep 0.2
    done
    rm -f "$sock"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) echo "usage: docker-lab.sh start|stop DIR" >&2; exit 2 ;;
esac
