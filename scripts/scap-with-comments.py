#!/usr/bin/env python3
"""Writes the pcapng-commented copy of a .scap capture that Wireshark's
editcap makes: a file-level comment and an `shb_userappl` option in the
section header, and a comment option on three event blocks.

sysdig 0.29.3 cannot open such a file (its reader predates block options);
a good reader skips the options and reads the same events. The test suite
and the conformance check use the copy of libs' curl_google.scap this
script writes (what libs' own curl_google_comments.scap holds, made here
from the capture Debian's falcosecurity-libs source ships).

usage: scap-with-comments.py IN.scap OUT.scap   (IN raw or gzip'd; OUT raw)
"""
import gzip
import struct
import sys

SHB = 0x0A0D0D0A
OPT_COMMENT = 1
OPT_SHB_USERAPPL = 4
# Event blocks (by position in the file) that get a comment, as editcap's
# copy of curl_google has them.
COMMENTED = {
    59: b"Internal block comment",
    269: b"Visible block comment, no padding",
    271: b"Visible block comment, padding",
}


def option(code, value):
    pad = b"\0" * (-len(value) % 4)
    return struct.pack("<HH", code, len(value)) + value + pad


def end_of_options():
    return struct.pack("<HH", 0, 0)


def with_options(block, options):
    """The block with `options` (and an end marker) before its trailer."""
    body = block[8:-4] + b"".join(options) + end_of_options()
    total = 8 + len(body) + 4
    return struct.pack("<II", struct.unpack_from("<I", block)[0], total) + body + struct.pack("<I", total)


def main():
    src, dst = sys.argv[1:3]
    with open(src, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    out = []
    pos = 0
    index = 0
    while pos < len(data):
        kind, length = struct.unpack_from("<II", data, pos)
        if length < 12 or pos + length > len(data):
            sys.exit(f"{src}: bad block at byte {pos}")
        block = data[pos:pos + length]
        if kind == SHB:
            block = with_options(block, [
                option(OPT_COMMENT, b"File-level comment"),
                option(OPT_SHB_USERAPPL, b"Editcap (Wireshark) 4.5.0 (v4.5.0rc0-1982-g9ef0fb979bd6)"),
            ])
        elif index in COMMENTED:
            block = with_options(block, [option(OPT_COMMENT, COMMENTED[index])])
        out.append(block)
        pos += length
        index += 1
    with open(dst, "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    main()
