//! The memory limits (`--max-queued-jobs`, `--max-queued-jobs-per-function`, `--max-job-bytes`):
//! a submit past one gets ERROR QUEUE_ERROR and the job is not created; room made by finishing
//! jobs is usable again.

use super::*;
use crate::engine::EngineLimits;

fn limited(l: EngineLimits) -> H {
    let mut h = H::new();
    h.eng.set_limits(l);
    h
}

#[test]
fn total_jobs_are_limited_and_room_comes_back() {
    let mut h = limited(EngineLimits {
        max_jobs: 2,
        ..EngineLimits::default()
    });
    let (c, w) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "", "a");
    h.submit(c, SUBMIT_JOB_BG, "g", "", "b");
    let refused = v(&["c1 ERROR [QUEUE_ERROR] [Server job limit reached]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "h", "", "c"), refused);
    // Coalescing onto an existing job creates nothing and is allowed.
    h.submit(c, SUBMIT_JOB_BG, "f", "u", "x");
    assert_eq!(h.eng.job_count(), 2);
    h.can_do(w, "f");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "h", "", "c"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
}

#[test]
fn per_function_default_yields_to_maxqueue() {
    let mut h = limited(EngineLimits {
        max_per_function: 1,
        ..EngineLimits::default()
    });
    let c = h.open(1);
    h.submit(c, SUBMIT_JOB_BG, "f", "", "a");
    let full = v(&["c1 ERROR [QUEUE_ERROR] [Job queue is full]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "", "b"), full);
    // Another function has its own count.
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "g", "", "b").len(), 1);
    // An explicit maxqueue replaces the default for that function.
    assert_eq!(h.admin_s(c, "maxqueue f 5"), "OK\r\n");
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "c"),
        v(&["c1 JOB_CREATED [H:t:3]"])
    );
}

#[test]
fn job_bytes_are_limited() {
    let mut h = limited(EngineLimits {
        max_job_bytes: 10,
        ..EngineLimits::default()
    });
    let (c, w) = (h.open(1), h.open(2));
    // unique + data count: 2 + 6 = 8 bytes.
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "u1", "123456").len(), 1);
    let refused = v(&["c1 ERROR [QUEUE_ERROR] [Server job memory limit reached]"]);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "u2", "123"), refused);
    assert_eq!(h.submit(c, SUBMIT_JOB_BG, "f", "u", "1").len(), 1);
    assert_eq!(h.eng.jobs.bytes(), 10);
    // A finished job gives its bytes back.
    h.can_do(w, "f");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b""]);
    assert_eq!(h.eng.jobs.bytes(), 2);
}
