//! A one-shot capture: the whole host (or one command's process tree) into
//! a capture file, until a duration, a size, the command's exit or a signal.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use capture_format::event::{Arg, EventType, Record};
use capture_format::file::{
    CaptureHeader, Chunk, ChunkEncoder, Decoder as ChunkDecoder, Index, Window, Writer,
    WriterOptions,
};
use capture_format::state::{
    ContainerInfo, ProcessInfo, ThreadInfo, Tracker, changes_state, with_container_record,
};
use triggers::filter::{Env, Filter};

use crate::containers::{ContainerMove, ContainerWatch, Lookups, RuntimeSockets};
use crate::cpu::{self, CpuSampler, Sample};
use crate::host;
use crate::kernel::abi::{AbiError, RawEvent};
use crate::kernel::recipes::Decoder;
use crate::kernel::{BUSY_DRAIN, Probe, ProbeConfig, ProbeError};
use crate::procfs;

/// How often the ring buffer is read when the kernel does not wake us.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often drop counters are read and progress is reported.
const TICK: Duration = Duration::from_millis(250);
/// Records a filtered capture stages before it decides which to keep.
const FILTER_BATCH: u32 = 16_384;
/// zstd level 1: the agent shares the CPUs it records; level 3 costs it
/// more CPU per event for a few percent smaller files.
const WRITER: WriterOptions = WriterOptions {
    codec: capture_format::codec::Codec::Zstd,
    level: 1,
    chunk_events: 65_536,
    chunk_bytes: 1 << 20,
    chunk_span_ns: 0,
};

/// Where a capture goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// The capture file [`CaptureOptions::output`].
    File,
    /// The capture format on standard output (`-o -`): a pipe or a file the
    /// shell opened.
    Stdout,
    /// Each event printed on standard output as it happens, as `syscap
    /// print` prints it (live mode).
    Print(inspect_cli::print::Format),
}

/// What to capture and where.
#[derive(Debug)]
pub struct CaptureOptions {
    /// Capture file to write (`-` for standard output).
    pub output: PathBuf,
    /// Where the capture goes.
    pub destination: Destination,
    /// Stop after this long (whole-host captures).
    pub duration: Option<Duration>,
    /// Stop when the file reaches this many bytes.
    pub max_size: Option<u64>,
    /// Kernel-side settings and filters.
    pub probe: ProbeConfig,
    /// Keep only the events this filter matches (the tracker still sees
    /// every event, so names resolve).
    pub filter: Option<Filter>,
    /// The command to run and capture (empty: the whole host).
    pub command: Vec<OsString>,
    /// Filter text written into the header.
    pub filter_text: String,
    /// Where container runtimes are asked about containers (none: not
    /// asked; containers are known by id).
    pub runtimes: Option<RuntimeSockets>,
    /// Rotation into several files (a file destination only).
    pub rotation: Option<Rotation>,
}

/// Rotation of a long capture into several files, each a whole capture
/// (its header, the state it starts from, its window), as sysdig's `-C`,
/// `-G` and `-W` rotate: the output name gets a number (`-C`, or `-G`
/// without a time format) or is a strftime format of the file's start
/// (`-G`, local time).
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// A new file once this many bytes were written (`-C`).
    pub bytes: Option<u64>,
    /// A new file every this long (`-G`).
    pub every: Option<Duration>,
    /// Keep only the last this many files (`-W`): with `-C` the numbers
    /// wrap around (the oldest file is written over, as sysdig does),
    /// otherwise the oldest file is deleted.
    pub keep: Option<u32>,
}

/// Why a rotated file name cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("-o {template}: not a time format: {source}")]
pub struct NameError {
    template: String,
    #[source]
    source: jiff::Error,
}

/// The names of a rotating capture's files and which are kept.
#[derive(Debug)]
struct Rotator {
    rotation: Rotation,
    template: String,
    /// The number of the next file (per time slice with a time format).
    number: u64,
    /// Files written, oldest first.
    written: std::collections::VecDeque<PathBuf>,
    /// The header of every file.
    header: CaptureHeader,
    /// When recording into the current file started (its window's start),
    /// ns since the epoch.
    start_ts: u64,
    /// The second (event time, since the epoch) the current file's `-G`
    /// slice began at.
    slice_s: u64,
    /// The files finished before the current one, and their events.
    done_files: Vec<PathBuf>,
    done_events: u64,
}

impl Rotator {
    fn new(rotation: Rotation, output: &Path) -> Self {
        Self {
            rotation,
            template: output.to_string_lossy().into_owned(),
            number: 0,
            written: std::collections::VecDeque::new(),
            header: CaptureHeader::default(),
            start_ts: 0,
            slice_s: 0,
            done_files: Vec::new(),
            done_events: 0,
        }
    }

    /// The name of the next file, started at `now` (ns since the epoch).
    fn name(&self, now: u64) -> Result<PathBuf, NameError> {
        let mut name = self.template.clone();
        let mut numbered = self.rotation.bytes.is_some();
        if self.rotation.every.is_some() {
            let zoned = jiff::Timestamp::from_nanosecond(i128::from(now))
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .to_zoned(jiff::tz::TimeZone::system());
            name =
                jiff::fmt::strtime::format(&self.template, &zoned).map_err(|source| NameError {
                    template: self.template.clone(),
                    source,
                })?;
            // No time format: numbered instead.
            numbered |= name == self.template;
        }
        if numbered {
            let n = match (self.rotation.bytes, self.rotation.keep) {
                (Some(_), Some(keep)) => self.number % u64::from(keep.max(1)),
                _ => self.number,
            };
            name.push_str(&n.to_string());
        }
        Ok(PathBuf::from(name))
    }

