//! The postgres queue plugin against the real server (host=127.0.0.1 user=postgres dbname=test):
//! every kind of job round-trips, replay streams with priority and time, duplicates, a killed
//! connection and a server that goes down and comes back, and rows moving between C gearmand and
//! this plugin in both directions. Each test uses its own table and drops it.

mod common;

use common::*;
use gearmand_plugin_api::{Options, Priority, QueuePlugin};
use gearmand_queue_postgres::Postgres;
use std::time::{Duration, Instant};

#[test]
fn every_kind_of_job_round_trips() {
    let Some(t) = Table::new() else { return };
    let jobs = odd_jobs();
    let mut q = t.open();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    drop(q);
    assert_eq!(sorted(replay_all(&mut t.open())), sorted(jobs));
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
    let mut q = t.open();
    let a = Job::new(b"", b"f", b"first", Priority::Normal, 0);
    let b = Job::new(b"b", b"f", b"b", Priority::Normal, 0);
    q.add(&a.as_queue_job()).unwrap();
    let err = q
        .add(&Job::new(b"", b"f", b"second", Priority::High, 0).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains("already stored"), "{err}");
    q.add(&b.as_queue_job()).unwrap();
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(vec![a, b]));
    let long = [b'x'; 65];
    let err = q
        .add(&Job::new(&long, b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 characters"), "{err}");
    let err = q
        .add(&Job::new(b"w", b"f", b"", Priority::Normal, 1 << 40).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn done_removes_and_unflushed_adds_are_not_stored() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    let jobs: Vec<Job> = (0..3)
        .map(|i| Job::new(format!("u{i}").as_bytes(), b"f", b"d", Priority::Low, 0))
        .collect();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    q.done(b"u0", b"f").unwrap();
    q.done(b"it's not there", b"f").unwrap();
    q.add(&Job::new(b"x", b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap();
    q.done(b"x", b"f").unwrap(); // inside the open transaction
    q.flush().unwrap();
    q.add(&Job::new(b"never", b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap();
    drop(q); // no flush: rolled back
    assert_eq!(
        sorted(replay_all(&mut t.open())),
        sorted(jobs[1..].to_vec())
    );
}

#[test]
fn replay_streams_many_rows_with_priority_and_time() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    let later = now_epoch() + 100;
    let jobs: Vec<Job> = (0..2500u32)
        .map(|i| {
            let when = if i % 5 == 0 { later + i64::from(i) } else { 0 };
            Job::new(
                format!("u{i}").as_bytes(),
                b"f",
                &i.to_be_bytes(),
                Priority::from_u32(i % 3),
                when,
            )
        })
        .collect();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(jobs));
}

#[test]
fn a_killed_connection_is_replaced() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    let a = Job::new(b"a", b"f", b"1", Priority::High, 0);
    q.add(&a.as_queue_job()).unwrap();
    q.flush().unwrap();
    // Killed while idle: the next call reconnects and succeeds.
    t.kill_connections();
    let b = Job::new(b"b", b"f", b"2", Priority::Low, 0);
    q.add(&b.as_queue_job()).unwrap();
    q.flush().unwrap();
    // Killed inside a transaction: that group fails, the next one works.
    q.add(&Job::new(b"lost", b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap();
    t.kill_connections();
    let err = q.flush().unwrap_err().to_string();
    assert!(err.contains("postgres"), "{err}");
    t.kill_connections_if_any();
    q.done(b"a", b"f").unwrap();
    assert_eq!(replay_all(&mut q), vec![b]);
}

#[test]
fn a_server_that_goes_down_fails_fast_and_comes_back() {
    let Some(t) = Table::new() else { return };
    let mut proxy = Proxy::start(SERVER);
    let mut q = t.open_at(proxy.port).unwrap();
    q.add(&Job::new(b"a", b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap();
    q.flush().unwrap();
    proxy.down();
    let start = Instant::now();
    let err = q
        .add(&Job::new(b"b", b"f", b"", Priority::Normal, 0).as_queue_job())
        .and_then(|()| q.flush())
        .unwrap_err()
        .to_string();
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
    assert!(err.contains("postgres"), "{err}");
    proxy.up();
    let c = Job::new(b"c", b"f", b"back", Priority::Normal, 0);
    q.add(&c.as_queue_job()).unwrap();
    q.flush().unwrap();
    let got = replay_all(&mut q);
    assert!(got.contains(&c) && got.len() >= 2, "{got:?}");
}

#[test]
fn unreachable_at_create_is_a_clear_error() {
    let Some(t) = Table::new() else { return };
    let start = Instant::now();
    let err = t.open_at(free_port()).err().unwrap().to_string();
    assert!(err.contains("cannot connect to 127.0.0.1"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(15));
    let err = Postgres::create(&Options::from_pairs([
        ("libpq-conninfo", CONNINFO),
        ("libpq-table", "x; drop table y"),
    ]))
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("invalid --libpq-table"), "{err}");
}

/// What C gearmand's postgres module can store: its keys must be valid UTF-8.
fn c_can_store(jobs: Vec<Job>) -> Vec<Job> {
    as_c_submits(jobs)
        .into_iter()
        .filter(|j| {
            std::str::from_utf8(&j.unique).is_ok() && std::str::from_utf8(&j.function).is_ok()
        })
        .collect()
}

fn c_args(t: &Table) -> Vec<String> {
    [
        "-q",
        "Postgres",
        "--libpq-conninfo",
        CONNINFO,
        "--libpq-table",
        &t.name,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn jobs_stored_by_c_gearmand_replay_here() {
    let Some(t) = Table::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let args = c_args(&t);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(c) = CGearmand::start(&args, dir.path()) else {
        return;
    };
    let jobs = c_can_store(odd_jobs());
    for j in &jobs {
        c.submit(submit_kind(j), j);
    }
    c.stop();
    // Priority and time survive (C gearmand's own replay loses both).
    assert_eq!(sorted(replay_all(&mut t.open())), sorted(jobs));
}

#[test]
fn jobs_stored_here_replay_in_c_gearmand() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    for j in [
        Job::new(b"a", b"fa", b"bin\0ary", Priority::High, 0),
        Job::new(b"b", b"fa", b"", Priority::Low, 0),
        Job::new(b"it's", b"fb-x", b"\\", Priority::Normal, 0),
        Job::new(b"", b"fb-x", b"empty unique", Priority::Normal, 0),
        Job::new(b"e", b"fc", b"later", Priority::Normal, now_epoch() + 3600),
    ] {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    q.shutdown();
    drop(q);
    let dir = tempfile::tempdir().unwrap();
    let args = c_args(&t);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(c) = CGearmand::start(&args, dir.path()) else {
        return;
    };
    let mut status = c.status();
    status.sort();
    let log = c.log_text();
    c.stop();
    let want = vec![
        ("fa".to_string(), 2),
        ("fb-x".to_string(), 2),
        ("fc".to_string(), 1),
    ];
    assert_eq!(status, want, "C gearmand log:\n{log}");
}
