//! Readers: random access over any [`ByteSource`] (footer first, then only
//! the chunks needed), and streaming over any `Read` (block by block, memory
//! bounded by one chunk). Both recover everything before a cut or corrupt
//! block and say where it is.

use std::io::{self, Read, Seek, SeekFrom, Write};

use hashbrown::HashMap;

use super::block::{
    BLOCK_HEADER_LEN, BlockHeader, BlockKind, FILE_HEADER_LEN, FILE_MAGIC, FORMAT_MAJOR,
    MAX_BLOCK_PAYLOAD, TRAILER_LEN, parse_block_header, parse_file_header, parse_trailer,
};
use super::chunk::{Chunk, ChunkHeader, ChunkSummary, EncodedChunk, MAX_CHUNK_EVENTS, Projection};
use super::header::CaptureHeader;
use super::index::{Index, IndexBuilder};
use super::source::ByteSource;
use super::writer::write_footer;
use super::{index, snapshot, unpack_meta};
use crate::codec::{Codec, Compressor, Decompressor};
use crate::event::EventType;
use crate::state::Snapshot;
use crate::{Error, Result};

/// Why a capture ends early, and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Truncation {
    /// Offset of the first byte not read (the end of the last good block).
    pub offset: u64,
    /// Events recovered before it.
    pub events: u64,
    /// What is there instead of more blocks.
    pub cause: String,
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "truncated at byte {}, {} events recovered ({})",
            self.offset, self.events, self.cause
        )
    }
}

fn check_file_header(bytes: &[u8]) -> Result<()> {
    if bytes.len() < FILE_HEADER_LEN {
        if FILE_MAGIC.starts_with(&bytes[..bytes.len().min(FILE_MAGIC.len())]) {
            return Err(Error::Truncated {
                offset: 0,
                events: 0,
            });
        }
        return Err(Error::NotACapture {
            found: bytes.to_vec(),
            expected: &FILE_MAGIC,
        });
    }
    let h = parse_file_header(bytes[..FILE_HEADER_LEN].try_into().expect("16 bytes"));
    if h.magic != FILE_MAGIC {
        return Err(Error::NotACapture {
            found: h.magic.to_vec(),
            expected: &FILE_MAGIC,
        });
    }
    if h.major != FORMAT_MAJOR {
        return Err(Error::UnsupportedVersion {
            major: h.major,
            minor: h.minor,
            supported: FORMAT_MAJOR,
        });
    }
    Ok(())
}

fn check_block(h: &BlockHeader, offset: u64) -> Result<()> {
    if h.len > MAX_BLOCK_PAYLOAD {
        return Err(Error::TooLarge {
            what: "block",
            offset,
            size: u64::from(h.len),
            limit: u64::from(MAX_BLOCK_PAYLOAD),
        });
    }
    Ok(())
}

fn check_crc(h: &BlockHeader, payload: &[u8], offset: u64) -> Result<()> {
    // Fuzzing skips the check, so that mutated inputs reach the decoders.
    if cfg!(fuzzing) {
        return Ok(());
    }
    let found = crc32fast::hash(payload);
    if found != h.crc {
        return Err(Error::Checksum {
            block: h.kind.name(),
            offset,
            expected: h.crc,
            found,
        });
    }
    Ok(())
}

fn decode_header(payload: &[u8], offset: u64) -> Result<CaptureHeader> {
    CaptureHeader::decode(payload)
        .map_err(|e| Error::corrupt("capture header", offset, e.describe()))
}

