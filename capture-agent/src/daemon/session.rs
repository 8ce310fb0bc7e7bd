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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use capture_format::event::{Arg, EventType, Record};
use capture_format::file::{
    CaptureHeader, Chunk, Decoder, Projection, TriggerInfo, Window, Writer, WriterOptions,
};
use capture_format::state::{Context, Snapshot, Tracker};
use triggers::filter::{Env, Filter};

use super::metrics::{self, Metrics};
use super::ring::RingChunk;
use super::spool::{Salvaged, Spool, error_chain};

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
    /// The time it covers, as planned (it may stop before its end).
    pub window: Window,
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
        window: window(&spec, &snapshot, true, 0),
        input: tx,
        read: read.clone(),
        unread: VecDeque::new(),
    };
    let history_chunks = history.len();
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
            match run(
                &spec,
                &snapshot,
                input,
                history_chunks,
                &read,
                &spool,
                &metrics,
            ) {
                Ok(()) => metrics::inc(&metrics.captures_finished),
                Err(Failure { message, lost }) => {
                    metrics::inc(&metrics.captures_failed);
                    if lost {
                        metrics::inc(&metrics.captures_lost);
                    }
                    tracing::error!("capture of rule {} failed: {message}", spec.rule);
                }
            }
            spool.enforce_bound(&metrics);
            wake_uploader.notify_one();
            let _ = done.send(SessionDone);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the capture thread of rule {rule}: {e}; it is lost");
        metrics::inc(&metrics_if_unspawned.captures_failed);
        metrics::inc(&metrics_if_unspawned.captures_lost);
        // Its slot is free again.
        let _ = done_if_unspawned.send(SessionDone);
    }
    feed
}

/// Why a capture failed, and whether any of it is kept.
#[derive(Debug)]
struct Failure {
    /// What happened, and what became of the file.
    message: String,
    /// Nothing of it is kept: no file reaches the storage.
    lost: bool,
}

impl Failure {
    /// A capture that failed after its file was published with what it
    /// had, or that stays in the spool.
    fn kept(message: String) -> Self {
        Self {
            message,
            lost: false,
        }
    }
}

