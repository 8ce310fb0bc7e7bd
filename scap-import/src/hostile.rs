//! Hostile `.scap.gz` files, built on purpose: tables of millions of
//! copies of one entry, which gzip shrinks a thousand times. For the tests,
//! fuzz seeds and measurements of what the importer does with them; the
//! fd list shape once cost `syscap info` 3.9 GiB for a 283 KB file, and 12
//! GiB and 35 s for four such blocks (issue 20).

use std::io::Write;

use super::testfile::{event_block, process_entry, section_header};

/// A table block of the starting state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScapTable {
    /// A process list (version 1): entries of thread 0, 52 bytes each.
    Processes,
    /// An fd list (version 1) of thread 100: entries of fd 0 of no type,
    /// 17 bytes each.
    Fds,
    /// A user list (version 1): entries of user 0, 15 bytes each.
    Users,
    /// An interface list (version 1): unnamed IPv4 interfaces, 16 bytes
    /// each.
    Interfaces,
}

impl ScapTable {
    /// Every table.
    pub const ALL: [Self; 4] = [Self::Processes, Self::Fds, Self::Users, Self::Interfaces];

    /// A short name, for file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Processes => "processes",
            Self::Fds => "fds",
            Self::Users => "users",
            Self::Interfaces => "interfaces",
        }
    }

    /// Its block type, the bytes its body starts with, and one entry.
    fn layout(self) -> (u32, Vec<u8>, Vec<u8>) {
        match self {
            Self::Processes => (0x202, Vec::new(), vec![0; 52]),
            Self::Fds => (0x203, 100i64.to_le_bytes().to_vec(), vec![0; 17]),
            Self::Users => (0x206, Vec::new(), vec![0; 15]),
            Self::Interfaces => {
                let mut entry = vec![3, 0, 0, 0]; // IPv4 without speed, no name
                entry.extend([0; 12]);
                (0x205, Vec::new(), entry)
            }
        }
    }
}

/// A gzip'd `.scap` file: a section header, a process list of curl (pid
/// 100), `blocks` blocks of `table` whose bodies hold `body_len` bytes
/// (entries repeated), then an `open` call. Written to `out` as it is made:
/// the raw file would be `blocks * body_len` bytes.
pub fn table_bomb(
    out: impl Write,
    table: ScapTable,
    blocks: usize,
    body_len: usize,
) -> std::io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::best());
    gz.write_all(&section_header())?;
    let curl = process_entry(5, 100, 100, 1, b"curl", &[]);
    gz.write_all(&super::testfile::block(0x211, &curl))?;
    let (id, head, entry) = table.layout();
    let entries = (body_len - head.len()) / entry.len();
    let body = head.len() + entries * entry.len();
    let total = u32::try_from((8 + body + 4).next_multiple_of(4))
        .map_err(|_| std::io::Error::other("a block above 4 GiB"))?;
    let many = entry.repeat(64 << 10);
    for _ in 0..blocks {
        gz.write_all(&id.to_le_bytes())?;
        gz.write_all(&total.to_le_bytes())?;
        gz.write_all(&head)?;
        let mut left = entries;
        while left > 0 {
            let n = left.min(64 << 10);
            gz.write_all(&many[..n * entry.len()])?;
            left -= n;
        }
        gz.write_all(&[0; 3][..total as usize - 12 - body])?;
        gz.write_all(&total.to_le_bytes())?;
    }
    let open_e = 2;
    gz.write_all(&event_block(open_e, 1_000, 100, &[], true, None))?;
    gz.finish()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Importer;
    use capture_format::file::hostile::{CountingAlloc, peak_alloc};
    use capture_format::file::{CaptureReader, WriterOptions};

    // The tests of this crate count the bytes each thread allocates.
    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc;

    #[test]
    fn tables_of_one_entry_repeated_cost_one_entry() {
        // Two blocks of 4 MiB each (9 KB of gzip): the importer read them
        // whole and kept every entry, hundreds of bytes each (3.4 GB for one
        // block of 256 MiB).
        let mut failed = Vec::new();
        for table in ScapTable::ALL {
            let mut gz = Vec::new();
            table_bomb(&mut gz, table, 2, 4 << 20).unwrap();
            let (imported, peak) = peak_alloc(|| {
                let mut importer = Importer::new(std::io::Cursor::new(gz.clone()))?;
                let s = importer.snapshot();
                let kept = match table {
                    ScapTable::Processes => s.threads.len(),
                    ScapTable::Fds => s.fds.len(),
                    ScapTable::Users => s.users.len(),
                    ScapTable::Interfaces => importer.interfaces().len(),
                };
                let bytes = importer
                    .write_capture(Vec::new(), WriterOptions::default())
                    .map_err(|e| crate::ScapError::Io {
                        offset: 0,
                        source: std::io::Error::other(e),
                    })?;
                Ok::<_, crate::ScapError>((kept, bytes))
            });
            match imported {
                // One entry, however many blocks list it (and curl, the
                // process list's).
                Ok((kept, bytes)) if kept <= 2 => {
                    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
                    assert_eq!(reader.index().events, 1, "{table:?}");
                }
                Ok((kept, _)) => failed.push(format!("{table:?}: kept {kept} entries")),
                Err(e) => failed.push(format!("{table:?}: {e}")),
            }
            if peak > 2 << 20 {
                failed.push(format!("{table:?}: held {peak} bytes"));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
