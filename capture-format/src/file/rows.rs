//! Self-describing tables of rows, used by every metadata structure (the
//! snapshot, the footer, the thread and fd tables of a chunk).
//!
//! A table starts with its row count and a kind byte per field, so a reader
//! can skip fields added by newer writers and default fields that older
//! writers did not have. Fields are varints or length-prefixed bytes.

use crate::varint::{Cursor, CursorError, put_bytes, put_i64, put_u64};

/// How a field is stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FieldKind {
    /// An unsigned varint (signed values are zigzag-encoded first).
    Varint = 0,
    /// A length-prefixed byte string.
    Bytes = 1,
}

/// Writes the table header: row count and field kinds.
pub(crate) fn put_table_header(out: &mut Vec<u8>, rows: usize, kinds: &[FieldKind]) {
    put_u64(out, rows as u64);
    put_u64(out, kinds.len() as u64);
    out.extend(kinds.iter().map(|&k| k as u8));
}

/// Appends one row's fields; the caller writes them in table order.
pub(crate) struct RowWriter<'a>(pub &'a mut Vec<u8>);

impl RowWriter<'_> {
    pub(crate) fn u(&mut self, v: u64) -> &mut Self {
        put_u64(self.0, v);
        self
    }
    pub(crate) fn i(&mut self, v: i64) -> &mut Self {
        put_i64(self.0, v);
        self
    }
    pub(crate) fn b(&mut self, v: &[u8]) -> &mut Self {
        put_bytes(self.0, v);
        self
    }
}

/// One field of a row as read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Field<'a> {
    /// The writer did not have this field.
    #[default]
    Missing,
    Varint(u64),
    Bytes(&'a [u8]),
}

impl<'a> Field<'a> {
    pub(crate) fn u(self) -> u64 {
        match self {
            Field::Varint(v) => v,
            _ => 0,
        }
    }
    pub(crate) fn i(self) -> i64 {
        crate::varint::unzigzag(self.u())
    }
    /// A signed value, `missing` when the writer did not have the field.
    pub(crate) fn i_or(self, missing: i64) -> i64 {
        match self {
            Field::Missing => missing,
            v => v.i(),
        }
    }
    pub(crate) fn u32(self) -> u32 {
        u32::try_from(self.u()).unwrap_or(u32::MAX)
    }
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Field::Bytes(b) => b,
            _ => &[],
        }
    }
}

/// Why a table could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TableError {
    Cursor(CursorError),
    /// A known field is stored with another kind than this reader expects.
    KindMismatch {
        field: usize,
    },
    /// A field kind byte this reader does not know.
    UnknownKind(u8),
    /// More rows than the bytes left could hold (each field of a row takes
    /// at least a byte).
    RowsPastEnd {
        rows: usize,
        fields: usize,
        bytes: usize,
    },
    /// The tables of a compressed block hold more rows than its stored
    /// size allows ([`RowBudget`]).
    TooManyRows {
        rows: usize,
        limit: usize,
    },
}

impl From<CursorError> for TableError {
    fn from(e: CursorError) -> Self {
        TableError::Cursor(e)
    }
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::Cursor(e) => f.write_str(e.describe()),
            TableError::KindMismatch { field } => {
                write!(f, "field {field} has an unexpected kind")
            }
            TableError::UnknownKind(k) => write!(f, "unknown field kind {k}"),
            TableError::RowsPastEnd {
                rows,
                fields,
                bytes,
            } => write!(
                f,
                "a table of {rows} rows of {fields} fields in the {bytes} bytes left"
            ),
            TableError::TooManyRows { rows, limit } => write!(
                f,
                "its tables hold {rows} rows, more than the {limit} its stored size allows \
                 ({ROWS_PER_STORED_BYTE} per byte, FORMAT.md §3.3)"
            ),
        }
    }
}

/// Rows a compressed metadata block (snapshot, footer) may hold per byte it
/// stores. Their rows list distinct things (a pid, a thread, an fd, a
/// chunk's offset), and no codec stores a row that differs from the others
/// in less than about a byte; an empty row repeated a million times
/// compresses to almost nothing, and would cost hundreds of bytes each
/// once decoded.
pub(crate) const ROWS_PER_STORED_BYTE: usize = 4;
/// Rows any block may hold, whatever its size.
const ROWS_SLACK: usize = 1024;

/// How many rows the tables of one block may still hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowBudget {
    limit: usize,
    used: usize,
}

impl RowBudget {
    /// The budget of a block that stores `stored` bytes.
    pub(crate) fn for_stored(stored: usize) -> Self {
        Self {
            limit: stored
                .saturating_mul(ROWS_PER_STORED_BYTE)
                .saturating_add(ROWS_SLACK),
            used: 0,
        }
    }

    /// Reads the header of the next table (as [`TableReader::new`]) and
    /// takes its rows out of the budget.
    pub(crate) fn table(
        &mut self,
        cur: &mut Cursor<'_>,
        expected: &[FieldKind],
    ) -> Result<TableReader, TableError> {
        let table = TableReader::new(cur, expected)?;
        self.used = self.used.saturating_add(table.rows);
        if self.used > self.limit {
            return Err(TableError::TooManyRows {
                rows: self.used,
                limit: self.limit,
            });
        }
        Ok(table)
    }
}

