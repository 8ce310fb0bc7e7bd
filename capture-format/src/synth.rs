//! Synthetic but realistic system call workloads, for tests and benchmarks
//! across the workspace.
//!
//! Real syscall streams are not random: a thread runs for a while and makes
//! a burst of calls, each program repeats the same loop (an nginx worker
//! accepts, reads a request, opens a popular file, sends it, logs, closes),
//! popular files are opened far more often than others, and short-lived
//! commands all start with the same dynamic-loader dance. The generator
//! models that with a few program roles; file names come from a real file
//! system walk (a `find`-like crawler walks them in order, the web server
//! serves a Zipf-popular subset).
//!
//! Generation is deterministic for a given seed and path list.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use crate::event::{EventType, OwnedArg, OwnedRecord, OwnedSockTuple, RecordFlags, nr};
use crate::file::{CaptureHeader, Index, Writer, WriterOptions};
use crate::state::{FdInfo, FdKind, ProcessInfo, Snapshot, ThreadInfo, UserInfo};

/// A small, fast, deterministic random number generator (`SplitMix64`).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform index into a slice of length `n`.
    pub fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Roughly log-uniform in `lo..=hi`, like real latencies and sizes.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let lo = lo.max(1);
        let hi = hi.max(lo);
        let span = 64 - (hi / lo).leading_zeros();
        let scale = 1u64 << self.below(u64::from(span));
        (lo * scale + self.below(lo * scale)).min(hi)
    }

    /// Zipf-like index in `0..n`: index 0 is the most popular.
    pub fn zipf(&mut self, n: usize) -> usize {
        let n = n.max(1) as u64;
        let r = self.log_uniform(1, n) - 1;
        usize::try_from(r.min(n - 1)).unwrap_or(0)
    }
}

/// Options of [`generate`].
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Records to generate.
    pub events: usize,
    /// Long-running processes at the start (short-lived ones come and go).
    pub processes: usize,
    /// Bytes of I/O data kept per call.
    pub snaplen: usize,
    /// Paths found on a file system, in walk order.
    pub paths: Vec<Vec<u8>>,
    /// Seed.
    pub seed: u64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            events: 100_000,
            processes: 60,
            snaplen: 80,
            paths: builtin_paths(),
            seed: 1,
        }
    }
}

/// A workload: the state at the start, then the records in order.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// Processes, threads and fds when the workload starts.
    pub snapshot: Snapshot,
    /// The records.
    pub records: Vec<OwnedRecord>,
}

impl Workload {
    /// Writes the workload as a capture: the snapshot, then every record as
    /// the state tracker resolves it.
    pub fn write_to<W: std::io::Write>(
        &self,
        out: W,
        header: &CaptureHeader,
        options: WriterOptions,
    ) -> crate::Result<(W, Index)> {
        let mut writer = Writer::new(out, header, options)?;
        writer.write_snapshot(&self.snapshot)?;
        let mut tracker = crate::state::Tracker::from_snapshot(&self.snapshot);
        for record in &self.records {
            record.with_record(|rec| {
                let ctx = tracker.apply(rec);
                writer.write(rec, &ctx)
            })?;
        }
        writer.finish()
    }
}

