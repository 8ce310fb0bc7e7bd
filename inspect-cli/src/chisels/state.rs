//! `ps`, `lsof`, `netstat`: the process and fd tables, as sysdig's chisels
//! print them. sysdig dumps its tables at the first event; syscap reads the
//! state snapshot the capture starts with, which is the same moment.

use std::collections::HashSet;
use std::io::{self, Write};

use capture_format::event::{OwnedSockAddr, OwnedSockTuple};
use capture_format::file::{Event, Projection};
use capture_format::state::{FdKind, L4Proto, ProcessInfo, Snapshot, SocketEnds};
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselInfo, extend_string, format_bytes, text};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Ps,
    Lsof,
    Netstat,
}

struct State {
    table: Table,
    snapshot: Option<Snapshot>,
    /// With a filter, the (tid, fd) pairs it matches.
    matching: Option<HashSet<(i64, i64)>>,
}

/// The (tid, fd) pairs of `snap` that `filter` matches, as sysdig's
/// `get_thread_table` applies a chisel's filter: each fd of each thread
/// as an event of that thread on that fd. The events are a `read` of 0
/// bytes per pair, written with the snapshot into a capture in memory
/// (which names them as any capture does) and read back.
fn matching_pairs(
    snap: &Snapshot,
    filter: &Filter,
    env: &Env,
) -> Result<HashSet<(i64, i64)>, capture_format::Error> {
    use capture_format::event::{EventType, OwnedArg, OwnedRecord};
    use capture_format::file::{
        CaptureHeader, CaptureReader, Chunk, Decoder, Writer, WriterOptions,
    };
    use capture_format::state::Tracker;

    let read = EventType::from_name("read").expect("read is a system call");
    let pairs: Vec<(i64, i64, i64)> = thread_fds(snap)
        .map(|(t, f)| (t.tid, t.pid, f.fd))
        .collect();
    let mut writer = Writer::new(
        Vec::new(),
        &CaptureHeader::default(),
        WriterOptions::default(),
    )?;
    writer.write_snapshot(snap)?;
    let mut tracker = Tracker::from_snapshot(snap);
    for (i, &(tid, pid, fd)) in pairs.iter().enumerate() {
        let record = OwnedRecord {
            ty: read,
            ts: i as u64 + 1,
            tid,
            pid,
            ret: 0,
            args: vec![
                OwnedArg::Int(fd),
                OwnedArg::Int(0),
                OwnedArg::Bytes(Vec::new()),
            ],
            ..OwnedRecord::default()
        };
        record.with_record(|rec| {
            let ctx = tracker.apply(rec);
            writer.write(rec, &ctx)
        })?;
    }
    let (bytes, _) = writer.finish()?;
    let reader = CaptureReader::open(&bytes[..])?;
    let mut matcher = filter.matcher();
    let (mut decoder, mut chunk) = (Decoder::new(), Chunk::default());
    let mut found = HashSet::new();
    let mut pair = pairs.iter();
    for i in 0..reader.index().chunks.len() {
        decoder.read_chunk(&reader, i, Projection::ALL, &mut chunk)?;
        for e in chunk.events() {
            let Some(&(tid, _, fd)) = pair.next() else {
                break;
            };
            if matcher.matches(&e, env) {
                found.insert((tid, fd));
            }
        }
    }
    Ok(found)
}

/// Every thread (by tid) with the fds of its process (by number): sysdig's
/// `lsof` and `netstat` walk the thread table, and threads share their
/// process's fd table.
fn thread_fds(
    snap: &Snapshot,
) -> impl Iterator<
    Item = (
        &capture_format::state::ThreadInfo,
        &capture_format::state::FdInfo,
    ),
> {
    let mut by_pid: std::collections::BTreeMap<i64, Vec<&capture_format::state::FdInfo>> =
        std::collections::BTreeMap::new();
    for f in &snap.fds {
        by_pid.entry(f.pid).or_default().push(f);
    }
    for fds in by_pid.values_mut() {
        fds.sort_by_key(|f| f.fd);
    }
    let mut threads: Vec<_> = snap.threads.iter().collect();
    threads.sort_by_key(|t| t.tid);
    threads.into_iter().flat_map(move |t| {
        by_pid
            .get(&t.pid)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(move |f| (t, f))
    })
}

/// (client, server) of a connection.
fn ends_of(t: &OwnedSockTuple) -> (String, String) {
    match t {
        OwnedSockTuple::V4 { src, dst } => (src.to_string(), dst.to_string()),
        OwnedSockTuple::V6 { src, dst } => (src.to_string(), dst.to_string()),
        OwnedSockTuple::Unix { path, .. } => (text(path), text(path)),
    }
}

