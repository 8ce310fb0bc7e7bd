//! The footer index: where every chunk is, what time it covers and what it
//! holds, plus capture-wide totals. It lets readers answer `info` without a
//! scan, seek to a time window, and skip chunks a filter cannot match.

use hashbrown::HashMap;

use super::chunk::ChunkSummary;
use super::rows::{Field, FieldKind, FieldKind::Bytes as B, FieldKind::Varint as V, RowWriter};
use super::rows::{RowBudget, TableError, put_table_header};
use crate::event::EventType;
use crate::varint::{Cursor, put_u64};

/// Where one chunk is and what it holds.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ChunkMeta {
    /// Offset of its block in the file.
    pub offset: u64,
    /// Bytes of its block payload.
    pub len: u32,
    /// Events.
    pub events: u32,
    /// Number of its first event (`evt.num`, from 1).
    pub first_num: u64,
    /// Earliest entry time.
    pub ts_min: u64,
    /// Latest return time.
    pub ts_max: u64,
    /// Events per type.
    pub types: Vec<(EventType, u32)>,
    /// Command names present (indices into [`Index::comms`]).
    pub comms: Vec<u32>,
}

impl ChunkMeta {
    /// True when the chunk holds an event of type `ty`.
    pub fn has_type(&self, ty: EventType) -> bool {
        self.types.iter().any(|&(t, _)| t == ty)
    }

    /// True when a thread called `comm` made an event in the chunk.
    pub fn has_comm(&self, comm: u32) -> bool {
        self.comms.contains(&comm)
    }
}

/// Events of one process in the whole capture.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ProcessTotal {
    /// Process id.
    pub pid: i64,
    /// Command name (index into [`Index::comms`]).
    pub comm: u32,
    /// Events.
    pub events: u64,
}

/// The footer index.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Index {
    /// Chunks in file order.
    pub chunks: Vec<ChunkMeta>,
    /// Offsets of snapshot blocks.
    pub snapshots: Vec<u64>,
    /// Command names referred to by index.
    pub comms: Vec<Vec<u8>>,
    /// Events in the capture.
    pub events: u64,
    /// Events the kernel reported lost.
    pub drops: u64,
    /// Earliest entry time.
    pub ts_min: u64,
    /// Latest return time.
    pub ts_max: u64,
    /// Events per type, most frequent first.
    pub types: Vec<(EventType, u64)>,
    /// Events per process, most active first.
    pub processes: Vec<ProcessTotal>,
    /// The time the capture was recording, when its writer said (see
    /// [`Index::span`]).
    pub window: Option<Window>,
}

/// The time a capture covers: from when it started recording (or, for a
/// triggered capture, the start of the history it asked for) to when it
/// stopped, ns since the epoch. Records are stamped when their call
/// entered, so a call that blocked across the start shows an earlier time
/// than the window's start; the window says what the capture covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Window {
    /// Start, ns since the epoch.
    pub start: u64,
    /// End, ns since the epoch.
    pub end: u64,
}

impl Index {
    /// Chunks that may hold events between `from` and `to` (inclusive, ns).
    pub fn chunks_between(&self, from: u64, to: u64) -> impl Iterator<Item = usize> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.ts_max >= from && c.ts_min <= to)
            .map(|(i, _)| i)
    }

    /// Start and end of the capture (ns since the epoch): its recorded
    /// [`Window`], or for a file without one (a `.scap` import, a capture
    /// finished after a crash) its earliest and latest event times.
    pub fn span(&self) -> (u64, u64) {
        match self.window {
            Some(w) => (w.start, w.end),
            None => (self.ts_min, self.ts_max),
        }
    }

    /// The index of command name `comm`.
    pub fn comm_id(&self, comm: &[u8]) -> Option<u32> {
        self.comms
            .iter()
            .position(|c| c == comm)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Name of comm index `id`.
    pub fn comm(&self, id: u32) -> &[u8] {
        self.comms.get(id as usize).map_or(&[][..], Vec::as_slice)
    }
}

