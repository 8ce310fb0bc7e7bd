//! A decoded chunk and borrowed views of its events, threads and fds.
//!
//! Decoding fills plain vectors (one per column) that are reused from chunk
//! to chunk; the views index into them, so reading events allocates nothing.
//! A [`Projection`] says which columns to decode: counting events by type and
//! process needs two of fifteen.

use super::builder::{FD_FIELDS, THREAD_FIELDS, group_by_thread};
use super::dict::Dict;
use super::{ChunkHeader, MAX_ARGS, Mtf, col, tag};
use crate::Error;
use crate::codec::Decompressor;
use crate::event::{Arg, EventType, OwnedRecord, Record, RecordFlags};
use crate::file::rows::{Field, TableReader};
use crate::file::sockaddr::{FdEnds, get_addr, get_ends, get_tuple};
use crate::state::{FdKind, L4Proto, SocketRole};
use crate::varint::{Cursor, CursorError};

/// Which parts of a chunk to decode. The type, the CPU and the thread refs
/// are always decoded; accessors of parts not decoded return defaults.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Projection(u16);

impl Projection {
    /// Event times (needed for time windows and `evt.time`).
    pub const TIME: Self = Self(1);
    /// Latency.
    pub const LATENCY: Self = Self(1 << 1);
    /// CPU.
    pub const CPU: Self = Self(1 << 2);
    /// Thread and process of each event.
    pub const THREAD: Self = Self(1 << 3);
    /// Return value.
    pub const RET: Self = Self(1 << 4);
    /// The fd each event concerns.
    pub const FD: Self = Self(1 << 5);
    /// Arguments (also decodes the return value and fd, which predict them).
    pub const ARGS: Self = Self(1 << 6 | 1 << 4 | 1 << 5);
    /// Record flags (whether a call returned).
    pub const FLAGS: Self = Self(1 << 7);
    /// Type (and CPU and thread refs, which give the column order) only.
    pub const MINIMAL: Self = Self(0);
    /// Everything.
    pub const ALL: Self = Self(0xff);

    /// True when every part of `other` is included.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn needs_dict(self) -> bool {
        self.0 & (Self::FD.0 | Self::ARGS.0) != 0
    }
}

impl std::ops::BitOr for Projection {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Projection {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// One row of the thread table.
#[derive(Clone, Copy, Debug, Default)]
struct ThreadRow {
    tid: i64,
    pid: i64,
    ppid: i64,
    vtid: i64,
    vpid: i64,
    comm: u32,
    exe: u32,
    exepath: u32,
    args: u32,
    cwd: u32,
    uid: u32,
    gid: u32,
    loginuid: u32,
    user: u32,
    group: u32,
    container_id: u32,
    pod_uid: u32,
    /// Row of the parent process + 1, 0 when none.
    parent: u32,
    start_ts: u64,
    /// The container's texts, in [`ContainerText`] order ([`NO_STRING`]
    /// in chunks written before they existed).
    container: [u32; CONTAINER_TEXTS],
    privileged: bool,
    /// Session id, -1 when unknown (and in chunks written before 1.2).
    sid: i64,
    /// Process group id in its pid namespace, -1 when unknown.
    vpgid: i64,
    /// `tty_nr`, 0 for none.
    tty: u32,
    /// Name of the login user ([`NO_STRING`] when unknown).
    login_user: u32,
    /// Threads of the process (0: not counted).
    threads: u32,
}

/// How many texts describe a container in the thread table.
const CONTAINER_TEXTS: usize = 8;

/// A reference to no string: empty.
const NO_STRING: u32 = u32::MAX;

/// What the thread table says of a process's container, in column order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ContainerText {
    /// Name.
    Name,
    /// Image.
    Image,
    /// Image repository.
    ImageRepo,
    /// Image tag.
    ImageTag,
    /// Image digest.
    ImageDigest,
    /// Runtime (`docker`, `containerd`, `cri-o`, ...).
    Kind,
    /// Labels, each `key=value` followed by a NUL.
    Labels,
    /// The whole id.
    FullId,
}

/// One row of the fd table.
#[derive(Clone, Copy, Debug, Default)]
struct FdRow {
    pid: i64,
    fd: i64,
    kind: FdKind,
    name: u32,
    l4proto: L4Proto,
    role: SocketRole,
    ends: u32,
    flags: u32,
}

/// A decoded chunk. Reuse one across chunks (see [`Decoder::read_chunk`](crate::file::Decoder::read_chunk)) to keep
/// its memory.
#[derive(Debug, Default, Clone)]
pub struct Chunk {
    len: usize,
    first_num: u64,
    /// The number of each event, when they are not consecutive from
    /// `first_num` (see [`Chunk::renumber`]); empty otherwise.
    nums: Vec<u64>,
    ts_min: u64,
    ts_max: u64,
    projection: Option<Projection>,
    ty: Vec<u16>,
    flags: Vec<u8>,
    exit_ts: Vec<u64>,
    latency: Vec<u64>,
    cpu: Vec<u16>,
    thread: Vec<u32>,
    ret: Vec<i64>,
    fd: Vec<u32>,
    /// Arguments of event `i` are `arg_tag/arg_val[start..start + count]`
    /// for `(start, count) = arg_range[i]`.
    arg_range: Vec<(u32, u32)>,
    /// Event indices grouped by thread (the storage order of most columns).
    order: Vec<u32>,
    arg_tag: Vec<u8>,
    /// Int: the value's bits; string, address, tuple: dictionary index;
    /// bytes: offset in `blob` << 32 | length.
    arg_val: Vec<u64>,
    blob: Vec<u8>,
    /// Offset of each event's data in `blob` (data is stored in event
    /// order); bytes arguments hold their offset within the event's data.
    data_start: Vec<u32>,
    dict: Dict,
    thread_dict: Dict,
    threads: Vec<ThreadRow>,
    fds: Vec<FdRow>,
    column: Vec<u8>,
}

/// What argument decoding remembers per event type: its last layout
/// (position in the layout column, count) and its predictor.
#[derive(Clone, Copy, Debug)]
struct TypeState {
    layout: Option<(usize, usize)>,
    predictor: Option<super::Predictor>,
}

impl TypeState {
    /// Reads the next layout code: 0 is the layout of the last event of
    /// this type, anything else the count + 1 followed by the tags. Returns
    /// where the tags are in the layout column, and how many.
    fn next_layout(
        &mut self,
        layout: &mut Cursor<'_>,
        at: &Where,
    ) -> Result<(usize, usize), Error> {
        let code = layout.u64().map_err(cursor_err(at, col::ARG_LAYOUT))?;
        let code = usize::try_from(code).unwrap_or(usize::MAX);
        if code > MAX_ARGS + 1 {
            return Err(at.err(col::ARG_LAYOUT, format!("{} arguments", code - 1)));
        }
        if code == 0 {
            return self
                .layout
                .ok_or_else(|| at.err(col::ARG_LAYOUT, "a repeated layout with no earlier one"));
        }
        let start = layout.position();
        layout
            .take(code - 1)
            .map_err(cursor_err(at, col::ARG_LAYOUT))?;
        self.layout = Some((start, code - 1));
        Ok((start, code - 1))
    }
}

/// Context for decode errors.
struct Where {
    offset: u64,
}

impl Where {
    fn err(&self, column: u8, detail: impl std::fmt::Display) -> Error {
        Error::corrupt(
            "chunk",
            self.offset,
            format!("{} column: {detail}", col::name(column)),
        )
    }
}

fn cursor_err(w: &Where, column: u8) -> impl Fn(CursorError) -> Error + '_ {
    move |e| w.err(column, e.describe())
}

