//! Synthetic but realistic system call workloads, for tests and benchmarks
//! across the workspace: many processes opening, reading, writing and
//! closing files (paths from a real file system walk), talking over
//! sockets, forking and executing, plus the background noise of futexes,
//! polls and memory calls that every real capture is full of.
//!
//! Generation is deterministic for a given seed and path list.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use crate::event::{EventType, OwnedArg, OwnedRecord, OwnedSockAddr, OwnedSockTuple, nr};
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

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform index into a slice of length `n`.
    pub fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Roughly log-uniform in `lo..hi`, like real latencies and sizes.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = (lo.max(1), hi.max(lo + 1));
        let bits = 64 - (hi / lo).leading_zeros();
        let scale = 1u64 << self.below(u64::from(bits));
        (lo * scale + self.below(lo * scale)).min(hi)
    }
}

/// Options of [`generate`].
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Records to generate.
    pub events: usize,
    /// Processes running at the start.
    pub processes: usize,
    /// Bytes of I/O data kept per call.
    pub snaplen: usize,
    /// Paths that files are opened at.
    pub paths: Vec<Vec<u8>>,
    /// Seed.
    pub seed: u64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            events: 100_000,
            processes: 200,
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

/// Up to `limit` file paths found by walking `root` (sorted, so the result
/// is the same on every run of the same machine).
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
            } else if out.len() < limit {
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
        "/var/log/nginx",
        "/var/lib/postgresql/15/main/base/16384",
        "/proc/self",
        "/home/app/src",
        "/tmp",
    ];
    let names = [
        "passwd",
        "hosts",
        "resolv.conf",
        "libc.so.6",
        "libssl.so.3",
        "UTC",
        "access.log",
        "error.log",
        "2619",
        "2840_fsm",
        "status",
        "maps",
        "main.py",
        "config.yaml",
        "x.tmp",
        "ld.so.cache",
        "nsswitch.conf",
        "localtime",
        "index.html",
        "12345",
    ];
    let mut out = Vec::new();
    for d in dirs {
        for n in names {
            out.push(format!("{d}/{n}").into_bytes());
        }
    }
    out
}

const COMMS: &[&str] = &[
    "nginx",
    "postgres",
    "java",
    "python3",
    "node",
    "redis-server",
    "sshd",
    "bash",
    "containerd",
    "kubelet",
    "curl",
    "systemd",
    "dockerd",
    "envoy",
    "gunicorn",
];

const EPOCH: u64 = 1_764_000_000_000_000_000;
const EAGAIN: i64 = 11;
const ENOENT: i64 = 2;
const O_CLOEXEC: i64 = 0o2_000_000;

#[derive(Clone, Debug)]
struct Proc {
    pid: i64,
    threads: Vec<i64>,
    comm: usize,
    /// Open fds: (number, is a socket).
    fds: Vec<(i64, bool)>,
    next_fd: i64,
}

struct Gen<'a> {
    rng: Rng,
    opts: &'a SynthOptions,
    procs: Vec<Proc>,
    next_pid: i64,
    ts: u64,
    out: Vec<OwnedRecord>,
    data: Vec<u8>,
}

