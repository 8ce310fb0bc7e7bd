//! Each thread's CPU time, as the driver's `procinfo` events give it:
//! about once a second ([`PERIOD`]), every thread that ran since the last
//! round gets a record with the user and system CPU it used since it
//! started, in jiffies (`USER_HZ`, 100 a second), read from
//! `/proc/PID/task/TID/stat`. The CPU chisels (`topprocs_cpu`,
//! `topcontainers_cpu`) sum the differences.
//!
//! A round reads each process's `/proc/PID/stat` first: a process whose
//! CPU time did not move since the last round has no thread that ran, and
//! its threads are not read. Memory is bounded: a process gone from `/proc`
//! is forgotten at the end of the round, and at most [`MAX_THREADS`]
//! threads are followed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use capture_format::event::{Arg, EventType, Record};

use crate::host;
use crate::procfs::{clock_ticks, stat_comm, stat_fields};

/// How often threads are sampled.
pub const PERIOD: Duration = Duration::from_secs(1);

/// Threads followed at most (32 bytes each); threads beyond are not
/// sampled.
pub const MAX_THREADS: usize = 1 << 18;

/// Bytes a `stat` line fits in (about 300 with a 15-byte comm).
const STAT_BYTES: usize = 1024;

/// `procinfo`'s unit: jiffies of `USER_HZ`.
const JIFFIES_PER_S: u64 = 100;

/// One thread's CPU time so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The thread.
    pub tid: i64,
    /// Its process (thread group).
    pub pid: i64,
    /// User CPU since it started, jiffies.
    pub user: u64,
    /// System CPU since it started, jiffies.
    pub system: u64,
    /// When it was read, ns since the epoch.
    pub ts: u64,
}

impl Sample {
    /// Calls `f` with the `procinfo` record of this sample.
    pub fn with_record<T>(&self, f: impl FnOnce(&Record<'_>) -> T) -> T {
        let jiffies = |v: u64| Arg::Int(i64::try_from(v).unwrap_or(i64::MAX));
        let args = [jiffies(self.user), jiffies(self.system)];
        f(&Record {
            ty: EventType::PROC_INFO,
            ts: self.ts,
            tid: self.tid,
            pid: self.pid,
            args: &args,
            ..Record::default()
        })
    }
}

/// What the last round cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCost {
    /// Processes whose `stat` was read.
    pub processes: usize,
    /// Threads whose `stat` was read (those of processes that ran).
    pub threads_read: usize,
    /// Threads followed after the round.
    pub threads_followed: usize,
    /// Samples the round gave.
    pub samples: usize,
    /// Threads not followed: [`MAX_THREADS`] reached.
    pub untracked: usize,
    /// Wall time of the round.
    pub elapsed: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Thread {
    tid: u32,
    /// Start time (ticks since boot): a tid used again is another thread.
    start: u64,
    user: u64,
    system: u64,
}

#[derive(Debug)]
struct Process {
    start: u64,
    /// User plus system ticks of the whole process at the last round.
    total: u64,
    /// The last round that saw it.
    round: u64,
    /// By tid.
    threads: Vec<Thread>,
}

/// Reads threads' CPU times round after round.
#[derive(Debug)]
pub struct CpuSampler {
    root: PathBuf,
    /// Never sampled (the agent is never recorded).
    self_pid: u32,
    /// Only threads with this comm (the kernel's `--comm` filter).
    comm: Option<Vec<u8>>,
    processes: HashMap<u32, Process>,
    followed: usize,
    round: u64,
    /// The next round samples every thread that used any CPU.
    everything: bool,
    ticks_per_s: u64,
    path: String,
    buf: Vec<u8>,
    pids: Vec<u32>,
    samples: Vec<Sample>,
    cost: RoundCost,
}

impl CpuSampler {
    /// A sampler of the threads under `root` (normally `/proc`) whose comm
    /// is `comm` (any comm: `None`), never of this process.
    pub fn new(root: PathBuf, comm: Option<Vec<u8>>) -> Self {
        // This process as `root` numbers it (the host's `/proc` seen from a
        // container numbers it as the host does).
        let self_pid = std::fs::read_link(root.join("self"))
            .ok()
            .and_then(|p| p.to_str()?.parse().ok())
            .unwrap_or_else(std::process::id);
        Self {
            root,
            self_pid,
            comm,
            processes: HashMap::new(),
            followed: 0,
            round: 0,
            everything: false,
            ticks_per_s: clock_ticks(),
            path: String::new(),
            buf: Vec::with_capacity(STAT_BYTES),
            pids: Vec::new(),
            samples: Vec::new(),
            cost: RoundCost::default(),
        }
    }

