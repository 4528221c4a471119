//! Submitting jobs (docs/gear-protocol.md §4, §7, §8) and replaying the persistent queue.
//!
//! Flow: size checks, coalescing lookup, and for a new job the maxqueue check, a handle number,
//! the persistent-queue write (background jobs, before JOB_CREATED), and the run list (or the
//! epoch timer for a job in the future). A foreground submitter is attached to the job, new or
//! existing, and every submitter gets JOB_CREATED.

use super::jobs::{CoalesceKey, Job, JobState, NewJob, Priority, MAX_REDUCER, MAX_UNIQUE};
use super::limits::LimitHit;
use super::request::SubmitJob;
use super::{Clock, Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ToIo};
use crate::queue::StoredJob;
use gearmand_plugin_api::gear::ptype;

/// Why a new job was refused.
#[derive(Debug)]
pub(super) enum SubmitError {
    /// Unique over 64 bytes or reducer of 512 or more.
    TooLarge,
    /// The function's `maxqueue` limit for this priority is reached.
    QueueFull,
    /// The persistent queue refused the job; the backend's message.
    Queue(String),
    /// A server-wide memory limit (limits.rs).
    Limit(LimitHit),
}

impl SubmitError {
    fn reply(&self, c: ConnId, out: &mut Outbox) {
        match self {
            SubmitError::TooLarge => out.error(c, b"ARGUMENT_TOO_LARGE", b"Unique value too large"),
            SubmitError::QueueFull => out.error(c, b"QUEUE_ERROR", b"Job queue is full"),
            SubmitError::Queue(msg) => out.error(c, b"QUEUE_ERROR", msg.as_bytes()),
            SubmitError::Limit(hit) => out.error(c, b"QUEUE_ERROR", hit.text()),
        }
    }
}

/// Where a new job comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A client: limits apply, background jobs are stored, sleepers are woken.
    Client,
    /// The persistent queue at startup: already stored, no limits, nobody to wake.
    Replay,
}

/// A new job that passed [`Engine::admit`]: its handle number, and whether the queue thread
/// stores it before it runs.
#[derive(Debug, Clone, Copy)]
struct Admitted {
    h: u32,
    later: bool,
}

/// Data at least this long is not copied out of a plain submit's request: the job keeps the
/// request's buffer ([`Job::adopt`]). Below it the copy is cheap and a tight record matters more
/// (the kept buffer also holds the function name), as a deep queue of small jobs shows.
const ADOPT_MIN: usize = 1024;

impl Engine {
    /// SUBMIT_JOB* (types 7, 18, 21, 32, 33, 34, 36, 37, 38).
    pub(super) fn submit(&mut self, c: ConnId, f: Frame, now: Clock, out: &mut Outbox) {
        let Ok(req) = SubmitJob::parse(&f) else {
            log::warn!("epoch out of range in SUBMIT_JOB_EPOCH, closing");
            out.msgs.push(ToIo::Close(c));
            return;
        };
        let (unique, data, reducer) = (req.unique, req.data, req.reducer);
        if unique.len() > MAX_UNIQUE || reducer.is_some_and(|r| r.len() >= MAX_REDUCER) {
            SubmitError::TooLarge.reply(c, out);
            return;
        }
        let (prio, background) = (req.priority, req.background);
        let func = self.funcs.get_or_create(req.function);
        let existing = self.jobs.find_coalesce(func, CoalesceKey::of(unique, data));
        let h = match existing {
            Some(h) => h,
            None => {
                let new = NewJob {
                    func,
                    unique,
                    reducer,
                    data,
                    prio,
                    when: req.epoch.unwrap_or(0),
                    foreground: !background,
                };
                let admitted = match self.admit(&new, Origin::Client) {
                    Ok(a) => a,
                    Err(e) => return e.reply(c, out),
                };
                let job = if req.is_plain() && data.len() >= ADOPT_MIN && Job::adoptable(&f) {
                    Job::adopt(func, prio, !background, f)
                } else {
                    Job::new(&new)
                };
                self.install(admitted, job, Origin::Client, now, out)
            }
        };
        if !background {
            self.attach(c, h);
        }
        if self
            .jobs
            .get(h)
            .is_some_and(|j| j.state() == JobState::Persisting)
        {
            // Acknowledged once stored (persist.rs); coalesced submits wait for it too.
            self.wait_for_store(c, h, out);
            return;
        }
        let handle = self.handle_of(h);
        out.send(
            c,
            Frame::with_args(ptype::JOB_CREATED, &[handle.as_bytes()]),
        );
    }

    /// One row of the persistent queue at startup: the normal path, already stored.
    pub(super) fn replay_one(&mut self, job: &StoredJob<'_>, now: Clock) {
        let func = self.funcs.get_or_create(job.function);
        if self
            .jobs
            .find_coalesce(func, CoalesceKey::of(job.unique, job.data))
            .is_some()
        {
            return; // duplicate rows collapse into one job
        }
        let new = NewJob {
            func,
            unique: job.unique,
            reducer: None,
            data: job.data,
            prio: Priority::from_stored(job.priority),
            when: job.when,
            foreground: false,
        };
        let mut out = Outbox::default();
        if let Err(e) = self.create(&new, Origin::Replay, now, &mut out) {
            log::error!("replayed job refused: {e:?}");
        }
    }

