//! Looking again before sleeping, for the I/O threads and the processing thread.
//!
//! A message or a packet for a thread that sleeps costs a wake-up (eventfd, futex or the
//! socket's) and the sleeper's two context switches; on a VM, where an idle vCPU halts, also an
//! exit to the hypervisor and an interrupt to bring the vCPU back. A thread that is still
//! looking when the message arrives takes it for the price of a queue push. So before it
//! sleeps, a thread looks again for up to `--spin-us` microseconds (50 by default, the value
//! Linux recommends for its own socket busy-polling, `net.core.busy_read`), yielding the CPU
//! between looks: a runnable thread (a client on the same core, another of ours) gets the core
//! at once, so the looks do not starve anyone, and they are bounded, so an idle server still
//! sleeps. `--spin-us 0` sleeps at once.
//!
//! The budget is a time, not a number of looks, because what it has to bridge is a time (the gap
//! between one packet of a client or worker and its next), and a fixed number of looks takes
//! less of it the faster the machine. The cost is CPU while work is scarce: at most one budget
//! per sleep per thread (docs/performance.md).

use mio::{Events, Poll};
use std::io;
use std::time::{Duration, Instant};

/// Calls `look` until it finds something or `budget` has passed, yielding the CPU after each
/// miss; the first `Some` wins. A zero budget does not look at all.
pub fn linger<T>(budget: Duration, mut look: impl FnMut() -> Option<T>) -> Option<T> {
    if budget.is_zero() {
        return None;
    }
    let start = Instant::now();
    loop {
        if let Some(found) = look() {
            return Some(found);
        }
        if start.elapsed() >= budget {
            return None;
        }
        std::thread::yield_now();
    }
}

/// How long to look before a sleep of at most `timeout`: `spin`, but never past `timeout`, so a
/// timer due sooner does not wait for the looks.
pub fn budget(spin: Duration, timeout: Option<Duration>) -> Duration {
    timeout.map_or(spin, |t| t.min(spin))
}

/// `poll.poll(events, timeout)`, after looking with zero-timeout polls for up to
/// [`budget`]`(spin, timeout)`.
pub fn poll(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
    spin: Duration,
) -> io::Result<()> {
    let budget = budget(spin, timeout);
    let looked = linger(budget, || match poll.poll(events, Some(Duration::ZERO)) {
        Ok(()) if events.is_empty() => None,
        other => Some(other),
    });
    match looked {
        Some(result) => result,
        None => poll.poll(events, timeout.map(|t| t.saturating_sub(budget))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Token, Waker};

    const BUDGET: Duration = Duration::from_micros(crate::config::DEFAULT_SPIN_US);

    #[test]
    fn linger_stops_at_the_first_find() {
        let mut looks = 0;
        let found = linger(Duration::from_secs(60), || {
            looks += 1;
            (looks == 3).then_some("message")
        });
        assert_eq!(found, Some("message"));
        assert_eq!(looks, 3);
    }

    #[test]
    fn linger_gives_up_when_its_time_is_up() {
        let mut looks = 0;
        let started = Instant::now();
        let found: Option<()> = linger(Duration::from_millis(20), || {
            looks += 1;
            None
        });
        assert_eq!(found, None);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(looks > 1, "looked again until the budget was spent");
        assert_eq!(
            linger(Duration::ZERO, || Some(1)),
            None,
            "no looks at all when spinning is off"
        );
    }

    #[test]
    fn a_pending_event_is_found_by_looking_and_an_idle_poll_still_times_out() {
        let mut p = Poll::new().unwrap();
        let waker = Waker::new(p.registry(), Token(7)).unwrap();
        let mut events = Events::with_capacity(8);
        waker.wake().unwrap();
        poll(&mut p, &mut events, None, BUDGET).unwrap();
        let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
        assert_eq!(tokens, vec![Token(7)]);

        // Nothing pending: the looks miss, then the poll sleeps out its timeout and returns.
        let started = Instant::now();
        poll(&mut p, &mut events, Some(Duration::from_millis(20)), BUDGET).unwrap();
        assert!(events.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_timer_due_before_the_budget_ends_cuts_the_looks_short() {
        let mut p = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let started = Instant::now();
        poll(
            &mut p,
            &mut events,
            Some(Duration::ZERO),
            Duration::from_secs(60),
        )
        .unwrap();
        poll(
            &mut p,
            &mut events,
            Some(Duration::from_millis(5)),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(events.is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "looked for the whole budget instead of until the timer"
        );
    }
}