    /// Counts the file that was started (`timed`: by `-G`), and returns the
    /// files beyond the last `keep` to delete.
    fn started(&mut self, path: &Path) -> Vec<PathBuf> {
        self.written.retain(|p| p != path);
        self.written.push_back(path.to_owned());
        let mut gone = Vec::new();
        if let Some(keep) = self.rotation.keep {
            while self.written.len() > keep.max(1) as usize {
                gone.extend(self.written.pop_front());
            }
        }
        gone
    }

    /// The second a `-G` rotation is due at, when an event at `ts` (ns) is
    /// SECONDS or more whole seconds past the current file's slice: as
    /// sysdig's, by the events' time, not the agent's clock (a capture
    /// without events does not rotate).
    fn due(&self, ts: u64) -> Option<u64> {
        let every = self.rotation.every?.as_secs().max(1);
        let s = ts / 1_000_000_000;
        (s.saturating_sub(self.slice_s) >= every).then_some(s)
    }

    /// The number of the next file after a rotation (by time or size).
    fn advance(&mut self, by_time: bool) {
        let timed = self.rotation.every.is_some() && self.template.contains('%');
        self.number = if by_time && timed { 0 } else { self.number + 1 };
    }
}

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The output file could not be created or written.
    #[error("cannot write {}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The capture format refused a record or failed to write.
    #[error("cannot write {}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: capture_format::Error,
    },
    /// The kernel side failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The command could not be started or waited for.
    #[error("cannot run {command}")]
    Spawn {
        /// The command.
        command: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A ring record did not parse: the kernel and user space disagree.
    #[error("malformed record from the kernel")]
    Abi(#[from] AbiError),
    /// The thread that asks container runtimes did not start.
    #[error("cannot start the container lookups")]
    Lookups(#[source] io::Error),
}

/// Why a capture stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The duration elapsed.
    Duration,
    /// The file reached its size limit.
    MaxSize,
    /// The captured command exited.
    CommandExited,
    /// A signal (Ctrl-C, SIGTERM) asked to stop.
    Signal,
}

/// What a running capture reports.
#[derive(Clone, Copy, Debug)]
pub enum Status<'a> {
    /// The programs are attached: events are being recorded from now on.
    Started {
        /// Processes in the initial snapshot.
        processes: usize,
        /// The command's pid, when one was started.
        command_pid: Option<u32>,
    },
    /// Figures, a few times a second.
    Running(&'a Progress),
}

/// Figures while a capture runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Events written so far.
    pub events: u64,
    /// Bytes written so far.
    pub bytes: u64,
    /// Records the kernel dropped so far.
    pub drops: u64,
    /// Time since the capture started.
    pub elapsed: Duration,
}

/// What a finished capture holds.
#[derive(Debug)]
pub struct CaptureReport {
    /// The footer index of the file.
    pub index: Index,
    /// Bytes of the file.
    pub bytes: u64,
    /// Records the kernel dropped.
    pub drops: u64,
    /// From start to stop.
    pub elapsed: Duration,
    /// Why it stopped.
    pub stopped_by: StopReason,
    /// The command's exit status, when a command was captured.
    pub exit_status: Option<ExitStatus>,
    /// The files written, in order (several when rotating; deleted ones
    /// too).
    pub files: Vec<PathBuf>,
    /// Events in all of them.
    pub events: u64,
}

/// Where a capture's bytes go: its file, or standard output (and the bytes
/// written there).
enum Out {
    File(File),
    Stdout(io::Stdout, u64),
}

impl io::Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::File(f) => f.write(buf),
            Out::Stdout(s, written) => {
                let n = s.write(buf)?;
                *written += n as u64;
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Stdout(s, _) => s.flush(),
        }
    }
}

/// Live mode: records are packed into small chunks as a file would hold
/// them, decoded, and each event printed by the inspector's printer (the
/// same lines as `syscap print`), every time the ring is drained.
struct LivePrinter {
    encoder: ChunkEncoder,
    decoder: ChunkDecoder,
    chunk: Chunk,
    projection: capture_format::file::Projection,
    printer: inspect_cli::print::Printer,
    out: BufWriter<io::Stdout>,
    events: u64,
}

impl LivePrinter {
    fn new(format: inspect_cli::print::Format, capture_start: u64) -> io::Result<Self> {
        Ok(Self {
            encoder: ChunkEncoder::new(WriterOptions {
                level: 1,
                chunk_events: FILTER_BATCH,
                ..WriterOptions::default()
            })?,
            decoder: ChunkDecoder::new(),
            chunk: Chunk::default(),
            projection: format.projection(),
            printer: inspect_cli::print::Printer::new(
                format,
                Env {
                    capture_start,
                    trigger_rule: String::new(),
                    previous: None,
                },
            ),
            out: BufWriter::with_capacity(64 << 10, io::stdout()),
            events: 0,
        })
    }

    /// Prints what was pushed since the last time.
    fn flush(&mut self) -> Result<(), CaptureError> {
        let stdout_err = |source| CaptureError::Output {
            path: PathBuf::from("-"),
            source,
        };
        let Some(encoded) = self.encoder.seal().map_err(stdout_err)? else {
            return Ok(());
        };
        // Numbered as in a file of the events printed (`evt.num` from 1).
        self.decoder
            .decode_encoded_numbered(&encoded, self.projection, &mut self.chunk, self.events + 1)
            .map_err(|source| CaptureError::Format {
                path: PathBuf::from("-"),
                source,
            })?;
        for e in self.chunk.events() {
            self.printer.print(&e, &mut self.out).map_err(stdout_err)?;
            self.events += 1;
        }
        io::Write::flush(&mut self.out).map_err(stdout_err)
    }
}

/// What a sink does with the records it keeps.
#[expect(
    clippy::large_enum_variant,
    reason = "one per capture; the writer is used for every record"
)]
enum Dest {
    Writer(Writer<BufWriter<Out>>),
    Print(Box<LivePrinter>),
}

