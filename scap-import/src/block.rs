//! Reading sysdig/Falco `.scap` files: the block container.
//!
//! A `.scap` file is a stream of pcapng-style blocks (type, total length,
//! body, padding, the length again), raw or gzip-compressed, starting with
//! a section header (libscap's savefile format: falcosecurity/libs,
//! `userspace/libscap/scap_savefile.h`). This module
//! reads blocks one at a time with bounded memory, names their kinds, and
//! parses the section header and machine info. Events and the process, fd
//! and user tables build on it.

use std::io::{self, BufRead, BufReader, Read};

/// Section header block type.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic of a section header, as a little-endian u32.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Largest block accepted: event blocks are at most 64 KiB unless LARGE, and
/// process lists of big hosts run to a few MiB.
pub const MAX_BLOCK_LEN: u32 = 256 << 20;

/// What a block holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockKind {
    /// Section header: a new section starts (tables reset).
    SectionHeader,
    /// Machine info.
    MachineInfo,
    /// Process list, version 1 to 9.
    ProcessList(u8),
    /// Fd list of one process, version 1 or 2.
    FdList(u8),
    /// Interface list, version 1 or 2.
    InterfaceList(u8),
    /// User and group list, version 1 or 2.
    UserList(u8),
    /// One event.
    Event {
        /// A flags word follows the CPU number (EVF blocks).
        flags: bool,
        /// The event header carries `nparams` (V2 blocks).
        v2: bool,
        /// Parameter lengths may be 32-bit (LARGE blocks).
        large: bool,
    },
    /// A block type this reader does not know (skipped).
    Unknown(u32),
}

impl BlockKind {
    /// Classifies a block type id, including the legacy 2014 ids.
    pub fn of(id: u32) -> Self {
        let event = |flags, v2, large| BlockKind::Event { flags, v2, large };
        match id {
            SHB => BlockKind::SectionHeader,
            0x201 | 0x8002_ABCD => BlockKind::MachineInfo,
            0x202 | 0x8000_ABCD => BlockKind::ProcessList(1),
            0x207 | 0x8013_ABCD => BlockKind::ProcessList(2),
            0x209 | 0x8014_ABCD => BlockKind::ProcessList(3),
            0x210 => BlockKind::ProcessList(4),
            0x211 => BlockKind::ProcessList(5),
            0x212 => BlockKind::ProcessList(6),
            0x213 => BlockKind::ProcessList(7),
            0x214 => BlockKind::ProcessList(8),
            0x215 => BlockKind::ProcessList(9),
            0x203 | 0x8001_ABCD => BlockKind::FdList(1),
            0x218 => BlockKind::FdList(2),
            0x205 | 0x8011_ABCD => BlockKind::InterfaceList(1),
            0x219 => BlockKind::InterfaceList(2),
            0x206 | 0x8012_ABCD => BlockKind::UserList(1),
            0x220 => BlockKind::UserList(2),
            0x204 | 0x8010_ABCD => event(false, false, false),
            0x208 => event(true, false, false),
            0x216 => event(false, true, false),
            0x217 => event(true, true, false),
            0x221 => event(false, true, true),
            0x222 => event(true, true, true),
            other => BlockKind::Unknown(other),
        }
    }
}

/// Why a `.scap` file could not be read; offsets are in the uncompressed
/// stream.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    /// Reading failed.
    #[error("read error at byte {offset}")]
    Io {
        /// Where.
        offset: u64,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The file does not start with a `.scap` section header.
    #[error("not a .scap file (no section header at the start)")]
    NotScap,
    /// A section header this reader cannot read.
    #[error("section header at byte {offset}: {detail}")]
    BadSection {
        /// Where.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A block whose lengths do not hold together.
    #[error("block at byte {offset}: {detail}")]
    BadBlock {
        /// Where.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The file ends inside a block header.
    #[error("truncated at byte {offset}: the file ends inside a block header")]
    TruncatedHeader {
        /// Where the cut header starts.
        offset: u64,
    },
    /// The file ends inside a block.
    #[error("truncated at byte {offset}: the file ends inside a {len}-byte block")]
    Truncated {
        /// Where the cut block starts.
        offset: u64,
        /// Its announced length.
        len: u32,
    },
}

/// One block read from the stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Block {
    /// Offset of the block in the (uncompressed) stream.
    pub offset: u64,
    /// Its type id.
    pub id: u32,
    /// What it holds.
    pub kind: BlockKind,
}

/// The section header's version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SectionHeader {
    /// Always 1.
    pub major: u16,
    /// 0, 1 or 2.
    pub minor: u16,
}

