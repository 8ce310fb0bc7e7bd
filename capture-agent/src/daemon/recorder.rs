//! The recorder thread: every system call of the host into the pre-trigger
//! ring, the rules evaluated on each sealed chunk and on metrics sampled
//! every second, and the chunks handed to the running captures.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use capture_format::event::{Arg, EventType, Record, is_error_return, nr};
use capture_format::file::{Chunk, ChunkEncoder, Decoder, EncodedChunk, Projection, WriterOptions};
use capture_format::state::{Tracker, with_container_record};
use triggers::filter::{Env, Filter, ProcessFacts};
use triggers::rules::{Engine, Firing, MetricSample, Refusal, RuleSet};

use super::DaemonError;
use super::metrics::{self, Metrics};
use super::ring::{PreTriggerRing, RingChunk};
use super::sampler::{HostSampler, ProcessSampler};
use super::session::{self, Feed, Offered, Outlets, SessionDone, SessionSpec};
use super::spool::Spool;
use crate::config::AgentConfig;
use crate::containers::{ContainerWatch, Lookups};
use crate::cpu::CpuSampler;
use crate::host;
use crate::kernel::abi::RawEvent;
use crate::kernel::recipes::Decoder as RecordDecoder;
use crate::kernel::{BUSY_DRAIN, Probe, ProbeConfig};
use crate::procfs;

/// How often the kernel ring is read when it does not wake us.
const POLL: Duration = Duration::from_millis(5);
/// Ring chunks span at most this long: the granularity of `before`.
const CHUNK_SPAN_NS: u64 = 1_000_000_000;
/// A state snapshot is kept every this many chunks.
const SNAPSHOT_EVERY: u64 = 5;

