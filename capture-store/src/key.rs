//! The key layout: `PREFIX/HOST/YYYY/MM/DD/TIMESTAMP_RULE_ID.syscap`, where
//! TIMESTAMP is the trigger time in UTC (`20261125T231205Z`), so that keys
//! sort by host then time and a prefix selects a host and a day.

use std::path::{Component, Path, PathBuf};

/// What a key and its metadata say about a capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureFacts {
    /// Host name.
    pub host: String,
    /// Rule that fired.
    pub rule: String,
    /// Capture id.
    pub id: String,
    /// Trigger time, ns since the epoch.
    pub trigger_ts: u64,
}

/// Keeps `[A-Za-z0-9._-]`, replacing anything else by `-`, so that a host or
/// rule name is one key component.
fn component(s: &str) -> String {
    let c: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if c.is_empty() || c.chars().all(|c| c == '.') {
        "-".to_owned()
    } else {
        c
    }
}

/// The key of a capture under `prefix`.
pub fn capture_key(prefix: &str, facts: &CaptureFacts) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(facts.trigger_ts)).unwrap_or_default();
    let day = ts.strftime("%Y/%m/%d");
    let stamp = ts.strftime("%Y%m%dT%H%M%SZ");
    let name = format!(
        "{}/{day}/{stamp}_{}_{}.syscap",
        component(&facts.host),
        component(&facts.rule),
        component(&facts.id)
    );
    if prefix.is_empty() {
        name
    } else {
        format!("{}/{name}", prefix.trim_matches('/'))
    }
}

/// The (timestamp, rule, id) of a key's file name, when it follows the
/// layout.
pub fn parse_key_name(key: &str) -> Option<(String, String, String)> {
    let name = key.rsplit('/').next()?.strip_suffix(".syscap")?;
    let (stamp, rest) = name.split_once('_')?;
    let (rule, id) = rest.rsplit_once('_')?;
    Some((stamp.to_owned(), rule.to_owned(), id.to_owned()))
}

/// Where `key` is written under `dir`: its components, with `..`, `.`,
/// empty and absolute parts dropped, so no key can write outside `dir`.
pub fn safe_local_path(dir: &Path, key: &str) -> PathBuf {
    let mut path = dir.to_owned();
    let mut any = false;
    for part in key.split('/') {
        let part = Path::new(part);
        if let [Component::Normal(name)] = part.components().collect::<Vec<_>>()[..] {
            path.push(name);
            any = true;
        }
    }
    if !any {
        path.push("capture.syscap");
    }
    path
}

/// `text` as an object metadata value, which S3 takes in printable ASCII
/// only: other bytes, and `%`, percent-encoded.
pub fn metadata_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("%{b:02X}"));
        }
    }
    out
}

/// The text of a metadata value written by [`metadata_value`] (anything
/// else is taken as it is).
pub fn metadata_text(value: &str) -> String {
    String::from_utf8_lossy(&percent_decode(value, false)).into_owned()
}

/// A key as `ListObjectsV2` sends it when asked for `encoding-type=url` (XML
/// 1.0 cannot carry control characters, so S3 percent-encodes the keys, a
/// space as `+`); `None` when the decoded bytes are not UTF-8, which no S3
/// key is.
pub(crate) fn listed_key(encoded: &str) -> Option<String> {
    String::from_utf8(percent_decode(encoded, true)).ok()
}

/// `%XX` decoded (a `%` not followed by two hex digits is kept), and `+`
/// as a space when `plus_is_space`.
fn percent_decode(value: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_host_and_time_and_parse_back() {
        let facts = CaptureFacts {
            host: "web-1.eu".into(),
            rule: "shell in web/server".into(),
            id: "a1b2".into(),
            trigger_ts: 1_764_112_325_000_000_000,
        };
        let key = capture_key("prod/", &facts);
        assert_eq!(
            key,
            "prod/web-1.eu/2025/11/25/20251125T231205Z_shell-in-web-server_a1b2.syscap"
        );
        assert_eq!(
            parse_key_name(&key),
            Some((
                "20251125T231205Z".into(),
                "shell-in-web-server".into(),
                "a1b2".into()
            ))
        );
        assert!(capture_key("", &facts).starts_with("web-1.eu/"));
        let odd = CaptureFacts {
            host: "..".into(),
            ..facts
        };
        assert!(
            capture_key("", &odd).starts_with("-/"),
            "{}",
            capture_key("", &odd)
        );
    }

    #[test]
    fn keys_cannot_escape_the_download_directory() {
        let dir = Path::new("/tmp/dl");
        let cases = [
            ("a/b/c.syscap", "/tmp/dl/a/b/c.syscap"),
            ("../../etc/passwd", "/tmp/dl/etc/passwd"),
            ("/abs/x.syscap", "/tmp/dl/abs/x.syscap"),
            ("a/./../b//c", "/tmp/dl/a/b/c"),
            ("..", "/tmp/dl/capture.syscap"),
        ];
        for (key, want) in cases {
            assert_eq!(safe_local_path(dir, key), Path::new(want), "{key}");
        }
    }

    #[test]
    fn metadata_values_are_printable_ascii_and_read_back() {
        for (text, value) in [
            ("web-01", "web-01"),
            ("règle", "r%C3%A8gle"),
            ("50%", "50%25"),
            ("a\nb", "a%0Ab"),
        ] {
            assert_eq!(metadata_value(text), value, "{text:?}");
            assert_eq!(metadata_text(value), text, "{value:?}");
        }
        assert_eq!(metadata_text("100%"), "100%", "not ours: kept");
        assert_eq!(metadata_text("%zz%4"), "%zz%4");
        assert_eq!(metadata_text("a+b"), "a+b", "metadata is not form-encoded");
    }

    #[test]
    fn listed_keys_are_url_decoded() {
        for (encoded, key) in [
            ("prod/h1/a.syscap", Some("prod/h1/a.syscap")),
            ("prod/a+b%2Bc%25", Some("prod/a b+c%")),
            ("prod/a%20b", Some("prod/a b")),
            (
                "x/%1B%5B2J%0D%0AFAKE.syscap",
                Some("x/\x1b[2J\r\nFAKE.syscap"),
            ),
            ("r%C3%A8gle", Some("règle")),
            ("%FF", None),
        ] {
            assert_eq!(listed_key(encoded).as_deref(), key, "{encoded}");
        }
    }
}