/// Reads chunks of a [`CaptureReader`]; one per thread, reused across
/// chunks so that reading allocates nothing in the steady state.
#[derive(Debug, Default)]
pub struct Decoder {
    block: Vec<u8>,
    decompressor: Decompressor,
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes chunk `i` of `reader` into `chunk`.
    pub fn read_chunk<S: ByteSource>(
        &mut self,
        reader: &CaptureReader<S>,
        i: usize,
        projection: Projection,
        chunk: &mut Chunk,
    ) -> Result<()> {
        let meta = reader
            .index
            .chunks
            .get(i)
            .ok_or(Error::Usage("chunk number out of range"))?;
        let payload = fetch_block(
            &mut self.block,
            &reader.source,
            meta.offset,
            BlockKind::Chunk,
            meta.len,
        )?;
        chunk.decode(payload, meta.offset, projection, &mut self.decompressor)?;
        if chunk.len() != meta.events as usize {
            let found = chunk.len();
            chunk.clear();
            return Err(Error::corrupt(
                "chunk",
                meta.offset,
                format!("it holds {found} events, the index says {}", meta.events),
            ));
        }
        chunk.set_first_num(meta.first_num);
        Ok(())
    }

    /// Decodes a chunk sealed in memory (by a [`ChunkEncoder`]) into
    /// `chunk`, numbering its events from 0: the agent evaluates filters
    /// and rules on chunks before they reach a file.
    ///
    /// [`ChunkEncoder`]: super::ChunkEncoder
    pub fn decode_encoded(
        &mut self,
        encoded: &EncodedChunk,
        projection: Projection,
        chunk: &mut Chunk,
    ) -> Result<()> {
        self.decode_encoded_numbered(encoded, projection, chunk, 0)
    }

    /// As [`Decoder::decode_encoded`], numbering the events (`evt.num`)
    /// from `first_num`.
    pub fn decode_encoded_numbered(
        &mut self,
        encoded: &EncodedChunk,
        projection: Projection,
        chunk: &mut Chunk,
        first_num: u64,
    ) -> Result<()> {
        chunk.decode(&encoded.payload, 0, projection, &mut self.decompressor)?;
        chunk.set_first_num(first_num);
        Ok(())
    }
}

/// Reads the block at `offset` and checks its kind, length and CRC;
/// returns its payload, borrowed from the source when it is in memory and
/// read into `buf` otherwise.
fn fetch_block<'a, S: ByteSource + ?Sized>(
    buf: &'a mut Vec<u8>,
    source: &'a S,
    offset: u64,
    kind: BlockKind,
    len: u32,
) -> Result<&'a [u8]> {
    let total = BLOCK_HEADER_LEN + len as usize;
    let block: &[u8] = if let Some(all) = source.as_slice() {
        usize::try_from(offset)
            .ok()
            .and_then(|start| all.get(start..start.checked_add(total)?))
            .ok_or_else(|| Error::io(offset, io::ErrorKind::UnexpectedEof.into()))?
    } else {
        buf.resize(total, 0);
        source
            .read_exact_at(offset, buf)
            .map_err(|e| Error::io(offset, e))?;
        buf
    };
    let h = parse_block_header(block[..BLOCK_HEADER_LEN].try_into().expect("12 bytes"));
    if h.kind != kind || h.len != len {
        return Err(Error::corrupt(
            "index",
            offset,
            format!(
                "expected a {} block of {len} bytes, found a {} block of {} bytes",
                kind.name(),
                h.kind.name(),
                h.len
            ),
        ));
    }
    let payload = &block[BLOCK_HEADER_LEN..];
    check_crc(&h, payload, offset)?;
    Ok(payload)
}

/// Random access to a capture: header and index at open, chunks on demand.
#[derive(Debug)]
pub struct CaptureReader<S> {
    source: S,
    header: CaptureHeader,
    index: Index,
    truncation: Option<Truncation>,
}