/// What the rest of the agent asks the recorder.
#[derive(Debug)]
pub enum Command {
    /// Start a capture of a rule by hand.
    Trigger {
        /// The rule.
        rule: String,
        /// History, instead of the rule's `before`.
        before_ns: Option<u64>,
        /// Length after, instead of the rule's `after`.
        after_ns: Option<u64>,
        /// A filter the capture keeps to, with the rule's own.
        filter: Option<String>,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    /// Alerts from Alertmanager: each firing one starts the captures of
    /// the rules it matches.
    Alerts {
        /// The alerts of one webhook post.
        alerts: Vec<super::alerts::ReceivedAlert>,
        /// What happened, in words.
        reply: tokio::sync::oneshot::Sender<String>,
    },
    /// Figures for `status`.
    Status {
        /// Where they go.
        reply: tokio::sync::oneshot::Sender<serde_json::Value>,
    },
    /// New rules (already validated).
    Reload(RuleSet),
    /// Finish the captures and stop.
    Stop,
}

/// The recorder's state.
struct Recorder {
    probe: Probe,
    records: RecordDecoder,
    tracker: Tracker,
    encoder: ChunkEncoder,
    chunk_started: Instant,
    ring: PreTriggerRing,
    seq: u64,
    engine: Engine,
    decoder: Decoder,
    chunk: Chunk,
    env: Env,
    firings: Vec<Firing>,
    running: Vec<Feed>,
    done_tx: Sender<SessionDone>,
    done_rx: Receiver<SessionDone>,
    spool: Spool,
    config: AgentConfig,
    metrics: Arc<Metrics>,
    wake_uploader: Arc<tokio::sync::Notify>,
    drops_seen: u64,
    host_sample: HostSampler,
    process_sample: ProcessSampler,
    /// Bytes of each buffer the ring keeps when no capture asks for more.
    base_snaplen: u32,
    /// Bytes of each buffer the kernel records now.
    snaplen: u32,
    /// Processes moving into containers, and what their runtimes say.
    containers: ContainerWatch,
    /// Threads' CPU time, into the ring each second.
    cpu: CpuSampler,
}

/// Starts recording: loads the kernel side, snapshots `/proc`. Errors here
/// stop the agent before it reports itself running.
pub fn start(
    config: AgentConfig,
    rules: RuleSet,
    spool: Spool,
    metrics: Arc<Metrics>,
    wake_uploader: Arc<tokio::sync::Notify>,
) -> Result<(Sender<Command>, std::thread::JoinHandle<()>), DaemonError> {
    let probe_config = ProbeConfig {
        ring_bytes: config.kernel_ring_bytes,
        latency: config.latency,
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(&probe_config)?;
    probe.attach()?;
    let boot_to_epoch = host::boot_to_epoch_ns();
    let now = host::realtime_ns();
    let snapshot = procfs::snapshot(&config.proc_root, Path::new("/etc"), now, boot_to_epoch);
    let tracker = Tracker::from_snapshot(&snapshot);
    let lookups = if config.runtimes.any() {
        Some(
            Lookups::start(config.runtimes.clone()).map_err(|source| DaemonError::Setup {
                what: "cannot start the container lookups".into(),
                source,
            })?,
        )
    } else {
        None
    };
    let mut containers = ContainerWatch::new(&config.proc_root, lookups);
    let process_sample = ProcessSampler::new(config.proc_root.clone());
    let cpu = CpuSampler::new(config.proc_root.clone(), None);
    containers.describe_known(&tracker);
    let (tx, rx) = channel();
    let (done_tx, done_rx) = channel();
    let encoder = ChunkEncoder::new(WriterOptions {
        level: 1,
        chunk_span_ns: CHUNK_SPAN_NS,
        ..WriterOptions::default()
    })
    .map_err(|source| DaemonError::Setup {
        what: "cannot start the chunk encoder".into(),
        source,
    })?;
    let mut recorder = Recorder {
        probe,
        records: RecordDecoder::new(boot_to_epoch),
        tracker,
        encoder,
        chunk_started: Instant::now(),
        ring: PreTriggerRing::new(config.ring_bytes, config.ring_seconds, snapshot),
        seq: 0,
        engine: Engine::new(rules),
        decoder: Decoder::new(),
        chunk: Chunk::default(),
        env: Env {
            capture_start: now,
            trigger_rule: String::new(),
            previous: None,
        },
        firings: Vec::new(),
        running: Vec::new(),
        done_tx,
        done_rx,
        spool,
        config,
        metrics,
        wake_uploader,
        drops_seen: 0,
        host_sample: HostSampler::default(),
        process_sample,
        base_snaplen: probe_config.snaplen,
        snaplen: probe_config.snaplen,
        containers,
        cpu,
    };
    let handle = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || recorder.run(&rx))
        .map_err(|source| DaemonError::Setup {
            what: "cannot start the recorder thread".into(),
            source,
        })?;
    Ok((tx, handle))
}

impl Recorder {
    fn run(&mut self, commands: &Receiver<Command>) {
        let mut last_tick = Instant::now();
        let mut drained = 0;
        self.metrics.heartbeat.beat();
        loop {
            if drained < BUSY_DRAIN
                && let Err(e) = self.probe.wait(POLL)
            {
                tracing::error!("reading the kernel ring failed: {e}");
            }
            drained = self.drain();
            if self.chunk_started.elapsed() >= Duration::from_secs(1) {
                self.seal();
            }
            // A capture that ended frees its slot (its receiver is gone, so
            // the next seal forgets it).
            while self.done_rx.try_recv().is_ok() {
                self.engine.capture_finished();
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                // Rates count sealed chunks: seal first, so each sample
                // covers exactly the second before it.
                self.seal();
                self.tick();
                self.metrics.heartbeat.beat();
            }
            loop {
                match commands.try_recv() {
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                        self.stop();
                        return;
                    }
                    Ok(c) => self.command(c),
                    Err(TryRecvError::Empty) => break,
                }
            }
        }
    }