/// Facts of the machine info block.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MachineInfo {
    /// CPUs.
    pub num_cpus: u32,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Host name.
    pub hostname: String,
    /// Boot time, ns since the epoch (0 in older files).
    pub boot_ts: u64,
}

/// Reads the blocks of a `.scap` stream, raw or gzip-compressed, one at a
/// time; memory is bounded by the largest block, or, for blocks read as a
/// stream ([`BlockReader::next_header`], [`BlockReader::body`]), by what
/// the caller keeps of them.
pub struct BlockReader {
    input: Box<dyn BufRead + Send>,
    offset: u64,
    started: bool,
    /// Bytes of the block last lent by [`BlockReader::next_block_ref`],
    /// consumed on the next call.
    lent: usize,
    /// The block whose header was read and whose body and trailer are not
    /// all read yet.
    open: Option<OpenBlock>,
}

/// A block being read.
#[derive(Clone, Copy, Debug)]
struct OpenBlock {
    block: Block,
    /// Its total length.
    len: u32,
    /// Bytes of its body (padding included) not read yet.
    left: u64,
}

/// The body of the open block, as a stream (see [`BlockReader::body`]).
#[derive(Debug)]
pub struct BodyReader<'a> {
    reader: &'a mut BlockReader,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(open) = &mut self.reader.open else {
            return Ok(0);
        };
        let want = usize::try_from(open.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.reader.input.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        open.left -= n as u64;
        Ok(n)
    }
}

impl std::fmt::Debug for BlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u32::from_le_bytes(*c))
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u16::from_le_bytes(*c))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u64::from_le_bytes(*c))
}

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// True when `head`, a file's first bytes (4 are enough), starts a `.scap`
/// file: a section header block, or a gzip stream (only `.scap` files are
/// gzip'd as a whole; the importer decompresses them).
pub fn is_scap(head: &[u8]) -> bool {
    head.starts_with(&SHB.to_le_bytes()) || head.starts_with(&GZIP_MAGIC)
}

/// `input` as raw `.scap` bytes: gzip (recognised by its magic, `1F 8B`)
/// is decompressed. A read error while sniffing is left for the first read.
pub fn decompressed(input: impl Read + Send + 'static) -> Box<dyn BufRead + Send> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let gzip = buffered
        .fill_buf()
        .is_ok_and(|head| head.starts_with(&GZIP_MAGIC));
    if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    }
}

impl BlockReader {
    /// Opens a stream, raw or gzip.
    pub fn new(input: impl Read + Send + 'static) -> Result<Self, ScapError> {
        Ok(Self::from_raw(decompressed(input)))
    }

    /// Reads a stream that is already raw `.scap` bytes (not gzip).
    pub fn from_raw(input: Box<dyn BufRead + Send>) -> Self {
        Self {
            input,
            offset: 0,
            started: false,
            lent: 0,
            open: None,
        }
    }