/// Accumulates the index while a file is written (or scanned).
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    index: Index,
    comm_ids: HashMap<Vec<u8>, u32>,
    types: HashMap<EventType, u64>,
    processes: HashMap<(i64, u32), u64>,
}

impl IndexBuilder {
    fn comm_id(&mut self, comm: &[u8]) -> u32 {
        if let Some(&id) = self.comm_ids.get(comm) {
            return id;
        }
        let id = u32::try_from(self.index.comms.len()).unwrap_or(u32::MAX);
        self.index.comms.push(comm.to_vec());
        self.comm_ids.insert(comm.to_vec(), id);
        id
    }

    pub(crate) fn add_chunk(&mut self, offset: u64, len: u32, s: &ChunkSummary) {
        let mut comms: Vec<u32> = s
            .processes
            .iter()
            .map(|(_, c, _)| self.comm_id(c))
            .collect();
        comms.sort_unstable();
        comms.dedup();
        for (pid, comm, n) in &s.processes {
            let id = self.comm_id(comm);
            *self.processes.entry((*pid, id)).or_default() += u64::from(*n);
        }
        for &(ty, n) in &s.types {
            *self.types.entry(ty).or_default() += u64::from(n);
        }
        let idx = &mut self.index;
        if idx.chunks.is_empty() {
            idx.ts_min = s.ts_min;
            idx.ts_max = s.ts_max;
        }
        idx.ts_min = idx.ts_min.min(s.ts_min);
        idx.ts_max = idx.ts_max.max(s.ts_max);
        idx.chunks.push(ChunkMeta {
            offset,
            len,
            events: s.events,
            first_num: idx.events + 1,
            ts_min: s.ts_min,
            ts_max: s.ts_max,
            types: s.types.clone(),
            comms,
        });
        idx.events += u64::from(s.events);
        idx.drops = idx.drops.saturating_add(s.drops);
    }

    pub(crate) fn set_window(&mut self, window: Window) {
        self.index.window = Some(window);
    }

    pub(crate) fn add_snapshot(&mut self, offset: u64) {
        self.index.snapshots.push(offset);
    }

    pub(crate) fn events(&self) -> u64 {
        self.index.events
    }

    pub(crate) fn build(&self) -> Index {
        let mut index = self.index.clone();
        index.types = self.types.iter().map(|(&t, &n)| (t, n)).collect();
        index
            .types
            .sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        index.processes = self
            .processes
            .iter()
            .map(|(&(pid, comm), &events)| ProcessTotal { pid, comm, events })
            .collect();
        index
            .processes
            .sort_unstable_by(|a, b| b.events.cmp(&a.events).then(a.pid.cmp(&b.pid)));
        index
    }
}

const CHUNK: &[FieldKind] = &[V, V, V, V, V, B, B];
const PAIR: &[FieldKind] = &[V, V];
const COMM: &[FieldKind] = &[B];
const SNAPSHOT: &[FieldKind] = &[V];
const PROCESS: &[FieldKind] = &[V, V, V];

/// Encodes `index` (without compression).
pub(crate) fn encode(index: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    put_u64(&mut out, index.events);
    put_u64(&mut out, index.drops);
    put_u64(&mut out, index.ts_min);
    put_u64(&mut out, index.ts_max);
    put_table_header(&mut out, index.comms.len(), COMM);
    for c in &index.comms {
        RowWriter(&mut out).b(c);
    }
    put_table_header(&mut out, index.chunks.len(), CHUNK);
    let (mut types, mut comms) = (Vec::new(), Vec::new());
    for c in &index.chunks {
        types.clear();
        for &(t, n) in &c.types {
            put_u64(&mut types, u64::from(t.0));
            put_u64(&mut types, u64::from(n));
        }
        comms.clear();
        for &id in &c.comms {
            put_u64(&mut comms, u64::from(id));
        }
        RowWriter(&mut out)
            .u(c.offset)
            .u(u64::from(c.len))
            .u(u64::from(c.events))
            .u(c.ts_min)
            .u(c.ts_max)
            .b(&types)
            .b(&comms);
    }
    put_table_header(&mut out, index.snapshots.len(), SNAPSHOT);
    for &s in &index.snapshots {
        RowWriter(&mut out).u(s);
    }
    put_table_header(&mut out, index.types.len(), PAIR);
    for &(t, n) in &index.types {
        RowWriter(&mut out).u(u64::from(t.0)).u(n);
    }
    put_table_header(&mut out, index.processes.len(), PROCESS);
    for p in &index.processes {
        RowWriter(&mut out)
            .i(p.pid)
            .u(u64::from(p.comm))
            .u(p.events);
    }
    // Appended fields: readers that do not know them stop before.
    if let Some(w) = index.window {
        put_u64(&mut out, w.start);
        put_u64(&mut out, w.end);
    }
    out
}