/// Up to `limit` file paths found by walking `root`, in a stable walk order.
pub fn paths_from_walk(root: &Path, limit: usize) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(entry.path());
            }
            if out.len() < limit {
                out.push(entry.path().as_os_str().as_bytes().to_vec());
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// A fixed list of plausible paths, for tests that must not depend on the
/// machine.
pub fn builtin_paths() -> Vec<Vec<u8>> {
    let dirs = [
        "/etc",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/share/zoneinfo",
        "/var/www/html",
        "/var/lib/postgresql/15/main/base/16384",
        "/home/app/src",
    ];
    let names = [
        "passwd",
        "hosts",
        "resolv.conf",
        "libc.so.6",
        "libssl.so.3",
        "UTC",
        "index.html",
        "style.css",
        "2619",
        "2840_fsm",
        "main.py",
        "config.yaml",
        "ld.so.cache",
        "localtime",
    ];
    let mut out = Vec::new();
    for d in dirs {
        for n in names {
            out.push(format!("{d}/{n}").into_bytes());
        }
    }
    out
}

const EPOCH: u64 = 1_764_000_000_000_000_000;
const AT_FDCWD: i64 = -100;
const O_RDONLY_CLOEXEC: i64 = 0o2_000_000;
const ENOENT: i64 = 2;
const EAGAIN: i64 = 11;
const FUTEX_WAIT_PRIVATE: i64 = 128;
const FUTEX_WAKE_PRIVATE: i64 = 129;

const COMMANDS: &[&str] = &[
    "ls", "cat", "grep", "date", "hostname", "sed", "awk", "curl",
];
const LIBS: &[&str] = &[
    "/etc/ld.so.cache",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
    "/lib/x86_64-linux-gnu/libselinux.so.1",
];

/// What a long-running process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// nginx worker: epoll, accept, read a request, send a file, log.
    Web,
    /// postgres backend: queries over a socket, 8 KiB page reads.
    Db,
    /// redis: tiny reads and writes on many client sockets.
    Cache,
    /// A JVM: futexes, clocks, socket I/O.
    Jvm,
    /// cron-like: forks short commands that load libraries and exit.
    Spawner,
    /// find-like: walks the file system.
    Crawler,
}

impl Role {
    fn comm(self) -> &'static str {
        match self {
            Role::Web => "nginx",
            Role::Db => "postgres",
            Role::Cache => "redis-server",
            Role::Jvm => "java",
            Role::Spawner => "cron",
            Role::Crawler => "find",
        }
    }
}

/// One thread's program state.
#[derive(Clone, Debug)]
struct Actor {
    role: Role,
    pid: i64,
    tid: i64,
    /// Position in the role's loop.
    step: usize,
    /// Connection being served, file being sent, and so on.
    conn: i64,
    file: i64,
    /// Next fd number to hand out.
    next_fd: i64,
    /// Futex words and the next mmap address (per process in reality).
    futexes: [i64; 4],
    brk: i64,
    /// Crawler position in the path list; a spawned command's stage.
    cursor: usize,
    /// For a short-lived command: which one, and its parent.
    command: usize,
    alive: bool,
}

struct Gen<'a> {
    rng: Rng,
    opts: &'a SynthOptions,
    actors: Vec<Actor>,
    web_files: Vec<Vec<u8>>,
    db_files: usize,
    next_pid: i64,
    /// Per-CPU clocks; bursts run on the CPU that is furthest behind.
    clocks: [u64; 2],
    cpu: usize,
    out: Vec<OwnedRecord>,
    text: Vec<u8>,
}

fn int(v: i64) -> OwnedArg {
    OwnedArg::Int(v)
}

fn path(p: &[u8]) -> OwnedArg {
    OwnedArg::Str(p.to_vec())
}