impl Gen<'_> {
    fn record(&mut self, p: usize, ty: u16, ret: i64, args: Vec<OwnedArg>) -> &mut OwnedRecord {
        self.ts += self.rng.log_uniform(50, 5_000);
        let proc_ = &self.procs[p];
        let tid = proc_.threads[self.rng.index(proc_.threads.len())];
        let latency = self.rng.log_uniform(300, 200_000);
        self.out.push(OwnedRecord {
            ty: EventType(ty),
            ts: self.ts,
            latency,
            #[expect(clippy::cast_possible_truncation, reason = "below 2")]
            cpu: self.rng.below(2) as u16,
            tid,
            pid: proc_.pid,
            ret,
            args,
            ..OwnedRecord::default()
        });
        self.ts += latency / 4;
        self.out.last_mut().expect("pushed above")
    }

    fn data(&mut self, n: usize) -> Vec<u8> {
        let start = self.rng.index(self.data.len() - n.min(self.data.len()));
        self.data[start..start + n.min(self.data.len())].to_vec()
    }

    /// A process, skewed so that a few are busy and most are quiet.
    fn pick(&mut self) -> usize {
        let n = self.procs.len();
        let busy = (n / 10).max(1);
        if self.rng.chance(70) {
            self.rng.index(busy)
        } else {
            self.rng.index(n)
        }
    }

    fn step(&mut self) {
        let p = self.pick();
        let roll = self.rng.below(1000);
        let int = OwnedArg::Int;
        match roll {
            0..=299 => self.io(p, true),
            300..=469 => self.io(p, false),
            470..=569 => {
                let path = self.opts.paths[self.rng.index(self.opts.paths.len())].clone();
                let fail = self.rng.chance(8);
                let fd = self.procs[p].next_fd;
                let ret = if fail { -ENOENT } else { fd };
                if !fail {
                    self.procs[p].fds.push((fd, false));
                    self.procs[p].next_fd += 1;
                }
                let args = vec![int(-100), OwnedArg::Str(path), int(O_CLOEXEC), int(0)];
                self.record(p, nr::OPENAT, ret, args);
            }
            570..=659 => {
                let fds = &mut self.procs[p].fds;
                if fds.len() > 3 {
                    let i = 3 + self.rng.index(fds.len() - 3);
                    let (fd, _) = fds.swap_remove(i);
                    self.record(p, nr::CLOSE, 0, vec![int(fd)]);
                }
            }
            660..=739 => {
                let path = self.opts.paths[self.rng.index(self.opts.paths.len())].clone();
                self.record(
                    p,
                    nr::NEWFSTATAT,
                    0,
                    vec![int(-100), OwnedArg::Str(path), int(0)],
                );
            }
            740..=759 => self.connect(p),
            760..=764 => self.exec(p),
            765..=769 => self.fork(p),
            _ => self.noise(p),
        }
    }

    fn io(&mut self, p: usize, read: bool) {
        let fds = &self.procs[p].fds;
        let (fd, socket) = fds[self.rng.index(fds.len())];
        let size = if socket { 65_536 } else { 4096 };
        let full = self.rng.chance(60);
        let ret = if socket && read && self.rng.chance(10) {
            -EAGAIN
        } else if full {
            size
        } else {
            i64::try_from(self.rng.log_uniform(1, 4096)).unwrap_or(1)
        };
        let kept = usize::try_from(ret.max(0))
            .unwrap_or(0)
            .min(self.opts.snaplen);
        let data = OwnedArg::Bytes(self.data(kept));
        let ty = match (socket, read) {
            (false, true) => nr::READ,
            (false, false) => nr::WRITE,
            (true, true) => nr::RECVFROM,
            (true, false) => nr::SENDTO,
        };
        let mut args = vec![OwnedArg::Int(fd), OwnedArg::Int(size), data];
        if socket {
            args.push(OwnedArg::Absent);
        }
        self.record(p, ty, ret, args);
    }

    fn connect(&mut self, p: usize) {
        let fd = self.procs[p].next_fd;
        self.procs[p].next_fd += 1;
        self.procs[p].fds.push((fd, true));
        let int = OwnedArg::Int;
        self.record(p, nr::SOCKET, fd, vec![int(2), int(1), int(0)]);
        let server =
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1 + (self.rng.below(8) as u8)), 5432);
        let client = SocketAddrV4::new(
            Ipv4Addr::new(10, 0, 1, 7),
            u16::try_from(32_768 + self.rng.below(28_000)).unwrap_or(40_000),
        );
        let args = vec![
            int(fd),
            OwnedArg::SockAddr(OwnedSockAddr::V4(server)),
            OwnedArg::SockTuple(OwnedSockTuple::V4 {
                src: client,
                dst: server,
            }),
        ];
        self.record(p, nr::CONNECT, 0, args);
    }

    fn exec(&mut self, p: usize) {
        let comm = self.rng.index(COMMS.len());
        self.procs[p].comm = comm;
        let argv = format!("/usr/bin/{0}\0--config\0/etc/{0}.conf\0", COMMS[comm]).into_bytes();
        let path = format!("/usr/bin/{}", COMMS[comm]).into_bytes();
        self.record(
            p,
            nr::EXECVE,
            0,
            vec![OwnedArg::Str(path), OwnedArg::Str(argv)],
        );
        self.procs[p].fds.retain(|&(fd, _)| fd < 3);
        if self.procs[p].fds.is_empty() {
            self.procs[p].fds.push((0, false));
        }
    }

    fn fork(&mut self, p: usize) {
        let child = self.next_pid;
        self.next_pid += 1;
        self.record(p, nr::CLONE, child, vec![OwnedArg::Int(0x0120_0011)]);
        let mut proc_ = self.procs[p].clone();
        proc_.pid = child;
        proc_.threads = vec![child];
        self.procs.push(proc_);
        // Keep the population steady: an old quiet process exits.
        if self.procs.len() > self.opts.processes + 20 {
            let victim = self.procs.len() / 2 + self.rng.index(self.procs.len() / 2);
            let tids = self.procs[victim].threads.clone();
            for tid in tids {
                let rec = self.record(
                    victim,
                    EventType::PROC_EXIT.0,
                    0,
                    vec![
                        OwnedArg::Int(0),
                        OwnedArg::Int(0),
                        OwnedArg::Int(0),
                        OwnedArg::Int(0),
                    ],
                );
                rec.tid = tid;
                rec.latency = 0;
            }
            self.procs.swap_remove(victim);
        }
    }

    fn noise(&mut self, p: usize) {
        let int = OwnedArg::Int;
        let addr = 0x7f00_0000_0000 + i64::try_from(self.rng.below(1 << 30)).unwrap_or(0) * 8;
        let (ty, ret, args) = match self.rng.below(6) {
            0 | 1 => (
                202,
                0,
                vec![int(addr), int(129), int(1), int(0), int(0), int(0)],
            ), // futex
            2 => (232, 1, vec![int(5), int(addr), int(64), int(1000)]), // epoll_wait
            3 => (
                nr::MMAP,
                addr,
                vec![int(0), int(8192), int(3), int(0x22), int(-1), int(0)],
            ),
            4 => (228, 0, vec![int(1), int(addr)]), // clock_gettime
            _ => (7, 1, vec![int(addr), int(2), int(100)]), // poll
        };
        self.record(p, ty, ret, args);
    }
}

