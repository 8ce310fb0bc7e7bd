//! Process chisels: `proc_exec_time`, `spy_users`, `list_login_shells`,
//! and `fdcount_by`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use capture_format::event::nr;
use capture_format::file::{Event, Projection, ThreadView};
use capture_format::state::split_nul;
use triggers::filter::fields::value;
use triggers::filter::{Env, Field, Filter, Value};

use super::{Chisel, ChiselError, ChiselInfo, format_time, own_filter, text};
use crate::print::write_value;

/// Arguments after `argv[0]`, space-separated.
fn args_of(argv: &[u8]) -> String {
    split_nul(argv)
        .skip(1)
        .map(text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `HH:MM:SS` (sysdig's `evt.time.s`).
fn time_s(ns: u64) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default();
    ts.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%H:%M:%S")
        .to_string()
}

fn is_shell(comm: &[u8]) -> bool {
    comm.len() >= 2 && comm.ends_with(b"sh")
}

/// Events that do nothing for these chisels but print at the end.
macro_rules! no_begin {
    () => {
        fn begin(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
            Ok(())
        }
    };
}

struct ProcExecTime {
    filter: Filter,
}

impl Chisel for ProcExecTime {
    fn projection(&self) -> Projection {
        Projection::MINIMAL | Projection::THREAD
    }
    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }
    fn begin(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        writeln!(
            out,
            "{:<13.13} {:<12.12} proc.args",
            "proc.duration", "proc.name"
        )?;
        writeln!(
            out,
            "{:<13.13} {:<12.12} {}",
            "-".repeat(13),
            "-".repeat(12),
            "-".repeat(20)
        )
    }
    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(t) = e.thread() else { return Ok(()) };
        // A process's duration ends when its main thread exits.
        if t.tid() != t.pid() || t.start_ts() == 0 || e.ts() < t.start_ts() {
            return Ok(());
        }
        let args = split_nul(t.args()).map(text).collect::<Vec<_>>().join(" ");
        writeln!(
            out,
            "{:<13.13} {:<12.12} {args}",
            format_time(e.ts() - t.start_ts()),
            text(t.comm())
        )
    }
    fn finish(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }
}

pub(super) const PROC_EXEC_TIME: ChiselInfo = ChiselInfo {
    name: "proc_exec_time",
    description: "Show process execution time",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(ProcExecTime {
            filter: own_filter("evt.type = procexit"),
        }))
    },
};

/// How deep sysdig's `spy_users` looks for a shell among the ancestors.
const MAX_ANCESTOR_NAVIGATION: usize = 16;

struct SpyUsers {
    filter: Filter,
    /// Per process: its depth below the session's shell (-1: not started
    /// from a shell) and that shell's pid. As in sysdig, a parent's entry is
    /// computed once, the first time one of its children shows up.
    tree: HashMap<i64, (i64, i64)>,
}

impl SpyUsers {
    /// The entry of `ppid`, given the ancestors to search (nearest first):
    /// the outermost shell among them is the session.
    fn parent_entry(&mut self, ppid: i64, ancestors: &[ThreadView<'_>]) -> (i64, i64) {
        if let Some(&entry) = self.tree.get(&ppid) {
            return entry;
        }
        let mut entry = (-1, 0);
        for (j, a) in ancestors.iter().enumerate().take(MAX_ANCESTOR_NAVIGATION) {
            if is_shell(a.comm()) {
                let depth = if self.tree.contains_key(&a.pid()) {
                    i64::try_from(j).unwrap_or(0)
                } else {
                    0
                };
                entry = (depth, a.pid());
            }
        }
        self.tree.insert(ppid, entry);
        entry
    }
}

impl Chisel for SpyUsers {
    fn projection(&self) -> Projection {
        Projection::ALL
    }
    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }
    no_begin!();
    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(t) = e.thread() else { return Ok(()) };
        let user = if t.user().is_empty() {
            "<NA>".to_owned()
        } else {
            text(t.user())
        };
        let when = time_s(e.ts());
        let chdir = e.ty().0 == nr::CHDIR;
        // A shell changing directory is its own session: the search starts
        // at the process itself.
        let (ppid, ancestors): (i64, Vec<ThreadView<'_>>) = if chdir {
            (
                t.pid(),
                std::iter::once(t)
                    .chain(t.ancestors())
                    .take(MAX_ANCESTOR_NAVIGATION)
                    .collect(),
            )
        } else {
            (
                t.ppid(),
                t.ancestors().take(MAX_ANCESTOR_NAVIGATION).collect(),
            )
        };
        let parent = self.parent_entry(ppid, &ancestors);
        if parent.0 == -1 {
            return Ok(()); // not started from a shell
        }
        let (depth, shell) = *self.tree.entry(t.pid()).or_insert((1 + parent.0, parent.1));
        let indent =
            |per: i64, less: i64| " ".repeat(usize::try_from(per * (depth - less)).unwrap_or(0));
        if chdir {
            let dir = e
                .arg_named("path")
                .and_then(|a| a.as_bytes().map(text))
                .unwrap_or_default();
            return writeln!(out, "{}{shell} {when} {user}) cd {dir}", indent(4, 0));
        }
        let argv = e
            .arg_named("args")
            .and_then(|a| a.as_bytes().map(<[u8]>::to_vec))
            .unwrap_or_default();
        let exe = split_nul(&argv).next().map_or_else(|| text(t.comm()), text);
        // sysdig writes "exe args" even when there are no arguments.
        writeln!(
            out,
            "{}{shell} {when} {user}) {exe} {}",
            indent(3, 1),
            args_of(&argv)
        )
    }
    fn finish(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }
}

