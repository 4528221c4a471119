//! The persistent queue as the engine drives it.

use super::*;

fn row(unique: &str, function: &str, data: &str, priority: u32, when: i64) -> Row {
    Row {
        unique: unique.into(),
        function: function.into(),
        data: data.into(),
        priority,
        when,
    }
}

#[test]
fn background_jobs_are_stored_and_flushed_before_job_created() {
    let mut h = H::new();
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_HIGH_BG, "f", "u", "d");
    h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"e", b"2000000", b"later"]);
    h.req(
        c,
        SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"f", b"r", b"red", b"agg", b"x"],
    );
    assert_eq!(
        h.q.calls(),
        [
            "add u f d 0 0",
            "flush",
            "add e f later 1 2000000",
            "flush",
            "add r f x 1 0",
            "flush"
        ]
    );
    // Foreground jobs and coalescing submits are not stored.
    h.submit(c, SUBMIT_JOB, "f", "fg", "d");
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    assert!(h.q.calls().is_empty());
}

#[test]
fn a_refused_add_discards_the_job_but_uses_its_number() {
    let mut h = H::new();
    let c = h.open(1);
    h.q.state().fail_add = Some("duplicate key".into());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    assert_eq!(out, v(&["c1 ERROR [QUEUE_ERROR] [duplicate key]"]));
    assert_eq!(h.eng.job_count(), 0);
    h.q.state().fail_add = None;
    h.q.state().fail_flush = Some("disk full".into());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    assert_eq!(out, v(&["c1 ERROR [QUEUE_ERROR] [disk full]"]));
    h.q.state().fail_flush = None;
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "u", "d"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
    assert_eq!(h.admin_s(c, "status"), "f\t1\t0\t0\n.\n");
}

#[test]
fn done_is_called_when_a_stored_job_ends() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    for u in ["a", "b", "c"] {
        h.submit(c, SUBMIT_JOB_BG, "f", u, "d");
    }
    h.can_do(w, "f");
    h.q.calls();
    for (n, k) in [(1, WORK_COMPLETE), (2, WORK_FAIL), (3, WORK_EXCEPTION)] {
        h.grab(w);
        let handle = format!("H:t:{n}");
        let args: Vec<&[u8]> = match k {
            WORK_FAIL => vec![handle.as_bytes()],
            _ => vec![handle.as_bytes(), b"r"],
        };
        assert!(h.req(w, k, &args).is_empty());
    }
    // In place (no queue thread), each removal is made durable at once.
    assert_eq!(
        h.q.calls(),
        ["done a f", "flush", "done b f", "flush", "done c f", "flush"]
    );
    // Foreground jobs owe nothing.
    h.submit(c, SUBMIT_JOB, "f", "fg", "d");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:4", b""]);
    assert!(h.q.calls().is_empty());
}

#[test]
fn done_failure_closes_the_worker_and_the_job_runs_again() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    h.can_do(w, "f");
    h.grab(w);
    h.q.state().fail_done = Some("db down".into());
    assert_eq!(h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]), v(&["c2 CLOSE"]));
    assert_eq!(h.eng.job_count(), 1);
    h.q.state().fail_done = None;
    h.close(w);
    let w2 = h.open(3);
    h.can_do(w2, "f");
    assert_eq!(h.grab(w2), v(&["c3 JOB_ASSIGN [H:t:1] [f] [d]"]));
}

#[test]
fn dropped_by_retries_and_cancelled_jobs_are_done() {
    let mut h = H::with(|c| c.job_retries = 1);
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "a", "d");
    h.submit(c, SUBMIT_JOB_BG, "f", "b", "d");
    h.can_do(w, "f");
    h.grab(w);
    h.q.calls();
    assert!(h.close(w).is_empty());
    assert_eq!(h.q.calls(), ["done a f", "flush"]);
    assert_eq!(h.admin(c, "cancel job H:t:2"), b"OK\r\n");
    assert_eq!(h.q.calls(), ["done b f", "flush"]);
    // Cancelling again re-sends WORK_FAIL but owes no second done.
    assert_eq!(h.admin(c, "cancel job H:t:2"), b"OK\r\n");
    assert!(h.q.calls().is_empty());
}

