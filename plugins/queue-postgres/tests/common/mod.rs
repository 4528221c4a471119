//! Shared test helpers: the SQL queue plugins' ones live in one copy, in `plugins/queue-testkit`;
//! [`Table`] (a table of its own per test, on the real server) is this plugin's.

#![allow(dead_code)]

pub use gearmand_queue_testkit::*;

use gearmand_plugin_api::{Options, QueuePlugin};
use gearmand_queue_postgres::Postgres;

pub const SERVER: &str = "127.0.0.1:5432";
pub const CONNINFO: &str = "host=127.0.0.1 user=postgres dbname=test";

/// A table of its own for one test; dropped at the end.
pub struct Table {
    pub name: String,
    pub app: String,
}

impl Table {
    /// None (after a loud SKIP, or a panic in CI) when the server is not reachable.
    pub fn new() -> Option<Table> {
        if let Err(e) = postgres::Client::connect(CONNINFO, postgres::NoTls) {
            skip(&format!("postgres not reachable ({e})"));
            return None;
        }
        Some(Table {
            name: unique_name("gmq"),
            app: unique_name("gmtest"),
        })
    }

    pub fn conninfo(&self, port: u16) -> String {
        format!("{CONNINFO} port={port} application_name={}", self.app)
    }

    pub fn open_at(&self, port: u16) -> Result<Postgres, gearmand_queue_postgres::Error> {
        Postgres::create(&Options::from_pairs([
            ("libpq-conninfo", self.conninfo(port)),
            ("libpq-table", self.name.clone()),
        ]))
    }

    pub fn open(&self) -> Postgres {
        self.open_at(5432).expect("create")
    }

    pub fn admin() -> postgres::Client {
        postgres::Client::connect(CONNINFO, postgres::NoTls).unwrap()
    }

    /// Kills this test's server-side connections, as an operator (or a server crash) would.
    pub fn kill_connections(&self) {
        let n = Self::admin()
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&self.app],
            )
            .unwrap();
        assert!(n > 0, "no connection to kill");
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let _ = Self::admin().batch_execute(&format!("DROP TABLE IF EXISTS {}", self.name));
    }
}

impl Table {
    pub fn kill_connections_if_any(&self) {
        let _ = Self::admin().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&self.app],
        );
    }
}
