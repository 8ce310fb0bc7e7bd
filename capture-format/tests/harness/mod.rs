//! A small harness: writes workloads through the real tracker and writer,
//! renders events (with everything they resolve to) as one line each, and
//! compares line lists with a readable diff.

use std::fmt::Write as _;

use capture_format::event::OwnedRecord;
use capture_format::file::{
    ByteSource, CaptureHeader, CaptureReader, Chunk, Decoder, Event, Projection, Writer,
    WriterOptions,
};
use capture_format::state::{Context, Tracker};
use capture_format::synth::Workload;

/// A written capture and the lines its events must read back as.
pub struct Written {
    pub bytes: Vec<u8>,
    pub expected: Vec<String>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn context_line(rec: &OwnedRecord, ctx: &Context<'_>) -> String {
    let mut rec = rec.clone();
    let thread = if let (Some(t), Some(p)) = (ctx.thread, ctx.process) {
        let parent = ctx.parent(p).filter(|_| p.ppid != p.pid).map(|pp| {
            ctx.tracker()
                .thread(pp.pid)
                .map_or(String::new(), |t| text(&t.comm))
        });
        format!(
            "{}/{} {} exe={} cwd={} user={} parent={:?}",
            t.tid,
            t.pid,
            text(&t.comm),
            text(&p.exe),
            text(&p.cwd),
            text(&p.user),
            parent
        )
    } else {
        rec.tid = -1;
        rec.pid = -1;
        "-".into()
    };
    let fd = ctx.fd.map_or("-".into(), |f| {
        format!("{}:{}:{}:{:?}", f.fd, f.kind.name(), text(&f.name), f.ends)
    });
    format!("{thread} | {fd} | {rec:?}")
}

/// Renders a read event like `context_line` renders a written one.
pub fn line(e: &Event<'_>) -> String {
    let thread = e.thread().map_or("-".into(), |t| {
        format!(
            "{}/{} {} exe={} cwd={} user={} parent={:?}",
            t.tid(),
            t.pid(),
            text(t.comm()),
            text(t.exe()),
            text(t.cwd()),
            text(t.user()),
            t.parent().map(|p| text(p.comm()))
        )
    });
    let fd = e.fd().map_or("-".into(), |f| {
        format!(
            "{}:{}:{}:{:?}",
            f.num(),
            f.kind().name(),
            text(f.name()),
            f.ends().to_owned_ends()
        )
    });
    format!("{thread} | {fd} | {:?}", e.to_owned_record())
}

/// Writes `workload` (snapshot, then records) and renders what each record
/// resolved to at write time.
pub fn write_workload(workload: &Workload, options: WriterOptions) -> Written {
    let header = CaptureHeader {
        hostname: "test-host".into(),
        ..CaptureHeader::default()
    };
    let mut bytes = Vec::new();
    let mut w = Writer::new(&mut bytes, &header, options).unwrap();
    let mut tracker = Tracker::from_snapshot(&workload.snapshot);
    w.write_snapshot(&workload.snapshot).unwrap();
    let mut expected = Vec::with_capacity(workload.records.len());
    for r in &workload.records {
        r.with_record(|rec| {
            let ctx = tracker.apply(rec);
            expected.push(context_line(r, &ctx));
            w.write(rec, &ctx).unwrap();
        });
    }
    w.finish().unwrap();
    Written { bytes, expected }
}

/// Every event of every chunk as a line, and the errors of chunks that
/// could not be read.
pub fn read_all_lines<S: ByteSource>(reader: &CaptureReader<S>) -> (Vec<String>, Vec<String>) {
    let mut dec = Decoder::new();
    let mut chunk = Chunk::default();
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    for i in 0..reader.index().chunks.len() {
        match dec.read_chunk(reader, i, Projection::ALL, &mut chunk) {
            Ok(()) => lines.extend(chunk.events().map(|e| line(&e))),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (lines, errors)
}

/// Asserts equal line lists; on failure shows the first difference with
/// three lines of context on each side.
#[track_caller]
pub fn assert_lines_eq(want: &[String], got: &[String], what: &str) {
    if want == got {
        return;
    }
    let first = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let mut msg = format!(
        "{what}: {} lines expected, {} read; first difference at line {first}\n",
        want.len(),
        got.len()
    );
    let lo = first.saturating_sub(3);
    for i in lo..(first + 4).min(want.len().max(got.len())) {
        match (want.get(i), got.get(i)) {
            (Some(a), Some(b)) if a == b => {
                let _ = writeln!(msg, "  {i:>6}   {a}");
            }
            (a, b) => {
                if let Some(a) = a {
                    let _ = writeln!(msg, "- {i:>6}   {a}");
                }
                if let Some(b) = b {
                    let _ = writeln!(msg, "+ {i:>6}   {b}");
                }
            }
        }
    }
    panic!("{msg}");
}
