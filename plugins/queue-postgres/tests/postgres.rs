//! The postgres queue plugin against the real server (host=127.0.0.1 user=postgres dbname=test):
//! every kind of job round-trips, replay streams with priority and time, duplicates, a killed
//! connection and a server that goes down and comes back, and rows moving between C gearmand and
//! this plugin in both directions. Each test uses its own table and drops it. The checks every SQL
//! backend shares are written once in `gearmand_queue_testkit::sql`; this file runs them here.

mod common;

use common::*;
use gearmand_plugin_api::{Options, QueuePlugin};
use gearmand_queue_postgres::Postgres;
use gearmand_queue_testkit::sql;

#[test]
fn every_kind_of_job_round_trips() {
    let Some(t) = Table::new() else { return };
    sql::every_kind_of_job_round_trips(|| t.open(), odd_sql_jobs(), Order::Any);
}

#[test]
fn layout_is_the_originals() {
    let Some(t) = Table::new() else { return };
    let _q = t.open();
    let cols: Vec<(String, String, Option<i32>)> = Table::admin()
        .query(
            "SELECT column_name::text, data_type::text, character_maximum_length::int4 \
             FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
            &[&t.name],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want = [
        ("unique_key", "character varying", Some(64)),
        ("function_name", "character varying", Some(255)),
        ("priority", "integer", None),
        ("data", "bytea", None),
        ("when_to_run", "integer", None),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(cols, want);
}

#[test]
fn duplicates_are_refused_without_losing_the_group() {
    let Some(t) = Table::new() else { return };
    sql::duplicates_are_refused_without_losing_the_group(t.open(), "already stored");
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
    // The plugin's connections carry this test's application_name, so the kill finds exactly
    // them; the reconnect after the failed flush is killed too, so `done` reconnects once more.
    sql::a_killed_connection_is_replaced(
        t.open(),
        "postgres",
        || t.kill_connections(),
        || t.kill_connections_if_any(),
    );
}

#[test]
fn a_server_that_goes_down_fails_fast_and_comes_back() {
    let Some(t) = Table::new() else { return };
    sql::a_server_that_goes_down_fails_fast_and_comes_back(SERVER, |p| t.open_at(p), "postgres");
}

#[test]
fn unreachable_at_create_is_a_clear_error() {
    let Some(t) = Table::new() else { return };
    let bad_table = Postgres::create(&Options::from_pairs([
        ("libpq-conninfo", CONNINFO),
        ("libpq-table", "x; drop table y"),
    ]));
    sql::unreachable_at_create_is_a_clear_error(|p| t.open_at(p), bad_table, "--libpq-table");
}

/// C gearmand's Postgres module, on this test's table.
fn c_args(t: &Table) -> [&str; 6] {
    [
        "-q",
        "Postgres",
        "--libpq-conninfo",
        CONNINFO,
        "--libpq-table",
        &t.name,
    ]
}

#[test]
fn jobs_stored_by_c_gearmand_replay_here() {
    let Some(t) = Table::new() else { return };
    // Priority and time survive (C gearmand's own replay loses both).
    let jobs = as_c_sql_submits(odd_sql_jobs());
    cgearmand::jobs_stored_by_c_gearmand_replay_here(&c_args(&t), jobs, || t.open(), Order::Any);
}

#[test]
fn jobs_stored_here_replay_in_c_gearmand() {
    let Some(t) = Table::new() else { return };
    sql::jobs_stored_here_replay_in_c_gearmand(t.open(), &c_args(&t));
}