fn addr(a: &OwnedSockAddr) -> (String, String) {
    match a {
        OwnedSockAddr::V4(a) => (a.ip().to_string(), a.port().to_string()),
        OwnedSockAddr::V6(a) => (a.ip().to_string(), a.port().to_string()),
        OwnedSockAddr::Unix(p) => (text(p), String::new()),
        OwnedSockAddr::Other(f) => (format!("family {f}"), String::new()),
    }
}

impl State {
    fn write_ps(snap: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}{}{}{}{}{}CMD",
            extend_string("TID", 8),
            extend_string("PID", 8),
            extend_string("USER", 12),
            extend_string("VIRT", 11),
            extend_string("RES", 11),
            extend_string("FDLIMIT", 10)
        )?;
        let mut threads: Vec<_> = snap.threads.iter().collect();
        threads.sort_by_key(|t| t.tid);
        for t in threads {
            let process = snap.processes.iter().find(|p| p.pid == t.pid);
            let user = user_of(snap, process);
            let (virt, res, limit) =
                process.map_or((0, 0, 0), |p| (p.vm_size, p.vm_rss, p.fd_limit));
            writeln!(
                out,
                "{}{}{}{}{}{}{}",
                extend_string(&t.tid.to_string(), 8),
                extend_string(&t.pid.to_string(), 8),
                extend_string(&user, 12),
                extend_string(&format_bytes(virt), 11),
                extend_string(&format_bytes(res), 11),
                extend_string(&limit.to_string(), 10),
                text(&t.comm)
            )?;
        }
        Ok(())
    }

    fn write_lsof(
        snap: &Snapshot,
        matching: Option<&HashSet<(i64, i64)>>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        writeln!(
            out,
            "{}{}{}{}{}{}NAME",
            extend_string("COMMAND", 20),
            extend_string("PID", 8),
            extend_string("TID", 8),
            extend_string("USER", 8),
            extend_string("FD", 8),
            extend_string("TYPE", 12)
        )?;
        for (t, f) in thread_fds(snap).filter(|(t, f)| shown(matching, t.tid, f.fd)) {
            let process = snap.processes.iter().find(|p| p.pid == f.pid);
            let user = user_of(snap, process);
            // sysdig's lsof shows a kind it does not know as <NA>.
            let kind = match f.kind {
                FdKind::Unknown => "<NA>",
                kind => kind.name(),
            };
            writeln!(
                out,
                "{}{}{}{}{}{}{}",
                extend_string(&text(&t.comm), 20),
                extend_string(&f.pid.to_string(), 8),
                extend_string(&t.tid.to_string(), 8),
                extend_string(&user, 8),
                extend_string(&f.fd.to_string(), 8),
                extend_string(kind, 12),
                fd_name(&f.ends, &f.name)
            )?;
        }
        Ok(())
    }

    fn write_netstat(
        snap: &Snapshot,
        matching: Option<&HashSet<(i64, i64)>>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        writeln!(
            out,
            "{}{}{}{}TID/PID/Program Name",
            extend_string("Proto", 6),
            extend_string("Server Address", 25),
            extend_string("Client Address", 25),
            extend_string("State", 15)
        )?;
        for (t, f) in
            thread_fds(snap).filter(|(t, f)| f.kind.is_inet() && shown(matching, t.tid, f.fd))
        {
            let proto = match f.l4proto {
                L4Proto::Unknown => "<NA>",
                known => known.name(),
            };
            let (server, client, state) = match &f.ends {
                SocketEnds::Local(a) => {
                    let (ip, port) = addr(a);
                    (format!("{ip}:{port}"), "0.0.0.0:*".to_owned(), "LISTEN")
                }
                SocketEnds::Tuple(t) => {
                    let (client, server) = ends_of(t);
                    (server, client, "ESTABLISHED")
                }
                SocketEnds::None => continue,
            };
            writeln!(
                out,
                "{}{}{}{}{}/{}/{}",
                extend_string(proto, 6),
                extend_string(&server, 25),
                extend_string(&client, 25),
                extend_string(state, 15),
                t.tid,
                f.pid,
                text(&t.comm)
            )?;
        }
        Ok(())
    }
}

/// True when the fd is shown: no filter, or it matches.
fn shown(matching: Option<&HashSet<(i64, i64)>>, tid: i64, fd: i64) -> bool {
    matching.is_none_or(|m| m.contains(&(tid, fd)))
}

