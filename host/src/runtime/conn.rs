//! One client connection inside an I/O thread: socket, transport (plain or TLS), codec, input and
//! output buffers, and the backpressure state.
//!
//! Reading: plaintext is read until `WouldBlock`, at most [`READ_BUDGET`] bytes per round so that
//! one busy client cannot starve the others; each chunk is decoded straight from the thread's
//! scratch buffer when nothing is left over, so the common case copies nothing; partial requests
//! wait in `input` for more bytes. Writing: responses are encoded into `output` and written when
//! the batch is done (a big payload may go out at once instead, see [`super::direct`]); only a
//! write that would block registers interest in WRITABLE, which is dropped again once everything
//! is out.
//!
//! Deadlines: the codec may ask to be called back at a time (an HTTP header timeout, say). The
//! connection keeps the codec's latest answer and the earliest entry it has in its thread's timer
//! heap; a new entry is needed only when the deadline moves earlier, so a deadline that keeps
//! moving later (an idle timer restarted by every request) costs no heap traffic.
//!
//! Backpressure: a connection with more than [`NetLimits::pause_at`] unsent bytes is not read
//! until its client reads enough (a client pipelining requests without reading replies is paused,
//! not buffered); one with more than [`NetLimits::max_output`] unsent bytes when another reply is
//! encoded is disconnected.

use super::direct::Direct;
use super::subject::subject;
use super::transport::{Fill, Push, Transport};
use super::wire::{Next, WireCodec};
use crate::config::AdminPolicy;
use crate::frame::Frame;
use crate::msg::{ConnId, ConnInfo, ToEngine};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::net::SocketAddr;
use std::time::Instant;

/// Plaintext bytes read from one connection per poll round before the others get their turn.
pub const READ_BUDGET: usize = 256 * 1024;

/// How far a read goes when the socket gives less than a full buffer.
///
/// Polling is edge-triggered: an event is raised whenever new bytes (or a FIN) arrive after the
/// last event was taken. So when a plain socket read returns fewer bytes than asked, the socket
/// was empty at that moment and anything arriving later raises a new event: the extra read that
/// would only return `WouldBlock` can be skipped — one syscall less per readable connection per
/// round. That is only true when the read follows a fresh readable event without a hang-up; a
/// resumed reader (bytes left behind while paused) or a hang-up must read until `WouldBlock`/EOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Stop after a short read (fresh readable event, no hang-up, plain transport).
    UntilShort,
    /// Read until `WouldBlock` or EOF.
    Drain,
}

/// What a read did to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadResult {
    /// Still open (possibly with output to send).
    Open,
    /// The read budget ran out with bytes still waiting: read again next round.
    MoreToRead,
    /// Too much output is unsent: not read again until it drains.
    Paused,
    /// Close once the output is flushed (the codec asked to).
    CloseAfterFlush,
    /// The peer closed or the socket failed: close now.
    Gone,
}

/// What a flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushResult {
    /// Everything written.
    Done,
    /// The socket is full; WRITABLE is registered.
    Pending,
    /// The socket failed.
    Failed,
}

/// What encoding a reply into the output buffer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffered {
    /// Encoded (or dropped because the connection is closing anyway).
    Ok,
    /// The connection already had more than `max_output` unsent bytes: disconnect it.
    OverLimit,
}

/// What a due timer entry did to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Nothing due (a stale entry, or the deadline moved); re-arm at this instant, if given.
    Rearm(Option<Instant>),
    /// The codec's timeout ran; the connection may have output, or be `closing`.
    Fired,
}

/// Per-connection output limits (`--max-output-buffer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// Unsent bytes past which a new reply disconnects the connection.
    pub max_output: usize,
    /// Unsent bytes past which the connection is not read.
    pub pause_at: usize,
}

impl NetLimits {
    /// Limits for `--max-output-buffer N` (0 = no limit): reading pauses at 1 MiB or half of N.
    pub fn new(max_output: u64) -> NetLimits {
        let max_output = match max_output {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        NetLimits {
            max_output,
            pause_at: (max_output / 2).clamp(1, 1 << 20),
        }
    }
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits::new(crate::config::Limits::default().max_output)
    }
}

/// Output buffers larger than this are released once flushed, so one big reply does not pin
/// memory for the connection's whole life.
const KEEP_OUTPUT: usize = 256 * 1024;

