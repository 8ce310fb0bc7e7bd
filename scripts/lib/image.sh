# Shared by the container labs (containerd-lab.sh, docker-lab.sh): a tiny
# image built by hand from busybox-static, no registry. Source it.

# One image: a docker-save archive whose single uncompressed layer is
# ROOTFS, with ENTRYPOINT (JSON).
build_image() {
    local out=$1 name=$2 rootfs=$3 entrypoint=$4
    local work
    work=$(mktemp -d)
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
    local layer
    layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
    mkdir -p "$work/out/$layer"
    mv "$work/layer.tar" "$work/out/$layer/layer.tar"
    jq -cn --argjson ep "$entrypoint" --arg diff "sha256:$layer" '{
        architecture: "amd64", os: "linux", created: "2024-01-01T00:00:00Z",
        config: {Env: ["PATH=/bin"], Entrypoint: $ep, WorkingDir: "/"},
        rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config.json"
    local config
    config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
    mv "$work/config.json" "$work/out/$config.json"
    jq -cn --arg c "$config.json" --arg l "$layer/layer.tar" --arg t "$name" \
        '[{Config: $c, RepoTags: [$t], Layers: [$l]}]' >"$work/out/manifest.json"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/out" -cf "$out" .
    rm -rf "$work"
}

# The busybox root file system the labs' images hold, in DIR.
busybox_rootfs() {
    local rootfs=$1
    rm -rf "$rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/etc"
    cp "$(command -v busybox)" "$rootfs/bin/busybox"
    for applet in sh sleep cat ls echo true; do ln -s busybox "$rootfs/bin/$applet"; done
}
