//! The commands that stream events: `print`, `summary` and `chisel`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use capture_format::escape::escaped;
use capture_format::event::EventType;
use capture_format::file::{Chunk, Decoder, Projection};
use inspect_cli::print::{BufferStyle, Columns, Format, Options, Printer, TimeStyle};
use inspect_cli::scan::{self, Input, Plan};
use inspect_cli::window::parse_time;
use scap_import::Selection;
use triggers::filter::{Env, Filter};

/// Captures, a filter and a time window: what every streaming command
/// takes.
#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    /// Capture files, read as one stream, then the filter (sysdig syntax,
    /// as trailing words: `proc.name = nginx and evt.type = openat`).
    #[arg(required = true, value_name = "CAPTURE [FILTER]")]
    words: Vec<String>,
    /// Only events from this time on: RFC 3339, or `+2s` from the start.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events before this time: RFC 3339, or `+5s` from the start.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

/// How `print` shows buffers and times: sysdig's `-A`, `-x`, `-X`, `-b`
/// and `-t`.
#[derive(clap::Args, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one clap flag per sysdig option; they exclude each other"
)]
pub struct DisplayArgs {
    /// Data buffers: only their printable text, newlines echoed (each
    /// buffer starts on a new line).
    #[arg(short = 'A', long = "print-ascii", conflicts_with_all = ["hex", "hex_ascii", "base64"])]
    ascii: bool,
    /// Data buffers in hex, 16 bytes a line.
    #[arg(short = 'x', long = "print-hex", conflicts_with_all = ["hex_ascii", "base64"])]
    hex: bool,
    /// Data buffers in hex and ASCII, 16 bytes a line.
    #[arg(short = 'X', long = "print-hex-ascii", conflicts_with = "base64")]
    hex_ascii: bool,
    /// Data buffers in base64.
    #[arg(short = 'b', long = "print-base64")]
    base64: bool,
    /// The time column: h (time of day, UTC), a (seconds since the epoch),
    /// r (since the capture's start), d (the call's latency), D (since
    /// the event printed before).
    #[arg(
        short = 't',
        long = "timetype",
        value_enum,
        value_name = "TYPE",
        default_value = "h"
    )]
    time: TimeArg,
}

/// sysdig's `-t` letters.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TimeArg {
    /// The time of day (UTC).
    #[value(name = "h")]
    Human,
    /// Seconds since the epoch.
    #[value(name = "a")]
    Absolute,
    /// Seconds since the capture's start.
    #[value(name = "r")]
    Relative,
    /// The call's latency.
    #[value(name = "d")]
    Latency,
    /// Seconds since the event printed before.
    #[value(name = "D")]
    SincePrevious,
}

impl DisplayArgs {
    fn options(&self, columns: Columns) -> Options {
        let buffers = if self.ascii {
            BufferStyle::Ascii
        } else if self.hex {
            BufferStyle::Hex
        } else if self.hex_ascii {
            BufferStyle::HexAscii
        } else if self.base64 {
            BufferStyle::Base64
        } else {
            BufferStyle::Dots
        };
        let time = match self.time {
            TimeArg::Human => TimeStyle::Human,
            TimeArg::Absolute => TimeStyle::Absolute,
            TimeArg::Relative => TimeStyle::Relative,
            TimeArg::Latency => TimeStyle::Latency,
            TimeArg::SincePrevious => TimeStyle::SincePrevious,
        };
        Options {
            buffers,
            time,
            columns,
        }
    }
}

/// The captures to read and the filter, split from the trailing words: the
/// leading words that name existing files are captures.
pub struct Stream {
    pub inputs: Vec<Input>,
    pub filter: Option<Filter>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub env: Env,
}

impl StreamArgs {
    /// One capture, no filter or window.
    pub fn files(path: &Path) -> Self {
        Self {
            words: vec![path.display().to_string()],
            since: None,
            until: None,
        }
    }

    /// Opens the captures; `.scap` files are imported whole first, so that
    /// their index is known (summary, around).
    pub fn open(&self) -> anyhow::Result<Stream> {
        self.open_with(|path, _| Input::open(path), None)
    }