impl Chunk {
    /// Decodes `payload` (a chunk block's payload found at byte `offset`)
    /// into this chunk, replacing what it held.
    pub(crate) fn decode(
        &mut self,
        payload: &[u8],
        offset: u64,
        projection: Projection,
        decompressor: &mut Decompressor,
    ) -> Result<(), Error> {
        let result = self.decode_inner(payload, offset, projection, decompressor);
        if result.is_err() {
            // A chunk that failed to decode holds no events.
            self.clear();
        }
        result
    }

    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the closures are generic over the cursor's lifetime; the methods are not"
    )]
    fn decode_inner(
        &mut self,
        payload: &[u8],
        offset: u64,
        projection: Projection,
        decompressor: &mut Decompressor,
    ) -> Result<(), Error> {
        let at = Where { offset };
        let header = ChunkHeader::decode(payload)
            .map_err(|detail| Error::corrupt("chunk header", offset, detail))?;
        self.clear();
        self.len = header.events as usize;
        self.ts_min = header.ts_min;
        self.ts_max = header.ts_max;
        let columns = column_slices(&header, payload);
        // Each event takes at least one byte of the type column; a count
        // beyond that is corrupt, and must not size our allocations.
        let type_raw = columns[usize::from(col::TYPE)].map_or(0, |c| c.2);
        if self.len > type_raw {
            return Err(at.err(
                col::TYPE,
                format!("{} events in {type_raw} bytes", self.len),
            ));
        }
        let mut raw = std::mem::take(&mut self.column);
        let mut load = |id: u8, raw: &mut Vec<u8>| -> Result<(), Error> {
            raw.clear();
            if let Some((codec, stored, raw_len)) = columns[usize::from(id)] {
                decompressor
                    .decompress(codec, stored, raw_len, raw)
                    .map_err(|e| at.err(id, e))?;
            }
            Ok(())
        };
        let n = self.len;

        // CPU and thread in event order; they give the grouping of the rest.
        load(col::CPU, &mut raw)?;
        decode_each(&raw, n, &mut self.cpu, |c| c.u16(), &at, col::CPU)?;
        load(col::THREAD, &mut raw)?;
        self.decode_thread_refs(&raw, header.thread_rows, &at)?;
        group_by_thread(&self.thread, header.thread_rows, &mut self.order);
        let order = std::mem::take(&mut self.order);
        let grouped = Grouped {
            order: &order,
            at: &at,
        };

        load(col::TYPE, &mut raw)?;
        grouped.plain(&raw, &mut self.ty, col::TYPE)?;
        self.unpalette_types(&header.types, &at)?;
        if projection.contains(Projection::FLAGS) {
            load(col::FLAGS, &mut raw)?;
            grouped.with(&raw, &mut self.flags, col::FLAGS, |c| c.u8())?;
        }
        if projection.needs_dict() {
            load(col::DICT, &mut raw)?;
            self.dict
                .decode_from(&raw)
                .map_err(|e| at.err(col::DICT, e.describe()))?;
        }
        let time = projection.contains(Projection::TIME);
        if time || projection.contains(Projection::LATENCY) {
            load(col::LATENCY, &mut raw)?;
            grouped.plain(&raw, &mut self.latency, col::LATENCY)?;
        }
        if time {
            load(col::TS, &mut raw)?;
            self.decode_times(&raw, header.ts_base, &at)?;
        }
        if projection.contains(Projection::RET) {
            load(col::RET, &mut raw)?;
            grouped.with(&raw, &mut self.ret, col::RET, |c| c.i64())?;
        }
        if projection.contains(Projection::THREAD) {
            load(col::THREAD_DICT, &mut raw)?;
            self.thread_dict
                .decode_from(&raw)
                .map_err(|e| at.err(col::THREAD_DICT, e.describe()))?;
            load(col::THREADS, &mut raw)?;
            self.decode_threads(&raw, header.thread_rows, &at)?;
        }
        if projection.contains(Projection::FD) {
            load(col::FDS, &mut raw)?;
            self.decode_fds(&raw, &at)?;
            load(col::FD, &mut raw)?;
            self.decode_fd_refs(&raw, &order, &at)?;
        }
        if projection.contains(Projection::ARGS) {
            self.decode_args(&mut raw, &mut load, &order, &header.predictors, &at)?;
        }
        self.order = order;
        self.column = raw;
        self.projection = Some(projection);
        Ok(())
    }

    /// Thread refs, move-to-front coded per CPU.
    fn decode_thread_refs(&mut self, raw: &[u8], rows: u32, at: &Where) -> Result<(), Error> {
        let cpus = self.cpu.iter().max().map_or(0, |&c| usize::from(c) + 1);
        let mut recent = vec![Mtf::default(); cpus];
        let mut cur = Cursor::new(raw);
        let err = cursor_err(at, col::THREAD);
        self.thread.reserve(self.len);
        for i in 0..self.len {
            let code = cur.u64().map_err(&err)?;
            let r = recent[usize::from(self.cpu[i])]
                .decode(code)
                .filter(|&r| r <= rows)
                .ok_or_else(|| at.err(col::THREAD, format!("bad thread code {code}")))?;
            self.thread.push(r);
        }
        if !cur.is_empty() {
            return Err(at.err(col::THREAD, format!("{} bytes left over", cur.remaining())));
        }
        Ok(())
    }

    /// Fd refs, in thread-grouped order, move-to-front coded per thread.
    fn decode_fd_refs(&mut self, raw: &[u8], order: &[u32], at: &Where) -> Result<(), Error> {
        let rows = self.fds.len();
        let mut cur = Cursor::new(raw);
        let err = cursor_err(at, col::FD);
        self.fd.clear();
        self.fd.resize(self.len, 0);
        let mut recent = Mtf::default();
        let mut prev_thread = u32::MAX;
        for &g in order {
            let g = g as usize;
            if self.thread[g] != prev_thread {
                prev_thread = self.thread[g];
                recent = Mtf::default();
            }
            let code = cur.u64().map_err(&err)?;
            self.fd[g] = recent
                .decode(code)
                .filter(|&r| r as usize <= rows)
                .ok_or_else(|| at.err(col::FD, format!("bad fd code {code}")))?;
        }
        if !cur.is_empty() {
            return Err(at.err(col::FD, format!("{} bytes left over", cur.remaining())));
        }
        Ok(())
    }

    /// Inverse of the builder's `put_time` (event order, per CPU).
    fn decode_times(&mut self, raw: &[u8], ts_base: u64, at: &Where) -> Result<(), Error> {
        let mut prev_exit: Vec<Option<u64>> = Vec::new();
        let mut cur = Cursor::new(raw);
        let err = cursor_err(at, col::TS);
        self.exit_ts.reserve(self.len);
        for i in 0..self.len {
            let cpu = usize::from(self.cpu[i]);
            if prev_exit.len() <= cpu {
                prev_exit.resize(cpu + 1, None);
            }
            let prev = prev_exit[cpu].unwrap_or(ts_base);
            let v = cur.u64().map_err(&err)?;
            let exit = match v & 3 {
                0 => prev.wrapping_add(v >> 2).wrapping_add(self.latency[i]),
                1 => prev.wrapping_add(v >> 2),
                2 if v == 2 => {
                    #[expect(clippy::cast_sign_loss, reason = "wrapping delta")]
                    let since = cur.i64().map_err(&err)? as u64;
                    prev.wrapping_add(since)
                }
                _ => return Err(at.err(col::TS, format!("bad time code {v}"))),
            };
            prev_exit[cpu] = Some(exit);
            self.exit_ts.push(exit);
        }
        if !cur.is_empty() {
            return Err(at.err(col::TS, format!("{} bytes left over", cur.remaining())));
        }
        Ok(())
    }

    fn decode_args(
        &mut self,
        raw: &mut Vec<u8>,
        load: &mut impl FnMut(u8, &mut Vec<u8>) -> Result<(), Error>,
        order: &[u32],
        predictors: &[super::Predictor],
        at: &Where,
    ) -> Result<(), Error> {
        // The blob is kept; layout, ints and refs are consumed in step.
        load(col::BLOB, &mut self.blob)?;
        let mut layout_buf = Vec::new();
        let mut ints_buf = Vec::new();
        load(col::ARG_LAYOUT, &mut layout_buf)?;
        load(col::ARG_INT, &mut ints_buf)?;
        load(col::ARG_REF, raw)?;
        let mut layout = Cursor::new(&layout_buf);
        let mut ints = Cursor::new(&ints_buf);
        let mut refs = Cursor::new(raw);
        let dict_len = self.dict.len();
        self.arg_range.clear();
        self.arg_range.resize(self.len, (0, 0));
        // Per type: its last layout (position in the layout column, count)
        // and its predictor.
        let mut types: hashbrown::HashMap<u16, TypeState> = hashbrown::HashMap::new();
        self.data_start.clear();
        self.data_start.resize(self.len + 1, 0);
        for &i in order {
            let i = i as usize;
            let first = u32::try_from(self.arg_tag.len())
                .map_err(|_| at.err(col::ARG_LAYOUT, "too many arguments"))?;
            let state = types.entry(self.ty[i]).or_insert_with(|| TypeState {
                layout: None,
                predictor: predictors
                    .binary_search_by_key(&self.ty[i], |p| p.ty)
                    .ok()
                    .map(|k| predictors[k]),
            });
            let (tags_at, argc) = state.next_layout(&mut layout, at)?;
            let p = state.predictor;
            let ret = self.ret[i];
            let fd_num = match self.fd[i] {
                0 => 0,
                r => self.fds[r as usize - 1].fd,
            };
            for (k, &t) in layout_buf[tags_at..tags_at + argc].iter().enumerate() {
                let val = match t {
                    tag::ABSENT => 0,
                    tag::INT => {
                        let base = match p {
                            Some(p) if usize::from(p.fd_arg) == k => fd_num,
                            Some(p) if usize::from(p.ret_arg) == k => ret,
                            _ => 0,
                        };
                        let v = ints.i64().map_err(cursor_err(at, col::ARG_INT))?;
                        #[expect(clippy::cast_sign_loss, reason = "bits kept, read back as i64")]
                        let bits = v.wrapping_add(base) as u64;
                        bits
                    }
                    tag::STR | tag::SOCKADDR | tag::SOCKTUPLE => {
                        let r = refs.u32().map_err(cursor_err(at, col::ARG_REF))?;
                        if r as usize >= dict_len {
                            return Err(at.err(col::ARG_REF, format!("string {r} of {dict_len}")));
                        }
                        u64::from(r)
                    }
                    tag::BYTES => {
                        // Offset within the event's data; the event's own
                        // offset comes from a prefix sum (data is stored in
                        // event order).
                        let cap = p.map_or(0, |p| i64::from(p.data_cap));
                        let delta = ints.i64().map_err(cursor_err(at, col::ARG_INT))?;
                        #[expect(clippy::cast_sign_loss, reason = "checked against the blob below")]
                        let len = delta.wrapping_add(ret.clamp(0, cap)) as u64;
                        let local = u64::from(self.data_start[i + 1]);
                        if len > self.blob.len() as u64 || local + len > self.blob.len() as u64 {
                            return Err(at.err(col::BLOB, "data runs past the column"));
                        }
                        #[expect(clippy::cast_possible_truncation, reason = "bounded by the blob")]
                        {
                            self.data_start[i + 1] = (local + len) as u32;
                        }
                        local << 32 | len
                    }
                    other => return Err(at.err(col::ARG_LAYOUT, format!("unknown tag {other}"))),
                };
                self.arg_tag.push(t);
                self.arg_val.push(val);
            }
            let count =
                u32::try_from(argc).map_err(|_| at.err(col::ARG_LAYOUT, "too many arguments"))?;
            self.arg_range[i] = (first, count);
        }
        for (cur, column) in [
            (&layout, col::ARG_LAYOUT),
            (&ints, col::ARG_INT),
            (&refs, col::ARG_REF),
        ] {
            if !cur.is_empty() {
                return Err(at.err(column, format!("{} bytes left over", cur.remaining())));
            }
        }
        self.place_data(at)
    }

    /// Data is stored in event order: turns each event's data length into
    /// its offset in the data column.
    fn place_data(&mut self, at: &Where) -> Result<(), Error> {
        let mut pos = 0u64;
        for start in &mut self.data_start {
            pos += u64::from(*start);
            if pos > self.blob.len() as u64 {
                return Err(at.err(col::BLOB, "data runs past the column"));
            }
            #[expect(clippy::cast_possible_truncation, reason = "bounded by the blob")]
            {
                *start = pos as u32;
            }
        }
        if pos != self.blob.len() as u64 {
            let left = self.blob.len() as u64 - pos;
            return Err(at.err(col::BLOB, format!("{left} bytes left over")));
        }
        Ok(())
    }

    fn check_ref(dict: &Dict, r: u64, at: &Where, column: u8) -> Result<u32, Error> {
        let len = dict.len();
        match u32::try_from(r) {
            Ok(r) if (r as usize) < len => Ok(r),
            _ => Err(at.err(column, format!("string {r} of {len}"))),
        }
    }

    /// The type column holds positions in the chunk header's type list.
    fn unpalette_types(&mut self, types: &[(EventType, u32)], at: &Where) -> Result<(), Error> {
        for t in &mut self.ty {
            *t = types
                .get(usize::from(*t))
                .ok_or_else(|| at.err(col::TYPE, format!("type {t} of {}", types.len())))?
                .0
                .0;
        }
        Ok(())
    }

    fn decode_threads(&mut self, raw: &[u8], rows: u32, at: &Where) -> Result<(), Error> {
        let mut cur = Cursor::new(raw);
        let table =
            TableReader::new(&mut cur, THREAD_FIELDS).map_err(|e| at.err(col::THREADS, e))?;
        let mut f = [Field::Missing; 33];
        self.threads.reserve(table.rows());
        for _ in 0..table.rows() {
            table
                .row(&mut cur, &mut f)
                .map_err(|e| at.err(col::THREADS, e))?;
            let s = |i: usize| Self::check_ref(&self.thread_dict, f[i].u(), at, col::THREADS);
            let mut row = ThreadRow {
                tid: f[0].i(),
                pid: f[1].i(),
                ppid: f[2].i(),
                vtid: f[3].i(),
                vpid: f[4].i(),
                comm: s(5)?,
                exe: s(6)?,
                exepath: s(7)?,
                args: s(8)?,
                cwd: s(9)?,
                uid: f[10].u32(),
                gid: f[11].u32(),
                loginuid: f[12].u32(),
                user: s(13)?,
                group: s(14)?,
                container_id: s(15)?,
                pod_uid: s(16)?,
                parent: f[17].u32(),
                start_ts: f[18].u(),
                container: [NO_STRING; CONTAINER_TEXTS],
                privileged: f[27].u() != 0,
                sid: f[28].i_or(-1),
                vpgid: f[29].i_or(-1),
                tty: f[30].u32(),
                login_user: NO_STRING,
                threads: f[32].u32(),
            };
            if !matches!(f[31], Field::Missing) {
                row.login_user = s(31)?;
            }
            for (i, slot) in row.container.iter_mut().enumerate() {
                if !matches!(f[19 + i], Field::Missing) {
                    *slot = s(19 + i)?;
                }
            }
            // Parents are written before their children, so a valid parent
            // reference points backwards; that also rules out cycles.
            if row.parent as usize > self.threads.len() {
                return Err(at.err(col::THREADS, format!("parent row {} ahead", row.parent)));
            }
            self.threads.push(row);
        }
        if self.threads.len() != rows as usize {
            let n = self.threads.len();
            return Err(at.err(col::THREADS, format!("{n} rows, the header says {rows}")));
        }
        Ok(())
    }

    fn decode_fds(&mut self, raw: &[u8], at: &Where) -> Result<(), Error> {
        let mut cur = Cursor::new(raw);
        let table = TableReader::new(&mut cur, FD_FIELDS).map_err(|e| at.err(col::FDS, e))?;
        let mut f = [Field::Missing; 8];
        self.fds.reserve(table.rows());
        for _ in 0..table.rows() {
            table
                .row(&mut cur, &mut f)
                .map_err(|e| at.err(col::FDS, e))?;
            let small = |v: u64| u8::try_from(v).unwrap_or(u8::MAX);
            let row = FdRow {
                pid: f[0].i(),
                fd: f[1].i(),
                kind: FdKind::from_u8(small(f[2].u())),
                name: Self::check_ref(&self.dict, f[3].u(), at, col::FDS)?,
                l4proto: L4Proto::from_u8(small(f[4].u())),
                role: SocketRole::from_u8(small(f[5].u())),
                ends: Self::check_ref(&self.dict, f[6].u(), at, col::FDS)?,
                flags: f[7].u32(),
            };
            self.fds.push(row);
        }
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.nums.clear();
        self.len = 0;
        self.projection = None;
        self.ty.clear();
        self.flags.clear();
        self.exit_ts.clear();
        self.latency.clear();
        self.cpu.clear();
        self.thread.clear();
        self.ret.clear();
        self.fd.clear();
        self.arg_range.clear();
        self.arg_tag.clear();
        self.arg_val.clear();
        self.blob.clear();
        self.data_start.clear();
        self.dict.clear();
        self.thread_dict.clear();
        self.threads.clear();
        self.fds.clear();
    }

    /// Sets the number of the first event (`evt.num`, counted from 1).
    pub(crate) fn set_first_num(&mut self, n: u64) {
        self.first_num = n;
        self.nums.clear();
    }

    /// Numbers the events (`evt.num`) one by one, for chunks whose events
    /// are not consecutive in their capture: a reader that left out events
    /// it would never show (see `scap_import::ChunkStream`). `nums` has one
    /// number per event; given any other count, the numbers stay
    /// consecutive.
    pub fn renumber(&mut self, nums: &[u64]) {
        self.nums.clear();
        if nums.len() == self.len {
            self.nums.extend_from_slice(nums);
        }
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no events.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Earliest entry time.
    pub fn ts_min(&self) -> u64 {
        self.ts_min
    }

    /// Latest return time.
    pub fn ts_max(&self) -> u64 {
        self.ts_max
    }

    /// What was decoded.
    pub fn projection(&self) -> Projection {
        self.projection.unwrap_or(Projection::MINIMAL)
    }

    /// Event `i`.
    pub fn event(&self, i: usize) -> Option<Event<'_>> {
        (i < self.len).then_some(Event { chunk: self, i })
    }

    /// All events in file order.
    pub fn events(&self) -> impl ExactSizeIterator<Item = Event<'_>> + '_ {
        (0..self.len).map(move |i| Event { chunk: self, i })
    }

    /// The type column, for fast scans.
    pub fn types(&self) -> &[u16] {
        &self.ty
    }

    /// The thread column (row + 1, 0 for none), for fast scans.
    pub fn thread_refs(&self) -> &[u32] {
        &self.thread
    }

    /// Thread rows (decoded with [`Projection::THREAD`]).
    pub fn threads(&self) -> impl ExactSizeIterator<Item = ThreadView<'_>> + '_ {
        (0..self.threads.len()).map(move |row| ThreadView { chunk: self, row })
    }

    /// Thread row `row` (0-based).
    pub fn thread_row(&self, row: usize) -> Option<ThreadView<'_>> {
        (row < self.threads.len()).then_some(ThreadView { chunk: self, row })
    }

    /// Fd rows (decoded with [`Projection::FD`]).
    pub fn fds(&self) -> impl ExactSizeIterator<Item = FdView<'_>> + '_ {
        (0..self.fds.len()).map(move |row| FdView { chunk: self, row })
    }
}

