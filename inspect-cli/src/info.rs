//! `syscap info`: what a capture holds, from its header and footer index
//! alone.

use std::io::Write;
use std::path::Path;

use capture_format::escape::escaped;
use inspect_cli::scan::{ImportReport, Input};
use serde::Serialize;

/// Syscalls and processes listed.
const TOP: usize = 10;

#[derive(Serialize)]
struct Info {
    file: String,
    bytes: u64,
    producer: String,
    host: String,
    kernel: String,
    capture_id: String,
    trigger: Option<Trigger>,
    filter: String,
    snaplen: u32,
    tags: std::collections::BTreeMap<String, String>,
    /// `None`: the capture holds no event sysdig would show.
    start: Option<String>,
    end: Option<String>,
    duration_s: f64,
    events: u64,
    drops: u64,
    chunks: usize,
    truncated: Option<String>,
    top_syscalls: Vec<(String, u64)>,
    top_processes: Vec<Process>,
}

#[derive(Serialize)]
struct Trigger {
    rule: String,
    time: String,
    reason: String,
}

#[derive(Serialize)]
struct Process {
    name: String,
    pid: i64,
    events: u64,
}

/// Formats ns since the epoch as an RFC 3339 UTC time with ns.
pub fn format_ts(ns: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map_or_else(|_| ns.to_string(), |t| format!("{t:.9}"))
}

/// Whether the capture has a span: an event sysdig shows, with a time.
/// sysdig hides the library's internal events (the driver's `procinfo`
/// samples, drop notices) and the container descriptions a `.scap` starts
/// with (the import stamps those with the time of the events after them,
/// 0 when there are none), so a capture of only those starts nowhere, not
/// in 1970.
fn spans_time(index: &capture_format::file::Index) -> bool {
    use capture_format::event::EventType;
    let hidden = |t: EventType| matches!(t, EventType::PROC_INFO | EventType::DROP);
    index.ts_min > 0 && index.types.iter().any(|&(t, n)| n > 0 && !hidden(t))
}

pub fn run(path: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    // A .scap file is imported first: its figures are those of the records.
    let input = Input::open(path)?;
    let bytes = match std::fs::metadata(inspect_cli::scan::local_path(path)) {
        Ok(m) => m.len(),
        Err(_) => capture_format::file::ByteSource::size(input.reader.source()).unwrap_or(0),
    };
    for line in input.imported.iter().flat_map(ImportReport::warnings) {
        crate::warn(path, &line);
    }
    let reader = &input.reader;
    let h = reader.header();
    let index = reader.index();
    // A capture's window (agent captures) is its span; otherwise its
    // events', when sysdig would show any.
    let shown = index.window.is_some() || spans_time(index);
    let (first, last) = index.span();
    let info = Info {
        file: path.display().to_string(),
        bytes,
        producer: h.producer.clone(),
        host: h.hostname.clone(),
        kernel: h.kernel_release.clone(),
        capture_id: h.capture_id.clone(),
        trigger: h.trigger.as_ref().map(|t| Trigger {
            rule: t.rule.clone(),
            time: format_ts(t.ts),
            reason: t.reason.clone(),
        }),
        filter: h.filter.clone(),
        snaplen: h.snaplen,
        tags: h.tags.iter().cloned().collect(),
        start: shown.then(|| format_ts(first)),
        end: shown.then(|| format_ts(last)),
        duration_s: if shown {
            last.saturating_sub(first) as f64 / 1e9
        } else {
            0.0
        },
        events: index.events,
        drops: index.drops,
        chunks: index.chunks.len(),
        truncated: reader.truncation().map(ToString::to_string),
        top_syscalls: index
            .types
            .iter()
            .take(TOP)
            .map(|&(t, n)| (t.name().to_string(), n))
            .collect(),
        top_processes: index
            .processes
            .iter()
            .take(TOP)
            .map(|p| Process {
                name: String::from_utf8_lossy(index.comm(p.comm)).into_owned(),
                pid: p.pid,
                events: p.events,
            })
            .collect(),
    };
    if let Some(t) = reader.truncation() {
        crate::warn(path, &t);
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &info)?;
        writeln!(out)?;
        return Ok(());
    }
    write_table(&info, out)
}

/// The facts as a table; what the capture names (host, rule, tags,
/// processes) escaped (see [`capture_format::escape`]).
fn write_table(i: &Info, out: &mut impl Write) -> anyhow::Result<()> {
    let row = |out: &mut dyn Write, k: &str, v: &dyn std::fmt::Display| {
        writeln!(out, "{k:<12} {}", escaped(&v.to_string()))
    };
    row(
        out,
        "file",
        &format_args!("{} ({})", i.file, inspect_cli::units::human_bytes(i.bytes)),
    )?;
    row(out, "producer", &i.producer)?;
    row(out, "host", &i.host)?;
    if !i.kernel.is_empty() {
        row(out, "kernel", &i.kernel)?;
    }
    row(out, "capture id", &i.capture_id)?;
    if let Some(t) = &i.trigger {
        row(
            out,
            "trigger",
            &format_args!("{} at {} ({})", t.rule, t.time, t.reason),
        )?;
    }
    if !i.filter.is_empty() {
        row(out, "filter", &i.filter)?;
    }
    row(out, "snaplen", &i.snaplen)?;
    if !i.tags.is_empty() {
        let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        row(out, "tags", &tags.join(", "))?;
    }
    let none = "none (no event sysdig shows)";
    row(out, "start", &i.start.as_deref().unwrap_or(none))?;
    row(out, "end", &i.end.as_deref().unwrap_or(none))?;
    row(out, "duration", &format_args!("{:.3} s", i.duration_s))?;
    row(out, "events", &i.events)?;
    row(out, "drops", &i.drops)?;
    row(out, "chunks", &i.chunks)?;
    if let Some(t) = &i.truncated {
        row(out, "truncated", t)?;
    }
    writeln!(out, "\ntop system calls")?;
    for (name, n) in &i.top_syscalls {
        writeln!(out, "  {:<20} {n:>12}", escaped(name))?;
    }
    writeln!(out, "\ntop processes")?;
    for p in &i.top_processes {
        writeln!(
            out,
            "  {:<20} {:>8} {:>12}",
            escaped(&p.name),
            p.pid,
            p.events
        )?;
    }
    Ok(())
}
