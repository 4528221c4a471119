//! Timers: epoch jobs falling due and CAN_DO_TIMEOUT expiries (the gearmand 2.0 behaviour).
//!
//! Both are min-heaps of (time, handle). Cancelling is lazy: a job that ends or is requeued just
//! forgets its deadline, and an entry is acted on only if the job still has exactly that
//! deadline. So that a long timeout on many short jobs cannot pile up dead entries, the timeout
//! heap is rebuilt once most of it is stale.

use super::jobs::JobState;
use super::{Clock, Engine, Outbox};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Default)]
pub(super) struct Timers {
    timeouts: BinaryHeap<Reverse<(Instant, u32)>>,
    epochs: BinaryHeap<Reverse<(i64, u32)>>,
    /// Timeout entries known to be cancelled but still in the heap.
    stale: usize,
}

impl Timers {
    /// With no job left every entry is stale: drop them and their room.
    pub(super) fn clear_idle(&mut self) {
        self.timeouts = BinaryHeap::new();
        self.epochs = BinaryHeap::new();
        self.stale = 0;
    }

    pub(super) fn add_timeout(&mut self, at: Instant, h: u32) {
        self.timeouts.push(Reverse((at, h)));
    }

    /// Notes that one timeout entry was cancelled.
    pub(super) fn cancelled(&mut self) {
        self.stale += 1;
    }

    /// A cancelled entry left the heap.
    fn stale_gone(&mut self) {
        self.stale = self.stale.saturating_sub(1);
    }

    /// Entries in the timeout heap, live or cancelled (tests check it stays bounded).
    #[cfg(test)]
    pub(super) fn timeout_entries(&self) -> usize {
        self.timeouts.len()
    }

    /// Whether the timeout heap holds the entry (at, h) (invariant checks).
    pub(super) fn has_timeout(&self, at: Instant, h: u32) -> bool {
        self.timeouts.iter().any(|Reverse(e)| *e == (at, h))
    }

    /// Whether the epoch heap holds the entry (when, h) (invariant checks).
    pub(super) fn has_epoch(&self, when: i64, h: u32) -> bool {
        self.epochs.iter().any(|Reverse(e)| *e == (when, h))
    }

    pub(super) fn add_epoch(&mut self, when: i64, h: u32) {
        self.epochs.push(Reverse((when, h)));
    }

    /// The next due timeout entry at or before `now`.
    fn pop_timeout(&mut self, now: Instant) -> Option<(Instant, u32)> {
        match self.timeouts.peek() {
            Some(Reverse((at, _))) if *at <= now => self.timeouts.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    fn pop_epoch(&mut self, now: i64) -> Option<u32> {
        match self.epochs.peek() {
            Some(Reverse((when, _))) if *when <= now => self.epochs.pop().map(|Reverse(e)| e.1),
            _ => None,
        }
    }
}

impl Engine {
    /// Promotes due epoch jobs and fires due timeouts.
    pub(super) fn run_due(&mut self, now: Clock, out: &mut Outbox) {
        while let Some(h) = self.timers.pop_epoch(now.epoch) {
            self.promote(h, out);
        }
        while let Some((at, h)) = self.timers.pop_timeout(now.instant) {
            let live = self
                .jobs
                .get_mut(h)
                .filter(|j| j.state() == JobState::Running && j.deadline() == Some(at));
            if let Some(job) = live {
                // This entry has left the heap: the requeue must not count it as stale.
                job.clear_deadline();
                log::info!("job {h} timed out on its worker, requeueing");
                self.requeue(h, out);
            } else {
                self.timers.stale_gone();
            }
        }
        self.compact_timeouts();
        self.expire_parked(now.instant, out);
    }

    /// An epoch job whose time has come joins the tail of its run list and wakes workers.
    fn promote(&mut self, h: u32, out: &mut Outbox) {
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        if job.state() != JobState::Scheduled {
            return;
        }
        let (func, ignored) = (job.func(), job.is_ignored());
        self.jobs.enqueue(h);
        if !ignored {
            self.wake(func, out);
        }
    }

    fn compact_timeouts(&mut self) {
        let t = &mut self.timers;
        if t.stale < 1024 || t.stale * 2 < t.timeouts.len() {
            return;
        }
        let jobs = &self.jobs;
        t.timeouts.retain(|Reverse((at, h))| {
            jobs.get(*h)
                .is_some_and(|j| j.state() == JobState::Running && j.deadline() == Some(*at))
        });
        t.stale = 0;
    }

    /// The earliest time a timer may be due. Epoch seconds are mapped onto the monotonic clock
    /// through the last clock reading (so a wake-up can be up to a second late, never early).
    pub(super) fn earliest_deadline(&self) -> Option<Instant> {
        let timeout = self.timers.timeouts.peek().map(|Reverse((at, _))| *at);
        let epoch = self.timers.epochs.peek().map(|Reverse((when, _))| {
            let secs = when.saturating_sub(self.clock.epoch).max(0) as u64;
            self.clock
                .instant
                .checked_add(Duration::from_secs(secs))
                .unwrap_or(self.clock.instant + Duration::from_secs(86400 * 365))
        });
        [timeout, epoch, self.parking.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }
}