/// Writes records to the capture file (or prints them), resolving them
/// through the tracker.
struct Sink {
    dest: Dest,
    tracker: Tracker,
    path: PathBuf,
    /// Rotation into several files.
    rotation: Option<Rotator>,
    /// A new file was started since the last CPU round.
    rotated: bool,
    /// Every thread's CPU figure as of the last round (when rotating): a
    /// file started between rounds (several `-G` boundaries in one drain
    /// of a ring that fell behind) starts with them, as every file does.
    cpu_baseline: Vec<Sample>,
}

impl Sink {
    fn format_err(&self) -> impl FnOnce(capture_format::Error) -> CaptureError + use<> {
        let path = self.path.clone();
        move |source| CaptureError::Format { path, source }
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), CaptureError> {
        // Records come in return order: their returns' time moves on.
        if let Some(s) = self.rotation.as_ref().and_then(|r| r.due(rec.ts_exit())) {
            self.rotate(Some(s * 1_000_000_000))?;
        }
        let ctx = self.tracker.apply(rec);
        // The path is cloned only on error: this runs for every event.
        let format_err = |source| CaptureError::Format {
            path: self.path.clone(),
            source,
        };
        match &mut self.dest {
            Dest::Writer(writer) => {
                writer.write(rec, &ctx).map_err(format_err)?;
                // One comparison per record: the agent may be far behind
                // the kernel and drain many megabytes at once.
                let size_due = self
                    .rotation
                    .as_ref()
                    .and_then(|r| r.rotation.bytes)
                    .is_some_and(|max| writer.bytes_written() >= max);
                if size_due {
                    self.rotate(None)?;
                }
                Ok(())
            }
            Dest::Print(live) => {
                if live.encoder.push(rec, &ctx).map_err(format_err)? {
                    live.flush()?;
                }
                Ok(())
            }
        }
    }

    /// Events kept so far.
    fn events(&self) -> u64 {
        match &self.dest {
            Dest::Writer(writer) => writer.events(),
            Dest::Print(live) => live.events + u64::from(live.encoder.pending()),
        }
    }

    /// Bytes written so far (none when printing).
    fn bytes_written(&self) -> u64 {
        match &self.dest {
            Dest::Writer(writer) => writer.bytes_written(),
            Dest::Print(_) => 0,
        }
    }

    /// Finishes the current file and starts the next one, with the state
    /// as it is now: each file is a whole capture. `at`: a `-G` rotation at
    /// that event time (ns), which names the file and ends the window;
    /// none: by size, now.
    fn rotate(&mut self, at: Option<u64>) -> Result<(), CaptureError> {
        let Some(mut rotator) = self.rotation.take() else {
            return Ok(());
        };
        let result = self.rotate_with(&mut rotator, at);
        self.rotation = Some(rotator);
        result
    }

