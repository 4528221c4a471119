//! The contract checks the SQL queue plugins (sqlite, postgres, mysql) share, each written once as
//! a generic function and called from one `#[test]` per backend, so every backend still runs every
//! check under its own test name. What differs between backends (error texts, how a connection
//! is killed, whether replay keeps insertion order) comes in as a parameter.

use crate::cgearmand::{CGearmand, FunctionStatus};
use crate::env::free_port;
use crate::job::{assert_replayed, now_epoch, replay_all, sorted, Job, Order};
use crate::proxy::Proxy;
use gearmand_plugin_api::{Priority, QueuePlugin};
use std::ffi::OsStr;
use std::fmt::Display;
use std::time::{Duration, Instant};

fn add(q: &mut impl QueuePlugin, j: &Job) {
    q.add(&j.as_queue_job()).unwrap();
}

/// Every job of `jobs` is stored by one flush and replays, unchanged, from a fresh connection.
pub fn every_kind_of_job_round_trips<Q: QueuePlugin>(
    open: impl Fn() -> Q,
    jobs: Vec<Job>,
    order: Order,
) {
    let mut q = open();
    for j in &jobs {
        add(&mut q, j);
    }
    q.flush().unwrap();
    drop(q);
    assert_replayed(replay_all(&mut open()), jobs, order);
}

/// A second job with the same key is refused with `duplicate_error` and the rest of the group is
/// still stored; a unique over 64 characters and a time past the 32-bit column are refused too.
pub fn duplicates_are_refused_without_losing_the_group<Q: QueuePlugin>(
    mut q: Q,
    duplicate_error: &str,
) {
    let a = Job::new(b"", b"f", b"first", Priority::Normal, 0);
    let b = Job::new(b"b", b"f", b"b", Priority::Normal, 0);
    add(&mut q, &a);
    let err = q
        .add(&Job::new(b"", b"f", b"second", Priority::High, 0).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains(duplicate_error), "{err}");
    add(&mut q, &b);
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(vec![a, b]));
    let err = q
        .add(&Job::new(&[b'x'; 65], b"f", b"", Priority::Normal, 0).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 characters"), "{err}");
    let err = q
        .add(&Job::new(b"w", b"f", b"", Priority::Normal, 1 << 40).as_queue_job())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit"), "{err}");
}

/// `done` removes at once outside a transaction and inside the open one, a missing job is not an
/// error, and an add never flushed is not stored (the process "crashes": no shutdown, no flush).
pub fn done_removes_and_unflushed_adds_are_not_stored<Q: QueuePlugin>(
    open: impl Fn() -> Q,
    order: Order,
) {
    let mut q = open();
    let jobs: Vec<Job> = (0..3)
        .map(|i| Job::new(format!("u{i}").as_bytes(), b"f", b"d", Priority::Low, 0))
        .collect();
    for j in &jobs {
        add(&mut q, j);
    }
    q.flush().unwrap();
    q.done(b"u0", b"f").unwrap();
    q.done(b"it's not there", b"f").unwrap();
    add(&mut q, &Job::new(b"x", b"f", b"", Priority::Normal, 0));
    q.done(b"x", b"f").unwrap(); // inside the open transaction
    q.flush().unwrap();
    add(&mut q, &Job::new(b"never", b"f", b"", Priority::Normal, 0));
    drop(q); // no flush: rolled back
    assert_replayed(replay_all(&mut open()), jobs[1..].to_vec(), order);
}

/// 2,500 rows of every priority, a fifth of them epoch jobs, replay in full (more than one batch
/// of a streaming replay).
pub fn replay_streams_many_rows_with_priority_and_time<Q: QueuePlugin>(mut q: Q) {
    let later = now_epoch() + 100;
    let jobs: Vec<Job> = (0..2500u32)
        .map(|i| {
            let when = if i % 5 == 0 { later + i64::from(i) } else { 0 };
            let unique = format!("u{i}");
            Job::new(
                unique.as_bytes(),
                b"f",
                &i.to_be_bytes(),
                Priority::from_u32(i % 3),
                when,
            )
        })
        .collect();
    for j in &jobs {
        add(&mut q, j);
    }
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(jobs));
}

