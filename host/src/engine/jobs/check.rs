//! The job table's invariants, recomputed from the records (model-based tests, fuzzing).

use super::lists::{JobCounts, Slot};
use super::record::JobState;
use super::JobTable;
use std::collections::HashMap;

impl JobTable {
    /// Checks that every count equals what it counts, that each job in state `InRunList` has
    /// exactly one live run-list entry, that the index, slab, coalescing chains and byte total
    /// agree with the records, and that exactly the running jobs have a worker.
    pub(in crate::engine) fn check(&self) -> Result<(), String> {
        let mut counts: HashMap<u32, JobCounts> = HashMap::new();
        let mut bytes = 0;
        for h in self.index.keys().copied() {
            let job = self
                .get(h)
                .ok_or(format!("job {h} indexed but not stored"))?;
            counts
                .entry(job.func)
                .or_default()
                .tally(Slot::of(job), job.prio, true);
            bytes += job.byte_len();
            if (job.state == JobState::Running) != job.worker().is_some() {
                return Err(format!(
                    "job {h} is {:?} with worker {:?}",
                    job.state,
                    job.worker()
                ));
            }
            if job.state != JobState::Running && job.deadline().is_some() {
                return Err(format!("job {h} is not running but has a deadline"));
            }
            if job.key() != super::CoalesceKey::None && !self.chain(job.key()).any(|(c, _)| c == h)
            {
                return Err(format!("job {h} cannot be found by its coalescing key"));
            }
        }
        if bytes != self.bytes {
            return Err(format!("byte total {} but jobs hold {bytes}", self.bytes));
        }
        let stored = self.slots.iter().filter(|s| s.is_some()).count();
        if stored != self.index.len() || self.free.iter().any(|&s| self.slots[s as usize].is_some())
        {
            return Err("slab and index disagree".into());
        }
        for (func, f) in self.funcs.iter().enumerate() {
            let want = counts.remove(&(func as u32)).unwrap_or_default();
            if f.counts != want {
                return Err(format!(
                    "function {func}: counts {:?}, records {want:?}",
                    f.counts
                ));
            }
        }
        if let Some((func, _)) = counts.into_iter().find(|(_, c)| *c != JobCounts::default()) {
            return Err(format!("function {func} has jobs but no counts"));
        }
        self.check_lists()
    }

    /// Each job in state `InRunList` has exactly one live entry, in the list of its function and
    /// priority.
    fn check_lists(&self) -> Result<(), String> {
        let mut entries: HashMap<u32, usize> = HashMap::new();
        for (func, f) in self.funcs.iter().enumerate() {
            for (p, list) in f.lists.iter().enumerate() {
                for &h in list {
                    let live = self.get(h).is_some_and(|j| {
                        j.state == JobState::InRunList
                            && j.func as usize == func
                            && j.prio.idx() == p
                    });
                    if live {
                        *entries.entry(h).or_default() += 1;
                    }
                }
            }
        }
        for h in self.index.keys() {
            let listed = self.get(*h).is_some_and(|j| j.state == JobState::InRunList);
            let n = entries.get(h).copied().unwrap_or(0);
            if listed != (n == 1) || n > 1 {
                return Err(format!(
                    "job {h} (in a run list: {listed}) has {n} run-list entries"
                ));
            }
        }
        Ok(())
    }
}