impl<S: ByteSource> CaptureReader<S> {
    /// Opens a capture: reads its header, then its footer index, or, when
    /// the file was not finished, builds the index by scanning its blocks.
    pub fn open(source: S) -> Result<Self> {
        let size = source.size().map_err(|e| Error::io(0, e))?;
        let mut head = vec![0u8; usize::try_from(size.min(FILE_HEADER_LEN as u64)).unwrap_or(0)];
        source
            .read_exact_at(0, &mut head)
            .map_err(|e| Error::io(0, e))?;
        check_file_header(&head)?;

        let mut dec = Decoder::new();
        let header_at = FILE_HEADER_LEN as u64;
        let Some(h) = read_block_header(&source, header_at, size)? else {
            return Err(Error::Truncated {
                offset: header_at,
                events: 0,
            });
        };
        if h.kind != BlockKind::Header {
            return Err(Error::corrupt(
                "capture header",
                header_at,
                format!("the first block is a {} block", h.kind.name()),
            ));
        }
        check_block(&h, header_at)?;
        let data_start = header_at + BLOCK_HEADER_LEN as u64 + u64::from(h.len);
        if data_start > size {
            return Err(Error::Truncated {
                offset: header_at,
                events: 0,
            });
        }
        let payload = fetch_block(&mut dec.block, &source, header_at, BlockKind::Header, h.len)?;
        let header = decode_header(payload, header_at)?;

        let (index, truncation) =
            if let Some(index) = read_footer(&source, size, data_start, &mut dec)? {
                (index, None)
            } else {
                let (index, truncation) = scan(&source, size, data_start, &mut dec)?;
                (index, Some(truncation))
            };
        Ok(Self {
            source,
            header,
            index,
            truncation,
        })
    }

    /// The capture header.
    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// The index (from the footer, or rebuilt by a scan).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Set when the capture was not finished or is damaged; the index then
    /// covers what comes before.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }

    /// The byte source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Reads snapshot number `i` (in file order).
    pub fn snapshot(&self, i: usize) -> Result<Option<Snapshot>> {
        let Some(&offset) = self.index.snapshots.get(i) else {
            return Ok(None);
        };
        let size = self.source.size().map_err(|e| Error::io(offset, e))?;
        let Some(h) = read_block_header(&self.source, offset, size)? else {
            return Err(Error::corrupt(
                "index",
                offset,
                "snapshot offset past the end",
            ));
        };
        check_block(&h, offset)?;
        if offset + BLOCK_HEADER_LEN as u64 + u64::from(h.len) > size {
            return Err(Error::Truncated {
                offset,
                events: self.index.events,
            });
        }
        let mut dec = Decoder::new();
        let payload = fetch_block(
            &mut dec.block,
            &self.source,
            offset,
            BlockKind::Snapshot,
            h.len,
        )?;
        let (raw, budget) = unpack_meta(payload, &mut dec.decompressor, "snapshot", offset)?;
        snapshot::decode(&raw, budget)
            .map(Some)
            .map_err(|e| Error::corrupt("snapshot", offset, e.to_string()))
    }

    /// Decodes chunk `i` with a throw-away decoder (see [`Decoder`] to
    /// reuse one).
    pub fn read_chunk(&self, i: usize, projection: Projection) -> Result<Chunk> {
        let mut chunk = Chunk::default();
        Decoder::new().read_chunk(self, i, projection, &mut chunk)?;
        Ok(chunk)
    }
}

/// Reads a block header at `offset`; `None` when fewer than 12 bytes are left.
fn read_block_header<S: ByteSource + ?Sized>(
    source: &S,
    offset: u64,
    size: u64,
) -> Result<Option<BlockHeader>> {
    if offset
        .checked_add(BLOCK_HEADER_LEN as u64)
        .is_none_or(|end| end > size)
    {
        return Ok(None);
    }
    let mut buf = [0u8; BLOCK_HEADER_LEN];
    source
        .read_exact_at(offset, &mut buf)
        .map_err(|e| Error::io(offset, e))?;
    Ok(Some(parse_block_header(&buf)))
}

