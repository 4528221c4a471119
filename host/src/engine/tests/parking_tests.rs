//! Parked grabs (parking.rs): a GRAB_JOB that finds nothing waits up to `grab_hold` for a job.

use super::*;

const HOLD: Duration = Duration::from_millis(1);

fn parking() -> H {
    H::with(|c| c.grab_hold = HOLD)
}

#[test]
fn a_job_arriving_during_the_hold_is_assigned_at_once() {
    let mut h = parking();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.grab(w).is_empty(), "the grab is held, not answered");
    assert_eq!(h.eng.next_deadline(), Some(h.now.instant + HOLD));
    let out = h.submit(c, SUBMIT_JOB, "f", "u", "d");
    assert_eq!(
        out,
        v(&["c2 JOB_ASSIGN [H:t:1] [f] [d]", "c1 JOB_CREATED [H:t:1]"])
    );
    // Answered: the expiry does nothing.
    h.advance(HOLD);
    assert!(h.timers().is_empty());
}

#[test]
fn the_grab_kind_decides_the_assignment_packet() {
    let mut h = parking();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.req(w, GRAB_JOB_UNIQ, &[]).is_empty());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "u", "d");
    assert_eq!(out[0], "c2 JOB_ASSIGN_UNIQ [H:t:1] [f] [u] [d]");
}

#[test]
fn when_the_hold_ends_the_worker_gets_no_job() {
    let mut h = parking();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.grab(w).is_empty());
    h.advance(HOLD / 2);
    assert!(h.timers().is_empty(), "not yet");
    h.advance(HOLD / 2);
    assert_eq!(h.timers(), v(&["c2 NO_JOB"]));
    assert_eq!(h.eng.next_deadline(), None);
    // From here on the usual sleep and NOOP.
    assert!(h.sleep(w).is_empty());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "d");
    assert_eq!(out, v(&["c2 NOOP", "c1 JOB_CREATED [H:t:1]"]));
}

#[test]
fn any_other_packet_from_the_worker_ends_the_hold_first() {
    let mut h = parking();
    let w = h.open(2);
    h.can_do(w, "f");
    assert!(h.grab(w).is_empty());
    let out = h.req(w, ECHO_REQ, &[b"x"]);
    assert_eq!(out, v(&["c2 NO_JOB", "c2 ECHO_RES [x]"]));
    h.advance(HOLD);
    assert!(h.timers().is_empty());
}

#[test]
fn a_job_of_another_function_leaves_the_hold_alone() {
    let mut h = parking();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.grab(w).is_empty());
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "g", "", "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    h.advance(HOLD);
    assert_eq!(h.timers(), v(&["c2 NO_JOB"]));
}

#[test]
fn one_job_goes_to_one_parked_worker_and_sleepers_are_not_woken_for_it() {
    let mut h = parking();
    let (c, w1, w2, s) = (h.open(1), h.open(2), h.open(3), h.open(4));
    for w in [w1, w2, s] {
        h.can_do(w, "f");
    }
    assert!(h.sleep(s).is_empty());
    assert!(h.grab(w1).is_empty());
    assert!(h.grab(w2).is_empty());
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "1");
    assert_eq!(
        out,
        v(&["c2 JOB_ASSIGN [H:t:1] [f] [1]", "c1 JOB_CREATED [H:t:1]"])
    );
    // The second job goes to the next parked worker; the sleeper is still not needed.
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "2");
    assert_eq!(
        out,
        v(&["c3 JOB_ASSIGN [H:t:2] [f] [2]", "c1 JOB_CREATED [H:t:2]"])
    );
    // With no parked worker left, the third wakes the sleeper the usual way.
    let out = h.submit(c, SUBMIT_JOB_BG, "f", "", "3");
    assert_eq!(out, v(&["c4 NOOP", "c1 JOB_CREATED [H:t:3]"]));
}

#[test]
fn a_closed_worker_is_forgotten() {
    let mut h = parking();
    let (c, w) = (h.open(1), h.open(2));
    h.can_do(w, "f");
    assert!(h.grab(w).is_empty());
    assert!(h.close(w).is_empty());
    assert_eq!(
        h.submit(c, SUBMIT_JOB_BG, "f", "", "d"),
        v(&["c1 JOB_CREATED [H:t:1]"])
    );
    h.advance(HOLD);
    assert!(h.timers().is_empty());
}

#[test]
fn a_worker_without_abilities_is_answered_at_once() {
    let mut h = parking();
    let w = h.open(2);
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
}

#[test]
fn with_no_hold_no_job_is_immediate() {
    let mut h = H::new();
    let w = h.open(2);
    h.can_do(w, "f");
    assert_eq!(h.grab(w), v(&["c2 NO_JOB"]));
    assert_eq!(h.eng.next_deadline(), None);
}
