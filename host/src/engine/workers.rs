//! Workers (docs/gear-protocol.md §5): abilities, sleeping and waking, and handing out jobs.
//!
//! Job choice follows gearmand 2.0: priority is global across a worker's functions (a high job of
//! any function goes first); within a priority the worker's ability list decides, newest
//! registration first, and with round robin (the default) the chosen registration moves to the
//! tail. Per-function `ready` counters make the choice O(abilities), independent of queue depth.

use super::conns::Ability;
use super::jobs::{Priority, Take};
use super::num::{strtol, Parsed};
use super::request::Grab;
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ToIo};
use gearmand_plugin_api::gear::ptype;
use std::time::Duration;

/// CAN_DO_TIMEOUT arguments longer than this are ignored, as in the original.
const MAX_TIMEOUT_ARG: usize = 20;
/// Timeouts below one second are raised to one second.
const MIN_TIMEOUT_MS: u64 = 1000;

impl Engine {
    /// CAN_DO (and CAN_DO_TIMEOUT once parsed): a registration at the head of the list.
    pub(super) fn can_do(&mut self, c: ConnId, name: &[u8], timeout_ms: Option<u64>) {
        let func = self.funcs.get_or_create(name);
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        conn.abilities.insert(0, Ability { func, timeout_ms });
        let f = self.funcs.get_mut(func);
        f.registered(1, true);
        // A worker asleep already must hear about jobs of its new function too.
        if conn.sleeping && !conn.noop_sent {
            f.sleepers.push_back((c, conn.sleep_gen));
        }
    }

    /// CAN_DO_TIMEOUT `func\0ms`: see docs/gear-protocol.md §5.2 and the 2.0 millisecond rule.
    pub(super) fn can_do_timeout(
        &mut self,
        c: ConnId,
        function: &[u8],
        timeout: &[u8],
        out: &mut Outbox,
    ) {
        if timeout.len() > MAX_TIMEOUT_ARG {
            return;
        }
        let timeout = match strtol(timeout) {
            Parsed::Value(v) if v == i64::MAX || v == i64::MIN => None,
            Parsed::OutOfRange(_) => None,
            Parsed::Value(v) if v <= 0 => Some(None),
            Parsed::Value(v) => Some(Some((v as u64).max(MIN_TIMEOUT_MS))),
        };
        match timeout {
            Some(t) => self.can_do(c, function, t),
            None => {
                // The original crashes here; the recommended behaviour is a protocol error.
                log::warn!("CAN_DO_TIMEOUT value out of range, closing the connection");
                out.msgs.push(ToIo::Close(c));
            }
        }
    }

    /// CANT_DO: removes every registration of the function and requeues its running jobs.
    pub(super) fn cant_do(&mut self, c: ConnId, name: &[u8], out: &mut Outbox) {
        let Some(func) = self.funcs.find(name) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        let before = conn.abilities.len();
        conn.abilities.retain(|a| a.func != func);
        self.funcs
            .get_mut(func)
            .registered(before - conn.abilities.len(), false);
        let jobs = &self.jobs;
        let mine: Vec<u32> = conn
            .running
            .iter()
            .copied()
            .filter(|&h| jobs.get(h).is_some_and(|j| j.func() == func))
            .collect();
        for h in mine {
            self.requeue(h, out);
        }
    }

    /// RESET_ABILITIES: removes all registrations and requeues every running job.
    pub(super) fn reset_abilities(&mut self, c: ConnId, out: &mut Outbox) {
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        for a in conn.abilities.drain(..) {
            self.funcs.get_mut(a.func).registered(1, false);
        }
        let mine = conn.running.clone();
        for h in mine {
            self.requeue(h, out);
        }
    }

    /// PRE_SLEEP: NOOP at once if there is work, else sleep until a job arrives.
    ///
    /// Deliberate fix: going to sleep clears `noop_sent`, so a worker that got a NOOP and slept
    /// again without a GRAB is still woken by the next job (the original never wakes it again).
    pub(super) fn pre_sleep(&mut self, c: ConnId, out: &mut Outbox) {
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        let jobs = &self.jobs;
        if conn
            .abilities
            .iter()
            .any(|a| jobs.counts(a.func).has_ready())
        {
            out.send(c, Frame::new(ptype::NOOP));
            return;
        }
        conn.sleeping = true;
        conn.noop_sent = false;
        conn.sleep_gen = conn.sleep_gen.wrapping_add(1);
        let gen = conn.sleep_gen;
        for i in 0..conn.abilities.len() {
            let func = self.conns.get(c).map_or(0, |x| x.abilities[i].func);
            self.add_sleeper(func, c, gen);
        }
    }

