//! Structured queries (ABI 1.4): the names of the queries a protocol plugin may send as
//! [`kind::QUERY`], their columns, and the one encoding of the [`kind::TABLE`] that answers them,
//! built by the host ([`TableBuilder`]) and read by plugins ([`Table`]).
//!
//! A TABLE has two arguments: the column names, then the cells row by row. Each is a run of
//! cells, every cell a 4-byte little-endian length and that many bytes, so a function name
//! holding a tab, a newline or a NUL arrives as it is, which admin text cannot promise. Numbers
//! are decimal text. Two arguments rather than one per cell because a host frame carries at
//! most [`MAX_ARGS`](crate::gear::MAX_ARGS) arguments. Readers find columns by name
//! ([`Table::column`]): a later minor version may append columns without breaking them.
//!
//! [`kind::QUERY`]: crate::abi::kind::QUERY
//! [`kind::TABLE`]: crate::abi::kind::TABLE

use std::fmt;

/// The queries the host answers, with their columns in order.
pub mod query {
    /// One row per function the engine knows, in the engine's order.
    pub const FUNCTIONS: &str = "functions";
    /// Columns of [`FUNCTIONS`]: jobs queued or running, jobs running, CAN_DO registrations,
    /// jobs waiting per priority, and jobs ended (summed over priorities and failure reasons).
    pub const FUNCTIONS_COLUMNS: [&str; 9] = [
        "name",
        "total",
        "running",
        "workers",
        "queued_high",
        "queued_normal",
        "queued_low",
        "completed",
        "failed",
    ];
    /// One row per open connection (clients, workers and admin peers alike), in the order of
    /// the admin `workers` listing.
    pub const WORKERS: &str = "workers";
    /// Columns of [`WORKERS`]: `conn` is an id unique among open connections (the key of
    /// [`ABILITIES`]), `fd` the socket's descriptor, `client_id` `-` until SET_CLIENT_ID.
    pub const WORKERS_COLUMNS: [&str; 5] = ["conn", "fd", "ip", "client_id", "protocol"];
    /// One row per CAN_DO registration, per connection newest first (duplicates kept).
    pub const ABILITIES: &str = "abilities";
    /// Columns of [`ABILITIES`]: the connection (`conn` of [`WORKERS`]) and the function.
    pub const ABILITIES_COLUMNS: [&str; 2] = ["conn", "function"];
}

/// Builds the arguments of a [`kind::TABLE`](crate::abi::kind::TABLE), row by row.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    columns: Vec<u8>,
    cells: Vec<u8>,
}

/// Appends one length-prefixed cell.
fn put_cell(out: &mut Vec<u8>, cell: &[u8]) {
    let len = u32::try_from(cell.len()).expect("a table cell under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(cell);
}

impl TableBuilder {
    /// An empty table with these columns (at least one).
    pub fn new(columns: &[&str]) -> TableBuilder {
        assert!(!columns.is_empty(), "a table has at least one column");
        let mut names = Vec::new();
        for c in columns {
            put_cell(&mut names, c.as_bytes());
        }
        TableBuilder {
            columns: names,
            cells: Vec::new(),
        }
    }

    /// Appends one cell of bytes; rows are filled left to right, top to bottom.
    pub fn text(&mut self, cell: &[u8]) -> &mut TableBuilder {
        put_cell(&mut self.cells, cell);
        self
    }

    /// Appends one numeric cell as decimal text.
    pub fn num(&mut self, n: impl Into<u64>) -> &mut TableBuilder {
        put_cell(&mut self.cells, n.into().to_string().as_bytes());
        self
    }

    /// The two arguments of the response: the column names and the cells.
    pub fn args(&self) -> [&[u8]; 2] {
        [&self.columns, &self.cells]
    }
}

/// Why a response's arguments are not a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// Not two arguments, or no column names.
    Shape,
    /// A cell's length runs past the end of its argument.
    Truncated,
    /// The cells do not fill whole rows.
    Ragged,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableError::Shape => "a table needs its column names and its cells",
            TableError::Truncated => "a table cell runs past its argument",
            TableError::Ragged => "a table whose cells do not fill its rows",
        })
    }
}

impl std::error::Error for TableError {}

/// Splits one argument into its length-prefixed cells.
fn cells(mut arg: &[u8]) -> Result<Vec<&[u8]>, TableError> {
    let mut out = Vec::new();
    while !arg.is_empty() {
        let (len, rest) = arg.split_first_chunk::<4>().ok_or(TableError::Truncated)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(TableError::Truncated);
        }
        let (cell, rest) = rest.split_at(len);
        out.push(cell);
        arg = rest;
    }
    Ok(out)
}

/// A [`kind::TABLE`](crate::abi::kind::TABLE) read from a response's arguments.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    columns: Vec<&'a [u8]>,
    cells: Vec<&'a [u8]>,
}

impl<'a> Table<'a> {
    /// Reads the arguments of a TABLE response.
    pub fn parse(args: &[&'a [u8]]) -> Result<Table<'a>, TableError> {
        let [names, body] = args else {
            return Err(TableError::Shape);
        };
        let columns = cells(names)?;
        if columns.is_empty() {
            return Err(TableError::Shape);
        }
        let cells = cells(body)?;
        if cells.len() % columns.len() != 0 {
            return Err(TableError::Ragged);
        }
        Ok(Table { columns, cells })
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[&'a [u8]] {
        &self.columns
    }

    /// The position of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name.as_bytes())
    }

    /// The rows, in the order the host sent them.
    pub fn rows(&self) -> impl Iterator<Item = Row<'a, '_>> {
        self.cells.chunks_exact(self.columns.len()).map(Row)
    }
}

/// One row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a, 't>(&'t [&'a [u8]]);

impl<'a> Row<'a, '_> {
    /// The cell in column `col` (empty when there is no such column).
    pub fn get(&self, col: Option<usize>) -> &'a [u8] {
        col.and_then(|c| self.0.get(c).copied()).unwrap_or(b"")
    }

    /// The cell in column `col` as a number (`None` when absent or not decimal).
    pub fn num(&self, col: Option<usize>) -> Option<u64> {
        std::str::from_utf8(self.get(col)).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_table_reads_back_cell_for_cell() {
        let mut b = TableBuilder::new(&["name", "n"]);
        b.text(b"a\tb\nc").num(7u32).text(b"").num(0u64);
        let args = b.args();
        let t = Table::parse(&args).unwrap();
        let (name, n) = (t.column("name"), t.column("n"));
        let rows: Vec<(&[u8], Option<u64>)> = t.rows().map(|r| (r.get(name), r.num(n))).collect();
        assert_eq!(rows, vec![(&b"a\tb\nc"[..], Some(7)), (&b""[..], Some(0))]);
        assert_eq!(t.column("missing"), None);
        assert_eq!(t.rows().next().unwrap().get(None), b"");
    }

    #[test]
    fn malformed_tables_are_refused() {
        let one = |b: &[u8]| {
            let mut v = Vec::new();
            put_cell(&mut v, b);
            v
        };
        let (a, ab) = (one(b"a"), [one(b"a"), one(b"b")].concat());
        let cases: [(Vec<&[u8]>, TableError); 5] = [
            (vec![], TableError::Shape),
            (vec![b"", b""], TableError::Shape),
            (vec![&a[..3], b""], TableError::Truncated),
            (vec![&ab, &a], TableError::Ragged),
            (vec![&a, &a[..4]], TableError::Truncated),
        ];
        for (args, want) in cases {
            assert_eq!(Table::parse(&args).unwrap_err(), want, "{args:?}");
        }
    }
}
