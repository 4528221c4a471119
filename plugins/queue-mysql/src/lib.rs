//! The `mysql` queue plugin (`-q mysql`, or the original's `-q MySQL`/`libdrizzle`): background
//! jobs in a MySQL/MariaDB table laid out exactly as C gearmand 1.1.20 lays it out, so an operator
//! can switch between the two servers on the same database.
//!
//! This file is the plugin's face: name and options (the `--mysql-*` names and, as aliases, the
//! original libdrizzle module's `--libdrizzle-*` spellings). The table itself is the plugin
//! instance: `db` implements the `QueuePlugin` contract in SQL, `error` says what can go wrong;
//! how non-UTF-8 keys are kept in VARCHAR columns is in [`gearmand_sql_keytext`].
//!
//! Guarantees: `add` inserts inside an open transaction and `flush` commits it (group commit); a
//! job is durable once `flush` returned Ok, as far as the server's settings make a COMMIT durable
//! (InnoDB's default `innodb_flush_log_at_trx_commit=1` syncs the log). Every socket read and
//! write is bounded by a timeout; after a failure the next call reconnects.

#![forbid(unsafe_code)]

mod db;
mod error;

/// One queue table on one server: the plugin instance.
pub use db::Db as Mysql;
pub use db::Settings;
pub use error::Error;
use gearmand_plugin_api::{OptionDef, Options, PluginInfo};

/// The original's default table name.
pub const DEFAULT_TABLE: &str = "gearman_queue";
/// Default `--mysql-host`.
pub const DEFAULT_HOST: &str = "localhost";
/// Default `--mysql-port`.
pub const DEFAULT_PORT: &str = "3306";

impl PluginInfo for Mysql {
    const NAME: &'static str = "mysql";
    const ALIASES: &'static [&'static str] = &["libdrizzle", "mariadb"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "MySQL/MariaDB queue (C gearmand's layout)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value("mysql-host", "MySQL host.", Some(DEFAULT_HOST)),
        OptionDef::value(
            "mysql-port",
            "Port of server. (by default 3306)",
            Some(DEFAULT_PORT),
        ),
        OptionDef::value(
            "mysql-uds",
            "Unix socket path (used instead of host and port).",
            None,
        ),
        OptionDef::value("mysql-user", "MySQL user.", None),
        OptionDef::value("mysql-password", "MySQL user password.", None),
        OptionDef::value("mysql-db", "MySQL database.", None),
        OptionDef::value("mysql-table", "MySQL table name.", Some(DEFAULT_TABLE)),
        OptionDef::alias("libdrizzle-host", "mysql-host"),
        OptionDef::alias("libdrizzle-port", "mysql-port"),
        OptionDef::alias("libdrizzle-uds", "mysql-uds"),
        OptionDef::alias("libdrizzle-user", "mysql-user"),
        OptionDef::alias("libdrizzle-password", "mysql-password"),
        OptionDef::alias("libdrizzle-db", "mysql-db"),
        OptionDef::alias("libdrizzle-table", "mysql-table"),
        OptionDef::switch("libdrizzle-mysql", "Ignored (accepted for compatibility)."),
    ];
}

impl Settings {
    /// The settings from resolved options; an empty or absent value means the default.
    pub fn from_options(options: &Options) -> Result<Settings, Error> {
        let get = |k: &str| options.get(k).filter(|v| !v.is_empty());
        let port = get("mysql-port").unwrap_or_else(|| DEFAULT_PORT.into());
        Ok(Settings {
            host: get("mysql-host").unwrap_or_else(|| DEFAULT_HOST.into()),
            port: port.parse().map_err(|_| Error::BadPort(port))?,
            socket: get("mysql-uds"),
            user: get("mysql-user"),
            password: get("mysql-password"),
            db: get("mysql-db"),
            table: get("mysql-table").unwrap_or_else(|| DEFAULT_TABLE.into()),
        })
    }
}

gearmand_plugin_api::export_queue_plugin!(Mysql);