/// Decodes `n` values of one column, reusing `out`.
fn decode_each<T: From<u8>>(
    raw: &[u8],
    n: usize,
    out: &mut Vec<T>,
    mut next: impl FnMut(&mut Cursor<'_>) -> Result<T, CursorError>,
    at: &Where,
    column: u8,
) -> Result<(), Error> {
    // n values in n bytes are all one-byte varints: widen them directly.
    if raw.len() == n && raw.iter().all(|&b| b < 0x80) {
        out.extend(raw.iter().map(|&b| T::from(b)));
        return Ok(());
    }
    let mut cur = Cursor::new(raw);
    out.reserve(n);
    for _ in 0..n {
        out.push(next(&mut cur).map_err(cursor_err(at, column))?);
    }
    if !cur.is_empty() {
        return Err(at.err(column, format!("{} bytes left over", cur.remaining())));
    }
    Ok(())
}

/// Where each known column's stored bytes are: (codec, bytes, raw length).
/// The header's decoder checked that the lengths add up to the payload.
fn column_slices<'p>(
    header: &ChunkHeader,
    payload: &'p [u8],
) -> [Option<(u8, &'p [u8], usize)>; col::COUNT] {
    let mut columns = [None; col::COUNT];
    let mut pos = header.len;
    for c in &header.columns {
        let stored = &payload[pos..pos + c.stored_len];
        pos += c.stored_len;
        if let Some(slot) = columns.get_mut(usize::from(c.id)) {
            *slot = Some((c.codec, stored, c.raw_len));
        }
    }
    columns
}

/// Decodes thread-grouped columns into event order.
struct Grouped<'a> {
    order: &'a [u32],
    at: &'a Where,
}

