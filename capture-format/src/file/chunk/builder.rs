//! Builds one chunk from records, then seals it: encodes and compresses
//! each column.
//!
//! Pushing a record stages its fixed fields and arguments and looks up the
//! thread, fd and strings it refers to in hash tables. Sealing writes the
//! CPU and thread columns in event order and every other column grouped by
//! thread: a thread repeats the same loop of calls, so its types, fds,
//! arguments and latencies compress far better side by side than
//! interleaved with other threads. Nothing is allocated per record once the
//! buffers have grown to their working size.

use std::io;

use hashbrown::HashMap;

use super::dict::DictBuilder;
use super::{ChunkHeader, ChunkSummary, ColumnEntry, EncodedChunk, Mtf, Predictor, col, tag};
use crate::codec::Compressor;
use crate::event::{Arg, ArgKind, EventType, Record};
use crate::file::rows::{FieldKind, RowWriter, put_table_header};
use crate::file::sockaddr::{put_addr, put_ends, put_tuple};
use crate::state::{Context, FdInfo, ProcessInfo, ThreadInfo};
use crate::varint::{put_i64, put_u64};

/// Fields of a thread table row, all varints (strings are dictionary
/// indices): tid, pid, ppid, vtid, vpid, comm, exe, exepath, args, cwd, uid,
/// gid, loginuid, user, group, container id, pod uid, parent row + 1,
/// start time, the container's eight texts and privileged flag, session id,
/// process group id (in its pid namespace), tty, login user name, threads
/// of the process.
pub(crate) const THREAD_FIELDS: &[FieldKind] = &[FieldKind::Varint; 33];
/// Fields of an fd table row: pid, fd, kind, name, l4proto, role, ends,
/// flags.
pub(crate) const FD_FIELDS: &[FieldKind] = &[FieldKind::Varint; 8];

/// Ancestors deeper than this are not linked (and cycles end here).
const MAX_ANCESTRY: usize = 64;

/// One staged record: the fixed fields, and where its arguments are.
#[derive(Clone, Copy, Debug, Default)]
struct Staged {
    /// Index of the type among the chunk's types (for dense per-type tables).
    slot: u32,
    flags: u8,
    cpu: u16,
    thread: u32,
    fd: u32,
    enter: u64,
    latency: u64,
    ret: i64,
    args: u32,
    nargs: u32,
    /// The argument tags packed: compared instead of the tags themselves.
    layout: u64,
}

/// Packs an argument layout into a `u64` (count, then 3 bits per tag);
/// `u64::MAX` for layouts too long to pack, which are compared in full.
fn layout_signature(tags: impl ExactSizeIterator<Item = u8>) -> u64 {
    if tags.len() > 18 {
        return u64::MAX;
    }
    let mut sig = tags.len() as u64;
    for (i, t) in tags.enumerate() {
        sig |= u64::from(t & 7) << (8 + 3 * i);
    }
    sig
}

/// One staged argument: its tag, and its value (an integer's bits, a
/// dictionary index, or a data length; the data itself is already in the
/// data column).
#[derive(Clone, Copy, Debug, Default)]
struct StagedArg {
    tag: u8,
    val: u64,
}

/// Collects records until sealed.
#[derive(Debug, Default)]
pub(crate) struct ChunkBuilder {
    staged: Vec<Staged>,
    staged_args: Vec<StagedArg>,
    ts_min: u64,
    ts_max: u64,
    dict: DictBuilder,
    /// Strings of the thread table, apart from the event strings so that a
    /// filter on process fields decodes only small columns.
    thread_dict: DictBuilder,
    /// Encoded thread rows, and for each row: (pid, comm index, events).
    thread_rows: Vec<u8>,
    thread_stats: Vec<(i64, u32, u32)>,
    thread_index: HashMap<(u64, u64), u32>,
    fd_rows: Vec<u8>,
    /// The fd number of each fd row.
    fd_nums: Vec<i64>,
    fd_index: HashMap<u64, u32>,
    /// Slot of each type seen in the chunk, and each slot's type and count.
    type_slots: HashMap<u16, u32>,
    slot_types: Vec<(u16, u32)>,
    drops: u64,
    scratch: Vec<u8>,
    columns: [Vec<u8>; col::EVENT_COLUMNS],
    /// Event indices grouped by thread, in order within each thread.
    order: Vec<u32>,
    thread_refs: Vec<u32>,
    /// Last argument layout of each event type, while sealing.
    layouts: Vec<Option<(u64, u32, u32)>>,
    /// Position of each slot's type in the chunk header's sorted type list.
    palette: Vec<u32>,
    predictors: Vec<Option<Predictor>>,
}

