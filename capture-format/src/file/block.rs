//! Framing: the file header, blocks (kind, length, CRC32, payload) and the
//! trailer that points at the footer.

use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32, le_u64};

/// First bytes of every capture. The high byte and the line feed catch
/// transfers that mangle binary data, as PNG's magic does.
pub const FILE_MAGIC: [u8; 8] = *b"\x89SYSCAP\n";

/// True when `head`, a file's first bytes (8 are needed), starts a syscap
/// capture: tools tell captures from other formats by it before opening.
pub fn is_capture(head: &[u8]) -> bool {
    head.starts_with(&FILE_MAGIC)
}
/// Major version: readers refuse files with another major.
pub const FORMAT_MAJOR: u16 = 1;
/// Minor version: additions that older readers can skip.
pub const FORMAT_MINOR: u16 = 2;
/// Bytes of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// Bytes of a block header.
pub const BLOCK_HEADER_LEN: usize = 12;
/// Bytes of the trailer.
pub const TRAILER_LEN: usize = 24;
/// Last bytes of a finished capture.
pub const TRAILER_MAGIC: [u8; 8] = *b"SYSCAPIX";
/// No block is larger: a corrupt length cannot make a reader allocate more.
pub const MAX_BLOCK_PAYLOAD: u32 = 256 << 20;

/// What a block holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BlockKind {
    /// Capture header (TLV fields).
    Header,
    /// State snapshot.
    Snapshot,
    /// A chunk of events.
    Chunk,
    /// The footer index.
    Footer,
    /// A kind from a newer writer; readers skip it.
    Unknown([u8; 4]),
}

impl BlockKind {
    pub(crate) fn tag(self) -> [u8; 4] {
        match self {
            BlockKind::Header => *b"HEAD",
            BlockKind::Snapshot => *b"SNAP",
            BlockKind::Chunk => *b"CHNK",
            BlockKind::Footer => *b"FOOT",
            BlockKind::Unknown(tag) => tag,
        }
    }

    fn from_tag(tag: [u8; 4]) -> Self {
        match &tag {
            b"HEAD" => BlockKind::Header,
            b"SNAP" => BlockKind::Snapshot,
            b"CHNK" => BlockKind::Chunk,
            b"FOOT" => BlockKind::Footer,
            _ => BlockKind::Unknown(tag),
        }
    }

    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Header => "header",
            BlockKind::Snapshot => "snapshot",
            BlockKind::Chunk => "chunk",
            BlockKind::Footer => "footer",
            BlockKind::Unknown(_) => "unknown",
        }
    }
}

/// A parsed block header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct BlockHeader {
    pub kind: BlockKind,
    pub len: u32,
    pub crc: u32,
}

/// The file header's version fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FileHeader {
    pub magic: [u8; 8],
    pub major: u16,
    pub minor: u16,
}

/// The trailer: where the footer block is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Trailer {
    pub footer_offset: u64,
    pub footer_len: u32,
}

type ParseResult<'a, T> = nom::IResult<&'a [u8], T>;

fn array<const N: usize>(input: &[u8]) -> ParseResult<'_, [u8; N]> {
    let (rest, bytes) = take(N).parse(input)?;
    Ok((rest, bytes.try_into().expect("take returned N bytes")))
}

pub(crate) fn parse_file_header(input: &[u8; FILE_HEADER_LEN]) -> FileHeader {
    let parsed: ParseResult<'_, _> = (array::<8>, le_u16, le_u16, le_u32).parse(&input[..]);
    let (_, (magic, major, minor, _flags)) = parsed.expect("16 bytes hold a file header");
    FileHeader {
        magic,
        major,
        minor,
    }
}

pub(crate) fn encode_file_header() -> [u8; FILE_HEADER_LEN] {
    let mut out = [0u8; FILE_HEADER_LEN];
    out[..8].copy_from_slice(&FILE_MAGIC);
    out[8..10].copy_from_slice(&FORMAT_MAJOR.to_le_bytes());
    out[10..12].copy_from_slice(&FORMAT_MINOR.to_le_bytes());
    out
}

