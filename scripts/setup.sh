#!/usr/bin/env bash
# Installs what building and testing syscap needs on Debian (run as root):
# sysdig (without its kernel module) is the reference the .scap conformance
# check compares with; moto's S3 server (from PyPI, in a venv under target/)
# is the second S3 implementation the end-to-end tests run against.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(build-essential pkg-config clang libbpf-dev strace sysdig python3 python3-venv)
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
