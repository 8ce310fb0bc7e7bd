//! Chunks: groups of events stored column by column, each column compressed
//! on its own, with the thread, fd and string tables the events refer to.
//!
//! A chunk is self-contained: decoding it needs nothing from the rest of the
//! file. That is what lets readers decode chunks in parallel, seek to a time
//! window, and lets the agent copy chunks from its in-memory ring into a
//! capture file without re-encoding them.

mod builder;
mod decoded;
mod dict;

pub(crate) use builder::ChunkBuilder;
pub use decoded::{Args, Chunk, ContainerText, Event, FdView, Projection, ThreadView};

use crate::event::EventType;
use crate::varint::{Cursor, CursorError, put_u64};

/// Column ids. FORMAT.md describes each.
/// Number of column kinds (for statistics).
pub(crate) const COLUMN_COUNT: usize = col::COUNT;

pub(crate) fn column_name(id: u8) -> &'static str {
    col::name(id)
}

pub(crate) mod col {
    pub const TYPE: u8 = 0;
    pub const FLAGS: u8 = 1;
    pub const TS: u8 = 2;
    pub const LATENCY: u8 = 3;
    pub const CPU: u8 = 4;
    pub const THREAD: u8 = 5;
    pub const RET: u8 = 6;
    pub const FD: u8 = 7;
    pub const ARG_LAYOUT: u8 = 8;
    pub const ARG_INT: u8 = 9;
    pub const ARG_REF: u8 = 10;
    pub const BLOB: u8 = 11;
    pub const DICT: u8 = 12;
    pub const THREADS: u8 = 13;
    pub const FDS: u8 = 14;
    pub const THREAD_DICT: u8 = 15;
    /// Columns written per event (the rest are tables).
    pub const EVENT_COLUMNS: usize = 12;
    /// All columns this version knows.
    pub const COUNT: usize = 16;

    pub fn name(id: u8) -> &'static str {
        match id {
            TYPE => "type",
            FLAGS => "flags",
            TS => "timestamp",
            LATENCY => "latency",
            CPU => "cpu",
            THREAD => "thread",
            RET => "return value",
            FD => "fd",
            ARG_LAYOUT => "argument layout",
            ARG_INT => "integer argument",
            ARG_REF => "string argument",
            BLOB => "data",
            DICT => "dictionary",
            THREADS => "thread table",
            FDS => "fd table",
            THREAD_DICT => "thread dictionary",
            _ => "unknown",
        }
    }
}

/// Argument tags in the layout column.
pub(crate) mod tag {
    pub const ABSENT: u8 = 0;
    pub const INT: u8 = 1;
    pub const STR: u8 = 2;
    pub const BYTES: u8 = 3;
    pub const SOCKADDR: u8 = 4;
    pub const SOCKTUPLE: u8 = 5;
}

/// Move-to-front coding of small ids (thread rows on a CPU, fds of a
/// thread): ids used recently code as their small position in the list,
/// others as `LEN + id`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mtf {
    ids: [u32; Mtf::LEN],
    len: usize,
}

impl Mtf {
    pub const LEN: usize = 16;

    #[inline]
    fn move_to_front(&mut self, pos: usize, id: u32) {
        // Shift by hand: the list is short, and a call to memmove for the
        // common positions 0 and 1 would cost more than the move.
        let mut i = pos;
        while i > 0 {
            self.ids[i] = self.ids[i - 1];
            i -= 1;
        }
        self.ids[0] = id;
    }

    /// The code of `id`; `id` moves to the front.
    pub fn encode(&mut self, id: u32) -> u64 {
        if let Some(pos) = self.ids[..self.len].iter().position(|&x| x == id) {
            self.move_to_front(pos, id);
            return pos as u64;
        }
        self.len = (self.len + 1).min(Self::LEN);
        self.move_to_front(self.len - 1, id);
        Self::LEN as u64 + u64::from(id)
    }

    /// The id of `code`; `None` for a position past the list.
    #[inline]
    pub fn decode(&mut self, code: u64) -> Option<u32> {
        if code < Self::LEN as u64 {
            let pos = usize::try_from(code).ok().filter(|&p| p < self.len)?;
            let id = self.ids[pos];
            self.move_to_front(pos, id);
            return Some(id);
        }
        let id = u32::try_from(code - Self::LEN as u64).ok()?;
        self.len = (self.len + 1).min(Self::LEN);
        self.move_to_front(self.len - 1, id);
        Some(id)
    }
}

/// How one event type's integer arguments are predicted (chosen per chunk
/// from the data, so the format does not depend on the event table).
///
/// An argument that usually equals the return value (the size of a full
/// read) is stored as its difference from it; an argument that usually
/// equals the number of the event's fd is stored as its difference from
/// that; a data snapshot's length is stored as its difference from the
/// return value capped at the longest snapshot of the type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Predictor {
    pub ty: u16,
    /// Argument position predicted by the return value, or `NONE`.
    pub ret_arg: u8,
    /// Argument position predicted by the fd number, or `NONE`.
    pub fd_arg: u8,
    /// Longest data snapshot of the type in the chunk.
    pub data_cap: u32,
}

impl Predictor {
    pub const NONE: u8 = u8::MAX;
}

/// Where one column's bytes are inside a chunk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ColumnEntry {
    pub id: u8,
    pub codec: u8,
    pub raw_len: usize,
    pub stored_len: usize,
}