/// The index from the footer, or `None` when the file has no valid trailer
/// (it was not finished, or its end is damaged: the caller scans).
fn read_footer<S: ByteSource + ?Sized>(
    source: &S,
    size: u64,
    data_start: u64,
    dec: &mut Decoder,
) -> Result<Option<Index>> {
    if size < data_start + TRAILER_LEN as u64 {
        return Ok(None);
    }
    let mut buf = [0u8; TRAILER_LEN];
    let at = size - TRAILER_LEN as u64;
    source
        .read_exact_at(at, &mut buf)
        .map_err(|e| Error::io(at, e))?;
    let Some(t) = parse_trailer(&buf) else {
        return Ok(None);
    };
    let block_end = t.footer_offset.saturating_add(u64::from(t.footer_len));
    if t.footer_offset < data_start
        || block_end != at
        || (t.footer_len as usize) < BLOCK_HEADER_LEN
        || t.footer_len > MAX_BLOCK_PAYLOAD
    {
        return Ok(None);
    }
    let len = t.footer_len - 12; // BLOCK_HEADER_LEN, checked above
    // A footer that fails its CRC is a damaged end, as a cut file is: the
    // caller scans. One that passes it but contradicts the file is corrupt.
    let Ok(payload) = fetch_block(
        &mut dec.block,
        source,
        t.footer_offset,
        BlockKind::Footer,
        len,
    ) else {
        return Ok(None);
    };
    let (raw, budget) = unpack_meta(payload, &mut dec.decompressor, "footer", t.footer_offset)?;
    let index = index::decode(&raw, budget)
        .map_err(|e| Error::corrupt("footer", t.footer_offset, e.to_string()))?;
    check_index(&index, source, data_start, t.footer_offset)?;
    Ok(Some(index))
}

/// A block the index lists: where it starts, and where it ends when the
/// index says (chunks; a snapshot's end is in its own block header).
#[derive(Clone, Copy)]
struct Listed {
    offset: u64,
    end: Option<u64>,
}

/// Checks that `index`, from the footer at `data_end`, describes the data
/// region `data_start..data_end` of `source`, as FORMAT.md §3.5 requires:
/// chunks in file order, not overlapping, inside the region, with
/// consistent event counts; snapshots likewise; and every chunk and
/// snapshot block of the region listed. A footer that says otherwise is
/// corrupt (an error naming its offset): a reader that trusted it would
/// read a chunk many times, or miss chunks it does not list. Reads one
/// block header per snapshot and per gap between listed blocks (a file
/// syscap writes has none), so that `info` on a remote capture stays
/// cheap.
fn check_index<S: ByteSource + ?Sized>(
    index: &Index,
    source: &S,
    data_start: u64,
    data_end: u64,
) -> Result<()> {
    let corrupt = |detail: String| Error::corrupt("footer", data_end, detail);
    let mut listed = Vec::with_capacity(index.chunks.len() + index.snapshots.len());
    let mut events = 0u64;
    for (i, c) in index.chunks.iter().enumerate() {
        let at = || format!("chunk {i} (at byte {})", c.offset);
        if c.events == 0 || c.events > MAX_CHUNK_EVENTS {
            return Err(corrupt(format!(
                "{} holds {} events (1 to {MAX_CHUNK_EVENTS})",
                at(),
                c.events
            )));
        }
        let typed: u64 = c.types.iter().map(|&(_, n)| u64::from(n)).sum();
        if typed != u64::from(c.events) {
            return Err(corrupt(format!(
                "{} holds {} events, its event types count {typed}",
                at(),
                c.events
            )));
        }
        if i > 0 && c.offset <= index.chunks[i - 1].offset {
            return Err(corrupt(format!(
                "{} does not come after chunk {} (at byte {})",
                at(),
                i - 1,
                index.chunks[i - 1].offset
            )));
        }
        events += u64::from(c.events);
        let end = c
            .offset
            .checked_add(BLOCK_HEADER_LEN as u64 + u64::from(c.len))
            .filter(|_| c.len > 0 && c.len <= MAX_BLOCK_PAYLOAD)
            .ok_or_else(|| corrupt(format!("{} is {} bytes long", at(), c.len)))?;
        listed.push(Listed {
            offset: c.offset,
            end: Some(end),
        });
    }
    if events != index.events {
        return Err(corrupt(format!(
            "its chunks hold {events} events, it says {}",
            index.events
        )));
    }
    if let Some(&[before, after]) = index.snapshots.windows(2).find(|w| w[1] <= w[0]) {
        return Err(corrupt(format!(
            "the snapshot at byte {after} does not come after the one at byte {before}"
        )));
    }
    listed.extend(
        index
            .snapshots
            .iter()
            .map(|&offset| Listed { offset, end: None }),
    );
    // Chunks and snapshots are each in file order (checked above): a
    // stable sort merges them.
    listed.sort_by_key(|b| b.offset);
    let mut pos = data_start;
    for (n, b) in listed.iter().enumerate() {
        pos = check_gap(source, pos, b.offset, data_end)?;
        if b.offset < pos {
            let what = if n == 0 {
                "the capture header"
            } else {
                "the block before it"
            };
            return Err(corrupt(format!(
                "it lists a block at byte {}, inside {what} (which ends at byte {pos})",
                b.offset
            )));
        }
        pos = if let Some(end) = b.end {
            end
        } else {
            let h = read_block_header(source, b.offset, data_end)?
                .filter(|h| h.kind == BlockKind::Snapshot && h.len <= MAX_BLOCK_PAYLOAD)
                .ok_or_else(|| {
                    corrupt(format!(
                        "it lists a snapshot at byte {}, where there is none",
                        b.offset
                    ))
                })?;
            b.offset + BLOCK_HEADER_LEN as u64 + u64::from(h.len)
        };
        if pos > data_end {
            return Err(corrupt(format!(
                "it lists a block at byte {} that runs past the footer (to byte {pos})",
                b.offset
            )));
        }
    }
    check_gap(source, pos, data_end, data_end)?;
    Ok(())
}

