#!/usr/bin/env bash
# Installs what syscap needs on Debian (run as root), for one purpose:
#
#   scripts/setup.sh build   building syscap and running it (the demo):
#                            a C compiler, clang and libbpf's headers for the
#                            eBPF programs
#   scripts/setup.sh test    everything the checks of .ci/run need too:
#                            sysdig (without its kernel module), the reference
#                            the .scap conformance check compares with;
#                            strace, which a kernel test compares with;
#                            moto's S3 server (PyPI, in a venv under target/),
#                            the second S3 implementation the end-to-end tests
#                            run against, and DuckDB (PyPI, same venv), the
#                            engine the Parquet export test queries with; containerd, runc and docker, which
#                            run the containers whose metadata the agent must
#                            find, from images built of busybox-static; and
#                            the public .scap captures of falcosecurity/libs;
#                            podman and catatonit (its pause image), which
#                            play the Kubernetes pod (scripts/kube-test.sh),
#                            python3-yaml that makes the pod, and systemd's
#                            systemd-analyze, which checks the unit
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-build}
packages=(build-essential pkg-config clang libbpf-dev)
case $purpose in
    build) ;;
    test) packages+=(strace sysdig python3 python3-venv containerd runc docker.io busybox-static jq curl
    podman catatonit python3-yaml ca-certificates systemd prometheus-alertmanager) ;;
    *) echo "usage: scripts/setup.sh [build|test]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ $purpose == test ]]; then
    # The alerts test runs the alertmanager binary itself; Debian's package
    # may start a service listening on 0.0.0.0:9093 on a systemd host.
    systemctl disable --now prometheus-alertmanager 2>/dev/null || true
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust 1.95+) is required" >&2; exit 1; }
[[ $purpose == test ]] || exit 0

# Where s3-test-server looks for moto_server (unless SYSCAP_MOTO_SERVER).
moto=target/moto-venv
moto_version=5.2.5
if ! "$moto/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$moto_version'" 2>/dev/null \
    || [ ! -x "$moto/bin/moto_server" ]; then
    rm -rf "$moto"
    python3 -m venv "$moto"
    "$moto/bin/pip" install -q --disable-pip-version-check "moto[server]==$moto_version"
fi
# DuckDB reads what `syscap export --format parquet` writes (tests/cli/export.rs).
duckdb_version=1.4.4
if ! "$moto/bin/python" -c "import importlib.metadata as m; assert m.version('duckdb') == '$duckdb_version'" 2>/dev/null; then
    "$moto/bin/pip" install -q --disable-pip-version-check "duckdb==$duckdb_version"
fi

# Public .scap captures for the tests and the conformance check: the test
# captures of falcosecurity/libs (Apache-2.0), from Debian's source package
# (trixie), with apt's own client and a private list, so the machine's
# sources stay as they are; and the copy of curl_google.scap that
# Wireshark's editcap annotates (what libs' curl_google_comments.scap
# holds, byte for byte).
captures=target/scap-public
if [ ! -f "$captures/single_ipv6_conn.scap" ] || [ ! -f "$captures/curl_google.scap" ] ||
    [ ! -f "$captures/test_ipv6_client.scap" ]; then
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
if [ ! -f "$captures/curl_google_comments.scap" ]; then
    scripts/scap-with-comments.py "$captures/curl_google.scap" "$captures/curl_google_comments.scap.new"
    mv "$captures/curl_google_comments.scap.new" "$captures/curl_google_comments.scap"
fi
