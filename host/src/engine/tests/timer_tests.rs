//! Timers: CAN_DO_TIMEOUT per job, epoch jobs falling due.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn can_do_timeout(h: &mut H, w: ConnId, f: &str, t: &str) -> Vec<String> {
    h.req(w, CAN_DO_TIMEOUT, &[f.as_bytes(), t.as_bytes()])
}

#[test]
fn timeout_requeues_the_job_silently() {
    let mut h = H::new();
    let (c, w, s) = (h.open(1), h.open(2), h.open(3));
    assert!(can_do_timeout(&mut h, w, "f", "2500").is_empty());
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    h.grab(w);
    let deadline = h.eng.next_deadline().expect("a timer is armed");
    assert_eq!(deadline, h.now.instant + ms(2500));
    h.can_do(s, "f");
    h.sleep(s);
    h.advance(ms(2499));
    assert!(h.timers().is_empty());
    h.advance(ms(1));
    // The worker is not told; the sleeping worker is woken.
    assert_eq!(h.timers(), v(&["c3 NOOP"]));
    assert_eq!(h.admin_s(c, "show jobs"), "H:t:1\t1\t0\t0\n.\n");
    let late = h.req(w, WORK_COMPLETE, &[b"H:t:1", b"late"]);
    assert_eq!(
        late,
        v(&["c2 ERROR [JOB_NOT_FOUND] [Job given in work result not found]"])
    );
    assert_eq!(h.grab(s), v(&["c3 JOB_ASSIGN [H:t:1] [f] [x]"]));
    assert_eq!(h.eng.next_deadline(), None);
}

#[test]
fn short_timeouts_become_one_second_and_non_positive_ones_none() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    can_do_timeout(&mut h, w, "f", "1");
    h.submit(c, SUBMIT_JOB_BG, "f", "", "x");
    h.grab(w);
    assert_eq!(h.eng.next_deadline(), Some(h.now.instant + ms(1000)));
    let w2 = h.open(3);
    for t in ["0", "-5", "abc"] {
        can_do_timeout(&mut h, w2, "g", t);
    }
    h.submit(c, SUBMIT_JOB_BG, "g", "", "y");
    h.grab(w2);
    // Still only the first timer.
    assert_eq!(h.eng.next_deadline(), Some(h.now.instant + ms(1000)));
    assert_eq!(h.admin_s(c, "status"), "f\t1\t1\t1\ng\t1\t1\t3\n.\n");
}

#[test]
fn bad_timeout_arguments() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    // Longer than 20 bytes: ignored, no registration.
    assert!(can_do_timeout(&mut h, w, "f", "000000000000000000001").is_empty());
    assert_eq!(
        h.admin_s(c, "workers"),
        "31 127.0.0.1 - :\n32 127.0.0.1 - :\n.\n"
    );
    // Out of range: the connection is closed (the original crashed).
    assert_eq!(
        can_do_timeout(&mut h, w, "f", "99999999999999999999"),
        v(&["c2 CLOSE"])
    );
    assert_eq!(
        can_do_timeout(&mut h, w, "f", "9223372036854775807"),
        v(&["c2 CLOSE"])
    );
}

#[test]
fn timer_is_cancelled_when_the_job_ends() {
    let mut h = H::new();
    let (c, w, w2) = (h.open(1), h.open(2), h.open(3));
    can_do_timeout(&mut h, w, "f", "1000");
    h.submit(c, SUBMIT_JOB, "f", "", "one");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    // Another job on another worker must not be hit by the old timer.
    h.submit(c, SUBMIT_JOB, "f", "", "two");
    h.can_do(w2, "f");
    h.grab(w2);
    h.advance(ms(5000));
    assert!(h.timers().is_empty());
    assert_eq!(
        h.req(w2, WORK_COMPLETE, &[b"H:t:2", b"ok"]),
        v(&["c1 WORK_COMPLETE [H:t:2] [ok]"])
    );
}

