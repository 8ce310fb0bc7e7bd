#!/usr/bin/env python3
"""How often syscap's fields agree with sysdig's on exit events.

Usage: scap-agreement.py SYSDIG_OUT SYSCAP_OUT NAME

Each input holds one line per exit event, fields separated by \\x1f in the
order of FIELDS (see scap-agreement.sh). syscap numbers its records itself
(one per call), so lines are aligned by (type, thread) with difflib, not by
evt.num. A field agrees when both print the same value, or when sysdig
prints <NA> (it knows nothing there). Prints one markdown table row.
"""
import difflib
import sys

SEP = "\x1f"
FIELDS = ["type", "tid", "name", "exe", "cmdline", "ppid", "user",
          "fd", "res", "cid", "cname", "cimage"]
GROUPS = {
    "process": ["name", "exe", "cmdline", "ppid", "user"],
    "fd+res": ["fd", "res"],
    "container": ["cid", "cname", "cimage"],
}


def load(path):
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(SEP)
            if len(parts) == len(FIELDS):
                rows.append(dict(zip(FIELDS, parts)))
    return rows


def agrees(theirs, ours):
    return theirs == ours or theirs == "<NA>"


def main():
    sysdig, syscap, name = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
    key = lambda r: (r["type"], r["tid"])
    matcher = difflib.SequenceMatcher(
        None, [key(r) for r in sysdig], [key(r) for r in syscap], autojunk=False)
    pairs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += zip(sysdig[i1:i2], syscap[j1:j2])
    cells = [name, str(len(sysdig)), str(len(syscap)), str(len(pairs))]
    for fields in GROUPS.values():
        ok = sum(all(agrees(a[f], b[f]) for f in fields) for a, b in pairs)
        cells.append(f"{ok}/{len(pairs)}" if pairs else "-")
    print("| " + " | ".join(cells) + " |")


main()
