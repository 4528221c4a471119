//! The processing side: the engine fed with batches, and its answers routed to I/O threads.
//!
//! [`Processor`] wraps the engine and is used two ways: inline in the only I/O thread (`-t 0`,
//! `-t 1`), or on its own processing thread ([`run_thread`], `-t N≥2`) that owns the engine and
//! no socket. Either way a batch of [`ToEngine`] messages goes in and [`ToIo`] messages come out,
//! grouped per I/O thread so that each thread gets one channel send and one wake-up per batch.

use super::spin;
use super::threads::{IoHandle, IoMsg, MainHandle, MainMsg};
use super::wire::Core;
use crate::engine::{Clock, Outbox};
use crate::msg::{Control, ToEngine, ToIo};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What the processing thread receives.
pub enum EngineMsg {
    /// Everything one I/O thread read in one poll round.
    Batch(Vec<ToEngine>),
    /// Graceful shutdown: finish the jobs in memory, then report [`MainMsg::Drained`].
    Graceful,
    /// Stop: flush the queue and end the thread.
    Stop,
}

/// How long the server must have had no job before freed memory is handed back to the system.
const TRIM_AFTER: Duration = Duration::from_secs(2);

/// Free memory at the top of the heap that glibc keeps instead of giving it back at once.
const TRIM_THRESHOLD: i32 = 2 << 20;

/// Makes glibc keep a little freed memory while the server is busy; [`Processor::trim`] gives
/// everything back once the server is idle. Called once at startup, before any thread exists.
///
/// Why: by default glibc shrinks the heap as soon as 128 KiB at its top are free. A server that
/// allocates and frees a 64 KiB payload per packet then hands the same pages back and faults
/// them in again (zeroed) over and over. The `mmap` threshold stays as it is: raising it leaves
/// the holes of grown tables in the heap, which makes idle connections dearer.
pub fn tune_allocator() {
    // SAFETY: mallopt only changes an allocator parameter; no other thread exists yet.
    if unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) } != 1 {
        log::debug!("mallopt refused M_TRIM_THRESHOLD; keeping glibc's default");
    }
}

/// The engine plus its outbox and shutdown state.
pub struct Processor {
    core: Box<dyn Core>,
    outbox: Outbox,
    graceful: bool,
    /// Since when no job has been in memory, if jobs were there before (see [`Processor::trim`]).
    idle_since: Option<Instant>,
    /// Jobs were in memory since the last trim.
    worked: bool,
}

impl Processor {
    pub fn new(core: Box<dyn Core>) -> Processor {
        Processor {
            core,
            outbox: Outbox::default(),
            graceful: false,
            idle_since: None,
            worked: false,
        }
    }

    /// Handles a batch of messages, in order.
    pub fn handle(&mut self, batch: impl IntoIterator<Item = ToEngine>) {
        let now = Clock::now();
        for msg in batch {
            self.core.handle(msg, now, &mut self.outbox);
        }
    }

    /// Fires the engine's timers if one is due, and takes the results of background work.
    pub fn timers(&mut self) {
        let now = Clock::now();
        self.core.poll_background(now, &mut self.outbox);
        if self.core.next_deadline().is_some_and(|d| d <= now.instant) {
            self.core.on_timers(now, &mut self.outbox);
        }
        self.trim(now.instant);
    }

    /// Hands freed heap back to the system once the queues have drained and stayed empty for
    /// [`TRIM_AFTER`]: glibc keeps freed memory in its arenas, so without this the RSS of a server
    /// that once held a million jobs would stay at its peak for good. Costs one comparison per
    /// round while busy.
    fn trim(&mut self, now: Instant) {
        if self.core.job_count() > 0 {
            self.worked = true;
            self.idle_since = None;
            return;
        }
        if !self.worked {
            return;
        }
        let since = *self.idle_since.get_or_insert(now);
        if now.duration_since(since) >= TRIM_AFTER {
            self.worked = false;
            self.idle_since = None;
            self.core.release_memory();
            // SAFETY: malloc_trim only releases free memory of the allocator; always safe to call.
            unsafe { libc::malloc_trim(0) };
            log::debug!("queues drained: freed memory returned to the system");
        }
    }

