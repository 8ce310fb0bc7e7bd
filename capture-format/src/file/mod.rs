//! The capture file format (specified in `FORMAT.md`): a file header, a
//! capture header block, snapshot and chunk blocks, a footer index and a
//! trailer that points at it.

mod block;
pub mod chunk;
mod header;
#[cfg(feature = "synth")]
#[doc(hidden)]
pub mod hostile;
mod index;
mod reader;
mod rows;
mod snapshot;
mod sockaddr;
mod source;
mod writer;

pub use block::{BlockKind, FILE_MAGIC, FORMAT_MAJOR, FORMAT_MINOR, is_capture};
pub use chunk::{
    Chunk, ChunkSummary, ContainerText, EncodedChunk, Event, FdView, Projection, ThreadView,
};
pub use header::{CaptureHeader, TriggerInfo};
pub use index::{ChunkMeta, Index, ProcessTotal, Window};
pub use reader::{CaptureReader, Decoder, StreamItem, StreamReader, Truncation, finish_truncated};
pub use sockaddr::FdEnds;
pub use source::{ByteSource, SeekSource};
pub use writer::{ChunkEncoder, Writer, WriterOptions};

use crate::codec::{Compressor, Decompressor};
use crate::varint::{Cursor, put_u64};
use crate::{Error, Result};
use rows::RowBudget;

/// Largest snapshot or footer once decompressed.
const MAX_META_RAW: usize = 1 << 30;
/// A snapshot or footer decompresses to at most this many times the bytes
/// it stores (plus [`MAX_META_SLACK`]): real ones shrink 1.2 to 20 times,
/// a zstd bomb a thousand times and more (FORMAT.md §3.3).
const MAX_META_RATIO: usize = 1024;
/// What any snapshot or footer may decompress to, however small.
const MAX_META_SLACK: usize = 1 << 20;

/// Compresses a metadata structure into a block payload:
/// codec, raw length, stored bytes.
fn pack_meta(compressor: &mut Compressor, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stored = Vec::with_capacity(raw.len() / 2 + 16);
    let codec = compressor.compress(raw, &mut stored)?;
    let mut payload = Vec::with_capacity(stored.len() + 11);
    payload.push(codec as u8);
    put_u64(&mut payload, raw.len() as u64);
    payload.extend_from_slice(&stored);
    Ok(payload)
}

/// Inverse of [`pack_meta`]; also returns how many rows the tables in it
/// may hold (by the bytes it stores).
fn unpack_meta(
    payload: &[u8],
    decompressor: &mut Decompressor,
    what: &'static str,
    offset: u64,
) -> Result<(Vec<u8>, RowBudget)> {
    let mut cur = Cursor::new(payload);
    let bad = |detail: &str| Error::corrupt(what, offset, detail);
    let codec = cur.u8().map_err(|e| bad(e.describe()))?;
    let raw_len = cur.u64().map_err(|e| bad(e.describe()))?;
    let stored = &payload[cur.position()..];
    // Refused before anything is allocated.
    let limit = stored
        .len()
        .saturating_mul(MAX_META_RATIO)
        .saturating_add(MAX_META_SLACK)
        .min(MAX_META_RAW);
    let raw_len = usize::try_from(raw_len)
        .ok()
        .filter(|&n| n <= limit)
        .ok_or(Error::TooLarge {
            what,
            offset,
            size: raw_len,
            limit: limit as u64,
        })?;
    let mut raw = Vec::new();
    decompressor
        .decompress(codec, stored, raw_len, &mut raw)
        .map_err(|e| bad(&e.to_string()))?;
    Ok((raw, RowBudget::for_stored(payload.len())))
}

/// Prints raw and stored bytes per column over all chunks (a development aid).
#[doc(hidden)]
pub fn debug_column_stats(bytes: &[u8]) {
    let reader = CaptureReader::open(bytes).expect("valid capture");
    let mut raw = [0usize; chunk::COLUMN_COUNT];
    let mut stored = [0usize; chunk::COLUMN_COUNT];
    let mut header = 0;
    let mut block = vec![0u8; 0];
    for c in &reader.index().chunks {
        block.resize(c.len as usize, 0);
        reader
            .source()
            .read_exact_at(c.offset + 12, &mut block)
            .expect("in range");
        let h = chunk::ChunkHeader::decode(&block).expect("valid");
        header += h.len;
        for col in &h.columns {
            raw[col.id as usize] += col.raw_len;
            stored[col.id as usize] += col.stored_len;
        }
    }
    let n = reader.index().events.max(1) as f64;
    println!("chunk headers: {:.3} B/ev", header as f64 / n);
    for (id, (raw, stored)) in (0u8..).zip(raw.iter().zip(&stored)) {
        let name = chunk::column_name(id);
        println!(
            "{name:>20}: raw {:>7.3} B/ev  stored {:>7.3} B/ev",
            *raw as f64 / n,
            *stored as f64 / n
        );
    }
}
