//! The `sqlite` queue plugin (`-q sqlite`, or the original's `-q libsqlite3`): background jobs in
//! a table of an SQLite database file, laid out exactly as C gearmand 1.1.20 lays it out, so an
//! operator can switch between the two servers on the same file.
//!
//! This file is the plugin's face: its name and options. The database itself is the plugin
//! instance: `db` implements the `QueuePlugin` contract in SQL. Durability: the database runs in WAL mode with `synchronous=FULL`, so a
//! `flush` (one `COMMIT`) returns only after the write-ahead log is on disk; the host groups many
//! `add`s into one `flush` (group commit), so that one fsync covers them all.

#![forbid(unsafe_code)]

mod db;

/// One open queue database: the plugin instance.
pub use db::Db as Sqlite;
pub use db::Error;
use gearmand_plugin_api::{OptionDef, PluginInfo};

/// The option naming the database file (required).
pub const OPT_DB: &str = "libsqlite3-db";
/// The option naming the table.
pub const OPT_TABLE: &str = "libsqlite3-table";
/// The original's switch: write jobs at shutdown instead of at submit. The plugin declares it to
/// the host as a capability, and the host skips `add` at submit time; the plugin itself behaves
/// the same either way (its `add`/`flush` are what the host calls at shutdown).
pub const OPT_STORE_ON_SHUTDOWN: &str = "store-queue-on-shutdown";
/// The original's default table name.
pub const DEFAULT_TABLE: &str = "gearman_queue";

impl PluginInfo for Sqlite {
    const NAME: &'static str = "sqlite";
    const ALIASES: &'static [&'static str] = &["libsqlite3"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "SQLite queue (WAL, synchronous=FULL; C gearmand's layout)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(OPT_DB, "Database file to use.", None),
        OptionDef::switch(OPT_STORE_ON_SHUTDOWN, "Store queue on shutdown."),
        OptionDef::value(OPT_TABLE, "Table to use.", Some(DEFAULT_TABLE)),
    ];
}

gearmand_plugin_api::export_queue_plugin!(Sqlite);
