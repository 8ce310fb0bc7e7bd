//! `ListObjectsV2` with `encoding-type=url`, as S3 answers it: s3s-fs echoes
//! the encoding type and sends the keys as they are, which XML 1.0 cannot
//! carry when they hold control characters (ESC, CR) and which a client
//! then decodes wrongly (`+`, `%`). S3 percent-encodes the keys, prefixes
//! and markers of such a listing, a space as `+`.

use std::fmt::Write as _;

use s3s::dto::{EncodingType, ListObjectsV2Output};

/// Encodes what S3 encodes in `output` when the request asked for it.
pub fn encode(output: &mut ListObjectsV2Output, asked: Option<&EncodingType>) {
    if asked.map(EncodingType::as_str) != Some(EncodingType::URL) {
        return;
    }
    output.encoding_type = Some(EncodingType::from_static(EncodingType::URL));
    let encode_field = |field: &mut Option<String>| {
        if let Some(text) = field {
            *text = url_encode(text);
        }
    };
    encode_field(&mut output.prefix);
    encode_field(&mut output.delimiter);
    encode_field(&mut output.start_after);
    for object in output.contents.iter_mut().flatten() {
        encode_field(&mut object.key);
    }
    for prefix in output.common_prefixes.iter_mut().flatten() {
        encode_field(&mut prefix.prefix);
    }
}

/// Form encoding: letters, digits, `-_.~/` as they are, a space as `+`,
/// every other byte as `%XX`.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_encoded() {
        for (key, encoded) in [
            ("prod/h1/a.syscap", "prod/h1/a.syscap"),
            ("a b+c%", "a+b%2Bc%25"),
            ("\x1b[2J\r\n", "%1B%5B2J%0D%0A"),
            ("è", "%C3%A8"),
        ] {
            assert_eq!(url_encode(key), encoded, "{key:?}");
        }
    }
}