    fn rotate_with(&mut self, rotator: &mut Rotator, at: Option<u64>) -> Result<(), CaptureError> {
        let now = at.unwrap_or_else(host::realtime_ns);
        rotator.advance(at.is_some());
        if at.is_some() {
            rotator.slice_s = now / 1_000_000_000;
        }
        let path = rotator.name(now).map_err(|e| CaptureError::Output {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        let output_err = |path: &Path| {
            let path = path.to_owned();
            move |source| CaptureError::Output { path, source }
        };
        let file = create_private(&path).map_err(output_err(&path))?;
        let mut header = rotator.header.clone();
        header.start_ts = now;
        header.end_ts = 0;
        let format_err = |path: &Path| {
            let path = path.to_owned();
            move |source| CaptureError::Format { path, source }
        };
        let mut next = Writer::new(
            BufWriter::with_capacity(1 << 20, Out::File(file)),
            &header,
            WRITER,
        )
        .map_err(format_err(&path))?;
        next.write_snapshot(&self.tracker.snapshot(now))
            .map_err(format_err(&path))?;
        for sample in &self.cpu_baseline {
            let sample = Sample { ts: now, ..*sample };
            sample
                .with_record(|rec| {
                    let ctx = self.tracker.apply(rec);
                    next.write(rec, &ctx)
                })
                .map_err(format_err(&path))?;
        }
        let Dest::Writer(mut done) = std::mem::replace(&mut self.dest, Dest::Writer(next)) else {
            return Ok(());
        };
        let done_path = std::mem::replace(&mut self.path, path.clone());
        done.set_window(Window {
            start: rotator.start_ts,
            end: now,
        });
        rotator.done_events += done.events();
        let (out, _) = done.finish().map_err(format_err(&done_path))?;
        if let Out::File(file) = out
            .into_inner()
            .map_err(|e| output_err(&done_path)(e.into_error()))?
        {
            file.sync_all().map_err(output_err(&done_path))?;
        }
        rotator.done_files.push(done_path);
        self.rotated = true;
        rotator.start_ts = now;
        for gone in rotator.started(&path) {
            // Beyond -W: the oldest goes (already gone is fine).
            let _ = std::fs::remove_file(gone);
        }
        Ok(())
    }

    /// Finishes the file (synced) or the printing; its index and size.
    fn finish(self) -> Result<(Index, u64), CaptureError> {
        let output_err = |source| CaptureError::Output {
            path: self.path.clone(),
            source,
        };
        let format_err = self.format_err();
        match self.dest {
            Dest::Writer(writer) => {
                let (out, index) = writer.finish().map_err(format_err)?;
                match out.into_inner().map_err(|e| output_err(e.into_error()))? {
                    Out::File(file) => {
                        file.sync_all().map_err(output_err)?;
                        Ok((index, file.metadata().map_err(output_err)?.len()))
                    }
                    Out::Stdout(_, written) => Ok((index, written)),
                }
            }
            Dest::Print(live) => Ok((
                Index {
                    events: live.events,
                    ..Index::default()
                },
                0,
            )),
        }
    }

    /// Applies `rec` to the tracker without writing it.
    fn skip(&mut self, rec: &Record<'_>) {
        self.tracker.apply(rec);
    }
}

/// A staged record of a filtered capture: the ring bytes, a drop count, or
/// what the capture learned of containers.
enum Staged {
    Raw(std::ops::Range<usize>),
    Drop { count: u64, ts: u64 },
    Container { info: ContainerInfo, ts: u64 },
    Move(ContainerMove),
    Cpu(Sample),
}

impl Staged {
    /// Kept whatever the filter says: drops, and what readers need to name
    /// containers.
    fn always_kept(ty: EventType) -> bool {
        matches!(
            ty,
            EventType::DROP | EventType::CONTAINER | EventType::THREAD_INFO
        )
    }
}

/// Keeps the events a filter matches. The filter language evaluates decoded
/// events, so records are staged in a chunk (resolved by a tracker that runs
/// ahead), the chunk is decoded and filtered, then the staged records are
/// replayed through the sink's tracker and the matching ones written; both
/// trackers see every record, so names resolve as in an unfiltered capture.
struct FilterStage {
    filter: Filter,
    env: Env,
    ahead: Tracker,
    staging: ChunkEncoder,
    arena: Vec<u8>,
    staged: Vec<Staged>,
    decoder: ChunkDecoder,
    chunk: Chunk,
    verdicts: Vec<bool>,
    scratch: Vec<u8>,
}

impl FilterStage {
    fn new(filter: Filter, tracker: Tracker, capture_start: u64) -> io::Result<Self> {
        Ok(Self {
            filter,
            env: Env {
                capture_start,
                trigger_rule: String::new(),
                previous: None,
            },
            ahead: tracker,
            staging: ChunkEncoder::new(WriterOptions {
                level: 1,
                chunk_events: FILTER_BATCH,
                ..WriterOptions::default()
            })?,
            arena: Vec::with_capacity(4 << 20),
            staged: Vec::with_capacity(FILTER_BATCH as usize),
            decoder: ChunkDecoder::new(),
            chunk: Chunk::default(),
            verdicts: Vec::with_capacity(FILTER_BATCH as usize),
            scratch: Vec::new(),
        })
    }

    /// Stages one record; true when the batch is full.
    fn stage(
        &mut self,
        staged: Staged,
        rec: &Record<'_>,
        path: &Path,
    ) -> Result<bool, CaptureError> {
        let ctx = self.ahead.apply(rec);
        let full = self
            .staging
            .push(rec, &ctx)
            .map_err(|source| CaptureError::Format {
                path: path.to_owned(),
                source,
            })?;
        self.staged.push(staged);
        Ok(full)
    }

    /// Decides which staged records to keep and writes them to `sink`.
    fn flush(&mut self, decoder: &Decoder, sink: &mut Sink) -> Result<(), CaptureError> {
        let output_err = |source| CaptureError::Output {
            path: sink.path.clone(),
            source,
        };
        let Some(encoded) = self.staging.seal().map_err(output_err)? else {
            return Ok(());
        };
        self.decoder
            .decode_encoded(&encoded, self.filter.projection(), &mut self.chunk)
            .map_err(|source| CaptureError::Format {
                path: sink.path.clone(),
                source,
            })?;
        self.verdicts.clear();
        for e in self.chunk.events() {
            let keep = Staged::always_kept(e.ty())
                || self.filter.matches_with(&e, &self.env, &mut self.scratch);
            self.verdicts.push(keep);
        }
        for (staged, &keep) in self.staged.iter().zip(&self.verdicts) {
            match staged {
                Staged::Raw(range) => {
                    let raw = RawEvent::parse(&self.arena[range.clone()])?;
                    decoder.with_record(&raw, |rec| {
                        if keep {
                            sink.write(rec)
                        } else {
                            sink.skip(rec);
                            Ok(())
                        }
                    })?;
                }
                Staged::Drop { count, ts } => with_drop_record(*count, *ts, |rec| sink.write(rec))?,
                Staged::Container { info, ts } => {
                    with_container_record(info, *ts, |rec| sink.write(rec))?;
                }
                Staged::Move(moved) => moved.with_record(|rec| sink.write(rec))?,
                Staged::Cpu(sample) => sample.with_record(|rec| {
                    if keep {
                        sink.write(rec)
                    } else {
                        sink.skip(rec);
                        Ok(())
                    }
                })?,
            }
        }
        self.staged.clear();
        self.arena.clear();
        Ok(())
    }
}

/// Writes CPU samples as `procinfo` records (through the filter stage of a
/// filtered capture).
fn write_samples(
    samples: &[Sample],
    sink: &mut Sink,
    mut filter: Option<&mut FilterStage>,
    decoder: &Decoder,
) -> Result<(), CaptureError> {
    for sample in samples {
        match filter.as_deref_mut() {
            // A thread the capture does not know of is not described (and
            // one that exited since it was read stays gone).
            None if sink.tracker.thread(sample.tid).is_some() => {
                sample.with_record(|rec| sink.write(rec))?;
            }
            Some(stage) if stage.ahead.thread(sample.tid).is_some() => {
                let staged = Staged::Cpu(*sample);
                if sample.with_record(|rec| stage.stage(staged, rec, &sink.path))? {
                    stage.flush(decoder, sink)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Calls `f` with the record that says the kernel dropped `count` records.
fn with_drop_record<T>(count: u64, ts: u64, f: impl FnOnce(&Record<'_>) -> T) -> T {
    let args = [
        Arg::Int(i64::try_from(count).unwrap_or(i64::MAX)),
        Arg::Str(b"ring buffer full"),
    ];
    f(&Record {
        ty: EventType::DROP,
        ts,
        args: &args,
        ..Record::default()
    })
}

/// One running capture.
struct Session {
    probe: Probe,
    decoder: Decoder,
    sink: Sink,
    filter: Option<FilterStage>,
    drops_seen: u64,
    containers: ContainerWatch,
    /// When recording started (the header's start), ns since the epoch.
    start_ts: u64,
    /// The same moment on the monotonic clock: a duration counts from it,
    /// not from the end of the setup (snapshot, first CPU round) that
    /// follows, so that the window is as long as asked.
    recording_since: Instant,
    /// The file's header (the next files' too, when rotating).
    header: CaptureHeader,
    /// Threads' CPU time into the capture (not when printing live).
    cpu: Option<CpuSampler>,
    /// The first CPU samples, read as recording started, to be written.
    first_cpu: Vec<Sample>,
    /// When the next CPU round is due.
    next_cpu: Instant,
}

impl Session {
    /// Reads the queued records into the file (or the filter stage), with
    /// what they tell of containers; returns how many.
    fn drain(&mut self) -> Result<usize, CaptureError> {
        let Self {
            probe,
            decoder,
            sink,
            filter,
            containers,
            ..
        } = self;
        let mut result = Ok(());
        let n = probe.drain(|bytes| {
            if result.is_ok() {
                result = Self::take(bytes, decoder, sink, filter.as_mut(), containers);
            }
        });
        result?;
        let ts = host::realtime_ns();
        for info in self.containers.described() {
            match self.filter.as_mut() {
                None => with_container_record(&info, ts, |rec| self.sink.write(rec))?,
                Some(stage) => {
                    let path = &self.sink.path;
                    let full = with_container_record(&info, ts, |rec| {
                        stage.stage(
                            Staged::Container {
                                info: info.clone(),
                                ts,
                            },
                            rec,
                            path,
                        )
                    })?;
                    if full {
                        stage.flush(&self.decoder, &mut self.sink)?;
                    }
                }
            }
        }
        Ok(n)
    }

    fn take(
        bytes: &[u8],
        decoder: &Decoder,
        sink: &mut Sink,
        filter: Option<&mut FilterStage>,
        containers: &mut ContainerWatch,
    ) -> Result<(), CaptureError> {
        let raw = RawEvent::parse(bytes)?;
        let Some(stage) = filter else {
            return decoder.with_record(&raw, |rec| {
                sink.write(rec)?;
                match containers.after(rec, &sink.tracker) {
                    Some(moved) => moved.with_record(|rec| sink.write(rec)),
                    None => Ok(()),
                }
            });
        };
        let start = stage.arena.len();
        stage.arena.extend_from_slice(bytes);
        let staged = Staged::Raw(start..stage.arena.len());
        let full = decoder.with_record(&raw, |rec| {
            let full = stage.stage(staged, rec, &sink.path)?;
            match containers.after(rec, &stage.ahead) {
                Some(moved) => {
                    let staged = Staged::Move(moved.clone());
                    moved.with_record(|rec| stage.stage(staged, rec, &sink.path))
                }
                None => Ok(full),
            }
            .map(|more| full | more)
        })?;
        if full {
            stage.flush(decoder, sink)?;
        }
        Ok(())
    }

    /// Writes a drop record when the kernel's counters grew.
    fn record_drops(&mut self) -> Result<(), CaptureError> {
        let total = self.probe.drops()?;
        if total <= self.drops_seen {
            return Ok(());
        }
        let count = total - self.drops_seen;
        self.drops_seen = total;
        let ts = host::realtime_ns();
        let Some(stage) = self.filter.as_mut() else {
            return with_drop_record(count, ts, |rec| self.sink.write(rec));
        };
        let path = &self.sink.path;
        let full = with_drop_record(count, ts, |rec| {
            stage.stage(Staged::Drop { count, ts }, rec, path)
        })?;
        if full {
            stage.flush(&self.decoder, &mut self.sink)?;
        }
        Ok(())
    }

    /// A round of CPU samples when one is due ([`cpu::PERIOD`], or a new
    /// file started: it gets every thread's figure to count from).
    fn sample_cpu_when_due(&mut self, now: Instant) -> Result<(), CaptureError> {
        if std::mem::take(&mut self.sink.rotated)
            && let Some(cpu) = self.cpu.as_mut()
        {
            cpu.sample_everything_next();
        } else if now < self.next_cpu {
            return Ok(());
        }
        self.sample_cpu()?;
        // Once a second on average; a late round does not delay the next.
        self.next_cpu += cpu::PERIOD;
        if self.next_cpu <= now {
            self.next_cpu = now + cpu::PERIOD;
        }
        Ok(())
    }

    /// A round of CPU samples into the capture: `procinfo` records of the
    /// recorded threads that ran since the last round (all of them the
    /// first time), as the driver writes them.
    fn sample_cpu(&mut self) -> Result<(), CaptureError> {
        let Self {
            probe,
            decoder,
            sink,
            filter,
            cpu,
            ..
        } = self;
        let Some(cpu) = cpu.as_mut() else {
            return Ok(());
        };
        let pids = probe.traced_pids();
        let ts = host::realtime_ns();
        write_samples(cpu.round(pids.as_deref()), sink, filter.as_mut(), decoder)?;
        if sink.rotation.is_some() {
            cpu.known(ts, &mut sink.cpu_baseline);
        }
        Ok(())
    }

    /// Writes the CPU samples read as recording started.
    fn write_first_cpu(&mut self) -> Result<(), CaptureError> {
        let first = std::mem::take(&mut self.first_cpu);
        write_samples(&first, &mut self.sink, self.filter.as_mut(), &self.decoder)
    }

    /// After the loop: takes what the kernel queued before the stop and
    /// closes the window of the (last) file at the stop.
    fn finish_recording(&mut self) -> Result<(), CaptureError> {
        // The threads' CPU time up to the stop.
        self.sample_cpu()?;
        // The capture's window ends here; what the kernel queued before
        // is part of it (and may start another file when rotating).
        let end = host::realtime_ns();
        self.drain()?;
        self.record_drops()?;
        self.flush_live()?;
        let start = self
            .sink
            .rotation
            .as_ref()
            .map_or(self.start_ts, |r| r.start_ts);
        if let Dest::Writer(writer) = &mut self.sink.dest {
            writer.set_window(Window {
                start,
                end: end.max(start),
            });
        }
        Ok(())
    }

    /// Prints what the filter stage and the printer hold (live mode).
    fn flush_live(&mut self) -> Result<(), CaptureError> {
        if let Some(stage) = self.filter.as_mut() {
            stage.flush(&self.decoder, &mut self.sink)?;
        }
        match &mut self.sink.dest {
            Dest::Print(live) => live.flush(),
            Dest::Writer(_) => Ok(()),
        }
    }

    fn progress(&self, started: Instant) -> Progress {
        Progress {
            events: self.sink.events(),
            bytes: self.sink.bytes_written(),
            drops: self.drops_seen,
            elapsed: started.elapsed(),
        }
    }
}

/// Runs a capture to its end. `stop` is set by signal handlers; `status`
/// hears when recording starts, then a few times a second.
pub fn run(
    options: &CaptureOptions,
    stop: &AtomicBool,
    mut status: impl FnMut(Status<'_>),
) -> Result<CaptureReport, CaptureError> {
    let output_err = |source| CaptureError::Output {
        path: options.output.clone(),
        source,
    };
    let rotator = options
        .rotation
        .clone()
        .map(|r| Rotator::new(r, &options.output));
    let first = match &rotator {
        Some(r) => r
            .name(host::realtime_ns())
            .map_err(|e| output_err(io::Error::other(e)))?,
        None => options.output.clone(),
    };
    let out = match options.destination {
        Destination::File => Some(Out::File(create_private(&first).map_err(|source| {
            CaptureError::Output {
                path: first.clone(),
                source,
            }
        })?)),
        Destination::Stdout => Some(Out::Stdout(io::stdout(), 0)),
        Destination::Print(_) => None,
    };
    let (mut session, mut child) = match start(out, options, &mut status) {
        Ok(started) => started,
        Err(e) => {
            // Nothing was recorded: leave no half-written file behind.
            if matches!(options.destination, Destination::File) {
                let _ = std::fs::remove_file(&first);
            }
            return Err(e);
        }
    };
    session.sink.path.clone_from(&first);
    if let Some(mut r) = rotator {
        r.started(&first);
        r.header = session.header.clone();
        r.start_ts = session.start_ts;
        r.slice_s = session.start_ts / 1_000_000_000;
        session.sink.rotation = Some(r);
    }
    let started = session.recording_since;
    session.next_cpu = Instant::now() + cpu::PERIOD;
    // The first CPU samples, from which the next ones count.
    let recorded = session
        .write_first_cpu()
        .and_then(|()| {
            record_until_stop(
                &mut session,
                options,
                stop,
                child.as_mut(),
                started,
                &mut status,
            )
        })
        .and_then(|stopped| session.finish_recording().map(|()| stopped));
    let Session {
        probe,
        sink,
        drops_seen,
        ..
    } = session;
    let (mut done_files, done_events) = sink
        .rotation
        .as_ref()
        .map(|r| (r.done_files.clone(), r.done_events))
        .unwrap_or_default();
    done_files.push(sink.path.clone());
    drop(probe);
    let (stopped_by, mut exit_status) = match recorded {
        Ok(stopped) => stopped,
        Err(e) => {
            // Keep what was recorded: finish the file if the disk lets us
            // (if not, readers still recover every complete chunk).
            if let Dest::Writer(writer) = sink.dest {
                let _ = writer.finish();
            }
            return Err(e);
        }
    };
    if let (Some(c), None) = (child.as_mut(), exit_status) {
        // Stopped early (signal, size): the command keeps running on its own.
        exit_status = c.try_wait().ok().flatten();
    }

    let (index, bytes) = sink.finish()?;
    Ok(CaptureReport {
        events: done_events + index.events,
        files: done_files,
        index,
        bytes,
        drops: drops_seen,
        elapsed: started.elapsed(),
        stopped_by,
        exit_status,
    })
}

/// Creates the capture file `path`, readable by this user alone (0600):
/// a capture holds what other users' programs read and wrote. A regular
/// file already there is replaced, never written into, as its owner, its
/// mode or a descriptor someone holds on it would show the capture to
/// others; anything else there (a symlink, a device, a directory) is
/// refused.
pub fn create_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if !std::fs::symlink_metadata(path)?.file_type().is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "it exists and is not a regular file (a capture replaces a file, never a symlink, a device or a directory)",
                ));
            }
            std::fs::remove_file(path)?;
            create()
        }
        created => created,
    }
}

/// Loads and attaches the kernel side, snapshots `/proc`, starts the file
/// and the command: from here on every event is recorded.
fn start(
    out: Option<Out>,
    options: &CaptureOptions,
    status: &mut impl FnMut(Status<'_>),
) -> Result<(Session, Option<Child>), CaptureError> {
    let output_err = |source| CaptureError::Output {
        path: options.output.clone(),
        source,
    };
    let self_pid = std::process::id();
    let mut probe_config = options.probe.clone();
    if !options.command.is_empty() {
        // The agent itself is never recorded, but its children are: the
        // kernel adds the command to the traced set when we fork it.
        let mut pids = probe_config.pids.take().unwrap_or_default();
        pids.push(self_pid);
        probe_config.pids = Some(pids);
    }
    if let Some(types) = options.filter.as_ref().and_then(Filter::event_types) {
        // Only what the filter can match, plus what keeps names right.
        let mut set: Vec<u16> = types.map(|t| t.0).filter(|&n| n < 512).collect();
        set.extend((0..512).filter(|&n| changes_state(EventType(n))));
        if let Some(only) = &probe_config.syscalls {
            set.retain(|n| only.contains(n));
        }
        probe_config.syscalls = Some(set);
    }
    let mut probe = Probe::load(&probe_config)?;
    probe.attach()?;

    let boot_to_epoch = host::boot_to_epoch_ns();
    let start_ts = host::realtime_ns();
    let recording_since = Instant::now();
    let (mut cpu, mut first_cpu) = first_cpu_samples(options, &probe);
    // Process start times count from boot, like the eBPF clock.
    let snapshot = procfs::snapshot(
        Path::new("/proc"),
        Path::new("/etc"),
        start_ts,
        boot_to_epoch,
    );
    if let Some(roots) = &probe_config.pids {
        trace_descendants(&mut probe, &snapshot, roots, cpu.as_mut(), &mut first_cpu)?;
    }
    let mut header: CaptureHeader = host::header(start_ts);
    header.filter.clone_from(&options.filter_text);
    header.snaplen = options.probe.snaplen;
    if let Some(d) = options.duration {
        header.end_ts = start_ts.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }
    let dest = open_dest(out, options, &header, &snapshot, start_ts)?;
    let mut tracker = Tracker::from_snapshot(&snapshot);
    let processes = snapshot.processes.len();
    drop(snapshot);
    let lookups = match &options.runtimes {
        Some(sockets) if sockets.any() => {
            Some(Lookups::start(sockets.clone()).map_err(CaptureError::Lookups)?)
        }
        _ => None,
    };
    let mut containers = ContainerWatch::new(Path::new("/proc"), lookups);
    containers.describe_known(&tracker);

    // Everything that can fail comes before the command starts, so a failed
    // start never leaves a command running unwatched.
    let mut filter = match options.filter.clone() {
        Some(f) => {
            let ahead = Tracker::from_snapshot(&tracker.snapshot(start_ts));
            Some(FilterStage::new(f, ahead, start_ts).map_err(output_err)?)
        }
        None => None,
    };
    let child = match options.command.split_first() {
        Some((program, args)) => {
            // The capture itself is on stdout with `-o -`: the command's
            // output goes to stderr instead, not into the capture's bytes.
            let stdout_to_stderr = matches!(options.destination, Destination::Stdout);
            let (child, process, thread) =
                spawn(program, args, &tracker, self_pid, stdout_to_stderr)?;
            for t in std::iter::once(&mut tracker).chain(filter.as_mut().map(|f| &mut f.ahead)) {
                t.insert_process(process.clone());
                t.insert_thread(thread.clone());
            }
            Some(child)
        }
        None => None,
    };
    status(Status::Started {
        processes,
        command_pid: child.as_ref().map(Child::id),
    });
    let session = Session {
        probe,
        decoder: Decoder::new(boot_to_epoch),
        sink: Sink {
            dest,
            rotation: None,
            rotated: false,
            cpu_baseline: Vec::new(),
            tracker,
            path: options.output.clone(),
        },
        filter,
        drops_seen: 0,
        containers,
        start_ts,
        recording_since,
        header,
        cpu,
        first_cpu,
        next_cpu: Instant::now(),
    };
    Ok((session, child))
}

/// The CPU sampler of a capture (none when printing live) and the threads'
/// CPU time at the start, from which the next samples count (written once
/// the snapshot names the threads).
fn first_cpu_samples(options: &CaptureOptions, probe: &Probe) -> (Option<CpuSampler>, Vec<Sample>) {
    if matches!(options.destination, Destination::Print(_)) {
        return (None, Vec::new());
    }
    let mut cpu = CpuSampler::new(PathBuf::from("/proc"), options.probe.comm.clone());
    let first = cpu.round(probe.traced_pids().as_deref()).to_vec();
    (Some(cpu), first)
}

/// The capture's file (or stdout) with its header and starting state, or
/// with no output, the live printer.
fn open_dest(
    out: Option<Out>,
    options: &CaptureOptions,
    header: &CaptureHeader,
    snapshot: &capture_format::state::Snapshot,
    start_ts: u64,
) -> Result<Dest, CaptureError> {
    let format_err = |source| CaptureError::Format {
        path: options.output.clone(),
        source,
    };
    if let Some(out) = out {
        let out = BufWriter::with_capacity(1 << 20, out);
        let mut writer = Writer::new(out, header, WRITER).map_err(format_err)?;
        writer.write_snapshot(snapshot).map_err(format_err)?;
        return Ok(Dest::Writer(writer));
    }
    let format = match &options.destination {
        Destination::Print(format) => format.clone(),
        Destination::File | Destination::Stdout => inspect_cli::print::Format::Default,
    };
    let live = LivePrinter::new(format, start_ts).map_err(|source| CaptureError::Output {
        path: options.output.clone(),
        source,
    })?;
    Ok(Dest::Print(Box::new(live)))
}

/// Traces the processes of `snapshot` below `roots` (the kernel adds
/// children forked from now on), with their first CPU samples.
fn trace_descendants(
    probe: &mut Probe,
    snapshot: &capture_format::state::Snapshot,
    roots: &[u32],
    cpu: Option<&mut CpuSampler>,
    first_cpu: &mut Vec<Sample>,
) -> Result<(), CaptureError> {
    for pid in descendants(snapshot, roots) {
        probe.trace_pid(pid)?;
    }
    if let Some(cpu) = cpu {
        first_cpu.extend_from_slice(cpu.round(probe.traced_pids().as_deref()));
    }
    Ok(())
}

/// Processes of `snapshot` below any of `roots` (not the roots).
fn descendants(snapshot: &capture_format::state::Snapshot, roots: &[u32]) -> Vec<u32> {
    let mut children: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for p in &snapshot.processes {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut out = Vec::new();
    let mut todo: Vec<i64> = roots.iter().map(|&r| i64::from(r)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if seen.insert(child) {
                out.extend(u32::try_from(child));
                todo.push(child);
            }
        }
    }
    out
}

/// The capture loop: read the ring until something says stop.
fn record_until_stop(
    session: &mut Session,
    options: &CaptureOptions,
    stop: &AtomicBool,
    mut child: Option<&mut Child>,
    started: Instant,
    status: &mut impl FnMut(Status<'_>),
) -> Result<(StopReason, Option<ExitStatus>), CaptureError> {
    let deadline = options.duration.map(|d| started + d);
    let live = matches!(options.destination, Destination::Print(_));
    let mut last_tick = started;
    let mut drained = 0;
    loop {
        if drained < BUSY_DRAIN {
            session.probe.wait(POLL_INTERVAL)?;
        }
        drained = session.drain()?;
        let now = Instant::now();
        if now.duration_since(last_tick) >= TICK {
            last_tick = now;
            session.record_drops()?;
            status(Status::Running(&session.progress(started)));
        }
        session.sample_cpu_when_due(now)?;
        if let Some(c) = child.as_deref_mut() {
            let exited = c.try_wait().map_err(|source| CaptureError::Spawn {
                command: display_command(&options.command),
                source,
            })?;
            if let Some(exit) = exited {
                return Ok((StopReason::CommandExited, Some(exit)));
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok((StopReason::Signal, None));
        }
        if deadline.is_some_and(|d| now >= d) {
            return Ok((StopReason::Duration, None));
        }
        if live {
            // Live: what was read is printed now, not when a batch fills.
            session.flush_live()?;
        }
        if options
            .max_size
            .is_some_and(|max| session.sink.bytes_written() >= max)
        {
            return Ok((StopReason::MaxSize, None));
        }
    }
}

fn display_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts the command. The kernel traces it from its first instruction: the
/// agent is in the traced set, so the fork adds the child. Returns what the
/// trackers should know of it: until its exec is seen, a copy of the agent.
fn spawn(
    program: &OsString,
    args: &[OsString],
    tracker: &Tracker,
    self_pid: u32,
    stdout_to_stderr: bool,
) -> Result<(Child, ProcessInfo, ThreadInfo), CaptureError> {
    let spawn_err = |source| CaptureError::Spawn {
        command: program.to_string_lossy().into_owned(),
        source,
    };
    let mut command = Command::new(program);
    command.args(args);
    if stdout_to_stderr {
        use std::os::fd::AsFd as _;
        let stderr = io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(spawn_err)?;
        command.stdout(stderr);
    }
    let child = command.spawn().map_err(spawn_err)?;
    let pid = i64::from(child.id());
    let mut process = tracker
        .process(i64::from(self_pid))
        .cloned()
        .unwrap_or_default();
    process.key = 0;
    process.pid = pid;
    process.vpid = pid;
    process.ppid = i64::from(self_pid);
    process.start_ts = host::realtime_ns();
    let comm = tracker
        .thread(i64::from(self_pid))
        .map(|t| t.comm.clone())
        .unwrap_or_default();
    let thread = ThreadInfo {
        tid: pid,
        pid,
        vtid: pid,
        comm,
        ..ThreadInfo::default()
    };
    Ok((child, process, thread))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -G rotates by the events' time, in whole seconds from the slice's
    /// start second, as sysdig's cycle writer.
    #[test]
    fn timed_rotation_is_due_by_event_time() {
        const S: u64 = 1_000_000_000;
        // (-G, slice start second, event time in ns, due at)
        let cases: &[(Option<u64>, u64, u64, Option<u64>)] = &[
            (Some(2), 100, 101 * S + S - 1, None),
            (Some(2), 100, 102 * S, Some(102)),
            (Some(2), 100, 105 * S + 7, Some(105)),
            // An event before the slice (its entry was earlier): not due.
            (Some(2), 100, 99 * S, None),
            (None, 100, 200 * S, None),
        ];
        for &(every, slice_s, ts, want) in cases {
            let mut r = Rotator::new(
                Rotation {
                    every: every.map(Duration::from_secs),
                    ..Rotation::default()
                },
                Path::new("t-%H%M%S.syscap"),
            );
            r.slice_s = slice_s;
            assert_eq!(r.due(ts), want, "-G {every:?} from {slice_s}: {ts}");
        }
    }

    /// File names as sysdig's -C/-G/-W make them.
    #[test]
    fn rotated_files_are_named_as_sysdig_names_them() {
        const MB: Option<u64> = Some(1_000_000);
        const SECOND: Option<Duration> = Some(Duration::from_secs(1));
        // 2026-07-01T12:00:00Z: the same year in every time zone.
        let july = 1_782_907_200_000_000_000;
        // (-C, -G, -W, template, file number, name)
        let cases = [
            (MB, None, None, "t.syscap", 0, "t.syscap0"),
            (MB, None, None, "t.syscap", 7, "t.syscap7"),
            (MB, None, Some(3), "t.syscap", 7, "t.syscap1"),
            (None, SECOND, None, "t.syscap", 2, "t.syscap2"),
            (None, SECOND, Some(3), "t-%Y.syscap", 5, "t-2026.syscap"),
            (MB, SECOND, None, "t-%Y.syscap", 4, "t-2026.syscap4"),
        ];
        for (bytes, every, keep, template, number, want) in cases {
            let mut r = Rotator::new(Rotation { bytes, every, keep }, Path::new(template));
            r.number = number;
            assert_eq!(
                r.name(july).unwrap(),
                PathBuf::from(want),
                "{template} {number}"
            );
        }
        // -W keeps the last files: the oldest goes; a name written again
        // (numbers wrapping) is not counted twice.
        let mut r = Rotator::new(
            Rotation {
                keep: Some(2),
                ..Rotation::default()
            },
            Path::new("t"),
        );
        let gone: Vec<Vec<PathBuf>> = ["a", "b", "a", "c"]
            .iter()
            .map(|p| r.started(Path::new(p)))
            .collect();
        assert_eq!(gone, [vec![], vec![], vec![], vec![PathBuf::from("b")]]);
    }
}
