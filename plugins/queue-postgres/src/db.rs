//! The SQL of the postgres queue: the original's table, the four operations (the plugin's
//! `QueuePlugin` contract, implemented on [`Db`] itself), and the connection that comes back by
//! itself.
//!
//! Layout (C gearmand 1.1.20): `CREATE TABLE IF NOT EXISTS <t> (unique_key VARCHAR(64),
//! function_name VARCHAR(255), priority INTEGER, data BYTEA, when_to_run INTEGER,
//! UNIQUE (unique_key, function_name))`. Uniques and function names go through [`gearmand_sql_keytext`] (valid
//! UTF-8 unchanged); data is bytea; priority 0/1/2 and `when` are integers.
//!
//! Differences from the original (its *Recommended* fixes, and robustness):
//! - replay decodes priority and `when` as the integers they are (the original lost both);
//! - DELETE is parameterised (the original pasted the unique into SQL and failed on `'`);
//! - the INSERT says `ON CONFLICT DO NOTHING` and reports "already stored" when no row was added,
//!   so a duplicate is refused as before but without aborting the other jobs of the transaction;
//! - replay streams through a portal, [`REPLAY_BATCH`] rows per round trip;
//! - `add_batch` stores a whole batch with a few statements (see [`crate::batch`]), with the same
//!   per-job outcome as one `add` per job.
//!
//! Transactions: `add` and `add_batch` (and a `done` arriving meanwhile) run inside one
//! transaction that `flush` commits. If the transaction dies (server error, lost connection)
//! after some adds succeeded, the next `flush` fails: none of the adds since the last flush is
//! stored (a failed `add_batch` reports it at once, for its whole batch).
//! The transaction's states are [`gearmand_sql_keytext::group`]'s, shared with mysql; here is
//! which failures end it (`GroupLink for Link`: all of them).

use crate::batch::{self, Row as BatchRow};
use crate::conninfo::{self, describe, STATEMENT_TIMEOUT_MS};
use crate::error::{classify, full, Error, Failure};
use crate::types::{int_max, Int, Raw};
use crate::{DEFAULT_TABLE, OPT_CONNINFO, OPT_TABLE};
use gearmand_plugin_api::{Options, QueueJob, QueuePlugin, Refused, ReplayStopped};
use gearmand_sql_keytext::group::{Group, Link as GroupLink, Lost};
use gearmand_sql_keytext::reconnect::Reconnect;
use gearmand_sql_keytext::{self as keytext, Limits, StoredRow};
use postgres::{Client, Config, NoTls, Row, Statement};

/// Rows fetched per round trip during replay.
pub const REPLAY_BATCH: i32 = 1000;

/// A connection with its prepared statements.
pub struct Live {
    client: Client,
    insert: Statement,
    insert_batch: Statement,
    delete: Statement,
}

/// The statements for the validated table name.
struct Statements {
    insert: String,
    insert_batch: String,
    delete: String,
    select: String,
}

/// The connection slot: where to connect, what to prepare, and the connection if there is one.
struct Link {
    config: Config,
    target: String,
    sql: Statements,
    live: Option<Live>,
}

/// One queue table and the connection to it.
pub struct Db {
    group: Group<Link>,
    limits: Limits,
}

/// The plugin's contract, on the table itself: `create` connects, the operations are SQL.
impl QueuePlugin for Db {
    type Error = Error;

    fn create(options: &Options) -> Result<Db, Error> {
        let info = options.get(OPT_CONNINFO).unwrap_or_default();
        let table = options
            .get(OPT_TABLE)
            .unwrap_or_else(|| DEFAULT_TABLE.to_string());
        Db::open(conninfo::config(&info)?, &table)
    }