    /// Makes the next round sample every thread that used any CPU, ran or
    /// not: the first samples of a new file, from which the next ones
    /// count.
    pub fn sample_everything_next(&mut self) {
        self.everything = true;
    }

    /// What the last round cost.
    pub fn cost(&self) -> RoundCost {
        self.cost
    }

    /// One round over the processes `pids` (every process: `None`): the
    /// threads that ran since the last round, and those seen for the first
    /// time that used any CPU.
    pub fn round(&mut self, pids: Option<&[u32]>) -> &[Sample] {
        let started = Instant::now();
        self.round += 1;
        self.samples.clear();
        self.cost = RoundCost::default();
        let mut list = std::mem::take(&mut self.pids);
        list.clear();
        match pids {
            Some(pids) => list.extend_from_slice(pids),
            None => list_pids(&self.root, &mut list),
        }
        for &pid in &list {
            if pid != self.self_pid {
                self.process(pid);
            }
        }
        self.pids = list;
        let round = self.round;
        let mut followed = 0;
        self.processes.retain(|_, p| {
            let kept = p.round == round;
            if kept {
                followed += p.threads.len();
            }
            kept
        });
        self.followed = followed;
        self.everything = false;
        self.cost.threads_followed = followed;
        self.cost.samples = self.samples.len();
        self.cost.elapsed = started.elapsed();
        &self.samples
    }

    /// Reads `path` (in `self.path`) into `self.buf`: in one `read` when
    /// it fits, as a `stat` line does (`read_to_end` would read twice).
    fn read_path(&mut self) -> bool {
        let Ok(mut file) = File::open(Path::new(&self.path)) else {
            return false;
        };
        self.buf.resize(STAT_BYTES, 0);
        let Ok(n) = file.read(&mut self.buf) else {
            return false;
        };
        self.buf.truncate(n);
        n < STAT_BYTES || file.read_to_end(&mut self.buf).is_ok()
    }

    fn set_path(&mut self, pid: u32, tid: Option<u32>) {
        self.path.clear();
        let root = self.root.to_string_lossy();
        let _ = match tid {
            None => write!(self.path, "{root}/{pid}/stat"),
            Some(tid) => write!(self.path, "{root}/{pid}/task/{tid}/stat"),
        };
    }

    /// Ticks to jiffies.
    /// Every followed thread's figure as of its last read, stamped `ts`,
    /// into `out`: what a file started between rounds counts from.
    pub fn known(&self, ts: u64, out: &mut Vec<Sample>) {
        out.clear();
        for (&pid, process) in &self.processes {
            out.extend(
                process
                    .threads
                    .iter()
                    .filter(|t| t.user.saturating_add(t.system) > 0)
                    .map(|t| Sample {
                        tid: i64::from(t.tid),
                        pid: i64::from(pid),
                        user: t.user,
                        system: t.system,
                        ts,
                    }),
            );
        }
    }

    fn jiffies(&self, ticks: u64) -> u64 {
        if self.ticks_per_s == JIFFIES_PER_S {
            ticks
        } else {
            ticks.saturating_mul(JIFFIES_PER_S) / self.ticks_per_s.max(1)
        }
    }

    /// Samples the threads of process `pid` if any of them ran.
    fn process(&mut self, pid: u32) {
        self.set_path(pid, None);
        if !self.read_path() {
            return; // gone
        }
        self.cost.processes += 1;
        let Some([user, system, start]) = stat_fields(&self.buf, [14, 15, 22]) else {
            return;
        };
        let total = user.saturating_add(system);
        let round = self.round;
        let old = match self.processes.get_mut(&pid) {
            Some(p) if p.start == start => {
                if p.total == total && !self.everything {
                    p.round = round;
                    return;
                }
                std::mem::take(&mut p.threads)
            }
            _ => Vec::new(),
        };
        self.followed = self.followed.saturating_sub(old.len());
        let threads = self.threads(pid, &old);
        self.followed = self.followed.saturating_add(threads.len());
        self.processes.insert(
            pid,
            Process {
                start,
                total,
                round,
                threads,
            },
        );
    }