/// How often each argument position matched a predictor, per type.
#[derive(Clone, Copy, Debug, Default)]
struct PredictorStats {
    events: u32,
    ret_matches: [u32; 8],
    fd_matches: [u32; 8],
    data_cap: u32,
}

/// Encodes when an event happened relative to the previous return on its
/// CPU (the time column is in event order). On one CPU calls run one after
/// another, so the entry of a call usually follows the previous return by a
/// short gap (tag 0: store the gap); a call that blocked while others ran
/// overlaps them (tag 1: store the time from the previous return to this
/// one); anything else (imported or synthetic data) stores the signed delta
/// of the return (tag 2).
pub(crate) fn put_time(out: &mut Vec<u8>, prev_exit: u64, enter: u64, exit: u64) {
    const LIMIT: u64 = 1 << 61;
    let gap = enter.wrapping_sub(prev_exit);
    let since = exit.wrapping_sub(prev_exit);
    if gap < LIMIT {
        put_u64(out, gap << 2);
    } else if since < LIMIT {
        put_u64(out, since << 2 | 1);
    } else {
        put_u64(out, 2);
        #[expect(
            clippy::cast_possible_wrap,
            reason = "wrapping delta, undone by the reader"
        )]
        put_i64(out, since as i64);
    }
}

impl ChunkBuilder {
    /// Records held.
    pub(crate) fn events(&self) -> u32 {
        u32::try_from(self.staged.len()).unwrap_or(u32::MAX)
    }

    /// Earliest entry time held.
    pub(crate) fn ts_min(&self) -> u64 {
        self.ts_min
    }

    /// Bytes held before compression (an estimate used to bound chunks).
    pub(crate) fn raw_len(&self) -> usize {
        self.staged.len() * 14
            + self.staged_args.len() * 3
            + self.columns[col::BLOB as usize].len()
            + self.dict.byte_len()
            + self.thread_dict.byte_len()
            + self.thread_rows.len()
            + self.fd_rows.len()
    }

    /// Adds one record with what the tracker resolved it to.
    pub(crate) fn push(&mut self, rec: &Record<'_>, ctx: &Context<'_>) {
        if self.staged.is_empty() {
            self.ts_min = rec.ts;
            self.ts_max = rec.ts_exit();
        }
        self.ts_min = self.ts_min.min(rec.ts);
        self.ts_max = self.ts_max.max(rec.ts_exit());
        let thread = match ctx.thread {
            Some(t) => self.thread_row(Some(t), ctx.process, ctx, 0) + 1,
            None => 0,
        };
        if thread > 0 {
            self.thread_stats[thread as usize - 1].2 += 1;
        }
        let fd = ctx.fd.map_or(0, |f| self.fd_row(f) + 1);
        self.dirfd_rows(rec, ctx);
        let args = u32::try_from(self.staged_args.len()).expect("fewer than 2^32 arguments");
        for arg in rec.args {
            let (tag, val) = match *arg {
                Arg::Absent => (tag::ABSENT, 0),
                #[expect(clippy::cast_sign_loss, reason = "bits kept")]
                Arg::Int(v) => (tag::INT, v as u64),
                Arg::Str(s) => (tag::STR, u64::from(self.dict.intern(s))),
                Arg::Bytes(b) => {
                    // Data goes straight to its column, in event order.
                    self.columns[col::BLOB as usize].extend_from_slice(b);
                    (tag::BYTES, b.len() as u64)
                }
                Arg::SockAddr(a) => {
                    self.scratch.clear();
                    put_addr(&mut self.scratch, &a);
                    (tag::SOCKADDR, u64::from(self.dict.intern(&self.scratch)))
                }
                Arg::SockTuple(t) => {
                    self.scratch.clear();
                    put_tuple(&mut self.scratch, &t);
                    (tag::SOCKTUPLE, u64::from(self.dict.intern(&self.scratch)))
                }
            };
            self.staged_args.push(StagedArg { tag, val });
        }
        let next_slot = u32::try_from(self.slot_types.len()).expect("fewer than 2^32 types");
        let slot = *self.type_slots.entry(rec.ty.0).or_insert(next_slot);
        if slot == next_slot {
            self.slot_types.push((rec.ty.0, 0));
        }
        self.staged.push(Staged {
            slot,
            flags: rec.flags.0,
            cpu: rec.cpu,
            thread,
            fd,
            enter: rec.ts,
            latency: rec.latency,
            ret: rec.ret,
            args,
            nargs: u32::try_from(rec.args.len()).expect("fewer than 2^32 arguments"),
            layout: layout_signature(self.staged_args[args as usize..].iter().map(|a| a.tag)),
        });
        self.slot_types[slot as usize].1 += 1;
        if rec.ty == EventType::DROP {
            let lost = rec.args.first().and_then(Arg::as_int).unwrap_or(0);
            self.drops = self.drops.saturating_add(u64::try_from(lost).unwrap_or(0));
        }
    }

