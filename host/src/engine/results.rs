//! Work results from workers (docs/gear-protocol.md §6) and status queries (§10).
//!
//! A WORK_* packet is accepted only for a job currently assigned to the sending connection. It is
//! forwarded to every attached client, newest first, as the very frame that arrived (the last
//! client gets it without a copy). WORK_EXCEPTION goes as such only to clients that asked for
//! exceptions; the others get WORK_FAIL with the bare handle, exactly as a worker's own WORK_FAIL
//! (1.1.20 adds a trailing NUL, which Perl, Node, Python and libgearman clients cannot match to
//! their job: D20 in `tests/common/differences.rs`).

use super::handles::parse_handle;
use super::jobs::{JobState, MAX_UNIQUE};
use super::metrics::Failure;
use super::num::{up_to_nul, Decimal};
use super::persist;
use super::request::{Work, WorkResult};
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ToIo};
use gearmand_plugin_api::gear::ptype;

/// GET_STATUS handles and WORK_FAIL handles of this length or more get no lookup.
const MAX_HANDLE: usize = 64;

impl Engine {
    /// WORK_STATUS, WORK_DATA, WORK_WARNING, WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION.
    pub(super) fn work_result(&mut self, c: ConnId, f: Frame, out: &mut Outbox) {
        let WorkResult { work, handle } = WorkResult::parse(&f);
        if work == Work::Fail && handle.len() >= MAX_HANDLE {
            let text =
                b"Error occurred due to GEARMAND_JOB_HANDLE_SIZE being too small from snprintf";
            return out.error(c, b"ARGUMENT_TOO_LARGE", text);
        }
        let Some(h) = self.assigned_to(c, handle) else {
            return not_found(c, work, out);
        };
        match work {
            Work::Status {
                numerator,
                denominator,
            } => {
                if let Some(job) = self.jobs.get_mut(h) {
                    job.set_progress(numerator, denominator);
                }
                self.forward(h, f, out);
            }
            Work::Data | Work::Warning => self.forward(h, f, out),
            Work::Exception => {
                self.forward_exception(h, f, out);
                self.finish(c, h, Some(Failure::Exception), out);
            }
            Work::Complete | Work::Fail => {
                let failure = (work == Work::Fail).then_some(Failure::Fail);
                self.forward(h, f, out);
                self.finish(c, h, failure, out);
            }
        }
    }

    /// The handle number of `handle` if that job is running on connection `c`.
    fn assigned_to(&self, c: ConnId, handle: &[u8]) -> Option<u32> {
        let h = parse_handle(&self.prefix, handle)?;
        let job = self.jobs.get(h)?;
        (job.state() == JobState::Running && job.worker() == Some(c)).then_some(h)
    }

    /// Sends `f` to every client of job `h`, newest attachment first.
    fn forward(&self, h: u32, f: Frame, out: &mut Outbox) {
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        let clients = job.clients();
        let Some((&oldest, newer)) = clients.split_first() else {
            return;
        };
        for &c in newer.iter().rev() {
            out.send(c, f.clone());
        }
        out.send(oldest, f);
    }

    /// WORK_EXCEPTION to clients with exceptions on; WORK_FAIL `handle` to the others.
    fn forward_exception(&self, h: u32, f: Frame, out: &mut Outbox) {
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        let handle = self.handle_of(h);
        for &c in job.clients().iter().rev() {
            let wants = self.conns.get(c).is_some_and(|x| x.exceptions);
            let frame = if wants {
                f.clone()
            } else {
                Frame::with_args(ptype::WORK_FAIL, &[handle.as_bytes()])
            };
            out.send(c, frame);
        }
    }

    /// The job ended (complete, or `failure`): its stored row goes, then the job.
    ///
    /// If the queue cannot remove the row the original aborts the packet and closes the worker,
    /// so the job (still assigned) is requeued and runs again; this does the same.
    fn finish(&mut self, c: ConnId, h: u32, failure: Option<Failure>, out: &mut Outbox) {
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        if job.stored {
            let name = &self.funcs.get(job.func()).name;
            if let Err(e) =
                persist::store_done(&self.persister, self.queue.as_mut(), job.unique(), name)
            {
                log::error!("removing job {h} from the persistent queue failed: {e}");
                out.msgs.push(ToIo::Close(c));
                return;
            }
        }
        let (func, prio) = (job.func(), job.prio());
        let stats = &mut self.funcs.get_mut(func).stats;
        match failure {
            None => stats.completed(prio),
            Some(why) => stats.failed(why, prio),
        }
        self.free_job(h);
    }

    /// GET_STATUS: `h\0known\0running\0num\0den`; a handle of 64 bytes or more gets no reply.
    pub(super) fn get_status(&mut self, c: ConnId, arg: &[u8], out: &mut Outbox) {
        let handle = up_to_nul(arg);
        if handle.len() >= MAX_HANDLE {
            return;
        }
        let job = parse_handle(&self.prefix, handle).and_then(|h| self.jobs.get(h));
        let frame = match job {
            None => Frame::with_args(ptype::STATUS_RES, &[handle, b"0", b"0", b"0", b"0"]),
            Some(job) => {
                let (num, den) = job.progress();
                let (num, den) = (Decimal::new(num as u64), Decimal::new(den as u64));
                let running: &[u8] = if job.worker().is_some() { b"1" } else { b"0" };
                Frame::with_args(
                    ptype::STATUS_RES,
                    &[handle, b"1", running, num.as_bytes(), den.as_bytes()],
                )
            }
        };
        out.send(c, frame);
    }

    /// GET_STATUS_UNIQUE: by unique alone, newest job wins; adds the client count.
    pub(super) fn get_status_unique(&mut self, c: ConnId, arg: &[u8], out: &mut Outbox) {
        let unique = up_to_nul(arg);
        if unique.len() > MAX_UNIQUE {
            return;
        }
        let job = self.jobs.find_unique(unique).and_then(|h| self.jobs.get(h));
        let frame = match job {
            None => Frame::with_args(
                ptype::STATUS_RES_UNIQUE,
                &[unique, b"0", b"0", b"0", b"0", b"0"],
            ),
            Some(job) => {
                let (num, den) = job.progress();
                let (num, den) = (Decimal::new(num as u64), Decimal::new(den as u64));
                let clients = Decimal::new(job.clients().len() as u64);
                let running: &[u8] = if job.worker().is_some() { b"1" } else { b"0" };
                Frame::with_args(
                    ptype::STATUS_RES_UNIQUE,
                    &[
                        unique,
                        b"1",
                        running,
                        num.as_bytes(),
                        den.as_bytes(),
                        clients.as_bytes(),
                    ],
                )
            }
        };
        out.send(c, frame);
    }
}

/// The JOB_NOT_FOUND error for a result about a job this connection does not run.
fn not_found(c: ConnId, work: Work, out: &mut Outbox) {
    let text: &[u8] = match work {
        Work::Data | Work::Warning => b"Job does not exist on server",
        Work::Exception => b"An exception was received for a job that does not exist",
        Work::Status { .. } | Work::Complete | Work::Fail => b"Job given in work result not found",
    };
    out.error(c, b"JOB_NOT_FOUND", text);
}
