//! The transitions of a job, the only code that changes a job's state or ignored flag.
//!
//! ```text
//!   insert ──► Persisting ──place──► Scheduled ──enqueue──┐
//!                  │                                       ▼
//!                  └──────────────place────────────────► InRunList ──take──► Running
//!                                                          ▲                    │
//!                                                          └──────requeue───────┘
//! ```
//! `ignore` may happen in any state; `remove` ends a job from any state. Every change goes
//! through [`JobTable::update`], which moves the job's count from its old slot to its new one.

use super::lists::{FuncJobs, Slot};
use super::record::{Job, JobState, Priority};
use super::JobTable;
use crate::engine::extra::EndedRun;
use crate::msg::ConnId;
use std::time::Instant;

/// What [`JobTable::take`] found at the head of a run list.
pub(in crate::engine) enum Take {
    /// This job now runs on the worker.
    Assigned(u32),
    /// An ignored job, now out of the table: the caller says its last words.
    Freed(u32, Job),
    /// The list has no job left.
    Empty,
}

impl JobTable {
    /// The run lists and counts of function `func`, made on first use.
    pub(super) fn func_mut(&mut self, func: u32) -> &mut FuncJobs {
        let i = func as usize;
        if self.funcs.len() <= i {
            self.funcs.resize_with(i + 1, FuncJobs::default);
        }
        &mut self.funcs[i]
    }

    /// Counts (`add`) or uncounts a job in its current slot.
    pub(super) fn count(&mut self, job: &Job, add: bool) {
        let (slot, prio) = (Slot::of(job), job.prio);
        self.func_mut(job.func).counts.tally(slot, prio, add);
    }

    /// Applies `change` to job `h`, moving its count to the slot it ends in.
    fn update<R>(&mut self, h: u32, change: impl FnOnce(&mut Job) -> R) -> Option<R> {
        let slot = *self.index.get(&h)?;
        self.update_slot(slot, change)
    }

    /// [`JobTable::update`] for a job already looked up: `slot` is its place in the slab.
    fn update_slot<R>(&mut self, slot: u32, change: impl FnOnce(&mut Job) -> R) -> Option<R> {
        let job = self.slots.get_mut(slot as usize)?.as_mut()?;
        let (func, prio, before) = (job.func, job.prio, Slot::of(job));
        let r = change(job);
        let after = Slot::of(job);
        if before != after {
            let counts = &mut self.func_mut(func).counts;
            counts.tally(before, prio, false);
            counts.tally(after, prio, true);
        }
        Some(r)
    }

    /// A new or stored job is placed: in its run list, or scheduled if its epoch time is after
    /// `epoch`. Returns its function and whether it went to the run list.
    pub(in crate::engine) fn place(&mut self, h: u32, epoch: i64) -> Option<(u32, bool)> {
        let slot = *self.index.get(&h)?;
        let placed = self.update_slot(slot, |j| {
            if j.state != JobState::Persisting {
                return None;
            }
            let now = j.when() <= epoch;
            j.state = if now {
                JobState::InRunList
            } else {
                JobState::Scheduled
            };
            Some((j.func, j.prio, now))
        })??;
        let (func, prio, now) = placed;
        if now {
            self.func_mut(func).lists[prio.idx()].push_back(h);
        }
        Some((func, now))
    }

    /// A scheduled job whose time has come joins the tail of its run list.
    pub(in crate::engine) fn enqueue(&mut self, h: u32) {
        self.join_list(h, false);
    }

    /// Takes a running job back from its worker to the tail of its run list; returns what the
    /// run held (worker, deadline), or `None` if the job was not running.
    pub(in crate::engine) fn requeue(&mut self, h: u32) -> Option<EndedRun> {
        self.join_list(h, true).flatten()
    }

    /// Moves job `h` to the tail of its run list from running (`from_run`) or from scheduled;
    /// `None` if it is in neither.
    fn join_list(&mut self, h: u32, from_run: bool) -> Option<Option<EndedRun>> {
        let (func, prio, ended) = self.update(h, |j| {
            let allowed = match j.state {
                JobState::Running => from_run,
                JobState::Scheduled => !from_run,
                JobState::Persisting | JobState::InRunList => false,
            };
            if !allowed {
                return None;
            }
            let ended = (j.state == JobState::Running).then(|| j.end_run());
            j.state = JobState::InRunList;
            Some((j.func, j.prio, ended))
        })??;
        self.func_mut(func).lists[prio.idx()].push_back(h);
        Some(ended)
    }

    /// Marks job `h` ignored; returns false if it was already (or does not exist).
    pub(in crate::engine) fn ignore(&mut self, h: u32) -> bool {
        self.update(h, |j| !std::mem::replace(&mut j.ignore, true))
            .unwrap_or(false)
    }

    /// Pops the head of `func`'s list `p`: a ready job starts running on `worker` (with the
    /// CAN_DO_TIMEOUT `deadline`), an ignored one leaves the table. Stale entries are skipped.
    pub(in crate::engine) fn take(
        &mut self,
        func: u32,
        p: Priority,
        worker: ConnId,
        deadline: Option<Instant>,
    ) -> Take {
        loop {
            let Some(h) = self.func_mut(func).lists[p.idx()].pop_front() else {
                return Take::Empty;
            };
            let Some(&slot) = self.index.get(&h) else {
                continue; // stale entry
            };
            let job = self.slots[slot as usize].as_ref();
            let live =
                job.filter(|j| j.state == JobState::InRunList && j.func == func && j.prio == p);
            match live.map(|j| j.ignore) {
                None => continue,
                Some(true) => return self.remove(h).map_or(Take::Empty, |j| Take::Freed(h, j)),
                Some(false) => {
                    self.update_slot(slot, |j| j.start_run(worker, deadline));
                    return Take::Assigned(h);
                }
            }
        }
    }

    /// Empties `func`'s run lists, taking out every job still in them (called when none is
    /// ready, so all of them are ignored).
    pub(in crate::engine) fn drain_ignored(&mut self, func: u32) -> Vec<(u32, Job)> {
        let lists = std::mem::take(&mut self.func_mut(func).lists);
        let mut freed = Vec::new();
        for h in lists.into_iter().flatten() {
            let listed = self
                .get(h)
                .is_some_and(|j| j.state == JobState::InRunList && j.func == func);
            if let Some(job) = listed.then(|| self.remove(h)).flatten() {
                freed.push((h, job));
            }
        }
        freed
    }

    /// The job counts of function `func` (zeros for one that never had a job).
    pub(in crate::engine) fn counts(&self, func: u32) -> super::JobCounts {
        self.funcs
            .get(func as usize)
            .map(|f| f.counts)
            .unwrap_or_default()
    }
}
