//! The engine: every job, function and worker table of the server, and no socket.
//!
//! It runs on the processing thread (or inline in the only I/O thread with `-t 0`/`-t 1`). It takes
//! [`ToEngine`] messages, changes state, and answers with [`ToIo`] messages in an [`Outbox`].
//! Time comes in as a [`Clock`] so that tests can drive timers without sleeping.
//!
//! Behaviour is docs/gear-protocol.md §3-§11 and docs/admin-protocol.md with the gearmand 2.0
//! changes and the recommended fixes. Reading order: this file (API and dispatch), `request` (each
//! packet's fields, named), `submit` (new jobs), `workers` (abilities, sleep, grab, requeue),
//! `parking` (grabs that wait), `results` (WORK_* and status queries), `admin` (text commands),
//! `query` (the same tables as rows for plugins), `timers`, `metrics` (monitoring counters and the
//! `metrics` command); the tables live in `jobs` (with `handles`, their names on the wire),
//! `functions`, `conns`.

mod admin;
mod conns;
mod extra;
mod functions;
mod handles;
mod hash;
mod invariants;
mod jobs;
mod lifecycle;
mod limits;
mod metrics;
mod num;
mod parking;
mod persist;
mod query;
mod request;
mod results;
mod submit;
mod timers;
mod workers;

#[cfg(test)]
mod tests;

use crate::frame::Frame;
use crate::msg::{ConnId, Control, ToEngine, ToIo};
use crate::queue::{QueueStore, StoredJob};
use conns::{Conn, ConnTable};
use functions::FunctionTable;
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use handles::HandleBuf;
use jobs::JobTable;
pub use limits::EngineLimits;
pub use metrics::QueueStats;
use metrics::{ServerStats, TimedQueue};
use parking::Parking;
pub use persist::Wake;
use persist::{Holds, Persister};
use request::Request;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timers::Timers;

/// The settings of the command line that shape engine behaviour.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Job handle prefix: `H:<nodename>` by default, or `--job-handle-prefix` as given.
    pub handle_prefix: String,
    /// `-j` with the 2.0 rule: -1 (any negative) unlimited, 0 disables retries (a job is dropped
    /// the first time it has to be requeued), 1..=255 attempts.
    pub job_retries: i32,
    /// `-w`: NOOPs per new job, 0 = every sleeping worker.
    pub worker_wakeup: u32,
    /// `-R` (and the 2.0 default): rotate across a worker's functions.
    pub round_robin: bool,
    /// `--exceptions`: every connection starts with exceptions enabled.
    pub exceptions: bool,
    /// What `verbose` reports (`ERROR`, `INFO`, ...).
    pub verbose_name: String,
    /// What `version` reports.
    pub version: String,
    /// What `getpid` reports.
    pub pid: u32,
    /// Allow admin `shutdown` from non-loopback peers.
    pub remote_shutdown: bool,
    /// `--grab-hold`: how long a GRAB_JOB that finds nothing waits for a job (parking.rs);
    /// zero answers NO_JOB at once.
    pub grab_hold: Duration,
}

/// The time as the engine sees it: a monotonic instant for timers, epoch seconds for epoch jobs.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub instant: Instant,
    pub epoch: i64,
}

impl Clock {
    pub fn now() -> Clock {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Clock {
            instant: Instant::now(),
            epoch,
        }
    }
}

/// What the engine sends back after handling a batch.
#[derive(Debug, Default)]
pub struct Outbox {
    pub msgs: Vec<ToIo>,
    pub control: Option<Control>,
}

impl Outbox {
    fn send(&mut self, c: ConnId, f: Frame) {
        self.msgs.push(ToIo::Send(c, f));
    }

    /// `ERROR code text`.
    fn error(&mut self, c: ConnId, code: &[u8], text: &[u8]) {
        self.send(c, Frame::with_args(ptype::ERROR, &[code, text]));
    }

    fn raw(&mut self, c: ConnId, bytes: &[u8]) {
        self.send(c, Frame::with_args(kind::RAW, &[bytes]));
    }
}

