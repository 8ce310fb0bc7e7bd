//! Writes syscap records as a sysdig `.scap` file that sysdig 0.29.3 (and
//! the Sysdig Inspect of its time) reads: the importer backwards.
//!
//! # Layout
//!
//! - `plan`: which events each record type becomes and where each
//!   parameter's value comes from, decided once per type from the event
//!   table and from what sysdig 0.29.3's libs knew (`libs2022-*.tsv`,
//!   written by `scripts/gen-scap-libs2022.py`).
//! - `encode`: the bytes of event blocks and parameters.
//! - `state`: the blocks before the events (section header, machine info,
//!   user, process and fd lists) from a state snapshot.
//!
//! A record is one system call with the arguments of both its halves; it
//! becomes the enter event (at its entry time) and the exit event (at its
//! return), with the parameters 0.29.3's table gives each; a call that
//! never returned is an enter event alone. Events are written in the
//! records' order, each call's enter right before its exit: the order the
//! state of the capture evolved in (syscap's tracker applies records in
//! that order, and sysdig's parser applies events in file order, so both
//! resolve every fd and process alike). Records come in the order the
//! calls returned, so the exits are in time order; the enter of a call
//! that blocked while others returned comes after theirs, at its own time,
//! as `syscap print` shows it. Nothing is held: memory is the state's.

mod encode;
mod plan;
mod state;

use std::io::{self, Write};

use hashbrown::HashSet;

use capture_format::event::{Arg, EventType, Record, RecordFlags, nr};
use capture_format::file::CaptureHeader;
use capture_format::state::{ContainerInfo, Context, Snapshot, Tracker, container_type_number};

use encode::{EventBuilder, Form, Head, STATE_ONLY};
use plan::{CONTAINER_JSON_E, GENERIC_E, Param, Plan, Source, StateField, old_event, plan};

/// The record buffer is not kept bigger than this between records.
const SPARE_CAPACITY: usize = 1 << 16;
/// Linux clone flags of a new thread (`pthread_create`'s): `CLONE_VM`,
/// `CLONE_FS`, `CLONE_FILES`, `CLONE_SIGHAND`, `CLONE_THREAD`,
/// `CLONE_SYSVSEM`.
const CLONE_THREAD_FLAGS: i64 = 0x0005_0f00;

/// Why a `.scap` file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("write error at byte {offset} of the .scap output")]
    Io {
        /// Bytes written before.
        offset: u64,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// What an export wrote and left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Records given.
    pub records: u64,
    /// Events written.
    pub events: u64,
    /// System calls written as generic events whose code sysdig 0.29.3 did
    /// not have (it names them `<unknown>`).
    pub unnamed_calls: u64,
    /// Records left out, by type, for no event sysdig 0.29.3 knows says
    /// what they say (their state still reaches the events around them).
    pub left_out: Vec<(EventType, u64)>,
}

impl ExportStats {
    /// One line saying what was left out and why, when anything was, and
    /// that sysdig will refuse the file when it has no event at all.
    pub fn note(&self) -> Option<String> {
        let mut said: Vec<String> = Vec::new();
        if !self.left_out.is_empty() {
            let mut parts: Vec<String> = self
                .left_out
                .iter()
                .map(|(ty, n)| format!("{n} {}", ty.name()))
                .collect();
            let last = parts.pop().unwrap_or_default();
            let list = if parts.is_empty() {
                last
            } else {
                format!("{} and {last}", parts.join(", "))
            };
            said.push(format!(
                "left out {list} records (sysdig 0.29 has no event for them)"
            ));
        }
        if self.unnamed_calls > 0 {
            said.push(format!(
                "{} calls of system calls sysdig 0.29 does not know are named <unknown>",
                self.unnamed_calls
            ));
        }
        if self.events == 0 {
            said.push("no events: sysdig refuses a .scap file without any".to_owned());
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    fn leave_out(&mut self, ty: EventType) {
        match self.left_out.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, n)) => *n += 1,
            None => self.left_out.push((ty, 1)),
        }
    }
}

