//! Errors of reading and writing capture files. Every variant says where:
//! the byte offset in the file, and what was expected and found.

use std::io;

/// A block kind, for messages.
pub type BlockName = &'static str;

/// What went wrong reading or writing a capture file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The underlying reader or writer failed.
    #[error("I/O error at byte {offset}")]
    Io {
        /// Where in the file.
        offset: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the syscap magic.
    #[error("not a syscap capture: the first bytes are {found:02x?}, expected {expected:02x?}")]
    NotACapture {
        /// The first bytes of the file.
        found: Vec<u8>,
        /// The magic.
        expected: &'static [u8],
    },
    /// A version this reader does not understand.
    #[error(
        "unsupported capture format version {major}.{minor} at byte 8; this syscap reads version {supported}.x"
    )]
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
        /// Major version supported.
        supported: u16,
    },
    /// A block's bytes do not match its CRC32.
    #[error(
        "corrupt {block} block at byte {offset}: CRC32 is {found:#010x}, expected {expected:#010x}"
    )]
    Checksum {
        /// Block kind.
        block: BlockName,
        /// Offset of the block header.
        offset: u64,
        /// CRC stored in the block header.
        expected: u32,
        /// CRC of the bytes read.
        found: u32,
    },
    /// A structure inside a block is malformed.
    #[error("corrupt {what} at byte {offset}: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Offset of the block that holds it.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A length beyond what this format allows: refused before allocating.
    #[error("{what} at byte {offset} claims {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: u64,
        /// Claimed size.
        size: u64,
        /// Limit.
        limit: u64,
    },
    /// The file ends inside a block: everything before it was read.
    #[error("truncated at byte {offset}, {events} events recovered")]
    Truncated {
        /// Offset of the incomplete block.
        offset: u64,
        /// Events read before it.
        events: u64,
    },
    /// A caller broke the writer's contract.
    #[error("{0}")]
    Usage(&'static str),
}

impl Error {
    pub(crate) fn io(offset: u64, source: io::Error) -> Self {
        Error::Io { offset, source }
    }

    pub(crate) fn corrupt(what: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            offset,
            detail: detail.into(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