    /// As [`BlockReader::next_block`], but the body is lent from the
    /// reader's buffer when the whole block is in it, without a copy;
    /// `scratch` holds it otherwise.
    pub fn next_block_ref<'s>(
        &'s mut self,
        scratch: &'s mut Vec<u8>,
    ) -> Result<Option<(Block, &'s [u8])>, ScapError> {
        self.finish()?;
        self.input.consume(std::mem::take(&mut self.lent));
        let offset = self.offset;
        let io = |source| ScapError::Io { offset, source };
        let (id, len, whole) = {
            let buf = self.input.fill_buf().map_err(io)?;
            let id = u32_at(buf, 0);
            let len = u32_at(buf, 4) as usize;
            let whole = buf.len() >= 8
                && len >= 12
                && len.is_multiple_of(4)
                && len <= buf.len()
                && u32_at(buf, len - 4) as usize == len;
            (id, len, whole)
        };
        if !whole || !self.started || id == SHB {
            // Headers, section headers and blocks across buffers: checked
            // and copied the long way.
            return Ok(self.next_block(scratch)?.map(|b| (b, &scratch[..])));
        }
        self.offset += len as u64;
        self.lent = len;
        let kind = BlockKind::of(id);
        let buf = self.input.fill_buf().map_err(io)?;
        Ok(Some((Block { offset, id, kind }, &buf[8..len - 4])))
    }

    /// Reads as many bytes as there are, up to `buf.len()`.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, ScapError> {
        let mut done = 0;
        while done < buf.len() {
            match self.input.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ScapError::Io {
                        offset: self.offset + done as u64,
                        source,
                    });
                }
            }
        }
        Ok(done)
    }

    /// The next block, with its body (the bytes between the length and the
    /// trailer, padding included) in `body`; `None` at a clean end of file.
    pub fn next_block(&mut self, body: &mut Vec<u8>) -> Result<Option<Block>, ScapError> {
        let Some(block) = self.next_header()? else {
            return Ok(None);
        };
        self.read_body(body)?;
        Ok(Some(block))
    }

    /// The header of the next block (the rest of the one before is read
    /// and checked first); its body is read next, with
    /// [`BlockReader::read_body`], or as a stream with
    /// [`BlockReader::body`] and [`BlockReader::finish`]. `None` at a clean
    /// end of file.
    pub fn next_header(&mut self) -> Result<Option<Block>, ScapError> {
        self.finish()?;
        self.input.consume(std::mem::take(&mut self.lent));
        let offset = self.offset;
        let mut head = [0u8; 8];
        let n = self.read_full(&mut head)?;
        if n == 0 {
            return if self.started {
                Ok(None)
            } else {
                Err(ScapError::NotScap)
            };
        }
        if n < 8 {
            return Err(ScapError::TruncatedHeader { offset });
        }
        let id = u32_at(&head, 0);
        let len = u32_at(&head, 4);
        if !self.started && id != SHB {
            return Err(ScapError::NotScap);
        }
        let bad = |detail: String| ScapError::BadBlock { offset, detail };
        if len < 12 || !len.is_multiple_of(4) {
            return Err(bad(format!(
                "total length {len} is not a multiple of 4 of at least 12"
            )));
        }
        if len > MAX_BLOCK_LEN {
            return Err(bad(format!(
                "total length {len} is above the {MAX_BLOCK_LEN}-byte limit"
            )));
        }
        self.started = true;
        let block = Block {
            offset,
            id,
            kind: BlockKind::of(id),
        };
        self.open = Some(OpenBlock {
            block,
            len,
            left: u64::from(len) - 12,
        });
        Ok(Some(block))
    }

    /// Bytes of the open block's body (padding included), read or not.
    pub fn body_len(&self) -> usize {
        self.open.map_or(0, |o| o.len as usize - 12)
    }

    /// The rest of the open block's body as a stream; [`BlockReader::finish`]
    /// (or the next header) then checks its trailer.
    pub fn body(&mut self) -> BodyReader<'_> {
        BodyReader { reader: self }
    }

    /// Reads the rest of the open block's body into `body` and checks its
    /// trailer (and, for a section header, its fields).
    pub fn read_body(&mut self, body: &mut Vec<u8>) -> Result<(), ScapError> {
        body.clear();
        let Some(open) = self.open else {
            return Ok(());
        };
        // Grows with the bytes that arrive, not with the announced length: a
        // cut or lying header costs no more memory than the file holds.
        let got = (&mut self.input)
            .take(open.left)
            .read_to_end(body)
            .map_err(|source| ScapError::Io {
                offset: open.block.offset + 8 + body.len() as u64,
                source,
            })?;
        if (got as u64) < open.left {
            return Err(ScapError::Truncated {
                offset: open.block.offset,
                len: open.len,
            });
        }
        self.open = Some(OpenBlock { left: 0, ..open });
        self.finish()?;
        if open.block.kind == BlockKind::SectionHeader {
            section_header(body, open.block.offset)?;
        }
        Ok(())
    }

    /// Skips what is left of the open block's body and checks its trailer;
    /// nothing when no block is open.
    pub fn finish(&mut self) -> Result<(), ScapError> {
        let Some(open) = self.open else {
            return Ok(());
        };
        let offset = open.block.offset;
        let truncated = ScapError::Truncated {
            offset,
            len: open.len,
        };
        let skipped = io::copy(&mut (&mut self.input).take(open.left), &mut io::sink())
            .map_err(|source| ScapError::Io { offset, source })?;
        if skipped < open.left {
            return Err(truncated);
        }
        let mut trailer = [0u8; 4];
        if self.read_full(&mut trailer)? < 4 {
            return Err(truncated);
        }
        let trailer = u32::from_le_bytes(trailer);
        if trailer != open.len {
            return Err(ScapError::BadBlock {
                offset,
                detail: format!(
                    "trailer length {trailer} differs from the header's {}",
                    open.len
                ),
            });
        }
        self.open = None;
        self.offset += u64::from(open.len);
        Ok(())
    }
}