/// Reads the rows of one table.
pub(crate) struct TableReader {
    rows: usize,
    kinds: Vec<FieldKind>,
}

impl TableReader {
    /// Reads the table header and checks the fields this reader knows.
    pub(crate) fn new(cur: &mut Cursor<'_>, expected: &[FieldKind]) -> Result<Self, TableError> {
        let rows = cur.count()?;
        let nfields = cur.count()?;
        // Rows of no fields would take no bytes, and so escape the count
        // check above.
        if rows > 0 && nfields == 0 {
            return Err(TableError::Cursor(CursorError::Overflow));
        }
        // Each field of each row takes at least a byte, after the kinds.
        let left = cur.remaining() - nfields;
        if rows.checked_mul(nfields).is_none_or(|n| n > left) {
            return Err(TableError::RowsPastEnd {
                rows,
                fields: nfields,
                bytes: left,
            });
        }
        let mut kinds = Vec::with_capacity(nfields);
        for i in 0..nfields {
            let kind = match cur.u8()? {
                0 => FieldKind::Varint,
                1 => FieldKind::Bytes,
                k => return Err(TableError::UnknownKind(k)),
            };
            if expected.get(i).is_some_and(|&e| e != kind) {
                return Err(TableError::KindMismatch { field: i });
            }
            kinds.push(kind);
        }
        Ok(Self { rows, kinds })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Reads one row into `out` (as many fields as `out` holds; missing
    /// ones stay [`Field::Missing`], extra ones are skipped).
    pub(crate) fn row<'a>(
        &self,
        cur: &mut Cursor<'a>,
        out: &mut [Field<'a>],
    ) -> Result<(), TableError> {
        out.fill(Field::Missing);
        for (i, kind) in self.kinds.iter().enumerate() {
            let field = match kind {
                FieldKind::Varint => Field::Varint(cur.u64()?),
                FieldKind::Bytes => Field::Bytes(cur.bytes()?),
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = field;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldKind::{Bytes, Varint};

    #[test]
    fn newer_and_older_writers_interoperate() {
        // A newer writer with an extra trailing field.
        let mut buf = Vec::new();
        put_table_header(&mut buf, 2, &[Varint, Bytes, Varint]);
        RowWriter(&mut buf).i(-5).b(b"one").u(7);
        RowWriter(&mut buf).i(6).b(b"two").u(8);
        let mut cur = Cursor::new(&buf);
        // An older reader knows two fields.
        let t = TableReader::new(&mut cur, &[Varint, Bytes]).unwrap();
        let mut f = [Field::Missing; 2];
        t.row(&mut cur, &mut f).unwrap();
        assert_eq!((f[0].i(), f[1].bytes()), (-5, &b"one"[..]));
        t.row(&mut cur, &mut f).unwrap();
        assert_eq!((f[0].i(), f[1].bytes()), (6, &b"two"[..]));
        assert!(cur.is_empty());
        // A newer reader knows four.
        let mut cur = Cursor::new(&buf);
        let t = TableReader::new(&mut cur, &[Varint, Bytes, Varint, Varint]).unwrap();
        let mut f = [Field::Missing; 4];
        t.row(&mut cur, &mut f).unwrap();
        assert_eq!((f[2].u(), f[3]), (7, Field::Missing));
    }

    #[test]
    fn rows_are_bounded_by_the_bytes_that_hold_them() {
        // (rows, fields, bytes of row data, whether the header is accepted)
        let cases = [
            (3, 2, 6, true),
            (3, 2, 5, false),
            (0, 2, 0, true),
            (1, 0, 9, false),
            (usize::MAX / 2, 3, 9, false),
        ];
        for (rows, fields, data, ok) in cases {
            let mut buf = Vec::new();
            put_u64(&mut buf, rows as u64);
            put_u64(&mut buf, fields as u64);
            buf.resize(buf.len() + fields + data, 0);
            let got = TableReader::new(&mut Cursor::new(&buf), &[]);
            assert_eq!(
                got.is_ok(),
                ok,
                "{rows} rows of {fields} fields in {data} bytes"
            );
        }
        // A block storing 10 bytes holds at most 4 * 10 + 1024 rows in all.
        let mut buf = Vec::new();
        for rows in [1000, 64, 1] {
            put_table_header(&mut buf, rows, &[Varint]);
            buf.resize(buf.len() + rows, 0);
        }
        let mut budget = RowBudget::for_stored(10);
        let mut cur = Cursor::new(&buf);
        for expected in [Ok(()), Ok(()), Err((1065, 1064))] {
            let got = budget.table(&mut cur, &[Varint]).map(|t| {
                for _ in 0..t.rows() {
                    t.row(&mut cur, &mut [Field::Missing]).unwrap();
                }
            });
            let got = got.map_err(|e| match e {
                TableError::TooManyRows { rows, limit } => (rows, limit),
                other => panic!("{other}"),
            });
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn kind_mismatch_is_an_error() {
        let mut buf = Vec::new();
        put_table_header(&mut buf, 0, &[Bytes]);
        let err = TableReader::new(&mut Cursor::new(&buf), &[Varint]).err();
        assert_eq!(err, Some(TableError::KindMismatch { field: 0 }));
    }
}
