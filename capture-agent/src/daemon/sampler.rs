//! Metric samples, once a second: of the host, and of the processes that
//! per-process metric rules name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use triggers::filter::{Filter, ProcessFacts};
use triggers::rules::{Metric, MetricSample};

use crate::procfs;

/// Per-process samples for the rules that ask for them: only the processes
/// their filters match are counted (from the event stream) and read (from
/// `/proc`), so rules without a `process:` cost nothing here.
#[derive(Debug)]
pub struct ProcessSampler {
    root: PathBuf,
    /// Counts since the last sample, of the processes watched now.
    counts: HashMap<u64, Counts>,
    /// CPU seconds at the last sample, per watched pid.
    cpu: HashMap<u64, f64>,
    last: Option<Instant>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    syscalls: u64,
    errors: u64,
    connections: u64,
}

impl Default for ProcessSampler {
    fn default() -> Self {
        Self::new(PathBuf::from("/proc"))
    }
}

impl ProcessSampler {
    /// A sampler reading processes under `root` (normally `/proc`).
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            counts: HashMap::new(),
            cpu: HashMap::new(),
            last: None,
        }
    }

    /// Counts an event of process `pid`, if it is watched.
    #[inline]
    pub fn count(&mut self, pid: i64, error: bool, connection: bool) {
        if self.counts.is_empty() {
            return;
        }
        if let Some(c) = u64::try_from(pid)
            .ok()
            .and_then(|pid| self.counts.get_mut(&pid))
        {
            c.syscalls += 1;
            c.errors += u64::from(error);
            c.connections += u64::from(connection);
        }
    }

    /// The samples at `ts` of the `processes` that the `conditions` watch,
    /// then those processes are the ones counted until the next call. A
    /// process seen for the first time gets its rates and CPU share at the
    /// next sample: a partial second would say too little.
    pub fn take(
        &mut self,
        ts: u64,
        conditions: &[(Metric, &Filter)],
        processes: &[ProcessFacts],
    ) -> Vec<MetricSample> {
        let now = Instant::now();
        let secs = self
            .last
            .map_or(1.0, |l| now.duration_since(l).as_secs_f64().max(0.001));
        self.last = Some(now);
        let mut counts = HashMap::new();
        let mut cpu = HashMap::new();
        let mut out = Vec::new();
        if conditions.is_empty() {
            self.counts = counts;
            self.cpu = cpu;
            return out;
        }
        for p in processes {
            let wanted: Vec<Metric> = conditions
                .iter()
                .filter(|(_, f)| f.matches_process(p))
                .map(|(m, _)| *m)
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let counted = self.counts.get(&p.pid).copied();
            let usage = procfs::usage(&self.root, p.pid);
            let mut push = |metric, value: f64| {
                if wanted.contains(&metric) {
                    out.push(MetricSample {
                        ts,
                        metric,
                        value,
                        process: Some(p.clone()),
                    });
                }
            };
            if let Some(c) = counted {
                push(Metric::SyscallRate, c.syscalls as f64 / secs);
                push(Metric::ErrorRate, c.errors as f64 / secs);
                push(Metric::ConnectionRate, c.connections as f64 / secs);
            }
            if let Some(u) = usage {
                if let Some(before) = self.cpu.get(&p.pid) {
                    push(
                        Metric::CpuPercent,
                        (u.cpu_seconds - before).max(0.0) / secs * 100.0,
                    );
                }
                push(Metric::RssBytes, u.rss_bytes as f64);
                push(Metric::OpenFds, u.open_fds as f64);
                cpu.insert(p.pid, u.cpu_seconds);
            }
            counts.insert(p.pid, Counts::default());
        }
        self.counts = counts;
        self.cpu = cpu;
        out
    }
}

/// Host metrics: counts from the event stream between samples, the rest
/// read from `/proc`.
#[derive(Debug, Default)]
pub struct HostSampler {
    syscalls: u64,
    errors: u64,
    connections: u64,
    last: Option<Instant>,
    cpu: Option<(u64, u64)>,
}