    /// Creates a new job and queues it (or schedules it); returns its handle number.
    fn create(
        &mut self,
        new: &NewJob<'_>,
        origin: Origin,
        now: Clock,
        out: &mut Outbox,
    ) -> Result<u32, SubmitError> {
        let admitted = self.admit(new, origin)?;
        Ok(self.install(admitted, Job::new(new), origin, now, out))
    }

    /// What a new job passes before it exists: the queue and memory limits, its handle number,
    /// and the persistent-queue write that must come before JOB_CREATED.
    fn admit(&mut self, new: &NewJob<'_>, origin: Origin) -> Result<Admitted, SubmitError> {
        if origin == Origin::Client && self.is_full(new.func, new.prio) {
            return Err(SubmitError::QueueFull);
        }
        if origin == Origin::Client {
            if let Some(hit) = self.over_limit(new) {
                return Err(SubmitError::Limit(hit));
            }
        }
        // The number is used even if the queue refuses the job, as in the original.
        let h = self.take_handle();
        let background = !new.foreground;
        let store = origin == Origin::Client && background && !self.queue.store_on_shutdown();
        let later = store && self.persists_in_background();
        if store && !later {
            self.persist(new)?;
        }
        Ok(Admitted { h, later })
    }

    /// Puts an admitted job in the table and counts it, then queues it, or hands it to the
    /// queue thread first (`later`); returns its handle number.
    fn install(
        &mut self,
        a: Admitted,
        mut job: Job,
        origin: Origin,
        now: Clock,
        out: &mut Outbox,
    ) -> u32 {
        let (h, func, prio) = (a.h, job.func(), job.prio());
        job.stored = !job.foreground;
        self.jobs.insert(h, job);
        if origin == Origin::Client {
            self.funcs.get_mut(func).stats.submitted(prio);
        }
        if a.later {
            if let Some(item) = self.stored_form(h) {
                self.persist_later(h, &item);
            }
        } else if origin == Origin::Client {
            self.make_runnable(h, now, out);
        } else {
            self.make_runnable(h, now, &mut Outbox::default()); // replay: nobody to wake yet
        }
        h
    }

    /// A created (and, where needed, stored) job enters its run list, or the epoch timer if its
    /// time has not come; sleeping workers are woken.
    pub(super) fn make_runnable(&mut self, h: u32, now: Clock, out: &mut Outbox) {
        match self.jobs.place(h, now.epoch) {
            Some((func, true)) => self.wake(func, out),
            Some((_, false)) => {
                let when = self.jobs.get(h).map_or(0, |j| j.when());
                self.timers.add_epoch(when, h);
            }
            None => {}
        }
    }

    /// Job `h` as the queue stores it.
    fn stored_form(&self, h: u32) -> Option<StoredJob<'_>> {
        let job = self.jobs.get(h)?;
        Some(StoredJob {
            unique: job.unique(),
            function: &self.funcs.get(job.func()).name,
            data: job.data(),
            priority: job.prio() as u32,
            when: job.when(),
        })
    }

    /// `add` then `flush`: the job is durable before the client hears of it.
    fn persist(&mut self, new: &NewJob<'_>) -> Result<(), SubmitError> {
        let item = StoredJob {
            unique: new.unique,
            function: &self.funcs.get(new.func).name,
            data: new.data,
            priority: new.prio as u32,
            when: new.when,
        };
        let stored = self.queue.add(&item).and_then(|()| self.queue.flush());
        stored.map_err(|e| {
            log::error!("{} queue refused a job: {e}", self.queue.name());
            SubmitError::Queue(e)
        })
    }

    /// The `maxqueue` check: the function's limit for `p` is reached by its jobs.
    fn is_full(&self, func: u32, p: Priority) -> bool {
        let limit = self.funcs.get(func).maxqueue[p.idx()];
        limit > 0 && self.jobs.counts(func).total() >= limit
    }

    /// The next free handle number (u32, from 1, skipping 0 and numbers still in use on wrap).
    fn take_handle(&mut self) -> u32 {
        loop {
            let h = self.next_handle;
            self.next_handle = self.next_handle.wrapping_add(1);
            if h != 0 && !self.jobs.contains(h) {
                return h;
            }
        }
    }

    /// Attaches foreground client `c` to job `h` (it will receive the job's WORK_* packets).
    fn attach(&mut self, c: ConnId, h: u32) {
        if let Some(job) = self.jobs.get_mut(h) {
            job.add_client(c);
        }
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        let jobs = &self.jobs;
        conn.attach(h, |w| jobs.get(w).is_some_and(|j| j.clients().contains(&c)));
    }
}