/// All job state.
pub struct Engine {
    cfg: EngineConfig,
    queue: Box<dyn QueueStore>,
    /// `handle_prefix` plus `:`.
    prefix: Box<[u8]>,
    /// Attempts before a requeued job is dropped; `None` = unlimited.
    max_attempts: Option<u8>,
    /// The number the next new job gets.
    next_handle: u32,
    jobs: JobTable,
    funcs: FunctionTable,
    conns: ConnTable,
    timers: Timers,
    /// Grabs waiting for a job (parking.rs).
    parking: Parking,
    /// The last clock reading (maps epoch deadlines onto the monotonic clock).
    clock: Clock,
    /// The queue thread, once started; `queue` is then a placeholder until shutdown.
    persister: Option<Persister>,
    /// The queue's name while it lives on its thread.
    queue_name: String,
    /// Connections waiting for a submit's acknowledgement, per job handle.
    persisting: HashMap<u32, Vec<ConnId>>,
    /// Replies held back behind those acknowledgements.
    holds: Holds,
    /// Memory limits on new client jobs (limits.rs).
    limits: EngineLimits,
    /// Server-wide counters for `metrics` (metrics.rs).
    stats: ServerStats,
    /// The queue's operation counts and group durations, shared with the queue's thread.
    queue_stats: Arc<QueueStats>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, queue: Box<dyn QueueStore>) -> Engine {
        let mut prefix = cfg.handle_prefix.as_bytes().to_vec();
        if prefix.len() > handles::MAX_PREFIX - 1 {
            log::warn!(
                "job handle prefix longer than {} bytes, truncated",
                handles::MAX_PREFIX - 1
            );
            prefix.truncate(handles::MAX_PREFIX - 1);
        }
        prefix.push(b':');
        let max_attempts = match cfg.job_retries {
            r if r < 0 => None,
            r => Some(r.clamp(1, 255) as u8),
        };
        let queue_stats = Arc::new(QueueStats::default());
        let queue = TimedQueue::wrap(queue, &queue_stats);
        let clock = Clock::now();
        Engine {
            cfg,
            queue,
            prefix: prefix.into_boxed_slice(),
            max_attempts,
            next_handle: 1,
            jobs: JobTable::default(),
            funcs: FunctionTable::default(),
            conns: ConnTable::default(),
            timers: Timers::default(),
            parking: Parking::default(),
            clock,
            persister: None,
            queue_name: String::new(),
            persisting: HashMap::new(),
            holds: Holds::default(),
            limits: EngineLimits::default(),
            stats: ServerStats::new(clock.instant),
            queue_stats,
        }
    }

    /// Refills memory from the persistent queue; returns the number of jobs replayed.
    pub fn replay(&mut self, now: Clock) -> Result<usize, String> {
        self.clock = now;
        // The queue is borrowed by its own replay; park a no-op in its place meanwhile.
        let mut queue = std::mem::replace(&mut self.queue, Box::new(crate::queue::Builtin));
        let mut count = 0;
        let result = queue.replay(&mut |job: &StoredJob<'_>| {
            self.replay_one(job, now);
            count += 1;
            Ok(())
        });
        self.queue = queue;
        self.stats.replayed += count as u64;
        result.map(|()| count)
    }

    /// Handles one message from an I/O thread.
    pub fn handle(&mut self, msg: ToEngine, now: Clock, out: &mut Outbox) {
        self.clock = now;
        let start = out.msgs.len();
        self.run_due(now, out);
        match msg {
            ToEngine::Opened(c, info) => {
                self.stats.accepted(info.protocol);
                self.conns.open(c, Conn::new(&info, self.cfg.exceptions))
            }
            ToEngine::Request(c, frame) => {
                self.conns.ensure(c, self.cfg.exceptions);
                self.request(c, frame, now, out);
            }
            ToEngine::Closed(c) => {
                self.holds.forget(c);
                self.closed(c, out);
            }
        }
        self.hold_back(out, start);
    }

    /// Fires every timer due at `now` (epoch jobs falling due, CAN_DO_TIMEOUT expiries).
    pub fn on_timers(&mut self, now: Clock, out: &mut Outbox) {
        self.clock = now;
        let start = out.msgs.len();
        self.run_due(now, out);
        self.hold_back(out, start);
    }

    /// When `on_timers` next has work, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.earliest_deadline()
    }

    /// Once no job is left, gives back the room the tables grew to at the peak (see the
    /// runtime's memory trim). Does nothing while any job exists.
    pub fn release_memory(&mut self) {
        if self.jobs.len() > 0 {
            return;
        }
        self.jobs.shrink_if_empty();
        self.funcs.shrink_idle();
        self.timers.clear_idle();
        self.persisting.shrink_to_fit();
    }

    /// Jobs in memory (waiting or running); graceful shutdown waits for 0.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Process exit: `--store-queue-on-shutdown` writes what is in memory, then the queue's last
    /// flush and shutdown.
    pub fn shutdown(&mut self) {
        self.stop_background();
        if self.queue.store_on_shutdown() {
            self.store_all();
        }
        self.queue.shutdown();
    }

    /// One dispatch over every request, parsed once into its typed view; each arm is a small
    /// handler.
    fn request(&mut self, c: ConnId, f: Frame, now: Clock, out: &mut Outbox) {
        if !self.parking.is_empty() {
            // Whatever a worker sends while its grab is parked ends the wait first (NO_JOB).
            self.unpark(c, out);
        }
        match Request::parse(&f) {
            Request::CanDo { function } => self.can_do(c, function, None),
            Request::CanDoTimeout { function, timeout } => {
                self.can_do_timeout(c, function, timeout, out)
            }
            Request::CantDo { function } => self.cant_do(c, function, out),
            Request::ResetAbilities => self.reset_abilities(c, out),
            Request::PreSleep => self.pre_sleep(c, out),
            Request::Grab(grab) => self.grab(c, grab, out),
            Request::Submit => self.submit(c, f, now, out),
            Request::WorkResult => self.work_result(c, f, out),
            Request::GetStatus { handle } => self.get_status(c, handle, out),
            Request::GetStatusUnique { unique } => self.get_status_unique(c, unique, out),
            // The request's one argument is the answer: no new buffer.
            Request::Echo { .. } if f.len() == 1 => out.send(c, f.retyped(ptype::ECHO_RES)),
            Request::Echo { payload } => out.send(c, Frame::with_args(ptype::ECHO_RES, &[payload])),
            Request::OptionReq { option } => self.option_req(c, option, out),
            Request::SetClientId { id } => {
                if let Some(conn) = self.conns.get_mut(c) {
                    conn.set_client_id(id);
                }
            }
            Request::AdminLine { line } => self.admin(c, line, out),
            Request::Query { name } => self.query(c, name, out),
            Request::Unexpected => out.error(c, b"INVALID_COMMAND", b"Command not expected"),
        }
    }

    /// OPTION_REQ: only `exceptions` is known (compared like C, up to a NUL, ignoring case).
    fn option_req(&mut self, c: ConnId, option: &[u8], out: &mut Outbox) {
        let name = num::up_to_nul(option);
        if name.len() < 64 && name.eq_ignore_ascii_case(b"exceptions") {
            if let Some(conn) = self.conns.get_mut(c) {
                conn.exceptions = true;
            }
            out.send(c, Frame::with_args(ptype::OPTION_RES, &[option]));
        } else {
            out.error(
                c,
                b"UNKNOWN_OPTION",
                b"Server does not recognize given option",
            );
        }
    }

    /// The printed handle of job `h`.
    fn handle_of(&self, h: u32) -> HandleBuf {
        HandleBuf::new(&self.prefix, h)
    }

    /// `--store-queue-on-shutdown`: every persisted job still in memory is written, then flushed.
    fn store_all(&mut self) {
        let mut stored = 0usize;
        for h in self.jobs.handles_sorted() {
            let Some(job) = self.jobs.get(h) else {
                continue;
            };
            if !job.stored {
                continue;
            }
            let item = StoredJob {
                unique: job.unique(),
                function: &self.funcs.get(job.func()).name,
                data: job.data(),
                priority: job.prio() as u32,
                when: job.when(),
            };
            match self.queue.add(&item) {
                Ok(()) => stored += 1,
                Err(e) => log::error!("storing job {h} at shutdown failed: {e}"),
            }
        }
        if let Err(e) = self.queue.flush() {
            log::error!("flushing the queue at shutdown failed: {e}");
        }
        log::info!(
            "stored {stored} jobs in the {} queue at shutdown",
            self.queue.name()
        );
    }
}
