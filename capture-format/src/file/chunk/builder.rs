//! Builds one chunk from records, then seals it: compresses each column.
//!
//! Pushing a record appends varints to column buffers and looks up the
//! thread, fd and strings it refers to in hash tables. Nothing is allocated
//! per record once the buffers have grown to their working size; sealing
//! clears them and keeps their capacity.

use std::io;

use hashbrown::HashMap;

use super::dict::DictBuilder;
use super::{ChunkHeader, ChunkSummary, ColumnEntry, EncodedChunk, col, tag};
use crate::codec::Compressor;
use crate::event::{Arg, EventType, Record};
use crate::file::rows::{FieldKind, RowWriter, put_table_header};
use crate::file::sockaddr::{put_addr, put_ends, put_tuple};
use crate::state::{Context, FdInfo, ProcessInfo, ThreadInfo};
use crate::varint::{put_i64, put_u64};

/// Fields of a thread table row, all varints (strings are dictionary
/// indices): tid, pid, ppid, vtid, vpid, comm, exe, exepath, args, cwd, uid,
/// gid, loginuid, user, group, container id, pod uid, parent row + 1,
/// start time.
pub(crate) const THREAD_FIELDS: &[FieldKind] = &[FieldKind::Varint; 19];
/// Fields of an fd table row: pid, fd, kind, name, l4proto, role, ends,
/// flags.
pub(crate) const FD_FIELDS: &[FieldKind] = &[FieldKind::Varint; 8];

/// Ancestors deeper than this are not linked (and cycles end here).
const MAX_ANCESTRY: usize = 64;

/// Collects records into columns until sealed.
#[derive(Debug, Default)]
pub(crate) struct ChunkBuilder {
    events: u32,
    ts_base: u64,
    last_exit: u64,
    ts_min: u64,
    ts_max: u64,
    columns: [Vec<u8>; col::EVENT_COLUMNS],
    dict: DictBuilder,
    /// Encoded thread rows, and for each row: (pid, comm index, events).
    thread_rows: Vec<u8>,
    thread_stats: Vec<(i64, u32, u32)>,
    thread_index: HashMap<(u64, u64), u32>,
    fd_rows: Vec<u8>,
    fd_count: u32,
    fd_index: HashMap<u64, u32>,
    type_counts: HashMap<u16, u32>,
    drops: u64,
    scratch: Vec<u8>,
}

impl ChunkBuilder {
    /// Records held.
    pub(crate) fn events(&self) -> u32 {
        self.events
    }

    /// Earliest entry time held.
    pub(crate) fn ts_min(&self) -> u64 {
        self.ts_min
    }

    /// Bytes held before compression (an estimate used to bound chunks).
    pub(crate) fn raw_len(&self) -> usize {
        self.columns.iter().map(Vec::len).sum::<usize>()
            + self.dict.byte_len()
            + self.thread_rows.len()
            + self.fd_rows.len()
    }

    /// Adds one record with what the tracker resolved it to.
    pub(crate) fn push(&mut self, rec: &Record<'_>, ctx: &Context<'_>) {
        let exit = rec.ts_exit();
        if self.events == 0 {
            self.ts_base = exit;
            self.last_exit = exit;
            self.ts_min = rec.ts;
            self.ts_max = exit;
        }
        self.ts_min = self.ts_min.min(rec.ts);
        self.ts_max = self.ts_max.max(exit);
        let thread_ref = match ctx.thread {
            Some(t) => self.thread_row(Some(t), ctx.process, ctx, 0) + 1,
            None => 0,
        };
        if thread_ref > 0 {
            self.thread_stats[thread_ref as usize - 1].2 += 1;
        }
        let fd_ref = ctx.fd.map_or(0, |f| self.fd_row(f) + 1);
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
            blob,
        ] = &mut self.columns;
        put_u64(ty, u64::from(rec.ty.0));
        flags.push(rec.flags.0);
        #[expect(
            clippy::cast_possible_wrap,
            reason = "wrapping delta, undone by the reader"
        )]
        put_i64(ts, exit.wrapping_sub(self.last_exit) as i64);
        self.last_exit = exit;
        put_u64(latency, rec.latency);
        put_u64(cpu, u64::from(rec.cpu));
        put_i64(ret, rec.ret);

        put_u64(layout, rec.args.len() as u64);
        for arg in rec.args {
            match *arg {
                Arg::Absent => layout.push(tag::ABSENT),
                Arg::Int(v) => {
                    layout.push(tag::INT);
                    put_i64(ints, v);
                }
                Arg::Str(s) => {
                    layout.push(tag::STR);
                    put_u64(refs, u64::from(self.dict.intern(s)));
                }
                Arg::Bytes(b) => {
                    layout.push(tag::BYTES);
                    put_u64(ints, b.len() as u64);
                    blob.extend_from_slice(b);
                }
                Arg::SockAddr(a) => {
                    layout.push(tag::SOCKADDR);
                    self.scratch.clear();
                    put_addr(&mut self.scratch, &a);
                    put_u64(refs, u64::from(self.dict.intern(&self.scratch)));
                }
                Arg::SockTuple(t) => {
                    layout.push(tag::SOCKTUPLE);
                    self.scratch.clear();
                    put_tuple(&mut self.scratch, &t);
                    put_u64(refs, u64::from(self.dict.intern(&self.scratch)));
                }
            }
        }

        put_u64(thread, u64::from(thread_ref));
        put_u64(fd, u64::from(fd_ref));

        *self.type_counts.entry(rec.ty.0).or_default() += 1;
        if rec.ty == EventType::DROP {
            let lost = rec.args.first().and_then(Arg::as_int).unwrap_or(0);
            self.drops += u64::try_from(lost).unwrap_or(0);
        }
        self.events += 1;
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
        let d = &mut self.dict;
        let comm = d.intern(thread.map_or(&[][..], |t| &t.comm));
        let mut strings = [0u32; 10];
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
        let [exe, exepath, args, cwd, user, group, container, pod, ..] = strings;
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
        let row = self.fd_count;
        self.fd_count += 1;
        self.fd_index.insert(fd.key, row);
        row
    }

    /// Compresses the columns into a chunk and empties the builder.
    pub(crate) fn seal(&mut self, compressor: &mut Compressor) -> io::Result<EncodedChunk> {
        let mut types: Vec<(EventType, u32)> = self
            .type_counts
            .iter()
            .map(|(&t, &n)| (EventType(t), n))
            .collect();
        types.sort_unstable();
        let mut header = ChunkHeader {
            events: self.events,
            ts_base: self.ts_base,
            ts_min: self.ts_min,
            ts_max: self.ts_max,
            types,
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
        put_table_header(&mut table, self.thread_stats.len(), THREAD_FIELDS);
        table.extend_from_slice(&self.thread_rows);
        add(col::THREADS, &table, &mut data)?;
        table.clear();
        put_table_header(&mut table, self.fd_count as usize, FD_FIELDS);
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
            .map(|((pid, comm), n)| (pid, self.dict.string(comm).to_vec(), n))
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
        self.events = 0;
        self.columns.iter_mut().for_each(Vec::clear);
        self.dict.clear();
        self.thread_rows.clear();
        self.thread_stats.clear();
        self.thread_index.clear();
        self.fd_rows.clear();
        self.fd_count = 0;
        self.fd_index.clear();
        self.type_counts.clear();
        self.drops = 0;
    }
}