/// Generates a workload.
pub fn generate(opts: &SynthOptions) -> Workload {
    let mut rng = Rng::new(opts.seed);
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
                uid: 1000,
                gid: 1000,
                name: b"app".to_vec(),
                home: b"/home/app".to_vec(),
                shell: b"/bin/sh".to_vec(),
            },
        ],
        ..Snapshot::default()
    };
    let mut procs = Vec::new();
    for i in 0..opts.processes.max(1) {
        let pid = 1000 + i64::try_from(i).unwrap_or(0) * 10;
        let comm = rng.index(COMMS.len());
        let nthreads = 1 + rng.below(4);
        let threads: Vec<i64> = (0..nthreads)
            .map(|t| pid + i64::try_from(t).unwrap_or(0))
            .collect();
        let uid = if rng.chance(50) { 0 } else { 1000 };
        snapshot.processes.push(ProcessInfo {
            pid,
            ppid: 1,
            vpid: pid,
            exe: format!("/usr/bin/{}", COMMS[comm]).into_bytes(),
            exepath: format!("/usr/bin/{}", COMMS[comm]).into_bytes(),
            args: b"--serve\0".to_vec(),
            cwd: b"/".to_vec(),
            uid,
            gid: uid,
            loginuid: u32::MAX,
            ..ProcessInfo::default()
        });
        for &tid in &threads {
            snapshot.threads.push(ThreadInfo {
                tid,
                pid,
                vtid: tid,
                comm: COMMS[comm].as_bytes().to_vec(),
                ..ThreadInfo::default()
            });
        }
        let mut fds = Vec::new();
        for fd in 0..3 {
            fds.push((fd, false));
            snapshot.fds.push(FdInfo {
                pid,
                fd,
                kind: FdKind::File,
                name: b"/dev/null".to_vec(),
                ..FdInfo::default()
            });
        }
        procs.push(Proc {
            pid,
            threads,
            comm,
            fds,
            next_fd: 3,
        });
    }
    let text = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5\r\n\
        Accept: */*\r\n\r\n{\"id\":12345,\"name\":\"widget\",\"price\":9.99,\"tags\":[\"a\",\"b\"]}\n\
        2025-11-25 12:00:00 INFO request completed in 12ms status=200 bytes=5120\n";
    let data: Vec<u8> = text.iter().copied().cycle().take(64 * 1024).collect();
    let mut g = Gen {
        rng,
        opts,
        procs,
        next_pid: 100_000,
        ts: EPOCH,
        out: Vec::with_capacity(opts.events + 16),
        data,
    };
    while g.out.len() < opts.events {
        g.step();
    }
    g.out.truncate(opts.events);
    Workload {
        snapshot,
        records: g.out,
    }
}
