//! `--since` / `--until`: absolute times or offsets from the capture start.

/// A time the user gave that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "{text:?} is not a time: use an RFC 3339 time (2026-11-25T20:33:48Z), or an offset from the capture start (+2s, +1.5m)"
)]
pub struct TimeError {
    text: String,
}

/// Parses `text` into ns since the epoch: `+DURATION` from `start`, or an
/// RFC 3339 timestamp.
pub fn parse_time(text: &str, start: u64) -> Result<u64, TimeError> {
    let err = || TimeError {
        text: text.to_owned(),
    };
    if let Some(offset) = text.strip_prefix('+') {
        let ns = triggers::filter::parse_quantity(offset, triggers::filter::Kind::Duration)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(err)?;
        return Ok(start.saturating_add(ns));
    }
    let ts: jiff::Timestamp = text.parse().map_err(|_| err())?;
    u64::try_from(ts.as_nanosecond()).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_absolute_times() {
        let start = 1_700_000_000_000_000_000;
        let cases: &[(&str, Option<u64>)] = &[
            ("+2s", Some(start + 2_000_000_000)),
            ("+1.5m", Some(start + 90_000_000_000)),
            ("+250ms", Some(start + 250_000_000)),
            ("2023-11-14T22:13:20Z", Some(1_700_000_000_000_000_000)),
            (
                "2023-11-14T22:13:20.5+00:00",
                Some(1_700_000_000_500_000_000),
            ),
            ("yesterday", None),
            ("+2 parsecs", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_time(text, start).ok(), *expected, "{text}");
        }
    }
}