impl Grouped<'_> {
    /// A column of unsigned varints, widened to `T`.
    fn plain<T: Copy + Default + From<u8> + TryFrom<u64>>(
        &self,
        raw: &[u8],
        out: &mut Vec<T>,
        column: u8,
    ) -> Result<(), Error> {
        if raw.len() == self.order.len() && raw.iter().all(|&b| b < 0x80) {
            // n values in n bytes are all one-byte varints.
            out.clear();
            out.resize(self.order.len(), T::default());
            for (&g, &b) in self.order.iter().zip(raw) {
                out[g as usize] = T::from(b);
            }
            return Ok(());
        }
        self.with(raw, out, column, |c| {
            T::try_from(c.u64()?).map_err(|_| CursorError::Overflow)
        })
    }

    /// A column whose values `next` reads.
    fn with<T: Copy + Default>(
        &self,
        raw: &[u8],
        out: &mut Vec<T>,
        column: u8,
        mut next: impl FnMut(&mut Cursor<'_>) -> Result<T, CursorError>,
    ) -> Result<(), Error> {
        out.clear();
        out.resize(self.order.len(), T::default());
        let mut cur = Cursor::new(raw);
        for &g in self.order {
            out[g as usize] = next(&mut cur).map_err(cursor_err(self.at, column))?;
        }
        if !cur.is_empty() {
            let left = cur.remaining();
            return Err(self.at.err(column, format!("{left} bytes left over")));
        }
        Ok(())
    }
}