    /// Opens the captures to be read once, in order: `.scap` files are
    /// imported while they are read (print, chisels, convert). Events must
    /// also pass `also` (a chisel's own filter): when the filters name
    /// event types, the import decodes only their arguments.
    pub fn open_streaming(&self, also: Option<&Filter>) -> anyhow::Result<Stream> {
        self.open_with(Input::open_streaming, also)
    }

    fn open_with(
        &self,
        open: impl Fn(&Path, Selection) -> Result<Input, scan::ScanError>,
        also: Option<&Filter>,
    ) -> anyhow::Result<Stream> {
        let split = self
            .words
            .iter()
            .position(|w| !scan::names_capture(w))
            .unwrap_or(self.words.len());
        let (paths, filter_words) = self.words.split_at(split);
        if paths.is_empty() {
            anyhow::bail!("{}: no such capture file", self.words[0]);
        }
        let text = filter_words.join(" ");
        let filter = if text.trim().is_empty() {
            None
        } else {
            Some(Filter::new(&text).map_err(|e| BadFilter {
                message: e.to_string(),
                caret: e.caret(&text),
            })?)
        };
        // Events of other types than the filter names never reach the
        // caller: a `.scap` import leaves them out. Not so when a chisel's
        // own filter narrows the types: the events of the stream's filter
        // all count for its span.
        let wanted = match wanted_types([filter.as_ref(), also]) {
            None => Selection::All,
            Some(types) if also.is_none() => Selection::Only(types),
            Some(types) => Selection::ArgumentsOf(types),
        };
        let mut inputs = Vec::with_capacity(paths.len());
        for p in paths {
            let input = open(&PathBuf::from(p), wanted.clone())?;
            if let Some(t) = input.reader.truncation() {
                crate::warn(&input.path, &t);
            }
            for line in input.imported.iter().flat_map(scan::ImportReport::warnings) {
                crate::warn(&input.path, &line);
            }
            inputs.push(input);
        }
        let start = inputs
            .iter()
            .map(|i| {
                let h = i.reader.header();
                if h.start_ts > 0 {
                    h.start_ts
                } else {
                    i.reader.index().ts_min
                }
            })
            .min()
            .unwrap_or(0);
        let since = self
            .since
            .as_deref()
            .map(|t| parse_time(t, start))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|t| parse_time(t, start))
            .transpose()?;
        let trigger_rule = inputs
            .first()
            .and_then(|i| i.reader.header().trigger.as_ref())
            .map(|t| t.rule.clone())
            .unwrap_or_default();
        Ok(Stream {
            inputs,
            filter,
            since,
            until,
            env: Env {
                capture_start: start,
                trigger_rule,
                previous: None,
            },
        })
    }
}

/// A filter that does not parse: what is wrong, then the filter's line
/// with a caret under the problem.
#[derive(Debug, thiserror::Error)]
#[error("filter: {message}\n{caret}")]
pub struct BadFilter {
    pub message: String,
    pub caret: String,
}

/// The event types an event must have to pass every filter, when the
/// filters say (`None`: any type).
fn wanted_types(filters: [Option<&Filter>; 2]) -> Option<Vec<EventType>> {
    let mut wanted: Option<std::collections::BTreeSet<EventType>> = None;
    for types in filters
        .into_iter()
        .flatten()
        .filter_map(Filter::event_types)
    {
        let types: std::collections::BTreeSet<EventType> = types.collect();
        wanted = Some(match wanted {
            None => types,
            Some(w) => w.intersection(&types).copied().collect(),
        });
    }
    wanted.map(|w| w.into_iter().collect())
}