/// Walks the unlisted bytes `pos..next` of the data region: only blocks of
/// kinds this reader does not know (a newer writer's) may be there. Returns
/// where the walk ended (`next`, or past it when a block overlaps `next`;
/// the caller says so).
fn check_gap<S: ByteSource + ?Sized>(
    source: &S,
    mut pos: u64,
    next: u64,
    data_end: u64,
) -> Result<u64> {
    while pos < next {
        let h = read_block_header(source, pos, next)?.ok_or_else(|| {
            Error::corrupt(
                "footer",
                data_end,
                format!("bytes {pos} to {next} are in no block the index lists"),
            )
        })?;
        if let BlockKind::Unknown(_) = h.kind {
            pos += BLOCK_HEADER_LEN as u64 + u64::from(h.len);
        } else {
            return Err(Error::corrupt(
                "footer",
                data_end,
                format!(
                    "the {} block at byte {pos} is not in the index",
                    h.kind.name()
                ),
            ));
        }
    }
    Ok(pos)
}

/// Summarises a chunk payload as the writer would have, for a rebuilt index.
fn summarise(
    payload: &[u8],
    offset: u64,
    chunk: &mut Chunk,
    dec: &mut Decompressor,
) -> Result<ChunkSummary> {
    let header = ChunkHeader::decode(payload)
        .map_err(|detail| Error::corrupt("chunk header", offset, detail))?;
    let mut projection = Projection::THREAD;
    let has_drops = header.types.iter().any(|&(t, _)| t == EventType::DROP);
    if has_drops {
        projection |= Projection::ARGS;
    }
    chunk.decode(payload, offset, projection, dec)?;
    let mut processes: HashMap<(i64, &[u8]), u32> = HashMap::new();
    let mut drops = 0u64;
    for e in chunk.events() {
        if let Some(t) = e.thread() {
            *processes.entry((t.pid(), t.comm())).or_default() += 1;
        }
        if has_drops && e.ty() == EventType::DROP {
            drops += e
                .arg(0)
                .as_int()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
        }
    }
    let mut processes: Vec<(i64, Vec<u8>, u32)> = processes
        .into_iter()
        .map(|((pid, comm), n)| (pid, comm.to_vec(), n))
        .collect();
    processes.sort_unstable();
    Ok(ChunkSummary {
        events: header.events,
        ts_min: header.ts_min,
        ts_max: header.ts_max,
        types: header.types,
        processes,
        drops,
    })
}