/// Decodes an index; its tables hold at most what `budget` allows.
pub(crate) fn decode(bytes: &[u8], mut budget: RowBudget) -> Result<Index, TableError> {
    let mut cur = Cursor::new(bytes);
    let mut index = Index {
        events: cur.u64()?,
        drops: cur.u64()?,
        ts_min: cur.u64()?,
        ts_max: cur.u64()?,
        ..Index::default()
    };
    let mut f = [Field::Missing; 7];
    let t = budget.table(&mut cur, COMM)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        index.comms.push(f[0].bytes().to_vec());
    }
    let t = budget.table(&mut cur, CHUNK)?;
    let mut first_num = 1;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        let mut types = Vec::new();
        let mut tc = Cursor::new(f[5].bytes());
        while !tc.is_empty() {
            types.push((EventType(tc.u16()?), tc.u32()?));
        }
        let mut comms = Vec::new();
        let mut cc = Cursor::new(f[6].bytes());
        while !cc.is_empty() {
            comms.push(cc.u32()?);
        }
        let events = f[2].u32();
        index.chunks.push(ChunkMeta {
            offset: f[0].u(),
            len: f[1].u32(),
            events,
            first_num,
            ts_min: f[3].u(),
            ts_max: f[4].u(),
            types,
            comms,
        });
        first_num += u64::from(events);
    }
    let t = budget.table(&mut cur, SNAPSHOT)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        index.snapshots.push(f[0].u());
    }
    let t = budget.table(&mut cur, PAIR)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        let ty = u16::try_from(f[0].u()).unwrap_or(u16::MAX);
        index.types.push((EventType(ty), f[1].u()));
    }
    let t = budget.table(&mut cur, PROCESS)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        index.processes.push(ProcessTotal {
            pid: f[0].i(),
            comm: f[1].u32(),
            events: f[2].u(),
        });
    }
    if !cur.is_empty() {
        index.window = Some(Window {
            start: cur.u64()?,
            end: cur.u64()?,
        });
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::rows::RowBudget;

    /// The window is an appended field: a footer without it (an older
    /// writer's, an import's) reads as before, and its span is its events'.
    #[test]
    fn the_window_round_trips_and_is_the_span_when_written() {
        let window = Window {
            start: 10_000,
            end: 13_000,
        };
        // (window written, span read back)
        let cases = [(None, (7_000, 12_500)), (Some(window), (10_000, 13_000))];
        for (written, span) in cases {
            let index = Index {
                events: 2,
                ts_min: 7_000,
                ts_max: 12_500,
                window: written,
                ..Index::default()
            };
            let bytes = encode(&index);
            let read = decode(&bytes, RowBudget::for_stored(bytes.len())).unwrap();
            assert_eq!(read, index);
            assert_eq!(read.span(), span, "{written:?}");
        }
        // A cut window is an error, not a guess.
        let mut bytes = encode(&Index {
            window: Some(window),
            ..Index::default()
        });
        bytes.pop();
        assert!(decode(&bytes, RowBudget::for_stored(bytes.len())).is_err());
    }
}
