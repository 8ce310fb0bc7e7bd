#!/usr/bin/env bash
# Checks deploy/systemd/syscap-agent.service with systemd-analyze: `verify`
# (syntax, directives, the binary it starts: AGENT, default the release
# build, stands in for /usr/local/bin/syscap-agent) and `security`, whose
# exposure score it prints and holds at 4.0 or below ("OK").
#
#   scripts/check-systemd-unit.sh [AGENT]
set -euo pipefail
cd "$(dirname "$0")/.."
agent=$(realpath "${1:-${CARGO_TARGET_DIR:-target}/release/syscap-agent}")
[ -x "$agent" ] || { echo "check-systemd-unit: $agent is missing (cargo build --release -p capture-agent)" >&2; exit 1; }
command -v systemd-analyze >/dev/null ||
    { echo "check-systemd-unit: systemd-analyze is missing (scripts/setup.sh test installs systemd)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=/usr/local/bin/syscap-agent |ExecStart=$agent |" \
    deploy/systemd/syscap-agent.service >"$work/syscap-agent.service"
grep -q "^ExecStart=$agent " "$work/syscap-agent.service" ||
    { echo "check-systemd-unit: no ExecStart=/usr/local/bin/syscap-agent line in the unit" >&2; exit 1; }
systemd-analyze verify "$work/syscap-agent.service"
score=$(systemd-analyze security --offline=yes --no-pager "$work/syscap-agent.service" |
    sed -n 's/.*Overall exposure level for syscap-agent.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "check-systemd-unit: no exposure level from systemd-analyze security" >&2; exit 1; }
echo "systemd-analyze security: exposure $score (0 safest, 10 unsafe)"
awk -v s="$score" 'BEGIN { exit !(s <= 4.0) }' ||
    { echo "check-systemd-unit: exposure $score is above 4.0" >&2; exit 1; }
