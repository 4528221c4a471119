//! How long a connection may keep the server waiting for its client: the read timers behind the
//! codec's deadline (ABI 1.1 `conn_deadline` / `conn_timeout`).
//!
//! - A request head must be complete within `--http-header-timeout` of its first byte, or, for
//!   the first request, of the connection's start. Progress does not extend it: a client that
//!   trickles one byte at a time (slowloris) is dropped as surely as one that stalls.
//! - A request body may pause, but not for longer than `--http-idle-timeout`.
//! - Between requests, a kept-alive connection with nothing outstanding is closed after
//!   `--http-idle-timeout`.
//! - While the client waits for us (a foreground job, say), no timer runs.
//!
//! The codec tells the timer what it waits for after every call; the clock restarts only when
//! that changes (and when a new head begins or a body makes progress), so most calls cost no
//! clock read.

use crate::config::Limits;
use std::time::{Duration, Instant};

/// What the connection waits for from its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Nothing: the client waits for us, or the connection is ending.
    Nothing,
    /// A request head; `partial` once some of its bytes have arrived.
    Head { partial: bool },
    /// The rest of a request body.
    Body,
    /// The next request on a kept-alive connection.
    Idle,
}

impl Wait {
    /// Waits of one kind share a clock (a head's first byte does not restart the head's).
    fn same_kind(self, other: Wait) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// The current wait and when it began.
#[derive(Debug, Clone, Copy)]
pub struct ReadTimer {
    wait: Wait,
    since: Instant,
    /// Request heads completed when the clock last restarted.
    heads: u64,
}

impl ReadTimer {
    /// A new connection waits for its first request head, from now.
    pub fn new() -> ReadTimer {
        ReadTimer {
            wait: Wait::Head { partial: false },
            since: Instant::now(),
            heads: 0,
        }
    }

    /// Records what the connection waits for after a codec call: `heads` completed so far, and
    /// whether the call consumed input (progress restarts a body's clock).
    pub fn update(&mut self, wait: Wait, heads: u64, progressed: bool) {
        let restart =
            !wait.same_kind(self.wait) || heads != self.heads || (wait == Wait::Body && progressed);
        self.wait = wait;
        if restart && wait != Wait::Nothing {
            self.since = Instant::now();
            self.heads = heads;
        }
    }

    /// What the connection waits for.
    pub fn wait(&self) -> Wait {
        self.wait
    }

    /// When the current wait runs out, if one runs.
    pub fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let allowed = match self.wait {
            Wait::Nothing => return None,
            Wait::Head { .. } => limits.header_timeout,
            Wait::Body | Wait::Idle => limits.idle_timeout,
        };
        self.since.checked_add(allowed)
    }

    /// Time left from now; zero once due.
    pub fn remaining(&self, limits: &Limits) -> Option<Duration> {
        self.deadline(limits)
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the current wait has run out.
    pub fn is_due(&self, limits: &Limits) -> bool {
        self.deadline(limits).is_some_and(|d| d <= Instant::now())
    }
}

impl Default for ReadTimer {
    fn default() -> Self {
        ReadTimer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..Limits::default()
        }
    }

    #[test]
    fn the_first_byte_of_a_head_does_not_restart_its_clock() {
        let mut t = ReadTimer::new();
        let first = t.deadline(&limits()).unwrap();
        t.update(Wait::Head { partial: true }, 0, true);
        assert_eq!(t.deadline(&limits()), Some(first));
        t.update(Wait::Head { partial: true }, 0, true);
        assert_eq!(t.deadline(&limits()), Some(first), "trickling bytes");
    }

    #[test]
    fn each_kind_of_wait_has_its_own_allowance() {
        let mut t = ReadTimer::new();
        t.update(Wait::Idle, 1, false);
        let left = t.remaining(&limits()).unwrap();
        assert!(left > Duration::from_secs(59), "{left:?}");
        t.update(Wait::Head { partial: true }, 1, true);
        let left = t.remaining(&limits()).unwrap();
        assert!(left <= Duration::from_secs(10), "{left:?}");
        t.update(Wait::Nothing, 2, true);
        assert_eq!(t.deadline(&limits()), None);
        assert!(!t.is_due(&limits()));
    }

    #[test]
    fn a_completed_head_restarts_the_clock_for_the_next() {
        let mut t = ReadTimer::new();
        let first = t.deadline(&limits()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        t.update(Wait::Head { partial: true }, 1, true);
        assert!(t.deadline(&limits()).unwrap() > first);
    }
}