    /// Inserts one job into the group transaction.
    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let unique = keytext::encode(job.unique);
        let function = keytext::encode(job.function);
        // Refused before anything reaches the transaction.
        self.limits.check(&unique, &function, job.when)?;
        let params: [&(dyn postgres::types::ToSql + Sync); 5] = [
            &Int(job.priority as i64),
            &&*unique,
            &&*function,
            &job.data,
            &Int(job.when),
        ];
        let inserted = self
            .group
            .run("INSERT", |live| live.client.execute(&live.insert, &params))?;
        if inserted == 0 {
            return Err(Error::Duplicate);
        }
        self.group.added(1);
        Ok(())
    }

    /// Inserts many jobs into the group transaction with a few statements. Returns the jobs
    /// refused on their own (a value the columns cannot hold, a duplicate), by index; the others
    /// are stored at the next `flush`. An `Err` means the transaction died: none of the batch
    /// (nor any add before it since the last flush) will be stored.
    fn add_batch(&mut self, jobs: &[QueueJob<'_>]) -> Result<Vec<(usize, Refused<Error>)>, Error> {
        self.group.check()?;
        let mut refused = Vec::new();
        let mut rows = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            let row = BatchRow::new(index, job);
            match self.limits.check(&row.unique, &row.function, row.when) {
                Ok(()) => rows.push(row),
                Err(e) => refused.push((index, Error::from(e).into())),
            }
        }
        for chunk in batch::chunks(&rows) {
            let duplicates = self.group.run("INSERT (batch)", |live| {
                batch::insert(&mut live.client, &live.insert_batch, chunk)
            })?;
            self.group
                .added(chunk.len().saturating_sub(duplicates.len()));
            refused.extend(
                duplicates
                    .into_iter()
                    .map(|i| (chunk[i].index, Error::Duplicate.into())),
            );
        }
        refused.sort_by_key(|(index, _)| *index);
        Ok(refused)
    }

    /// Commits the group transaction.
    fn flush(&mut self) -> Result<(), Error> {
        self.group.flush()
    }

    /// Deletes a job's row: in the group transaction if one is open, else at once.
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        let unique = keytext::encode(unique);
        let function = keytext::encode(function);
        // Removals join the group's transaction, so a group of them costs one commit (flush).
        let deleted = self.group.run("DELETE", |live| {
            live.client.execute(&live.delete, &[&&*unique, &&*function])
        });
        deleted.map(drop)
    }

    /// Streams every row to `sink` through a portal, `REPLAY_BATCH` rows at a time.
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let select = self.group.link().sql.select.clone();
        self.group
            .outside(|live| stream_rows(&mut live.client, &select, sink))
    }

    fn shutdown(&mut self) {
        self.group.shutdown();
    }
}

impl Db {
    /// Connects, creates the table if it is missing, and prepares the statements.
    pub fn open(config: Config, table: &str) -> Result<Db, Error> {
        keytext::check_table_name(OPT_TABLE, table).map_err(Error::BadTable)?;
        let target = describe(&config);
        let sql = statements(table);
        let mut client = connect(&config, &target)?;
        ensure_table(&mut client, table)?;
        let limits = read_limits(&mut client, table)?;
        let live = prepare(client, &sql)?;
        log::info!("postgres queue: table {table} on {target}");
        Ok(Db {
            group: Group::new(Link {
                config,
                target,
                sql,
                live: Some(live),
            }),
            limits,
        })
    }
}

/// The connection is made anew when there is none or it closed; [`with_reconnect`] replaces one
/// that a statement finds dead.
///
/// [`with_reconnect`]: gearmand_sql_keytext::reconnect::with_reconnect
impl Reconnect for Link {
    type Conn = Live;
    type Fault = postgres::Error;
    type Error = Error;

    fn conn(&mut self) -> Result<&mut Live, Error> {
        if self.live.as_ref().is_some_and(|l| l.client.is_closed()) {
            self.live = None;
        }
        if self.live.is_none() {
            let client = connect(&self.config, &self.target)?;
            self.live = Some(prepare(client, &self.sql)?);
            log::info!("postgres queue: connected to {}", self.target);
        }
        Ok(self.live.as_mut().expect("just connected"))
    }

    fn forget(&mut self) {
        self.live = None;
    }

    fn broken(live: &Live, fault: &postgres::Error) -> bool {
        classify(&live.client, fault) == Failure::Broken
    }

    fn failed(what: &'static str, source: postgres::Error) -> Error {
        Error::Sql { what, source }
    }

    fn reconnecting(&self, fault: &postgres::Error) {
        log::warn!(
            "postgres queue: connection lost ({}), reconnecting",
            full(fault)
        );
    }
}

/// A failed statement aborts the whole transaction in PostgreSQL: every failure ends it.
impl GroupLink for Link {
    const NAME: &'static str = "postgres";

    fn current(&mut self) -> Option<&mut Live> {
        self.live.as_mut()
    }

    fn execute(live: &mut Live, sql: &'static str) -> Result<(), postgres::Error> {
        live.client.batch_execute(sql)
    }

    fn end_failed(&mut self, fault: &postgres::Error) -> bool {
        if let Some(live) = self.live.as_mut() {
            let broken = classify(&live.client, fault) == Failure::Broken;
            if broken || live.client.batch_execute("ROLLBACK").is_err() {
                self.live = None;
            }
        }
        true
    }

    fn lost(lost: Lost) -> Error {
        Error::Lost(lost)
    }

    fn breaks(live: &Live, err: &Error) -> bool {
        matches!(err, Error::Sql { source, .. } if classify(&live.client, source) == Failure::Broken)
    }
}

