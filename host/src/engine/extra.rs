//! The job fields a waiting background job leaves empty: its foreground clients, its epoch time,
//! and everything about its current run (worker, WORK_STATUS progress, CAN_DO_TIMEOUT deadline).
//!
//! A deep queue holds a million jobs that use none of them, so they live in one boxed [`Extra`]
//! behind a pointer that stays null until a job needs one (a foreground submit, an epoch time,
//! an assignment) and is freed again once every field is back at its default. This keeps the
//! job record at 48 bytes (pinned by a test in `jobs/record.rs`); a job that does use them pays one
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
