//! How jobs leave workers and the server: requeue with retries (docs/gear-protocol.md §5.5),
//! freeing, ignoring, and connections closing (§9).

use super::extra::EndedRun;
use super::jobs::{Job, JobState};
use super::metrics::Failure;
use super::persist;
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::ConnId;
use gearmand_plugin_api::gear::ptype;

impl Engine {
    /// Takes a running job back from its worker (disconnect, CANT_DO, RESET_ABILITIES, timeout):
    /// one more attempt is counted; past the `-j` limit the job is dropped with WORK_FAIL,
    /// otherwise it goes to the tail of its run list and sleepers are woken.
    pub(super) fn requeue(&mut self, h: u32, out: &mut Outbox) {
        let Some(job) = self.jobs.get_mut(h) else {
            return;
        };
        if job.state() != JobState::Running {
            return;
        }
        job.retries = job.retries.wrapping_add(1);
        let exhausted = self.max_attempts.is_some_and(|max| job.retries >= max);
        let (func, prio, retries) = (job.func(), job.prio(), job.retries);
        if job.is_ignored() {
            // Nobody wants the result; running it again would be wasted work.
            self.free_job(h);
            return;
        }
        if exhausted {
            log::info!("job {h} dropped after {retries} attempts");
            self.drop_exhausted(h, out);
            return;
        }
        if let Some(ended) = self.jobs.requeue(h) {
            self.run_ended(h, &ended);
        }
        self.funcs.get_mut(func).stats.retried(prio);
        self.wake(func, out);
    }

    /// Out of attempts: WORK_FAIL to every client, the stored row removed, the job freed.
    fn drop_exhausted(&mut self, h: u32, out: &mut Outbox) {
        let Some(job) = self.free_job(h) else {
            return;
        };
        self.funcs
            .get_mut(job.func())
            .stats
            .failed(Failure::Retries, job.prio());
        let handle = self.handle_of(h);
        for &c in job.clients().iter().rev() {
            out.send(c, Frame::with_args(ptype::WORK_FAIL, &[handle.as_bytes()]));
        }
        if job.stored {
            let name = &self.funcs.get(job.func()).name;
            if let Err(e) =
                persist::store_done(&self.persister, self.queue.as_mut(), job.unique(), name)
            {
                log::warn!("removing dropped job {h} from the persistent queue failed: {e}");
            }
        }
    }

    /// Removes a job from the job table and from its worker and clients; returns it for last
    /// words (clients, done).
    pub(super) fn free_job(&mut self, h: u32) -> Option<Job> {
        let job = self.jobs.remove(h)?;
        self.forget_job(h, &job);
        Some(job)
    }

    /// What a job that left the job table leaves behind elsewhere: its worker's running list,
    /// its timeout timer, its clients' attachments.
    pub(super) fn forget_job(&mut self, h: u32, job: &Job) {
        let run = EndedRun {
            worker: job.worker(),
            had_deadline: job.deadline().is_some(),
        };
        self.run_ended(h, &run);
        for &c in job.clients() {
            if let Some(conn) = self.conns.get_mut(c) {
                conn.detached(1);
            }
        }
    }

    /// A run ended (the job requeued or gone): its worker and timeout timer let go of it.
    fn run_ended(&mut self, h: u32, ended: &EndedRun) {
        if let Some(w) = ended.worker {
            if let Some(conn) = self.conns.get_mut(w) {
                conn.forget_running(h);
            }
        }
        if ended.had_deadline {
            self.timers.cancelled();
        }
    }

    /// A connection closed: its registrations go, its running jobs are requeued, and jobs it
    /// waited on lose it as a client (foreground-created jobs left without clients are ignored).
    pub(super) fn closed(&mut self, c: ConnId, out: &mut Outbox) {
        let Some(conn) = self.conns.remove(c) else {
            return;
        };
        for a in &conn.abilities {
            self.funcs.get_mut(a.func).registered(1, false);
        }
        // Detach it as a client first, so that a requeue that drops a job (out of attempts)
        // does not send WORK_FAIL to this very connection.
        for &h in conn.waiting() {
            let Some(job) = self.jobs.get_mut(h) else {
                continue;
            };
            if job.remove_client(c) > 0 && job.clients().is_empty() && job.foreground {
                // Freed when a grab reaches it or its run ends.
                self.jobs.ignore(h);
            }
        }
        for &h in &conn.running {
            if self.jobs.get(h).is_some_and(|j| j.worker() == Some(c)) {
                self.requeue(h, out);
            }
        }
    }
}