#[test]
fn cancel_with_a_failing_queue_is_an_unknown_error() {
    let mut h = H::new();
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_BG, "f", "a", "d");
    h.q.state().fail_done = Some("nope".into());
    assert_eq!(h.admin(c, "cancel job H:t:1"), b"ERR UNKNOWN_ERROR\r\n");
    assert_eq!(h.admin_s(c, "show jobs"), "H:t:1\t0\t0\t1\n.\n");
}

#[test]
fn replay_inserts_stored_jobs_without_storing_them_again() {
    let q = TestQueue::default();
    q.state().rows = vec![
        row("a", "f", "1", 1, 0),
        row("b", "f", "2", 0, 0),
        row("a", "f", "dup", 1, 0),
        row("", "g", "3", 2, 0),
        row("e", "f", "4", 1, 1_000_100),
    ];
    let mut h = H::with_queue(config(), q);
    assert_eq!(h.eng.replay(h.now), Ok(5));
    assert!(h.q.calls().is_empty());
    let c = h.open(1);
    assert_eq!(
        h.admin_s(c, "show jobs"),
        "H:t:1\t0\t0\t1\nH:t:2\t0\t0\t1\nH:t:3\t0\t0\t1\nH:t:4\t0\t0\t1\n.\n"
    );
    assert_eq!(
        h.admin_s(c, "prioritystatus"),
        "f\t1\t2\t0\t0\ng\t0\t0\t1\t0\n.\n"
    );
    // New jobs continue the numbering.
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "n", "x"),
        v(&["c1 JOB_CREATED [H:t:5]"])
    );
    let w = h.open(2);
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:2] [f] [2]"]));
    h.q.calls();
    h.req(w, WORK_COMPLETE, &[b"H:t:2", b""]);
    assert_eq!(h.q.calls(), ["done b f", "flush"]);
    // The replayed epoch job becomes due on its timer.
    assert!(h.eng.next_deadline().is_some());
}

#[test]
fn replay_failure_is_reported() {
    struct Broken;
    impl QueueStore for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn add(&mut self, _: &StoredJob<'_>) -> Result<(), String> {
            Ok(())
        }
        fn flush(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn done(&mut self, _: &[u8], _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn replay(
            &mut self,
            _: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
        ) -> Result<(), String> {
            Err("cannot read".into())
        }
    }
    let mut eng = Engine::new(config(), Box::new(Broken));
    assert_eq!(eng.replay(Clock::now()), Err("cannot read".to_string()));
}

#[test]
fn store_on_shutdown_writes_jobs_at_exit_instead_of_at_submit() {
    let mut h = H::new();
    h.q.state().store_on_shutdown = true;
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "a", "1");
    h.submit(c, SUBMIT_JOB_LOW_BG, "f", "b", "2");
    h.submit(c, SUBMIT_JOB, "f", "fg", "3");
    h.can_do(w, "f");
    h.grab(w); // the running background job is saved too
    assert!(h.q.calls().is_empty());
    h.eng.shutdown();
    assert_eq!(
        h.q.calls(),
        ["add a f 1 1 0", "add b f 2 2 0", "flush", "shutdown"]
    );
}

#[test]
fn plain_shutdown_only_releases_the_queue() {
    let mut h = H::new();
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_BG, "f", "a", "1");
    h.q.calls();
    h.eng.shutdown();
    assert_eq!(h.q.calls(), ["shutdown"]);
}

/// The engine asks the queue what it is, not its name: one that is not durable keeps its calls
/// on the engine's thread, as `builtin` does; a durable one moves to the queue thread.
#[test]
fn only_a_durable_queue_moves_to_the_queue_thread() {
    let mut h = H::new();
    h.q.state().volatile = true;
    h.eng.start_background(std::sync::Arc::new(|| {}));
    assert!(!h.eng.persists_in_background());
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    assert_eq!(h.q.calls(), ["add u f d 1 0", "flush"]);

    let mut h = H::new();
    h.eng.start_background(std::sync::Arc::new(|| {}));
    assert!(h.eng.persists_in_background());
    h.eng.shutdown();
}