    /// Gives each directory fd of a `*at` call (not `AT_FDCWD`) its row in
    /// the fd table, from the tracker: the call's own fd is another one, and
    /// the open that made the directory fd may be in an earlier chunk or
    /// left out by a reader, yet `evt.abspath` must resolve in any chunk.
    fn dirfd_rows(&mut self, rec: &Record<'_>, ctx: &Context<'_>) {
        let Some(pid) = ctx.thread.map(|t| t.pid) else {
            return;
        };
        let kinds = &rec.ty.info().args;
        for (arg, def) in rec.args.iter().zip(kinds.iter()) {
            if def.kind == ArgKind::DirFd
                && let Arg::Int(dirfd) = *arg
                && dirfd >= 0
                && let Some(f) = ctx.tracker().fd(pid, dirfd)
            {
                self.fd_row(f);
            }
        }
    }

    /// The fd number of fd ref `r` (0 when none).
    fn fd_num(&self, r: u32) -> i64 {
        r.checked_sub(1).map_or(0, |r| self.fd_nums[r as usize])
    }

    /// Picks, per event type, the argument positions that the return value
    /// and the fd number predict in most events of this chunk.
    fn choose_predictors(&mut self) {
        let mut stats = vec![PredictorStats::default(); self.slot_types.len()];
        for e in &self.staged {
            let s = &mut stats[e.slot as usize];
            s.events += 1;
            let fd = self.fd_num(e.fd);
            let args = &self.staged_args[e.args as usize..(e.args + e.nargs) as usize];
            for (i, a) in args.iter().enumerate().take(8) {
                #[expect(clippy::cast_possible_wrap, reason = "bits kept")]
                let v = a.val as i64;
                if a.tag == tag::INT {
                    s.ret_matches[i] += u32::from(v == e.ret);
                    s.fd_matches[i] += u32::from(e.fd != 0 && v == fd);
                } else if a.tag == tag::BYTES {
                    s.data_cap = s.data_cap.max((a.val & 0xffff_ffff) as u32);
                }
            }
        }
        self.predictors.clear();
        self.predictors.resize(stats.len(), None);
        for ((s, &(ty, _)), slot) in stats.iter().zip(&self.slot_types).zip(&mut self.predictors) {
            let best = |m: &[u32; 8]| {
                let (i, &n) = m
                    .iter()
                    .enumerate()
                    .max_by_key(|&(i, &n)| (n, usize::MAX - i))?;
                (n * 2 > s.events).then(|| u8::try_from(i).unwrap_or(Predictor::NONE))
            };
            let fd_arg = best(&s.fd_matches).unwrap_or(Predictor::NONE);
            let mut ret_matches = s.ret_matches;
            if fd_arg != Predictor::NONE {
                ret_matches[usize::from(fd_arg)] = 0;
            }
            let ret_arg = best(&ret_matches).unwrap_or(Predictor::NONE);
            if fd_arg != Predictor::NONE || ret_arg != Predictor::NONE || s.data_cap > 0 {
                *slot = Some(Predictor {
                    ty,
                    ret_arg,
                    fd_arg,
                    data_cap: s.data_cap,
                });
            }
        }
    }

