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
    start: String,
    end: String,
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
        start: format_ts(index.span().0),
        end: format_ts(index.span().1),
        duration_s: index.span().1.saturating_sub(index.span().0) as f64 / 1e9,
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
    row(out, "start", &i.start)?;
    row(out, "end", &i.end)?;
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