/// The uncompressed head of a chunk: counts, times and the column directory.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct ChunkHeader {
    pub events: u32,
    /// Return time of the first event; timestamps are deltas from it.
    pub ts_base: u64,
    pub ts_min: u64,
    pub ts_max: u64,
    pub types: Vec<(EventType, u32)>,
    /// Rows of the thread table (bounds the thread column before the table
    /// is decoded).
    pub thread_rows: u32,
    pub predictors: Vec<Predictor>,
    pub columns: Vec<ColumnEntry>,
    /// Bytes of the header itself; column data follows.
    pub len: usize,
}

/// No column is larger than this once decompressed.
pub(crate) const MAX_COLUMN_RAW: usize = 64 << 20;
/// No chunk holds more events (the writer seals chunks far earlier).
pub const MAX_CHUNK_EVENTS: u32 = 1 << 20;
/// No record has more arguments.
pub const MAX_ARGS: usize = 64;
/// No record carries more bytes of strings and data.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

impl ChunkHeader {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, u64::from(self.events));
        put_u64(out, self.ts_base);
        put_u64(out, self.ts_min);
        put_u64(out, self.ts_max);
        put_u64(out, self.types.len() as u64);
        for &(ty, n) in &self.types {
            put_u64(out, u64::from(ty.0));
            put_u64(out, u64::from(n));
        }
        put_u64(out, u64::from(self.thread_rows));
        put_u64(out, self.predictors.len() as u64);
        for p in &self.predictors {
            put_u64(out, u64::from(p.ty));
            out.push(p.ret_arg);
            out.push(p.fd_arg);
            put_u64(out, u64::from(p.data_cap));
        }
        put_u64(out, self.columns.len() as u64);
        for c in &self.columns {
            out.push(c.id);
            out.push(c.codec);
            put_u64(out, c.raw_len as u64);
            put_u64(out, c.stored_len as u64);
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let e = |e: CursorError| e.describe().to_string();
        let mut cur = Cursor::new(bytes);
        let mut h = ChunkHeader {
            events: cur.u32().map_err(e)?,
            ts_base: cur.u64().map_err(e)?,
            ts_min: cur.u64().map_err(e)?,
            ts_max: cur.u64().map_err(e)?,
            ..ChunkHeader::default()
        };
        let ntypes = cur.count().map_err(e)?;
        for _ in 0..ntypes {
            let ty = EventType(cur.u16().map_err(e)?);
            h.types.push((ty, cur.u32().map_err(e)?));
        }
        h.thread_rows = cur.u32().map_err(e)?;
        let npred = cur.count().map_err(e)?;
        for _ in 0..npred {
            h.predictors.push(Predictor {
                ty: cur.u16().map_err(e)?,
                ret_arg: cur.u8().map_err(e)?,
                fd_arg: cur.u8().map_err(e)?,
                data_cap: cur.u32().map_err(e)?,
            });
        }
        let ncols = cur.count().map_err(e)?;
        let mut stored_total = 0usize;
        for _ in 0..ncols {
            let id = cur.u8().map_err(e)?;
            let codec = cur.u8().map_err(e)?;
            let raw_len = usize::try_from(cur.u64().map_err(e)?).unwrap_or(usize::MAX);
            let stored_len = usize::try_from(cur.u64().map_err(e)?).unwrap_or(usize::MAX);
            if raw_len > MAX_COLUMN_RAW {
                return Err(format!(
                    "column {} claims {raw_len} bytes, more than the limit of {MAX_COLUMN_RAW}",
                    col::name(id)
                ));
            }
            stored_total = stored_total.saturating_add(stored_len);
            h.columns.push(ColumnEntry {
                id,
                codec,
                raw_len,
                stored_len,
            });
        }
        h.len = cur.position();
        // A thread row takes at least one byte per field.
        let rows_raw = h
            .columns
            .iter()
            .find(|c| c.id == col::THREADS)
            .map_or(0, |c| c.raw_len);
        // Every thread row has 19 fields of at least a byte; each event adds
        // at most one row and its ancestors.
        let max_rows = (rows_raw / 19).min((h.events as usize + 1) * 65);
        if h.thread_rows as usize > max_rows {
            return Err(format!("{} thread rows in {rows_raw} bytes", h.thread_rows));
        }
        if h.events > MAX_CHUNK_EVENTS {
            return Err(format!(
                "{} events, more than the limit of {MAX_CHUNK_EVENTS}",
                h.events
            ));
        }
        if stored_total != bytes.len() - h.len {
            return Err(format!(
                "columns hold {stored_total} bytes but the chunk has {} after its header",
                bytes.len() - h.len
            ));
        }
        Ok(h)
    }
}

/// Facts about one chunk, for the footer index.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ChunkSummary {
    /// Events.
    pub events: u32,
    /// Earliest entry time.
    pub ts_min: u64,
    /// Latest return time.
    pub ts_max: u64,
    /// Events per type.
    pub types: Vec<(EventType, u32)>,
    /// Events per (pid, comm).
    pub processes: Vec<(i64, Vec<u8>, u32)>,
    /// Events the kernel reported lost (sum of `drop` records).
    pub drops: u64,
}

/// A sealed chunk: its bytes as stored in a file, and its summary. The
/// agent's pre-trigger ring holds these.
#[derive(Clone, Debug, Default)]
pub struct EncodedChunk {
    pub(crate) payload: Vec<u8>,
    /// What it holds.
    pub summary: ChunkSummary,
}

impl EncodedChunk {
    /// Stored size in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// True when it holds no bytes (never for a sealed chunk).
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}