impl Stream {
    /// Calls `each` with every event that passes the filter and window, in
    /// stream order; `each` returns false to stop.
    pub fn for_each_event(
        &self,
        projection: Projection,
        each: impl FnMut(&capture_format::file::Event<'_>) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        self.for_each_event_of(None, projection, each)
    }

    /// As [`Stream::for_each_event`], of the input numbered `only` when
    /// given (the filter's time window still counts from the first
    /// capture's start).
    pub fn for_each_event_of(
        &self,
        only: Option<usize>,
        projection: Projection,
        mut each: impl FnMut(&capture_format::file::Event<'_>) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let projection = projection
            | self
                .filter
                .as_ref()
                .map_or(Projection::MINIMAL, Filter::projection)
            | Projection::TIME;
        let plan = Plan {
            filter: self.filter.as_ref(),
            since: self.since,
            until: self.until,
            projection,
        };
        let mut tasks = scan::chunks_to_read(&self.inputs, &plan);
        tasks.retain(|&(n, _)| only.is_none_or(|o| o == n));
        let mut matcher = self.filter.as_ref().map(Filter::matcher);
        let mut failure = None;
        let mut progress = Progress::new(tasks.len());
        let mut handle = |chunk: &Chunk| {
            progress.chunk_done();
            for e in chunk.events() {
                if self.since.is_some_and(|t| e.ts_exit() < t)
                    || self.until.is_some_and(|t| e.ts() >= t)
                {
                    continue;
                }
                if let Some(m) = matcher.as_mut()
                    && !m.matches(&e, &self.env)
                {
                    continue;
                }
                match each(&e) {
                    Ok(true) => {}
                    Ok(false) => return false,
                    Err(err) => {
                        failure = Some(err);
                        return false;
                    }
                }
            }
            true
        };
        // Inputs in order: indexed captures by their index, in parallel;
        // streamed .scap files as their chunks come.
        let mut go_on = true;
        for (i, input) in self.inputs.iter().enumerate() {
            if !go_on {
                break;
            }
            if only.is_some_and(|o| o != i) {
                continue;
            }
            if let Some(streaming) = &input.streaming {
                go_on = Self::stream_scap(input, streaming, &plan, &mut handle)?;
                continue;
            }
            let mine: Vec<(usize, usize)> =
                tasks.iter().copied().filter(|&(n, _)| n == i).collect();
            scan::for_each_chunk(
                &self.inputs,
                &mine,
                projection,
                scan::default_threads(),
                |_, chunk| {
                    go_on = handle(chunk);
                    go_on
                },
            )?;
        }
        progress.clear();
        failure.map_or(Ok(()), Err)
    }

    /// Reads a `.scap` file's chunks as its import produces them; false
    /// when `handle` asked to stop. What the import skipped is said at the
    /// end, once known.
    fn stream_scap(
        input: &Input,
        streaming: &std::sync::Mutex<Option<scap_import::ChunkStream>>,
        plan: &Plan<'_>,
        handle: &mut impl FnMut(&Chunk) -> bool,
    ) -> anyhow::Result<bool> {
        let mut stream = streaming
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .with_context(|| format!("{}: read once already", input.path.display()))?;
        let mut decoder = Decoder::new();
        let mut chunk = Chunk::default();
        while let Some(streamed) = stream.next_chunk() {
            let streamed = streamed.with_context(|| input.path.display().to_string())?;
            let encoded = &streamed.chunk;
            let summary = &encoded.summary;
            if plan.since.is_some_and(|t| summary.ts_max < t)
                || plan.until.is_some_and(|t| summary.ts_min >= t)
                || plan.filter.is_some_and(|f| !f.may_match_summary(summary))
            {
                continue;
            }
            decoder
                .decode_encoded_numbered(encoded, plan.projection, &mut chunk, streamed.first)
                .with_context(|| input.path.display().to_string())?;
            if !streamed.nums.is_empty() {
                chunk.renumber(&streamed.nums);
            }
            if !handle(&chunk) {
                return Ok(false);
            }
        }
        if let Some((stats, error)) = stream.finish() {
            let report = scan::ImportReport { stats, error };
            for line in report.warnings() {
                crate::warn(&input.path, &line);
            }
        }
        Ok(true)
    }
}

/// A progress line on stderr for scans longer than a second, only when
/// stderr is a terminal.
struct Progress {
    total: usize,
    done: usize,
    started: std::time::Instant,
    last: std::time::Instant,
    shown: bool,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        use std::io::IsTerminal as _;
        let now = std::time::Instant::now();
        Self {
            total,
            done: 0,
            started: now,
            last: now,
            shown: false,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn chunk_done(&mut self) {
        self.done += 1;
        if !self.tty
            || self.started.elapsed().as_secs() < 1
            || self.last.elapsed().as_millis() < 200
        {
            return;
        }
        self.last = std::time::Instant::now();
        self.shown = true;
        let pct = self.done * 100 / self.total.max(1);
        let bar = "#".repeat(pct / 4) + &" ".repeat(25 - pct / 4);
        eprint!("\r[{bar}] {pct:3}% {}/{} chunks", self.done, self.total);
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }
}

pub fn print(
    args: &StreamArgs,
    display: &DisplayArgs,
    format: Option<&str>,
    json: bool,
    count: Option<u64>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let stream = args.open_streaming(None)?;
    // `-pc` is `-p c`, as in sysdig.
    let (columns, format) = match format {
        Some("c" | "container") => (Columns::Container, None),
        Some("k" | "kubernetes") => (Columns::Kubernetes, None),
        other => (Columns::Plain, other),
    };
    let pieces = format.map(Format::template).transpose()?;
    let format = match (pieces, json) {
        (None, false) => Format::Default,
        (Some(p), false) => Format::Template(p),
        (p, true) => Format::Json(p),
    };
    let projection = format.projection();
    let mut printer = Printer::with_options(format, stream.env.clone(), display.options(columns));
    let limit = count.unwrap_or(u64::MAX);
    let mut printed = 0;
    if limit == 0 {
        return Ok(());
    }
    stream.for_each_event(projection, |e| {
        printer.print(e, out)?;
        printed += 1;
        Ok(printed < limit)
    })?;
    let selective = stream.filter.is_some() || stream.since.is_some() || stream.until.is_some();
    if printed == 0 && selective {
        return Err(NoMatch.into());
    }
    Ok(())
}

/// Nothing matched the filter or window: `syscap print` exits 1, as grep
/// does, without a message.
#[derive(Debug, thiserror::Error)]
#[error("no event matched")]
pub struct NoMatch;

pub fn chisel(
    words: &[String],
    filter: Option<&str>,
    json: bool,
    rows: Option<usize>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (name, rest) = words
        .split_first()
        .context("which chisel? (syscap chisel --list)")?;
    if name == "around" {
        if rest.iter().any(|w| w == scan::STDIN) {
            anyhow::bail!(
                "chisel around reads its captures twice: give it a file, not - (standard input)"
            );
        }
        return around(rest, filter, out);
    }
    let captures = rest.iter().take_while(|w| scan::names_capture(w)).count();
    if captures == 0 {
        anyhow::bail!(
            "chisel {name}: {}: no such capture file",
            rest.first().map_or("(none given)", String::as_str)
        );
    }
    let mut chisel = inspect_cli::chisels::make(name, &rest[captures..])?;
    if let Some(n) = rows
        && !chisel.set_rows(n)
    {
        anyhow::bail!("chisel {name}: --rows applies to table chisels only");
    }
    let mut stream_words: Vec<String> = rest[..captures].to_vec();
    stream_words.extend(filter.map(str::to_owned));
    let args = StreamArgs {
        words: stream_words,
        since: None,
        until: None,
    };
    // A chisel with an interval needs the time of every event, not just
    // of those its filter names.
    let stream = if chisel.interval().is_some() {
        args.open_streaming(None)?
    } else {
        args.open_streaming(chisel.filter())?
    };
    if !chisel.needs_events() {
        let input = &stream.inputs[0];
        let snapshot = input
            .reader
            .snapshot(0)
            .with_context(|| input.path.display().to_string())?;
        if let Some(snapshot) = snapshot {
            chisel
                .state(snapshot, stream.filter.as_ref(), &stream.env)
                .with_context(|| format!("chisel {name}"))?;
        }
        chisel.finish(out, json)?;
        return Ok(());
    }
    let own_filter = chisel.filter().cloned();
    let mut own = own_filter.as_ref().map(Filter::matcher);
    let projection = chisel.projection()
        | chisel
            .filter()
            .map_or(Projection::MINIMAL, Filter::projection);
    chisel.begin(out, json)?;
    let env = stream.env.clone();
    let windows = recorded_windows(&stream.inputs);
    let mut first_last: Option<(u64, u64)> = None;
    let interval = chisel.interval().filter(|&n| n > 0);
    // The interval the last tick (or the first event) fell in.
    let mut ticked: Option<u64> = None;
    stream.for_each_event(projection, |e| {
        let ts = e.ts();
        first_last = Some(first_last.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
        if let Some(n) = interval {
            // A call is two events to sysdig, its entry and its exit;
            // records come in exit order, so an entry may lie before the
            // last tick: it never ticks backwards.
            for t in [ts, e.ts_exit()] {
                let slot = t - t % n;
                match ticked {
                    None => ticked = Some(slot),
                    Some(last) if slot > last => {
                        chisel.tick(t, out)?;
                        ticked = Some(slot);
                    }
                    Some(_) => {}
                }
            }
        }
        if let Some(m) = own.as_mut()
            && !m.matches(e, &env)
        {
            return Ok(true);
        }
        chisel.event(e, &env, out)?;
        Ok(true)
    })?;
    drop(own);
    chisel.span(first_last.map_or(0, |(a, b)| match windows {
        Some((start, end)) => b.min(end).saturating_sub(a.max(start)),
        None => b - a,
    }));
    chisel.finish(out, json)?;
    Ok(())
}

/// From the earliest start to the latest end of the captures' recorded
/// windows, when every capture has one (an agent's capture; a `.scap`
/// import has none). A record is stamped when its call entered, so a call
/// that blocked across the start keeps an earlier time; sysdig's capture
/// of the same window would hold only its exit, so the events span no
/// more than the window.
fn recorded_windows(inputs: &[Input]) -> Option<(u64, u64)> {
    inputs
        .iter()
        .map(|i| i.reader.index().window)
        .try_fold(None, |all: Option<(u64, u64)>, w| {
            let w = w?;
            Some(Some(all.map_or((w.start, w.end), |(a, b)| {
                (a.min(w.start), b.max(w.end))
            })))
        })
        .flatten()
}

/// What `summary --by` groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Grouping {
    /// Kubernetes namespace, pod and container.
    K8s,
}

/// `syscap summary`: the overview, or with `--by k8s` what each namespace,
/// pod and container did.
pub fn summary(
    args: &StreamArgs,
    json: bool,
    by: Option<Grouping>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let stream = args.open()?;
    if by == Some(Grouping::K8s) {
        let mut groups = inspect_cli::grouping::K8sGroups::default();
        stream.for_each_event(inspect_cli::grouping::K8sGroups::projection(), |e| {
            groups.event(e);
            Ok(true)
        })?;
        groups.write(out, json)?;
        return Ok(());
    }
    let (first, last) = stream.inputs.iter().fold((u64::MAX, 0), |(lo, hi), i| {
        let index = i.reader.index();
        (lo.min(index.ts_min), hi.max(index.ts_max))
    });
    let start = stream.since.map_or(first, |t| t.max(first));
    let end = stream.until.map_or(last, |t| t.min(last));
    let mut summary = inspect_cli::summary::Summary::new(start.min(end), end);
    stream.for_each_event(inspect_cli::summary::Summary::projection(), |e| {
        summary.event(e, &stream.env);
        Ok(true)
    })?;
    summary.write(out, json)?;
    Ok(())
}

/// `syscap chisel around CAPTURE... MS OUTPUT --filter EXPR`: every event
/// within MS milliseconds of an event the filter matches, written to a new
/// capture (with the state snapshot, so names resolve as in the original).
fn around(words: &[String], filter: Option<&str>, out: &mut impl Write) -> anyhow::Result<()> {
    use capture_format::file::{Writer, WriterOptions};
    use capture_format::state::Tracker;

    let usage = "chisel around: takes CAPTURE... MS OUTPUT and --filter EXPR";
    let filter = filter.context(usage)?;
    let captures = words.iter().take_while(|w| scan::names_capture(w)).count();
    let [ms, output] = &words[captures..] else {
        anyhow::bail!("{usage}");
    };
    if captures == 0 {
        anyhow::bail!("{usage}");
    }
    let ms: u64 = ms.parse().map_err(|_| {
        anyhow::anyhow!("chisel around: {ms:?} is not a whole number of milliseconds")
    })?;
    let margin = ms.saturating_mul(1_000_000);

    // Pass 1: the times of the matches, merged into intervals.
    let mut matching: Vec<String> = words[..captures].to_vec();
    matching.push(filter.to_owned());
    let stream = StreamArgs {
        words: matching,
        since: None,
        until: None,
    }
    .open()?;
    let mut found: Vec<(u64, u64)> = Vec::new();
    stream.for_each_event(Projection::TIME, |e| {
        found.push((
            e.ts().saturating_sub(margin),
            e.ts_exit().saturating_add(margin),
        ));
        Ok(true)
    })?;
    // Records are in return order and captures in any order: sort, then
    // merge overlapping intervals.
    found.sort_unstable();
    let mut intervals: Vec<(u64, u64)> = Vec::with_capacity(found.len());
    for (lo, hi) in found {
        match intervals.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => intervals.push((lo, hi)),
        }
    }

    // Pass 2: every event through a tracker (so the copy's names are
    // right), the ones inside an interval into the new file.
    let stream = StreamArgs {
        words: words[..captures].to_vec(),
        since: None,
        until: None,
    }
    .open()?;
    let first = &stream.inputs[0];
    let snapshot = first
        .reader
        .snapshot(0)
        .with_context(|| first.path.display().to_string())?
        .unwrap_or_default();
    let mut tracker = Tracker::from_snapshot(&snapshot);
    let mut header = first.reader.header().clone();
    header.filter = format!("around {ms} ms of: {filter}");
    let file = create_output(Path::new(output))?;
    removing_on_error(Path::new(output), || {
        let mut writer = Writer::new(BufWriter::new(file), &header, WriterOptions::default())
            .with_context(|| format!("cannot write {output}"))?;
        writer
            .write_snapshot(&snapshot)
            .with_context(|| format!("cannot write {output}"))?;
        let inside = |t: u64| {
            let i = intervals.partition_point(|iv| iv.1 < t);
            intervals.get(i).is_some_and(|iv| iv.0 <= t)
        };
        let mut written = 0u64;
        stream.for_each_event(Projection::ALL, |e| {
            let keep = inside(e.ts());
            e.with_record(|rec| {
                let ctx = tracker.apply(rec);
                if keep {
                    written += 1;
                    writer
                        .write(rec, &ctx)
                        .with_context(|| format!("cannot write {output}"))
                } else {
                    Ok(())
                }
            })?;
            Ok(true)
        })?;
        let (buffered, _) = writer
            .finish()
            .with_context(|| format!("cannot write {output}"))?;
        buffered
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot write {output}"))?;
        writeln!(
            out,
            "{written} events around {} matches written to {}",
            intervals.len(),
            escaped(output)
        )?;
        Ok(())
    })
}

/// Creates (or truncates) an output file only its owner can read: a
/// capture, or its events as JSON, is as secret as what it recorded. An
/// existing regular file is narrowed to `0600` too (a device such as
/// `/dev/null` is left as it is).
pub fn create_output(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let context = || format!("cannot write {}", path.display());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(context)?;
    if file.metadata().with_context(context)?.is_file() {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(context)?;
    }
    Ok(file)
}

/// Runs `write`, removing `path` if it fails: a half-written output is
/// worse than none.
pub fn removing_on_error<T>(
    path: &Path,
    write: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let result = write();
    // A file, not a device such as /dev/null it was written to.
    if result.is_err() && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(path);
    }
    result
}
