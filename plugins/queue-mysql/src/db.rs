//! The SQL of the mysql queue: the original's table, the four operations (the plugin's
//! `QueuePlugin` contract, implemented on [`Db`] itself), and a connection that comes back by
//! itself.
//!
//! Layout (C gearmand 1.1.20): `CREATE TABLE <t>(unique_key VARCHAR(64),function_name
//! VARCHAR(255),priority INT,data LONGBLOB,when_to_run INT,unique key (unique_key,
//! function_name))`, with the server's default character set. Uniques and function names go
//! through [`gearmand_sql_keytext`] (valid UTF-8 unchanged), data is LONGBLOB (empty data is `''`, the
//! original wrote NULL; both replay), priority 0/1/2 and `when` are INT.
//!
//! All statements are parameterised (prepared, cached per connection). Replay streams the
//! original's SELECT with `query_iter`, row by row from the socket.
//!
//! Transactions: `add` (and a `done` arriving meanwhile) run inside one transaction that `flush`
//! commits. A refused INSERT (duplicate key, value too long) only fails that job: MySQL rolls
//! back the statement, not the transaction. If the transaction itself dies (lost connection,
//! deadlock) after some adds succeeded, the next `flush` fails: none of them is stored.
//! The transaction's states are [`gearmand_sql_keytext::group`]'s, shared with postgres; here is
//! which failures end it (`GroupLink for Link`).

use crate::error::{classify, Error, Failure};
use gearmand_plugin_api::{Options, QueueJob, QueuePlugin, ReplayStopped};
use gearmand_sql_keytext::group::{Group, Link as GroupLink, Lost};
use gearmand_sql_keytext::reconnect::Reconnect;
use gearmand_sql_keytext::{self as keytext, Limits, StoredRow};
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Value};
use std::time::Duration;

/// Connecting to a server that does not answer gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Every socket read or write gives up after this long, so no call hangs on a stuck server.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and what to connect to (from the options).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// A Unix socket path; used instead of host and port.
    pub socket: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub db: Option<String>,
    pub table: String,
}

impl Settings {
    fn describe(&self) -> String {
        let at = match &self.socket {
            Some(path) => path.clone(),
            None => format!("{}:{}", self.host, self.port),
        };
        let user = self.user.as_deref().unwrap_or("");
        let db = self.db.as_deref().unwrap_or("");
        format!("{at} user={user} db={db}")
    }

    fn opts(&self) -> OptsBuilder {
        // libmysqlclient logs in as the Unix user when no user is given; do the same.
        let user = self.user.clone().or_else(|| std::env::var("USER").ok());
        OptsBuilder::new()
            .ip_or_hostname(Some(self.host.clone()))
            .tcp_port(self.port)
            .socket(self.socket.clone())
            .user(user)
            .pass(self.password.clone())
            .db_name(self.db.clone())
            .tcp_connect_timeout(Some(CONNECT_TIMEOUT))
            .read_timeout(Some(IO_TIMEOUT))
            .write_timeout(Some(IO_TIMEOUT))
            // Use the host as given (TCP), as libmysqlclient does for anything but "localhost".
            .prefer_socket(false)
    }
}

/// The statements for the validated table name.
struct Statements {
    insert: String,
    delete: String,
    select: String,
}

/// The connection slot: where to connect, and the connection if there is one.
struct Link {
    settings: Settings,
    target: String,
    conn: Option<Conn>,
}

/// One queue table and the connection to it.
pub struct Db {
    group: Group<Link>,
    sql: Statements,
    limits: Limits,
}

/// The plugin's contract, on the table itself: `create` connects, the four operations are SQL.
impl QueuePlugin for Db {
    type Error = Error;

    fn create(options: &Options) -> Result<Db, Error> {
        Db::open(Settings::from_options(options)?)
    }

    /// Inserts one job into the group transaction.
    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let unique = keytext::encode(job.unique);
        let function = keytext::encode(job.function);
        // Refused before anything reaches the transaction.
        self.limits.check(&unique, &function, job.when)?;
        let params = (
            Value::Bytes(unique.as_bytes().to_vec()),
            Value::Bytes(function.as_bytes().to_vec()),
            Value::Int(job.priority as i64),
            Value::Bytes(job.data.to_vec()),
            Value::Int(job.when),
        );
        let insert = &self.sql.insert;
        self.group
            .run("INSERT", |conn| conn.exec_drop(insert, params))?;
        self.group.added(1);
        Ok(())
    }

    /// Commits the group transaction.
    fn flush(&mut self) -> Result<(), Error> {
        self.group.flush()
    }

    /// Deletes a job's row: in the group transaction if one is open, else at once.
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        let params = (
            Value::Bytes(keytext::encode(unique).as_bytes().to_vec()),
            Value::Bytes(keytext::encode(function).as_bytes().to_vec()),
        );
        // Removals join the group's transaction, so a group of them costs one commit (flush).
        let delete = &self.sql.delete;
        self.group
            .run("DELETE", |conn| conn.exec_drop(delete, params))
    }

    /// Streams every row to `sink` (the original's SELECT, read row by row from the socket).
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let select = &self.sql.select;
        self.group.outside(|conn| stream_rows(conn, select, sink))
    }

    fn shutdown(&mut self) {
        self.group.shutdown();
    }
}

impl Db {
    /// Connects, creates the table if it is missing, and reads its column widths.
    pub fn open(settings: Settings) -> Result<Db, Error> {
        let table = settings.table.clone();
        keytext::check_table_name("mysql-table", &table).map_err(Error::BadTable)?;
        let target = settings.describe();
        let mut conn = connect(&settings, &target)?;
        ensure_table(&mut conn, &table)?;
        let limits = read_limits(&mut conn, &table)?;
        log::info!("mysql queue: table {table} on {target}");
        Ok(Db {
            sql: statements(&table),
            limits,
            group: Group::new(Link {
                settings,
                target,
                conn: Some(conn),
            }),
        })
    }
}