pub struct Conn {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub stream: TcpStream,
    transport: Transport,
    codec: Box<dyn WireCodec>,
    /// What the engine is told once the connection is usable (after a TLS handshake); `None`
    /// once told.
    pending_open: Option<ConnInfo>,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    /// Close as soon as `output` is flushed.
    pub closing: bool,
    /// Not read until its output drains below `pause_at`.
    pub paused: bool,
    /// WRITABLE is registered.
    wants_write: bool,
    /// Listed for a flush at the end of this round.
    pub dirty: bool,
    /// The codec's deadline, as last asked.
    deadline: Option<Instant>,
    /// The earliest entry for this connection in the thread's timer heap.
    armed: Option<Instant>,
}

impl Conn {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        stream: TcpStream,
        transport: Transport,
        codec: Box<dyn WireCodec>,
        info: ConnInfo,
    ) -> Conn {
        Conn {
            id,
            peer,
            stream,
            transport,
            codec,
            pending_open: Some(info),
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            closing: false,
            paused: false,
            wants_write: false,
            dirty: false,
            deadline: None,
            armed: None,
        }
    }

    /// Asks the codec for its deadline; returns an instant to add to the timer heap when no
    /// entry at or before it is pending.
    pub fn ask_deadline(&mut self) -> Option<Instant> {
        self.deadline = match self.closing {
            true => None,
            false => self
                .codec
                .deadline()
                .and_then(|d| Instant::now().checked_add(d)),
        };
        self.arm_needed()
    }

    fn arm_needed(&mut self) -> Option<Instant> {
        let d = self.deadline?;
        if self.armed.is_some_and(|a| a <= d) {
            return None;
        }
        self.armed = Some(d);
        Some(d)
    }

    /// The timer heap entry `at` is due at `now`: runs the codec's timeout if its deadline has
    /// come, else says when to look again.
    pub fn on_timer(&mut self, at: Instant, now: Instant) -> Timer {
        if self.armed == Some(at) {
            self.armed = None;
        }
        match self.deadline {
            Some(d) if d <= now && !self.closing => {
                self.deadline = None;
                if self.codec.timeout(&mut self.output) == Next::Close {
                    self.closing = true;
                }
                Timer::Fired
            }
            _ => Timer::Rearm(self.arm_needed()),
        }
    }

    /// True if bytes (plaintext or TLS records) are waiting to be written.
    pub fn has_output(&self) -> bool {
        self.written < self.output.len() || self.transport.wants_write()
    }

    /// Plaintext bytes buffered but not yet handed to the socket or the TLS session.
    pub fn unsent(&self) -> usize {
        self.output.len() - self.written
    }

    /// True once the engine has been told about this connection.
    pub fn announced(&self) -> bool {
        self.pending_open.is_none()
    }

    /// Tells the engine about the connection as soon as it is usable (plain: at once; TLS: once
    /// the handshake is done), with the admin rights its address and certificate give it.
    pub fn announce(&mut self, batch: &mut Vec<ToEngine>, admin: &AdminPolicy) {
        if self.pending_open.is_none() || self.transport.handshaking() {
            return;
        }
        let subject = self
            .transport
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| subject(leaf));
        if let Some(s) = &subject {
            log::info!("TLS client {} presented {s}", self.peer);
        }
        if let Some(mut info) = self.pending_open.take() {
            info.admin = admin.rights(self.peer.ip(), subject.as_deref());
            batch.push(ToEngine::Opened(self.id, info));
        }
    }

    /// Reads what is available (within the round's budget) and decodes it into `batch`.
    pub fn read(
        &mut self,
        scratch: &mut [u8],
        batch: &mut Vec<ToEngine>,
        lim: &NetLimits,
        admin: &AdminPolicy,
        mode: ReadMode,
    ) -> ReadResult {
        // TLS may hold decrypted plaintext beyond what one read returns: always drain it.
        let stop_short = mode == ReadMode::UntilShort && matches!(self.transport, Transport::Plain);
        if self.closing {
            return ReadResult::CloseAfterFlush;
        }
        let mut budget = READ_BUDGET;
        loop {
            if self.unsent() >= lim.pause_at {
                self.paused = true;
                return ReadResult::Paused;
            }
            if budget == 0 {
                return ReadResult::MoreToRead;
            }
            let n = match self.transport.read(&mut self.stream, scratch) {
                Fill::Data(n) => n,
                Fill::WouldBlock => {
                    self.announce(batch, admin);
                    return ReadResult::Open;
                }
                Fill::Eof => return ReadResult::Gone,
                Fill::Failed(e) => {
                    log::debug!("read from {} failed: {e}", self.peer);
                    return ReadResult::Gone;
                }
                Fill::Rejected(e) => {
                    log::warn!("TLS refused for {}: {e}; connection closed", self.peer);
                    self.transport.goodbye(&mut self.stream);
                    return ReadResult::Gone;
                }
            };
            budget = budget.saturating_sub(n);
            self.announce(batch, admin);
            if self.decode(&scratch[..n], batch) == Next::Close {
                self.closing = true;
                return ReadResult::CloseAfterFlush;
            }
            if stop_short && n < scratch.len() {
                // The socket is empty for now; the next arrival raises a new event.
                return ReadResult::Open;
            }
        }
    }

    /// Decodes `chunk` after any leftover input; keeps what is not consumed.
    fn decode(&mut self, chunk: &[u8], batch: &mut Vec<ToEngine>) -> Next {
        let id = self.id;
        let mut push = |f: Frame| batch.push(ToEngine::Request(id, f));
        if self.input.is_empty() {
            let (used, d) = self.codec.decode(chunk, &mut push, &mut self.output);
            self.input
                .extend_from_slice(&chunk[used.min(chunk.len())..]);
            return d;
        }
        self.input.extend_from_slice(chunk);
        let (used, d) = self.codec.decode(&self.input, &mut push, &mut self.output);
        self.input.drain(..used.min(self.input.len()));
        if self.input.is_empty() && self.input.capacity() > KEEP_OUTPUT {
            // A large request passed through: do not keep its buffer for the connection's life.
            self.input = Vec::new();
        }
        d
    }

    /// Encodes one response into the output buffer, unless too much is unsent already.
    pub fn encode(&mut self, frame: &Frame, lim: &NetLimits) -> Buffered {
        if self.closing {
            return Buffered::Ok;
        }
        if self.unsent() > lim.max_output {
            return Buffered::OverLimit;
        }
        // A socket known to be full (WRITABLE registered) would refuse a direct write anyway;
        // TLS has to encrypt everything through its session.
        let decoded = if matches!(self.transport, Transport::Plain) && !self.wants_write {
            let mut sink = Direct::new(&mut self.output, &mut self.written, &mut self.stream);
            self.codec.encode(frame, &mut sink)
        } else {
            self.codec.encode(frame, &mut self.output)
        };
        if decoded == Next::Close {
            self.closing = true;
        }
        Buffered::Ok
    }

    /// Writes as much output as the socket takes; (re)registers WRITABLE as needed.
    pub fn flush(&mut self, registry: &Registry, token: Token) -> FlushResult {
        loop {
            match self.transport.flush_records(&mut self.stream) {
                Push::Took(_) => {}
                Push::WouldBlock => return self.want_write(registry, token, true),
                Push::Failed(e) => return self.write_failed(e),
            }
            if self.written >= self.output.len() {
                break;
            }
            match self
                .transport
                .write(&mut self.stream, &self.output[self.written..])
            {
                Push::Took(0) if !self.transport.wants_write() => {
                    // TLS mid-handshake: the plaintext waits; the handshake's reads flush again.
                    return match self.want_write(registry, token, false) {
                        FlushResult::Failed => FlushResult::Failed,
                        _ => FlushResult::Pending,
                    };
                }
                Push::Took(n) => self.written += n,
                Push::WouldBlock => return self.want_write(registry, token, true),
                Push::Failed(e) => return self.write_failed(e),
            }
        }
        self.output.clear();
        self.written = 0;
        if self.output.capacity() > KEEP_OUTPUT {
            self.output = Vec::new();
        }
        match self.want_write(registry, token, false) {
            FlushResult::Failed => FlushResult::Failed,
            _ => FlushResult::Done,
        }
    }

    fn write_failed(&self, e: std::io::Error) -> FlushResult {
        log::debug!("write to {} failed: {e}", self.peer);
        FlushResult::Failed
    }

    /// Best effort before the socket is dropped (TLS close_notify).
    pub fn goodbye(&mut self) {
        self.transport.goodbye(&mut self.stream);
    }

    fn want_write(&mut self, registry: &Registry, token: Token, want: bool) -> FlushResult {
        if self.wants_write != want {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut self.stream, token, interest)
                .is_err()
            {
                return FlushResult::Failed;
            }
            self.wants_write = want;
        }
        if want {
            FlushResult::Pending
        } else {
            FlushResult::Done
        }
    }
}
