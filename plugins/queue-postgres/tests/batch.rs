//! `add_batch` (ABI 1.2) against the real server: a batch stores what `add` per job would store
//! (every kind of job), refuses exactly the jobs `add` would refuse (a key already stored, a key
//! repeated inside the batch, values the columns cannot hold) with the same messages, spans
//! several statements, shares the group transaction with `add` and `done`, fails as a whole when
//! the connection dies, and works on a table whose integer columns are not the original's.

mod common;

use common::*;
use gearmand_plugin_api::{Priority, QueueJob, QueuePlugin};

fn job(unique: &str, data: &str) -> Job {
    Job::new(
        unique.as_bytes(),
        b"f",
        data.as_bytes(),
        Priority::Normal,
        0,
    )
}

fn add_batch(q: &mut impl QueuePlugin, jobs: &[Job]) -> Result<Vec<(usize, String)>, String> {
    let jobs: Vec<QueueJob<'_>> = jobs.iter().map(Job::as_queue_job).collect();
    let refused = q.add_batch(&jobs).map_err(|e| e.to_string())?;
    Ok(refused
        .into_iter()
        .map(|(i, e)| (i, e.to_string()))
        .collect())
}

#[test]
fn a_batch_refuses_only_the_jobs_add_would_refuse() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    let stored = job("a", "first");
    q.add(&stored.as_queue_job()).unwrap();
    q.flush().unwrap();
    let long = "x".repeat(65);
    let batch = [
        job("b", "b"),
        job("a", "a again"), // stored before
        job("c", "c"),
        job("c", "c again"), // earlier in this batch
        job("", "empty"),
        job("", "empty again"), // the empty unique too
        job(&long, "too long"),
        Job::new(b"w", b"f", b"", Priority::Low, 1 << 40),
        Job::new(b"d", b"f", b"d", Priority::High, now_epoch() + 60),
    ];
    let refused = add_batch(&mut q, &batch).unwrap();
    let indices: Vec<usize> = refused.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, [1, 3, 5, 6, 7], "{refused:?}");
    for (i, why) in &refused {
        let want = match i {
            6 => "64 characters",
            7 => "does not fit",
            _ => "already stored",
        };
        assert!(why.contains(want), "job {i}: {why}");
    }
    q.flush().unwrap();
    let want = vec![
        stored,
        batch[0].clone(),
        batch[2].clone(),
        batch[4].clone(),
        batch[8].clone(),
    ];
    assert_eq!(sorted(replay_all(&mut q)), sorted(want));
}

#[test]
fn a_large_batch_spans_statements_and_keeps_every_job() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    // More than one statement's worth (2048 rows), with a repeat far from its first occurrence.
    let mut batch: Vec<Job> = (0..5000u32)
        .map(|i| {
            let data = i.to_be_bytes();
            Job::new(
                format!("u{i}").as_bytes(),
                b"f",
                &data,
                Priority::from_u32(i % 3),
                0,
            )
        })
        .collect();
    batch[4500] = job("u10", "repeat of job 10");
    let refused = add_batch(&mut q, &batch).unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, 4500);
    q.flush().unwrap();
    batch.remove(4500);
    assert_eq!(sorted(replay_all(&mut q)), sorted(batch));
}

#[test]
fn batches_share_the_group_transaction_with_add_and_done() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    q.add(&job("x", "single").as_queue_job()).unwrap();
    assert!(add_batch(&mut q, &[job("y", "y"), job("x", "dup")]).unwrap()[0].0 == 1);
    q.done(b"x", b"f").unwrap();
    // x is gone inside the transaction, so it may be added again.
    assert_eq!(add_batch(&mut q, &[job("x", "again")]).unwrap(), []);
    q.flush().unwrap();
    assert_eq!(
        sorted(replay_all(&mut q)),
        sorted(vec![job("y", "y"), job("x", "again")])
    );
    // Not flushed: rolled back with the connection.
    assert_eq!(add_batch(&mut q, &[job("never", "")]).unwrap(), []);
    drop(q);
    assert_eq!(replay_all(&mut t.open()).len(), 2);
}

#[test]
fn a_dead_connection_fails_the_whole_batch_and_the_next_one_reconnects() {
    let Some(t) = Table::new() else { return };
    let mut q = t.open();
    assert_eq!(add_batch(&mut q, &[job("lost", "")]).unwrap(), []);
    t.kill_connections();
    // The transaction holding "lost" died: this batch fails whole, and so does the flush.
    let err = add_batch(&mut q, &[job("b1", ""), job("b2", "")]).unwrap_err();
    assert!(err.contains("postgres"), "{err}");
    let err = q.flush().unwrap_err().to_string();
    assert!(err.contains("not stored"), "{err}");
    t.kill_connections_if_any();
    // Idle again: the next batch reconnects and is stored.
    assert_eq!(add_batch(&mut q, &[job("c", "")]).unwrap(), []);
    q.flush().unwrap();
    assert_eq!(replay_all(&mut q), vec![job("c", "")]);
}

#[test]
fn a_table_with_other_integer_columns_takes_batches() {
    let Some(t) = Table::new() else { return };
    Table::admin()
        .batch_execute(&format!(
            "CREATE TABLE {} (unique_key TEXT, function_name TEXT, priority SMALLINT, \
             data BYTEA, when_to_run BIGINT, UNIQUE (unique_key, function_name))",
            t.name
        ))
        .unwrap();
    let mut q = t.open();
    let batch = [
        Job::new(b"late", b"f", b"\0bin", Priority::Low, 1 << 40),
        Job::new(b"\xff\x00", b"f", b"", Priority::High, 0),
        Job::new(b"\xff\x00", b"f", b"dup", Priority::High, 0),
    ];
    let refused = add_batch(&mut q, &batch).unwrap();
    assert_eq!(refused.iter().map(|r| r.0).collect::<Vec<_>>(), [2]);
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(batch[..2].to_vec()));
}

#[test]
fn every_kind_of_job_round_trips_in_one_batch() {
    let Some(t) = Table::new() else { return };
    let jobs = odd_sql_jobs();
    let mut q = t.open();
    assert_eq!(add_batch(&mut q, &jobs).unwrap(), []);
    q.flush().unwrap();
    drop(q);
    assert_eq!(sorted(replay_all(&mut t.open())), sorted(jobs));
}
