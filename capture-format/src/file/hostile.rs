//! Hostile capture files, built on purpose, and a meter of the memory a
//! thread allocates: for the tests, fuzz seeds and measurements of what
//! readers do with files written to hurt them. Each shape here once cost a
//! reader gigabytes or minutes for a file of kilobytes (issue 20).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use super::block::{
    BLOCK_HEADER_LEN, BlockKind, FILE_HEADER_LEN, TRAILER_LEN, Trailer, encode_block_header,
    encode_trailer, parse_block_header, parse_trailer,
};
use super::rows::{FieldKind, put_table_header};
use super::{CaptureHeader, CaptureReader, ChunkMeta, Index, Writer, WriterOptions};
use super::{index, pack_meta, snapshot};
use crate::codec::{Codec, Compressor};
use crate::event::{EventType, Record};
use crate::state::{ProcessInfo, Snapshot, ThreadInfo, Tracker};
use crate::varint::put_u64;

/// A small, valid capture: a snapshot of one process, then `events`
/// `getpid` calls in chunks of `per_chunk`. The hostile shapes below are
/// built from it.
pub fn small_capture(events: usize, per_chunk: u32) -> Vec<u8> {
    let snap = Snapshot {
        ts: 1_000,
        processes: vec![ProcessInfo {
            pid: 100,
            ppid: 1,
            exe: b"victim".to_vec(),
            ..ProcessInfo::default()
        }],
        threads: vec![ThreadInfo {
            tid: 100,
            pid: 100,
            comm: b"victim".to_vec(),
            ..ThreadInfo::default()
        }],
        ..Snapshot::default()
    };
    let header = CaptureHeader {
        hostname: "hostile".into(),
        ..CaptureHeader::default()
    };
    let options = WriterOptions {
        chunk_events: per_chunk,
        ..WriterOptions::default()
    };
    let mut w = Writer::new(Vec::new(), &header, options).expect("in memory");
    w.write_snapshot(&snap).expect("in memory");
    let mut tracker = Tracker::from_snapshot(&snap);
    for i in 0..events as u64 {
        let rec = Record {
            ty: EventType(39), // getpid
            ts: 2_000 + i * 1_000,
            latency: 100,
            tid: 100,
            pid: 100,
            ret: 100,
            ..Record::default()
        };
        let ctx = tracker.apply(&rec);
        w.write(&rec, &ctx).expect("in memory");
    }
    w.finish().expect("in memory").0
}

/// Where the footer block of a finished capture starts.
fn footer_offset(bytes: &[u8]) -> usize {
    let end = bytes.len() - TRAILER_LEN;
    let trailer = parse_trailer(bytes[end..].try_into().expect("24 bytes")).expect("finished");
    usize::try_from(trailer.footer_offset).expect("in memory")
}

/// Appends a block of `kind` holding `payload`; returns its offset.
fn put_block(out: &mut Vec<u8>, kind: BlockKind, payload: &[u8]) -> u64 {
    let offset = out.len() as u64;
    out.extend_from_slice(&encode_block_header(kind, payload));
    out.extend_from_slice(payload);
    offset
}

/// `bytes` with its footer block replaced by one holding `payload` (a
/// footer's codec, raw length and stored bytes), and a trailer to it.
pub fn with_footer_payload(bytes: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = bytes[..footer_offset(bytes)].to_vec();
    let footer_offset = put_block(&mut out, BlockKind::Footer, payload);
    let footer_len = u32::try_from(BLOCK_HEADER_LEN + payload.len()).expect("small");
    out.extend_from_slice(&encode_trailer(Trailer {
        footer_offset,
        footer_len,
    }));
    out
}

/// Compresses `raw` as a metadata payload, with zstd at its strongest
/// level (bombs shrink best there).
fn pack(raw: &[u8]) -> Vec<u8> {
    let mut zstd = Compressor::new(Codec::Zstd, 19).expect("zstd");
    pack_meta(&mut zstd, raw).expect("in memory")
}

/// The index of a finished capture.
pub fn index_of(bytes: &[u8]) -> Index {
    CaptureReader::open(bytes)
        .expect("a valid capture")
        .index()
        .clone()
}

/// `bytes` with its footer index replaced by `index` (as the writer would
/// store it: nothing in the file checks what it says).
pub fn with_index(bytes: &[u8], index: &Index) -> Vec<u8> {
    with_footer_payload(bytes, &pack(&index::encode(index)))
}

/// A capture whose footer lists its only chunk, of `events` events,
/// `copies` times: readers that trust it read (and print) that chunk over
/// and over. The footer is compressed with zstd, or stored as it is when
/// `!compressed` (then only the index checks refuse it).
pub fn footer_repeating_a_chunk(copies: usize, events: u32, compressed: bool) -> Vec<u8> {
    let bytes = small_capture(events as usize, events);
    let mut index = index_of(&bytes);
    let chunk = index.chunks[0].clone();
    index.chunks = (0..copies as u64)
        .map(|i| ChunkMeta {
            first_num: 1 + i * u64::from(chunk.events),
            ..chunk.clone()
        })
        .collect();
    index.events = copies as u64 * u64::from(chunk.events);
    if compressed {
        with_index(&bytes, &index)
    } else {
        let mut none = Compressor::new(Codec::None, 0).expect("no codec");
        let payload = pack_meta(&mut none, &index::encode(&index)).expect("in memory");
        with_footer_payload(&bytes, &payload)
    }
}

