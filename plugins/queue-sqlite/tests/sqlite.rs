//! The sqlite queue plugin against real database files: every kind of job round-trips, replay
//! order and fields, add/flush/done semantics, the original's quirks (NULL data, old tables), and
//! C gearmand reading our rows and we reading its rows. The checks every SQL backend shares are
//! written once in `gearmand_queue_testkit::sql`; this file runs them here.

use gearmand_plugin_api::{Options, Priority, QueueCapabilities, QueuePlugin};
use gearmand_queue_sqlite::Sqlite;
use gearmand_queue_testkit::sql;
use gearmand_queue_testkit::*;
use rusqlite::Connection;
use std::path::Path;

fn open(path: &Path, table: &str) -> Result<Sqlite, gearmand_queue_sqlite::Error> {
    Sqlite::create(&Options::from_pairs([
        ("libsqlite3-db", path.display().to_string()),
        ("libsqlite3-table", table.to_string()),
    ]))
}

#[test]
fn every_kind_of_job_round_trips_in_insertion_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let open = || open(&db, "gearman_queue").unwrap();
    sql::every_kind_of_job_round_trips(open, odd_sql_jobs(), Order::Insertion);
}

#[test]
fn layout_is_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut q = open(&db, "gearman_queue").unwrap();
    q.add(&Job::new(b"u", b"f", b"", Priority::Low, 7).as_queue_job())
        .unwrap();
    q.flush().unwrap();
    let c = Connection::open(&db).unwrap();
    let sql: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name='gearman_queue'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        sql,
        "CREATE TABLE gearman_queue ( unique_key TEXT, function_name TEXT, priority INTEGER, \
         data BLOB, when_to_run INTEGER, PRIMARY KEY (unique_key, function_name))"
    );
    let types: (String, String, String, String, String) = c
        .query_row(
            "SELECT typeof(unique_key), typeof(function_name), typeof(priority), typeof(data), \
             typeof(when_to_run) FROM gearman_queue",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    // Empty data is X'' (a BLOB), never NULL: the original's own replay demands a BLOB.
    assert_eq!(
        types,
        (
            "text".into(),
            "text".into(),
            "integer".into(),
            "blob".into(),
            "integer".into()
        )
    );
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn done_removes_and_flush_decides_durability() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    sql::done_removes_and_unflushed_adds_are_not_stored(
        || open(&db, "t").unwrap(),
        Order::Insertion,
    );
}

#[test]
fn group_commit_stores_many_adds_with_one_flush() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut q = open(&db, "t").unwrap();
    let jobs: Vec<Job> = (0..2000)
        .map(|i| {
            Job::new(
                format!("u{i}").as_bytes(),
                b"f",
                b"x",
                Priority::from_u32(i % 3),
                0,
            )
        })
        .collect();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    q.shutdown();
    drop(q);
    assert_eq!(replay_all(&mut open(&db, "t").unwrap()), jobs);
}

#[test]
fn same_unique_and_function_replaces_the_row_as_the_original_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let mut q = open(&db, "t").unwrap();
    q.add(&Job::new(b"", b"f", b"first", Priority::Normal, 0).as_queue_job())
        .unwrap();
    q.add(&Job::new(b"", b"f", b"second", Priority::Normal, 0).as_queue_job())
        .unwrap();
    q.flush().unwrap();
    let got = replay_all(&mut q);
    assert_eq!(
        got,
        vec![Job::new(b"", b"f", b"second", Priority::Normal, 0)]
    );
}

#[test]
fn options_are_checked() {
    let err = Sqlite::create(&Options::default()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "missing required --libsqlite3-db=<dbfile> argument"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = open(&dir.path().join("q.db"), "q; DROP TABLE x")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("invalid --libsqlite3-table"), "{err}");
    let err = open(Path::new("/nonexistent-dir/q.db"), "t")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot open"), "{err}");
}

#[test]
fn rows_written_by_other_tools_and_old_tables_replay() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    {
        // A pre-1.1 table without when_to_run, holding the original's NULL-data rows, TEXT data
        // and NULL priority.
        let c = Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE old ( unique_key TEXT, function_name TEXT, priority INTEGER, data BLOB, \
             PRIMARY KEY (unique_key, function_name));
             INSERT INTO old VALUES ('n', 'f', 0, NULL);
             INSERT INTO old VALUES ('t', 'f', 2, 'text data');
             INSERT INTO old VALUES ('p', 'f', NULL, X'00ff');",
        )
        .unwrap();
    }
    let mut q = open(&db, "old").unwrap(); // adds when_to_run
    assert_eq!(
        replay_all(&mut q),
        vec![
            Job::new(b"n", b"f", b"", Priority::High, 0),
            Job::new(b"t", b"f", b"text data", Priority::Low, 0),
            Job::new(b"p", b"f", b"\0\xff", Priority::Normal, 0),
        ]
    );
    q.add(&Job::new(b"e", b"f", b"", Priority::Normal, 99).as_queue_job())
        .unwrap();
    q.flush().unwrap();
    assert_eq!(replay_all(&mut q).last().unwrap().when, 99);
}

#[test]
fn jobs_stored_by_c_gearmand_replay_here() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let db_arg = db.display().to_string();
    let args = ["-q", "libsqlite3", "--libsqlite3-db", &db_arg];
    // C gearmand writes empty data as NULL; we read it back as empty.
    let jobs = as_c_submits(odd_sql_jobs());
    let open = || open(&db, "gearman_queue").unwrap();
    cgearmand::jobs_stored_by_c_gearmand_replay_here(&args, jobs, open, Order::Insertion);
}

#[test]
fn jobs_stored_here_replay_in_c_gearmand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ours.db");
    let db_arg = db.display().to_string();
    let args = ["-q", "libsqlite3", "--libsqlite3-db", &db_arg];
    sql::jobs_stored_here_replay_in_c_gearmand(open(&db, "gearman_queue").unwrap(), &args);
}

#[test]
fn store_queue_on_shutdown_is_declared_as_a_capability() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let q = open(&db, "gearman_queue").unwrap();
    assert_eq!(q.capabilities(), QueueCapabilities::default());
    assert!(q.capabilities().durable);
    let q = Sqlite::create(&Options::from_pairs([
        ("libsqlite3-db", db.display().to_string()),
        ("store-queue-on-shutdown", "true".to_string()),
    ]))
    .unwrap();
    let caps = q.capabilities();
    assert!(caps.durable && caps.store_on_shutdown, "{caps:?}");
}