/// After `message` (a failure): what can be kept of the file at `path` is
/// finished and published; a file that holds nothing is removed and the
/// capture lost.
fn salvage(spool: &Spool, path: &Path, message: &str) -> Failure {
    match spool.salvage(path) {
        Salvaged::Published(_) => Failure::kept(format!(
            "{message}; finished as a truncated capture, to be stored"
        )),
        Salvaged::Nothing(_) => Failure {
            message: format!("{message}; nothing of it could be kept: it is lost"),
            lost: true,
        },
        Salvaged::Kept(why) => Failure::kept(format!("{message}; left in the spool ({why})")),
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

/// Events a capture has taken wait at most this long in its open chunk
/// before they are sealed into its file, so that a crash (SIGKILL, the OOM
/// killer) loses little more than the chunk the recorder has open (at most
/// a second). Sealing less often would compress better, but a capture of a
/// quiet host or with a narrow filter would keep nothing at all.
const SEAL_AFTER: Duration = Duration::from_millis(500);
/// What was sealed is synced to the disk at most this often (a power loss
/// loses at most this much more), and at once after the history.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// A capture's file, as it is written.
struct Output {
    path: PathBuf,
    writer: Writer<BufWriter<std::fs::File>>,
    /// When the open chunk took its first event (`None`: it holds none).
    unsealed_since: Option<Instant>,
    /// When the file was last synced.
    synced: Instant,
}

impl Output {
    /// A new file in `partial/` with the capture's header and the state it
    /// starts from, synced.
    fn create(
        spec: &SessionSpec,
        snapshot: &Snapshot,
        spool: &Spool,
        metrics: &Metrics,
    ) -> Result<Self, Failure> {
        let (path, file) = spool
            .create_partial(&file_name(spec))
            .map_err(|e| Failure {
                message: format!("cannot create its spool file: {e}; it is lost"),
                lost: true,
            })?;
        let mut header = spec.header.clone();
        header.trigger = Some(TriggerInfo {
            rule: spec.rule.clone(),
            ts: spec.trigger_ts,
            reason: spec.reason.clone(),
        });
        header.start_ts = spec.since;
        header.end_ts = spec.until;
        let started = Writer::new(
            BufWriter::with_capacity(1 << 20, file),
            &header,
            WriterOptions::default(),
        )
        .and_then(|mut writer| writer.write_snapshot(snapshot).map(|()| writer));
        let mut out = match started {
            Ok(writer) => Self {
                path,
                writer,
                unsealed_since: None,
                synced: Instant::now(),
            },
            Err(e) => {
                let message = failed_on(&path, "cannot write", &e);
                spool.enforce_bound(metrics);
                return Err(salvage(spool, &path, &message));
            }
        };
        match out.seal(true) {
            Ok(()) => Ok(out),
            Err(message) => {
                drop(out.writer);
                spool.enforce_bound(metrics);
                Err(salvage(spool, &out.path, &message))
            }
        }
    }

    /// Adds one record, resolved by the capture's tracker.
    fn write(&mut self, rec: &Record<'_>, ctx: &Context<'_>) -> capture_format::Result<()> {
        self.unsealed_since.get_or_insert_with(Instant::now);
        self.writer.write(rec, ctx)
    }

    /// How long input may be waited for before the open chunk is due to
    /// be sealed (`None`: it holds nothing, no limit).
    fn patience(&self) -> Option<Duration> {
        self.unsealed_since
            .map(|since| SEAL_AFTER.saturating_sub(since.elapsed()))
    }

    /// Seals the open chunk into the file (each block reaches the kernel as
    /// it is written, so a killed agent keeps it) and syncs the file when
    /// `sync` says so or [`SYNC_EVERY`] has passed.
    fn seal(&mut self, sync: bool) -> Result<(), String> {
        self.writer
            .flush_chunk()
            .map_err(|e| failed_on(&self.path, "cannot write", &e))?;
        self.unsealed_since = None;
        if sync || self.synced.elapsed() >= SYNC_EVERY {
            self.writer
                .get_ref()
                .get_ref()
                .sync_data()
                .map_err(|e| failed_on(&self.path, "cannot sync", &e))?;
            self.synced = Instant::now();
        }
        Ok(())
    }

    fn failed(&self, what: &str, e: &dyn std::error::Error) -> String {
        failed_on(&self.path, what, e)
    }
}

/// `WHAT PATH: ERROR: CAUSE...`.
fn failed_on(path: &Path, what: &str, e: &dyn std::error::Error) -> String {
    format!("{what} {}: {}", path.display(), error_chain(e))
}

/// What a capture keeps of the stream: the events of its window that its
/// filter matches, with every event applied to its state (so names
/// resolve), and its trigger marker in its place.
struct Keeper<'a> {
    spec: &'a SessionSpec,
    tracker: Tracker,
    env: Env,
    scratch: Vec<u8>,
    marker: bool,
    /// The latest return time of the events read (kept or not).
    latest: u64,
}

impl<'a> Keeper<'a> {
    fn new(spec: &'a SessionSpec, snapshot: &Snapshot) -> Self {
        Self {
            spec,
            tracker: Tracker::from_snapshot(snapshot),
            env: Env {
                capture_start: spec.since,
                trigger_rule: spec.rule.clone(),
                previous: None,
            },
            scratch: Vec::new(),
            marker: false,
            latest: 0,
        }
    }

    /// Writes what `chunk` holds for the capture; false when the capture
    /// has reached its size limit.
    fn take(&mut self, chunk: &Chunk, out: &mut Output) -> capture_format::Result<bool> {
        let spec = self.spec;
        for e in chunk.events() {
            let (ts, latency) = (e.ts(), e.latency());
            self.latest = self.latest.max(ts.saturating_add(latency));
            if !self.marker && ts >= spec.trigger_ts {
                self.mark(out)?;
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
                    .is_none_or(|f| f.matches_with(&e, &self.env, &mut self.scratch));
            let tracker = &mut self.tracker;
            e.with_record_cut(spec.snaplen as usize, |rec| {
                let ctx = tracker.apply(rec);
                if keep { out.write(rec, &ctx) } else { Ok(()) }
            })?;
            if out.writer.bytes_written() >= spec.max_bytes {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes the record that marks the moment the rule fired.
    fn mark(&mut self, out: &mut Output) -> capture_format::Result<()> {
        self.marker = true;
        let spec = self.spec;
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
        let ctx = self.tracker.apply(&rec);
        out.write(&rec, &ctx)
    }
}

/// Runs a capture: its file first holds the state it starts from and the
/// `history` chunks queued before it started (synced as soon as they are
/// written), then the live chunks, each sealed into the file within
/// [`SEAL_AFTER`] of being read.
fn run(
    spec: &SessionSpec,
    snapshot: &Snapshot,
    input: Receiver<SessionInput>,
    history: usize,
    read: &AtomicU64,
    spool: &Spool,
    metrics: &Metrics,
) -> Result<(), Failure> {
    let mut out = Output::create(spec, snapshot, spool, metrics)?;
    let mut keeper = Keeper::new(spec, snapshot);
    let mut decoder = Decoder::new();
    let mut chunk = Chunk::default();
    let mut last_ts = spec.since;
    // Whether the stream went past the capture's end (else it stopped
    // early: the agent stopped, the capture was cut short or full).
    let mut reached_until = false;
    let mut history_left = history;
    let result = loop {
        let message = match out.patience() {
            None => input.recv().ok(),
            Some(wait) => match input.recv_timeout(wait) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => match out.seal(false) {
                    Ok(()) => continue,
                    Err(e) => break Err(e),
                },
                Err(RecvTimeoutError::Disconnected) => None,
            },
        };
        let RingChunk {
            seq,
            chunk: encoded,
        } = match message {
            Some(SessionInput::Chunk(c)) => c,
            None | Some(SessionInput::Stop) => break Ok(()),
            Some(SessionInput::FellBehind) => {
                break Err(format!(
                    "cut short at trigger {:+.1} s: it fell behind the stream by more than the ring's size beyond what the ring holds",
                    (last_ts as f64 - spec.trigger_ts as f64) / 1e9
                ));
            }
        };
        if let Err(err) = decoder.decode_encoded(&encoded, Projection::ALL, &mut chunk) {
            break Err(out.failed("cannot read a chunk for", &err));
        }
        match keeper.take(&chunk, &mut out) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(err) => break Err(out.failed("cannot write", &err)),
        }
        read.store(seq, Ordering::Release);
        last_ts = encoded.summary.ts_max;
        if encoded.summary.ts_min > spec.until {
            reached_until = true;
            break Ok(());
        }
        let sealed = if history_left > 0 {
            history_left -= 1;
            if history_left == 0 {
                out.seal(true)
            } else {
                Ok(())
            }
        } else if out.patience().is_some_and(|wait| wait.is_zero()) {
            out.seal(false)
        } else {
            Ok(())
        };
        if let Err(e) = sealed {
            break Err(e);
        }
    };
    // Nothing more to read: the recorder stops offering chunks at once
    // (rather than count a capture that is finishing as one that lags).
    drop(input);
    out.writer
        .set_window(window(spec, snapshot, reached_until, keeper.latest));
    let result = result.and_then(|()| {
        if keeper.marker {
            Ok(())
        } else {
            keeper
                .mark(&mut out)
                .map_err(|e| out.failed("cannot write", &e))
        }
    });
    finish(out, result, spool, metrics)
}

/// The time a capture covers: from `since`, or from the state it starts
/// from when the ring held less history than asked for, to `until`, or to
/// the latest return read when it stopped before.
fn window(spec: &SessionSpec, snapshot: &Snapshot, reached_until: bool, latest: u64) -> Window {
    let start = spec.since.max(snapshot.ts);
    let end = if reached_until {
        spec.until
    } else {
        latest.min(spec.until)
    };
    Window {
        start,
        end: end.max(start),
    }
}

/// Finishes the file whatever happened (every complete chunk is kept) and
/// publishes it; `result` says whether the capture itself went well.
fn finish(
    out: Output,
    result: Result<(), String>,
    spool: &Spool,
    metrics: &Metrics,
) -> Result<(), Failure> {
    let Output { path, writer, .. } = out;
    let finished = writer
        .finish()
        .map_err(|e| failed_on(&path, "cannot finish", &e))
        .and_then(|(out, _)| {
            out.into_inner()
                .map_err(|e| failed_on(&path, "cannot write", &e.into_error()))
                .and_then(|f| {
                    f.sync_all()
                        .map_err(|e| failed_on(&path, "cannot sync", &e))
                })
        });
    if let Err(e) = finished {
        // The spool's file system is full, most likely: make room, then
        // keep every complete chunk (what is left stays in `partial/` for
        // the next start otherwise).
        spool.enforce_bound(metrics);
        return Err(salvage(spool, &path, &e));
    }
    // A finished file is a valid capture even when the capture failed
    // half-way: stored with what it has.
    spool
        .publish(&path)
        .map_err(|e| Failure::kept(failed_on(&path, "cannot move into the spool", &e)))?;
    result.map_err(|e| Failure::kept(format!("{e}; what was written before is stored")))
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
                window: Window::default(),
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

    /// A spool in a new temporary directory, and a capture of `rule` fired
    /// at `trigger_ts` that keeps everything from 0 to 100 s, with chunks
    /// 1 to `history` (one event each, at 1 s, 2 s...) queued for it.
    fn fixture(
        rule: &str,
        trigger_ts: u64,
        history: u64,
    ) -> (
        PathBuf,
        Spool,
        SessionSpec,
        Sender<SessionInput>,
        Receiver<SessionInput>,
    ) {
        let dir =
            std::env::temp_dir().join(format!("syscap-session-{rule}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir, u64::MAX).unwrap();
        let spec = SessionSpec {
            rule: rule.into(),
            reason: "by hand".into(),
            trigger_ts,
            since: 0,
            until: 100 * SECOND,
            filter: None,
            snaplen: 80,
            max_bytes: u64::MAX,
            header: CaptureHeader::default(),
        };
        let (tx, input) = channel();
        for seq in 1..=history {
            tx.send(SessionInput::Chunk(chunk(seq, seq * SECOND)))
                .unwrap();
        }
        (dir, spool, spec, tx, input)
    }

    /// Events in a capture's file, as a reader finds them while it is
    /// written (or after a crash): what its complete blocks hold.
    fn events_in_partial(spool_dir: &Path) -> u64 {
        let Some(path) = std::fs::read_dir(spool_dir.join("partial"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .next()
        else {
            return 0;
        };
        std::fs::File::open(path)
            .ok()
            .and_then(|f| CaptureReader::open(f).ok())
            .map_or(0, |r| r.index().events)
    }

    /// A capture's file holds its history as soon as it is written, and
    /// each live chunk within a second of reading it, however few events
    /// they hold: a crash loses at most what came in the last second.
    #[test]
    fn a_capture_seals_its_history_then_each_second_into_its_file() {
        let (dir, spool, spec, tx, input) = fixture("sealed", 3 * SECOND, 2);
        let read = Arc::new(AtomicU64::new(0));
        let session = {
            let (spool, read) = (spool.clone(), read.clone());
            std::thread::spawn(move || {
                run(
                    &spec,
                    &Snapshot::default(),
                    input,
                    2,
                    &read,
                    &spool,
                    &Metrics::default(),
                )
            })
        };
        let wait_for = |events: u64| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while events_in_partial(&dir) < events {
                assert!(
                    Instant::now() < deadline,
                    "{} events in the file, not {events}",
                    events_in_partial(&dir)
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        // The history, then live chunks one at a time (the marker comes with
        // the first event after the trigger).
        wait_for(2);
        tx.send(SessionInput::Chunk(chunk(3, 4 * SECOND))).unwrap();
        let sent = Instant::now();
        wait_for(4);
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "sealed {:?} after it was read",
            sent.elapsed()
        );
        tx.send(SessionInput::Chunk(chunk(4, 5 * SECOND))).unwrap();
        wait_for(5);
        drop(tx);
        session.join().unwrap().unwrap();
        assert_eq!(read.load(Ordering::Acquire), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A chunk of one call that entered at `entered` and returned `latency`
    /// later.
    fn blocked_call(seq: u64, entered: u64, latency: u64) -> RingChunk {
        let mut encoder =
            capture_format::file::ChunkEncoder::new(WriterOptions::default()).unwrap();
        let rec = Record {
            ty: EventType(202), // futex
            ts: entered,
            latency,
            tid: 1,
            pid: 1,
            ..Record::default()
        };
        encoder.push(&rec, &Tracker::new().unresolved()).unwrap();
        RingChunk {
            seq,
            chunk: Arc::new(encoder.seal().unwrap().unwrap()),
        }
    }

    /// The issue's capture: a futex that blocked 12 s returns inside a
    /// 3-second window (10 s to 13 s). Its record keeps its entry time
    /// (-2 s), but the capture's start, end and duration are its window;
    /// stopped early, it ends at the latest return it read.
    #[test]
    fn a_capture_spans_its_window_not_its_calls_entry_times() {
        // (stream after the futex, agent stops early, window)
        let cases = [
            (vec![chunk(2, 14 * SECOND)], false, (10, 13)),
            (vec![chunk(2, 12 * SECOND)], true, (10, 12)),
        ];
        for (i, (after, stop, (start, end))) in cases.into_iter().enumerate() {
            let (dir, spool, mut spec, tx, input) = fixture(&format!("window{i}"), 11 * SECOND, 0);
            spec.since = 10 * SECOND;
            spec.until = 13 * SECOND;
            tx.send(SessionInput::Chunk(blocked_call(1, 0, 12 * SECOND)))
                .unwrap();
            for c in after {
                tx.send(SessionInput::Chunk(c)).unwrap();
            }
            if stop {
                tx.send(SessionInput::Stop).unwrap();
            }
            drop(tx);
            let snapshot = Snapshot {
                ts: 5 * SECOND,
                ..Snapshot::default()
            };
            let read = AtomicU64::new(0);
            run(
                &spec,
                &snapshot,
                input,
                0,
                &read,
                &spool,
                &Metrics::default(),
            )
            .unwrap();
            let ready = spool.ready();
            let reader = CaptureReader::open(std::fs::File::open(&ready[0]).unwrap()).unwrap();
            let index = reader.index();
            assert_eq!(index.ts_min, 0, "the futex keeps its entry time");
            assert_eq!(
                index.span(),
                (start * SECOND, end * SECOND),
                "case {i}: {:?}",
                index.window
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// A capture cut short keeps, and publishes, every event it was sent
    /// before, with the trigger marker, and says where it was cut.
    #[test]
    fn a_capture_cut_short_is_stored_with_what_it_had() {
        let (dir, spool, spec, tx, input) = fixture("lagging", 2 * SECOND + SECOND / 2, 4);
        tx.send(SessionInput::FellBehind).unwrap();
        tx.send(SessionInput::Chunk(chunk(5, 5 * SECOND))).unwrap();
        let read = AtomicU64::new(0);
        let e = run(
            &spec,
            &Snapshot::default(),
            input,
            4,
            &read,
            &spool,
            &Metrics::default(),
        )
        .unwrap_err();
        let e = e.message;
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