/// `kill` kills the plugin's server connections (and asserts it found one); `after_failed_flush`
/// runs after the flush that lost its connection (postgres kills any connection made meanwhile).
/// A connection killed while idle is replaced by the next call; one killed inside a transaction
/// fails that group with an error naming `backend`, and the next call works.
pub fn a_killed_connection_is_replaced<Q: QueuePlugin>(
    mut q: Q,
    backend: &str,
    mut kill: impl FnMut(),
    after_failed_flush: impl FnOnce(),
) {
    let a = Job::new(b"a", b"f", b"1", Priority::High, 0);
    add(&mut q, &a);
    q.flush().unwrap();
    // Killed while idle: the next call reconnects and succeeds.
    kill();
    let b = Job::new(b"b", b"f", b"2", Priority::Low, 0);
    add(&mut q, &b);
    q.flush().unwrap();
    // Killed inside a transaction: that group fails, the next call works.
    add(&mut q, &Job::new(b"lost", b"f", b"", Priority::Normal, 0));
    kill();
    let err = q.flush().unwrap_err().to_string();
    assert!(err.contains(backend), "{err}");
    after_failed_flush();
    q.done(b"a", b"f").unwrap();
    assert_eq!(replay_all(&mut q), vec![b]);
}

/// Through a proxy to `server` that goes down, a flush fails within 15 s with an error naming
/// `backend`; once the proxy is back the same plugin stores again.
pub fn a_server_that_goes_down_fails_fast_and_comes_back<Q: QueuePlugin, E: std::fmt::Debug>(
    server: &str,
    open_at: impl Fn(u16) -> Result<Q, E>,
    backend: &str,
) {
    let mut proxy = Proxy::start(server);
    let mut q = open_at(proxy.port).unwrap();
    add(&mut q, &Job::new(b"a", b"f", b"", Priority::Normal, 0));
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
    assert!(err.contains(backend), "{err}");
    proxy.up();
    let c = Job::new(b"c", b"f", b"back", Priority::Normal, 0);
    add(&mut q, &c);
    q.flush().unwrap();
    let got = replay_all(&mut q);
    assert!(got.contains(&c) && got.len() >= 2, "{got:?}");
}

/// Nothing listening: create fails within 15 s naming the address; `bad_table` (a create with the
/// table name `x; drop table y`) fails naming `table_option`.
pub fn unreachable_at_create_is_a_clear_error<Q, E: Display>(
    open_at: impl Fn(u16) -> Result<Q, E>,
    bad_table: Result<Q, E>,
    table_option: &str,
) {
    let start = Instant::now();
    let err = open_at(free_port()).err().unwrap().to_string();
    assert!(err.contains("cannot connect to 127.0.0.1"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(15));
    let err = bad_table.err().unwrap().to_string();
    assert!(err.contains(&format!("invalid {table_option}")), "{err}");
}

/// Jobs this plugin stores (shut down cleanly) are what C gearmand started with `c_args` replays:
/// its admin status counts them per function, none running, no workers.
pub fn jobs_stored_here_replay_in_c_gearmand<Q: QueuePlugin>(
    mut q: Q,
    c_args: &[impl AsRef<OsStr>],
) {
    for j in [
        Job::new(b"a", b"fa", b"bin\0ary", Priority::High, 0),
        Job::new(b"b", b"fa", b"", Priority::Normal, 0),
        Job::new(b"c", b"fa", b"x", Priority::Low, 0),
        Job::new(b"it's", b"fb-x", b"\\", Priority::Normal, 0),
        Job::new(b"", b"fb-x", b"empty unique", Priority::Normal, 0),
        Job::new(b"e", b"fc", b"later", Priority::Normal, now_epoch() + 3600),
    ] {
        add(&mut q, &j);
    }
    q.flush().unwrap();
    q.shutdown();
    drop(q);
    let Some(mut c) = CGearmand::start(c_args) else {
        return;
    };
    let status = c.status();
    let log = c.log_text();
    c.stop();
    let want: Vec<FunctionStatus> = vec![
        ("fa".to_string(), 3, 0, 0),
        ("fb-x".to_string(), 2, 0, 0),
        ("fc".to_string(), 1, 0, 0),
    ];
    assert_eq!(status, want, "C gearmand log:\n{log}");
}
