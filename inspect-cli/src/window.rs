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

/// A `syscap ls --since` that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "{text:?} is not a time: use a duration ago (30m, 1h, 2d), a clock time today (19:45, 19:45:33 in the local time zone, 19:45:33Z in UTC) or an RFC 3339 time (2026-11-25T20:33:48Z)"
)]
pub struct SinceError {
    text: String,
}

/// Parses `syscap ls --since` into ns since the epoch, relative to `now`:
/// a duration that long before `now` (`30m`, `1h`, `1.5h`, `2d`), a clock
/// time of `now`'s date (`19:45`, `19:45:33`, in `now`'s time zone, or
/// UTC with a `Z`: `19:45:33Z`), or an RFC 3339 time.
pub fn parse_since(text: &str, now: &jiff::Zoned) -> Result<u64, SinceError> {
    let err = || SinceError {
        text: text.to_owned(),
    };
    let t = text.trim();
    let ns = |ts: jiff::Timestamp| u64::try_from(ts.as_nanosecond()).map_err(|_| err());
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return ns(ts);
    }
    if let Some(clock) = clock_time(t) {
        let (hms, zone) = match clock {
            (hms, true) => (hms, jiff::tz::TimeZone::UTC),
            (hms, false) => (hms, now.time_zone().clone()),
        };
        let today = now.with_time_zone(zone.clone()).date();
        let (h, m, s) = hms;
        let at = today.at(h, m, s, 0).to_zoned(zone).map_err(|_| err())?;
        return ns(at.timestamp());
    }
    // A duration ago; days too, which filters do not take.
    let ago = match t.strip_suffix('d') {
        Some(days) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => days
            .parse::<i128>()
            .ok()
            .and_then(|d| d.checked_mul(86_400_000_000_000)),
        _ if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') => None, // no unit
        _ => triggers::filter::parse_quantity(t, triggers::filter::Kind::Duration),
    }
    .filter(|&n| n >= 0)
    .ok_or_else(err)?;
    let now_ns = now.timestamp().as_nanosecond();
    u64::try_from(now_ns.saturating_sub(ago).max(0)).map_err(|_| err())
}

/// `HH:MM` or `HH:MM:SS`, and whether it ends in `Z` (UTC).
fn clock_time(text: &str) -> Option<((i8, i8, i8), bool)> {
    let (text, utc) = match text.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (text, false),
    };
    let mut parts = text.split(':');
    let mut next = |max: i8| -> Option<i8> {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<i8>().ok().filter(|&v| v <= max)
    };
    let h = next(23)?;
    let m = next(59)?;
    let s = match parts.next() {
        None => 0,
        Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<i8>().ok().filter(|&v| v <= 59)?
        }
        Some(_) => return None,
    };
    parts.next().is_none().then_some(((h, m, s), utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_ago_clock_times_and_rfc3339() {
        // 2026-12-07 20:00:00 in UTC+01:00 (19:00:00Z).
        let now: jiff::Zoned = "2026-12-07T20:00:00+01:00[+01:00]".parse().unwrap();
        let at = |text: &str| -> u64 {
            let ts: jiff::Timestamp = text.parse().unwrap();
            u64::try_from(ts.as_nanosecond()).unwrap()
        };
        let cases: &[(&str, Option<u64>)] = &[
            ("1h", Some(at("2026-12-07T18:00:00Z"))),
            ("30m", Some(at("2026-12-07T18:30:00Z"))),
            ("1.5h", Some(at("2026-12-07T17:30:00Z"))),
            ("2d", Some(at("2026-12-05T19:00:00Z"))),
            ("90s", Some(at("2026-12-07T18:58:30Z"))),
            // Today's date in the local zone (+01:00), or in UTC.
            ("19:45:33", Some(at("2026-12-07T18:45:33Z"))),
            ("19:45", Some(at("2026-12-07T18:45:00Z"))),
            ("19:45:33Z", Some(at("2026-12-07T19:45:33Z"))),
            ("2026-11-25T20:33:48Z", Some(at("2026-11-25T20:33:48Z"))),
            ("25:00", None),
            ("19:60", None),
            ("9:45", None),
            ("19:45:33:01", None),
            ("3600", None),
            ("-1h", None),
            ("yesterday", None),
            ("1y", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_since(text, &now).ok(), *want, "{text}");
        }
    }

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
