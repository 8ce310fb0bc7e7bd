//! One capture: the ring's history from `trigger - before`, then live chunks
//! until `trigger + after` (or its size limit), filtered by the rule's
//! capture filter, with the state at its start and a trigger marker, into a
//! spool file. It runs on its own thread so the recorder never waits for it;
//! captures of different rules run side by side.
//!
//! The chunks a capture has not read yet are shared with the pre-trigger
//! ring, so a capture that falls behind costs no memory while the ring
//! still holds what it has to read. Beyond the ring, a capture may hold as
//! many bytes of chunks as the ring may (its allowance); past that it is
//! cut short (stored with what it has, loudly) rather than hold the stream
//! in memory without bound. A capture that starts from the ring's oldest
//! chunk thus has a whole ring's worth of slack to catch up.

use std::collections::VecDeque;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use capture_format::event::{Arg, EventType, Record};
use capture_format::file::{
    CaptureHeader, Chunk, Decoder, Projection, TriggerInfo, Writer, WriterOptions,
};
use capture_format::state::{Snapshot, Tracker};
use triggers::filter::{Env, Filter};

use super::metrics::{self, Metrics};
use super::ring::RingChunk;
use super::spool::{Spool, error_chain};

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
    /// Bytes of each I/O buffer kept.
    pub snaplen: u32,
    /// Stop at this many bytes.
    pub max_bytes: u64,
    /// Header facts: host, kernel, labels.
    pub header: CaptureHeader,
}

/// What the recorder sends a running capture.
#[derive(Debug)]
pub enum SessionInput {
    /// The next chunk of the stream.
    Chunk(RingChunk),
    /// The agent is stopping: finish with what you have.
    Stop,
    /// The capture holds more unread chunks than the ring let go of than
    /// it may: finish with what was sent before, as a capture cut short.
    FellBehind,
}

/// The recorder's end of a running capture.
#[derive(Debug)]
pub struct Feed {
    /// The capture's rule.
    pub rule: String,
    /// Bytes of each I/O buffer it keeps.
    pub snaplen: u32,
    input: Sender<SessionInput>,
    /// The last chunk the capture has read (its `seq`).
    read: Arc<AtomicU64>,
    /// The chunks sent and maybe not read yet: (seq, bytes), in order.
    unread: VecDeque<(u64, u64)>,
}

/// What became of a chunk offered to a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Queued for it.
    Sent,
    /// The capture has ended (its time is up, or it failed).
    Ended,
    /// It was cut short: it lags so far behind that the chunks only it
    /// still holds are more than its allowance.
    FellBehind,
}

impl Feed {
    /// Hands `chunk` (just pushed into the ring, whose oldest chunk is now
    /// `ring_first_seq`) to the capture, unless the unread chunks the ring
    /// has let go of (held for this capture alone) are more than
    /// `allowance` bytes: then it is told to finish, and gets nothing more.
    pub fn offer(&mut self, chunk: &RingChunk, ring_first_seq: u64, allowance: u64) -> Offered {
        let read = self.read.load(Ordering::Acquire);
        while self.unread.front().is_some_and(|&(seq, _)| seq <= read) {
            self.unread.pop_front();
        }
        let held_alone: u64 = self
            .unread
            .iter()
            .take_while(|&&(seq, _)| seq < ring_first_seq)
            .map(|&(_, bytes)| bytes)
            .sum();
        if held_alone > allowance {
            return match self.input.send(SessionInput::FellBehind) {
                Ok(()) => Offered::FellBehind,
                Err(_) => Offered::Ended,
            };
        }
        self.send(chunk.clone())
    }

    fn send(&mut self, chunk: RingChunk) -> Offered {
        let entry = (chunk.seq, chunk.chunk.len() as u64);
        match self.input.send(SessionInput::Chunk(chunk)) {
            Ok(()) => {
                self.unread.push_back(entry);
                Offered::Sent
            }
            Err(_) => Offered::Ended,
        }
    }

    /// The agent is stopping: the capture finishes with what it was sent.
    pub fn stop(self) {
        let _ = self.input.send(SessionInput::Stop);
    }
}

/// What a capture says when it has ended, stored or not: its slot under
/// the concurrency limit is free.
#[derive(Debug)]
pub struct SessionDone;

/// The places a capture reports to.
#[derive(Debug, Clone)]
pub struct Outlets {
    /// Where its file goes.
    pub spool: Spool,
    /// What it counts.
    pub metrics: Arc<Metrics>,
    /// Told when it ends.
    pub done: Sender<SessionDone>,
    /// Woken when its file is ready.
    pub wake_uploader: Arc<tokio::sync::Notify>,
}

