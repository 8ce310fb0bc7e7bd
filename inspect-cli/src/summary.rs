//! `syscap summary`: an overview of a capture in the spirit of Sysdig
//! Inspect's tiles, in one pass: system calls, processes, files, network,
//! security-relevant events, errors and a timeline.

use std::collections::BTreeMap;
use std::io::{self, Write};

use capture_format::escape::escaped;
use capture_format::event::{Arg, Category, EventType, errno_name, is_error_return, nr};
use capture_format::file::{Event, FdEnds, Projection};
use capture_format::render::{Bytes, render_ends};
use capture_format::state::{FdKind, split_nul};
use hashbrown::HashMap;
use triggers::filter::Env;

use crate::chisels::{format_bytes, format_time};

/// Rows per table.
const TOP: usize = 10;
/// Columns of the timeline.
const BUCKETS: usize = 40;
/// Lines of the process tree.
const MAX_TREE_LINES: usize = 60;

/// `fd.name` of an fd (connections as `client->server`) into `key`.
fn write_fd_name(fd: Option<&capture_format::file::FdView<'_>>, key: &mut Vec<u8>) {
    key.clear();
    if let Some(f) = fd {
        render_ends(f.ends(), f.name(), &mut Bytes(key));
    }
}

/// Bar heights of the timeline.
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Sums per key without allocating for keys already seen.
#[derive(Debug, Default)]
struct Counter {
    map: HashMap<Box<[u8]>, (u64, u64)>,
}

impl Counter {
    fn add(&mut self, key: &[u8], a: u64, b: u64) {
        if let Some(v) = self.map.get_mut(key) {
            v.0 += a;
            v.1 += b;
        } else {
            self.map.insert(key.into(), (a, b));
        }
    }

    /// The `n` largest by `by`, ties in key order.
    fn top(&self, n: usize, by: impl Fn(&(u64, u64)) -> u64) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .map
            .iter()
            .map(|(k, v)| Row {
                key: String::from_utf8_lossy(k).into_owned(),
                a: v.0,
                b: v.1,
            })
            .collect();
        rows.sort_by(|x, y| {
            by(&(y.a, y.b))
                .cmp(&by(&(x.a, x.b)))
                .then_with(|| x.key.cmp(&y.key))
        });
        rows.truncate(n);
        rows
    }
}

/// One table row: a key and up to two figures.
#[derive(Debug)]
pub struct Row {
    key: String,
    a: u64,
    b: u64,
}

/// What a summary collects.
#[derive(Debug, Default)]
pub struct Summary {
    /// pid -> (ppid, command line): the process tree.
    tree: BTreeMap<i64, (i64, String)>,
    events: u64,
    first_ts: u64,
    last_ts: u64,
    syscalls: Counter,
    processes: Counter,
    commands: Counter,
    file_bytes: Counter,
    opened: Counter,
    modified: Counter,
    deleted: Counter,
    open_errors: Counter,
    conns_out: Counter,
    conns_in: Counter,
    listening: Counter,
    conn_bytes: Counter,
    security: Counter,
    errors_by_type: Counter,
    errors_by_process: Counter,
    /// Events per column of the capture's time range (from the index).
    timeline: Vec<u64>,
    span: (u64, u64),
    key: Vec<u8>,
}

const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"csh", b"tcsh", b"fish", b"ash",
];

