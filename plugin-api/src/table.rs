//! Structured queries (ABI 1.4): the names of the queries a protocol plugin may send as
//! [`kind::QUERY`], their columns, and the one encoding of the [`kind::TABLE`] that answers them,
//! built by the host ([`TableBuilder`]) and read by plugins ([`Table`]).
//!
//! A table is a list of arguments: the column count as decimal text, the column names, then the
//! cells row by row. Every cell is its own argument, so a function name holding a tab, a newline
//! or a NUL arrives as it is, which admin text cannot promise. Readers find columns by name
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
    /// The count, the column names, then the cells.
    args: Vec<Vec<u8>>,
}

impl TableBuilder {
    /// An empty table with these columns (at least one).
    pub fn new(columns: &[&str]) -> TableBuilder {
        assert!(!columns.is_empty(), "a table has at least one column");
        let mut args = Vec::with_capacity(1 + columns.len());
        args.push(columns.len().to_string().into_bytes());
        args.extend(columns.iter().map(|c| c.as_bytes().to_vec()));
        TableBuilder { args }
    }

    /// Appends one cell of bytes; rows are filled left to right, top to bottom.
    pub fn text(&mut self, cell: &[u8]) -> &mut TableBuilder {
        self.args.push(cell.to_vec());
        self
    }

    /// Appends one numeric cell as decimal text.
    pub fn num(&mut self, n: impl Into<u64>) -> &mut TableBuilder {
        self.args.push(n.into().to_string().into_bytes());
        self
    }

    /// The arguments of the response, borrowed.
    pub fn args(&self) -> Vec<&[u8]> {
        self.args.iter().map(Vec::as_slice).collect()
    }
}

/// Why a response's arguments are not a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// The first argument is not a positive decimal column count.
    BadCount,
    /// Fewer arguments than the column names need, or a last row cut short.
    Ragged,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableError::BadCount => "table without a valid column count",
            TableError::Ragged => "table whose cells do not fill its rows",
        })
    }
}

impl std::error::Error for TableError {}

/// A [`kind::TABLE`](crate::abi::kind::TABLE) read from a response's arguments.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    columns: &'a [&'a [u8]],
    cells: &'a [&'a [u8]],
}

impl<'a> Table<'a> {
    /// Reads the arguments of a TABLE response.
    pub fn parse(args: &'a [&'a [u8]]) -> Result<Table<'a>, TableError> {
        let (count, rest) = args.split_first().ok_or(TableError::BadCount)?;
        let n = std::str::from_utf8(count)
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or(TableError::BadCount)?;
        if rest.len() < n || (rest.len() - n) % n != 0 {
            return Err(TableError::Ragged);
        }
        let (columns, cells) = rest.split_at(n);
        Ok(Table { columns, cells })
    }

    /// The position of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name.as_bytes())
    }

    /// The rows, in the order the host sent them.
    pub fn rows(&self) -> impl Iterator<Item = Row<'a>> + 'a {
        self.cells.chunks_exact(self.columns.len()).map(Row)
    }
}

/// One row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a>(&'a [&'a [u8]]);

impl<'a> Row<'a> {
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
        let cases: [(&[&[u8]], TableError); 4] = [
            (&[], TableError::BadCount),
            (&[b"0"], TableError::BadCount),
            (&[b"2", b"a"], TableError::Ragged),
            (&[b"2", b"a", b"b", b"x"], TableError::Ragged),
        ];
        for (args, want) in cases {
            assert_eq!(Table::parse(args).unwrap_err(), want, "{args:?}");
        }
    }
}
