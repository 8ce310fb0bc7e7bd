//! The streaming writer: header, snapshots, chunks as they fill, and the
//! footer index at the end. Memory stays bounded by one chunk.

use std::io::{self, Write};

use super::block::{
    BlockKind, TRAILER_LEN, Trailer, encode_block_header, encode_file_header, encode_trailer,
};
use super::chunk::{ChunkBuilder, EncodedChunk};
use super::chunk::{MAX_ARGS, MAX_CHUNK_EVENTS, MAX_RECORD_BYTES};
use super::header::CaptureHeader;
use super::index::{Index, IndexBuilder, Window};
use super::{index, pack_meta, snapshot};
use crate::codec::{Codec, Compressor};
use crate::event::{Arg, Record, SockAddr, SockTuple};
use crate::state::{Context, Snapshot};
use crate::{Error, Result};

/// When a chunk is sealed, and how it is compressed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WriterOptions {
    /// Codec for columns and metadata.
    pub codec: Codec,
    /// Codec level (zstd 1..=19, deflate 0..=9).
    pub level: i32,
    /// Seal a chunk at this many events.
    pub chunk_events: u32,
    /// Seal a chunk when its columns hold this many bytes before compression.
    pub chunk_bytes: usize,
    /// Seal a chunk when it spans this many ns (0: no limit). The agent's
    /// pre-trigger ring uses it so that chunks are fine-grained in time.
    pub chunk_span_ns: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            codec: Codec::Zstd,
            level: 3,
            chunk_events: 65_536,
            chunk_bytes: 1 << 20,
            chunk_span_ns: 0,
        }
    }
}

/// Refuses records the format cannot hold.
fn check_record(rec: &Record<'_>) -> Result<()> {
    if rec.args.len() > MAX_ARGS {
        return Err(Error::Usage("a record has more than 64 arguments"));
    }
    let bytes: usize =
        rec.args
            .iter()
            .map(|a| match a {
                Arg::Str(s) | Arg::Bytes(s) => s.len(),
                Arg::SockAddr(SockAddr::Unix(p))
                | Arg::SockTuple(SockTuple::Unix { path: p, .. }) => p.len(),
                _ => 0,
            })
            .sum();
    if bytes > MAX_RECORD_BYTES {
        return Err(Error::Usage(
            "a record carries more than 16 MiB of strings and data",
        ));
    }
    Ok(())
}

/// Builds chunks from records and seals them, without a file: the writer
/// uses one, and so does the agent's in-memory ring.
#[derive(Debug)]
pub struct ChunkEncoder {
    builder: ChunkBuilder,
    compressor: Compressor,
    options: WriterOptions,
}

impl ChunkEncoder {
    /// A new encoder.
    pub fn new(options: WriterOptions) -> io::Result<Self> {
        Ok(Self {
            builder: ChunkBuilder::default(),
            compressor: Compressor::new(options.codec, options.level)?,
            options,
        })
    }

    /// Adds a record; returns true when the chunk is full and should be
    /// sealed. Records beyond the format's limits ([`MAX_ARGS`] arguments,
    /// [`MAX_RECORD_BYTES`] of strings and data) are refused.
    pub fn push(&mut self, rec: &Record<'_>, ctx: &Context<'_>) -> Result<bool> {
        check_record(rec)?;
        self.builder.push(rec, ctx);
        let b = &self.builder;
        Ok(
            b.events() >= self.options.chunk_events.min(MAX_CHUNK_EVENTS)
                || b.raw_len() >= self.options.chunk_bytes
                || (self.options.chunk_span_ns > 0
                    && rec.ts_exit().saturating_sub(b.ts_min()) >= self.options.chunk_span_ns),
        )
    }

    /// Records waiting in the open chunk.
    pub fn pending(&self) -> u32 {
        self.builder.events()
    }

    /// Seals the open chunk; `None` when it is empty.
    pub fn seal(&mut self) -> io::Result<Option<EncodedChunk>> {
        if self.builder.events() == 0 {
            return Ok(None);
        }
        self.builder.seal(&mut self.compressor).map(Some)
    }
}

/// Writes a capture file.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    pos: u64,
    encoder: ChunkEncoder,
    index: IndexBuilder,
}