    /// Writes the per-event columns: CPU, thread and time in event order,
    /// the rest grouped by thread.
    fn encode_columns(&mut self) {
        self.choose_predictors();
        self.layouts.clear();
        self.layouts.resize(self.slot_types.len(), None);
        let [
            ty,
            flags,
            ts,
            latency,
            cpu,
            thread,
            ret,
            fd,
            layout,
            ints,
            refs,
            _,
        ] = &mut self.columns;
        // Thread refs, move-to-front per CPU: threads run in bursts.
        let cpus = self
            .staged
            .iter()
            .map(|e| e.cpu)
            .max()
            .map_or(0, |c| usize::from(c) + 1);
        let mut recent = vec![Mtf::default(); cpus];
        let ts_base = self
            .staged
            .first()
            .map_or(0, |e| e.enter.wrapping_add(e.latency));
        let mut prev_exit: Vec<Option<u64>> = vec![None; cpus];
        for e in &self.staged {
            put_u64(cpu, u64::from(e.cpu));
            let exit = e.enter.wrapping_add(e.latency);
            let prev = prev_exit[usize::from(e.cpu)]
                .replace(exit)
                .unwrap_or(ts_base);
            put_time(ts, prev, e.enter, exit);
            put_u64(thread, recent[usize::from(e.cpu)].encode(e.thread));
        }
        self.thread_refs.clear();
        self.thread_refs
            .extend(self.staged.iter().map(|e| e.thread));
        let rows = u32::try_from(self.thread_stats.len()).expect("fewer than 2^32 threads");
        group_by_thread(&self.thread_refs, rows, &mut self.order);
        // Fd refs, move-to-front per thread: a thread works on a few fds.
        let mut fds = Mtf::default();
        let mut prev_thread = u32::MAX;
        for &i in &self.order {
            let e = &self.staged[i as usize];
            if e.thread != prev_thread {
                prev_thread = e.thread;
                fds = Mtf::default();
            }
            put_u64(ty, u64::from(self.palette[e.slot as usize]));
            flags.push(e.flags);
            put_u64(latency, e.latency);
            put_i64(ret, e.ret);
            put_u64(fd, fds.encode(e.fd));
            let args = &self.staged_args[e.args as usize..(e.args + e.nargs) as usize];
            // Most events of a type have the same argument layout: store 0
            // for "as the last event of this type", or the count + 1 and
            // the tags.
            let same = self.layouts[e.slot as usize].is_some_and(|(sig, at, n)| {
                sig == e.layout
                    && (sig != u64::MAX
                        || n == e.nargs
                            && self.staged_args[at as usize..(at + n) as usize]
                                .iter()
                                .zip(args)
                                .all(|(a, b)| a.tag == b.tag))
            });
            if same {
                layout.push(0);
            } else {
                put_u64(layout, u64::from(e.nargs) + 1);
                layout.extend(args.iter().map(|a| a.tag));
                self.layouts[e.slot as usize] = Some((e.layout, e.args, e.nargs));
            }
            let p = self.predictors[e.slot as usize];
            let fd_num = e.fd.checked_sub(1).map_or(0, |r| self.fd_nums[r as usize]);
            for (i, a) in args.iter().enumerate() {
                match a.tag {
                    tag::INT => {
                        #[expect(clippy::cast_possible_wrap, reason = "bits kept")]
                        let v = a.val as i64;
                        let base = match p {
                            Some(p) if usize::from(p.fd_arg) == i => fd_num,
                            Some(p) if usize::from(p.ret_arg) == i => e.ret,
                            _ => 0,
                        };
                        put_i64(ints, v.wrapping_sub(base));
                    }
                    tag::STR | tag::SOCKADDR | tag::SOCKTUPLE => put_u64(refs, a.val),
                    tag::BYTES => {
                        let cap = p.map_or(0, |p| i64::from(p.data_cap));
                        #[expect(clippy::cast_possible_wrap, reason = "lengths are below 2^32")]
                        put_i64(ints, (a.val as i64).wrapping_sub(e.ret.clamp(0, cap)));
                    }
                    _ => {}
                }
            }
        }
    }

