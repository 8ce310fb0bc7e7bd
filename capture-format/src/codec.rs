//! Column and block compression.
//!
//! Every compressed region records its codec, its raw length and its stored
//! length, so a reader can allocate exactly once and refuse anything that
//! decompresses to a different size. FORMAT.md explains why zstd is the
//! default (the `codecs` benchmark measures all four).

use std::io;

/// A compression codec. The numbers are stored in files.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[repr(u8)]
pub enum Codec {
    /// Stored as is.
    None = 0,
    /// Zstandard.
    #[default]
    Zstd = 1,
    /// Raw DEFLATE (flate2 with the zlib-rs backend).
    Deflate = 2,
    /// LZ4 block format.
    Lz4 = 3,
}

impl Codec {
    /// From the stored number.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Codec::None,
            1 => Codec::Zstd,
            2 => Codec::Deflate,
            3 => Codec::Lz4,
            _ => return None,
        })
    }

    /// Its name, for messages and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Zstd => "zstd",
            Codec::Deflate => "deflate",
            Codec::Lz4 => "lz4",
        }
    }
}

/// Below this size compression does not pay for its header.
const MIN_COMPRESS: usize = 48;

/// Compresses with reusable contexts (no allocation per call once warm).
pub(crate) struct Compressor {
    codec: Codec,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    deflate: Option<flate2::Compress>,
    level: i32,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("codec", &self.codec)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// `level` is the codec's own scale (zstd 1..=19, deflate 0..=9); lz4
    /// has none.
    pub(crate) fn new(codec: Codec, level: i32) -> io::Result<Self> {
        Ok(Self {
            codec,
            zstd: if codec == Codec::Zstd {
                Some(zstd::bulk::Compressor::new(level)?)
            } else {
                None
            },
            deflate: if codec == Codec::Deflate {
                #[expect(clippy::cast_sign_loss, reason = "clamped to 0..=9")]
                let level = flate2::Compression::new(level.clamp(0, 9) as u32);
                Some(flate2::Compress::new(level, false))
            } else {
                None
            },
            level,
            scratch: Vec::new(),
        })
    }

    /// Appends `raw` compressed to `out`, or stored as is when compression
    /// does not make it smaller. Returns the codec actually used.
    pub(crate) fn compress(&mut self, raw: &[u8], out: &mut Vec<u8>) -> io::Result<Codec> {
        let start = out.len();
        if raw.len() >= MIN_COMPRESS {
            match self.codec {
                Codec::None => {}
                Codec::Zstd => {
                    let z = self.zstd.as_mut().expect("zstd context made in new");
                    // zstd writes from the start of its buffer, so compress
                    // into a scratch vector and append.
                    self.scratch.clear();
                    self.scratch
                        .reserve(zstd::zstd_safe::compress_bound(raw.len()));
                    z.compress_to_buffer(raw, &mut self.scratch)?;
                    out.extend_from_slice(&self.scratch);
                }
                Codec::Deflate => {
                    let d = self.deflate.as_mut().expect("deflate context made in new");
                    d.reset();
                    out.reserve(raw.len() + raw.len() / 8 + 64);
                    loop {
                        let before = d.total_in();
                        let consumed = usize::try_from(before).unwrap_or(usize::MAX);
                        let status = d
                            .compress_vec(&raw[consumed..], out, flate2::FlushCompress::Finish)
                            .map_err(io::Error::other)?;
                        if status == flate2::Status::StreamEnd {
                            break;
                        }
                        out.reserve(raw.len() / 4 + 64);
                    }
                }
                Codec::Lz4 => {
                    out.resize(
                        start + lz4_flex::block::get_maximum_output_size(raw.len()),
                        0,
                    );
                    let n = lz4_flex::block::compress_into(raw, &mut out[start..])
                        .map_err(io::Error::other)?;
                    out.truncate(start + n);
                }
            }
            if self.codec != Codec::None && out.len() - start < raw.len() {
                return Ok(self.codec);
            }
        }
        out.truncate(start);
        out.extend_from_slice(raw);
        Ok(Codec::None)
    }
}

/// Why decompression failed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The codec number is not one this reader knows.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// The data is not valid for the codec.
    #[error("{codec} data is corrupt: {detail}")]
    Corrupt {
        /// Codec name.
        codec: &'static str,
        /// What the codec said.
        detail: String,
    },
    /// The data decompressed to another size than recorded.
    #[error("{codec} data decompressed to {found} bytes, expected {expected}")]
    WrongSize {
        /// Codec name.
        codec: &'static str,
        /// Recorded raw size.
        expected: usize,
        /// Actual size.
        found: usize,
    },
}

