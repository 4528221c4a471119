//! The `postgres` queue plugin (`-q postgres`, or the original's `-q Postgres`/`libpq`): background
//! jobs in a PostgreSQL table laid out exactly as C gearmand 1.1.20 lays it out, so an operator can
//! switch between the two servers on the same database.
//!
//! This file is the plugin's face: name, options and the [`QueuePlugin`] contract. How the
//! connection is configured is in [`conninfo`], the SQL in [`db`] (and `batch`, the multi-row
//! INSERT behind `add_batch`), errors in `error`, value conversions in [`types`] and
//! [`gearmand_sql_keytext`].
//!
//! Guarantees: `add` and `add_batch` insert inside an open transaction and `flush` commits it (one
//! commit for a whole group of adds: group commit; a few statements for a whole batch); a job is
//! durable once `flush` returned Ok (PostgreSQL's own `synchronous_commit` decides what "durable"
//! means; its default waits for the WAL flush). When the server goes away, the failing call
//! returns an error and the next call reconnects.

#![forbid(unsafe_code)]

mod batch;
pub mod conninfo;
mod db;
mod error;
mod types;

pub use db::Error;
use gearmand_plugin_api::{OptionDef, Options, PluginInfo, QueueJob, QueuePlugin};
use gearmand_plugin_api::{Refused, ReplayStopped};

/// The option holding the libpq connection string (key=value pairs or a `postgresql://` URL).
pub const OPT_CONNINFO: &str = "libpq-conninfo";
/// The option naming the table.
pub const OPT_TABLE: &str = "libpq-table";
/// The original's default table name.
pub const DEFAULT_TABLE: &str = "queue";

/// One queue table on one server.
pub struct Postgres {
    db: db::Db,
}

impl PluginInfo for Postgres {
    const NAME: &'static str = "postgres";
    const ALIASES: &'static [&'static str] = &["libpq", "postgresql"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "PostgreSQL queue (C gearmand's layout)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(
            OPT_CONNINFO,
            "PostgreSQL connection information string.",
            Some(""),
        ),
        OptionDef::value(OPT_TABLE, "Table to use.", Some(DEFAULT_TABLE)),
    ];
}

impl QueuePlugin for Postgres {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let info = options.get(OPT_CONNINFO).unwrap_or_default();
        let table = options
            .get(OPT_TABLE)
            .unwrap_or_else(|| DEFAULT_TABLE.to_string());
        let db = db::Db::open(conninfo::config(&info)?, &table)?;
        Ok(Postgres { db })
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        self.db.add(job)
    }

    fn add_batch(&mut self, jobs: &[QueueJob<'_>]) -> Result<Vec<(usize, Refused<Error>)>, Error> {
        self.db.add_batch(jobs)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.db.flush()
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        self.db.done(unique, function)
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        self.db.replay(sink)
    }

    fn shutdown(&mut self) {
        if let Err(e) = self.db.flush() {
            log::error!("postgres queue: last flush failed: {e}");
        }
    }
}

gearmand_plugin_api::export_queue_plugin!(Postgres);