/// Starts a capture thread from `snapshot`, reading `history` (the ring's
/// chunks after the snapshot, in order), then what the returned [`Feed`]
/// is offered.
pub fn spawn(
    spec: SessionSpec,
    snapshot: Arc<Snapshot>,
    history: Vec<RingChunk>,
    outlets: Outlets,
) -> Feed {
    let read = Arc::new(AtomicU64::new(0));
    let (tx, input) = channel();
    let mut feed = Feed {
        rule: spec.rule.clone(),
        snaplen: spec.snaplen,
        input: tx,
        read: read.clone(),
        unread: VecDeque::new(),
    };
    for chunk in history {
        feed.send(chunk);
    }
    let Outlets {
        spool,
        metrics,
        done,
        wake_uploader,
    } = outlets;
    let rule = spec.rule.clone();
    let done_if_unspawned = done.clone();
    let metrics_if_unspawned = metrics.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("capture-{}", spec.rule))
        .spawn(move || {
            match run(&spec, &snapshot, input, &read, &spool, &metrics) {
                Ok(()) => metrics::inc(&metrics.captures_finished),
                Err(e) => {
                    metrics::inc(&metrics.captures_failed);
                    tracing::error!("capture of rule {} failed: {e}", spec.rule);
                }
            }
            spool.enforce_bound(&metrics);
            wake_uploader.notify_one();
            let _ = done.send(SessionDone);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the capture thread of rule {rule}: {e}");
        metrics::inc(&metrics_if_unspawned.captures_failed);
        // Its slot is free again.
        let _ = done_if_unspawned.send(SessionDone);
    }
    feed
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
    input: Receiver<SessionInput>,
    read: &AtomicU64,
    spool: &Spool,
    metrics: &Metrics,
) -> Result<(), String> {
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
    let mut last_ts = spec.since;
    let mut result: Result<(), String> = Ok(());
    'input: for message in &input {
        let RingChunk {
            seq,
            chunk: encoded,
        } = match message {
            SessionInput::Chunk(c) => c,
            SessionInput::Stop => break,
            SessionInput::FellBehind => {
                result = Err(format!(
                    "cut short at trigger {:+.1} s: it fell behind the stream by more than the ring's size beyond what the ring holds",
                    (last_ts as f64 - spec.trigger_ts as f64) / 1e9
                ));
                break;
            }
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
            let written = e.with_record_cut(spec.snaplen as usize, |rec| {
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
        read.store(seq, Ordering::Release);
        last_ts = encoded.summary.ts_max;
        if encoded.summary.ts_min > spec.until {
            break;
        }
    }
    // Nothing more to read: the recorder stops offering chunks at once
    // (rather than count a capture that is finishing as one that lags).
    drop(input);
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
) -> Result<(), String> {
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
    spool
        .publish(path)
        .map_err(|e| failed("cannot move into the spool", &e))?;
    result.map_err(|e| format!("{e}; what was written before is stored"))
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

#[cfg(test)]
mod tests {
    use capture_format::file::CaptureReader;

    use super::*;
    use crate::daemon::ring::fixtures::chunk;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_capture_holds_at_most_its_allowance_beyond_the_ring() {
        let size = chunk(1, SECOND).chunk.len() as u64;
        let allowance = 3 * size;
        // Chunks 1 to 6 were sent. (last chunk read, oldest chunk in the
        // ring, what offering chunk 7 does)
        let cases = [
            (6, 7, Offered::Sent),
            (0, 1, Offered::Sent),
            (0, 4, Offered::Sent),
            (0, 5, Offered::FellBehind),
            (2, 6, Offered::Sent),
            (1, 6, Offered::FellBehind),
        ];
        for (read, first, expected) in cases {
            let (input, rx) = channel();
            let mut feed = Feed {
                rule: "r".into(),
                snaplen: 80,
                input,
                read: Arc::new(AtomicU64::new(0)),
                unread: VecDeque::new(),
            };
            for seq in 1..=6 {
                assert_eq!(feed.send(chunk(seq, SECOND)), Offered::Sent);
            }
            feed.read.store(read, Ordering::Release);
            assert_eq!(
                feed.offer(&chunk(7, SECOND), first, allowance),
                expected,
                "read {read}, ring from {first}"
            );
            let last = rx.try_iter().last().unwrap();
            match expected {
                Offered::Sent => assert!(matches!(last, SessionInput::Chunk(c) if c.seq == 7)),
                _ => assert!(matches!(last, SessionInput::FellBehind)),
            }
            drop(rx);
            assert_eq!(feed.offer(&chunk(8, SECOND), 1, allowance), Offered::Ended);
        }
    }

    /// A capture cut short keeps, and publishes, every event it was sent
    /// before, with the trigger marker, and says where it was cut.
    #[test]
    fn a_capture_cut_short_is_stored_with_what_it_had() {
        let dir = std::env::temp_dir().join(format!("syscap-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir, u64::MAX).unwrap();
        let spec = SessionSpec {
            rule: "lagging".into(),
            reason: "by hand".into(),
            trigger_ts: 2 * SECOND + SECOND / 2,
            since: 0,
            until: 100 * SECOND,
            filter: None,
            snaplen: 80,
            max_bytes: u64::MAX,
            header: CaptureHeader::default(),
        };
        let (tx, input) = channel();
        for seq in 1..=4 {
            tx.send(SessionInput::Chunk(chunk(seq, seq * SECOND)))
                .unwrap();
        }
        tx.send(SessionInput::FellBehind).unwrap();
        tx.send(SessionInput::Chunk(chunk(5, 5 * SECOND))).unwrap();
        let read = AtomicU64::new(0);
        let e = run(
            &spec,
            &Snapshot::default(),
            input,
            &read,
            &spool,
            &Metrics::default(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("cut short at trigger +1.5 s: it fell behind the stream")
                && e.ends_with("; what was written before is stored"),
            "{e}"
        );
        assert_eq!(read.load(Ordering::Acquire), 4);
        let ready = spool.ready();
        assert_eq!(ready.len(), 1, "published: {ready:?}");

        let reader = CaptureReader::open(std::fs::File::open(&ready[0]).unwrap()).unwrap();
        let mut times = Vec::new();
        for i in 0..reader.index().chunks.len() {
            let chunk = reader.read_chunk(i, Projection::ALL).unwrap();
            times.extend(
                chunk
                    .events()
                    .map(|e| (e.ty() == EventType::TRIGGER, e.ts())),
            );
        }
        assert_eq!(
            times,
            [
                (false, SECOND),
                (false, 2 * SECOND),
                (true, 2 * SECOND + SECOND / 2),
                (false, 3 * SECOND),
                (false, 4 * SECOND),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
