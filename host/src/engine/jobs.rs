//! Job records and the job table with its coalescing index.
//!
//! A job is keyed by its handle number `n`; the wire handle `<prefix>:<n>` is never stored
//! (see [`super::handles`]).
//!
//! Coalescing (gear-protocol.md §4.3) needs "the job of function F with unique U" in O(1). The
//! index maps a keyed 32-bit hash of the coalescing key to the newest job with that hash; jobs
//! sharing a hash are chained through `Job::co_next` and told apart by comparing their keys, so
//! the index stores no second copy of any unique.
//!
//! Memory (the deep-queue benchmark: 1M queued 100-byte jobs): records live in a slab (`Vec`),
//! whose resident size grows with the jobs actually held, and a small handle → slot map finds
//! them. A `HashMap<u32, Job>` would hold whole records in a power-of-two table at most 7/8 full:
//! up to 2.3× the record size per job once the table has just grown. The record holds only what
//! every queued job needs; clients, epoch time and the current run are boxed ([`Extra`]).

use super::extra::{EndedRun, Extra, NO_EXTRA};
use super::hash::FxBuild;
use crate::frame::Frame;
use crate::msg::ConnId;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

/// Uniques longer than this are refused (stored in full up to it: the 2.0 fix of the 63-byte bug).
pub(super) const MAX_UNIQUE: usize = 64;
/// Reducer names must be shorter than this.
pub(super) const MAX_REDUCER: usize = 512;

/// Queue priority; the discriminant is the index into per-priority arrays and the stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Priority {
    High = 0,
    Normal = 1,
    Low = 2,
}

impl Priority {
    pub(super) const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    pub(super) fn idx(self) -> usize {
        self as usize
    }