/// Decompresses with reusable contexts.
#[derive(Default)]
pub(crate) struct Decompressor {
    zstd: Option<zstd::bulk::Decompressor<'static>>,
    deflate: Option<flate2::Decompress>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor").finish_non_exhaustive()
    }
}

impl Decompressor {
    /// Replaces `out` with `stored` decompressed; it must be exactly
    /// `raw_len` bytes. Never allocates more than `raw_len`.
    pub(crate) fn decompress(
        &mut self,
        codec: u8,
        stored: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecompressError> {
        let codec = Codec::from_u8(codec).ok_or(DecompressError::UnknownCodec(codec))?;
        out.clear();
        let corrupt = |detail: String| DecompressError::Corrupt {
            codec: codec.name(),
            detail,
        };
        match codec {
            Codec::None => out.extend_from_slice(stored),
            Codec::Zstd => {
                let z = match &mut self.zstd {
                    Some(z) => z,
                    none => none.insert(
                        zstd::bulk::Decompressor::new().map_err(|e| corrupt(e.to_string()))?,
                    ),
                };
                // zstd fills `out` from its start and sets its length; it
                // fails rather than write past the capacity.
                out.reserve_exact(raw_len);
                z.decompress_to_buffer(stored, out)
                    .map_err(|e| corrupt(e.to_string()))?;
            }
            Codec::Deflate => {
                let d = self
                    .deflate
                    .get_or_insert_with(|| flate2::Decompress::new(false));
                d.reset(false);
                out.reserve_exact(raw_len);
                let status = d
                    .decompress_vec(stored, out, flate2::FlushDecompress::Finish)
                    .map_err(|e| corrupt(e.to_string()))?;
                if status != flate2::Status::StreamEnd {
                    return Err(corrupt("the stream does not end where recorded".into()));
                }
            }
            Codec::Lz4 => {
                // LZ4 expands at most about 255 times; refuse larger claims
                // before zero-filling the output.
                if raw_len > stored.len().saturating_mul(255).saturating_add(64) {
                    return Err(corrupt(format!("{raw_len} bytes from {}", stored.len())));
                }
                out.resize(raw_len, 0);
                let n = lz4_flex::block::decompress_into(stored, out)
                    .map_err(|e| corrupt(e.to_string()))?;
                out.truncate(n);
            }
        }
        if out.len() != raw_len {
            return Err(DecompressError::WrongSize {
                codec: codec.name(),
                expected: raw_len,
                found: out.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_and_checks_sizes() {
        let raw: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in [Codec::None, Codec::Zstd, Codec::Deflate, Codec::Lz4] {
            let mut c = Compressor::new(codec, 3).unwrap();
            let mut stored = Vec::new();
            let used = c.compress(&raw, &mut stored).unwrap();
            assert_eq!(used, codec, "{codec:?} should shrink repetitive data");
            let mut d = Decompressor::default();
            let mut out = Vec::new();
            d.decompress(used as u8, &stored, raw.len(), &mut out)
                .unwrap();
            assert_eq!(out, raw, "{codec:?}");
            // A wrong recorded size is an error, not a larger allocation.
            let err = d.decompress(used as u8, &stored, raw.len() - 1, &mut out);
            assert!(err.is_err(), "{codec:?} accepted a wrong size");
        }
    }

    #[test]
    fn incompressible_and_tiny_data_is_stored() {
        let mut c = Compressor::new(Codec::Zstd, 3).unwrap();
        let mut out = Vec::new();
        assert_eq!(c.compress(b"tiny", &mut out).unwrap(), Codec::None);
        assert_eq!(out, b"tiny");
    }

    #[test]
    fn garbage_is_an_error() {
        let mut d = Decompressor::default();
        let mut out = Vec::new();
        for codec in [1u8, 2, 3] {
            assert!(
                d.decompress(codec, &[0xde, 0xad, 0xbe, 0xef], 100, &mut out)
                    .is_err()
            );
        }
        assert!(matches!(
            d.decompress(9, &[], 0, &mut out),
            Err(DecompressError::UnknownCodec(9))
        ));
    }
}