/// A capture whose footer is `raw_len` zero bytes once decompressed: it
/// reads as an index of no chunks (0 events), and hides the real chunk.
pub fn zero_footer(raw_len: usize) -> Vec<u8> {
    with_footer_payload(&small_capture(3, 3), &pack(&vec![0; raw_len]))
}

/// A table of the snapshot block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SnapshotTable {
    /// Users.
    Users,
    /// Groups.
    Groups,
    /// Processes.
    Processes,
    /// Threads.
    Threads,
    /// Open fds.
    Fds,
    /// Containers.
    Containers,
}

impl SnapshotTable {
    /// Every table, in the order the block stores them.
    pub const ALL: [Self; 6] = [
        Self::Users,
        Self::Groups,
        Self::Processes,
        Self::Threads,
        Self::Fds,
        Self::Containers,
    ];

    /// Its fields (as FORMAT.md §3.4 lists them).
    fn fields(self) -> &'static [FieldKind] {
        snapshot::fields(self as usize)
    }

    /// A short name, for file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Groups => "groups",
            Self::Processes => "processes",
            Self::Threads => "threads",
            Self::Fds => "fds",
            Self::Containers => "containers",
        }
    }
}

/// A capture whose snapshot holds `rows` rows of `table`, each field 0 or
/// empty (the other tables empty), compressed to almost nothing, and then
/// `filler` bytes that do not compress (where a newer writer's tables
/// would be); its chunk and index are valid.
pub fn snapshot_rows(table: SnapshotTable, rows: usize, filler: usize) -> Vec<u8> {
    let mut raw = Vec::new();
    put_u64(&mut raw, 1_000);
    for t in SnapshotTable::ALL {
        let fields = t.fields();
        if t == table {
            put_table_header(&mut raw, rows, fields);
            raw.resize(raw.len() + rows * fields.len(), 0);
        } else {
            put_table_header(&mut raw, 0, fields);
        }
    }
    // xorshift: bytes no codec shrinks.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    raw.extend((0..filler).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x.to_le_bytes()[0]
    }));
    with_snapshot_payload(&small_capture(3, 3), &pack(&raw))
}

/// `bytes` with its first snapshot block's payload replaced by `payload`;
/// the blocks after it move, and the index says where they are now.
pub fn with_snapshot_payload(bytes: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut index = index_of(bytes);
    let snap = usize::try_from(index.snapshots[0]).expect("in memory");
    let header = parse_block_header(
        bytes[snap..snap + BLOCK_HEADER_LEN]
            .try_into()
            .expect("12 bytes"),
    );
    let old_end = snap + BLOCK_HEADER_LEN + header.len as usize;
    let mut out = bytes[..snap].to_vec();
    put_block(&mut out, BlockKind::Snapshot, payload);
    let shift = |offset: &mut u64| {
        if *offset >= old_end as u64 {
            *offset = *offset + out.len() as u64 - old_end as u64;
        }
    };
    for c in &mut index.chunks {
        shift(&mut c.offset);
    }
    for s in &mut index.snapshots {
        shift(s);
    }
    out.extend_from_slice(&bytes[old_end..footer_offset(bytes)]);
    with_index(&placeholder_footer(out), &index)
}

/// `bytes` with a block of `kind` holding `payload` inserted before its
/// footer (the index unchanged).
pub fn with_block_before_footer(bytes: &[u8], kind: BlockKind, payload: &[u8]) -> Vec<u8> {
    let index = index_of(bytes);
    let mut out = bytes[..footer_offset(bytes)].to_vec();
    put_block(&mut out, kind, payload);
    with_index(&placeholder_footer(out), &index)
}

/// `bytes`, a capture cut before its footer, with an empty footer block
/// and a trailer to it, for [`with_footer_payload`] to replace.
fn placeholder_footer(mut bytes: Vec<u8>) -> Vec<u8> {
    let footer_offset = put_block(&mut bytes, BlockKind::Footer, &[]);
    bytes.extend_from_slice(&encode_trailer(Trailer {
        footer_offset,
        footer_len: u32::try_from(BLOCK_HEADER_LEN).expect("small"),
    }));
    bytes
}

/// The first byte after the file header and the capture header block.
pub fn data_start(bytes: &[u8]) -> u64 {
    let h = parse_block_header(
        bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + BLOCK_HEADER_LEN]
            .try_into()
            .expect("12 bytes"),
    );
    (FILE_HEADER_LEN + BLOCK_HEADER_LEN) as u64 + u64::from(h.len)
}

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// A global allocator that counts the bytes each thread holds, so that a
/// test can bound the memory a reader takes for a file ([`peak_alloc`]).
/// A test binary installs it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug)]
pub struct CountingAlloc;

fn count(add: usize, sub: usize) {
    // `try_with`: the thread's counters may be gone while it exits.
    let _ = ALLOCATED.try_with(|a| {
        let now = (a.get() + add).saturating_sub(sub);
        a.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only
// thread-local counters are updated besides.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // While the block moves, both sizes are held.
        count(new_size, 0);
        count(0, layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `work` and returns what it returned and the most bytes this thread
/// held at once meanwhile, above what it held before (needs
/// [`CountingAlloc`] as the global allocator; 0 without it).
pub fn peak_alloc<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = work();
    let peak = PEAK.with(Cell::get);
    (out, peak - before)
}
