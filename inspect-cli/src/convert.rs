//! `syscap convert IN OUT`: any capture (syscap, `.scap`, `.scap.gz`) to
//! the output OUT's name asks for: a syscap capture, a sysdig `.scap` file
//! (gzip'd for `.scap.gz`), or JSON lines. Files are written under a
//! temporary name, private to their owner (captures are secrets), and take
//! OUT's name only once whole.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use capture_format::escape::escaped;
use capture_format::event::{Arg, EventType, Record};
use capture_format::file::{CaptureHeader, Projection, ThreadView, Writer, WriterOptions};
use capture_format::state::{Snapshot, Tracker};
use inspect_cli::print::{Format, Printer};
use inspect_cli::scan;

use crate::stream::{Stream, StreamArgs};

/// What OUT's name asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Output {
    /// A syscap capture (`.syscap`).
    Syscap,
    /// A sysdig capture (`.scap`, or gzip'd `.scap.gz`).
    Scap {
        /// gzip'd.
        gzip: bool,
    },
    /// JSON lines (`.jsonl`, `.json`).
    Json,
    /// JSON lines on standard output (`-`).
    Stdout,
}

/// The outputs, as `convert` names them in its errors.
const ACCEPTED: &str = ".syscap, .scap, .scap.gz, .jsonl, .json, or - for standard output";

impl Output {
    /// The output `path`'s name asks for.
    pub fn of(path: &Path) -> anyhow::Result<Self> {
        if path == Path::new("-") {
            return Ok(Self::Stdout);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".scap.gz") {
            return Ok(Self::Scap { gzip: true });
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("syscap") => Ok(Self::Syscap),
            Some("scap") => Ok(Self::Scap { gzip: false }),
            Some("jsonl" | "json") => Ok(Self::Json),
            Some(other) => anyhow::bail!(
                "{}: unknown output type .{other} (accepted: {ACCEPTED})",
                path.display()
            ),
            None => anyhow::bail!(
                "{}: no extension to tell the output type by (accepted: {ACCEPTED})",
                path.display()
            ),
        }
    }
}

/// `syscap convert INPUT OUTPUT`.
pub fn run(input: &Path, output: &Path, stdout: &mut impl Write) -> anyhow::Result<()> {
    match Output::of(output)? {
        Output::Stdout => json(input, stdout),
        Output::Json => {
            write_private(output, |file| {
                let mut file = BufWriter::new(file);
                json(input, &mut file)?;
                finish(file)
            })?;
            Ok(())
        }
        Output::Syscap => to_syscap(input, output, stdout),
        Output::Scap { gzip } => to_scap(input, output, gzip, stdout),
    }
}

/// Every event as a JSON line.
fn json(input: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let stream = StreamArgs::files(input).open_streaming(None)?;
    let mut printer = Printer::new(Format::Json(None), stream.env.clone());
    stream.for_each_event(Projection::ALL, |e| {
        printer.print(e, out)?;
        Ok(true)
    })
}