/// One event of a decoded chunk.
#[derive(Clone, Copy, Debug)]
pub struct Event<'c> {
    chunk: &'c Chunk,
    i: usize,
}

impl<'c> Event<'c> {
    /// The chunk it is in.
    pub fn chunk(&self) -> &'c Chunk {
        self.chunk
    }

    /// Position in its chunk.
    pub fn index(&self) -> usize {
        self.i
    }

    /// Event number in the capture, from 1 (`evt.num`).
    pub fn num(&self) -> u64 {
        match self.chunk.nums.get(self.i) {
            Some(&n) => n,
            None => self.chunk.first_num + self.i as u64,
        }
    }

    /// Type.
    pub fn ty(&self) -> EventType {
        EventType(self.chunk.ty[self.i])
    }

    /// Flags.
    pub fn flags(&self) -> RecordFlags {
        RecordFlags(self.chunk.flags.get(self.i).copied().unwrap_or(0))
    }

    /// True when the call returned (false for `exit_group` and events).
    pub fn returned(&self) -> bool {
        self.ty().is_syscall() && !self.flags().contains(RecordFlags::NO_RETURN)
    }

    /// True when the call returned and its return value was recorded
    /// ([`RecordFlags::NO_RESULT`]).
    pub fn has_result(&self) -> bool {
        self.returned() && !self.flags().contains(RecordFlags::NO_RESULT)
    }

    /// True when the call returned and its latency was recorded
    /// ([`RecordFlags::NO_LATENCY`]).
    pub fn has_latency(&self) -> bool {
        self.returned() && !self.flags().contains(RecordFlags::NO_LATENCY)
    }

    /// Return time, ns since the epoch.
    pub fn ts_exit(&self) -> u64 {
        self.chunk.exit_ts.get(self.i).copied().unwrap_or(0)
    }

    /// Entry time (event time for events), ns since the epoch.
    pub fn ts(&self) -> u64 {
        self.ts_exit().wrapping_sub(self.latency())
    }

    /// Latency in ns.
    pub fn latency(&self) -> u64 {
        self.chunk.latency.get(self.i).copied().unwrap_or(0)
    }

    /// CPU.
    pub fn cpu(&self) -> u16 {
        self.chunk.cpu.get(self.i).copied().unwrap_or(0)
    }

    /// Return value.
    pub fn ret(&self) -> i64 {
        self.chunk.ret.get(self.i).copied().unwrap_or(0)
    }

    /// The thread that made the call.
    pub fn thread(&self) -> Option<ThreadView<'c>> {
        let r = *self.chunk.thread.get(self.i)?;
        // The thread column is always decoded, the table only when asked.
        (r > 0 && r as usize <= self.chunk.threads.len()).then(|| ThreadView {
            chunk: self.chunk,
            row: r as usize - 1,
        })
    }

    /// Row + 1 of the thread in the chunk's thread table (0: none).
    pub fn thread_ref(&self) -> u32 {
        self.chunk.thread.get(self.i).copied().unwrap_or(0)
    }

    /// Thread id (-1 for records of no thread).
    pub fn tid(&self) -> i64 {
        self.thread().map_or(-1, |t| t.tid())
    }

    /// Process id (-1 for records of no thread).
    pub fn pid(&self) -> i64 {
        self.thread().map_or(-1, |t| t.pid())
    }

    /// The fd the event concerns.
    pub fn fd(&self) -> Option<FdView<'c>> {
        let r = *self.chunk.fd.get(self.i)?;
        (r > 0 && r as usize <= self.chunk.fds.len()).then(|| FdView {
            chunk: self.chunk,
            row: r as usize - 1,
        })
    }

    /// Fd `num` of the event's process as the chunk's fd table has it,
    /// when the table has it under one name (for a `*at` call's directory
    /// fd, which is not the event's fd); none when the table lacks it or
    /// has several names for it (it was closed and opened again).
    pub fn process_fd(&self, num: i64) -> Option<FdView<'c>> {
        let pid = self.pid();
        let mut rows = (0..self.chunk.fds.len())
            .filter(|&row| self.chunk.fds[row].pid == pid && self.chunk.fds[row].fd == num);
        let first = rows.next()?;
        let name = self.chunk.fds[first].name;
        rows.all(|row| self.chunk.fds[row].name == name)
            .then_some(FdView {
                chunk: self.chunk,
                row: first,
            })
    }

    /// Arguments.
    pub fn args(&self) -> Args<'c> {
        let c = self.chunk;
        let (start, end) = c
            .arg_range
            .get(self.i)
            .map_or((0, 0), |&(s, n)| (s as usize, (s + n) as usize));
        Args {
            chunk: c,
            pos: start,
            end,
            data_base: c.data_start.get(self.i).copied().unwrap_or(0) as usize,
        }
    }

    /// Argument `i`, [`Arg::Absent`] when there is none.
    pub fn arg(&self, i: usize) -> Arg<'c> {
        self.args().nth(i).unwrap_or(Arg::Absent)
    }

    /// The argument called `name` in the event table.
    pub fn arg_named(&self, name: &str) -> Option<Arg<'c>> {
        let i = self.ty().info().arg_index(name)?;
        Some(self.arg(i))
    }

    /// Calls `f` with this event as a [`Record`] borrowing from the chunk:
    /// what a writer re-encodes, without allocating for up to eight
    /// arguments.
    pub fn with_record<T>(&self, f: impl FnOnce(&Record<'_>) -> T) -> T {
        self.with_record_cut(usize::MAX, f)
    }

    /// As [`Event::with_record`], with every I/O data snapshot
    /// ([`Arg::Bytes`]) cut to at most `snaplen` bytes: a capture that keeps
    /// less than was recorded.
    pub fn with_record_cut<T>(&self, snaplen: usize, f: impl FnOnce(&Record<'_>) -> T) -> T {
        const INLINE: usize = 8;
        let mut inline = [Arg::Absent; INLINE];
        let mut n = 0;
        let mut heap: Vec<Arg<'c>> = Vec::new();
        for a in self.args() {
            let a = match a {
                Arg::Bytes(data) if data.len() > snaplen => Arg::Bytes(&data[..snaplen]),
                a => a,
            };
            if n < INLINE {
                inline[n] = a;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&inline);
                }
                heap.push(a);
            }
            n += 1;
        }
        let args: &[Arg<'_>] = if n <= INLINE { &inline[..n] } else { &heap };
        f(&Record {
            ty: self.ty(),
            flags: self.flags(),
            ts: self.ts(),
            latency: self.latency(),
            cpu: self.cpu(),
            tid: self.tid(),
            pid: self.pid(),
            ret: self.ret(),
            args,
        })
    }

    /// An owned copy, as the producer wrote it.
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is bound to one record lifetime; with_record lends any"
    )]
    pub fn to_owned_record(&self) -> OwnedRecord {
        self.with_record(|r| r.to_owned_record())
    }
}

