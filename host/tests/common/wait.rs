//! Awaiting conditions by polling with a deadline, so no test uses a bare sleep to synchronise.

use std::time::{Duration, Instant};

/// How often a condition is re-checked.
const POLL: Duration = Duration::from_millis(20);

/// Poll `f` until it returns `Some`, or panic with `what` after `timeout`.
#[track_caller]
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// Poll `cond` until true, or panic with `what` after `timeout`.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    eventually(what, timeout, || cond().then_some(()))
}