pub(crate) fn parse_block_header(input: &[u8; BLOCK_HEADER_LEN]) -> BlockHeader {
    let parsed: ParseResult<'_, _> = (array::<4>, le_u32, le_u32).parse(&input[..]);
    let (_, (tag, len, crc)) = parsed.expect("12 bytes hold a block header");
    BlockHeader {
        kind: BlockKind::from_tag(tag),
        len,
        crc,
    }
}

pub(crate) fn encode_block_header(kind: BlockKind, payload: &[u8]) -> [u8; BLOCK_HEADER_LEN] {
    let mut out = [0u8; BLOCK_HEADER_LEN];
    out[..4].copy_from_slice(&kind.tag());
    let len = u32::try_from(payload.len()).expect("blocks are smaller than 4 GiB");
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out[8..12].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out
}

/// Parses a trailer; `None` when the magic or the CRC is wrong (the file was
/// not finished, or its end is damaged).
pub(crate) fn parse_trailer(input: &[u8; TRAILER_LEN]) -> Option<Trailer> {
    let parsed: ParseResult<'_, _> = (le_u64, le_u32, le_u32, array::<8>).parse(&input[..]);
    let (_, (footer_offset, footer_len, crc, magic)) = parsed.ok()?;
    (magic == TRAILER_MAGIC && crc == crc32fast::hash(&input[..12])).then_some(Trailer {
        footer_offset,
        footer_len,
    })
}

pub(crate) fn encode_trailer(trailer: Trailer) -> [u8; TRAILER_LEN] {
    let mut out = [0u8; TRAILER_LEN];
    out[..8].copy_from_slice(&trailer.footer_offset.to_le_bytes());
    out[8..12].copy_from_slice(&trailer.footer_len.to_le_bytes());
    let crc = crc32fast::hash(&out[..12]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    out[16..].copy_from_slice(&TRAILER_MAGIC);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_capture_knows_the_file_magic() {
        let cases: [(&[u8], bool); 6] = [
            (b"\x89SYSCAP\n\x01\x00\x01\x00", true),
            (b"\x89SYSCAP\n", true),
            (b"\x89SYSCAP", false),
            (b"SYSCAPIX", false),
            (&[0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0], false),
            (&[], false),
        ];
        for (head, capture) in cases {
            assert_eq!(is_capture(head), capture, "{head:02x?}");
        }
    }

    #[test]
    fn headers_round_trip() {
        let h = parse_file_header(&encode_file_header());
        assert_eq!(
            (h.magic, h.major, h.minor),
            (FILE_MAGIC, FORMAT_MAJOR, FORMAT_MINOR)
        );
        let b = parse_block_header(&encode_block_header(BlockKind::Chunk, b"abc"));
        assert_eq!(b.kind, BlockKind::Chunk);
        assert_eq!(b.len, 3);
        assert_eq!(b.crc, crc32fast::hash(b"abc"));
        let t = Trailer {
            footer_offset: 1234,
            footer_len: 99,
        };
        assert_eq!(parse_trailer(&encode_trailer(t)), Some(t));
    }

    #[test]
    fn damaged_trailer_is_not_a_trailer() {
        let good = encode_trailer(Trailer {
            footer_offset: 1,
            footer_len: 2,
        });
        for i in 0..TRAILER_LEN {
            let mut bad = good;
            bad[i] ^= 0x10;
            assert_eq!(parse_trailer(&bad), None, "flip in byte {i}");
        }
    }

    #[test]
    fn unknown_kinds_keep_their_tag() {
        let b = parse_block_header(&encode_block_header(BlockKind::Unknown(*b"XTRA"), b""));
        assert_eq!(b.kind, BlockKind::Unknown(*b"XTRA"));
        assert_eq!(b.kind.tag(), *b"XTRA");
    }
}
