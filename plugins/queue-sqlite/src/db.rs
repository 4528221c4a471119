//! The SQL of the sqlite queue: opening the file, the original's table, and the four operations
//! (the plugin's `QueuePlugin` contract, implemented on [`Db`] itself).
//!
//! Layout (C gearmand 1.1.20, byte for byte):
//! `CREATE TABLE <t> ( unique_key TEXT, function_name TEXT, priority INTEGER, data BLOB,
//! when_to_run INTEGER, PRIMARY KEY (unique_key, function_name))`.
//! Unique and function are bound as TEXT holding the raw bytes (SQLite does not check UTF-8, and
//! neither does C gearmand), data as BLOB, priority 0/1/2 and `when` (epoch seconds) as INTEGER.
//!
//! Differences from the original, all *Recommended* fixes or robustness:
//! - empty data is written as `X''` (the original wrote NULL and then refused to start);
//! - replay accepts NULL, TEXT or BLOB where the original demanded exact types;
//! - a failure in the middle of a transaction is remembered, so the next `flush` reports that
//!   earlier `add`s were lost instead of committing a half.

use crate::{DEFAULT_TABLE, OPT_DB, OPT_STORE_ON_SHUTDOWN, OPT_TABLE};
use gearmand_plugin_api::{
    Options, Priority, QueueCapabilities, QueueJob, QueuePlugin, ReplayStopped,
};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, ToSql};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The original's busy timeout: how long a statement waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_millis(6000);

/// What went wrong, as the host shows it (one line).
#[derive(Debug)]
pub enum Error {
    /// `--libsqlite3-db` was not given.
    MissingDb,
    /// The table name is not a plain identifier.
    BadTable(String),
    /// An SQLite call failed; `what` says which step.
    Sql {
        what: &'static str,
        source: rusqlite::Error,
    },
    /// An epoch job, but the table has no `when_to_run` column and adding it failed.
    NoWhenColumn,
    /// The transaction holding earlier `add`s was rolled back by SQLite (disk full, I/O error...).
    Lost(String),
    /// The host's replay callback refused a job.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingDb => write!(f, "missing required --libsqlite3-db=<dbfile> argument"),
            Error::BadTable(t) => write!(
                f,
                "invalid --libsqlite3-table {t:?}: use letters, digits and _ only"
            ),
            Error::Sql { what, source } => write!(f, "sqlite: {what}: {source}"),
            Error::NoWhenColumn => write!(f, "sqlite: Table lacks when_to_run field"),
            Error::Lost(why) => write!(f, "sqlite: transaction rolled back, jobs lost: {why}"),
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}

/// Tags an SQLite error with the step that failed.
fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sql { what, source }
}

/// Whether the open transaction still holds everything added since it began.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tx {
    /// No transaction: the next `add` begins one.
    Idle,
    /// `BEGIN` done, `pending` adds succeeded in it; `flush` commits.
    Open { pending: usize },
    /// SQLite rolled the transaction back under us with adds in it; `flush` fails with this.
    Lost(String),
}

/// Raw bytes bound as TEXT, the way C gearmand binds uniques and function names.
struct TextBytes<'a>(&'a [u8]);

impl ToSql for TextBytes<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

/// The statements, built once for the validated table name.
struct Statements {
    insert: String,
    delete: String,
    select: String,
}

/// An open queue database.
pub struct Db {
    conn: Connection,
    sql: Statements,
    /// False when the table lacks `when_to_run` and it could not be added.
    has_when: bool,
    tx: Tx,
    /// `--store-queue-on-shutdown`: declared to the host as a capability.
    store_on_shutdown: bool,
}

/// The plugin's contract, on the database itself: `create` opens it, the operations are SQL.
impl QueuePlugin for Db {
    type Error = Error;