impl HostSampler {
    /// Counts one event.
    #[inline]
    pub fn count(&mut self, error: bool, connection: bool) {
        self.syscalls += 1;
        self.errors += u64::from(error);
        self.connections += u64::from(connection);
    }

    /// The host metrics since the last call.
    pub fn take(&mut self) -> Vec<(Metric, f64)> {
        let now = Instant::now();
        let secs = self
            .last
            .map_or(1.0, |l| now.duration_since(l).as_secs_f64().max(0.001));
        self.last = Some(now);
        let mut out = vec![
            (
                Metric::SyscallRate,
                std::mem::take(&mut self.syscalls) as f64 / secs,
            ),
            (
                Metric::ErrorRate,
                std::mem::take(&mut self.errors) as f64 / secs,
            ),
            (
                Metric::ConnectionRate,
                std::mem::take(&mut self.connections) as f64 / secs,
            ),
        ];
        if let Some((busy, total)) = cpu_times() {
            if let Some((b0, t0)) = self.cpu
                && total > t0
            {
                let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
                out.push((
                    Metric::CpuPercent,
                    // iowait may go backwards (proc(5)): never below zero.
                    busy.saturating_sub(b0) as f64 / (total - t0) as f64 * 100.0 * cpus as f64,
                ));
            }
            self.cpu = Some((busy, total));
        }
        if let Some(used) = memory_used() {
            out.push((Metric::RssBytes, used as f64));
        }
        if let Some(fds) = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
        {
            out.push((Metric::OpenFds, fds as f64));
        }
        out
    }
}

/// (busy, total) jiffies of all CPUs.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Memory in use: total minus available.
fn memory_used() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("MemTotal:")? - field("MemAvailable:")?) * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> triggers::rules::RuleSet {
        triggers::rules::load("rules.yaml", text).unwrap()
    }

    #[test]
    fn only_matching_processes_are_sampled_with_the_metrics_asked_for() {
        let set = rules(
            "rules:
  - {name: busy, condition: {metric: syscall_rate, process: proc.name=me, above: 5}}
  - {name: fat, condition: {metric: rss_bytes, process: proc.name=me, above: 1GiB}}
",
        );
        let engine = triggers::rules::Engine::new(set);
        let conditions: Vec<_> = engine.process_metrics().collect();
        let me = ProcessFacts {
            pid: u64::from(std::process::id()),
            name: b"me".to_vec(),
            ..ProcessFacts::default()
        };
        let other = ProcessFacts {
            pid: 1,
            name: b"init".to_vec(),
            ..ProcessFacts::default()
        };
        let processes = [me.clone(), other];
        let mut sampler = ProcessSampler::default();
        let first = sampler.take(1, &conditions, &processes);
        let metrics: Vec<Metric> = first.iter().map(|s| s.metric).collect();
        assert_eq!(metrics, [Metric::RssBytes], "no rate before a full period");
        assert!(first[0].value > 1e6, "{first:?}");

        let pid = i64::try_from(me.pid).unwrap();
        for i in 0..10 {
            sampler.count(pid, i % 2 == 0, false);
            sampler.count(1, false, false);
        }
        let second = sampler.take(2, &conditions, &processes);
        let rate = second
            .iter()
            .find(|s| s.metric == Metric::SyscallRate)
            .expect("a rate once counted");
        assert!(rate.value > 0.0, "{rate:?}");
        assert_eq!(rate.process.as_ref().unwrap().pid, me.pid);
        assert!(
            second
                .iter()
                .all(|s| s.process.as_ref().unwrap().pid == me.pid),
            "init is not watched: {second:?}"
        );
        assert!(
            second.iter().all(|s| s.metric != Metric::ErrorRate),
            "no rule asks for errors"
        );
    }

    #[test]
    fn nothing_is_counted_without_per_process_rules() {
        let mut sampler = ProcessSampler::default();
        let me = ProcessFacts {
            pid: u64::from(std::process::id()),
            ..ProcessFacts::default()
        };
        assert!(sampler.take(1, &[], &[me]).is_empty());
        sampler.count(i64::from(std::process::id()), false, false);
        assert!(sampler.counts.is_empty());
    }
}