    /// Reads the threads of `pid`; `old` is what the last round read.
    fn threads(&mut self, pid: u32, old: &[Thread]) -> Vec<Thread> {
        let mut threads = Vec::with_capacity(old.len().max(1));
        let task = self.root.join(pid.to_string()).join("task");
        // The threads of a process are read within microseconds.
        let ts = host::realtime_ns();
        let Ok(dir) = std::fs::read_dir(task) else {
            return threads;
        };
        for entry in dir.flatten() {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            self.set_path(pid, Some(tid));
            if !self.read_path() {
                continue; // exited
            }
            self.cost.threads_read += 1;
            if let (Some(want), Some(comm)) = (&self.comm, stat_comm(&self.buf))
                && want.as_slice() != comm
            {
                continue;
            }
            let Some([user, system, start]) = stat_fields(&self.buf, [14, 15, 22]) else {
                continue;
            };
            let (user, system) = (self.jiffies(user), self.jiffies(system));
            let before = old
                .binary_search_by_key(&tid, |t| t.tid)
                .ok()
                .map(|i| old[i])
                .filter(|t| t.start == start);
            if before.is_none() && self.followed + threads.len() >= MAX_THREADS {
                self.cost.untracked += 1;
                continue;
            }
            let sampled = match before {
                Some(b) if !self.everything => (b.user, b.system) != (user, system),
                _ => user.saturating_add(system) > 0,
            };
            if sampled {
                self.samples.push(Sample {
                    tid: i64::from(tid),
                    pid: i64::from(pid),
                    user,
                    system,
                    ts,
                });
            }
            threads.push(Thread {
                tid,
                start,
                user,
                system,
            });
        }
        threads.sort_unstable_by_key(|t| t.tid);
        threads
    }
}

/// The process ids under `root`.
fn list_pids(root: &Path, out: &mut Vec<u32>) {
    let Ok(dir) = std::fs::read_dir(root) else {
        return;
    };
    out.extend(
        dir.flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc`: process and thread `stat` files.
    struct FakeProc(PathBuf);

    impl FakeProc {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("syscap-cpu-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn stat(comm: &str, pid: u32, user: u64, system: u64, start: u64) -> String {
            format!(
                "{pid} ({comm}) R 1 {pid} {pid} 0 -1 4194560 100 0 0 0 {user} {system} 0 0 20 0 1 0 {start} 1000 10\n"
            )
        }

        /// Process `pid` with `threads` (tid, comm, user, system); its own
        /// figures are their sums.
        fn set(&self, pid: u32, start: u64, threads: &[(u32, &str, u64, u64)]) {
            let base = self.0.join(pid.to_string());
            let _ = std::fs::remove_dir_all(&base);
            std::fs::create_dir_all(base.join("task")).unwrap();
            let user = threads.iter().map(|t| t.2).sum();
            let system = threads.iter().map(|t| t.3).sum();
            std::fs::write(base.join("stat"), Self::stat("p", pid, user, system, start)).unwrap();
            for &(tid, comm, user, system) in threads {
                let dir = base.join("task").join(tid.to_string());
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("stat"), Self::stat(comm, tid, user, system, start))
                    .unwrap();
            }
        }

        fn remove(&self, pid: u32) {
            std::fs::remove_dir_all(self.0.join(pid.to_string())).unwrap();
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn sorted(samples: &[Sample]) -> Vec<(i64, i64, u64, u64)> {
        let mut v: Vec<_> = samples
            .iter()
            .map(|s| (s.tid, s.pid, s.user, s.system))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn threads_that_ran_are_sampled_once_a_round() {
        // (what changes before the round, the samples it gives)
        type Step = (fn(&FakeProc), &'static [(i64, i64, u64, u64)]);
        let proc = FakeProc::new("rounds");
        let mut sampler = CpuSampler::new(proc.0.clone(), None);
        let steps: &[Step] = &[
            (
                |p| {
                    p.set(10, 5, &[(10, "a", 3, 1), (11, "a", 0, 0)]);
                    p.set(20, 6, &[(20, "b", 7, 0)]);
                },
                // First seen: every thread that used CPU (none for 11).
                &[(10, 10, 3, 1), (20, 20, 7, 0)],
            ),
            (|_| {}, &[]),
            (
                |p| p.set(10, 5, &[(10, "a", 3, 1), (11, "a", 2, 0)]),
                &[(11, 10, 2, 0)],
            ),
            (
                // A new thread in a process that did not run otherwise.
                |p| p.set(20, 6, &[(20, "b", 7, 0), (21, "b", 0, 1)]),
                &[(21, 20, 0, 1)],
            ),
            (
                // The process's pid used again: a new process.
                |p| p.set(20, 9, &[(20, "c", 7, 0)]),
                &[(20, 20, 7, 0)],
            ),
            (|p| p.remove(10), &[]),
        ];
        for (i, (change, want)) in steps.iter().enumerate() {
            change(&proc);
            let got = sorted(sampler.round(None));
            assert_eq!(got, *want, "round {i}");
        }
        assert_eq!(sampler.processes.len(), 1, "process 10 is forgotten");
        assert_eq!(sampler.cost().threads_followed, 1);
        assert_eq!(sampler.cost().processes, 1);
        // Nothing ran: the threads of 20 were not read.
        sampler.round(None);
        assert_eq!(sampler.cost().threads_read, 0);
        sampler.sample_everything_next();
        assert_eq!(sorted(sampler.round(None)), [(20, 20, 7, 0)]);
        assert!(sampler.round(None).is_empty(), "once");
    }

    #[test]
    fn only_the_processes_and_the_comm_asked_for() {
        let proc = FakeProc::new("scope");
        proc.set(10, 5, &[(10, "sh", 1, 0), (11, "worker", 2, 0)]);
        proc.set(20, 5, &[(20, "sh", 4, 0)]);
        let mut sampler = CpuSampler::new(proc.0.clone(), None);
        assert_eq!(sorted(sampler.round(Some(&[20, 30]))), [(20, 20, 4, 0)]);
        let mut sampler = CpuSampler::new(proc.0.clone(), Some(b"worker".to_vec()));
        assert_eq!(sorted(sampler.round(None)), [(11, 10, 2, 0)]);
        // This process as the root numbers it (its `self`).
        std::os::unix::fs::symlink("10", proc.0.join("self")).unwrap();
        let mut sampler = CpuSampler::new(proc.0.clone(), None);
        assert_eq!(
            sorted(sampler.round(None)),
            [(20, 20, 4, 0)],
            "never itself"
        );
    }

    #[test]
    fn a_busy_thread_of_this_process_is_sampled_from_the_real_proc() {
        let mut sampler = CpuSampler::new(PathBuf::from("/proc"), None);
        sampler.self_pid = 0; // sample this process too
        let me = std::process::id();
        sampler.round(Some(&[me]));
        let spin = Instant::now();
        let mut x = 0u64;
        // Long enough for a tick whatever the accounting.
        while spin.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        // SAFETY: gettid has no preconditions.
        let tid = i64::from(unsafe { libc::gettid() });
        let samples = sampler.round(Some(&[me])).to_vec();
        let mine = samples.iter().find(|s| s.tid == tid);
        assert!(
            mine.is_some_and(|s| s.user + s.system >= 1 && s.pid == i64::from(me)),
            "{samples:?}"
        );
    }

    #[test]
    fn a_sample_is_a_procinfo_record() {
        let s = Sample {
            tid: 11,
            pid: 10,
            user: 30,
            system: 10,
            ts: 99,
        };
        s.with_record(|r| {
            assert_eq!(
                (r.ty, r.ts, r.tid, r.pid),
                (EventType::PROC_INFO, 99, 11, 10)
            );
            assert_eq!(r.args, [Arg::Int(30), Arg::Int(10)]);
        });
    }
}