#[test]
fn each_assigned_job_has_its_own_timer() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    can_do_timeout(&mut h, w, "f", "1000");
    h.submit(c, SUBMIT_JOB, "f", "", "a");
    h.submit(c, SUBMIT_JOB, "f", "", "b");
    h.grab(w);
    h.advance(ms(500));
    h.grab(w);
    h.advance(ms(500));
    assert!(h.timers().is_empty());
    assert_eq!(
        h.admin_s(c, "show jobs"),
        "H:t:1\t1\t0\t0\nH:t:2\t0\t0\t0\n.\n"
    );
    h.advance(ms(500));
    h.timers();
    assert_eq!(
        h.admin_s(c, "show jobs"),
        "H:t:1\t1\t0\t0\nH:t:2\t1\t0\t0\n.\n"
    );
    assert_eq!(h.admin_s(c, "status"), "f\t2\t0\t1\n.\n");
}

#[test]
fn timeout_counts_against_job_retries() {
    let mut h = H::with(|c| c.job_retries = 1);
    let (c, w) = (h.open(1), h.open(2));
    can_do_timeout(&mut h, w, "f", "1000");
    h.submit(c, SUBMIT_JOB, "f", "", "a");
    h.grab(w);
    h.advance(ms(1000));
    assert_eq!(h.timers(), v(&["c1 WORK_FAIL [H:t:1]"]));
    assert_eq!(h.eng.job_count(), 0);
}

#[test]
fn the_timeout_of_the_first_registration_applies() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    can_do_timeout(&mut h, w, "f", "5000");
    h.can_do(w, "f"); // newer, no timeout: it comes first in the list
    h.submit(c, SUBMIT_JOB, "f", "", "a");
    h.grab(w);
    assert_eq!(h.eng.next_deadline(), None);
}

#[test]
fn future_epoch_jobs_wait_and_wake_sleepers_when_due() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.sleep(w).is_empty());
    let when = (h.now.epoch + 10).to_string();
    let out = h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"", when.as_bytes(), b"later"]);
    // No spurious NOOP for a job that cannot run yet.
    assert_eq!(out, v(&["c1 JOB_CREATED [H:t:1]"]));
    assert_eq!(h.admin_s(c, "status"), "f\t1\t0\t1\n.\n");
    assert_eq!(h.admin_s(c, "prioritystatus"), "f\t0\t1\t0\t1\n.\n");
    assert_eq!(
        h.eng.next_deadline(),
        Some(h.now.instant + Duration::from_secs(10))
    );
    h.advance(Duration::from_secs(9));
    assert!(h.timers().is_empty());
    assert!(h.sleep(w).is_empty());
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
    h.sleep(w);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.timers(), v(&["c2 NOOP"]));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [later]"]));
    assert_eq!(h.eng.next_deadline(), None);
}

#[test]
fn a_due_epoch_job_is_runnable_at_grab_even_before_on_timers() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    let when = (h.now.epoch + 2).to_string();
    h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"", when.as_bytes(), b"d"]);
    h.can_do(w, "f");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [d]"]));
}

#[test]
fn a_future_epoch_job_does_not_hide_lower_priority_jobs() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    let when = (h.now.epoch + 100).to_string();
    h.req(
        c,
        SUBMIT_JOB_EPOCH,
        &[b"f", b"", when.as_bytes(), b"future"],
    );
    h.submit(c, SUBMIT_JOB_LOW_BG, "f", "", "low");
    h.can_do(w, "f");
    assert_eq!(h.sleep(w), v(&["c2 NOOP"]));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:2] [f] [low]"]));
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
}

#[test]
fn past_epochs_run_now() {
    let mut h = H::new();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    h.sleep(w);
    let out = h.req(c, SUBMIT_JOB_EPOCH, &[b"f", b"", b"12345", b"old"]);
    assert_eq!(out, v(&["c2 NOOP", "c1 JOB_CREATED [H:t:1]"]));
    assert_eq!(h.grab(w), v(&["c2 JOB_ASSIGN [H:t:1] [f] [old]"]));
}