/// The connection is made anew when there is none; [`with_reconnect`] replaces a dead one.
///
/// [`with_reconnect`]: gearmand_sql_keytext::reconnect::with_reconnect
impl Reconnect for Link {
    type Conn = Conn;
    type Fault = mysql::Error;
    type Error = Error;

    fn conn(&mut self) -> Result<&mut Conn, Error> {
        if self.conn.is_none() {
            self.conn = Some(connect(&self.settings, &self.target)?);
            log::info!("mysql queue: connected to {}", self.target);
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    fn forget(&mut self) {
        self.conn = None;
    }

    fn broken(_: &Conn, fault: &mysql::Error) -> bool {
        classify(fault) == Failure::Broken
    }

    fn failed(what: &'static str, source: mysql::Error) -> Error {
        Error::Sql { what, source }
    }

    fn reconnecting(&self, fault: &mysql::Error) {
        log::warn!("mysql queue: connection lost ({fault}), reconnecting");
    }
}

/// MySQL rolls back a refused statement, not the transaction; a lost connection or a deadlock
/// takes the transaction (and its adds) away.
impl GroupLink for Link {
    const NAME: &'static str = "mysql";

    fn current(&mut self) -> Option<&mut Conn> {
        self.conn.as_mut()
    }

    fn execute(conn: &mut Conn, sql: &'static str) -> Result<(), mysql::Error> {
        conn.query_drop(sql)
    }

    fn end_failed(&mut self, fault: &mysql::Error) -> bool {
        match classify(fault) {
            Failure::Refused => return false,
            Failure::Broken => self.conn = None,
            Failure::TxRolledBack => {
                // The server ended the transaction; make sure the connection agrees.
                if let Some(conn) = self.conn.as_mut() {
                    if conn.query_drop("ROLLBACK").is_err() {
                        self.conn = None;
                    }
                }
            }
        }
        true
    }

    fn lost(lost: Lost) -> Error {
        Error::Lost(lost)
    }

    fn breaks(_: &Conn, err: &Error) -> bool {
        matches!(err, Error::Sql { source, .. } if classify(source) == Failure::Broken)
    }
}

fn connect(settings: &Settings, target: &str) -> Result<Conn, Error> {
    Conn::new(settings.opts()).map_err(|source| Error::Connect {
        target: target.to_string(),
        source,
    })
}

/// Creates the table with the original's statement if the database has none of that name.
fn ensure_table(conn: &mut Conn, table: &str) -> Result<(), Error> {
    let sql_err = |what| move |source| Error::Sql { what, source };
    let found: Option<u8> = conn
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = ?",
            (table,),
        )
        .map_err(sql_err("looking up the table"))?;
    if found.is_none() {
        conn.query_drop(format!(
            "CREATE TABLE {table}(unique_key VARCHAR(64),function_name VARCHAR(255),\
             priority INT,data LONGBLOB,when_to_run INT,unique key (unique_key, function_name))"
        ))
        .map_err(sql_err("creating the table"))?;
        log::info!("mysql queue: created table {table}");
    }
    Ok(())
}

/// Reads the column widths and the type of `when_to_run` (INT, or BIGINT in drizzle's tables).
fn read_limits(conn: &mut Conn, table: &str) -> Result<Limits, Error> {
    let rows: Vec<(String, String, Option<u64>)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (table,),
        )
        .map_err(|source| Error::Sql { what: "reading the table's columns", source })?;
    let mut limits = Limits::default();
    for (name, ty, len) in rows {
        let len = len.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        let int_max = match ty.to_ascii_lowercase().as_str() {
            "bigint" => i64::MAX,
            "mediumint" => (1 << 23) - 1,
            "smallint" => i64::from(i16::MAX),
            _ => i64::from(i32::MAX),
        };
        limits.learn(&name.to_ascii_lowercase(), len, int_max);
    }
    Ok(limits)
}

fn statements(table: &str) -> Statements {
    Statements {
        insert: format!(
            "INSERT INTO {table} (unique_key, function_name, priority, data, when_to_run) \
             VALUES(?, ?, ?, ?, ?)"
        ),
        delete: format!("DELETE FROM {table} WHERE unique_key=? AND function_name=?"),
        select: format!(
            "SELECT unique_key, function_name, data, priority, when_to_run FROM {table}"
        ),
    }
}

/// Reads the replay SELECT row by row; NULL text is empty, NULL priority high (as the original
/// reads it), NULL `when` now.
fn stream_rows(
    conn: &mut Conn,
    select: &str,
    sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
) -> Result<(), Error> {
    let sql_err = |what| move |source| Error::Sql { what, source };
    let result = conn.query_iter(select).map_err(sql_err("replay SELECT"))?;
    for row in result {
        let row = row.map_err(sql_err("reading replayed rows"))?;
        let col = |i: usize| row.as_ref(i).unwrap_or(&Value::NULL);
        let stored = StoredRow {
            unique: bytes_of(col(0)),
            function: bytes_of(col(1)),
            data: bytes_of(col(2)),
            priority: int_of(col(3)),
            when: int_of(col(4)),
        };
        stored.replay(sink)?;
    }
    Ok(())
}

fn bytes_of(v: &Value) -> &[u8] {
    match v {
        Value::Bytes(b) => b,
        _ => &[],
    }
}

/// An integer column in the text protocol arrives as decimal bytes; NULL (or junk) is 0.
fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}