    fn create(options: &Options) -> Result<Db, Error> {
        let path = options
            .get(OPT_DB)
            .filter(|p| !p.is_empty())
            .ok_or(Error::MissingDb)?;
        let table = options
            .get(OPT_TABLE)
            .unwrap_or_else(|| DEFAULT_TABLE.to_string());
        let mut db = Db::open(&path, &table)?;
        db.store_on_shutdown = options.flag(OPT_STORE_ON_SHUTDOWN);
        log::info!("sqlite queue: table {table} in {path}");
        Ok(db)
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            store_on_shutdown: self.store_on_shutdown,
            ..QueueCapabilities::default()
        }
    }

    /// Inserts (or replaces, as the original does) one job inside the open transaction.
    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        if job.when != 0 && !self.has_when {
            return Err(Error::NoWhenColumn);
        }
        if let Tx::Lost(why) = &self.tx {
            return Err(Error::Lost(why.clone()));
        }
        self.begin()?;
        let result = self.insert(job);
        self.after_statement(result)?;
        if let Tx::Open { pending } = &mut self.tx {
            *pending += 1;
        }
        Ok(())
    }

    /// Commits the open transaction: everything added before is on disk when this returns Ok.
    fn flush(&mut self) -> Result<(), Error> {
        match std::mem::replace(&mut self.tx, Tx::Idle) {
            Tx::Idle => Ok(()),
            Tx::Lost(why) => Err(Error::Lost(why)),
            Tx::Open { .. } => {
                let result = self.conn.execute_batch("COMMIT");
                if let Err(source) = result {
                    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); end it so
                    // the next add starts clean. Its jobs are reported as not stored.
                    if !self.conn.is_autocommit() {
                        let _ = self.conn.execute_batch("ROLLBACK");
                    }
                    return Err(Error::Sql {
                        what: "COMMIT",
                        source,
                    });
                }
                Ok(())
            }
        }
    }

    /// Deletes a job's row: inside the open transaction if there is one (committed by the next
    /// flush), else at once.
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        if let Tx::Lost(why) = &self.tx {
            return Err(Error::Lost(why.clone()));
        }
        // Removals join the group's transaction, so a group of them costs one commit (flush).
        self.begin()?;
        let result = self
            .conn
            .prepare_cached(&self.sql.delete)
            .and_then(|mut st| st.execute(params![TextBytes(unique), TextBytes(function)]));
        self.after_statement(result)
    }

    /// Streams every stored row to `sink`, in rowid (insertion) order.
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        self.flush()?;
        let mut st = self
            .conn
            .prepare(&self.sql.select)
            .map_err(sql("preparing the replay SELECT"))?;
        let mut rows = st.query([]).map_err(sql("replay SELECT"))?;
        while let Some(row) = rows.next().map_err(sql("reading a replayed row"))? {
            let col = |i| row.get_ref(i).map_err(sql("reading a replayed column"));
            let unique = bytes_of(col(0)?);
            let function = bytes_of(col(1)?);
            let priority = Priority::from_u32(int_of(col(2)?, 1) as u32);
            let data = bytes_of(col(3)?);
            let when = if self.has_when { int_of(col(4)?, 0) } else { 0 };
            let job = QueueJob {
                unique: &unique,
                function: &function,
                data: &data,
                priority,
                when,
            };
            sink(&job)?;
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("sqlite queue: last flush failed: {e}");
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database file and the table.
    pub fn open(path: &str, table: &str) -> Result<Db, Error> {
        if !valid_table_name(table) {
            return Err(Error::BadTable(table.to_string()));
        }
        let conn = Connection::open(path).map_err(sql("cannot open the database"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("setting the busy timeout"))?;
        set_durability(&conn)?;
        let has_when = ensure_table(&conn, table)?;
        let sql = statements(table, has_when);
        Ok(Db {
            conn,
            sql,
            has_when,
            tx: Tx::Idle,
            store_on_shutdown: false,
        })
    }

    /// The INSERT of one job, with or without `when_to_run`.
    fn insert(&self, job: &QueueJob<'_>) -> rusqlite::Result<usize> {
        let mut st = self.conn.prepare_cached(&self.sql.insert)?;
        let priority = job.priority as i64;
        let (u, f) = (TextBytes(job.unique), TextBytes(job.function));
        if self.has_when {
            st.execute(params![priority, u, f, job.data, job.when])
        } else {
            st.execute(params![priority, u, f, job.data])
        }
    }

    /// Begins the group transaction if none is open.
    fn begin(&mut self) -> Result<(), Error> {
        if self.tx == Tx::Idle {
            self.conn
                .execute_batch("BEGIN IMMEDIATE TRANSACTION")
                .map_err(sql("BEGIN"))?;
            self.tx = Tx::Open { pending: 0 };
        }
        Ok(())
    }

    /// Notices when a failed statement took the whole transaction with it.
    fn after_statement(&mut self, result: rusqlite::Result<usize>) -> Result<(), Error> {
        let Err(source) = result else {
            return Ok(());
        };
        if let Tx::Open { pending } = self.tx {
            if self.conn.is_autocommit() {
                log::error!("sqlite queue: transaction rolled back: {source}");
                self.tx = match pending {
                    0 => Tx::Idle,
                    _ => Tx::Lost(source.to_string()),
                };
            }
        }
        Err(Error::Sql {
            what: "statement",
            source,
        })
    }
}

/// WAL mode and `synchronous=FULL`: a COMMIT syncs the log, so a flushed job survives a power
/// loss, not only a crash of the process (NORMAL would lose the last commits on power loss).
fn set_durability(conn: &Connection) -> Result<(), Error> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(sql("setting journal_mode=WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!(
            "sqlite queue: journal_mode is {mode}, not WAL (file system without shared memory?)"
        );
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("setting synchronous=FULL"))
}