/// Writes one block as the reference writer does: id, total length, `body`,
/// zero padding to 4 bytes, the total length again.
pub fn write_block(out: &mut impl std::io::Write, id: u32, body: &[u8]) -> io::Result<()> {
    let total = (8 + body.len() + 4).next_multiple_of(4);
    let len = u32::try_from(total)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block above 4 GiB"))?;
    out.write_all(&id.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&[0; 3][..total - 12 - body.len()])?;
    out.write_all(&len.to_le_bytes())
}

/// Parses a section header body (options after the 16 fixed bytes are
/// ignored, as pcapng allows).
pub fn section_header(body: &[u8], offset: u64) -> Result<SectionHeader, ScapError> {
    let bad = |detail: String| ScapError::BadSection { offset, detail };
    if body.len() < 16 {
        return Err(bad(format!("{} bytes, expected at least 16", body.len())));
    }
    let magic = u32_at(body, 0);
    if magic != BYTE_ORDER_MAGIC {
        return Err(bad(format!(
            "byte-order magic {magic:#010x}, expected {BYTE_ORDER_MAGIC:#010x}"
        )));
    }
    let major = u16_at(body, 4);
    if major != 1 {
        return Err(bad(format!("version {major}.x, only 1.x is known")));
    }
    Ok(SectionHeader {
        major,
        minor: u16_at(body, 6),
    })
}

