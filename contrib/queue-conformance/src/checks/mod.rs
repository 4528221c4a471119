//! The checks, in the order they run, and the small vocabulary they share.
//!
//! - basic.rs: add/flush/done/replay semantics, duplicates, `destroy` flushing, a stopped replay,
//!   restarts.
//! - odd.rs: odd keys and payloads, keys that only differ in where a separator falls,
//!   priorities, epoch `when`.
//! - batch.rs: `add_batch` with duplicates in and before the batch.
//! - bulk.rs: many jobs through add_batch, replay and done.
//!
//! A check gets the [`Session`] and its [`Scope`] (its function-name prefix and the configured
//! job count) and returns one or more [`CheckResult`]s. Plugin errors that a check did not
//! expect travel as `Err(String)` and become a FAIL through [`verdict`].

mod basic;
mod batch;
mod bulk;
mod odd;

use crate::job::{diff, Job};
use crate::report::{CheckResult, Outcome};
use crate::session::Session;

/// Where a check works: every job it adds has a function name starting with `prefix`.
pub struct Scope {
    /// The check's name, used in result lines.
    pub name: &'static str,
    /// This run's prefix plus the check's name.
    pub prefix: Vec<u8>,
    /// How many jobs the bulk check streams.
    pub jobs: usize,
}

impl Scope {
    /// A function name inside the scope: the prefix plus `suffix`.
    pub fn function(&self, suffix: &[u8]) -> Vec<u8> {
        let mut f = self.prefix.clone();
        f.extend_from_slice(suffix);
        f
    }
}

/// One check: its name and the function that runs it.
pub struct Check {
    /// The name shown in result lines.
    pub name: &'static str,
    /// Runs the check.
    pub run: fn(&mut Session, &Scope) -> Vec<CheckResult>,
}

/// Every check, in the order the suite runs them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "add-flush-replay",
        run: basic::add_flush_replay,
    },
    Check {
        name: "done",
        run: basic::done,
    },
    Check {
        name: "done-missing",
        run: basic::done_missing,
    },
    Check {
        name: "destroy-flushes",
        run: basic::destroy_flushes,
    },
    Check {
        name: "duplicate-add",
        run: basic::duplicate_add,
    },
    Check {
        name: "duplicate-empty-unique",
        run: basic::duplicate_empty_unique,
    },
    Check {
        name: "replay-stop",
        run: basic::replay_stop,
    },
    Check {
        name: "restart-stable",
        run: basic::restart_stable,
    },
    Check {
        name: "odd",
        run: odd::odd_keys,
    },
    Check {
        name: "distinct-keys",
        run: odd::distinct_keys,
    },
    Check {
        name: "priorities",
        run: odd::priorities,
    },
    Check {
        name: "epoch-when",
        run: odd::epoch_when,
    },
    Check {
        name: "batch-add",
        run: batch::batch_add,
    },
    Check {
        name: "many-jobs",
        run: bulk::many_jobs,
    },
];

/// Turns a check's result into a line: `Err` (an unexpected plugin error) is a FAIL.
pub fn verdict(name: &str, result: Result<Outcome, String>) -> CheckResult {
    CheckResult::new(name, result.unwrap_or_else(Outcome::Fail))
}

/// The usual shape of a check: add `jobs`, flush, restart, expect exactly `jobs` back.
pub fn round_trip(s: &mut Session, scope: &Scope, jobs: &[Job]) -> Result<Option<String>, String> {
    s.add_all(jobs)?;
    let got = s.observe(&scope.prefix)?;
    Ok(diff(jobs, &got))
}