/// Creates the table if absent, or adds `when_to_run` to an old one. Returns whether the table
/// has `when_to_run` (epoch jobs are refused without it, as in the original).
fn ensure_table(conn: &Connection, table: &str) -> Result<bool, Error> {
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
            [table],
            |r| r.get(0),
        )
        .map_err(sql("looking up the table"))?;
    if exists == 0 {
        let create = format!(
            "CREATE TABLE {table} ( unique_key TEXT, function_name TEXT, priority INTEGER, \
             data BLOB, when_to_run INTEGER, PRIMARY KEY (unique_key, function_name))"
        );
        conn.execute_batch(&create)
            .map_err(sql("creating the table"))?;
        log::info!("sqlite queue: created table {table}");
        return Ok(true);
    }
    let mut st = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .map_err(sql("reading the table's columns"))?;
    let names: Vec<String> = st
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(sql("reading the table's columns"))?;
    if names.iter().any(|n| n.eq_ignore_ascii_case("when_to_run")) {
        return Ok(true);
    }
    match conn.execute_batch(&format!(
        "ALTER TABLE {table} ADD COLUMN when_to_run INTEGER"
    )) {
        Ok(()) => Ok(true),
        Err(e) => {
            log::warn!("sqlite queue: cannot add when_to_run to {table} ({e}); epoch jobs refused");
            Ok(false)
        }
    }
}

fn statements(table: &str, has_when: bool) -> Statements {
    let (when_col, when_val, when_sel) = if has_when {
        (", when_to_run", ",?", ",when_to_run")
    } else {
        ("", "", "")
    };
    Statements {
        insert: format!(
            "INSERT OR REPLACE INTO {table} (priority, unique_key, function_name, data{when_col}) \
             VALUES (?,?,?,?{when_val})"
        ),
        delete: format!("DELETE FROM {table} WHERE unique_key=? and function_name=?"),
        select: format!(
            "SELECT unique_key,function_name,priority,data{when_sel} FROM {table} ORDER BY rowid"
        ),
    }
}

/// A table name is pasted into SQL, so it must be a plain identifier.
fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok && name.len() <= 64 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// TEXT or BLOB as bytes; NULL as empty (C gearmand's empty-data rows); numbers as decimal text.
fn bytes_of(v: ValueRef<'_>) -> Cow<'_, [u8]> {
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => Cow::Borrowed(b),
        ValueRef::Null => Cow::Borrowed(&[]),
        ValueRef::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
        ValueRef::Real(r) => Cow::Owned(r.to_string().into_bytes()),
    }
}

/// INTEGER as is, decimal TEXT parsed; NULL or anything else gives `default`.
fn int_of(v: ValueRef<'_>, default: i64) -> i64 {
    match v {
        ValueRef::Integer(i) => i,
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(default),
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_identifiers() {
        assert!(valid_table_name("gearman_queue"));
        for bad in ["", "1q", "q;drop table x", "q'", "a.b", "q q"] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn loose_column_types_are_read() {
        assert_eq!(bytes_of(ValueRef::Null).as_ref(), b"");
        assert_eq!(bytes_of(ValueRef::Text(b"x")).as_ref(), b"x");
        assert_eq!(int_of(ValueRef::Text(b" 2"), 1), 2);
        assert_eq!(int_of(ValueRef::Null, 1), 1);
    }
}