    /// Records that worker `c` sleeps while registered for `func`.
    fn add_sleeper(&mut self, func: u32, c: ConnId, gen: u32) {
        let f = self.funcs.get_mut(func);
        f.sleepers.push_back((c, gen));
        if f.sleepers.len() > 2 * f.workers() as usize + 16 {
            let conns = &self.conns;
            // Drop entries of workers that woke up or left since they slept.
            f.sleepers.retain(|(w, g)| {
                conns
                    .get(*w)
                    .is_some_and(|x| x.sleeping && !x.noop_sent && x.sleep_gen == *g)
            });
        }
    }

    /// Sends NOOP to sleeping workers of `func` (at most `-w` of them, 0 = all).
    pub(super) fn wake(&mut self, func: u32, out: &mut Outbox) {
        if self.serve_parked(func, out) {
            return;
        }
        let limit = self.cfg.worker_wakeup;
        let f = self.funcs.get_mut(func);
        let mut sent = 0;
        while let Some((w, gen)) = f.sleepers.pop_front() {
            let Some(conn) = self.conns.get_mut(w) else {
                continue;
            };
            if !conn.sleeping || conn.noop_sent || conn.sleep_gen != gen || !conn.can_do(func) {
                continue;
            }
            conn.noop_sent = true;
            out.send(w, Frame::new(ptype::NOOP));
            sent += 1;
            if limit > 0 && sent >= limit {
                break;
            }
        }
    }

    /// GRAB_JOB / GRAB_JOB_UNIQ / GRAB_JOB_ALL.
    pub(super) fn grab(&mut self, c: ConnId, grab: Grab, out: &mut Outbox) {
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        conn.sleeping = false;
        conn.noop_sent = false;
        match self.take(c) {
            Some((h, slot)) => self.assign(c, h, slot, grab, out),
            None => {
                self.purge_ignored(c);
                if !self.park(c, grab) {
                    out.send(c, Frame::new(ptype::NO_JOB));
                }
            }
        }
    }

    /// Chooses a job for worker `c` and starts it there: (handle, index of the chosen
    /// registration). Ignored jobs met on the way are freed.
    pub(super) fn take(&mut self, c: ConnId) -> Option<(u32, usize)> {
        loop {
            let (slot, ability, p) = self.pick(c)?;
            let deadline = ability
                .timeout_ms
                .and_then(|ms| self.clock.instant.checked_add(Duration::from_millis(ms)));
            match self.jobs.take(ability.func, p, c, deadline) {
                Take::Assigned(h) => {
                    if let Some(at) = deadline {
                        self.timers.add_timeout(at, h);
                    }
                    return Some((h, slot));
                }
                Take::Freed(h, job) => self.forget_job(h, &job),
                Take::Empty => {
                    log::error!("ready count of a function out of step with its run list");
                    return None;
                }
            }
        }
    }

    /// The highest priority with a ready job among the worker's functions, in list order.
    fn pick(&self, c: ConnId) -> Option<(usize, Ability, Priority)> {
        let conn = self.conns.get(c)?;
        Priority::ALL.into_iter().find_map(|p| {
            conn.abilities
                .iter()
                .position(|a| self.jobs.counts(a.func).ready[p.idx()] > 0)
                .map(|slot| (slot, conn.abilities[slot], p))
        })
    }

    /// With nothing to run, the ignored jobs left in the worker's functions are freed.
    fn purge_ignored(&mut self, c: ConnId) {
        let Some(conn) = self.conns.get(c) else {
            return;
        };
        let funcs: Vec<u32> = conn
            .abilities
            .iter()
            .map(|a| a.func)
            .filter(|&f| {
                let counts = self.jobs.counts(f);
                counts.ignored > 0 && !counts.has_ready()
            })
            .collect();
        for func in funcs {
            for (h, job) in self.jobs.drain_ignored(func) {
                self.forget_job(h, &job);
            }
        }
    }

    /// Tells worker `c` about job `h`, just started on it: rotation, running list, reply.
    pub(super) fn assign(&mut self, c: ConnId, h: u32, slot: usize, grab: Grab, out: &mut Outbox) {
        let Some(conn) = self.conns.get_mut(c) else {
            return;
        };
        if self.cfg.round_robin {
            let a = conn.abilities.remove(slot);
            conn.abilities.push(a);
        }
        conn.running.push(h);
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        let handle = super::handles::HandleBuf::new(&self.prefix, h);
        let (hd, name) = (handle.as_bytes(), &*self.funcs.get(job.func()).name);
        let frame = match grab {
            Grab::Job => Frame::with_args(ptype::JOB_ASSIGN, &[hd, name, job.data()]),
            Grab::All if job.has_reducer => Frame::with_args(
                ptype::JOB_ASSIGN_ALL,
                &[hd, name, job.unique(), job.reducer(), job.data()],
            ),
            _ => Frame::with_args(
                ptype::JOB_ASSIGN_UNIQ,
                &[hd, name, job.unique(), job.data()],
            ),
        };
        out.send(c, frame);
    }
}
