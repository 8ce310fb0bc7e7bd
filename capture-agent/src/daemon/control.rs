//! The control socket: `syscap-agent trigger` and `status` talk to the
//! running agent over a unix socket that only root can open (mode 0600,
//! owned by root). One JSON request per connection, one JSON answer.

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A request.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start a capture of `rule` now.
    Trigger {
        /// The rule.
        rule: String,
        /// Milliseconds of history, instead of the rule's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_ms: Option<u64>,
        /// Milliseconds after, instead of the rule's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_ms: Option<u64>,
        /// A filter the capture keeps to, with the rule's own (both must
        /// match).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<String>,
    },
    /// What the agent is doing.
    Status,
}

/// An answer.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Answer {
    /// False when the request was refused.
    pub ok: bool,
    /// What happened, in words.
    pub message: String,
    /// Figures (status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// Binds the socket at `path`, mode 0600 (only root can connect): a stale
/// one is replaced; a missing directory is created 0700, an existing one
/// keeps its mode (it may be `/run` or `/tmp`).
pub fn bind(path: &Path) -> io::Result<tokio::net::UnixListener> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Sends `request` to the agent listening on `path` (client side).
pub fn ask(path: &Path, request: &Request) -> io::Result<Answer> {
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach the agent at {}: {e} (is `syscap-agent run` running, and are you root?)",
                path.display()
            ),
        )
    })?;
    let timeout = std::time::Duration::from_secs(30);
    stream.set_read_timeout(Some(timeout))?;
    let mut line = serde_json::to_string(request).map_err(io::Error::other)?;
    line.push('\n');
    (&stream).write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the agent at {} did not answer within {} s",
                    path.display(),
                    timeout.as_secs()
                ),
            ),
            _ => e,
        })?;
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the agent answered something else: {e}"),
        )
    })
}

/// `n` bytes for people: `512 B`, `3.4 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// ns since the epoch as an RFC 3339 UTC time to the millisecond.
fn time(ns: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map_or_else(|_| ns.to_string(), |t| format!("{t:.3}"))
}

/// What `syscap-agent status` prints: the agent's status (the JSON the
/// agent answers, which `--json` prints as is) one fact a line, with units.
/// What the agent names (host, rules) is escaped.
pub fn status_text(status: &serde_json::Value) -> String {
    use capture_format::escape::escaped;
    use std::fmt::Write as _;
    let n = |key: &str| status[key].as_u64().unwrap_or(0);
    let text = |v: &serde_json::Value| escaped(v.as_str().unwrap_or("")).to_string();
    let ring = &status["ring"];
    let mut out = String::new();
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "{name:<18} {value}");
    };
    row("host", text(&status["host"]));
    row("storage", text(&status["storage"]));
    row("events", n("events").to_string());
    row("kernel drops", n("kernel_drops").to_string());
    row(
        "ring",
        format!(
            "{} chunks, {}, {:.1} s",
            ring["chunks"].as_u64().unwrap_or(0),
            human_bytes(ring["bytes"].as_u64().unwrap_or(0)),
            ring["seconds"].as_f64().unwrap_or(0.0)
        ),
    );
    let running = status["captures_running"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if running.is_empty() {
        row("captures running", "none".to_owned());
    }
    for capture in running {
        let at = |key: &str| capture[key].as_u64().unwrap_or(0);
        row(
            "capture running",
            format!(
                "{} from {} to {} ({:.1} s)",
                text(&capture["rule"]),
                time(at("start")),
                time(at("end")),
                at("end").saturating_sub(at("start")) as f64 / 1e9
            ),
        );
    }
    row("captures finished", n("captures_finished").to_string());
    row("captures lost", n("captures_lost").to_string());
    row(
        "uploads",
        format!(
            "{} done, {} pending",
            n("uploads_done"),
            n("uploads_pending")
        ),
    );
    row(
        "spool",
        format!(
            "{}, {} captures dropped",
            human_bytes(n("spool_bytes")),
            n("spool_dropped")
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_with_units() {
        let status = serde_json::json!({
            "host": "web-1\u{1b}[2J",
            "storage": "s3://caps/prod",
            "events": 1_234_567,
            "kernel_drops": 0,
            "ring": {"chunks": 12, "bytes": 3_565_158, "seconds": 29.84},
            "captures_running": [
                {"rule": "by-hand", "start": 1_796_688_000_500_000_000_u64, "end": 1_796_688_003_500_000_000_u64}
            ],
            "captures_finished": 3,
            "uploads_pending": 1,
            "uploads_done": 2,
            "spool_bytes": 1_258_291,
            "spool_dropped": 0,
            "captures_lost": 0,
        });
        let want = "\
host               web-1\\x1b[2J
storage            s3://caps/prod
events             1234567
kernel drops       0
ring               12 chunks, 3.4 MiB, 29.8 s
capture running    by-hand from 2026-12-08T00:00:00.500Z to 2026-12-08T00:00:03.500Z (3.0 s)
captures finished  3
captures lost      0
uploads            2 done, 1 pending
spool              1.2 MiB, 0 captures dropped
";
        assert_eq!(status_text(&status), want);
        let idle = status_text(&serde_json::json!({"captures_running": []}));
        assert!(idle.contains("\ncaptures running   none\n"), "{idle}");
        // (bytes, text)
        for (n, text) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 << 30, "5.0 GiB"),
        ] {
            assert_eq!(human_bytes(n), text);
        }
    }
}