/// Builds the index of an unfinished or damaged capture by reading its
/// blocks in order, up to the first incomplete or corrupt one.
fn scan<S: ByteSource + ?Sized>(
    source: &S,
    size: u64,
    mut pos: u64,
    dec: &mut Decoder,
) -> Result<(Index, Truncation)> {
    let mut builder = IndexBuilder::default();
    let mut chunk = Chunk::default();
    let cause = loop {
        if pos == size {
            break "the capture was not finished (no footer)".to_string();
        }
        let Some(h) = read_block_header(source, pos, size)? else {
            break "the file ends inside a block header".to_string();
        };
        if let Err(e) = check_block(&h, pos) {
            break e.to_string();
        }
        let end = pos + BLOCK_HEADER_LEN as u64 + u64::from(h.len);
        if end > size {
            break format!(
                "the file ends inside a {} block of {} bytes",
                h.kind.name(),
                h.len
            );
        }
        let payload = match fetch_block(&mut dec.block, source, pos, h.kind, h.len) {
            Ok(p) => p,
            Err(e) => break e.to_string(),
        };
        match h.kind {
            BlockKind::Chunk => match summarise(payload, pos, &mut chunk, &mut dec.decompressor) {
                Ok(s) => builder.add_chunk(pos, h.len, &s),
                Err(e) => break e.to_string(),
            },
            BlockKind::Snapshot => builder.add_snapshot(pos),
            BlockKind::Footer => {
                break "the footer is not followed by a valid trailer".to_string();
            }
            BlockKind::Header | BlockKind::Unknown(_) => {}
        }
        pos = end;
    };
    let truncation = Truncation {
        offset: pos,
        events: builder.events(),
        cause,
    };
    Ok((builder.build(), truncation))
}

/// Finishes a capture that was cut short (agent killed, disk full): cuts
/// it after its last complete block and appends a footer index, so that it
/// reads like any other. Returns the truncation that was repaired, `None`
/// when the file was already finished.
pub fn finish_truncated(file: &mut std::fs::File) -> Result<Option<Truncation>> {
    let reader = CaptureReader::open(&*file)?;
    let Some(truncation) = reader.truncation().cloned() else {
        return Ok(None);
    };
    let index = reader.index().clone();
    file.set_len(truncation.offset)
        .map_err(|e| Error::io(truncation.offset, e))?;
    file.seek(SeekFrom::Start(truncation.offset))
        .map_err(|e| Error::io(truncation.offset, e))?;
    let mut compressor =
        Compressor::new(Codec::Zstd, 3).map_err(|e| Error::io(truncation.offset, e))?;
    let mut out = io::BufWriter::new(&mut *file);
    write_footer(&mut out, truncation.offset, &index, &mut compressor)?;
    out.flush().map_err(|e| Error::io(truncation.offset, e))?;
    drop(out);
    file.sync_all()
        .map_err(|e| Error::io(truncation.offset, e))?;
    Ok(Some(truncation))
}

/// What a [`StreamReader`] read next.
#[derive(Debug)]
pub enum StreamItem {
    /// A state snapshot.
    Snapshot(Snapshot),
    /// A chunk, decoded into the caller's [`Chunk`].
    Chunk,
}

