//! The per-chunk string dictionary: every path, name, argument vector and
//! socket address appears once per chunk; events refer to it by index.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::varint::{Cursor, CursorError, put_u64};

/// Interns byte strings without allocating per string: all bytes live in one
/// pool, the hash table stores indices.
#[derive(Default)]
pub(crate) struct DictBuilder {
    pool: Vec<u8>,
    ends: Vec<u32>,
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for DictBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictBuilder")
            .field("strings", &self.ends.len())
            .field("bytes", &self.pool.len())
            .finish_non_exhaustive()
    }
}

/// String `i` of a pool whose strings end at `ends`.
fn slice<'a>(pool: &'a [u8], ends: &[u32], i: u32) -> &'a [u8] {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &pool[start..ends[i] as usize]
}

impl DictBuilder {
    /// The index of `s`, adding it when new.
    pub(crate) fn intern(&mut self, s: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(s);
        let Self {
            pool,
            ends,
            table,
            hasher,
        } = self;
        if let Some(&i) = table.find(hash, |&i| slice(pool, ends, i) == s) {
            return i;
        }
        let index = u32::try_from(ends.len()).expect("a chunk holds fewer than 2^32 strings");
        pool.extend_from_slice(s);
        ends.push(u32::try_from(pool.len()).expect("a chunk dictionary is smaller than 4 GiB"));
        table.insert_unique(hash, index, |&i| hasher.hash_one(slice(pool, ends, i)));
        index
    }

    /// The string at `i` (which must have come from [`Self::intern`]).
    pub(crate) fn string(&self, i: u32) -> &[u8] {
        slice(&self.pool, &self.ends, i)
    }

    /// Bytes held.
    pub(crate) fn byte_len(&self) -> usize {
        self.pool.len() + self.ends.len() * 2
    }

    /// Encodes as: count, each length, then all bytes. Lengths and text are
    /// kept apart because they compress better that way.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.ends.len() as u64);
        let mut start = 0;
        for &end in &self.ends {
            put_u64(out, u64::from(end - start));
            start = end;
        }
        out.extend_from_slice(&self.pool);
    }

    pub(crate) fn clear(&mut self) {
        self.pool.clear();
        self.ends.clear();
        self.table.clear();
    }
}

/// A decoded dictionary, borrowing nothing: the decoded column bytes are
/// kept and strings are slices of them.
#[derive(Default, Debug, Clone)]
pub(crate) struct Dict {
    data: Vec<u8>,
    /// `data[starts[i]..starts[i + 1]]` is string `i`.
    starts: Vec<u32>,
}

impl Dict {
    /// Decodes from a decompressed column, reusing this dictionary's memory.
    pub(crate) fn decode_from(&mut self, column: &[u8]) -> Result<(), CursorError> {
        self.data.clear();
        self.starts.clear();
        let mut cur = Cursor::new(column);
        let n = cur.count()?;
        self.starts.reserve(n + 1);
        let mut total: u64 = 0;
        self.starts.push(0);
        for _ in 0..n {
            total = total.checked_add(cur.u64()?).ok_or(CursorError::Overflow)?;
            let end = u32::try_from(total).map_err(|_| CursorError::Overflow)?;
            self.starts.push(end);
        }
        let rest = cur.take(cur.remaining())?;
        if rest.len() as u64 != total {
            return Err(CursorError::End);
        }
        self.data.extend_from_slice(rest);
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// String `i`; empty when out of range (decoders check ranges first).
    #[inline]
    pub(crate) fn get(&self, i: u32) -> &[u8] {
        let i = i as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&s), Some(&e)) => &self.data[s as usize..e as usize],
            _ => &[],
        }
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.starts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_round_trips() {
        let mut b = DictBuilder::default();
        let words: [&[u8]; 5] = [b"/etc/passwd", b"", b"bash", b"/etc/passwd", b"bash"];
        let ids: Vec<u32> = words.iter().map(|w| b.intern(w)).collect();
        assert_eq!(ids, [0, 1, 2, 0, 2]);
        assert_eq!(b.string(2), b"bash");
        let mut col = Vec::new();
        b.encode(&mut col);
        let mut d = Dict::default();
        d.decode_from(&col).unwrap();
        assert_eq!(d.len(), 3);
        for (w, &i) in words.iter().zip(&ids) {
            assert_eq!(d.get(i), *w);
        }
        assert_eq!(d.get(99), b"");
        // Truncated text is an error.
        assert!(d.decode_from(&col[..col.len() - 1]).is_err());
    }

    #[test]
    fn many_strings_keep_their_indices() {
        let mut b = DictBuilder::default();
        for i in 0..10_000u32 {
            assert_eq!(b.intern(format!("/path/{i}").as_bytes()), i);
        }
        for i in (0..10_000u32).rev() {
            assert_eq!(b.intern(format!("/path/{i}").as_bytes()), i);
        }
    }
}
