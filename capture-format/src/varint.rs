//! LEB128 variable-length integers and a bounds-checked byte cursor.

/// Appends `v` as an unsigned LEB128 varint (1 to 10 bytes).
#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        #[expect(clippy::cast_possible_truncation, reason = "low 7 bits")]
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    #[expect(clippy::cast_possible_truncation, reason = "v < 0x80")]
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded, so that small negative numbers stay short.
#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

/// Maps signed to unsigned: 0, -1, 1, -2, ... become 0, 1, 2, 3, ...
#[inline]
#[expect(clippy::cast_sign_loss, reason = "zigzag is a bit-level bijection")]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
#[expect(clippy::cast_possible_wrap, reason = "zigzag is a bit-level bijection")]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends a length-prefixed byte string.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Why a cursor read failed; the caller adds where.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CursorError {
    /// The input ended inside a value.
    End,
    /// A varint longer than 10 bytes, or a value out of range.
    Overflow,
}

impl CursorError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            CursorError::End => "data ends inside a value",
            CursorError::Overflow => "a number is out of range",
        }
    }
}

/// Reads values from a byte slice, never past its end.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, CursorError> {
        // Most values in syscap's columns fit in one byte.
        if let Some(&byte) = self.bytes.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.u64_slow()
    }

    fn u64_slow(&mut self) -> Result<u64, CursorError> {
        // With ten bytes at hand no byte needs its own bounds check.
        if let Some(window) = self.bytes.get(self.pos..self.pos + 10) {
            let mut value = 0u64;
            for (i, &byte) in window.iter().enumerate() {
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte < 0x80 {
                    if i == 9 && byte > 1 {
                        return Err(CursorError::Overflow);
                    }
                    self.pos += i + 1;
                    return Ok(value);
                }
            }
            return Err(CursorError::Overflow);
        }
        self.u64_tail()
    }

    #[cold]
    fn u64_tail(&mut self) -> Result<u64, CursorError> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(CursorError::End);
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(CursorError::Overflow);
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(CursorError::Overflow);
            }
        }
    }

    #[inline]
    pub(crate) fn i64(&mut self) -> Result<i64, CursorError> {
        self.u64().map(unzigzag)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CursorError> {
        u32::try_from(self.u64()?).map_err(|_| CursorError::Overflow)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CursorError> {
        u16::try_from(self.u64()?).map_err(|_| CursorError::Overflow)
    }

    /// A count of items that each take at least one byte: bounded by what is
    /// left, so a corrupt count cannot make the caller over-allocate.
    pub(crate) fn count(&mut self) -> Result<usize, CursorError> {
        let n = usize::try_from(self.u64()?).map_err(|_| CursorError::Overflow)?;
        if n > self.remaining() {
            return Err(CursorError::Overflow);
        }
        Ok(n)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, CursorError> {
        let byte = *self.bytes.get(self.pos).ok_or(CursorError::End)?;
        self.pos += 1;
        Ok(byte)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CursorError> {
        let end = self.pos.checked_add(n).ok_or(CursorError::Overflow)?;
        let slice = self.bytes.get(self.pos..end).ok_or(CursorError::End)?;
        self.pos = end;
        Ok(slice)
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], CursorError> {
        let n = usize::try_from(self.u64()?).map_err(|_| CursorError::Overflow)?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 1]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            ),
        ];
        for &(v, bytes) in cases {
            let mut out = Vec::new();
            put_u64(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(Cursor::new(bytes).u64(), Ok(v));
        }
    }

    #[test]
    fn rejects_bad_input() {
        let cases: &[(&[u8], CursorError)] = &[
            (&[], CursorError::End),
            (&[0x80], CursorError::End),
            (&[0xff; 10], CursorError::Overflow),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2],
                CursorError::Overflow,
            ),
            (&[0xff; 11], CursorError::Overflow),
        ];
        for &(bytes, want) in cases {
            assert_eq!(Cursor::new(bytes).u64(), Err(want), "{bytes:02x?}");
        }
        assert_eq!(Cursor::new(&[5, 1, 2]).bytes(), Err(CursorError::End));
        assert_eq!(Cursor::new(&[9, 1, 2]).count(), Err(CursorError::Overflow));
    }

    proptest! {
        #[test]
        fn signed_round_trip(v in any::<i64>()) {
            let mut out = Vec::new();
            put_i64(&mut out, v);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.i64(), Ok(v));
            prop_assert!(c.is_empty());
        }
    }
}