/// Reads a capture front to back from any `Read`, one block at a time.
#[derive(Debug)]
pub struct StreamReader<R> {
    input: R,
    pos: u64,
    header: CaptureHeader,
    events: u64,
    payload: Vec<u8>,
    decompressor: Decompressor,
    finished: bool,
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> StreamReader<R> {
    /// Reads the file header and the capture header.
    pub fn new(mut input: R) -> Result<Self> {
        let mut head = [0u8; FILE_HEADER_LEN];
        let n = read_full(&mut input, &mut head).map_err(|e| Error::io(0, e))?;
        check_file_header(&head[..n])?;
        let mut r = Self {
            input,
            pos: FILE_HEADER_LEN as u64,
            header: CaptureHeader::default(),
            events: 0,
            payload: Vec::new(),
            decompressor: Decompressor::default(),
            finished: false,
        };
        match r.next_block()? {
            Some(BlockKind::Header) => {
                r.header = decode_header(&r.payload, FILE_HEADER_LEN as u64)?;
            }
            Some(other) => {
                return Err(Error::corrupt(
                    "capture header",
                    FILE_HEADER_LEN as u64,
                    format!("the first block is a {} block", other.name()),
                ));
            }
            None => {
                return Err(Error::Truncated {
                    offset: FILE_HEADER_LEN as u64,
                    events: 0,
                });
            }
        }
        Ok(r)
    }

    /// The capture header.
    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// Events read so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Reads the next block into `self.payload`; `None` at a clean end of
    /// input (a block boundary).
    fn next_block(&mut self) -> Result<Option<BlockKind>> {
        let offset = self.pos;
        let truncated = Error::Truncated {
            offset,
            events: self.events,
        };
        let mut hbuf = [0u8; BLOCK_HEADER_LEN];
        let n = read_full(&mut self.input, &mut hbuf).map_err(|e| Error::io(offset, e))?;
        if n == 0 {
            return Ok(None);
        }
        if n < BLOCK_HEADER_LEN {
            return Err(truncated);
        }
        let h = parse_block_header(&hbuf);
        check_block(&h, offset)?;
        // Grow with the data actually read, not with the claimed length.
        self.payload.clear();
        let n = (&mut self.input)
            .take(u64::from(h.len))
            .read_to_end(&mut self.payload)
            .map_err(|e| Error::io(offset, e))?;
        if n < h.len as usize {
            return Err(truncated);
        }
        check_crc(&h, &self.payload, offset)?;
        self.pos += (BLOCK_HEADER_LEN + self.payload.len()) as u64;
        Ok(Some(h.kind))
    }

    /// Reads the next snapshot or chunk (decoding chunks into `chunk` with
    /// `projection`); `Ok(None)` at the end of a finished capture, and
    /// [`Error::Truncated`] at the end of an unfinished one.
    pub fn next_item(
        &mut self,
        chunk: &mut Chunk,
        projection: Projection,
    ) -> Result<Option<StreamItem>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            let offset = self.pos;
            let Some(kind) = self.next_block()? else {
                return Err(Error::Truncated {
                    offset,
                    events: self.events,
                });
            };
            match kind {
                BlockKind::Chunk => {
                    chunk.decode(&self.payload, offset, projection, &mut self.decompressor)?;
                    chunk.set_first_num(self.events + 1);
                    self.events += chunk.len() as u64;
                    return Ok(Some(StreamItem::Chunk));
                }
                BlockKind::Snapshot => {
                    let (raw, budget) =
                        unpack_meta(&self.payload, &mut self.decompressor, "snapshot", offset)?;
                    let snap = snapshot::decode(&raw, budget)
                        .map_err(|e| Error::corrupt("snapshot", offset, e.to_string()))?;
                    return Ok(Some(StreamItem::Snapshot(snap)));
                }
                BlockKind::Footer => {
                    // A finished capture ends with its trailer.
                    let mut trailer = [0u8; TRAILER_LEN];
                    let n = read_full(&mut self.input, &mut trailer)
                        .map_err(|e| Error::io(self.pos, e))?;
                    if n < TRAILER_LEN {
                        return Err(Error::Truncated {
                            offset,
                            events: self.events,
                        });
                    }
                    self.finished = true;
                }
                BlockKind::Header | BlockKind::Unknown(_) => {}
            }
        }
    }
}