/// Writes `path` through `write` as a new file only its owner reads,
/// under a temporary name renamed to `path` once written: a failed write
/// leaves no half file and does not touch one already there.
fn write_private<T>(
    path: &Path,
    write: impl FnOnce(File) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp: PathBuf = path.with_file_name(format!(".{name}.{}.part", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let result = write(file).and_then(|v| {
        std::fs::rename(&temp, path)
            .with_context(|| format!("cannot write {}", path.display()))
            .map(|()| v)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A path as people read it: its control characters escaped.
fn shown(path: &Path) -> std::borrow::Cow<'_, str> {
    escaped(path.as_os_str().as_bytes())
}

/// Flushes a buffered file to the disk.
fn finish(file: BufWriter<File>) -> anyhow::Result<()> {
    file.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok(())
}

/// `input` opened to be read once, its header and its starting state.
fn opened(input: &Path) -> anyhow::Result<(Stream, CaptureHeader, Snapshot)> {
    let stream = StreamArgs::files(input).open_streaming(None)?;
    let first = &stream.inputs[0];
    let snapshot = first
        .reader
        .snapshot(0)
        .with_context(|| input.display().to_string())?
        .unwrap_or_default();
    let header = first.reader.header().clone();
    Ok((stream, header, snapshot))
}

/// A syscap capture: a `.scap` file imported whole, a syscap capture
/// written anew (a cut one comes out whole).
fn to_syscap(input: &Path, output: &Path, stdout: &mut impl Write) -> anyhow::Result<()> {
    let (file, scap) = scan::open_local(input)?;
    let what = || format!("cannot write {}", output.display());
    let said = if scap {
        let mut importer =
            scap_import::Importer::new(file).with_context(|| input.display().to_string())?;
        write_private(output, |out| {
            let out = importer
                .write_capture(BufWriter::new(out), WriterOptions::default())
                .with_context(what)?;
            finish(out).with_context(what)
        })?;
        let report = scan::ImportReport {
            stats: importer.stats(),
            error: importer.take_error(),
        };
        for line in report.warnings() {
            crate::warn(input, &line);
        }
        format!(
            "{} events, {} records",
            report.stats.events, report.stats.records
        )
    } else {
        drop(file);
        let (stream, header, snapshot) = opened(input)?;
        let mut written = 0u64;
        write_private(output, |out| {
            let mut tracker = Tracker::from_snapshot(&snapshot);
            let mut writer = Writer::new(BufWriter::new(out), &header, WriterOptions::default())
                .with_context(what)?;
            writer.write_snapshot(&snapshot).with_context(what)?;
            stream.for_each_event(Projection::ALL, |e| {
                e.with_record(|rec| {
                    let ctx = tracker.apply(rec);
                    writer.write(rec, &ctx)
                })
                .with_context(what)?;
                written += 1;
                Ok(true)
            })?;
            // The time the capture covers goes with it.
            if let Some(window) = stream.inputs[0].reader.index().window {
                writer.set_window(window);
            }
            let (out, _) = writer.finish().with_context(what)?;
            finish(out).with_context(what)
        })?;
        format!("{written} records")
    };
    let bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    writeln!(stdout, "{}: {said}, {bytes} bytes", shown(output))?;
    Ok(())
}

/// A sysdig `.scap` file (gzip'd if asked): the capture's starting state
/// as its tables, every record as the events sysdig 0.29.3 reads.
fn to_scap(input: &Path, output: &Path, gzip: bool, stdout: &mut impl Write) -> anyhow::Result<()> {
    let (stream, mut header, snapshot) = opened(input)?;
    if header.start_ts == 0 {
        header.start_ts = stream.inputs[0].reader.index().ts_min;
    }
    let what = || format!("cannot write {}", output.display());
    let stats = write_private(output, |file| {
        let file = BufWriter::new(file);
        if gzip {
            let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
            let (gz, stats) = export(&stream, &header, &snapshot, gz).with_context(what)?;
            finish(gz.finish().with_context(what)?).with_context(what)?;
            Ok(stats)
        } else {
            let (file, stats) = export(&stream, &header, &snapshot, file).with_context(what)?;
            finish(file).with_context(what)?;
            Ok(stats)
        }
    })?;
    if let Some(note) = stats.note() {
        eprintln!("syscap: note: {}: {}", shown(output), escaped(&note));
    }
    let bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    writeln!(
        stdout,
        "{}: {} records, {} events, {bytes} bytes",
        shown(output),
        stats.records,
        stats.events
    )?;
    Ok(())
}

/// Every event of `stream` through a [`scap_import::ScapWriter`] on `out`.
fn export<W: Write>(
    stream: &Stream,
    header: &CaptureHeader,
    snapshot: &Snapshot,
    out: W,
) -> anyhow::Result<(W, scap_import::ExportStats)> {
    let mut writer = scap_import::ScapWriter::new(out, header, snapshot)?;
    stream.for_each_event(Projection::ALL, |e| {
        // The capture's thread tables name threads its snapshot and records
        // may not (a command the agent started itself).
        if let Some(t) = e.thread()
            && !t.exe().is_empty()
            && !writer.knows_thread(t.tid())
        {
            with_thread_info(&t, e.ts(), e.cpu(), |info| writer.describe_thread(info));
        }
        e.with_record(|rec| writer.write(rec))?;
        Ok(true)
    })?;
    Ok(writer.finish()?)
}

/// Calls `f` with the `threadinfo` record of what `t`, a row of a chunk's
/// thread table, says of its thread at `ts`.
fn with_thread_info<T>(
    t: &ThreadView<'_>,
    ts: u64,
    cpu: u16,
    f: impl FnOnce(&Record<'_>) -> T,
) -> T {
    let args = [
        Arg::Int(t.ppid()),
        Arg::Str(t.comm()),
        Arg::Str(t.exe()),
        Arg::Str(t.exepath()),
        Arg::Str(t.args()),
        Arg::Str(t.cwd()),
        Arg::Int(i64::from(t.uid())),
        Arg::Int(i64::from(t.gid())),
        Arg::Int(i64::from(t.loginuid())),
        Arg::Absent,
        Arg::Absent,
        Arg::Absent,
        Arg::Str(t.container_id()),
        Arg::Str(t.pod_uid()),
    ];
    f(&Record {
        ty: EventType::THREAD_INFO,
        ts,
        cpu,
        tid: t.tid(),
        pid: t.pid(),
        args: &args,
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_type_comes_from_the_name() {
        let cases: &[(&str, Result<Output, &str>)] = &[
            ("out.syscap", Ok(Output::Syscap)),
            ("dir/out.scap", Ok(Output::Scap { gzip: false })),
            ("out.scap.gz", Ok(Output::Scap { gzip: true })),
            ("out.jsonl", Ok(Output::Json)),
            ("out.json", Ok(Output::Json)),
            ("-", Ok(Output::Stdout)),
            (
                "out.txt",
                Err(
                    "out.txt: unknown output type .txt (accepted: .syscap, .scap, .scap.gz, .jsonl, .json, or - for standard output)",
                ),
            ),
            ("out.gz", Err("out.gz: unknown output type .gz")),
            ("out", Err("out: no extension to tell the output type by")),
        ];
        for &(name, ref want) in cases {
            match (Output::of(Path::new(name)), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{name}"),
                (Err(e), Err(want)) => assert!(e.to_string().starts_with(want), "{name}: {e}"),
                (got, want) => panic!("{name}: {got:?}, wanted {want:?}"),
            }
        }
    }
}