impl<W: Write> Writer<W> {
    /// Writes the file header and the capture header.
    pub fn new(out: W, header: &CaptureHeader, options: WriterOptions) -> Result<Self> {
        let encoder = ChunkEncoder::new(options).map_err(|e| Error::io(0, e))?;
        let mut w = Self {
            out,
            pos: 0,
            encoder,
            index: IndexBuilder::default(),
        };
        w.put(&encode_file_header())?;
        w.block(BlockKind::Header, &header.encode())?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io(self.pos, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes one block and flushes it to the underlying writer, so that a
    /// crash loses at most the open chunk.
    fn block(&mut self, kind: BlockKind, payload: &[u8]) -> Result<u64> {
        let offset = self.pos;
        self.put(&encode_block_header(kind, payload))?;
        self.put(payload)?;
        self.out.flush().map_err(|e| Error::io(self.pos, e))?;
        Ok(offset)
    }

    /// Writes a state snapshot (sealing the open chunk first, so the file
    /// stays in time order).
    pub fn write_snapshot(&mut self, snap: &Snapshot) -> Result<()> {
        self.flush_chunk()?;
        let payload = pack_meta(&mut self.encoder.compressor, &snapshot::encode(snap))
            .map_err(|e| Error::io(self.pos, e))?;
        let offset = self.block(BlockKind::Snapshot, &payload)?;
        self.index.add_snapshot(offset);
        Ok(())
    }

    /// Adds one record with what the tracker resolved it to.
    pub fn write(&mut self, rec: &Record<'_>, ctx: &Context<'_>) -> Result<()> {
        if self.encoder.push(rec, ctx)? {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Seals and writes the open chunk, if any.
    pub fn flush_chunk(&mut self) -> Result<()> {
        if let Some(chunk) = self.encoder.seal().map_err(|e| Error::io(self.pos, e))? {
            self.write_encoded(&chunk)?;
        }
        Ok(())
    }

    /// Appends a chunk sealed elsewhere (by a [`ChunkEncoder`]), as is.
    pub fn write_encoded(&mut self, chunk: &EncodedChunk) -> Result<()> {
        let offset = self.block(BlockKind::Chunk, &chunk.payload)?;
        let len = u32::try_from(chunk.payload.len()).map_err(|_| Error::TooLarge {
            what: "chunk",
            offset,
            size: chunk.payload.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        self.index.add_chunk(offset, len, &chunk.summary);
        Ok(())
    }

    /// Events written so far (including the open chunk).
    pub fn events(&self) -> u64 {
        self.index.events() + u64::from(self.encoder.pending())
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.pos
    }

    /// The underlying writer (to `fsync` a file, say).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Records the time the capture covers (see [`Window`]), written into
    /// the footer by [`Writer::finish`].
    pub fn set_window(&mut self, window: Window) {
        self.index.set_window(window);
    }

    /// Seals the open chunk, writes the footer index and the trailer, and
    /// returns the underlying writer and the index.
    pub fn finish(mut self) -> Result<(W, Index)> {
        self.flush_chunk()?;
        let index = self.index.build();
        let written = write_footer(
            &mut self.out,
            self.pos,
            &index,
            &mut self.encoder.compressor,
        )?;
        self.pos += written;
        Ok((self.out, index))
    }
}

/// Writes the footer block for `index` and the trailer at `pos`, the end of
/// the last block; returns the bytes written. Also used to finish a capture
/// that was cut short.
pub(crate) fn write_footer(
    out: &mut impl Write,
    pos: u64,
    index: &Index,
    compressor: &mut Compressor,
) -> Result<u64> {
    let payload = pack_meta(compressor, &index::encode(index)).map_err(|e| Error::io(pos, e))?;
    let header = encode_block_header(BlockKind::Footer, &payload);
    let footer_len = u32::try_from(header.len() + payload.len()).map_err(|_| Error::TooLarge {
        what: "footer",
        offset: pos,
        size: payload.len() as u64,
        limit: u64::from(u32::MAX),
    })?;
    let trailer = encode_trailer(Trailer {
        footer_offset: pos,
        footer_len,
    });
    for part in [&header[..], &payload, &trailer] {
        out.write_all(part).map_err(|e| Error::io(pos, e))?;
    }
    out.flush().map_err(|e| Error::io(pos, e))?;
    Ok(u64::from(footer_len) + TRAILER_LEN as u64)
}