impl Summary {
    /// A summary of events between `start` and `end` (ns since the epoch;
    /// the index says it before the scan, so the timeline is exact).
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            timeline: vec![0; BUCKETS],
            span: (start, end.max(start.saturating_add(1))),
            ..Self::default()
        }
    }

    /// The columns a summary reads.
    pub fn projection() -> Projection {
        Projection::ALL
    }

    /// Adds one event.
    pub fn event(&mut self, e: &Event<'_>, _env: &Env) {
        self.events += 1;
        if self.first_ts == 0 || e.ts() < self.first_ts {
            self.first_ts = e.ts();
        }
        self.last_ts = self.last_ts.max(e.ts_exit());
        let (start, end) = self.span;
        let at = u128::from(e.ts().clamp(start, end) - start) * BUCKETS as u128
            / u128::from(end - start);
        let column = usize::try_from(at).unwrap_or(BUCKETS - 1).min(BUCKETS - 1);
        if let Some(n) = self.timeline.get_mut(column) {
            *n += 1;
        }
        let ty = e.ty();
        let info = ty.info();
        let comm = e.thread().map_or(&b"<NA>"[..], |t| t.comm());
        let ret = e.ret();
        let failed = ty.is_syscall() && e.returned() && is_error_return(ret);
        if ty.is_syscall() {
            self.syscalls.add(
                info.name.as_bytes(),
                1,
                if e.has_latency() { e.latency() } else { 0 },
            );
        }
        self.key.clear();
        self.key.extend_from_slice(comm);
        self.processes.add(&self.key, 1, u64::from(failed));
        if let Some(t) = e.thread() {
            let cmdline = self
                .tree
                .entry(t.pid())
                .or_insert_with(|| (t.ppid(), String::new()));
            // The latest name wins: a process that execs is shown as what it
            // became.
            if cmdline.1.is_empty()
                || ty.0 == nr::EXECVE
                || ty.0 == nr::EXECVEAT
                || ty == EventType::PROC_EXEC
            {
                let mut line = String::from_utf8_lossy(t.comm()).into_owned();
                for arg in split_nul(t.args()) {
                    line.push(' ');
                    line.push_str(&String::from_utf8_lossy(arg));
                }
                *cmdline = (t.ppid(), line);
            }
        }

        if failed {
            let name = errno_name(-ret).unwrap_or("error");
            self.errors_by_type.add(name.as_bytes(), 1, 0);
            self.errors_by_process.add(comm, 1, 0);
        }

        self.io(e, failed);
        self.by_type(e, comm, failed);
    }

    /// Bytes read and written, per file and per connection.
    fn io(&mut self, e: &Event<'_>, failed: bool) {
        let info = e.ty().info();
        let ret = e.ret();
        let fd = e.fd();
        let fd_name = |key: &mut Vec<u8>| write_fd_name(fd.as_ref(), key);
        let io = info.category.0 & (Category::IO_READ.0 | Category::IO_WRITE.0) != 0;
        if io && !failed && ret > 0 {
            let bytes = u64::try_from(ret).unwrap_or(0);
            let write = info.category.0 & Category::IO_WRITE.0 != 0;
            match fd.as_ref().map(capture_format::file::FdView::kind) {
                Some(FdKind::File) => {
                    fd_name(&mut self.key);
                    let (r, w) = if write { (0, bytes) } else { (bytes, 0) };
                    self.file_bytes.add(&self.key, r, w);
                    if write && self.key.starts_with(b"/etc/") {
                        self.security.add(b"file under /etc written", 1, 0);
                    }
                }
                Some(FdKind::Ipv4 | FdKind::Ipv6) => {
                    fd_name(&mut self.key);
                    let (r, w) = if write { (0, bytes) } else { (bytes, 0) };
                    self.conn_bytes.add(&self.key, r, w);
                }
                _ => {}
            }
        }
    }

    /// Files opened, modified and deleted, commands, connections and
    /// security-relevant calls.
    fn by_type(&mut self, e: &Event<'_>, comm: &[u8], failed: bool) {
        let ty = e.ty();
        let info = ty.info();
        let ret = e.ret();
        let fd = e.fd();
        let fd_name = |key: &mut Vec<u8>| write_fd_name(fd.as_ref(), key);
        match ty.0 {
            nr::OPEN | nr::OPENAT | nr::OPENAT2 | nr::CREAT => {
                fd_name(&mut self.key);
                if failed {
                    self.open_errors.add(&self.key, 1, 0);
                } else {
                    self.opened.add(&self.key, 1, 0);
                    let flags = e.arg_named("flags").and_then(|a| a.as_int()).unwrap_or(0);
                    // O_WRONLY, O_RDWR, O_CREAT, O_TRUNC
                    if ty.0 == nr::CREAT || flags & (0o1 | 0o2 | 0o100 | 0o1000) != 0 {
                        self.modified.add(&self.key, 1, 0);
                    }
                }
            }
            nr::UNLINK | nr::UNLINKAT | nr::RMDIR if !failed => {
                if let Some(Arg::Str(path)) = e.arg_named("name").or_else(|| e.arg_named("path")) {
                    self.deleted.add(path, 1, 0);
                }
            }
            nr::RENAME | nr::RENAMEAT | nr::RENAMEAT2 if !failed => {
                if let Some(Arg::Str(path)) = e.arg_named("oldpath") {
                    self.deleted.add(path, 1, 0);
                }
            }
            nr::EXECVE | nr::EXECVEAT if !failed && e.returned() => {
                if let Some(Arg::Str(argv)) = e.arg_named("args") {
                    self.key.clear();
                    for (i, part) in split_nul(argv).enumerate() {
                        if i > 0 {
                            self.key.push(b' ');
                        }
                        self.key.extend_from_slice(part);
                    }
                    self.commands.add(&self.key, 1, 0);
                }
                if SHELLS.contains(&comm) {
                    self.security.add(b"shell started", 1, 0);
                }
            }
            nr::CONNECT if !failed || ret == -115 => {
                fd_name(&mut self.key);
                self.conns_out.add(&self.key, 1, 0);
            }
            nr::ACCEPT | nr::ACCEPT4 if !failed => {
                fd_name(&mut self.key);
                self.conns_in.add(&self.key, 1, 0);
            }
            nr::LISTEN if !failed => {
                if let Some(f) = &fd {
                    self.key.clear();
                    match f.ends() {
                        FdEnds::None => self.key.extend_from_slice(f.name()),
                        ends => render_ends(ends, f.name(), &mut Bytes(&mut self.key)),
                    }
                    self.listening.add(&self.key, 1, 0);
                }
            }
            nr::SETUID | nr::SETGID | nr::SETRESUID | nr::SETRESGID | nr::CAPSET if !failed => {
                self.security.add(
                    format!("privileges changed ({})", info.name).as_bytes(),
                    1,
                    0,
                );
            }
            nr::SETNS | nr::UNSHARE if !failed => {
                self.security.add(
                    format!("namespace changed ({})", info.name).as_bytes(),
                    1,
                    0,
                );
            }
            nr::PTRACE => self.security.add(b"ptrace", 1, 0),
            nr::INIT_MODULE | nr::FINIT_MODULE | nr::DELETE_MODULE => {
                self.security
                    .add(format!("kernel module ({})", info.name).as_bytes(), 1, 0);
            }
            nr::MOUNT | nr::UMOUNT2 if !failed => {
                self.security
                    .add(format!("mount ({})", info.name).as_bytes(), 1, 0);
            }
            _ if ty == EventType::DROP => {
                self.security.add(
                    b"events dropped by the kernel",
                    e.arg(0)
                        .as_int()
                        .map_or(0, |n| u64::try_from(n).unwrap_or(0)),
                    0,
                );
            }
            _ => {}
        }
    }

    /// Writes the summary as aligned tables (names escaped: see
    /// [`capture_format::escape`]), or as JSON (names exact).
    pub fn write(&self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        let sections = self.sections();
        if json {
            let mut doc = BTreeMap::new();
            doc.insert("events".to_owned(), serde_json::json!(self.events));
            doc.insert(
                "duration_ns".to_owned(),
                serde_json::json!(self.last_ts.saturating_sub(self.first_ts)),
            );
            for s in &sections {
                let (a, b) = match s.units {
                    Units::Count => ("count", None),
                    Units::CountTime => ("calls", Some("time_ns")),
                    Units::CountErrors => ("events", Some("errors")),
                    Units::ReadWrite => ("read_bytes", Some("written_bytes")),
                };
                let rows: Vec<serde_json::Value> = s
                    .rows
                    .iter()
                    .map(|r| {
                        let mut obj = serde_json::Map::new();
                        obj.insert("name".into(), r.key.clone().into());
                        obj.insert(a.into(), r.a.into());
                        if let Some(b) = b {
                            obj.insert(b.into(), r.b.into());
                        }
                        serde_json::Value::Object(obj)
                    })
                    .collect();
                doc.insert(s.id.to_owned(), rows.into());
            }
            doc.insert("timeline".to_owned(), serde_json::json!(self.timeline));
            let tree: Vec<serde_json::Value> = self
                .tree
                .iter()
                .map(|(pid, (ppid, cmd))| serde_json::json!({"pid": pid, "ppid": ppid, "cmdline": cmd}))
                .collect();
            doc.insert("process_tree".to_owned(), tree.into());
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            return writeln!(out);
        }
        let span = self.last_ts.saturating_sub(self.first_ts);
        writeln!(out, "{} events over {}", self.events, format_time(span))?;
        for s in &sections {
            if s.rows.is_empty() {
                continue;
            }
            writeln!(out, "\n{}", s.title)?;
            let width = s
                .rows
                .iter()
                .map(|r| escaped(&r.key).chars().count())
                .max()
                .unwrap_or(0)
                .clamp(8, 60);
            for r in &s.rows {
                let key: String = escaped(&r.key).chars().take(60).collect();
                let figures = match s.units {
                    Units::Count => format!("{:>10}", r.a),
                    Units::CountTime => format!("{:>10} {:>10}", r.a, format_time(r.b)),
                    Units::CountErrors => format!("{:>10} {:>10}", r.a, r.b),
                    Units::ReadWrite => {
                        format!("{:>10} {:>10}", format_bytes(r.a), format_bytes(r.b))
                    }
                };
                writeln!(out, "  {key:<width$} {figures}")?;
            }
        }
        self.write_tree(out)?;
        let timeline = &self.timeline;
        let max = timeline.iter().copied().max().unwrap_or(0).max(1);
        let column = (self.span.1 - self.span.0) / BUCKETS as u64;
        writeln!(
            out,
            "\ntimeline ({} per column, {} events at most)",
            format_time(column),
            max
        )?;
        let line: String = timeline
            .iter()
            .map(|&n| BARS[usize::try_from(n * 8 / max).unwrap_or(8).min(8)])
            .collect();
        writeln!(out, "  |{line}|")
    }

    /// Processes seen, under their parents (roots are processes whose
    /// parent was not seen).
    fn write_tree(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.tree.is_empty() {
            return Ok(());
        }
        let mut children: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (&pid, &(ppid, _)) in &self.tree {
            if ppid != pid && self.tree.contains_key(&ppid) {
                children.entry(ppid).or_default().push(pid);
            } else {
                children.entry(0).or_default().push(pid);
            }
        }
        writeln!(out, "\nprocess tree ({} processes)", self.tree.len())?;
        let mut stack: Vec<(i64, usize)> = children
            .get(&0)
            .map(|r| r.iter().rev().map(|&p| (p, 0)).collect())
            .unwrap_or_default();
        let mut shown = 0;
        while let Some((pid, depth)) = stack.pop() {
            shown += 1;
            if shown > MAX_TREE_LINES {
                writeln!(out, "  ... {} more", self.tree.len() - MAX_TREE_LINES)?;
                break;
            }
            let cmd: String = escaped(self.tree.get(&pid).map_or("", |t| t.1.as_str()))
                .chars()
                .take(100)
                .collect();
            writeln!(out, "  {}{pid} {cmd}", "  ".repeat(depth.min(20)))?;
            if let Some(kids) = children.get(&pid) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
        Ok(())
    }

    fn sections(&self) -> Vec<Section> {
        SECTIONS
            .iter()
            .map(|&(id, title, units, counter, by, n)| Section {
                id,
                title,
                units,
                rows: counter(self).top(n, |v| match by {
                    By::First => v.0,
                    By::Second => v.1,
                    By::Sum => v.0 + v.1,
                }),
            })
            .collect()
    }
}

