//! One client connection inside an I/O thread: socket, codec, input and output buffers.
//!
//! Reading: the socket is read until `WouldBlock`; each chunk is decoded straight from the
//! thread's scratch buffer when nothing is left over, so the common case copies nothing; partial
//! requests wait in `input` for more bytes. Writing: responses are encoded into `output` and
//! written when the batch is done; only a write that would block registers interest in
//! WRITABLE, which is dropped again once everything is out.

use super::wire::{Decoded, WireCodec};
use crate::frame::Frame;
use crate::msg::{ConnId, ToEngine};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

/// What a read did to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadResult {
    /// Still open (possibly with output to send).
    Open,
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

/// Output buffers larger than this are released once flushed, so one big reply does not pin
/// memory for the connection's whole life.
const KEEP_OUTPUT: usize = 256 * 1024;

pub struct Conn {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub stream: TcpStream,
    codec: Box<dyn WireCodec>,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    /// Close as soon as `output` is flushed.
    pub closing: bool,
    /// WRITABLE is registered.
    wants_write: bool,
    /// Queued for a flush at the end of this round.
    pub dirty: bool,
}

impl Conn {
    pub fn new(id: ConnId, peer: SocketAddr, stream: TcpStream, codec: Box<dyn WireCodec>) -> Conn {
        Conn {
            id,
            peer,
            stream,
            codec,
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            closing: false,
            wants_write: false,
            dirty: false,
        }
    }

    /// True if bytes are waiting to be written.
    pub fn has_output(&self) -> bool {
        self.written < self.output.len()
    }

    /// Reads everything available and decodes it into `batch`.
    pub fn read(&mut self, scratch: &mut [u8], batch: &mut Vec<ToEngine>) -> ReadResult {
        if self.closing {
            return ReadResult::CloseAfterFlush;
        }
        loop {
            let n = match self.stream.read(scratch) {
                Ok(0) => return ReadResult::Gone,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadResult::Open,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("read from {:?} failed: {e}", self.id);
                    return ReadResult::Gone;
                }
            };
            if self.decode(&scratch[..n], batch) == Decoded::Close {
                self.closing = true;
                return ReadResult::CloseAfterFlush;
            }
        }
    }

    /// Decodes `chunk` after any leftover input; keeps what is not consumed.
    fn decode(&mut self, chunk: &[u8], batch: &mut Vec<ToEngine>) -> Decoded {
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
        d
    }

    /// Encodes one response into the output buffer.
    pub fn encode(&mut self, frame: &Frame) {
        if self.closing {
            return;
        }
        if self.codec.encode(frame, &mut self.output) == Decoded::Close {
            self.closing = true;
        }
    }

    /// Writes as much output as the socket takes; (re)registers WRITABLE as needed.
    pub fn flush(&mut self, registry: &Registry, token: Token) -> FlushResult {
        while self.has_output() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return FlushResult::Failed,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return self.want_write(registry, token, true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("write to {:?} failed: {e}", self.id);
                    return FlushResult::Failed;
                }
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

/// Connections of one I/O thread, keyed by slot (the mio token), with a generation per slot so
/// that a message for a connection that closed never reaches the next one in its slot.
pub struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

struct Slot {
    generation: u16,
    conn: Option<Conn>,
}

impl Slab {
    pub fn new() -> Slab {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// A free slot and its current generation.
    pub fn vacant(&mut self) -> (usize, u16) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                generation: 0,
                conn: None,
            });
            self.slots.len() - 1
        });
        (slot, self.slots[slot].generation)
    }

    /// Fills the slot handed out by [`Slab::vacant`].
    pub fn fill(&mut self, slot: usize, conn: Conn) {
        self.slots[slot].conn = Some(conn);
        self.live += 1;
    }

    /// Gives back a slot from [`Slab::vacant`] that was not filled.
    pub fn release(&mut self, slot: usize) {
        self.free.push(slot);
    }

    pub fn by_slot(&mut self, slot: usize) -> Option<&mut Conn> {
        self.slots.get_mut(slot)?.conn.as_mut()
    }

    /// The connection `id` names, unless it has closed since.
    pub fn by_id(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.slot())?;
        match &mut slot.conn {
            Some(c) if c.id == id => Some(c),
            _ => None,
        }
    }

    /// Takes the connection out and retires the slot's generation.
    pub fn remove(&mut self, slot: usize) -> Option<Conn> {
        let s = self.slots.get_mut(slot)?;
        let conn = s.conn.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
        Some(conn)
    }

    /// Open connections.
    pub fn count(&self) -> usize {
        self.live
    }

    /// Slots holding a connection.
    pub fn slots(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].conn.is_some())
            .collect()
    }
}

impl Default for Slab {
    fn default() -> Self {
        Slab::new()
    }
}
