//! Many new jobs in a few statements (`add_batch`, ABI 1.2): the server hands over its whole group
//! of submits, and one round trip per job would dominate the group's time; here a
//! statement carries up to [`MAX_ROWS`] jobs as arrays, and answers which of them were refused.
//!
//! The statement ([`insert_sql`]) unnests the arrays WITH ORDINALITY, inserts the rows in order
//! with `ON CONFLICT DO NOTHING` (a duplicate is refused without aborting the transaction, as a
//! single add is), and returns the ordinal of every input row that was not inserted: those are
//! the duplicates. Values are bound as int8/text/bytea arrays and cast to the table's columns by
//! the INSERT's assignment casts, so tables with other integer widths (`when_to_run BIGINT`) work
//! as they do for a single add.
//!
//! A key repeated inside one statement would make the second row a silent duplicate of the
//! first, and matching on the key could not tell them apart: [`chunks`] starts a new statement
//! before such a row, so the later one meets the earlier, now stored, row and is refused.

use gearmand_plugin_api::QueueJob;
use gearmand_sql_keytext as keytext;
use postgres::{Client, Statement};
use std::borrow::Cow;
use std::collections::HashSet;

/// Most rows one statement carries.
pub const MAX_ROWS: usize = 2048;
/// Most bytes (keys and data) one statement carries: bounded memory on both sides, and far from
/// PostgreSQL's 1 GB limit on one value (each array is one value). A larger row goes alone.
pub const MAX_BYTES: usize = 16 << 20;

/// One job of a batch with its keys as the columns hold them.
pub struct Row<'a> {
    /// Its position in the batch the host passed.
    pub index: usize,
    pub unique: Cow<'a, str>,
    pub function: Cow<'a, str>,
    pub priority: i64,
    pub data: &'a [u8],
    pub when: i64,
}

impl<'a> Row<'a> {
    pub fn new(index: usize, job: &QueueJob<'a>) -> Row<'a> {
        Row {
            index,
            unique: keytext::encode(job.unique),
            function: keytext::encode(job.function),
            priority: job.priority as i64,
            data: job.data,
            when: job.when,
        }
    }

    fn bytes(&self) -> usize {
        self.unique.len() + self.function.len() + self.data.len()
    }
}

/// Splits `rows` into runs of one statement each: at most [`MAX_ROWS`] rows and [`MAX_BYTES`]
/// bytes (a larger row goes alone), and no (unique, function) twice in a run.
pub fn chunks<'r, 'a>(rows: &'r [Row<'a>]) -> Vec<&'r [Row<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    let mut keys: HashSet<(&str, &str)> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let key = (&*row.unique, &*row.function);
        let full = i - start == MAX_ROWS || (i > start && bytes + row.bytes() > MAX_BYTES);
        if full || keys.contains(&key) {
            out.push(&rows[start..i]);
            (start, bytes) = (i, 0);
            keys.clear();
        }
        keys.insert(key);
        bytes += row.bytes();
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// The batch INSERT into `table` (a validated name); returns the 1-based ordinals of the input
/// rows that were not inserted.
pub fn insert_sql(table: &str) -> String {
    format!(
        "WITH input AS (SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::bytea[], \
         $5::int8[]) WITH ORDINALITY AS i(p, u, f, d, w, n)), \
         stored AS (INSERT INTO {table} (priority, unique_key, function_name, data, when_to_run) \
         SELECT p, u, f, d, w FROM input ORDER BY n ON CONFLICT DO NOTHING \
         RETURNING unique_key, function_name) \
         SELECT n FROM input WHERE NOT EXISTS (SELECT 1 FROM stored s \
         WHERE s.unique_key = input.u AND s.function_name = input.f)"
    )
}

/// Runs one chunk (from [`chunks`]) through the prepared [`insert_sql`]; returns the positions in
/// `chunk` of the rows refused because their key is already stored.
pub fn insert(
    client: &mut Client,
    statement: &Statement,
    chunk: &[Row<'_>],
) -> Result<Vec<usize>, postgres::Error> {
    let priorities: Vec<i64> = chunk.iter().map(|r| r.priority).collect();
    let uniques: Vec<&str> = chunk.iter().map(|r| &*r.unique).collect();
    let functions: Vec<&str> = chunk.iter().map(|r| &*r.function).collect();
    let data: Vec<&[u8]> = chunk.iter().map(|r| r.data).collect();
    let whens: Vec<i64> = chunk.iter().map(|r| r.when).collect();
    let rows = client.query(
        statement,
        &[&priorities, &uniques, &functions, &data, &whens],
    )?;
    let mut refused = Vec::with_capacity(rows.len());
    for row in rows {
        let ordinal: i64 = row.try_get(0)?;
        // Ordinals count from 1; anything else cannot come from the statement above.
        if let Some(i) = usize::try_from(ordinal).ok().and_then(|n| n.checked_sub(1)) {
            if i < chunk.len() {
                refused.push(i);
            }
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gearmand_plugin_api::Priority;

    fn job<'a>(unique: &'a [u8], function: &'a [u8], data: &'a [u8]) -> QueueJob<'a> {
        QueueJob {
            unique,
            function,
            data,
            priority: Priority::Normal,
            when: 0,
        }
    }

    fn sizes(rows: &[Row<'_>]) -> Vec<usize> {
        chunks(rows).iter().map(|c| c.len()).collect()
    }

    #[test]
    fn a_repeated_key_starts_a_new_statement() {
        let jobs = [
            job(b"a", b"f", b""),
            job(b"a", b"g", b""), // another function: another key
            job(b"b", b"f", b""),
            job(b"a", b"f", b"again"),
            job(b"a", b"f", b"and again"),
        ];
        let rows: Vec<Row<'_>> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| Row::new(i, j))
            .collect();
        assert_eq!(sizes(&rows), [3, 1, 1]);
        assert_eq!(chunks(&rows)[1][0].index, 3);
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn rows_and_bytes_are_bounded() {
        let uniques: Vec<String> = (0..MAX_ROWS * 2 + 1).map(|i| format!("u{i}")).collect();
        let jobs: Vec<QueueJob<'_>> = uniques
            .iter()
            .map(|u| job(u.as_bytes(), b"f", b""))
            .collect();
        let rows: Vec<Row<'_>> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| Row::new(i, j))
            .collect();
        assert_eq!(sizes(&rows), [MAX_ROWS, MAX_ROWS, 1]);

        let big = vec![0u8; MAX_BYTES / 2];
        let huge = vec![0u8; MAX_BYTES * 2];
        let jobs = [
            job(b"1", b"f", &big),
            job(b"2", b"f", &big), // one byte of keys too many for the first statement
            job(b"3", b"f", &huge),
            job(b"4", b"f", b"small"),
        ];
        let rows: Vec<Row<'_>> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| Row::new(i, j))
            .collect();
        assert_eq!(sizes(&rows), [1, 1, 1, 1]);
    }

    #[test]
    fn non_utf8_keys_are_compared_as_stored() {
        let jobs = [job(b"\xff", b"f", b""), job(b"\xfe", b"f", b"")];
        let rows: Vec<Row<'_>> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| Row::new(i, j))
            .collect();
        assert_eq!(sizes(&rows), [2], "distinct bytes stay distinct keys");
    }
}
