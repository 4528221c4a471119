//! The engine: every job, function and worker table of the server, and no socket.
//!
//! It runs on the processing thread (or inline in the only I/O thread with `-t 0`/`-t 1`). It takes
//! [`ToEngine`] messages, changes state, and answers with [`ToIo`] messages in an [`Outbox`].
//! Time comes in as a [`Clock`] so that tests can drive timers without sleeping.

use crate::msg::{Control, ToEngine, ToIo};
use crate::queue::QueueStore;
use std::time::Instant;

/// The settings of the command line that shape engine behaviour.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Job handle prefix: `H:<nodename>` by default, or `--job-handle-prefix` as given.
    pub handle_prefix: String,
    /// `-j`: `None` = unlimited retries, `Some(0)` = no retries... see the spec's 2.0 rule:
    /// -1 unlimited, 0 disables retries, 1..=255 attempts.
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

/// All job state.
pub struct Engine {
    #[allow(dead_code)]
    cfg: EngineConfig,
    #[allow(dead_code)]
    queue: Box<dyn QueueStore>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, queue: Box<dyn QueueStore>) -> Engine {
        Engine { cfg, queue }
    }

    /// Refills memory from the persistent queue; returns the number of jobs replayed.
    pub fn replay(&mut self, _now: Clock) -> Result<usize, String> {
        todo!("engine helper")
    }

    /// Handles one message from an I/O thread.
    pub fn handle(&mut self, _msg: ToEngine, _now: Clock, _out: &mut Outbox) {
        todo!("engine helper")
    }

    /// Fires every timer due at `now` (epoch jobs falling due, CAN_DO_TIMEOUT expiries).
    pub fn on_timers(&mut self, _now: Clock, _out: &mut Outbox) {
        todo!("engine helper")
    }

    /// When `on_timers` next has work, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// Jobs in memory (queued or running); graceful shutdown waits for 0.
    pub fn job_count(&self) -> usize {
        0
    }

    /// Process exit: `--store-queue-on-shutdown` writes what is in memory, then the queue's last
    /// flush and shutdown.
    pub fn shutdown(&mut self) {
        self.queue.shutdown();
    }
}
