//! Parked grabs: a GRAB_JOB that finds nothing to do waits a moment for a job before NO_JOB.
//!
//! Why: a worker told NO_JOB sends PRE_SLEEP, and the next job then costs a NOOP and a second
//! GRAB_JOB before its JOB_ASSIGN: four more packets, four more system calls here and two more
//! wake-ups of the worker, per job. With busy clients and momentarily idle workers (the usual
//! foreground load) that is a large share of the server's work per job. The protocol sets no time
//! for the answer to a GRAB_JOB (the worker simply waits for it), so the server may hold it:
//! for up to `--grab-hold` (1 ms by default; 0 answers at once, as C gearmand does) a new job
//! of the worker's functions goes straight to it as JOB_ASSIGN. When the time is up, or the
//! worker sends anything else first, it gets its NO_JOB, and everything goes on as before.
//!
//! Bookkeeping follows the sleepers' (workers.rs): a parked worker is listed in each of its
//! functions' `parked` lists and in one expiry queue, all entries tagged with the worker's
//! `sleep_gen`, and entries that no longer match are skipped when met. All holds have the same
//! length, so the expiry queue is in deadline order and needs no heap.

use super::request::Grab;
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::ConnId;
use gearmand_plugin_api::gear::ptype;
use std::collections::VecDeque;
use std::time::Instant;

/// Parked grabs in the order they expire.
#[derive(Default)]
pub(super) struct Parking {
    expiry: VecDeque<(Instant, ConnId, u32)>,
}

impl Parking {
    /// When the oldest parked grab must be answered.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.expiry.front().map(|e| e.0)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }
}

impl Engine {
    /// Holds worker `c`'s GRAB_JOB* (nothing is ready for it now). Returns false if
    /// parking is off or the worker can do nothing, and the caller answers NO_JOB itself.
    pub(super) fn park(&mut self, c: ConnId, grab: Grab) -> bool {
        let hold = self.cfg.grab_hold;
        let Some(conn) = self.conns.get_mut(c) else {
            return false;
        };
        if hold.is_zero() || conn.abilities.is_empty() {
            return false;
        }
        let Some(at) = self.clock.instant.checked_add(hold) else {
            return false;
        };
        conn.parked = Some(grab);
        conn.sleep_gen = conn.sleep_gen.wrapping_add(1);
        let gen = conn.sleep_gen;
        for i in 0..conn.abilities.len() {
            let func = self.conns.get(c).map_or(0, |x| x.abilities[i].func);
            let f = self.funcs.get_mut(func);
            f.parked.push_back((c, gen));
            if f.parked.len() > 2 * f.workers() as usize + 16 {
                let conns = &self.conns;
                f.parked
                    .retain(|(w, g)| conns.get(*w).is_some_and(|x| x.is_parked(*g)));
            }
        }
        self.parking.expiry.push_back((at, c, gen));
        true
    }

    /// Answers a parked grab of `c` with NO_JOB (the worker sent something else, or time is up).
    pub(super) fn unpark(&mut self, c: ConnId, out: &mut Outbox) {
        if let Some(conn) = self.conns.get_mut(c) {
            if conn.parked.take().is_some() {
                out.send(c, Frame::new(ptype::NO_JOB));
            }
        }
    }

    /// Answers every parked grab whose time is up.
    pub(super) fn expire_parked(&mut self, now: Instant, out: &mut Outbox) {
        while let Some(&(at, c, gen)) = self.parking.expiry.front() {
            if at > now {
                break;
            }
            self.parking.expiry.pop_front();
            if self.conns.get(c).is_some_and(|x| x.is_parked(gen)) {
                self.unpark(c, out);
            }
        }
    }

    /// A job of `func` became ready: the first parked worker of `func` takes it at once.
    /// Returns true once `func` has nothing ready left (nobody needs waking for it).
    pub(super) fn serve_parked(&mut self, func: u32, out: &mut Outbox) -> bool {
        loop {
            let Some((w, gen)) = self.funcs.get_mut(func).parked.pop_front() else {
                return false;
            };
            let Some(conn) = self.conns.get(w) else {
                continue;
            };
            let (true, Some(grab)) = (conn.is_parked(gen) && conn.can_do(func), conn.parked) else {
                continue;
            };
            let Some((h, slot)) = self.take(w) else {
                // Someone else got the job first: the worker keeps waiting.
                self.funcs.get_mut(func).parked.push_front((w, gen));
                return true;
            };
            if let Some(conn) = self.conns.get_mut(w) {
                conn.parked = None;
            }
            self.assign(w, h, slot, grab, out);
            if !self.jobs.counts(func).has_ready() {
                return true;
            }
        }
    }
}
