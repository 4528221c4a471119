//! One job record: what it carries (unique, reducer, data in one allocation), its priority and
//! where it is in its life.
//!
//! The fields the per-function counts follow (function, priority, state, ignored) are private to
//! the job table ([`super::JobTable`]): a handler reads them through getters and changes them
//! only through the table's transitions, so a count cannot drift from the records it counts.

use super::super::extra::{EndedRun, Extra, NO_EXTRA};
use crate::frame::Frame;
use crate::msg::ConnId;
use std::time::Instant;

/// Uniques longer than this are refused (stored in full up to it: the 2.0 fix of the 63-byte bug).
pub(in crate::engine) const MAX_UNIQUE: usize = 64;
/// Reducer names must be shorter than this.
pub(in crate::engine) const MAX_REDUCER: usize = 512;

/// Queue priority; the discriminant is the index into per-priority arrays and the stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum Priority {
    High = 0,
    Normal = 1,
    Low = 2,
}

impl Priority {
    pub(in crate::engine) const ALL: [Priority; 3] =
        [Priority::High, Priority::Normal, Priority::Low];

    pub(in crate::engine) fn idx(self) -> usize {
        self as usize
    }

    /// From a persisted value; anything unknown runs at normal priority.
    pub(in crate::engine) fn from_stored(p: u32) -> Priority {
        match p {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        }
    }
}

/// Where a job is in its life.
///
/// "Queued" is not used as a name in the engine, because it meant three things: a job *stored*
/// in the persistent queue is [`Job::stored`] (the `show jobs` column); a job *in its run list*
/// is in state [`JobState::InRunList`]; the *waiting* jobs of a function (not running, in any
/// other state) are counted in `JobCounts::waiting` (what `prioritystatus` and the
/// `gearmand_jobs_queued` metric show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum JobState {
    /// A background job on its way to the persistent queue: counted, but not runnable and not
    /// acknowledged until the queue thread has stored it (see `persist.rs`).
    Persisting,
    /// An epoch job whose time has not come; sits in the epoch timer heap, not in a run list.
    Scheduled,
    /// In its function's run list, waiting for a worker (or, if ignored, to be freed).
    InRunList,
    /// Assigned to a worker.
    Running,
}

/// What a job coalesces on (docs/gear-protocol.md §4.2): its unique, its data (unique `-`), or
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum CoalesceKey<'a> {
    None,
    Unique(&'a [u8]),
    Data(&'a [u8]),
}

impl<'a> CoalesceKey<'a> {
    pub(in crate::engine) fn of(unique: &'a [u8], data: &'a [u8]) -> CoalesceKey<'a> {
        match unique {
            b"" => CoalesceKey::None,
            b"-" if data.is_empty() => CoalesceKey::None,
            b"-" => CoalesceKey::Data(data),
            u => CoalesceKey::Unique(u),
        }
    }
}

/// One job. Unique, reducer and data share one allocation; the record itself is kept small
/// (narrow lengths, no stored hash, the fields a waiting background job does not use boxed in an
/// [`Extra`]) because a deep queue holds a million of them: 48 bytes, see the size test.
#[derive(Debug)]
pub(in crate::engine) struct Job {
    pub(super) func: u32,
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
    pub(super) co_next: u32,
    pub(super) prio: Priority,
    pub retries: u8,
    pub(super) state: JobState,
    /// No one wants the result any more (cancelled, or its foreground clients left).
    pub(super) ignore: bool,
    /// Stored in (or replayed from) the persistent queue: `done` is owed when it ends.
    pub stored: bool,
    /// Created by a foreground submit (only those are ignored when their clients leave).
    pub foreground: bool,
    /// Whether a reducer was given (GRAB_JOB_ALL answers JOB_ASSIGN_ALL).
    pub has_reducer: bool,
}

/// What a new job is made of.
pub(in crate::engine) struct NewJob<'a> {
    pub func: u32,
    pub unique: &'a [u8],
    pub reducer: Option<&'a [u8]>,
    pub data: &'a [u8],
    pub prio: Priority,
    pub when: i64,
    pub foreground: bool,
}

impl Job {
    pub(in crate::engine) fn new(n: &NewJob<'_>) -> Job {
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
    pub(in crate::engine) fn adoptable(f: &Frame) -> bool {
        let max = u16::MAX as usize;
        f.len() == 3 && f.arg(0).len() <= max && f.arg(1).len() <= max
    }

    /// The job of a plain submit (no reducer, no epoch), built around the request's own buffer,
    /// which holds function, unique and data back to back: a big payload is not copied again,
    /// and the function name stays in front as `skip` bytes. `f` must be [`Job::adoptable`].
    pub(in crate::engine) fn adopt(func: u32, prio: Priority, foreground: bool, f: Frame) -> Job {
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
            state: JobState::Persisting,
            ignore: false,
            stored: false,
            foreground,
            has_reducer: false,
        }
    }

    /// The function's id in the function table.
    pub(in crate::engine) fn func(&self) -> u32 {
        self.func
    }

    pub(in crate::engine) fn prio(&self) -> Priority {
        self.prio
    }

    pub(in crate::engine) fn state(&self) -> JobState {
        self.state
    }

