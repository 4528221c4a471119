//! The job table: every job by handle number, the coalescing index, and each function's run
//! lists and job counts ([`lists`]).
//!
//! The table is the one owner of where jobs are: a job's state, its ignored flag and the counts
//! that follow them change only through the transitions in [`moves`], and [`check`] recomputes
//! everything from the records for the tests.
//!
//! A job is keyed by its handle number `n`; the wire handle `<prefix>:<n>` is never stored
//! (see [`super::handles`]).
//!
//! Coalescing (docs: a submit with the unique of a live job of the same function joins it) needs
//! "the job of function F with unique U" in O(1). The index maps a keyed 32-bit hash of the
//! coalescing key to the newest job with that hash; jobs sharing a hash are chained through
//! `Job::co_next` and told apart by comparing their keys, so the index stores no second copy of
//! any unique.
//!
//! Records live in a slab (`Vec`), whose resident size grows with the jobs actually held, and a
//! small handle → slot map finds them: a `HashMap<u32, Job>` would hold whole records in a
//! power-of-two table, up to 2.3× the record size per job right after it grows.

mod check;
mod lists;
mod moves;
mod record;

use super::hash::FxBuild;
use lists::FuncJobs;
pub(super) use lists::JobCounts;
pub(super) use moves::Take;
pub(super) use record::{CoalesceKey, Job, JobState, NewJob, Priority, MAX_REDUCER, MAX_UNIQUE};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// Every job by handle number, plus the coalescing index.
///
/// Records sit in `slots` (a slab: freed slots are reused, so its size is the most jobs held at
/// once); `index` maps a handle number to its slot, eight bytes per job in a table that holds no
/// records. When the table empties, every buffer is released, so a drained queue gives its
/// memory back.
#[derive(Default)]
pub(super) struct JobTable {
    slots: Vec<Option<Job>>,
    free: Vec<u32>,
    index: HashMap<u32, u32, FxBuild>,
    /// Keyed 32-bit hash of a coalescing key → newest job (handle) with that hash.
    heads: HashMap<u32, u32, FxBuild>,
    keyer: RandomState,
    /// Unique, reducer and data bytes of every job in the table (`--max-job-bytes`).
    bytes: usize,
    /// Run lists and counts, by function id.
    funcs: Vec<FuncJobs>,
}

impl JobTable {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// Gives back the room of a table that once held many jobs, now that it holds none.
    /// With no job left, run lists hold only stale entries: drop them and their room.
    pub(super) fn shrink_if_empty(&mut self) {
        if self.index.is_empty() {
            self.release_memory();
            for f in &mut self.funcs {
                f.lists = Default::default();
            }
        }
    }

    /// Job data bytes held (unique, reducer and payload of every job).
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn get(&self, h: u32) -> Option<&Job> {
        let slot = *self.index.get(&h)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, h: u32) -> Option<&mut Job> {
        let slot = *self.index.get(&h)?;
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    pub(super) fn contains(&self, h: u32) -> bool {
        self.index.contains_key(&h)
    }

    /// Handle numbers in ascending order (admin listings, shutdown).
    pub(super) fn handles_sorted(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.index.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// A keyed hash, so that clients cannot choose uniques that all land in one chain.
    fn hash_key(&self, key: CoalesceKey<'_>) -> Option<u32> {
        let h = match key {
            CoalesceKey::None => return None,
            CoalesceKey::Unique(u) => self.keyer.hash_one((0u8, u)),
            CoalesceKey::Data(d) => self.keyer.hash_one((1u8, d)),
        };
        Some((h ^ (h >> 32)) as u32)
    }

    /// Adds a job under handle `h` (which must be free) and indexes its coalescing key.
    pub(super) fn insert(&mut self, h: u32, mut job: Job) {
        self.count(&job, true);
        if let Some(hash) = self.hash_key(job.key()) {
            job.co_next = self.heads.insert(hash, h).unwrap_or(0);
        }
        self.bytes += job.byte_len();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(job);
                slot
            }
            None => {
                self.slots.push(Some(job));
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(old) = self.index.insert(h, slot) {
            // A caller bug (handles are never reused while live); keep the tables consistent.
            log::error!("job handle {h} inserted twice");
            if let Some(job) = self.release(old) {
                self.count(&job, false);
            }
        }
    }

    /// Takes the record out of `slot` and makes the slot reusable.
    fn release(&mut self, slot: u32) -> Option<Job> {
        let job = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some(job)
    }

    /// Removes a job and unlinks it from the index.
    pub(super) fn remove(&mut self, h: u32) -> Option<Job> {
        let slot = self.index.remove(&h)?;
        let job = self.release(slot)?;
        self.count(&job, false);
        self.bytes -= job.byte_len();
        if let Some(hash) = self.hash_key(job.key()) {
            self.unlink(hash, h, job.co_next);
        }
        if self.index.is_empty() {
            self.release_memory();
        }
        Some(job)
    }

    /// Takes `h` out of the chain of jobs hashing to `hash`; `next` is its successor.
    fn unlink(&mut self, hash: u32, h: u32, next: u32) {
        if self.heads.get(&hash) == Some(&h) {
            if next == 0 {
                self.heads.remove(&hash);
            } else {
                self.heads.insert(hash, next);
            }
            return;
        }
        let mut cur = self.heads.get(&hash).copied().unwrap_or(0);
        while cur != 0 {
            let Some(j) = self.get_mut(cur) else {
                break;
            };
            if j.co_next == h {
                j.co_next = next;
                break;
            }
            cur = j.co_next;
        }
    }

    /// No job left: hand every table's memory back (a drained deep queue would otherwise keep
    /// its peak size for the life of the process).
    fn release_memory(&mut self) {
        self.slots = Vec::new();
        self.free = Vec::new();
        self.index = HashMap::default();
        self.heads = HashMap::default();
    }

    /// Walks the chain of jobs whose key hashes like `key`, newest first.
    fn chain<'s>(&'s self, key: CoalesceKey<'_>) -> impl Iterator<Item = (u32, &'s Job)> + 's {
        let mut cur = self
            .hash_key(key)
            .and_then(|hash| self.heads.get(&hash).copied())
            .unwrap_or(0);
        std::iter::from_fn(move || {
            let job = self.get(cur)?;
            let h = cur;
            cur = job.co_next;
            Some((h, job))
        })
    }

    /// The live (not ignored) job of function `func` a submit with `key` coalesces with.
    pub(super) fn find_coalesce(&self, func: u32, key: CoalesceKey<'_>) -> Option<u32> {
        self.chain(key)
            .find(|(_, j)| j.func == func && !j.ignore && j.key() == key)
            .map(|(h, _)| h)
    }

    /// The newest job with this unique under any function (GET_STATUS_UNIQUE).
    pub(super) fn find_unique(&self, unique: &[u8]) -> Option<u32> {
        let key = CoalesceKey::Unique(unique);
        self.chain(key)
            .find(|(_, j)| j.key() == key)
            .map(|(h, _)| h)
    }
}
