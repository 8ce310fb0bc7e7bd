//! One capture: the ring's history from `trigger - before`, then live chunks
//! until `trigger + after` (or its size limit), filtered by the rule's
//! capture filter, with the state at its start and a trigger marker, into a
//! spool file. It runs on its own thread so the recorder never waits for it;
//! captures of different rules run side by side.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use capture_format::event::{Arg, EventType, Record};
use capture_format::file::{
    CaptureHeader, Chunk, Decoder, EncodedChunk, Projection, TriggerInfo, Writer, WriterOptions,
};
use capture_format::state::{Snapshot, Tracker};
use triggers::filter::{Env, Filter};

use super::metrics::{self, Metrics};
use super::spool::{Spool, error_chain, tracing_line};

/// What a capture is asked to keep.
#[derive(Debug)]
pub struct SessionSpec {
    /// The rule.
    pub rule: String,
    /// Why it fired.
    pub reason: String,
    /// When it fired, ns since the epoch.
    pub trigger_ts: u64,
    /// Keep events from this time...
    pub since: u64,
    /// ...to this time.
    pub until: u64,
    /// Only these events (with names resolved from every event).
    pub filter: Option<Filter>,
    /// Stop at this many bytes.
    pub max_bytes: u64,
    /// Header facts: host, kernel, labels.
    pub header: CaptureHeader,
}

/// What the recorder sends a running capture.
#[derive(Debug)]
pub enum SessionInput {
    /// The next chunk of the stream.
    Chunk(Arc<EncodedChunk>),
    /// The agent is stopping: finish with what you have.
    Stop,
}

/// What a capture says when it ends.
#[derive(Debug)]
pub struct SessionDone {
    /// The rule.
    pub rule: String,
    /// The published capture, when it could be written.
    pub path: Option<PathBuf>,
}

/// Starts a capture thread from `snapshot`, reading `input`.
pub fn spawn(
    spec: SessionSpec,
    snapshot: Arc<Snapshot>,
    input: Receiver<SessionInput>,
    spool: Spool,
    metrics: Arc<Metrics>,
    done: Sender<SessionDone>,
    wake_uploader: Arc<tokio::sync::Notify>,
) {
    let rule = spec.rule.clone();
    let done_if_unspawned = done.clone();
    let metrics_if_unspawned = metrics.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("capture-{}", spec.rule))
        .spawn(move || {
            let rule = spec.rule.clone();
            let path = match run(&spec, &snapshot, &input, &spool, &metrics) {
                Ok(path) => {
                    metrics::inc(&metrics.captures_finished);
                    Some(path)
                }
                Err(e) => {
                    metrics::inc(&metrics.captures_failed);
                    tracing_line(&format!("capture of rule {rule} failed: {e}"));
                    None
                }
            };
            spool.enforce_bound(&metrics);
            wake_uploader.notify_one();
            let _ = done.send(SessionDone { rule, path });
        });
    if let Err(e) = spawned {
        tracing_line(&format!(
            "cannot start the capture thread of rule {rule}: {e}"
        ));
        metrics::inc(&metrics_if_unspawned.captures_failed);
        // Its slot is free again.
        let _ = done_if_unspawned.send(SessionDone { rule, path: None });
    }
}

/// A file name that sorts by time: `TIMESTAMP_RULE_ID.syscap`.
fn file_name(spec: &SessionSpec) -> String {
    let key = capture_store::capture_key(
        "",
        &capture_store::CaptureFacts {
            host: spec.header.hostname.clone(),
            rule: spec.rule.clone(),
            id: spec.header.capture_id.clone(),
            trigger_ts: spec.trigger_ts,
        },
    );
    key.rsplit('/')
        .next()
        .unwrap_or("capture.syscap")
        .to_owned()
}