/// Parses a machine info body (180 bytes; shorter ones read as zeros).
pub fn machine_info(body: &[u8]) -> MachineInfo {
    let name = body.get(20..148).unwrap_or_default();
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    MachineInfo {
        num_cpus: u32_at(body, 0),
        memory_bytes: u64_at(body, 4),
        hostname: String::from_utf8_lossy(&name[..end]).into_owned(),
        boot_ts: u64_at(body, 148),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use crate::testfile::block;

    #[test]
    fn is_scap_knows_a_section_header_or_gzip_by_the_first_bytes() {
        let cases: [(&[u8], bool); 8] = [
            (&[0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0], true),
            (&[0x0A, 0x0D, 0x0D, 0x0A], true),
            (&[0x1F, 0x8B, 0x08, 0x00], true),
            (&[0x1F, 0x8B], true),
            (b"\x89SYSCAP\n", false),
            (&[0x0A, 0x0D, 0x0D], false),
            (&[0x1F], false),
            (&[], false),
        ];
        for (head, scap) in cases {
            assert_eq!(is_scap(head), scap, "{head:02x?}");
        }
    }

    fn shb(options: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        c.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        c.extend_from_slice(&1u16.to_le_bytes());
        c.extend_from_slice(&2u16.to_le_bytes());
        c.extend_from_slice(&u64::MAX.to_le_bytes());
        c.extend_from_slice(options);
        block(SHB, &c)
    }

    fn mi() -> Vec<u8> {
        let mut c = vec![0u8; 180];
        c[0..4].copy_from_slice(&2u32.to_le_bytes());
        c[4..12].copy_from_slice(&(8u64 << 30).to_le_bytes());
        c[20..28].copy_from_slice(b"web-0001");
        c[148..156].copy_from_slice(&1_700_000_000_000_000_000u64.to_le_bytes());
        block(0x201, &c)
    }

    fn file(options: &[u8]) -> Vec<u8> {
        let mut f = shb(options);
        f.extend(mi());
        f.extend(block(0x211, &[0; 10]));
        f.extend(block(0x204, &[1, 0, 9, 9, 9]));
        f.extend(block(0x4242, &[7; 3]));
        f.extend(block(0x221, &[0, 0]));
        f
    }

    fn read_all(bytes: Vec<u8>) -> Result<Vec<(u64, BlockKind, usize)>, ScapError> {
        let mut r = BlockReader::new(std::io::Cursor::new(bytes))?;
        let mut body = Vec::new();
        let mut out = Vec::new();
        while let Some(b) = r.next_block(&mut body)? {
            out.push((b.offset, b.kind, body.len()));
        }
        Ok(out)
    }

    #[test]
    fn blocks_of_a_raw_and_of_a_gzip_file() {
        let expected = vec![
            (0, BlockKind::SectionHeader, 16),
            (28, BlockKind::MachineInfo, 180),
            (220, BlockKind::ProcessList(5), 12),
            (
                244,
                BlockKind::Event {
                    flags: false,
                    v2: false,
                    large: false,
                },
                8,
            ),
            (264, BlockKind::Unknown(0x4242), 4),
            (
                280,
                BlockKind::Event {
                    flags: false,
                    v2: true,
                    large: true,
                },
                4,
            ),
        ];
        assert_eq!(read_all(file(&[])).unwrap(), expected);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&file(&[])).unwrap();
        assert_eq!(read_all(gz.finish().unwrap()).unwrap(), expected);
    }

    #[test]
    fn section_header_options_are_skipped() {
        // opt_comment "hi" (padded to 4), then opt_endofopt.
        let options = [1, 0, 2, 0, b'h', b'i', 0, 0, 0, 0, 0, 0];
        let blocks = read_all(file(&options)).unwrap();
        assert_eq!(blocks.len(), 6);
        assert_eq!(blocks[0], (0, BlockKind::SectionHeader, 28));
        assert_eq!(blocks[1].1, BlockKind::MachineInfo);
    }

    #[test]
    fn machine_info_fields() {
        let mut r = BlockReader::new(std::io::Cursor::new(file(&[]))).unwrap();
        let mut body = Vec::new();
        r.next_block(&mut body).unwrap();
        r.next_block(&mut body).unwrap();
        let mi = machine_info(&body);
        assert_eq!(
            mi,
            MachineInfo {
                num_cpus: 2,
                memory_bytes: 8 << 30,
                hostname: "web-0001".into(),
                boot_ts: 1_700_000_000_000_000_000,
            }
        );
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let whole = file(&[]);
        // Cut inside the fourth block (at 244): its offset is named.
        let cut = read_all(whole[..255].to_vec()).unwrap_err();
        assert_eq!(
            cut.to_string(),
            "truncated at byte 244: the file ends inside a 20-byte block"
        );
        let cut = read_all(whole[..250].to_vec()).unwrap_err();
        assert_eq!(
            cut.to_string(),
            "truncated at byte 244: the file ends inside a block header"
        );
        assert!(matches!(
            read_all(whole[..230].to_vec()),
            Err(ScapError::Truncated {
                offset: 220,
                len: 24
            })
        ));
        // A trailer that disagrees.
        let mut bad = whole.clone();
        bad[240] ^= 1;
        assert_eq!(
            read_all(bad).unwrap_err().to_string(),
            "block at byte 220: trailer length 25 differs from the header's 24"
        );
        // A length that is not a multiple of 4.
        let mut bad = whole.clone();
        bad[224] = 13;
        assert!(
            read_all(bad)
                .unwrap_err()
                .to_string()
                .starts_with("block at byte 220: total length 13")
        );
        // Not a .scap file at all, or empty.
        assert!(matches!(
            read_all(b"SYSCAP\x00\x01 and more".to_vec()),
            Err(ScapError::NotScap)
        ));
        assert!(matches!(read_all(Vec::new()), Err(ScapError::NotScap)));
        // A section header with the wrong byte order or version.
        let mut bad = whole.clone();
        bad[8] = 0x1A;
        assert!(
            read_all(bad)
                .unwrap_err()
                .to_string()
                .contains("byte-order magic")
        );
        let mut bad = whole;
        bad[12] = 2;
        assert_eq!(
            read_all(bad).unwrap_err().to_string(),
            "section header at byte 0: version 2.x, only 1.x is known"
        );
    }
}