    /// The queued kernel records into the open chunk, with what they tell
    /// of containers; returns how many.
    fn drain(&mut self) -> usize {
        let Self {
            probe,
            records,
            tracker,
            encoder,
            metrics,
            containers,
            ..
        } = self;
        let mut full = false;
        let mut push = |rec: &Record<'_>, tracker: &mut Tracker| {
            let ctx = tracker.apply(rec);
            match encoder.push(rec, &ctx) {
                Ok(f) => full |= f,
                Err(e) => tracing::warn!("a record was refused: {e}"),
            }
        };
        let n = probe.drain(|bytes| {
            let Ok(raw) = RawEvent::parse(bytes) else {
                return;
            };
            records.with_record(&raw, |rec| {
                push(rec, tracker);
                if let Some(moved) = containers.after(rec, tracker) {
                    moved.with_record(|rec| push(rec, tracker));
                }
            });
        });
        let ts = host::realtime_ns();
        for info in containers.described() {
            with_container_record(&info, ts, |rec| push(rec, tracker));
        }
        metrics.events.fetch_add(n as u64, Ordering::Relaxed);
        if full {
            self.seal();
        }
        n
    }

    /// Seals the open chunk into the ring, evaluates the rules on it and
    /// hands it to the captures.
    fn seal(&mut self) {
        self.chunk_started = Instant::now();
        let sealed = match self.encoder.seal() {
            Ok(Some(c)) => c,
            Ok(None) => {
                // Nothing recorded since the last seal: the firings of
                // metric and process rules start anyway.
                self.start_firings();
                return;
            }
            Err(e) => {
                tracing::error!("sealing a chunk failed: {e}");
                self.start_firings();
                return;
            }
        };
        self.seq += 1;
        let chunk = Arc::new(sealed);
        self.evaluate(&chunk);
        let ring_chunk = RingChunk {
            seq: self.seq,
            chunk: chunk.clone(),
        };
        self.ring.push(ring_chunk.clone());
        if self.seq.is_multiple_of(SNAPSHOT_EVERY) {
            let ts = chunk.summary.ts_max;
            self.ring.add_snapshot(self.seq, self.tracker.snapshot(ts));
        }
        metrics::set(&self.metrics.ring_bytes, self.ring.bytes());
        metrics::set(&self.metrics.ring_chunks, self.ring.len() as u64);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a gauge"
        )]
        metrics::set(
            &self.metrics.ring_span_ms,
            (self.ring.seconds() * 1000.0) as u64,
        );
        let first = self.ring.first_seq().unwrap_or(self.seq);
        let allowance = self.config.ring_bytes;
        self.running
            .retain_mut(|feed| match feed.offer(&ring_chunk, first, allowance) {
                Offered::Sent => true,
                // Its receiver is gone, or it was cut short (and says so
                // when it has finished with what it was sent).
                Offered::Ended | Offered::FellBehind => false,
            });
        self.update_snaplen();
        self.start_firings();
    }

    fn start_firings(&mut self) {
        for f in std::mem::take(&mut self.firings) {
            self.begin(f);
        }
        self.refresh_refusals();
    }

    /// Firings refused by cooldowns and the capture limit, for the metric.
    fn refresh_refusals(&self) {
        let refused = self.engine.refusals().map(|(_, _, n)| n).sum();
        metrics::set(&self.metrics.firings_refused, refused);
    }

    /// The rules' event conditions on the events of `chunk`, and the rates
    /// the metric conditions use.
    fn evaluate(&mut self, chunk: &EncodedChunk) {
        if self
            .decoder
            .decode_encoded(chunk, Projection::ALL, &mut self.chunk)
            .is_err()
        {
            return;
        }
        for e in self.chunk.events() {
            let error = e.returned() && is_error_return(e.ret());
            let connection = matches!(e.ty().0, nr::CONNECT | nr::ACCEPT | nr::ACCEPT4);
            self.host_sample.count(error, connection);
            self.process_sample.count(e.pid(), error, connection);
            self.engine.on_event(&e, &self.env, &mut self.firings);
        }
    }

    /// The threads that ran since the last second, as `procinfo` records
    /// (every thread that used any CPU the first time).
    fn sample_cpu(&mut self) {
        let Self {
            cpu,
            tracker,
            encoder,
            metrics,
            ..
        } = self;
        let mut full = false;
        for sample in cpu.round(None) {
            // A thread the recording does not know of is not described
            // (and one that exited since it was read stays gone).
            if tracker.thread(sample.tid).is_none() {
                continue;
            }
            sample.with_record(|rec| {
                let ctx = tracker.apply(rec);
                match encoder.push(rec, &ctx) {
                    Ok(f) => full |= f,
                    Err(e) => tracing::warn!("a CPU sample was refused: {e}"),
                }
            });
        }
        let cost = cpu.cost();
        metrics::set(&metrics.cpu_threads, cost.threads_followed as u64);
        metrics::set(
            &metrics.cpu_round_us,
            u64::try_from(cost.elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        tracing::debug!("CPU samples: {cost:?}");
        if full {
            self.seal();
        }
    }

    /// Once a second: CPU samples, kernel drops, metric samples, processes.
    fn tick(&mut self) {
        self.sample_cpu();
        if let Ok(total) = self.probe.drops()
            && total > self.drops_seen
        {
            let count = total - self.drops_seen;
            self.drops_seen = total;
            self.metrics.drops.store(total, Ordering::Relaxed);
            let args = [
                Arg::Int(i64::try_from(count).unwrap_or(i64::MAX)),
                Arg::Str(b"ring buffer full"),
            ];
            let rec = Record {
                ty: EventType::DROP,
                ts: host::realtime_ns(),
                args: &args,
                ..Record::default()
            };
            let ctx = self.tracker.apply(&rec);
            let _ = self.encoder.push(&rec, &ctx);
        }
        let ts = host::realtime_ns();
        let mut firings = Vec::new();
        for (metric, value) in self.host_sample.take() {
            self.engine.on_metric(
                &MetricSample {
                    ts,
                    metric,
                    value,
                    process: None,
                },
                &mut firings,
            );
        }
        let processes = self.process_facts();
        let watched: Vec<_> = self.engine.process_metrics().collect();
        let samples = self.process_sample.take(ts, &watched, &processes);
        for sample in &samples {
            self.engine.on_metric(sample, &mut firings);
        }
        self.engine.on_processes(ts, &processes, &mut firings);
        self.firings.extend(firings);
        // Firings start at the next seal, with the chunk that holds them.
        if !self.firings.is_empty() {
            self.seal();
        }
    }

    fn process_facts(&self) -> Vec<ProcessFacts> {
        let comm = |pid: i64| {
            self.tracker
                .thread(pid)
                .map(|t| t.comm.clone())
                .unwrap_or_default()
        };
        self.tracker
            .processes()
            .map(|p| ProcessFacts {
                pid: u64::try_from(p.pid).unwrap_or(0),
                ppid: u64::try_from(p.ppid).unwrap_or(0),
                name: comm(p.pid),
                exe: p.exe.clone(),
                exepath: p.exepath.clone(),
                args: p.args.split(|&b| b == 0).collect::<Vec<_>>().join(&b' '),
                cwd: p.cwd.clone(),
                uid: u64::from(p.uid),
                user: p.user.clone(),
                container_id: p.container_id.clone(),
            })
            .collect()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Trigger {
                rule,
                before_ns,
                after_ns,
                filter,
                reply,
            } => {
                // Checked before the rule fires, so that a bad filter costs
                // the rule no cooldown and no slot.
                if let Some(Err(e)) = filter.as_deref().map(Filter::per_event) {
                    let _ = reply.send(Err(format!("filter: {e}")));
                    return;
                }
                let ts = host::realtime_ns();
                let answer = match self.engine.trigger(&rule, ts) {
                    Ok(mut firing) => {
                        if let Some(extra) = &filter {
                            let text = match &firing.filter {
                                Some(own) => format!("({}) and ({extra})", own.text()),
                                None => extra.clone(),
                            };
                            // Two filters that compile each compile joined;
                            // should that ever fail, the capture is refused
                            // rather than run wider than asked.
                            match Filter::per_event(&text) {
                                Ok(joined) => firing.filter = Some(joined),
                                Err(e) => {
                                    let _ = reply.send(Err(format!("filter {text:?}: {e}")));
                                    return;
                                }
                            }
                        }
                        if let Some(b) = before_ns {
                            firing.capture.before = b;
                        }
                        if let Some(a) = after_ns {
                            firing.capture.after = a;
                        }
                        let message = format!(
                            "capture of rule {rule} started: {:.1} s before, {:.1} s after",
                            firing.capture.before as f64 / 1e9,
                            firing.capture.after as f64 / 1e9
                        );
                        self.begin(firing);
                        Ok(message)
                    }
                    Err(refusal) => {
                        self.refresh_refusals();
                        Err(match refusal {
                            Refusal::UnknownRule => format!("no rule named {rule}"),
                            Refusal::Cooldown => format!("rule {rule} is in its cooldown"),
                            Refusal::TooManyCaptures => {
                                "as many captures as allowed are running".to_owned()
                            }
                        })
                    }
                };
                let _ = reply.send(answer);
            }
            Command::Alerts { alerts, reply } => {
                let _ = reply.send(self.alerts(&alerts));
            }
            Command::Status { reply } => {
                let _ = reply.send(serde_json::json!({
                    "host": self.config.host,
                    "events": self.metrics.events.load(Ordering::Relaxed),
                    "kernel_drops": self.drops_seen,
                    "ring": {
                        "chunks": self.ring.len(),
                        "bytes": self.ring.bytes(),
                        "seconds": self.ring.seconds(),
                    },
                    "captures_running": self.running.iter().map(|r| serde_json::json!({
                        "rule": r.rule,
                        "start": r.window.start,
                        "end": r.window.end,
                    })).collect::<Vec<_>>(),
                    "captures_finished": self.metrics.captures_finished.load(Ordering::Relaxed),
                    "uploads_pending": self.metrics.uploads_pending.load(Ordering::Relaxed),
                    "uploads_done": self.metrics.uploads_done.load(Ordering::Relaxed),
                    "spool_bytes": self.metrics.spool_bytes.load(Ordering::Relaxed),
                    "spool_dropped": self.metrics.spool_dropped.load(Ordering::Relaxed),
                    "captures_lost": self.metrics.captures_lost.load(Ordering::Relaxed),
                    "storage": self.config.storage.to_string(),
                }));
            }
            Command::Reload(rules) => {
                let empty = RuleSet {
                    rules: Vec::new(),
                    max_concurrent_captures: 0,
                };
                let old = std::mem::replace(&mut self.engine, Engine::new(empty));
                self.engine = old.reload(rules);
                tracing::info!("rules reloaded");
            }
            Command::Stop => {}
        }
    }

    /// Hands `alerts` to the rules; starts the captures they fire. Says
    /// what happened, in one line.
    fn alerts(&mut self, alerts: &[super::alerts::ReceivedAlert]) -> String {
        let ts = host::realtime_ns();
        let mut firings = Vec::new();
        let (mut matched, mut resolved) = (0, 0);
        for a in alerts {
            resolved += usize::from(!a.firing);
            let alert = triggers::rules::Alert {
                name: &a.name,
                labels: &a.labels,
                fingerprint: &a.fingerprint,
                firing: a.firing,
            };
            matched += self.engine.on_alert(&alert, ts, &mut firings);
        }
        let started: Vec<String> = firings.iter().map(|f| f.rule.clone()).collect();
        for firing in firings {
            self.begin(firing);
        }
        self.refresh_refusals();
        let mut message = format!(
            "{} alerts ({resolved} resolved): {} captures started",
            alerts.len(),
            started.len()
        );
        if !started.is_empty() {
            let _ = write!(message, " (rules {})", started.join(", "));
        }
        let refused = matched - started.len();
        if refused > 0 {
            let _ = write!(
                message,
                ", {refused} matches refused (same alert within the cooldown, cooldown or too many captures)"
            );
        }
        tracing::info!("alerts: {message}");
        message
    }

    /// Starts the capture of a firing: history from the ring, then every
    /// chunk from now on.
    fn begin(&mut self, firing: Firing) {
        metrics::inc(&self.metrics.captures_started);
        // Room for it first: the oldest captures go if the spool is full.
        self.spool.enforce_bound(&self.metrics);
        let since = firing.ts.saturating_sub(firing.capture.before);
        let until = firing.ts.saturating_add(firing.capture.after);
        let (snapshot, history) = self.ring.history(since);
        let mut header = host::header(since);
        header.hostname.clone_from(&self.config.host);
        header.labels.clone_from(&self.config.labels);
        header.filter = firing
            .filter
            .as_ref()
            .map(|f| f.text().to_owned())
            .unwrap_or_default();
        header.snaplen = firing.capture.snaplen;
        header.tags.clone_from(&firing.capture.tags);
        header
            .storage_prefix
            .clone_from(&firing.capture.storage_prefix);
        let max_bytes = match firing.capture.max_size {
            0 => self.config.capture_bytes,
            n => n.min(self.config.capture_bytes),
        };
        tracing::info!(
            "rule {} fired ({}): capturing from {:.1} s before to {:.1} s after",
            firing.rule,
            firing.reason,
            firing.capture.before as f64 / 1e9,
            firing.capture.after as f64 / 1e9
        );
        let spec = SessionSpec {
            rule: firing.rule.clone(),
            reason: firing.reason,
            trigger_ts: firing.ts,
            since,
            until,
            filter: firing.filter,
            snaplen: firing.capture.snaplen,
            max_bytes,
            header,
        };
        let feed = session::spawn(
            spec,
            snapshot.snapshot,
            history,
            Outlets {
                spool: self.spool.clone(),
                metrics: self.metrics.clone(),
                done: self.done_tx.clone(),
                wake_uploader: self.wake_uploader.clone(),
            },
        );
        self.running.push(feed);
        self.update_snaplen();
    }

    /// The kernel records as many bytes of each buffer as the running
    /// capture that wants most (and at least the ring's own snaplen); each
    /// capture cuts its data to its own.
    fn update_snaplen(&mut self) {
        let wanted = self
            .running
            .iter()
            .map(|feed| feed.snaplen)
            .fold(self.base_snaplen, u32::max);
        if wanted != self.snaplen {
            match self.probe.set_snaplen(wanted) {
                Ok(()) => self.snaplen = wanted,
                Err(e) => tracing::error!("cannot set the kernel snaplen to {wanted}: {e}"),
            }
        }
    }

    /// Seals what is left, lets the captures finish with it, and waits for
    /// them.
    fn stop(&mut self) {
        self.seal();
        for feed in self.running.drain(..) {
            feed.stop();
        }
        let started = self.metrics.captures_started.load(Ordering::Relaxed);
        let ended = || {
            self.metrics.captures_finished.load(Ordering::Relaxed)
                + self.metrics.captures_failed.load(Ordering::Relaxed)
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ended() < started && Instant::now() < deadline {
            let _ = self.done_rx.recv_timeout(Duration::from_millis(100));
        }
    }
}
