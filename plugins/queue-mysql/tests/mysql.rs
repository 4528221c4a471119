//! The mysql queue plugin against the real MariaDB (127.0.0.1:3306, root, no password, db test):
//! every kind of job round-trips, replay streams with priority and time, duplicates, a killed
//! connection and a server that goes down and comes back, and rows moving between C gearmand and
//! this plugin in both directions. Each test uses its own table and drops it. The checks every SQL
//! backend shares are written once in `gearmand_queue_testkit::sql`; this file runs them here.

use gearmand_plugin_api::{Options, QueuePlugin};
use gearmand_queue_mysql::{Error, Mysql};
use gearmand_queue_testkit::sql;
use gearmand_queue_testkit::*;
use mysql::prelude::Queryable;

const SERVER: &str = "127.0.0.1:3306";

fn admin() -> Result<mysql::Conn, mysql::Error> {
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(3306)
        .user(Some("root"))
        .db_name(Some("test"))
        .prefer_socket(false);
    mysql::Conn::new(opts)
}

/// A table of its own for one test; dropped at the end.
struct Table {
    name: String,
}

impl Table {
    /// None (after a loud SKIP, or a panic in CI) when the server is not reachable.
    fn new() -> Option<Table> {
        if let Err(e) = admin() {
            skip(&format!("mysql not reachable ({e})"));
            return None;
        }
        Some(Table {
            name: unique_name("gmq"),
        })
    }

    fn open_at(&self, port: u16) -> Result<Mysql, Error> {
        Mysql::create(&Options::from_pairs([
            ("mysql-host", "127.0.0.1".to_string()),
            ("mysql-port", port.to_string()),
            ("mysql-user", "root".to_string()),
            ("mysql-db", "test".to_string()),
            ("mysql-table", self.name.clone()),
        ]))
    }

    fn open(&self) -> Mysql {
        self.open_at(3306).expect("create")
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Ok(mut c) = admin() {
            let _ = c.query_drop(format!("DROP TABLE IF EXISTS {}", self.name));
        }
    }
}

/// KILL CONNECTION for every server connection that came through `proxy`.
fn kill_via(proxy: &Proxy) -> usize {
    let mut c = admin().unwrap();
    let mut killed = 0;
    for port in proxy.upstream_ports() {
        let ids: Vec<u64> = c
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE HOST LIKE ?",
                (format!("%:{port}"),),
            )
            .unwrap();
        for id in ids {
            if c.query_drop(format!("KILL CONNECTION {id}")).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

#[test]
fn every_kind_of_job_round_trips() {
    let Some(t) = Table::new() else { return };
    sql::every_kind_of_job_round_trips(|| t.open(), odd_sql_jobs(), Order::Any);
}

#[test]
fn layout_is_the_originals() {
    let Some(t) = Table::new() else { return };
    let _q = t.open();
    let cols: Vec<(String, String)> = admin()
        .unwrap()
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&t.name,),
        )
        .unwrap();
    let want = [
        ("unique_key", "varchar(64)"),
        ("function_name", "varchar(255)"),
        ("priority", "int(11)"),
        ("data", "longblob"),
        ("when_to_run", "int(11)"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(cols, want);
}

#[test]
fn duplicates_are_refused_without_losing_the_group() {
    let Some(t) = Table::new() else { return };
    sql::duplicates_are_refused_without_losing_the_group(t.open(), "Duplicate");
}

#[test]
fn done_removes_and_unflushed_adds_are_not_stored() {
    let Some(t) = Table::new() else { return };
    sql::done_removes_and_unflushed_adds_are_not_stored(|| t.open(), Order::Any);
}

#[test]
fn replay_streams_many_rows_with_priority_and_time() {
    let Some(t) = Table::new() else { return };
    sql::replay_streams_many_rows_with_priority_and_time(t.open());
}

#[test]
fn a_killed_connection_is_replaced() {
    let Some(t) = Table::new() else { return };
    // Through a proxy, so that KILL CONNECTION finds exactly this plugin's connections.
    let proxy = Proxy::start(SERVER);
    let q = t.open_at(proxy.port).unwrap();
    sql::a_killed_connection_is_replaced(q, "mysql", || assert!(kill_via(&proxy) > 0), || {});
}

#[test]
fn a_server_that_goes_down_fails_fast_and_comes_back() {
    let Some(t) = Table::new() else { return };
    sql::a_server_that_goes_down_fails_fast_and_comes_back(SERVER, |p| t.open_at(p), "mysql");
}

#[test]
fn unreachable_at_create_is_a_clear_error() {
    let Some(t) = Table::new() else { return };
    let bad_table = Mysql::create(&Options::from_pairs([
        ("mysql-host", "127.0.0.1"),
        ("mysql-user", "root"),
        ("mysql-db", "test"),
        ("mysql-table", "x; drop table y"),
    ]));
    sql::unreachable_at_create_is_a_clear_error(|p| t.open_at(p), bad_table, "--mysql-table");
}

/// C gearmand's MySQL module, on this test's table.
fn c_args(t: &Table) -> [&str; 10] {
    [
        "-q",
        "MySQL",
        "--mysql-host",
        "127.0.0.1",
        "--mysql-user",
        "root",
        "--mysql-db",
        "test",
        "--mysql-table",
        &t.name,
    ]
}

#[test]
fn jobs_stored_by_c_gearmand_replay_here() {
    let Some(t) = Table::new() else { return };
    // C keeps empty data as NULL, which replays as empty.
    let jobs = as_c_sql_submits(odd_sql_jobs());
    cgearmand::jobs_stored_by_c_gearmand_replay_here(&c_args(&t), jobs, || t.open(), Order::Any);
}

#[test]
fn jobs_stored_here_replay_in_c_gearmand() {
    let Some(t) = Table::new() else { return };
    sql::jobs_stored_here_replay_in_c_gearmand(t.open(), &c_args(&t));
}