    /// The row of a thread (or of a process whose main thread is unknown),
    /// adding it and its ancestors when new.
    fn thread_row(
        &mut self,
        thread: Option<&ThreadInfo>,
        process: Option<&ProcessInfo>,
        ctx: &Context<'_>,
        depth: usize,
    ) -> u32 {
        let key = (thread.map_or(0, |t| t.key), process.map_or(0, |p| p.key));
        if let Some(&row) = self.thread_index.get(&key) {
            return row;
        }
        let parent_ref = match process {
            Some(p) if depth < MAX_ANCESTRY && p.ppid != p.pid => match ctx.parent(p) {
                Some(parent) => {
                    let main = ctx.tracker().thread(parent.pid);
                    self.thread_row(main, Some(parent), ctx, depth + 1) + 1
                }
                None => 0,
            },
            _ => 0,
        };
        let empty = ProcessInfo::default();
        let p = process.unwrap_or(&empty);
        let (tid, pid, vtid) = match thread {
            Some(t) => (t.tid, t.pid, t.vtid),
            None => (p.pid, p.pid, p.vpid),
        };
        let d = &mut self.thread_dict;
        let comm = d.intern(thread.map_or(&[][..], |t| &t.comm));
        let mut strings = [0u32; 8];
        for (slot, s) in strings.iter_mut().zip([
            &p.exe,
            &p.exepath,
            &p.args,
            &p.cwd,
            &p.user,
            &p.group,
            &p.container_id,
            &p.pod_uid,
        ]) {
            *slot = d.intern(s);
        }
        let [exe, exepath, args, cwd, user, group, container, pod] = strings;
        let login_user = d.intern(&p.login_user);
        let c = &p.container;
        let container_texts = [
            &c.name,
            &c.image,
            &c.image_repo,
            &c.image_tag,
            &c.image_digest,
            &c.kind,
            &c.labels,
            &c.full_id,
        ]
        .map(|s| d.intern(s));
        RowWriter(&mut self.thread_rows)
            .i(tid)
            .i(pid)
            .i(p.ppid)
            .i(vtid)
            .i(p.vpid)
            .u(comm.into())
            .u(exe.into())
            .u(exepath.into())
            .u(args.into())
            .u(cwd.into())
            .u(p.uid.into())
            .u(p.gid.into())
            .u(p.loginuid.into())
            .u(user.into())
            .u(group.into())
            .u(container.into())
            .u(pod.into())
            .u(parent_ref.into())
            .u(p.start_ts);
        for text in container_texts {
            RowWriter(&mut self.thread_rows).u(text.into());
        }
        RowWriter(&mut self.thread_rows)
            .u(c.privileged.into())
            .i(p.sid)
            .i(p.vpgid)
            .u(p.tty.into())
            .u(login_user.into())
            .u(p.threads.into());
        let row = u32::try_from(self.thread_stats.len()).expect("fewer than 2^32 threads");
        self.thread_stats.push((pid, comm, 0));
        self.thread_index.insert(key, row);
        row
    }

    fn fd_row(&mut self, fd: &FdInfo) -> u32 {
        if let Some(&row) = self.fd_index.get(&fd.key) {
            return row;
        }
        let name = self.dict.intern(&fd.name);
        self.scratch.clear();
        put_ends(&mut self.scratch, &fd.ends);
        let ends = self.dict.intern(&self.scratch);
        RowWriter(&mut self.fd_rows)
            .i(fd.pid)
            .i(fd.fd)
            .u(fd.kind as u64)
            .u(name.into())
            .u(fd.l4proto as u64)
            .u(fd.role as u64)
            .u(ends.into())
            .u(fd.flags.into());
        let row = u32::try_from(self.fd_nums.len()).expect("fewer than 2^32 fds");
        self.fd_nums.push(fd.fd);
        self.fd_index.insert(fd.key, row);
        row
    }

