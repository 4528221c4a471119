//! Per-function run lists and job counts, kept by the job table.
//!
//! Each function has three run lists (high, normal, low) of handle numbers in FIFO order and the
//! counts the hot path asks for in O(1) ("does this worker have anything to do?"). A job is
//! counted in exactly one [`Slot`], derived from its state and its ignored flag; the table
//! uncounts a job's slot before every change and counts the new one after, so the counts follow
//! the records by construction.
//!
//! List entries are removed lazily: a job that leaves its list other than by being popped (it is
//! freed) leaves a stale entry, skipped when met. A job in state `InRunList` has exactly one live
//! entry.

use super::record::{Job, JobState, Priority};
use std::collections::VecDeque;

/// Where a job is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// Not in a run list and not running: new, being stored, or scheduled for later.
    Pending,
    /// In its run list, for a worker to take.
    Ready,
    /// In its run list, but ignored: freed when a grab reaches it.
    Ignored,
    Running,
}

impl Slot {
    pub(super) fn of(job: &Job) -> Slot {
        match (job.state, job.ignore) {
            (JobState::Persisting | JobState::Scheduled, _) => Slot::Pending,
            (JobState::InRunList, false) => Slot::Ready,
            (JobState::InRunList, true) => Slot::Ignored,
            (JobState::Running, _) => Slot::Running,
        }
    }
}

/// A function's job counts; read-only outside the job table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) struct JobCounts {
    /// Jobs not running, per priority, ignored ones included (what `prioritystatus` shows).
    pub waiting: [u32; 3],
    /// Jobs in a run list that a worker may take, per priority.
    pub ready: [u32; 3],
    /// Jobs in a run list that are ignored.
    pub ignored: u32,
    pub running: u32,
}

impl JobCounts {
    /// Every job of the function: waiting and running (what `status` shows).
    pub(in crate::engine) fn total(&self) -> u32 {
        self.waiting.iter().sum::<u32>() + self.running
    }

    pub(in crate::engine) fn has_ready(&self) -> bool {
        self.ready.iter().any(|&r| r > 0)
    }

    /// Adds (`add`) or removes one job counted in `slot` at priority `p`.
    pub(super) fn tally(&mut self, slot: Slot, p: Priority, add: bool) {
        let step = |n: &mut u32| {
            let next = if add {
                n.checked_add(1)
            } else {
                n.checked_sub(1)
            };
            // Unreachable while every change goes through the table; loud in tests, and a
            // release build keeps serving with the count clamped.
            debug_assert!(next.is_some(), "job count out of range");
            *n = next.unwrap_or_else(|| {
                log::error!("a job count would leave its range; clamped");
                *n
            });
        };
        let p = p.idx();
        match slot {
            Slot::Pending => step(&mut self.waiting[p]),
            Slot::Ready => {
                step(&mut self.waiting[p]);
                step(&mut self.ready[p]);
            }
            Slot::Ignored => {
                step(&mut self.waiting[p]);
                step(&mut self.ignored);
            }
            Slot::Running => step(&mut self.running),
        }
    }
}

/// One function's run lists and counts.
#[derive(Debug, Default)]
pub(super) struct FuncJobs {
    pub lists: [VecDeque<u32>; 3],
    pub counts: JobCounts,
}
