#!/usr/bin/env bash
# Installs what building and testing syscap needs on Debian (run as root):
# sysdig (without its kernel module) is the reference the .scap conformance
# check compares with; moto's S3 server (from PyPI, in a venv under target/)
# is the second S3 implementation the end-to-end tests run against;
# containerd, runc and docker run the containers whose metadata the agent
# must find (scripts/containerd-lab.sh, scripts/docker-lab.sh), from images
# built of busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(build-essential pkg-config clang libbpf-dev strace sysdig python3 python3-venv
    containerd runc docker.io busybox-static jq curl)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust 1.95+) is required" >&2; exit 1; }

# Where s3-test-server looks for moto_server (unless SYSCAP_MOTO_SERVER).
moto=target/moto-venv
moto_version=5.2.5
if ! "$moto/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$moto_version'" 2>/dev/null \
    || [ ! -x "$moto/bin/moto_server" ]; then
    rm -rf "$moto"
    python3 -m venv "$moto"
    "$moto/bin/pip" install -q --disable-pip-version-check "moto[server]==$moto_version"
fi

# Public .scap captures for the conformance check beyond the shared
# samples: the test captures of falcosecurity/libs (Apache-2.0), from
# Debian's source package (trixie), with apt's own client and a private
# list, so the machine's sources stay as they are.
captures=target/scap-public
if [ ! -f "$captures/single_ipv6_conn.scap" ]; then
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$captures"
    echo 'deb-src http://deb.debian.org/debian trixie main' >"$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o APT::Sandbox::User=root -qq)
    apt-get "${apt_opts[@]}" update
    (cd "$apt_dir" && apt-get "${apt_opts[@]}" source --download-only falcosecurity-libs)
    tar -xzf "$apt_dir"/falcosecurity-libs_*.orig.tar.gz -C "$apt_dir" \
        --wildcards '*/test/libsinsp_e2e/resources/captures/*.scap'
    find "$apt_dir" -path '*/test/libsinsp_e2e/resources/captures/*.scap' -exec cp {} "$captures/" \;
    rm -rf "$apt_dir"
    [ -f "$captures/single_ipv6_conn.scap" ] ||
        { echo "setup: no single_ipv6_conn.scap in falcosecurity-libs' source" >&2; exit 1; }
fi