    /// Starts the engine's background work; `wake` must make this processor's thread run a
    /// round (and so call [`Processor::timers`]).
    pub fn start_background(&mut self, wake: crate::engine::Wake) {
        self.core.start_background(wake);
    }

    /// When a timer is next due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let trim = self.idle_since.map(|s| s + TRIM_AFTER);
        match (self.core.next_deadline(), trim) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes what the engine produced.
    pub fn take(&mut self) -> (Vec<ToIo>, Option<Control>) {
        (
            std::mem::take(&mut self.outbox.msgs),
            self.outbox.control.take(),
        )
    }

    /// Enters graceful shutdown.
    pub fn set_graceful(&mut self) {
        self.graceful = true;
    }

    /// Graceful shutdown asked for and no job left.
    pub fn drained(&self) -> bool {
        self.graceful && self.core.job_count() == 0
    }

    /// Takes one message of the processing thread; true for [`EngineMsg::Stop`].
    fn accept(&mut self, m: EngineMsg) -> bool {
        match m {
            EngineMsg::Batch(b) => self.handle(b),
            EngineMsg::Graceful => self.set_graceful(),
            EngineMsg::Stop => return true,
        }
        false
    }

    /// Final queue flush.
    pub fn shutdown(&mut self) {
        self.core.shutdown();
    }
}

/// The processing thread (`-t N≥2`): receive batches, handle, route answers, until stopped.
pub fn run_thread(
    mut p: Processor,
    rx: Receiver<EngineMsg>,
    io: Vec<IoHandle>,
    main: MainHandle,
    spin: Duration,
) {
    let mut routed: Vec<Vec<ToIo>> = io.iter().map(|_| Vec::new()).collect();
    let mut drained_reported = false;
    let mut stop = false;
    while !stop {
        match receive(&p, &rx, spin) {
            Received::Msg(m) => stop = p.accept(m),
            Received::Gone => stop = true,
            Received::Timeout => {}
        }
        // Take whatever else is already waiting, so one round answers several batches.
        for _ in 0..64 {
            match rx.try_recv() {
                _ if stop => break,
                Ok(m) => stop = p.accept(m),
                Err(_) => break,
            }
        }
        p.timers();
        let (msgs, control) = p.take();
        route(msgs, &mut routed, &io);
        if let Some(c) = control {
            main.send(MainMsg::Control(c));
        }
        if p.drained() && !drained_reported {
            drained_reported = true;
            main.send(MainMsg::Drained);
        }
    }
    // What the engine answered last was routed above; flush the queue before I/O threads close.
    p.shutdown();
    log::debug!("processing thread stopped");
}

enum Received {
    Msg(EngineMsg),
    Timeout,
    Gone,
}

fn receive(p: &Processor, rx: &Receiver<EngineMsg>, spin: Duration) -> Received {
    let due = p.next_deadline();
    let until = |d: Instant| d.saturating_duration_since(Instant::now());
    // Look for a while before sleeping: a message taken while looking needs no wake-up.
    let budget = spin::budget(spin, due.map(until));
    if let Some(m) = spin::linger(budget, || rx.try_recv().ok()) {
        return Received::Msg(m);
    }
    let r = match due {
        Some(d) => rx.recv_timeout(until(d)),
        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
    };
    match r {
        Ok(m) => Received::Msg(m),
        Err(RecvTimeoutError::Timeout) => Received::Timeout,
        Err(RecvTimeoutError::Disconnected) => Received::Gone,
    }
}

/// Groups messages by owning I/O thread; one send and one wake per thread with something to do.
fn route(msgs: Vec<ToIo>, routed: &mut [Vec<ToIo>], io: &[IoHandle]) {
    for m in msgs {
        let id = match &m {
            ToIo::Send(id, _) | ToIo::Close(id) => *id,
        };
        if let Some(slot) = routed.get_mut(id.thread()) {
            slot.push(m);
        }
    }
    for (batch, handle) in routed.iter_mut().zip(io) {
        if !batch.is_empty() {
            handle.send(IoMsg::Batch(std::mem::take(batch)));
        }
    }
}