fn run(
    spec: &SessionSpec,
    snapshot: &Snapshot,
    input: &Receiver<SessionInput>,
    spool: &Spool,
    metrics: &Metrics,
) -> Result<PathBuf, String> {
    let (path, file) = spool
        .create_partial(&file_name(spec))
        .map_err(|e| format!("cannot create its spool file: {e}"))?;
    let mut header = spec.header.clone();
    header.trigger = Some(TriggerInfo {
        rule: spec.rule.clone(),
        ts: spec.trigger_ts,
        reason: spec.reason.clone(),
    });
    header.start_ts = spec.since;
    header.end_ts = spec.until;
    let failed = |what: &str, e: &dyn std::error::Error| {
        format!("{what} {}: {}", path.display(), error_chain(e))
    };
    let mut writer = Writer::new(
        BufWriter::with_capacity(1 << 20, file),
        &header,
        WriterOptions::default(),
    )
    .map_err(|e| failed("cannot write", &e))?;
    writer
        .write_snapshot(snapshot)
        .map_err(|e| failed("cannot write", &e))?;
    let mut tracker = Tracker::from_snapshot(snapshot);
    let env = Env {
        capture_start: spec.since,
        trigger_rule: spec.rule.clone(),
    };
    let mut decoder = Decoder::new();
    let mut chunk = Chunk::default();
    let mut marker = false;
    let mut scratch = Vec::new();
    let mut result: Result<(), String> = Ok(());
    'input: for message in input {
        let SessionInput::Chunk(encoded) = message else {
            break;
        };
        if let Err(err) = decoder.decode_encoded(&encoded, Projection::ALL, &mut chunk) {
            result = Err(failed("cannot read a chunk for", &err));
            break;
        }
        for e in chunk.events() {
            let (ts, latency) = (e.ts(), e.latency());
            if !marker && ts >= spec.trigger_ts {
                marker = true;
                if let Err(err) = write_marker(&mut writer, &mut tracker, spec) {
                    result = Err(failed("cannot write", &err));
                    break 'input;
                }
            }
            // Another capture's marker is not part of this one.
            if e.ty() == EventType::TRIGGER {
                continue;
            }
            let keep = ts.saturating_add(latency) >= spec.since
                && ts <= spec.until
                && spec
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches_with(&e, &env, &mut scratch));
            let written = e.with_record(|rec| {
                let ctx = tracker.apply(rec);
                if keep {
                    writer.write(rec, &ctx)
                } else {
                    Ok(())
                }
            });
            if let Err(err) = written {
                result = Err(failed("cannot write", &err));
                break 'input;
            }
            if writer.bytes_written() >= spec.max_bytes {
                break 'input;
            }
        }
        if encoded.summary.ts_min > spec.until {
            break;
        }
    }
    if result.is_ok() && !marker {
        result =
            write_marker(&mut writer, &mut tracker, spec).map_err(|e| failed("cannot write", &e));
    }
    finish(writer, &path, result, spool, metrics)
}

/// Finishes the file whatever happened (every complete chunk is kept) and
/// publishes it; `result` says whether the capture itself went well.
fn finish(
    writer: Writer<BufWriter<std::fs::File>>,
    path: &Path,
    result: Result<(), String>,
    spool: &Spool,
    metrics: &Metrics,
) -> Result<PathBuf, String> {
    let failed = |what: &str, e: &dyn std::error::Error| {
        format!("{what} {}: {}", path.display(), error_chain(e))
    };
    let finished = writer
        .finish()
        .map_err(|e| failed("cannot finish", &e))
        .and_then(|(out, _)| {
            out.into_inner()
                .map_err(|e| failed("cannot write", &e.into_error()))
                .and_then(|f| f.sync_all().map_err(|e| failed("cannot sync", &e)))
        });
    if let Err(e) = finished {
        // The spool's file system is full, most likely: make room, then
        // keep every complete chunk (what is left stays in `partial/` for
        // the next start otherwise).
        spool.enforce_bound(metrics);
        return Err(match spool.recover_file(path) {
            Ok(_) => format!("{e}; finished as a truncated capture, to be stored"),
            Err(again) => format!("{e}; left in the spool ({again})"),
        });
    }
    // A finished file is a valid capture even when the capture failed
    // half-way: stored with what it has.
    let published = spool
        .publish(path)
        .map_err(|e| failed("cannot move into the spool", &e))?;
    result
        .map(|()| published)
        .map_err(|e| format!("{e}; what was written before is stored"))
}

/// The record that marks the moment the rule fired.
fn write_marker(
    writer: &mut Writer<BufWriter<std::fs::File>>,
    tracker: &mut Tracker,
    spec: &SessionSpec,
) -> capture_format::Result<()> {
    let args = [
        Arg::Str(spec.rule.as_bytes()),
        Arg::Str(spec.reason.as_bytes()),
    ];
    let rec = Record {
        ty: EventType::TRIGGER,
        ts: spec.trigger_ts,
        args: &args,
        ..Record::default()
    };
    let ctx = tracker.apply(&rec);
    writer.write(&rec, &ctx)
}