/// Iterator over the arguments of an event.
#[derive(Clone, Debug)]
pub struct Args<'c> {
    chunk: &'c Chunk,
    pos: usize,
    end: usize,
    data_base: usize,
}

impl<'c> Iterator for Args<'c> {
    type Item = Arg<'c>;

    fn next(&mut self) -> Option<Arg<'c>> {
        if self.pos >= self.end {
            return None;
        }
        let c = self.chunk;
        let (t, v) = (c.arg_tag[self.pos], c.arg_val[self.pos]);
        self.pos += 1;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "indices were checked at decode"
        )]
        let dict = |v: u64| c.dict.get(v as u32);
        Some(match t {
            #[expect(clippy::cast_possible_wrap, reason = "bits stored from an i64")]
            tag::INT => Arg::Int(v as i64),
            tag::STR => Arg::Str(dict(v)),
            tag::BYTES => {
                let start = self.data_base + (v >> 32) as usize;
                let len = (v & 0xffff_ffff) as usize;
                Arg::Bytes(&c.blob[start..start + len])
            }
            tag::SOCKADDR => get_addr(dict(v)).map_or(Arg::Absent, Arg::SockAddr),
            tag::SOCKTUPLE => get_tuple(dict(v)).map_or(Arg::Absent, Arg::SockTuple),
            _ => Arg::Absent,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.pos);
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<Arg<'c>> {
        self.pos = self.pos.saturating_add(n);
        self.next()
    }
}