    /// From a persisted value; anything unknown runs at normal priority.
    pub(super) fn from_stored(p: u32) -> Priority {
        match p {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobState {
    /// A background job on its way to the persistent queue: counted, but not runnable and not
    /// acknowledged until the queue thread has stored it (see `persist.rs`).
    Persisting,
    /// An epoch job whose time has not come; sits in the epoch timer heap, not in a run list.
    Scheduled,
    /// In its function's run list, waiting for a worker.
    Queued,
    /// Assigned to a worker.
    Running,
}

/// What a job coalesces on (gear-protocol.md §4.2): its unique, its data (unique `-`), or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CoalesceKey<'a> {
    None,
    Unique(&'a [u8]),
    Data(&'a [u8]),
}

impl<'a> CoalesceKey<'a> {
    pub(super) fn of(unique: &'a [u8], data: &'a [u8]) -> CoalesceKey<'a> {
        match unique {
            b"" => CoalesceKey::None,
            b"-" if data.is_empty() => CoalesceKey::None,
            b"-" => CoalesceKey::Data(data),
            u => CoalesceKey::Unique(u),
        }
    }
}

/// One job. Unique, reducer and data share one allocation; the record itself is kept small
/// (narrow lengths, no stored hash, the fields a queued background job does not use boxed in an
/// [`Extra`]) because a deep queue holds a million of them: 48 bytes, see the size test.
#[derive(Debug)]
pub(super) struct Job {
    pub func: u32,
    /// `skip` unused bytes, then unique, reducer and data.
    bytes: Box<[u8]>,
    /// Bytes before the unique: 0, or the function name when the job kept its request's buffer
    /// ([`Job::adopt`]).
    skip: u16,
    /// Unique length (clients are held to [`MAX_UNIQUE`]; replayed jobs to 65535 bytes).
    ulen: u16,
    /// Reducer length (below [`MAX_REDUCER`]).
    rlen: u16,
    /// Clients, epoch time, current run; `None` while all of them are at their defaults.
    extra: Option<Box<Extra>>,
    co_next: u32,
    pub prio: Priority,
    pub retries: u8,
    pub state: JobState,
    /// No one wants the result any more (cancelled, or its foreground clients left).
    pub ignore: bool,
    /// Stored in (or replayed from) the persistent queue: `done` is owed when it ends.
    pub queued: bool,
    /// Created by a foreground submit (only those are ignored when their clients leave).
    pub foreground: bool,
    /// Whether a reducer was given (GRAB_JOB_ALL answers JOB_ASSIGN_ALL).
    pub has_reducer: bool,
}

/// What a new job is made of.
pub(super) struct NewJob<'a> {
    pub func: u32,
    pub unique: &'a [u8],
    pub reducer: Option<&'a [u8]>,
    pub data: &'a [u8],
    pub prio: Priority,
    pub when: i64,
    pub foreground: bool,
}

impl Job {
    pub(super) fn new(n: &NewJob<'_>) -> Job {
        // Clients are held to MAX_UNIQUE and MAX_REDUCER before a job is made; a replayed job
        // with a longer unique is cut so that the narrow lengths stay exact.
        let unique = &n.unique[..n.unique.len().min(u16::MAX as usize)];
        let reducer = n.reducer.unwrap_or(b"");
        let reducer = &reducer[..reducer.len().min(u16::MAX as usize)];
        let mut bytes = Vec::with_capacity(unique.len() + reducer.len() + n.data.len());
        bytes.extend_from_slice(unique);
        bytes.extend_from_slice(reducer);
        bytes.extend_from_slice(n.data);
        let mut job = Job::blank(n.func, n.prio, n.foreground, bytes.into_boxed_slice());
        job.ulen = unique.len() as u16;
        job.rlen = reducer.len() as u16;
        job.has_reducer = !reducer.is_empty();
        if n.when != 0 {
            job.extra_mut().when = n.when;
        }
        job
    }

    /// Whether [`Job::adopt`] can keep `f`: exactly function, unique and data, with lengths the
    /// narrow fields hold.
    pub(super) fn adoptable(f: &Frame) -> bool {
        let max = u16::MAX as usize;
        f.len() == 3 && f.arg(0).len() <= max && f.arg(1).len() <= max
    }

    /// The job of a plain submit (no reducer, no epoch), built around the request's own buffer,
    /// which holds function, unique and data back to back: a big payload is not copied again,
    /// and the function name stays in front as `skip` bytes. `f` must be [`Job::adoptable`].
    pub(super) fn adopt(func: u32, prio: Priority, foreground: bool, f: Frame) -> Job {
        debug_assert!(Job::adoptable(&f));
        let (skip, ulen) = (f.arg(0).len() as u16, f.arg(1).len() as u16);
        let mut job = Job::blank(func, prio, foreground, f.into_bytes().into_boxed_slice());
        job.skip = skip;
        job.ulen = ulen;
        job
    }

    fn blank(func: u32, prio: Priority, foreground: bool, bytes: Box<[u8]>) -> Job {
        Job {
            func,
            bytes,
            skip: 0,
            ulen: 0,
            rlen: 0,
            extra: None,
            co_next: 0,
            prio,
            retries: 0,
            state: JobState::Queued,
            ignore: false,
            queued: false,
            foreground,
            has_reducer: false,
        }
    }

    pub(super) fn unique(&self) -> &[u8] {
        let s = self.skip as usize;
        &self.bytes[s..s + self.ulen as usize]
    }

    pub(super) fn reducer(&self) -> &[u8] {
        let u = self.skip as usize + self.ulen as usize;
        &self.bytes[u..u + self.rlen as usize]
    }

    pub(super) fn data(&self) -> &[u8] {
        &self.bytes[self.skip as usize + self.ulen as usize + self.rlen as usize..]
    }

    pub(super) fn key(&self) -> CoalesceKey<'_> {
        CoalesceKey::of(self.unique(), self.data())
    }

    fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Whether the [`Extra`] is allocated (the memory tests).
    #[cfg(test)]
    pub(super) fn has_extra(&self) -> bool {
        self.extra.is_some()
    }

    /// Frees the [`Extra`] once nothing in it is in use.
    fn trim(&mut self) {
        if self.extra.as_ref().is_some_and(|x| x.is_unused()) {
            self.extra = None;
        }
    }

    /// Epoch seconds at which it may run; 0 = now.
    pub(super) fn when(&self) -> i64 {
        self.extra().when
    }

    /// Attached foreground clients, oldest first.
    pub(super) fn clients(&self) -> &[ConnId] {
        self.extra().clients.as_slice()
    }

    pub(super) fn add_client(&mut self, c: ConnId) {
        self.extra_mut().clients.add(c);
    }

    /// Detaches every attachment of `c`; returns how many there were.
    pub(super) fn remove_client(&mut self, c: ConnId) -> usize {
        let Some(x) = self.extra.as_mut() else {
            return 0;
        };
        let n = x.clients.remove_all(c);
        self.trim();
        n
    }

    /// The worker running it.
    pub(super) fn worker(&self) -> Option<ConnId> {
        self.extra().worker
    }

    /// The last WORK_STATUS numerator and denominator of the current run.
    pub(super) fn progress(&self) -> (u32, u32) {
        (self.extra().numerator, self.extra().denominator)
    }

    pub(super) fn set_progress(&mut self, numerator: u32, denominator: u32) {
        let x = self.extra_mut();
        (x.numerator, x.denominator) = (numerator, denominator);
    }

    /// The CAN_DO_TIMEOUT deadline of the current assignment, if any.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.extra().deadline
    }

    /// Forgets the deadline (its timer entry has fired).
    pub(super) fn clear_deadline(&mut self) {
        if let Some(x) = self.extra.as_mut() {
            x.deadline = None;
        }
    }

    /// Assigns it to `worker`, with an optional CAN_DO_TIMEOUT deadline.
    pub(super) fn start_run(&mut self, worker: ConnId, deadline: Option<Instant>) {
        self.state = JobState::Running;
        let x = self.extra_mut();
        x.worker = Some(worker);
        x.deadline = deadline;
    }

    /// Takes it back from its worker: worker, deadline and progress cleared (the state is the
    /// caller's).
    pub(super) fn end_run(&mut self) -> EndedRun {
        let Some(x) = self.extra.as_mut() else {
            return EndedRun {
                worker: None,
                had_deadline: false,
            };
        };
        let ended = x.end_run();
        self.trim();
        ended
    }
}

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
}

impl JobTable {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// Gives back the room of a table that once held many jobs, now that it holds none.
    pub(super) fn shrink_if_empty(&mut self) {
        if self.index.is_empty() {
            self.slots = Vec::new();
            self.free = Vec::new();
            self.index.shrink_to_fit();
            self.heads.shrink_to_fit();
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
        if let Some(hash) = self.hash_key(job.key()) {
            job.co_next = self.heads.insert(hash, h).unwrap_or(0);
        }
        self.bytes += job.bytes.len();
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
            self.release(old);
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
        self.bytes -= job.bytes.len();
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
