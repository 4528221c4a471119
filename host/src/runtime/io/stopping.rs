//! The I/O thread's life outside its rounds: signals and engine control (shutdown, graceful
//! shutdown) as they reach this thread, and the final flush when it stops.

use super::{EngineSide, IoThread};
use crate::msg::Control;
use crate::runtime::acceptor::SignalAction;
use crate::runtime::threads::MainMsg;
use mio::Events;
use std::time::{Duration, Instant};

/// How long a stopping thread keeps trying to write out what is buffered.
const FINAL_FLUSH: Duration = Duration::from_secs(2);

impl IoThread {
    pub(super) fn on_signal(&mut self, s: SignalAction) {
        log::info!("signal: {s:?}");
        match s {
            SignalAction::Stop => self.stopping = true,
            SignalAction::Graceful => self.begin_graceful(),
            SignalAction::ReopenLog => crate::logging::reopen(),
        }
    }

    /// Engine control: to the main thread if there is one, else acted on here (`-t 0`).
    pub(super) fn on_control(&mut self, c: Control) {
        match (&self.main, c) {
            (Some(main), c) => main.send(MainMsg::Control(c)),
            (None, Control::Shutdown) => self.stopping = true,
            (None, Control::GracefulShutdown) => self.begin_graceful(),
        }
    }

    pub(super) fn begin_graceful(&mut self) {
        if let Some(a) = &mut self.acceptor {
            a.stop_listening(self.poll.registry());
        }
        // With the engine inline, the next dispatch (later in this round) checks for no job left.
        if let EngineSide::Inline(p) = &mut self.engine {
            p.set_graceful();
        }
    }

    pub(super) fn on_drained(&mut self) {
        match &self.main {
            Some(main) if !self.drained_reported => main.send(MainMsg::Drained),
            Some(_) => {}
            None => self.stopping = true,
        }
        self.drained_reported = true;
    }

    /// Stopping: write out what is buffered (for a bounded time), flush the queue, close all.
    pub(super) fn finish(&mut self) {
        self.drain_inbox();
        self.dispatch();
        let deadline = Instant::now() + FINAL_FLUSH;
        let mut events = Events::with_capacity(256);
        for slot in self.conns.slots() {
            self.mark_dirty(slot);
        }
        loop {
            self.flush_dirty();
            let pending: Vec<usize> = self.conns.slots();
            let left = deadline.saturating_duration_since(Instant::now());
            if pending.iter().all(|&s| !self.has_output(s)) || left.is_zero() {
                break;
            }
            let _ = self.poll.poll(&mut events, Some(left));
            for s in pending {
                if self.has_output(s) {
                    self.mark_dirty(s);
                }
            }
        }
        if let EngineSide::Inline(p) = &mut self.engine {
            p.shutdown();
        }
        log::debug!(
            "I/O thread {} stopped with {} connections",
            self.index,
            self.conns.count()
        );
    }

    fn has_output(&mut self, slot: usize) -> bool {
        self.conns.by_slot(slot).is_some_and(|c| c.has_output())
    }
}
