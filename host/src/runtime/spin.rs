//! Looking again before sleeping, for the I/O threads and the processing thread.
//!
//! A message or a packet for a thread that sleeps costs a wake-up (eventfd, futex or the
//! socket's) and the sleeper's two context switches. With a processing thread (`-t N≥2`) every
//! job crosses between threads at least twice, and on a 2-vCPU VM `perf` put about 60 % of the
//! server's CPU at `-t 2` in `finish_task_switch` and `try_to_wake_up`. A thread that is still
//! looking when the message arrives takes it for the price of a queue push. So before it
//! sleeps, a thread looks [`SPINS`] more times, yielding the CPU between looks: a runnable
//! thread (a client on the same core, another of ours) gets the core at once, so the looks do
//! not starve anyone, and they are bounded, so an idle server still sleeps.
//!
//! Measured with `gearmand-bench compare`, our server against itself with and without, 3–9
//! alternating runs each (contrib/bench/README.md, finding 13): at `-t 4` on 2 cores fg-4x4
//! +81 % jobs/s, fg-16x8x8 +20 %, echo +15 %, with less server CPU per job; at `-t 1` no change
//! under saturating load (fg-16x8x8 0.98×, fg-64k 1.03× over 9 runs), and one client doing one
//! job at a time waits 0.16–0.17 ms at the median instead of 0.25–0.27.

use mio::{Events, Poll};
use std::io;
use std::time::Duration;

/// How many times a thread looks again before it sleeps. At `-t 4`, 5, 20 and 60 looks all
/// gained on fg-4x4 and echo, and 20 on every scenario (60 lost 3 % on fg-16x8x8); at `-t 1`,
/// 4 looks were too few to catch a client's next request (no gain at light load).
pub const SPINS: u32 = 20;

/// Calls `look` up to `spins` times, yielding the CPU after each miss; the first `Some` wins.
pub fn linger<T>(spins: u32, mut look: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..spins {
        if let Some(found) = look() {
            return Some(found);
        }
        std::thread::yield_now();
    }
    None
}

/// `poll.poll(events, timeout)`, after up to `spins` zero-timeout looks. A poll that is not
/// going to sleep anyway (`timeout` zero) skips the looks.
pub fn poll(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
    spins: u32,
) -> io::Result<()> {
    if timeout != Some(Duration::ZERO) {
        let looked = linger(spins, || match poll.poll(events, Some(Duration::ZERO)) {
            Ok(()) if events.is_empty() => None,
            other => Some(other),
        });
        if let Some(result) = looked {
            return result;
        }
    }
    poll.poll(events, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Token, Waker};

    #[test]
    fn linger_stops_at_the_first_find() {
        let mut looks = 0;
        let found = linger(SPINS, || {
            looks += 1;
            (looks == 3).then_some("message")
        });
        assert_eq!(found, Some("message"));
        assert_eq!(looks, 3);
    }

    #[test]
    fn linger_gives_up_after_its_looks() {
        let mut looks = 0;
        let found: Option<()> = linger(SPINS, || {
            looks += 1;
            None
        });
        assert_eq!(found, None);
        assert_eq!(looks, SPINS);
        assert_eq!(
            linger(0, || Some(1)),
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
        poll(&mut p, &mut events, None, SPINS).unwrap();
        let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
        assert_eq!(tokens, vec![Token(7)]);

        // Nothing pending: the looks miss, then the poll sleeps out its timeout and returns.
        let started = std::time::Instant::now();
        poll(&mut p, &mut events, Some(Duration::from_millis(20)), SPINS).unwrap();
        assert!(events.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
