//! The `postgres` queue plugin (`-q postgres`, or the original's `-q Postgres`/`libpq`): background
//! jobs in a PostgreSQL table laid out exactly as C gearmand 1.1.20 lays it out, so an operator can
//! switch between the two servers on the same database.
//!
//! This file is the plugin's face: name and options. The table itself is the plugin instance:
//! `db` implements the `QueuePlugin` contract in SQL (and `batch`, the multi-row INSERT behind
//! `add_batch`). How the connection is configured is in [`conninfo`], errors in `error`, value
//! conversions in `types` and `gearmand_sql_keytext`.
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

/// One queue table on one server: the plugin instance.
pub use db::Db as Postgres;
pub use error::Error;
use gearmand_plugin_api::{OptionDef, PluginInfo};

/// The option holding the libpq connection string (key=value pairs or a `postgresql://` URL).
pub const OPT_CONNINFO: &str = "libpq-conninfo";
/// The option naming the table.
pub const OPT_TABLE: &str = "libpq-table";
/// The original's default table name.
pub const DEFAULT_TABLE: &str = "queue";

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

gearmand_plugin_api::export_queue_plugin!(Postgres);
