//! The job fields a queued background job leaves empty: its foreground clients, its epoch time,
//! and everything about its current run (worker, WORK_STATUS progress, CAN_DO_TIMEOUT deadline).
//!
//! A deep queue holds a million jobs that use none of them, so they live in one boxed [`Extra`]
//! behind a pointer that stays null until a job needs one (a foreground submit, an epoch time,
//! an assignment) and is freed again once every field is back at its default. This keeps the
//! job record at 48 bytes instead of 104 (see `jobs.rs`); a job that does use them pays one
//! allocation, which is small beside the rest of a submit, grab and complete.

use crate::msg::ConnId;
use std::time::Instant;

/// The foreground client connections attached to a job, oldest first. Most jobs have none or
/// one, so one attachment needs no allocation.
#[derive(Debug, Default)]
pub(super) enum Clients {
    #[default]
    None,
    One(ConnId),
    /// Boxed so that the common cases keep the enum (and so [`Extra`]) at 16 bytes; a plain
    /// `Vec` would make it 24.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<ConnId>>),
}

impl Clients {
    pub(super) fn add(&mut self, c: ConnId) {
        *self = match std::mem::take(self) {
            Clients::None => Clients::One(c),
            Clients::One(a) => Clients::Many(Box::new(vec![a, c])),
            Clients::Many(mut v) => {
                v.push(c);
                Clients::Many(v)
            }
        };
    }

    /// Oldest first; iterate `.rev()` for the newest-first order results are forwarded in.
    pub(super) fn as_slice(&self) -> &[ConnId] {
        match self {
            Clients::None => &[],
            Clients::One(c) => std::slice::from_ref(c),
            Clients::Many(v) => v,
        }
    }

    pub(super) fn count(&self) -> usize {
        self.as_slice().len()
    }

    /// Removes every attachment of `c`; returns how many there were.
    pub(super) fn remove_all(&mut self, c: ConnId) -> usize {
        let before = self.count();
        match self {
            Clients::None => {}
            Clients::One(a) if *a == c => *self = Clients::None,
            Clients::One(_) => {}
            Clients::Many(v) => {
                v.retain(|x| *x != c);
                if v.is_empty() {
                    *self = Clients::None;
                }
            }
        }
        before - self.count()
    }
}

/// The rarely used fields of a job (see the module header).
#[derive(Debug, Default)]
pub(super) struct Extra {
    /// Epoch seconds at which it may run; 0 = now.
    pub when: i64,
    pub clients: Clients,
    /// The worker it is assigned to, while it runs.
    pub worker: Option<ConnId>,
    /// The last WORK_STATUS of the current run.
    pub numerator: u32,
    pub denominator: u32,
    /// The CAN_DO_TIMEOUT deadline of the current assignment, if any.
    pub deadline: Option<Instant>,
}

/// What a job without an [`Extra`] reads: every field at its default.
pub(super) static NO_EXTRA: Extra = Extra {
    when: 0,
    clients: Clients::None,
    worker: None,
    numerator: 0,
    denominator: 0,
    deadline: None,
};

/// What [`Extra::end_run`] cleared, for the caller to undo elsewhere.
pub(super) struct EndedRun {
    pub worker: Option<ConnId>,
    pub had_deadline: bool,
}

impl Extra {
    /// Whether every field is at its default, so the box can go.
    pub(super) fn is_unused(&self) -> bool {
        self.when == 0
            && self.clients.count() == 0
            && self.worker.is_none()
            && self.numerator == 0
            && self.denominator == 0
            && self.deadline.is_none()
    }

    /// Forgets the current run: worker, deadline and progress.
    pub(super) fn end_run(&mut self) -> EndedRun {
        self.numerator = 0;
        self.denominator = 0;
        EndedRun {
            worker: self.worker.take(),
            had_deadline: self.deadline.take().is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::jobs::{Job, JobState, NewJob, Priority};
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

    /// Layout guard for the deep-queue memory budget (contrib/bench/README.md): every queued
    /// job pays for one slab slot, so a new field here costs a million queued jobs 8 MB.
    #[test]
    fn a_job_record_and_its_slab_slot_stay_at_48_bytes() {
        assert_eq!(std::mem::size_of::<Job>(), 48);
        assert_eq!(std::mem::size_of::<Option<Job>>(), 48);
    }

    #[test]
    fn the_extra_exists_only_while_something_uses_it() {
        let mut j = job(0);
        assert!(!j.has_extra(), "a plain queued job has no extra");
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