pub(super) const SPY_USERS: ChiselInfo = ChiselInfo {
    name: "spy_users",
    description: "Display interactive user activity",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(SpyUsers {
            filter: own_filter(
                "(evt.type = execve or (evt.type = chdir and proc.name contains sh and not proc.name contains sshd)) and evt.failed = false",
            ),
            tree: HashMap::new(),
        }))
    },
};

struct LoginShells {
    filter: Filter,
    ids: BTreeSet<i64>,
}

impl Chisel for LoginShells {
    fn projection(&self) -> Projection {
        Projection::MINIMAL | Projection::THREAD
    }
    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }
    no_begin!();
    fn event(&mut self, e: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        // proc.loginshellid: the topmost shell among the process and its
        // ancestors.
        if let Some(t) = e.thread() {
            let top = std::iter::once(t)
                .chain(t.ancestors().take(32))
                .filter(|a| is_shell(a.comm()))
                .last();
            if let Some(shell) = top {
                self.ids.insert(shell.pid());
            }
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        writeln!(out, "All shells:")?;
        for id in &self.ids {
            writeln!(out, "{id}")?;
        }
        Ok(())
    }
}

pub(super) const LIST_LOGIN_SHELLS: ChiselInfo = ChiselInfo {
    name: "list_login_shells",
    description: "List the login shell IDs",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(LoginShells {
            filter: own_filter("evt.type = execve"),
            ids: BTreeSet::new(),
        }))
    },
};

struct FdCountBy {
    key: Field,
    /// `fd.name`.
    fd_name: Field,
    /// The fd's number and name.
    fd_key: Vec<u8>,
    sets: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    scratch: Vec<u8>,
    buf: Vec<u8>,
}

impl Chisel for FdCountBy {
    fn projection(&self) -> Projection {
        self.key.projection() | Projection::FD
    }
    fn filter(&self) -> Option<&Filter> {
        None
    }
    no_begin!();
    fn event(&mut self, e: &Event<'_>, env: &Env, _: &mut dyn Write) -> io::Result<()> {
        let Some(fd) = e.fd() else { return Ok(()) };
        if fd.num() <= 0 {
            return Ok(());
        }
        // As sysdig's: an fd is its number and its `fd.name` (a socket's
        // is its ends: `::1:40000->::1:80`), so one counts with any name.
        self.fd_key.clear();
        let _ = write!(self.fd_key, "{}", fd.num());
        match value(self.fd_name, e, env, &mut self.scratch) {
            Value::Str(name) if !name.is_empty() => self.fd_key.extend_from_slice(name),
            _ => return Ok(()),
        }
        let v = value(self.key, e, env, &mut self.scratch);
        if matches!(v, Value::None) {
            return Ok(());
        }
        self.buf.clear();
        write_value(&v, &mut self.buf);
        let set = self.sets.entry(self.buf.clone()).or_default();
        if !set.contains(&self.fd_key) {
            set.insert(self.fd_key.clone());
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        let mut rows: Vec<(&Vec<u8>, usize)> =
            self.sets.iter().map(|(k, s)| (k, s.len())).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (k, n) in rows {
            writeln!(out, "{}\t{n}", text(k))?;
        }
        Ok(())
    }
}

pub(super) const FDCOUNT_BY: ChiselInfo = ChiselInfo {
    name: "fdcount_by",
    description: "FD count, aggregated by an arbitrary filter field",
    args: &[("field", "the filter field used for grouping")],
    optional: &[],
    make: |name, args| {
        let key = triggers::filter::field(&args[0]).map_err(|message| ChiselError::Args {
            chisel: name,
            message,
        })?;
        Ok(Box::new(FdCountBy {
            key,
            fd_name: triggers::filter::field("fd.name").expect("a field of the catalogue"),
            fd_key: Vec::new(),
            sets: BTreeMap::new(),
            scratch: Vec::new(),
            buf: Vec::new(),
        }))
    },
};