/// Which figure orders a table.
#[derive(Clone, Copy, Debug)]
enum By {
    First,
    Second,
    Sum,
}

type SectionSpec = (
    &'static str,
    &'static str,
    Units,
    fn(&Summary) -> &Counter,
    By,
    usize,
);

/// The tables, in the order shown: id (JSON key), title, units, counter,
/// order, rows.
const SECTIONS: &[SectionSpec] = &[
    (
        "syscalls",
        "system calls by count (calls, total time)",
        Units::CountTime,
        |s| &s.syscalls,
        By::First,
        TOP,
    ),
    (
        "syscalls_time",
        "system calls by time (calls, total time)",
        Units::CountTime,
        |s| &s.syscalls,
        By::Second,
        TOP,
    ),
    (
        "processes",
        "processes by events (events, errors)",
        Units::CountErrors,
        |s| &s.processes,
        By::First,
        TOP,
    ),
    (
        "commands",
        "commands executed",
        Units::Count,
        |s| &s.commands,
        By::First,
        2 * TOP,
    ),
    (
        "files_io",
        "files by bytes (read, written)",
        Units::ReadWrite,
        |s| &s.file_bytes,
        By::Sum,
        TOP,
    ),
    (
        "files_opened",
        "files opened",
        Units::Count,
        |s| &s.opened,
        By::First,
        TOP,
    ),
    (
        "files_modified",
        "files opened for writing",
        Units::Count,
        |s| &s.modified,
        By::First,
        TOP,
    ),
    (
        "files_deleted",
        "files deleted or renamed away",
        Units::Count,
        |s| &s.deleted,
        By::First,
        TOP,
    ),
    (
        "open_errors",
        "file open errors",
        Units::Count,
        |s| &s.open_errors,
        By::First,
        TOP,
    ),
    (
        "connections_out",
        "connections made",
        Units::Count,
        |s| &s.conns_out,
        By::First,
        TOP,
    ),
    (
        "connections_in",
        "connections accepted",
        Units::Count,
        |s| &s.conns_in,
        By::First,
        TOP,
    ),
    (
        "listening",
        "listening sockets",
        Units::Count,
        |s| &s.listening,
        By::First,
        TOP,
    ),
    (
        "connection_bytes",
        "connections by bytes (read, written)",
        Units::ReadWrite,
        |s| &s.conn_bytes,
        By::Sum,
        TOP,
    ),
    (
        "security",
        "security-relevant events",
        Units::Count,
        |s| &s.security,
        By::First,
        2 * TOP,
    ),
    (
        "errors",
        "errors by type",
        Units::Count,
        |s| &s.errors_by_type,
        By::First,
        TOP,
    ),
    (
        "errors_by_process",
        "errors by process",
        Units::Count,
        |s| &s.errors_by_process,
        By::First,
        TOP,
    ),
];

#[derive(Clone, Copy, Debug)]
enum Units {
    Count,
    CountTime,
    CountErrors,
    ReadWrite,
}

struct Section {
    id: &'static str,
    title: &'static str,
    units: Units,
    rows: Vec<Row>,
}
