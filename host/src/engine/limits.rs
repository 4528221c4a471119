//! Limits on what the engine holds in memory (`--max-queued-jobs`,
//! `--max-queued-jobs-per-function`, `--max-job-bytes`). A submit that would pass one gets the
//! protocol's `ERROR QUEUE_ERROR` with a text naming the limit; the server never aborts. Jobs
//! replayed from the persistent queue at startup are not limited (they were accepted before).

use super::functions::Function;
use super::jobs::NewJob;
use super::Engine;

/// The limits; 0 means none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineLimits {
    /// Jobs in memory in total, waiting or running.
    pub max_jobs: u64,
    /// Jobs per function, waiting or running, when its `maxqueue` is not set for that priority.
    pub max_per_function: u64,
    /// Unique, reducer and data bytes of all jobs together.
    pub max_job_bytes: u64,
}

/// Which limit refused a job: the text of its `ERROR QUEUE_ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LimitHit {
    Jobs,
    PerFunction,
    Bytes,
}

impl LimitHit {
    pub(super) fn text(self) -> &'static [u8] {
        match self {
            LimitHit::Jobs => b"Server job limit reached",
            LimitHit::PerFunction => b"Job queue is full",
            LimitHit::Bytes => b"Server job memory limit reached",
        }
    }
}

impl Engine {
    /// Sets the limits (at startup; the default is none).
    pub fn set_limits(&mut self, limits: EngineLimits) {
        self.limits = limits;
    }

    /// The limit a new client job would pass, if any. `maxqueue`, when set, is checked by the
    /// caller and takes precedence over the per-function default.
    pub(super) fn over_limit(&self, new: &NewJob<'_>) -> Option<LimitHit> {
        let l = self.limits;
        if l.max_jobs > 0 && self.jobs.len() as u64 >= l.max_jobs {
            return Some(LimitHit::Jobs);
        }
        let f: &Function = self.funcs.get(new.func);
        let total = self.jobs.counts(new.func).total();
        if l.max_per_function > 0
            && f.maxqueue[new.prio.idx()] == 0
            && u64::from(total) >= l.max_per_function
        {
            return Some(LimitHit::PerFunction);
        }
        let size = new.unique.len() + new.reducer.map_or(0, <[u8]>::len) + new.data.len();
        if l.max_job_bytes > 0 && (self.jobs.bytes() + size) as u64 > l.max_job_bytes {
            return Some(LimitHit::Bytes);
        }
        None
    }
}