/// Writes a `.scap` file: the state first, then the events of each record
/// given, as they come. Memory is the state of the threads and fds alive.
pub struct ScapWriter<W: Write> {
    out: W,
    written: u64,
    tracker: Tracker,
    /// The blocks of the record being written.
    blocks: Vec<u8>,
    event: EventBuilder,
    cgroups: Vec<u8>,
    /// Threads sysdig knows at this point of the file: from the process
    /// list, a clone exit, or one this writer wrote to introduce them.
    known: HashSet<i64>,
    stats: ExportStats,
}

impl<W: Write> std::fmt::Debug for ScapWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapWriter")
            .field("written", &self.written)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ScapWriter<W> {
    /// Starts a file on `out`: the section header and machine info of
    /// `header`, the users, processes, threads and fds of `snapshot`, and
    /// a container event for each container it describes (at the capture's
    /// start, `header.start_ts`).
    pub fn new(out: W, header: &CaptureHeader, snapshot: &Snapshot) -> Result<Self, ExportError> {
        let mut w = Self {
            out,
            written: 0,
            tracker: Tracker::from_snapshot(snapshot),
            blocks: Vec::new(),
            event: EventBuilder::default(),
            cgroups: Vec::new(),
            known: snapshot
                .threads
                .iter()
                .map(|t| t.tid)
                .chain(snapshot.processes.iter().map(|p| p.pid))
                .collect(),
            stats: ExportStats::default(),
        };
        let mut bytes = Vec::new();
        state::header_blocks(&mut bytes, header);
        state::user_list(&mut bytes, snapshot);
        state::process_and_fd_lists(&mut bytes, snapshot);
        let mut containers: Vec<&ContainerInfo> = snapshot.containers.iter().collect();
        for p in &snapshot.processes {
            if !p.container.id.is_empty() && !containers.iter().any(|c| c.id == p.container.id) {
                containers.push(&p.container);
            }
        }
        for c in containers {
            container_block(&mut w.event, &mut bytes, c, header.start_ts, 0);
            w.stats.events += 1;
        }
        w.put(&bytes)?;
        Ok(w)
    }

    /// Whether the state knows who thread `tid` is (its process's
    /// program).
    pub fn knows_thread(&self, tid: i64) -> bool {
        self.tracker
            .thread(tid)
            .and_then(|t| self.tracker.process(t.pid))
            .is_some_and(|p| !p.exe.is_empty())
    }

    /// Takes what a producer knows of a thread the state does not (a
    /// `threadinfo` record, written nowhere): a capture's own thread
    /// tables know a command the agent started itself, which no snapshot
    /// and no record describes. Its next record introduces it to sysdig.
    pub fn describe_thread(&mut self, info: &Record<'_>) {
        if info.ty == EventType::THREAD_INFO {
            self.tracker.apply(info);
        }
    }

    /// What was written and left out so far.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.out
            .write_all(bytes)
            .map_err(|source| ExportError::Io {
                offset: self.written,
                source,
            })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Adds the events of one record (the state tracker applies it first:
    /// the clone and execve exits describe the process as it is after the
    /// call).
    pub fn write(&mut self, rec: &Record<'_>) -> Result<(), ExportError> {
        self.stats.records += 1;
        let plan = plan(rec.ty);
        let returned = !rec.flags.contains(RecordFlags::NO_RETURN);
        let forks = matches!(plan, Plan::Call { forks: true, .. }) && returned;
        // A thread is introduced before its first event (a record left out
        // writes none); the one sysdig learns of at its own clone exit
        // needs no introduction.
        if rec.tid > 0
            && !matches!(plan, Plan::LeftOut)
            && self.known.insert(rec.tid)
            && !(forks && rec.ret == 0)
        {
            self.introduce(rec);
        }
        if forks && rec.ret > 0 {
            self.known.insert(rec.ret);
        } else if rec.ty == EventType::PROC_EXIT {
            self.known.remove(&rec.tid);
        }
        let ctx = self.tracker.apply(rec);
        let mut out = Out {
            event: &mut self.event,
            cgroups: &mut self.cgroups,
            blocks: &mut self.blocks,
            ctx: &ctx,
            rec,
            tid: if rec.tid > 0 { rec.tid } else { -1 },
            events: 0,
        };
        match plan {
            Plan::Call {
                enter,
                enter_params,
                exit_params,
                forks,
            } => {
                // The new thread's return from clone is an exit alone: its
                // enter event was the parent's.
                if !(*forks && returned && rec.ret == 0) {
                    out.event(*enter, rec.ts, enter_params, Form::Plain);
                }
                if returned {
                    // An old exit event without parameters stays so.
                    let none = rec.flags.contains(RecordFlags::NO_RESULT);
                    let params = if none { &[][..] } else { exit_params };
                    out.event(enter + 1, rec.ts_exit(), params, Form::Plain);
                }
            }
            Plan::Generic { code, native } => {
                if *code == 0 {
                    self.stats.unnamed_calls += 1;
                }
                out.generic(*code, Some(*native), rec.ts);
                if returned {
                    // GENERIC_X of 0.29.3 has the code alone, no result.
                    out.generic(*code, None, rec.ts_exit());
                }
            }
            Plan::Single { ty, params } => {
                let large = old_event(*ty).is_some_and(|o| o.large);
                let form = if large { Form::Large } else { Form::Plain };
                out.event(*ty, rec.ts, params, form);
            }
            Plan::Container => {
                // What the tracker made of it (the record's own fields).
                let id = rec.args.first().and_then(Arg::as_bytes).unwrap_or_default();
                if let Some(c) = ctx.tracker().container(id) {
                    container_block(out.event, out.blocks, c, rec.ts, rec.cpu);
                    out.events += 1;
                }
            }
            Plan::LeftOut => {}
        }
        if out.events == 0 {
            self.stats.leave_out(rec.ty);
        }
        self.stats.events += out.events;
        self.flush_blocks()
    }

    /// Writes the blocks of the record and empties the buffer.
    fn flush_blocks(&mut self) -> Result<(), ExportError> {
        let blocks = std::mem::take(&mut self.blocks);
        let result = self.put(&blocks);
        self.blocks = blocks;
        self.blocks.clear();
        if self.blocks.capacity() > SPARE_CAPACITY {
            self.blocks = Vec::new();
        }
        result
    }

    /// Makes a thread sysdig does not know known, before `rec`, its first
    /// record in the file: a thread the state knows from a record sysdig
    /// has no event for (a `procfork`, a `threadinfo`) becomes a clone exit
    /// in the new thread, flagged state-only (sysdig applies it and does
    /// not show it), as the thread was before `rec`. sysdig then knows its
    /// process, user and working directory, and copies its parent's fds,
    /// as it does for a process it saw forked.
    fn introduce(&mut self, rec: &Record<'_>) {
        let mut ctx = self.tracker.unresolved();
        let Some(thread) = self.tracker.thread(rec.tid) else {
            return;
        };
        ctx.thread = Some(thread);
        ctx.process = self.tracker.process(thread.pid);
        let Plan::Call {
            enter, exit_params, ..
        } = plan(EventType(nr::CLONE))
        else {
            return;
        };
        // A thread shares its process's files; a process is a fork.
        let flags = if thread.tid == thread.pid {
            0
        } else {
            CLONE_THREAD_FLAGS
        };
        let args = [Arg::Int(flags)];
        let clone = Record {
            ty: EventType(nr::CLONE),
            ts: rec.ts,
            cpu: rec.cpu,
            tid: rec.tid,
            pid: thread.pid,
            ret: 0,
            args: &args,
            ..Record::default()
        };
        fill(
            &mut self.event,
            &mut self.cgroups,
            &ctx,
            &clone,
            exit_params,
        );
        self.event.block(
            &mut self.blocks,
            Head {
                ts: rec.ts,
                tid: rec.tid,
                ty: enter + 1,
                cpu: rec.cpu,
            },
            Form::Flagged(STATE_ONLY),
        );
        self.stats.events += 1;
    }

    /// Flushes the output and returns it.
    pub fn finish(mut self) -> Result<(W, ExportStats), ExportError> {
        self.out.flush().map_err(|source| ExportError::Io {
            offset: self.written,
            source,
        })?;
        Ok((self.out, self.stats))
    }
}

/// Where the events of one record are built.
struct Out<'a, 'r> {
    event: &'a mut EventBuilder,
    cgroups: &'a mut Vec<u8>,
    blocks: &'a mut Vec<u8>,
    ctx: &'a Context<'a>,
    rec: &'a Record<'r>,
    /// The thread of the events (-1: none).
    tid: i64,
    /// Events built.
    events: u64,
}

impl Out<'_, '_> {
    /// An event of type `ty` at `ts` with `params`.
    fn event(&mut self, ty: u16, ts: u64, params: &[Param], form: Form) {
        fill(self.event, self.cgroups, self.ctx, self.rec, params);
        self.block(ty, ts, form);
    }

    /// A generic event: its code, and the native number in the enter
    /// event.
    fn generic(&mut self, code: u16, native: Option<u16>, ts: u64) {
        self.event.clear();
        self.event.int(i64::from(code), 2);
        let ty = if let Some(native) = native {
            self.event.int(i64::from(native), 2);
            GENERIC_E
        } else {
            GENERIC_E + 1
        };
        self.block(ty, ts, Form::Plain);
    }

    fn block(&mut self, ty: u16, ts: u64, form: Form) {
        let head = Head {
            ts,
            tid: self.tid,
            ty,
            cpu: self.rec.cpu,
        };
        self.event.block(self.blocks, head, form);
        self.events += 1;
    }
}

/// Fills `event` with `params` for `rec`; `cgroups` holds the text of the
/// process's cgroups when a parameter takes it.
fn fill(
    event: &mut EventBuilder,
    cgroups: &mut Vec<u8>,
    ctx: &Context<'_>,
    rec: &Record<'_>,
    params: &[Param],
) {
    event.clear();
    let wants_cgroups = params
        .iter()
        .any(|p| p.source == Source::State(StateField::Cgroups));
    if wants_cgroups {
        cgroups.clear();
        if let Some(p) = ctx.process {
            state::cgroups(cgroups, p, ctx.tracker().container(&p.container_id));
        }
    }
    for p in params {
        let arg = match p.source {
            Source::Ret => Arg::Int(rec.ret),
            Source::Arg(i) => rec.args.get(usize::from(i)).copied().unwrap_or_default(),
            Source::State(StateField::Cgroups) => Arg::Bytes(cgroups),
            Source::State(f) => state_value(ctx, rec, f),
            Source::Unknown => Arg::Absent,
        };
        event.arg(p.info.ty, p.info.table, arg);
    }
}

/// Appends the block of a `CONTAINER_JSON_2_E` event describing `c`.
fn container_block(
    event: &mut EventBuilder,
    out: &mut Vec<u8>,
    c: &ContainerInfo,
    ts: u64,
    cpu: u16,
) {
    event.clear();
    event.text(container_json(c).as_bytes());
    event.block(
        out,
        Head {
            ts,
            tid: -1,
            ty: CONTAINER_JSON_E,
            cpu,
        },
        Form::Large,
    );
}

/// What the state says of `rec`'s thread, for a clone or execve exit.
fn state_value<'a>(ctx: &Context<'a>, rec: &Record<'_>, f: StateField) -> Arg<'a> {
    let Some(p) = ctx.process else {
        return match f {
            StateField::Tid | StateField::Vtid => Arg::Int(rec.tid),
            StateField::Pid | StateField::Vpid => Arg::Int(rec.pid),
            _ => Arg::Absent,
        };
    };
    let t = ctx.thread;
    match f {
        StateField::Exe => Arg::Str(&p.exe),
        StateField::Args => Arg::Bytes(&p.args),
        StateField::Tid => Arg::Int(rec.tid),
        StateField::Pid => Arg::Int(p.pid),
        StateField::Ptid => Arg::Int(p.ppid),
        StateField::Cwd => Arg::Str(&p.cwd),
        StateField::FdLimit => Arg::Int(i64::try_from(p.fd_limit).unwrap_or(i64::MAX)),
        StateField::VmSize => Arg::Int(i64::from(state::kib(p.vm_size))),
        StateField::VmRss => Arg::Int(i64::from(state::kib(p.vm_rss))),
        StateField::Comm => t.map_or(Arg::Absent, |t| Arg::Str(&t.comm)),
        // Filled by the caller, which holds the text.
        StateField::Cgroups => Arg::Absent,
        StateField::Uid => Arg::Int(i64::from(p.uid)),
        StateField::Gid => Arg::Int(i64::from(p.gid)),
        StateField::Vtid => Arg::Int(t.map_or(rec.tid, |t| t.vtid)),
        StateField::Vpid => Arg::Int(p.vpid),
        StateField::LoginUid => Arg::Int(i64::from(p.loginuid)),
    }
}

/// The JSON of a container event, with the keys sysdig 0.29.3's parser
/// reads (and syscap's importer: the same).
fn container_json(c: &ContainerInfo) -> String {
    let text = |b: &[u8]| serde_json::Value::String(String::from_utf8_lossy(b).into_owned());
    let labels: serde_json::Map<String, serde_json::Value> =
        capture_format::state::split_nul(&c.labels)
            .filter_map(|kv| {
                let at = kv.iter().position(|&b| b == b'=')?;
                Some((
                    String::from_utf8_lossy(&kv[..at]).into_owned(),
                    text(&kv[at + 1..]),
                ))
            })
            .collect();
    let mut m = serde_json::Map::new();
    m.insert("id".into(), text(&c.id));
    if !c.full_id.is_empty() {
        m.insert("full_id".into(), text(&c.full_id));
    }
    m.insert(
        "type".into(),
        serde_json::Value::from(container_type_number(&c.kind).unwrap_or(0)),
    );
    m.insert("name".into(), text(&c.name));
    m.insert("image".into(), text(&c.image));
    m.insert("imagerepo".into(), text(&c.image_repo));
    m.insert("imagetag".into(), text(&c.image_tag));
    m.insert("imagedigest".into(), text(&c.image_digest));
    m.insert("privileged".into(), serde_json::Value::Bool(c.privileged));
    m.insert("labels".into(), serde_json::Value::Object(labels));
    // SUCCESSFUL: sysdig takes the description as final.
    m.insert("lookup_state".into(), serde_json::Value::from(1));
    let mut root = serde_json::Map::new();
    root.insert("container".into(), serde_json::Value::Object(m));
    serde_json::Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture_format::event::{OwnedArg, OwnedRecord, OwnedSockAddr, OwnedSockTuple};
    use capture_format::state::{FdInfo, FdKind, ProcessInfo, SocketEnds, ThreadInfo};
    use proptest::prelude::*;

    /// Mostly short, now and then up to `max` bytes.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            20 => prop::collection::vec(any::<u8>(), 0..24),
            1 => (0..max).prop_map(|n| vec![b'x'; n]),
        ]
    }

    fn arg() -> impl Strategy<Value = OwnedArg> {
        let v4 = || {
            any::<([u8; 4], u16)>().prop_map(|(ip, p)| std::net::SocketAddrV4::new(ip.into(), p))
        };
        let v6 = || {
            any::<([u8; 16], u16)>()
                .prop_map(|(ip, p)| std::net::SocketAddrV6::new(ip.into(), p, 0, 0))
        };
        prop_oneof![
            Just(OwnedArg::Absent),
            any::<i64>().prop_map(OwnedArg::Int),
            bytes(5000).prop_map(OwnedArg::Str),
            bytes(70_000).prop_map(OwnedArg::Bytes),
            v4().prop_map(|a| OwnedArg::SockAddr(OwnedSockAddr::V4(a))),
            v6().prop_map(|a| OwnedArg::SockAddr(OwnedSockAddr::V6(a))),
            bytes(200).prop_map(|p| OwnedArg::SockAddr(OwnedSockAddr::Unix(p))),
            any::<u16>().prop_map(|f| OwnedArg::SockAddr(OwnedSockAddr::Other(f))),
            (v4(), v4())
                .prop_map(|(src, dst)| OwnedArg::SockTuple(OwnedSockTuple::V4 { src, dst })),
            (v6(), v6())
                .prop_map(|(src, dst)| OwnedArg::SockTuple(OwnedSockTuple::V6 { src, dst })),
            (any::<u64>(), any::<u64>(), bytes(200)).prop_map(|(src, dst, path)| {
                OwnedArg::SockTuple(OwnedSockTuple::Unix { src, dst, path })
            }),
        ]
    }

    fn record() -> impl Strategy<Value = OwnedRecord> {
        (
            prop_oneof![0u16..470, 1024u16..1040, any::<u16>()],
            0u8..8,
            any::<u64>(),
            any::<u64>(),
            any::<u16>(),
            -3i64..40,
            -3i64..40,
            any::<i64>(),
            prop::collection::vec(arg(), 0..20),
        )
            .prop_map(
                |(ty, flags, ts, latency, cpu, tid, pid, ret, args)| OwnedRecord {
                    ty: EventType(ty),
                    flags: RecordFlags(flags),
                    ts,
                    latency,
                    cpu,
                    tid,
                    pid,
                    ret,
                    args,
                },
            )
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        let process = (-2i64..40, bytes(5000), bytes(12), bytes(2000), any::<u32>()).prop_map(
            |(pid, args, container_id, cwd, uid)| ProcessInfo {
                pid,
                args,
                container_id,
                cwd,
                uid,
                ..ProcessInfo::default()
            },
        );
        let thread = (-2i64..40, -2i64..40, bytes(2000)).prop_map(|(tid, pid, comm)| ThreadInfo {
            tid,
            pid,
            comm,
            ..ThreadInfo::default()
        });
        let fd = (-2i64..40, any::<i64>(), 0u8..20, bytes(3000), arg()).prop_map(
            |(pid, fd, kind, name, end)| FdInfo {
                pid,
                fd,
                kind: FdKind::from_u8(kind),
                name,
                ends: match end {
                    OwnedArg::SockAddr(a) => SocketEnds::Local(a),
                    OwnedArg::SockTuple(t) => SocketEnds::Tuple(t),
                    _ => SocketEnds::None,
                },
                ..FdInfo::default()
            },
        );
        (
            prop::collection::vec(process, 0..6),
            prop::collection::vec(thread, 0..8),
            prop::collection::vec(fd, 0..10),
        )
            .prop_map(|(processes, threads, fds)| Snapshot {
                processes,
                threads,
                fds,
                ..Snapshot::default()
            })
    }

    #[test]
    fn the_note_says_what_was_left_out() {
        let stats = |left_out: Vec<(EventType, u64)>, unnamed_calls, events| ExportStats {
            records: 9,
            events,
            unnamed_calls,
            left_out,
        };
        let cases = [
            (stats(vec![], 0, 4), None),
            (
                stats(vec![(EventType::DROP, 2)], 0, 4),
                Some("left out 2 drop records (sysdig 0.29 has no event for them)"),
            ),
            (
                stats(
                    vec![
                        (EventType::PROC_FORK, 1),
                        (EventType::OTHER, 3),
                        (EventType::DROP, 1),
                    ],
                    2,
                    4,
                ),
                Some(
                    "left out 1 procfork, 3 other and 1 drop records (sysdig 0.29 has no event \
                     for them); 2 calls of system calls sysdig 0.29 does not know are named \
                     <unknown>",
                ),
            ),
            (
                stats(vec![], 0, 0),
                Some("no events: sysdig refuses a .scap file without any"),
            ),
        ];
        for (stats, want) in cases {
            assert_eq!(stats.note().as_deref(), want, "{stats:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever the records and the state, the writer does not panic
        /// and writes blocks the importer reads to the end, none corrupt.
        #[test]
        fn any_records_make_a_file_the_importer_reads(
            snap in snapshot(),
            records in prop::collection::vec(record(), 0..30),
        ) {
            let header = CaptureHeader {
                hostname: "h".repeat(300),
                ..CaptureHeader::default()
            };
            let mut w = ScapWriter::new(Vec::new(), &header, &snap).unwrap();
            for r in &records {
                r.with_record(|rec| w.write(rec)).unwrap();
            }
            let (bytes, stats) = w.finish().unwrap();
            prop_assert_eq!(stats.records, records.len() as u64);
            let mut importer = crate::Importer::new(std::io::Cursor::new(bytes)).unwrap();
            importer.run(|_| Ok::<(), ()>(())).unwrap();
            prop_assert!(importer.error().is_none(), "{:?}", importer.error());
            prop_assert_eq!(importer.stats().corrupt, 0);
        }
    }
}
