//! The engine's invariants across its tables, checked by the model-based tests and the engine
//! fuzz target after every step. Nothing on the serving path calls this.

use super::jobs::JobState;
use super::Engine;
use crate::msg::ConnId;
use std::collections::HashMap;

impl Engine {
    /// Checks every table against the others; the error names the first broken invariant.
    ///
    /// - the job table's own invariants (counts equal what they count, one run-list entry per
    ///   job in state `InRunList`, exactly the running jobs have a worker);
    /// - each function's worker count is the number of registrations connections hold;
    /// - each connection runs exactly the jobs whose worker it is, and its live attachment count
    ///   is the number of times it is a client of a job;
    /// - a job is being stored exactly while someone waits for its acknowledgement, and every
    ///   held reply waits for such a job (none waits forever);
    /// - every scheduled job and every deadline has its timer entry.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.jobs.check()?;
        self.check_workers()?;
        self.check_connections()?;
        self.check_persisting()?;
        self.check_timers()
    }

    fn check_workers(&self) -> Result<(), String> {
        let mut registered: HashMap<u32, u32> = HashMap::new();
        for (_, conn) in self.conns.iter() {
            for a in &conn.abilities {
                *registered.entry(a.func).or_default() += 1;
            }
        }
        for (id, f) in self.funcs.iter() {
            let n = registered.remove(&id).unwrap_or(0);
            if f.workers() != n {
                return Err(format!(
                    "function {id}: {} workers, {n} registrations",
                    f.workers()
                ));
            }
        }
        match registered.into_keys().next() {
            Some(id) => Err(format!("registration for missing function {id}")),
            None => Ok(()),
        }
    }

    fn check_connections(&self) -> Result<(), String> {
        let mut running: HashMap<ConnId, Vec<u32>> = HashMap::new();
        let mut attached: HashMap<ConnId, u32> = HashMap::new();
        for h in self.jobs.handles_sorted() {
            let job = self.jobs.get(h).ok_or("listed job missing")?;
            if let Some(w) = job.worker() {
                running.entry(w).or_default().push(h);
            }
            for &c in job.clients() {
                *attached.entry(c).or_default() += 1;
            }
        }
        for (&c, conn) in self.conns.iter() {
            let mut mine = conn.running.clone();
            mine.sort_unstable();
            if mine != running.remove(&c).unwrap_or_default() {
                return Err(format!(
                    "connection {c:?} runs {:?} by its own list",
                    conn.running
                ));
            }
            let n = attached.remove(&c).unwrap_or(0);
            if conn.waiting_live() != n {
                return Err(format!(
                    "{c:?}: {} live attachments, {n} by the jobs",
                    conn.waiting_live()
                ));
            }
        }
        if let Some((c, jobs)) = running.into_iter().next() {
            return Err(format!("jobs {jobs:?} run on closed connection {c:?}"));
        }
        match attached.into_keys().next() {
            Some(c) => Err(format!("closed connection {c:?} is still a client")),
            None => Ok(()),
        }
    }

    fn check_persisting(&self) -> Result<(), String> {
        for h in self.jobs.handles_sorted() {
            let storing = self
                .jobs
                .get(h)
                .is_some_and(|j| j.state() == JobState::Persisting);
            if storing != self.persisting.contains_key(&h) {
                return Err(format!(
                    "job {h}: being stored {storing}, awaited {}",
                    !storing
                ));
            }
        }
        if let Some(h) = self.persisting.keys().find(|h| !self.jobs.contains(**h)) {
            return Err(format!("acknowledgement awaited for missing job {h}"));
        }
        for (c, h) in self.holds.waiting() {
            if !self.persisting.get(&h).is_some_and(|w| w.contains(&c)) {
                return Err(format!(
                    "{c:?} holds replies behind job {h}, which no store will answer"
                ));
            }
        }
        Ok(())
    }

    fn check_timers(&self) -> Result<(), String> {
        for h in self.jobs.handles_sorted() {
            let Some(job) = self.jobs.get(h) else {
                continue;
            };
            if job.state() == JobState::Scheduled && !self.timers.has_epoch(job.when(), h) {
                return Err(format!("scheduled job {h} has no timer"));
            }
            if let Some(at) = job.deadline() {
                if !self.timers.has_timeout(at, h) {
                    return Err(format!("job {h}'s deadline has no timer"));
                }
            }
        }
        Ok(())
    }
}
