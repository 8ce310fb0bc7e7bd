#!/usr/bin/env bash
# Installs what building and testing syscap needs on Debian (run as root):
# sysdig (without its kernel module) is the reference the .scap conformance
# check compares with.
set -euo pipefail
packages=(build-essential pkg-config clang libbpf-dev strace sysdig)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust 1.95+) is required" >&2; exit 1; }