impl Gen<'_> {
    fn emit(&mut self, a: usize, ty: u16, ret: i64, latency: u64, args: Vec<OwnedArg>) {
        let cpu = self.cpu;
        let enter = self.clocks[cpu] + self.rng.log_uniform(150, 1_500);
        let actor = &self.actors[a];
        self.out.push(OwnedRecord {
            ty: EventType(ty),
            ts: enter,
            latency,
            cpu: u16::try_from(cpu).unwrap_or(0),
            tid: actor.tid,
            pid: actor.pid,
            ret,
            args,
            ..OwnedRecord::default()
        });
        // A call that blocks lets the CPU run other threads meanwhile.
        self.clocks[cpu] = if latency > 30_000 {
            enter + 2_000
        } else {
            enter + latency
        };
    }

    fn lat(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.log_uniform(lo, hi)
    }

    fn data(&mut self, n: i64) -> OwnedArg {
        let n = usize::try_from(n.max(0))
            .unwrap_or(0)
            .min(self.opts.snaplen);
        let start = self.rng.index(self.text.len() - n);
        OwnedArg::Bytes(self.text[start..start + n].to_vec())
    }

    fn new_fd(&mut self, a: usize) -> i64 {
        let fd = self.actors[a].next_fd;
        self.actors[a].next_fd += 1;
        if self.actors[a].next_fd > 64 {
            self.actors[a].next_fd = 16;
        }
        fd
    }

    /// Runs one step of actor `a`'s loop.
    fn step(&mut self, a: usize) {
        match self.actors[a].role {
            Role::Web => self.web(a),
            Role::Db => self.db(a),
            Role::Cache => self.cache(a),
            Role::Jvm => self.jvm(a),
            Role::Spawner => self.spawner(a),
            Role::Crawler => self.crawler(a),
        }
        self.actors[a].step += 1;
    }

    fn web(&mut self, a: usize) {
        let (conn, file) = (self.actors[a].conn, self.actors[a].file);
        match self.actors[a].step % 9 {
            0 => {
                let lat = self.lat(2_000, 5_000_000);
                self.emit(
                    a,
                    232,
                    1,
                    lat,
                    vec![int(8), int(0x7ffd_3000_1000), int(512), int(-1)],
                );
            }
            1 => {
                let fd = self.new_fd(a);
                self.actors[a].conn = fd;
                let client = SocketAddrV4::new(
                    Ipv4Addr::new(10, 0, 3, 1 + u8::try_from(self.rng.below(40)).unwrap_or(0)),
                    u16::try_from(32_768 + self.rng.below(28_000)).unwrap_or(40_000),
                );
                let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 5), 80);
                let tuple = OwnedSockTuple::V4 {
                    src: client,
                    dst: server,
                };
                let lat = self.lat(800, 4_000);
                self.emit(
                    a,
                    nr::ACCEPT4,
                    fd,
                    lat,
                    vec![int(6), OwnedArg::SockTuple(tuple), int(0o4000)],
                );
            }
            2 => {
                let n = i64::try_from(self.rng.log_uniform(300, 900)).unwrap_or(400);
                let data = self.data(n);
                let lat = self.lat(900, 6_000);
                self.emit(
                    a,
                    nr::RECVFROM,
                    n,
                    lat,
                    vec![int(conn), int(1024), data, OwnedArg::Absent],
                );
            }
            3 => {
                let page = self.web_files[self.rng.zipf(self.web_files.len())].clone();
                let missing = self.rng.chance(4);
                let fd = if missing { -ENOENT } else { self.new_fd(a) };
                self.actors[a].file = fd;
                let lat = self.lat(1_500, 12_000);
                self.emit(
                    a,
                    nr::OPENAT,
                    fd,
                    lat,
                    vec![
                        int(AT_FDCWD),
                        path(&page),
                        int(O_RDONLY_CLOEXEC | 0o4000),
                        int(0),
                    ],
                );
            }
            4 if file >= 0 => {
                let lat = self.lat(400, 2_000);
                self.emit(a, nr::FSTAT, 0, lat, vec![int(file)]);
            }
            5 if file >= 0 => {
                let size = i64::try_from(self.rng.log_uniform(200, 60_000)).unwrap_or(1000);
                let lat = self.lat(3_000, 60_000);
                self.emit(
                    a,
                    nr::SENDFILE,
                    size,
                    lat,
                    vec![int(conn), int(file), int(0), int(size)],
                );
            }
            6 => {
                let n = i64::try_from(self.rng.log_uniform(120, 220)).unwrap_or(150);
                let data = self.data(n);
                let lat = self.lat(1_500, 9_000);
                self.emit(a, nr::WRITE, n, lat, vec![int(5), int(n), data]);
            }
            7 if file >= 0 => {
                let lat = self.lat(300, 1_500);
                self.emit(a, nr::CLOSE, 0, lat, vec![int(file)]);
            }
            8 => {
                let lat = self.lat(2_000, 15_000);
                self.emit(a, nr::CLOSE, 0, lat, vec![int(conn)]);
            }
            _ => {}
        }
    }

    fn db(&mut self, a: usize) {
        let conn = self.actors[a].conn;
        match self.actors[a].step % 8 {
            0 => {
                let n = i64::try_from(self.rng.log_uniform(60, 600)).unwrap_or(100);
                let data = self.data(n);
                let lat = self.lat(1_000, 3_000_000);
                self.emit(
                    a,
                    nr::RECVFROM,
                    n,
                    lat,
                    vec![int(conn), int(8192), data, OwnedArg::Absent],
                );
            }
            1..=4 => {
                let file = 20 + i64::try_from(self.rng.zipf(self.db_files)).unwrap_or(0);
                let page = i64::try_from(self.rng.zipf(4096)).unwrap_or(0) * 8192;
                let data = self.data(8192);
                let lat = self.lat(1_000, 400_000);
                self.emit(
                    a,
                    nr::PREAD64,
                    8192,
                    lat,
                    vec![int(file), int(8192), data, int(page)],
                );
            }
            5 if self.rng.chance(30) => {
                let data = self.data(8192);
                let lat = self.lat(2_000, 30_000);
                let off = i64::try_from(self.actors[a].cursor).unwrap_or(0) * 8192;
                self.actors[a].cursor += 1;
                self.emit(
                    a,
                    nr::PWRITE64,
                    8192,
                    lat,
                    vec![int(19), int(8192), data, int(off)],
                );
            }
            6 => {
                let n = i64::try_from(self.rng.log_uniform(40, 4000)).unwrap_or(100);
                let data = self.data(n);
                let lat = self.lat(1_500, 10_000);
                self.emit(
                    a,
                    nr::SENDTO,
                    n,
                    lat,
                    vec![int(conn), int(n), data, OwnedArg::Absent],
                );
            }
            7 => {
                let lat = self.lat(5_000, 2_000_000);
                self.emit(
                    a,
                    232,
                    1,
                    lat,
                    vec![int(7), int(0x7ffe_1200_0000), int(1), int(-1)],
                );
            }
            _ => {}
        }
    }

    fn cache(&mut self, a: usize) {
        match self.actors[a].step % 3 {
            0 => {
                let lat = self.lat(1_000, 500_000);
                self.emit(
                    a,
                    232,
                    3,
                    lat,
                    vec![int(5), int(0x7f3a_0010_0000), int(10128), int(100)],
                );
            }
            step => {
                let client = 9 + i64::try_from(self.rng.zipf(50)).unwrap_or(0);
                let read = step == 1;
                let n: i64 = if read { 27 } else { 9 };
                let (ty, ret) = if read && self.rng.chance(5) {
                    (nr::READ, -EAGAIN)
                } else if read {
                    (nr::READ, n)
                } else {
                    (nr::WRITE, n)
                };
                let data = if read {
                    OwnedArg::Bytes(b"*2\r\n$3\r\nGET\r\n$8\r\nkey:1234\r\n"[..27].to_vec())
                } else {
                    OwnedArg::Bytes(b"$3\r\nbar\r\n".to_vec())
                };
                let size = if read { 16_384 } else { n };
                let lat = self.lat(800, 5_000);
                self.emit(a, ty, ret, lat, vec![int(client), int(size), data]);
            }
        }
    }

    fn jvm(&mut self, a: usize) {
        let futex = self.actors[a].futexes[self.rng.index(4)];
        match self.rng.below(10) {
            0..=3 => {
                let wait = self.rng.chance(50);
                let (op, ret, lat) = if wait {
                    (FUTEX_WAIT_PRIVATE, 0, self.lat(5_000, 20_000_000))
                } else {
                    (
                        FUTEX_WAKE_PRIVATE,
                        i64::from(self.rng.chance(40)),
                        self.lat(500, 3_000),
                    )
                };
                self.emit(
                    a,
                    202,
                    ret,
                    lat,
                    vec![int(futex), int(op), int(1), int(0), int(0), int(0)],
                );
            }
            4 => {
                let lat = self.lat(300, 2_000);
                self.emit(a, 24, 0, lat, Vec::new()); // sched_yield
            }
            5 => {
                let addr = self.actors[a].brk - 0x10_0000;
                let lat = self.lat(1_000, 8_000);
                self.emit(a, 28, 0, lat, vec![int(addr), int(0x10_0000), int(4)]); // madvise
            }
            6 => {
                let n = i64::try_from(self.rng.log_uniform(100, 16_384)).unwrap_or(100);
                let data = self.data(n);
                let lat = self.lat(1_000, 20_000);
                self.emit(a, nr::READ, n, lat, vec![int(40), int(16_384), data]);
            }
            7 => {
                let n = i64::try_from(self.rng.log_uniform(100, 8_192)).unwrap_or(100);
                let data = self.data(n);
                let lat = self.lat(2_000, 20_000);
                self.emit(a, nr::WRITE, n, lat, vec![int(41), int(n), data]);
            }
            8 => {
                let addr = self.actors[a].brk;
                self.actors[a].brk += 0x20_0000;
                let lat = self.lat(800, 4_000);
                self.emit(
                    a,
                    nr::MMAP,
                    addr,
                    lat,
                    vec![int(0), int(0x20_0000), int(3), int(0x22), int(-1), int(0)],
                );
            }
            _ => {
                let lat = self.lat(300, 1_000);
                self.emit(a, 186, self.actors[a].tid, lat, Vec::new()); // gettid
            }
        }
    }

    fn spawner(&mut self, a: usize) {
        if !self.actors[a].step.is_multiple_of(40) {
            let lat = self.lat(10_000, 1_000_000);
            self.emit(
                a,
                230,
                0,
                lat,
                vec![int(1), int(0), int(0x7ffc_0000_0000), int(0)],
            );
            return;
        }
        // Fork a short-lived command that runs as its own actor.
        let child = self.next_pid;
        self.next_pid += 1;
        let lat = self.lat(40_000, 120_000);
        self.emit(a, nr::CLONE, child, lat, vec![int(0x0120_0011)]);
        let mut actor = self.actors[a].clone();
        actor.role = Role::Spawner;
        actor.pid = child;
        actor.tid = child;
        actor.step = 1;
        actor.cursor = 0;
        actor.command = 1 + self.rng.index(COMMANDS.len());
        actor.next_fd = 3;
        self.actors.push(actor);
    }

    /// A short-lived command: exec, load libraries, do a little, exit.
    fn command(&mut self, a: usize) {
        let name = COMMANDS[self.actors[a].command - 1];
        let stage = self.actors[a].cursor;
        self.actors[a].cursor += 1;
        let lib = stage.saturating_sub(2) / 6;
        match (stage, stage.saturating_sub(2) % 6) {
            (0, _) => {
                let exe = format!("/usr/bin/{name}");
                let argv = format!("{name}\0-l\0/var/log/app.log\0");
                let lat = self.lat(150_000, 600_000);
                self.emit(
                    a,
                    nr::EXECVE,
                    0,
                    lat,
                    vec![path(exe.as_bytes()), path(argv.as_bytes())],
                );
            }
            (1, _) => {
                let lat = self.lat(500, 2_000);
                let brk = self.actors[a].brk;
                self.emit(a, nr::BRK, brk, lat, vec![int(0)]);
            }
            _ if lib < LIBS.len() => {
                let fd = 3;
                let lat = self.lat(800, 6_000);
                match stage.saturating_sub(2) % 6 {
                    0 => self.emit(
                        a,
                        nr::OPENAT,
                        fd,
                        lat,
                        vec![
                            int(AT_FDCWD),
                            path(LIBS[lib].as_bytes()),
                            int(O_RDONLY_CLOEXEC),
                            int(0),
                        ],
                    ),
                    1 => {
                        let data = self.data(832);
                        self.emit(a, nr::READ, 832, lat, vec![int(fd), int(832), data]);
                    }
                    2 => self.emit(a, nr::FSTAT, 0, lat, vec![int(fd)]),
                    3 | 4 => {
                        let addr = self.actors[a].brk + 0x1000_0000;
                        self.actors[a].brk += 0x4_0000;
                        self.emit(
                            a,
                            nr::MMAP,
                            addr,
                            lat,
                            vec![
                                int(0),
                                int(0x3_d000),
                                int(5),
                                int(0x802),
                                int(fd),
                                int(0x2_8000),
                            ],
                        );
                    }
                    _ => self.emit(a, nr::CLOSE, 0, lat, vec![int(fd)]),
                }
            }
            _ => {
                let done = stage > 2 + LIBS.len() * 6 + 4;
                if done {
                    let status = i64::from(self.rng.chance(10));
                    let lat = 0;
                    self.out_exit(a, status, lat);
                    return;
                }
                let n = i64::try_from(self.rng.log_uniform(10, 400)).unwrap_or(10);
                let data = self.data(n);
                let lat = self.lat(2_000, 20_000);
                self.emit(a, nr::WRITE, n, lat, vec![int(1), int(n), data]);
            }
        }
    }

    fn out_exit(&mut self, a: usize, status: i64, lat: u64) {
        self.emit(a, 231, 0, lat, vec![int(status)]);
        if let Some(last) = self.out.last_mut() {
            last.flags = RecordFlags::NO_RETURN;
        }
        self.emit(
            a,
            EventType::PROC_EXIT.0,
            0,
            0,
            vec![int(status << 8), int(status), int(0), int(0)],
        );
        if let Some(last) = self.out.last_mut() {
            last.latency = 0;
        }
        self.actors[a].alive = false;
    }

    fn crawler(&mut self, a: usize) {
        let i = self.actors[a].cursor % self.opts.paths.len().max(1);
        let p = self
            .opts
            .paths
            .get(i)
            .cloned()
            .unwrap_or_else(|| b"/".to_vec());
        let lat = self.lat(700, 8_000);
        if self.actors[a].step.is_multiple_of(16) {
            self.emit(
                a,
                217,
                4096,
                lat * 3,
                vec![int(4), int(0x55d0_1234_5000), int(32_768)],
            );
        } else {
            // find stats each entry relative to its directory's fd.
            self.actors[a].cursor += 1;
            let name = p.rsplit(|&b| b == b'/').next().unwrap_or_default().to_vec();
            self.emit(
                a,
                nr::NEWFSTATAT,
                0,
                lat,
                vec![int(4), path(&name), int(0x100)],
            );
        }
    }
}

