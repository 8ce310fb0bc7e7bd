//! Names shown to people. What a capture or a storage server names (file
//! names, arguments, process, container and pod names, S3 keys and their
//! metadata) is chosen by whoever ran the programs or wrote the objects: an
//! escape sequence in it would drive the reader's terminal, a carriage
//! return or a newline would forge or hide lines. Text output writes such
//! characters as visible escapes instead, so the name stays unambiguous:
//!
//! - `\t`, `\n`, `\r`, and `\xNN` for the other ASCII control characters
//!   (`\x1b` for ESC, `\x7f` for DEL) and for bytes that are not UTF-8;
//! - `\u{NN}` for the C1 control characters (U+0080 to U+009F, which some
//!   terminals obey as ESC sequences) and for the characters that reorder
//!   or break the text around them (the bidirectional controls, U+2028 and
//!   U+2029).
//!
//! Everything else, including other UTF-8 text and a plain backslash, is
//! shown as it is, as sysdig shows names. JSON output needs none of this:
//! its own escaping is exact.

use std::borrow::Cow;

/// Printable ASCII (0x20 to 0x7e) minus 0x20 is 0 to 0x5e; control
/// characters wrap above 0xdf, DEL and the bytes of multi-byte characters
/// land at 0x5f and above.
const FIRST_SPECIAL: u8 = 0x5f;

/// True when `text` is all printable ASCII and shows as it is: the common
/// case. The largest shifted byte decides. It is folded 16 bytes at a time
/// in one vector register (the last block overlapping the one before, so
/// there is no byte-by-byte tail), about 100 instructions for a 190-byte
/// line; 8 to 15 bytes are two overlapping words. The print path pays
/// little for the check.
#[inline]
pub fn is_plain(text: &[u8]) -> bool {
    const BLOCK: usize = 16;
    let shifted_max = |bytes: &[u8]| {
        bytes
            .iter()
            .fold(0u8, |max, &b| max.max(b.wrapping_sub(0x20)))
    };
    let Some(last) = text.len().checked_sub(BLOCK) else {
        // Short names (a comm is at most 15 bytes): two overlapping words.
        if let (Some(first), Some(end)) = (text.first_chunk::<8>(), text.last_chunk::<8>()) {
            return word_is_plain(u64::from_le_bytes(*first))
                && word_is_plain(u64::from_le_bytes(*end));
        }
        return shifted_max(text) < FIRST_SPECIAL;
    };
    let mut lanes = [0u8; BLOCK];
    let mut fold = |block: &[u8]| {
        for (lane, &b) in lanes.iter_mut().zip(block) {
            *lane = (*lane).max(b.wrapping_sub(0x20));
        }
    };
    text.chunks_exact(BLOCK).for_each(&mut fold);
    fold(&text[last..]);
    lanes.into_iter().max().unwrap_or(0) < FIRST_SPECIAL
}

/// True when the 8 bytes of `word` are all printable ASCII: none with its
/// high bit set (0x80 and above), none below 0x20, none equal to 0x7f (the
/// classic word tests for a byte less than n and for a zero byte, exact
/// when asking whether there is one).
#[inline]
fn word_is_plain(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let del = word ^ (ONES * 0x7f);
    let is_del = del.wrapping_sub(ONES) & !del;
    (word | below_space | is_del) & HIGH == 0
}

/// Appends `text` to `out` with the characters above escaped.
#[inline]
pub fn escape_into(text: &[u8], out: &mut Vec<u8>) {
    if is_plain(text) {
        out.extend_from_slice(text);
    } else {
        escape_slow(text, out);
    }
}

/// `text` as it is shown: borrowed when nothing needs escaping.
pub fn escaped<T: AsRef<[u8]> + ?Sized>(text: &T) -> Cow<'_, str> {
    let bytes = text.as_ref();
    if is_plain(bytes)
        && let Ok(plain) = std::str::from_utf8(bytes)
    {
        return Cow::Borrowed(plain);
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    escape_slow(bytes, &mut out);
    // Every byte written is ASCII or a whole character of the input.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// Characters that are valid UTF-8 and still not shown as they are.
fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}'
            | '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

fn push_hex_byte(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]);
}

fn escape_slow(text: &[u8], out: &mut Vec<u8>) {
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                // ASCII: the match says it fits a byte.
                '\0'..='\x1f' | '\x7f' => push_hex_byte(c as u8, out),
                c if is_hidden(c) => {
                    out.extend_from_slice(format!("\\u{{{:x}}}", u32::from(c)).as_bytes());
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        for &b in chunk.invalid() {
            push_hex_byte(b, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        let cases: &[(&[u8], &str)] = &[
            (b"/etc/passwd", "/etc/passwd"),
            (b"", ""),
            (b"a b~", "a b~"),
            (b"\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
            (b"evil\rgood", "evil\\rgood"),
            (b"one\ntwo\tthree", "one\\ntwo\\tthree"),
            (b"\0\x7f", "\\x00\\x7f"),
            (b"back\\slash", "back\\slash"),
            ("règle 東京".as_bytes(), "règle 東京"),
            ("\u{9b}31m".as_bytes(), "\\u{9b}31m"),
            ("abc\u{202e}gpj.exe".as_bytes(), "abc\\u{202e}gpj.exe"),
            ("line\u{2028}sep".as_bytes(), "line\\u{2028}sep"),
            (b"\xff\xfe ok \xc3", "\\xff\\xfe ok \\xc3"),
            // Long enough for the 16-byte blocks, the special byte in
            // the second block and in the overlapping last one.
            (
                b"0123456789abcdef0123\x1b456789abcdef",
                "0123456789abcdef0123\\x1b456789abcdef",
            ),
            (
                b"0123456789abcdef0123456789abcdef\n",
                "0123456789abcdef0123456789abcdef\\n",
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(escaped(text), want, "{text:?}");
            let mut out = b"> ".to_vec();
            escape_into(text, &mut out);
            assert_eq!(out, [b"> ", want.as_bytes()].concat(), "{text:?}");
            assert_eq!(
                is_plain(text),
                text.iter().all(|b| (0x20..0x7f).contains(b)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn printable_ascii_of_any_length_is_plain() {
        // Short (one or two words), one block, blocks and an overlap.
        let printable: Vec<u8> = (0x20..0x4a).collect();
        for len in 0..printable.len() {
            for text in [&printable[..len], &printable[printable.len() - len..]] {
                assert!(is_plain(text), "{:?}", String::from_utf8_lossy(text));
                let mut odd = text.to_vec();
                for at in 0..len {
                    for special in (0..=u8::MAX).filter(|b| !(0x20..0x7f).contains(b)) {
                        let was = std::mem::replace(&mut odd[at], special);
                        assert!(!is_plain(&odd), "{special:#x} at {at} of {len}");
                        odd[at] = was;
                    }
                }
            }
        }
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escaped("web-01"), Cow::Borrowed("web-01")));
        assert!(matches!(escaped("é"), Cow::Owned(_)));
    }

    #[test]
    fn every_byte_is_either_plain_or_escaped() {
        for b in 0..=u8::MAX {
            let byte = [b];
            let shown = escaped(&byte);
            let printable = (0x20..0x7f).contains(&b);
            assert_eq!(shown.len() == 1, printable, "{b:#x}: {shown}");
            assert!(
                shown.chars().all(|c| !c.is_control()),
                "{b:#x} shows as {shown:?}"
            );
        }
    }
}