    /// Whether no one wants its result any more (cancelled, or its foreground clients left).
    pub(in crate::engine) fn is_ignored(&self) -> bool {
        self.ignore
    }

    /// Unique, reducer and data bytes held (the table's `--max-job-bytes` sum).
    pub(super) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    pub(in crate::engine) fn unique(&self) -> &[u8] {
        let s = self.skip as usize;
        &self.bytes[s..s + self.ulen as usize]
    }

    pub(in crate::engine) fn reducer(&self) -> &[u8] {
        let u = self.skip as usize + self.ulen as usize;
        &self.bytes[u..u + self.rlen as usize]
    }

    pub(in crate::engine) fn data(&self) -> &[u8] {
        &self.bytes[self.skip as usize + self.ulen as usize + self.rlen as usize..]
    }

    pub(in crate::engine) fn key(&self) -> CoalesceKey<'_> {
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
    pub(in crate::engine) fn has_extra(&self) -> bool {
        self.extra.is_some()
    }

    /// Frees the [`Extra`] once nothing in it is in use.
    fn trim(&mut self) {
        if self.extra.as_ref().is_some_and(|x| x.is_unused()) {
            self.extra = None;
        }
    }

    /// Epoch seconds at which it may run; 0 = now.
    pub(in crate::engine) fn when(&self) -> i64 {
        self.extra().when
    }

    /// Attached foreground clients, oldest first.
    pub(in crate::engine) fn clients(&self) -> &[ConnId] {
        self.extra().clients.as_slice()
    }

    pub(in crate::engine) fn add_client(&mut self, c: ConnId) {
        self.extra_mut().clients.add(c);
    }

    /// Detaches every attachment of `c`; returns how many there were.
    pub(in crate::engine) fn remove_client(&mut self, c: ConnId) -> usize {
        let Some(x) = self.extra.as_mut() else {
            return 0;
        };
        let n = x.clients.remove_all(c);
        self.trim();
        n
    }

    /// The worker running it.
    pub(in crate::engine) fn worker(&self) -> Option<ConnId> {
        self.extra().worker
    }

    /// The last WORK_STATUS numerator and denominator of the current run.
    pub(in crate::engine) fn progress(&self) -> (u32, u32) {
        (self.extra().numerator, self.extra().denominator)
    }

    pub(in crate::engine) fn set_progress(&mut self, numerator: u32, denominator: u32) {
        let x = self.extra_mut();
        (x.numerator, x.denominator) = (numerator, denominator);
    }

    /// The CAN_DO_TIMEOUT deadline of the current assignment, if any.
    pub(in crate::engine) fn deadline(&self) -> Option<Instant> {
        self.extra().deadline
    }

    /// Forgets the deadline (its timer entry has fired).
    pub(in crate::engine) fn clear_deadline(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::{Job, JobState, NewJob, Priority};
    use crate::msg::ConnId;
    use std::time::Instant;

    fn job(when: i64) -> Job {
        Job::new(&NewJob {
            func: 0,
            unique: b"u",
            reducer: None,
            data: b"data",
            prio: Priority::Normal,
            when,
            foreground: false,
        })
    }

    /// Layout guard for the deep-queue memory budget (docs/performance.md): every job held
    /// pays for one slab slot, so a new field here costs a million waiting jobs 8 MB.
    #[test]
    fn a_job_record_and_its_slab_slot_stay_at_48_bytes() {
        assert_eq!(std::mem::size_of::<Job>(), 48);
        assert_eq!(std::mem::size_of::<Option<Job>>(), 48);
    }

    #[test]
    fn the_extra_exists_only_while_something_uses_it() {
        let mut j = job(0);
        assert!(!j.has_extra(), "a plain waiting job has no extra");
        assert_eq!((j.when(), j.worker(), j.progress()), (0, None, (0, 0)));

        let (w, at) = (ConnId(7), Instant::now());
        j.start_run(w, Some(at));
        j.set_progress(3, 4);
        assert_eq!(j.state, JobState::Running);
        assert_eq!(
            (j.worker(), j.deadline(), j.progress()),
            (Some(w), Some(at), (3, 4))
        );
        let ended = j.end_run();
        assert_eq!((ended.worker, ended.had_deadline), (Some(w), true));
        assert!(!j.has_extra(), "freed when the run ends");

        j.add_client(ConnId(1));
        j.add_client(ConnId(2));
        j.start_run(w, None);
        j.end_run();
        assert_eq!(
            j.clients(),
            &[ConnId(1), ConnId(2)],
            "clients outlive a run"
        );
        assert_eq!(j.remove_client(ConnId(1)), 1);
        assert!(j.has_extra());
        assert_eq!(j.remove_client(ConnId(2)), 1);
        assert!(!j.has_extra(), "freed when the last client leaves");
    }

    #[test]
    fn an_epoch_job_keeps_its_time_through_runs() {
        let mut j = job(1_700_000_000);
        assert_eq!(j.when(), 1_700_000_000);
        j.start_run(ConnId(1), None);
        j.end_run();
        assert_eq!(j.when(), 1_700_000_000);
        assert!(j.has_extra());
    }
}