/// Text that looks like real traffic (HTTP, SQL, logs, an ELF header),
/// with varying numbers in it, for I/O data snapshots.
fn traffic_text(rng: &mut Rng) -> Vec<u8> {
    let text = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\n\
        Accept: */*\r\n\r\nSELECT id, name, price FROM products WHERE id = $1 LIMIT 50;\n\
        10.0.3.17 - - [25/Nov/2025:12:00:00 +0000] \"GET /static/app.js HTTP/1.1\" 200 5120\n\
        \x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00\x01\x00\x00\x00";
    let mut data: Vec<u8> = Vec::with_capacity(256 * 1024);
    // Repeat the text with varying numbers in it, so that data snapshots
    // look like real traffic rather than one string.
    while data.len() < 256 * 1024 {
        data.extend_from_slice(text);
        data.extend_from_slice(rng.next_u64().to_string().as_bytes());
    }
    data
}

/// Generates a workload.
/// The processes running when the workload starts, and their threads'
/// programs.
/// Memory and fd limit every synthetic process reports.
fn with_limits() -> ProcessInfo {
    ProcessInfo {
        vm_size: 512 << 20,
        vm_rss: 64 << 20,
        fd_limit: 1024,
        ..ProcessInfo::default()
    }
}

fn populate(opts: &SynthOptions, rng: &mut Rng) -> (Snapshot, Vec<Actor>) {
    let mut snapshot = Snapshot {
        ts: EPOCH,
        users: vec![
            UserInfo {
                uid: 0,
                gid: 0,
                name: b"root".to_vec(),
                home: b"/root".to_vec(),
                shell: b"/bin/bash".to_vec(),
            },
            UserInfo {
                uid: 33,
                gid: 33,
                name: b"www-data".to_vec(),
                home: b"/var/www".to_vec(),
                shell: b"/usr/sbin/nologin".to_vec(),
            },
        ],
        ..Snapshot::default()
    };
    let roles = [
        (Role::Web, 30),
        (Role::Db, 20),
        (Role::Cache, 15),
        (Role::Jvm, 20),
        (Role::Spawner, 5),
        (Role::Crawler, 10),
    ];
    let total: u64 = roles.iter().map(|r| r.1).sum();
    let mut actors = Vec::new();
    for i in 0..opts.processes.max(1) {
        let mut pick = rng.below(total);
        let role = roles
            .iter()
            .find(|&&(_, w)| {
                let hit = pick < w;
                pick = pick.saturating_sub(w);
                hit
            })
            .map_or(Role::Web, |r| r.0);
        let pid = 1000 + i64::try_from(i).unwrap_or(0) * 10;
        let threads = if role == Role::Jvm { 6 } else { 1 };
        let uid = if role == Role::Web { 33 } else { 0 };
        snapshot.processes.push(ProcessInfo {
            pid,
            ppid: 1,
            vpid: pid,
            exe: role.comm().as_bytes().to_vec(),
            exepath: format!("/usr/sbin/{}", role.comm()).into_bytes(),
            args: b"-c\0/etc/app.conf\0".to_vec(),
            cwd: b"/".to_vec(),
            uid,
            gid: uid,
            loginuid: u32::MAX,
            ..with_limits()
        });
        let mut fds = vec![
            (0, "/dev/null"),
            (1, "/dev/null"),
            (2, "/var/log/app/error.log"),
        ];
        fds.push((5, "/var/log/nginx/access.log"));
        fds.extend((19..40).map(|fd| (fd, "/var/lib/postgresql/15/main/base/16384/2619")));
        for (fd, name) in fds {
            snapshot.fds.push(FdInfo {
                pid,
                fd,
                kind: FdKind::File,
                name: name.as_bytes().to_vec(),
                ..FdInfo::default()
            });
        }
        for t in 0..threads {
            let tid = pid + t;
            snapshot.threads.push(ThreadInfo {
                tid,
                pid,
                vtid: tid,
                comm: role.comm().as_bytes().to_vec(),
                ..ThreadInfo::default()
            });
            let base = 0x7f00_0000_0000 + pid * 0x1_0000_0000;
            actors.push(Actor {
                role,
                pid,
                tid,
                step: rng.index(9),
                conn: 12,
                file: -1,
                next_fd: 16,
                futexes: [base + 0x10, base + 0x58, base + 0x1a0, base + 0x2c8],
                brk: base + 0x5000_0000,
                cursor: rng.index(opts.paths.len().max(1)),
                command: 0,
                alive: true,
            });
        }
    }
    (snapshot, actors)
}

pub fn generate(opts: &SynthOptions) -> Workload {
    let mut rng = Rng::new(opts.seed);
    let (snapshot, actors) = populate(opts, &mut rng);
    let data = traffic_text(&mut rng);
    let web_files: Vec<Vec<u8>> = opts.paths.iter().step_by(7).take(500).cloned().collect();
    let mut g = Gen {
        rng,
        opts,
        actors,
        web_files: if web_files.is_empty() {
            builtin_paths()
        } else {
            web_files
        },
        db_files: 20,
        next_pid: 100_000,
        clocks: [EPOCH, EPOCH],
        cpu: 0,
        out: Vec::with_capacity(opts.events + 64),
        text: data,
    };
    let mut current = 0;
    while g.out.len() < opts.events {
        // A thread runs for a burst of calls before another is scheduled,
        // on the CPU that is furthest behind.
        if g.rng.chance(12) || !g.actors[current].alive {
            g.actors.retain(|a| a.alive);
            current = loop {
                let i = g.rng.index(g.actors.len());
                // Busy JVMs have many threads; weigh processes, not threads.
                if g.actors[i].role != Role::Jvm || g.rng.chance(20) {
                    break i;
                }
            };
            g.cpu = usize::from(g.clocks[1] < g.clocks[0]);
        }
        if g.actors[current].command > 0 {
            g.command(current);
        } else {
            g.step(current);
        }
    }
    // The kernel hands records over in the order calls return.
    g.out.sort_by_key(|r| r.ts + r.latency);
    g.out.truncate(opts.events);
    Workload {
        snapshot,
        records: g.out,
    }
}
