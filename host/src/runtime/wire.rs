//! What the runtime needs from a protocol and from the job engine, as two small traits.
//!
//! The runtime moves bytes and messages; it does not care whether the codec is a loaded plugin or
//! whether the engine is the real one. Keeping these seams as traits lets the runtime's own tests
//! drive real sockets and threads with a tiny line protocol and an echo engine. A loaded protocol
//! plugin implements [`WireProtocol`] and [`WireCodec`] itself (`plugin/ffi/instances.rs`); the
//! engine's adapter is [`Core`] below.

use crate::engine::{Clock, Engine, Outbox};
use crate::frame::Frame;
use crate::msg::ToEngine;
pub use gearmand_plugin_api::Next;
use std::time::{Duration, Instant};

/// Where an encoded response goes. The connection's output buffer is one (bytes are appended);
/// the I/O thread's other one writes a large piece straight to an idle socket instead of copying
/// it first (runtime/direct.rs). A codec may hand over one response in several pieces.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A protocol: the port it listens on and a codec per connection.
pub trait WireProtocol: Send + Sync {
    /// `gear`, `http`: shown in logs and in the engine's connection info.
    fn name(&self) -> &'static str;
    /// Port number or service name; "0" = any free port.
    fn listen_port(&self) -> String;
    /// A codec for a new connection from `peer`; `None` refuses the connection.
    fn open(&self, peer: &str) -> Option<Box<dyn WireCodec>>;
}

/// Per-connection protocol state.
pub trait WireCodec: Send {
    /// Decodes whole requests from `input`, handing each to `on_request`; immediate replies (e.g.
    /// a protocol error) go to `out`. Returns the bytes consumed (the rest is offered again with
    /// more) and what happens to the connection next.
    fn decode(
        &mut self,
        input: &[u8],
        on_request: &mut dyn FnMut(Frame),
        out: &mut Vec<u8>,
    ) -> (usize, Next);
    /// Encodes one response into `out`; `Close` asks to close after flushing.
    fn encode(&mut self, frame: &Frame, out: &mut dyn Sink) -> Next;
    /// How long from now until [`WireCodec::timeout`] is due; `None` (the default) for none.
    /// Asked again after every call into the codec.
    fn deadline(&mut self) -> Option<Duration> {
        None
    }
    /// The deadline passed: last bytes go to `out`; `Close` ends the connection after a flush.
    fn timeout(&mut self, _out: &mut Vec<u8>) -> Next {
        Next::Continue
    }
}

/// The job engine as the runtime drives it.
pub trait Core: Send {
    fn handle(&mut self, msg: ToEngine, now: Clock, out: &mut Outbox);
    fn on_timers(&mut self, now: Clock, out: &mut Outbox);
    fn next_deadline(&self) -> Option<Instant>;
    fn job_count(&self) -> usize;
    fn shutdown(&mut self);
    /// Starts work off the processing thread (the queue's group commit); `wake` makes the
    /// runtime call [`Core::poll_background`] soon.
    fn start_background(&mut self, _wake: crate::engine::Wake) {}
    /// Takes the results of background work.
    fn poll_background(&mut self, _now: Clock, _out: &mut Outbox) {}
    /// With no job left, gives back memory the engine's tables grew to.
    fn release_memory(&mut self) {}
}

impl Core for Engine {
    fn handle(&mut self, msg: ToEngine, now: Clock, out: &mut Outbox) {
        Engine::handle(self, msg, now, out)
    }
    fn on_timers(&mut self, now: Clock, out: &mut Outbox) {
        Engine::on_timers(self, now, out)
    }
    fn next_deadline(&self) -> Option<Instant> {
        Engine::next_deadline(self)
    }
    fn job_count(&self) -> usize {
        Engine::job_count(self)
    }
    fn shutdown(&mut self) {
        Engine::shutdown(self)
    }
    fn start_background(&mut self, wake: crate::engine::Wake) {
        Engine::start_background(self, wake)
    }
    fn poll_background(&mut self, now: Clock, out: &mut Outbox) {
        Engine::poll_background(self, now, out)
    }
    fn release_memory(&mut self) {
        Engine::release_memory(self)
    }
}
