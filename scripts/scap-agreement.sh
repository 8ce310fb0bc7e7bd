#!/usr/bin/env bash
# How often syscap agrees with sysdig, field by field, on the exit events of
# any .scap captures (the public ones users meet, beyond the conformance
# check's samples): process fields, fd name and result, container.
#
#   scripts/scap-agreement.sh CAPTURE.scap...     # a markdown table
#
# Lines are aligned by (type, thread); a sysdig <NA> agrees with anything.
# SYSCAP picks the binary (default: a release build of this checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
syscap=${SYSCAP:-$root/target/release/syscap}
[ -x "$syscap" ] || (cd "$root" && cargo build --release --quiet -p inspect-cli)
command -v sysdig >/dev/null || { echo "scap-agreement: sysdig is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s=$'\x1f'
format="*%evt.type$s%thread.tid$s%proc.name$s%proc.exe$s%proc.cmdline$s%proc.ppid$s%user.name$s%fd.name$s%evt.res$s%container.id$s%container.name$s%container.image"
echo "| capture | sysdig exits | syscap exits | aligned | process | fd+res | container |"
echo "|---|---|---|---|---|---|---|"
for capture in "$@"; do
    name=$(basename "$capture")
    if ! sysdig -r "$capture" -p "$format" 'evt.dir = <' >"$work/sysdig" 2>/dev/null; then
        echo "| $name | sysdig cannot read it | | | | | |"
        continue
    fi
    # Exit status 1: nothing matched (as grep).
    "$syscap" print "$capture" -p "$format" 'evt.dir = <' >"$work/syscap" || (($? == 1))
    python3 "$root/scripts/scap-agreement.py" "$work/sysdig" "$work/syscap" "$name"
done