/// An fd's name as sysdig shows it (connections as `client->server`).
fn fd_name(ends: &SocketEnds, name: &[u8]) -> String {
    match ends {
        SocketEnds::None => text(name),
        SocketEnds::Local(a) => {
            let (ip, port) = addr(a);
            if port.is_empty() {
                ip
            } else {
                format!("{ip}:{port}")
            }
        }
        SocketEnds::Tuple(OwnedSockTuple::Unix { path, .. }) => text(path),
        SocketEnds::Tuple(t) => {
            let (client, server) = ends_of(t);
            format!("{client}->{server}")
        }
    }
}

impl Chisel for State {
    fn projection(&self) -> Projection {
        Projection::MINIMAL
    }

    fn filter(&self) -> Option<&Filter> {
        None
    }

    fn needs_events(&self) -> bool {
        false
    }

    fn state(
        &mut self,
        mut snapshot: Snapshot,
        filter: Option<&Filter>,
        env: &Env,
    ) -> Result<(), capture_format::Error> {
        if let Some(filter) = filter {
            let found = matching_pairs(&snapshot, filter, env)?;
            // ps lists the threads with a matching fd; lsof and netstat
            // the matching fds.
            let tids: HashSet<i64> = found.iter().map(|&(tid, _)| tid).collect();
            snapshot.threads.retain(|t| tids.contains(&t.tid));
            self.matching = Some(found);
        }
        self.snapshot = Some(snapshot);
        Ok(())
    }

    fn begin(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, _: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        let Some(snap) = &self.snapshot else {
            return writeln!(out, "empty capture or no event matching the filter");
        };
        match self.table {
            Table::Ps => Self::write_ps(snap, out),
            Table::Lsof => Self::write_lsof(snap, self.matching.as_ref(), out),
            Table::Netstat => Self::write_netstat(snap, self.matching.as_ref(), out),
        }
    }
}

fn make(table: Table) -> Box<dyn Chisel> {
    Box::new(State {
        table,
        snapshot: None,
        matching: None,
    })
}

pub(super) const PS: ChiselInfo = ChiselInfo {
    name: "ps",
    description: "List the running processes (at the start of the capture)",
    args: &[],
    optional: &[],
    make: |_, _| Ok(make(Table::Ps)),
};

pub(super) const LSOF: ChiselInfo = ChiselInfo {
    name: "lsof",
    description: "List the open file descriptors (at the start of the capture)",
    args: &[],
    optional: &[],
    make: |_, _| Ok(make(Table::Lsof)),
};

pub(super) const NETSTAT: ChiselInfo = ChiselInfo {
    name: "netstat",
    description: "List the network connections (at the start of the capture)",
    args: &[],
    optional: &[],
    make: |_, _| Ok(make(Table::Netstat)),
};

/// A process's user name, as the snapshot names it or else its user table
/// names the uid (as sysdig and `print`'s `user.name` do); `<NA>` for a uid
/// the table does not name (or a process it does not know).
fn user_of(snap: &Snapshot, process: Option<&ProcessInfo>) -> String {
    let Some(p) = process else {
        return "<NA>".to_owned();
    };
    if !p.user.is_empty() {
        return text(&p.user);
    }
    snap.users
        .iter()
        .find(|u| u.uid == p.uid)
        .map_or_else(|| "<NA>".to_owned(), |u| text(&u.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture_format::state::{ThreadInfo, UserInfo};

    /// A snapshot whose processes carry a uid but no user name (the
    /// synthetic workload's): the user table names them.
    #[test]
    fn ps_names_users_by_the_user_table() {
        let process = |pid: i64, uid: u32, user: &str| ProcessInfo {
            pid,
            uid,
            user: user.as_bytes().to_vec(),
            ..ProcessInfo::default()
        };
        let snap = Snapshot {
            processes: vec![process(1, 0, ""), process(2, 33, "www"), process(3, 77, "")],
            threads: (1..=3)
                .map(|tid| ThreadInfo {
                    tid,
                    pid: tid,
                    comm: b"sh".to_vec(),
                    ..ThreadInfo::default()
                })
                .collect(),
            users: vec![UserInfo {
                uid: 0,
                name: b"root".to_vec(),
                ..UserInfo::default()
            }],
            ..Snapshot::default()
        };
        let mut out = Vec::new();
        State::write_ps(&snap, &mut out).unwrap();
        let users: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
            .collect();
        assert_eq!(users, ["root", "www", "<NA>"]);
    }
}