impl ExactSizeIterator for Args<'_> {}

/// A thread (and its process) as stored in a chunk.
#[derive(Clone, Copy, Debug)]
pub struct ThreadView<'c> {
    chunk: &'c Chunk,
    row: usize,
}

impl<'c> ThreadView<'c> {
    fn r(&self) -> &'c ThreadRow {
        &self.chunk.threads[self.row]
    }
    fn s(&self, i: u32) -> &'c [u8] {
        self.chunk.thread_dict.get(i)
    }
    /// Row in the chunk's thread table.
    pub fn row(&self) -> usize {
        self.row
    }
    /// Thread id.
    pub fn tid(&self) -> i64 {
        self.r().tid
    }
    /// Process id.
    pub fn pid(&self) -> i64 {
        self.r().pid
    }
    /// Parent process id.
    pub fn ppid(&self) -> i64 {
        self.r().ppid
    }
    /// Thread id in its pid namespace.
    pub fn vtid(&self) -> i64 {
        self.r().vtid
    }
    /// Process id in its pid namespace.
    pub fn vpid(&self) -> i64 {
        self.r().vpid
    }
    /// Command name.
    pub fn comm(&self) -> &'c [u8] {
        self.s(self.r().comm)
    }
    /// `argv[0]`.
    pub fn exe(&self) -> &'c [u8] {
        self.s(self.r().exe)
    }
    /// Executable path.
    pub fn exepath(&self) -> &'c [u8] {
        self.s(self.r().exepath)
    }
    /// `argv[1..]`, NUL-terminated each.
    pub fn args(&self) -> &'c [u8] {
        self.s(self.r().args)
    }
    /// Working directory.
    pub fn cwd(&self) -> &'c [u8] {
        self.s(self.r().cwd)
    }
    /// User id.
    pub fn uid(&self) -> u32 {
        self.r().uid
    }
    /// Group id.
    pub fn gid(&self) -> u32 {
        self.r().gid
    }
    /// Login user id.
    pub fn loginuid(&self) -> u32 {
        self.r().loginuid
    }

    /// Session id (-1: unknown).
    pub fn sid(&self) -> i64 {
        self.r().sid
    }

    /// Process group id in the process's pid namespace (-1: unknown).
    pub fn vpgid(&self) -> i64 {
        self.r().vpgid
    }

    /// Controlling terminal (`tty_nr`; 0: none or unknown).
    pub fn tty(&self) -> u32 {
        self.r().tty
    }

    /// Threads the capture knew alive in the process (0: not counted, in
    /// chunks written before 1.2).
    pub fn threads(&self) -> u32 {
        self.r().threads
    }

    /// Name of the login user (`loginuid`); empty when unset or unknown.
    pub fn login_user(&self) -> &'c [u8] {
        self.s(self.r().login_user)
    }
    /// User name.
    pub fn user(&self) -> &'c [u8] {
        self.s(self.r().user)
    }
    /// Group name.
    pub fn group(&self) -> &'c [u8] {
        self.s(self.r().group)
    }
    /// Container id.
    pub fn container_id(&self) -> &'c [u8] {
        self.s(self.r().container_id)
    }
    /// Kubernetes pod UID.
    pub fn pod_uid(&self) -> &'c [u8] {
        self.s(self.r().pod_uid)
    }
    /// What the capture knows of the process's container (empty when
    /// nothing described it).
    pub fn container(&self, which: ContainerText) -> &'c [u8] {
        self.s(self.r().container[which as usize])
    }
    /// The container runs privileged.
    pub fn container_privileged(&self) -> bool {
        self.r().privileged
    }
    /// Process start time.
    pub fn start_ts(&self) -> u64 {
        self.r().start_ts
    }
    /// The parent process (its main thread).
    pub fn parent(&self) -> Option<ThreadView<'c>> {
        let p = self.r().parent as usize;
        (p > 0 && p - 1 < self.row).then(|| ThreadView {
            chunk: self.chunk,
            row: p - 1,
        })
    }
    /// Ancestors, parent first.
    pub fn ancestors(&self) -> impl Iterator<Item = ThreadView<'c>> + 'c {
        std::iter::successors(self.parent(), ThreadView::parent)
    }
}