fn connect(config: &Config, target: &str) -> Result<Client, Error> {
    let connect_err = |source| Error::Connect {
        target: target.to_string(),
        source,
    };
    let mut client = config.connect(NoTls).map_err(connect_err)?;
    client
        .batch_execute(&format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        .map_err(connect_err)?;
    Ok(client)
}

fn prepare(mut client: Client, sql: &Statements) -> Result<Live, Error> {
    let prep = |what| move |source| Error::Sql { what, source };
    let insert = client
        .prepare(&sql.insert)
        .map_err(prep("preparing INSERT"))?;
    let insert_batch = client
        .prepare(&sql.insert_batch)
        .map_err(prep("preparing the batch INSERT"))?;
    let delete = client
        .prepare(&sql.delete)
        .map_err(prep("preparing DELETE"))?;
    Ok(Live {
        client,
        insert,
        insert_batch,
        delete,
    })
}

/// Creates the table with the original's statement if no table of that name is visible.
fn ensure_table(client: &mut Client, table: &str) -> Result<(), Error> {
    let sql_err = |what| move |source| Error::Sql { what, source };
    let found = client
        .query(
            "SELECT 1 FROM information_schema.tables WHERE table_name = $1 \
             AND table_schema = ANY(current_schemas(false))",
            &[&table.to_ascii_lowercase()],
        )
        .map_err(sql_err("looking up the table"))?;
    if found.is_empty() {
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (unique_key VARCHAR(64), \
                 function_name VARCHAR(255), priority INTEGER, data BYTEA, \
                 when_to_run INTEGER, UNIQUE (unique_key, function_name))"
            ))
            .map_err(sql_err("creating the table"))?;
        log::info!("postgres queue: created table {table}");
    }
    Ok(())
}

/// Reads the column widths and the `when_to_run` type of the table.
fn read_limits(client: &mut Client, table: &str) -> Result<Limits, Error> {
    let rows = client
        .query(
            "SELECT column_name::text, data_type::text, character_maximum_length::int4 \
             FROM information_schema.columns WHERE table_name = $1 \
             AND table_schema = ANY(current_schemas(false))",
            &[&table.to_ascii_lowercase()],
        )
        .map_err(|source| Error::Sql {
            what: "reading the table's columns",
            source,
        })?;
    let mut limits = Limits::default();
    for row in rows {
        let (name, ty, len): (String, String, Option<i32>) = (row.get(0), row.get(1), row.get(2));
        let len = len.map(|l| l.max(0) as usize);
        limits.learn(&name, len, int_max(&ty));
    }
    Ok(limits)
}

fn statements(table: &str) -> Statements {
    Statements {
        insert: format!(
            "INSERT INTO {table} (priority, unique_key, function_name, data, when_to_run) \
             VALUES($1,$2,$3,$4::BYTEA,$5) ON CONFLICT DO NOTHING"
        ),
        insert_batch: batch::insert_sql(table),
        delete: format!("DELETE FROM {table} WHERE unique_key=$1 AND function_name=$2"),
        select: format!("SELECT unique_key,function_name,priority,data,when_to_run FROM {table}"),
    }
}

/// Runs the replay SELECT in a read-only transaction, fetching from a portal batch by batch.
fn stream_rows(
    client: &mut Client,
    select: &str,
    sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
) -> Result<(), Error> {
    let sql_err = |what| move |source| Error::Sql { what, source };
    let mut tx = client.transaction().map_err(sql_err("BEGIN (replay)"))?;
    let portal = tx.bind(select, &[]).map_err(sql_err("replay SELECT"))?;
    loop {
        let rows = tx
            .query_portal(&portal, REPLAY_BATCH)
            .map_err(sql_err("fetching replayed rows"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            replay_row(row, sink)?;
        }
    }
    tx.commit().map_err(sql_err("COMMIT (replay)"))
}

/// Decodes one row (NULL text as empty, NULL priority as normal, NULL `when` as now).
fn replay_row(
    row: &Row,
    sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
) -> Result<(), Error> {
    let bad = |e: postgres::Error| Error::BadRow(full(&e));
    let text = |i| -> Result<&[u8], Error> {
        Ok(row
            .try_get::<_, Option<Raw>>(i)
            .map_err(bad)?
            .map_or(&[][..], |r| r.0))
    };
    let int = |i, default| -> Result<i64, Error> {
        Ok(row
            .try_get::<_, Option<Int>>(i)
            .map_err(bad)?
            .map_or(default, |v| v.0))
    };
    let stored = StoredRow {
        unique: text(0)?,
        function: text(1)?,
        data: text(3)?,
        priority: int(2, 1)?,
        when: int(4, 0)?,
    };
    Ok(stored.replay(sink)?)
}