    /// Compresses the columns into a chunk and empties the builder.
    pub(crate) fn seal(&mut self, compressor: &mut Compressor) -> io::Result<EncodedChunk> {
        let mut types: Vec<(EventType, u32)> = self
            .slot_types
            .iter()
            .map(|&(t, n)| (EventType(t), n))
            .collect();
        types.sort_unstable();
        // The type column stores each type's position in this sorted list
        // (a chunk has a few dozen types, so one byte each).
        self.palette.clear();
        self.palette.resize(self.slot_types.len(), 0);
        for (slot, &(ty, _)) in self.slot_types.iter().enumerate() {
            let pos = types.partition_point(|&(t, _)| t.0 < ty);
            self.palette[slot] = u32::try_from(pos).expect("fewer than 2^32 types");
        }
        self.encode_columns();
        let mut header = ChunkHeader {
            events: self.events(),
            ts_base: self
                .staged
                .first()
                .map_or(0, |e| e.enter.wrapping_add(e.latency)),
            ts_min: self.ts_min,
            ts_max: self.ts_max,
            types,
            thread_rows: u32::try_from(self.thread_stats.len()).expect("fewer than 2^32 threads"),
            predictors: {
                let mut p: Vec<Predictor> = self.predictors.iter().flatten().copied().collect();
                p.sort_unstable_by_key(|p| p.ty);
                p
            },
            ..ChunkHeader::default()
        };
        let mut data = Vec::with_capacity(self.raw_len() / 3);
        let mut add = |id: u8, raw: &[u8], data: &mut Vec<u8>| -> io::Result<()> {
            let start = data.len();
            let codec = compressor.compress(raw, data)?;
            header.columns.push(ColumnEntry {
                id,
                codec: codec as u8,
                raw_len: raw.len(),
                stored_len: data.len() - start,
            });
            Ok(())
        };
        for (id, column) in (0u8..).zip(&self.columns) {
            add(id, column, &mut data)?;
        }
        let mut table = Vec::new();
        self.dict.encode(&mut table);
        add(col::DICT, &table, &mut data)?;
        table.clear();
        self.thread_dict.encode(&mut table);
        add(col::THREAD_DICT, &table, &mut data)?;
        table.clear();
        put_table_header(&mut table, self.thread_stats.len(), THREAD_FIELDS);
        table.extend_from_slice(&self.thread_rows);
        add(col::THREADS, &table, &mut data)?;
        table.clear();
        put_table_header(&mut table, self.fd_nums.len(), FD_FIELDS);
        table.extend_from_slice(&self.fd_rows);
        add(col::FDS, &table, &mut data)?;

        let mut payload = Vec::with_capacity(data.len() + 64 + 4 * header.columns.len());
        header.encode(&mut payload);
        payload.extend_from_slice(&data);

        let mut processes: HashMap<(i64, u32), u32> = HashMap::new();
        for &(pid, comm, n) in &self.thread_stats {
            if n > 0 {
                *processes.entry((pid, comm)).or_default() += n;
            }
        }
        let mut processes: Vec<(i64, Vec<u8>, u32)> = processes
            .into_iter()
            .map(|((pid, comm), n)| (pid, self.thread_dict.string(comm).to_vec(), n))
            .collect();
        processes.sort_unstable();
        let summary = ChunkSummary {
            events: header.events,
            ts_min: header.ts_min,
            ts_max: header.ts_max,
            types: header.types,
            processes,
            drops: self.drops,
        };
        self.clear();
        Ok(EncodedChunk { payload, summary })
    }

    fn clear(&mut self) {
        self.staged.clear();
        self.staged_args.clear();
        self.columns.iter_mut().for_each(Vec::clear);
        self.dict.clear();
        self.thread_dict.clear();
        self.thread_rows.clear();
        self.thread_stats.clear();
        self.thread_index.clear();
        self.fd_rows.clear();
        self.fd_nums.clear();
        self.fd_index.clear();
        self.type_slots.clear();
        self.slot_types.clear();
        self.drops = 0;
        self.layouts.clear();
    }
}

/// Fills `order` with event indices grouped by thread ref (a stable
/// counting sort: events keep their order within a thread). `rows` bounds
/// the refs (0 for none, else row + 1 up to `rows`).
pub(crate) fn group_by_thread(threads: &[u32], rows: u32, order: &mut Vec<u32>) {
    let mut starts = vec![0u32; rows as usize + 2];
    for &t in threads {
        starts[t as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    order.clear();
    order.resize(threads.len(), 0);
    for (i, &t) in threads.iter().enumerate() {
        let slot = &mut starts[t as usize];
        order[*slot as usize] = u32::try_from(i).expect("fewer than 2^32 events");
        *slot += 1;
    }
}