/// An fd as stored in a chunk.
#[derive(Clone, Copy, Debug)]
pub struct FdView<'c> {
    chunk: &'c Chunk,
    row: usize,
}

impl<'c> FdView<'c> {
    fn r(&self) -> &'c FdRow {
        &self.chunk.fds[self.row]
    }
    /// Row in the chunk's fd table.
    pub fn row(&self) -> usize {
        self.row
    }
    /// Process holding it.
    pub fn pid(&self) -> i64 {
        self.r().pid
    }
    /// Number.
    pub fn num(&self) -> i64 {
        self.r().fd
    }
    /// Kind.
    pub fn kind(&self) -> FdKind {
        self.r().kind
    }
    /// Path (files, directories, unix sockets, memfds).
    pub fn name(&self) -> &'c [u8] {
        self.chunk.dict.get(self.r().name)
    }
    /// Transport protocol.
    pub fn l4proto(&self) -> L4Proto {
        self.r().l4proto
    }
    /// Which end this process is.
    pub fn role(&self) -> SocketRole {
        self.r().role
    }
    /// Socket addresses.
    pub fn ends(&self) -> FdEnds<'c> {
        get_ends(self.chunk.dict.get(self.r().ends))
    }
    /// Open flags.
    pub fn flags(&self) -> u32 {
        self.r().flags
    }
}
