//! Scale: deep queues stay O(1) per operation and lazily pruned lists stay bounded.

use super::*;

#[test]
fn deep_queue_hands_out_in_order() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    let n = 50_000;
    for i in 0..n {
        h.submit(c, SUBMIT_JOB_BG, "deep", &format!("u{i}"), "d");
    }
    h.submit(c, SUBMIT_JOB_HIGH_BG, "other", "", "urgent");
    h.can_do(w, "deep");
    h.can_do(w, "other");
    assert_eq!(
        h.grab(w),
        v(&[&format!("c2 JOB_ASSIGN [H:t:{}] [other] [urgent]", n + 1)])
    );
    for i in 1..=n {
        let out = h.grab(w);
        assert_eq!(out, v(&[&format!("c2 JOB_ASSIGN [H:t:{i}] [deep] [d]")]));
        let handle = format!("H:t:{i}");
        assert!(h
            .req(w, WORK_COMPLETE, &[handle.as_bytes(), b""])
            .is_empty());
    }
    assert_eq!(h.eng.job_count(), 1);
}

#[test]
fn sleeper_entries_of_an_idle_function_stay_bounded() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "idle");
    h.can_do(w, "busy");
    for i in 0..5_000u32 {
        assert!(h.sleep(w).is_empty());
        let out = h.submit(c, SUBMIT_JOB_BG, "busy", "", "d");
        assert_eq!(out[0], "c2 NOOP");
        h.grab(w);
        let handle = format!("H:t:{}", i + 1);
        h.req(w, WORK_COMPLETE, &[handle.as_bytes(), b""]);
    }
    let idle = h.eng.funcs.find(b"idle").unwrap();
    // One live sleeper plus the pruning slack.
    assert!(h.eng.funcs.get(idle).sleepers.len() <= 2 + 17);
}

#[test]
fn cancelled_timeouts_do_not_pile_up() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.req(w, CAN_DO_TIMEOUT, &[b"f", b"3600000"]);
    for i in 0..10_000u32 {
        h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
        h.grab(w);
        let handle = format!("H:t:{}", i + 1);
        h.req(w, WORK_COMPLETE, &[handle.as_bytes(), b""]);
    }
    assert!(h.eng.timers.timeout_entries() < 3_000);
}

#[test]
fn a_long_lived_clients_wait_list_stays_bounded() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    for i in 0..10_000u32 {
        h.submit(c, SUBMIT_JOB, "f", "", "d");
        h.grab(w);
        let handle = format!("H:t:{}", i + 1);
        h.req(w, WORK_COMPLETE, &[handle.as_bytes(), b""]);
    }
    assert!(h.eng.conns.get(c).unwrap().waiting().len() <= 35);
}

/// `cargo test --release -p gearmand --lib engine::tests::scale_tests::throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn throughput() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    let n = 1_000_000u32;
    let start = Instant::now();
    for _ in 0..n {
        h.eng.handle(
            ToEngine::Request(c, Frame::with_args(SUBMIT_JOB, &[b"f", b"", b"payload"])),
            h.now,
            &mut Outbox::default(),
        );
    }
    let submitted = start.elapsed();
    let start = Instant::now();
    for i in 1..=n {
        h.eng.handle(
            ToEngine::Request(w, Frame::new(GRAB_JOB)),
            h.now,
            &mut Outbox::default(),
        );
        let handle = format!("H:t:{i}");
        let f = Frame::with_args(WORK_COMPLETE, &[handle.as_bytes(), b"r"]);
        h.eng
            .handle(ToEngine::Request(w, f), h.now, &mut Outbox::default());
    }
    let done = start.elapsed();
    assert_eq!(h.eng.job_count(), 0);
    println!("{n} submits in {submitted:?}, {n} grab+complete in {done:?}");
}
