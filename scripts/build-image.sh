#!/usr/bin/env bash
# Builds the agent's container image from the release binaries and this
# machine's Debian libraries: no registry, no base image. The root file
# system holds `syscap-agent` and `syscap` (in /usr/local/bin, on PATH),
# the libraries `ldd` lists for them, the CA certificates (for S3 over
# HTTPS), a root-only /etc/passwd and the example config; `podman import`
# makes it an image of one layer.
#
#   scripts/build-image.sh            build, import, save; print the image's name
#   scripts/build-image.sh --no-build use the release binaries already built
#
# Output: target/image/syscap-agent.oci.tar (an OCI archive, for
# `podman load` / `skopeo copy oci-archive:...` into a registry) and the
# image localhost/syscap-agent:VERSION (VERSION from Cargo.toml) in podman's
# local storage. Its default command is
#   syscap-agent run --config /etc/syscap/agent.toml
# (the config the Kubernetes ConfigMap mounts there).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in podman ldd tar cargo; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (scripts/setup.sh test installs podman)" >&2; exit 1; }
done
[ -f /etc/ssl/certs/ca-certificates.crt ] ||
    { echo "build-image: /etc/ssl/certs/ca-certificates.crt is missing (apt-get install ca-certificates)" >&2; exit 1; }

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "build-image: no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
image=localhost/syscap-agent:$version
target=${CARGO_TARGET_DIR:-target}
out=target/image

if [ "${1:-}" != --no-build ]; then
    cargo build --release --locked -q -p capture-agent -p inspect-cli
fi
bins=("$target/release/syscap-agent" "$target/release/syscap")
for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "build-image: $b is missing (run without --no-build)" >&2; exit 1; }
done

mkdir -p "$out"
rootfs=$(mktemp -d "$out/rootfs.XXXXXX")
trap 'rm -rf "$rootfs" "$out/rootfs.tar"' EXIT
mkdir -p "$rootfs"/{usr/local/bin,etc/syscap,etc/ssl/certs,var/lib/syscap/spool,run/syscap,tmp,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/var/lib/syscap/spool" "$rootfs/run/syscap"
for b in "${bins[@]}"; do
    # Debug information is most of a release binary's weight; symbols stay.
    objcopy --strip-debug "$b" "$rootfs/usr/local/bin/$(basename "$b")" 2>/dev/null ||
        cp "$b" "$rootfs/usr/local/bin/"
done
# Every library the binaries load, and the loader, at the paths ldd says.
for lib in $(ldd "${bins[@]}" | awk '/^\t/ && $2 == "=>" && $3 ~ /^\// {print $3} /^\t\// {print $1}' | sort -u); do
    cp -L --parents "$lib" "$rootfs/"
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
echo 'root:x:0:0:root:/root:/usr/sbin/nologin' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
cp capture-agent/examples/agent.toml capture-agent/examples/rules.yaml "$rootfs/etc/syscap/"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$out/rootfs.tar" .

# The image this tag named before, removed once the tag moves (unless a
# container still uses it), so that rebuilds leave no dangling images.
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman import -q \
    --change 'CMD ["syscap-agent", "run", "--config", "/etc/syscap/agent.toml"]' \
    --change 'ENV PATH=/usr/local/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'WORKDIR /' \
    --change "LABEL org.opencontainers.image.title=syscap-agent" \
    --change "LABEL org.opencontainers.image.version=$version" \
    "$out/rootfs.tar" "$image" >/dev/null
current=$(podman image inspect --format '{{.Id}}' "$image")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
rm -f "$out/syscap-agent.oci.tar"
podman save -q --format oci-archive -o "$out/syscap-agent.oci.tar" "$image"
size=$(podman image inspect --format '{{.Size}}' "$image")
archive=$(stat -c %s "$out/syscap-agent.oci.tar")
echo "build-image: $image, $((size / 1024 / 1024)) MiB ($out/syscap-agent.oci.tar: $((archive / 1024 / 1024)) MiB)" >&2
echo "$image"
