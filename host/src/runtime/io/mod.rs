//! An I/O thread: a mio poll over its connections, and with `-t 0` the listeners and signals too.
//!
//! One round: poll; read every readable connection until `WouldBlock`, decoding into one batch;
//! apply what arrived in the mailbox (new connections, engine answers); flush every connection
//! that got output; then hand the batch to the engine — one channel send (processing thread) or
//! a direct call (engine inline with `-t 0`/`-t 1`). The poll looks for a while before it
//! sleeps ([`spin`](super::spin)). Signals, engine control and the final flush when the thread
//! stops: [`stopping`].

mod stopping;

use super::acceptor::{AcceptEvent, Acceptor, WAKER};
use super::conn::{Buffered, Conn, FlushResult, NetLimits, ReadMode, ReadResult, Timer};
use super::processor::{EngineMsg, Processor};
use super::slab::Slab;
use super::spin;
use super::threads::{IoMsg, MainHandle};
use super::tls::TlsAcceptor;
use super::transport::Transport;
use super::wire::WireProtocol;
use crate::config::AdminPolicy;
use crate::msg::{AdminRights, ConnId, ConnInfo, ToEngine, ToIo};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The read buffer every connection of the thread shares. Large enough that a 64 KiB job
/// (header included) usually arrives in one read and is decoded straight from here, instead of
/// taking two reads and a copy through the connection's leftover buffer; one per thread, so
/// idle connections cost nothing for it.
const SCRATCH: usize = 256 * 1024;
/// Where in its allocation the read buffer starts. glibc serves a buffer this large with its own
/// `mmap`, so it would start 16 bytes into a page, which is also where the kernel's copy of a
/// received segment tends to read from: source and destination would share their offset within
/// a page, and the copy runs several times slower then (4 KiB aliasing between loads and
/// stores). Half a page further in, they never do (docs/performance.md).
const SCRATCH_SKEW: usize = 2048;

/// What every I/O thread shares: the protocols (by listener index), TLS, and the limits.
pub struct NetSetup {
    pub protocols: Vec<Arc<dyn WireProtocol>>,
    /// `--ssl`: every accepted connection starts a TLS handshake.
    pub tls: Option<TlsAcceptor>,
    pub limits: NetLimits,
    /// Admin rights per connection (`--admin-*`).
    pub admin: AdminPolicy,
    /// `--spin-us`: how long a thread looks for more work before it sleeps ([`spin`]).
    pub spin: Duration,
}

/// Where this thread's requests go.
pub enum EngineSide {
    /// To the processing thread.
    Remote(Sender<EngineMsg>),
    /// Handled right here.
    Inline(Processor),
}

pub struct IoThread {
    index: u16,
    poll: Poll,
    conns: Slab,
    inbox: Receiver<IoMsg>,
    net: Arc<NetSetup>,
    engine: EngineSide,
    /// The main thread, when it is not this one (`-t 1`): engine control goes there.
    main: Option<MainHandle>,
    /// Listeners and signals when this is the only thread (`-t 0`).
    acceptor: Option<Acceptor>,
    batch: Vec<ToEngine>,
    scratch: Vec<u8>,
    dirty: Vec<usize>,
    /// Connections to read again next round (budget used up, or resumed after a pause).
    again: Vec<usize>,
    /// Codec deadlines (e.g. the HTTP header timeout), earliest first. Entries of closed
    /// connections or of moved deadlines are skipped when they come due (conn.rs).
    deadlines: BinaryHeap<Reverse<(Instant, ConnId)>>,
    stopping: bool,
    drained_reported: bool,
}

impl IoThread {
    /// A thread around `poll`, whose waker (token [`WAKER`]) belongs to `inbox`'s senders.
    pub fn new(
        index: u16,
        poll: Poll,
        inbox: Receiver<IoMsg>,
        net: Arc<NetSetup>,
        engine: EngineSide,
        main: Option<MainHandle>,
        acceptor: Option<Acceptor>,
    ) -> IoThread {
        IoThread {
            index,
            poll,
            conns: Slab::new(),
            inbox,
            net,
            engine,
            main,
            acceptor,
            batch: Vec::new(),
            scratch: vec![0; SCRATCH + SCRATCH_SKEW],
            dirty: Vec::new(),
            again: Vec::new(),
            deadlines: BinaryHeap::new(),
            stopping: false,
            drained_reported: false,
        }
    }

    /// Runs until stopped.
    pub fn run(mut self) {
        if let Some(a) = &mut self.acceptor {
            if let Err(e) = a.register(self.poll.registry()) {
                log::error!("cannot poll the listening sockets: {e}");
                self.stopping = true;
            }
        }
        let mut events = Events::with_capacity(1024);
        while !self.stopping {
            let timeout = self.timeout();
            if let Err(e) = spin::poll(&mut self.poll, &mut events, timeout, self.net.spin) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("poll failed: {e}");
                break;
            }
            for slot in std::mem::take(&mut self.again) {
                self.read(slot, ReadMode::Drain);
            }
            for ev in events.iter() {
                self.on_event(ev);
            }
            self.fire_deadlines();
            self.retry_accept();
            self.drain_inbox();
            self.dispatch();
        }
        self.finish();
    }

    fn timeout(&self) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let engine = match &self.engine {
            EngineSide::Inline(p) => p.next_deadline(),
            EngineSide::Remote(_) => None,
        };
        let accept = self.acceptor.as_ref().and_then(Acceptor::retry_at);
        let conn = self.deadlines.peek().map(|Reverse((at, _))| *at);
        let due = [engine, accept, conn].into_iter().flatten().min();
        due.map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn on_event(&mut self, ev: &mio::event::Event) {
        let token = ev.token();
        if token == WAKER {
            return;
        }
        if let Some(a) = &mut self.acceptor {
            match a.on_event(token) {
                AcceptEvent::NotMine => {}
                AcceptEvent::Accepted(list) => {
                    for (stream, peer, protocol) in list {
                        self.add(stream, peer, protocol);
                    }
                    return;
                }
                AcceptEvent::Signals(list) => {
                    list.into_iter().for_each(|s| self.on_signal(s));
                    return;
                }
            }
        }
        let slot = token.0;
        if ev.is_read_closed() || ev.is_error() {
            self.read(slot, ReadMode::Drain);
        } else if ev.is_readable() {
            self.read(slot, ReadMode::UntilShort);
        }
        if ev.is_writable() {
            self.mark_dirty(slot);
        }
    }

    fn read(&mut self, slot: usize, mode: ReadMode) {
        let Some(conn) = self.conns.by_slot(slot) else {
            return;
        };
        let net = &self.net;
        let result = conn.read(
            &mut self.scratch[SCRATCH_SKEW..],
            &mut self.batch,
            &net.limits,
            &net.admin,
            mode,
        );
        let has_output = conn.has_output();
        match result {
            ReadResult::Gone => return self.close(slot),
            ReadResult::MoreToRead => self.again.push(slot),
            ReadResult::Open | ReadResult::Paused | ReadResult::CloseAfterFlush => {}
        }
        self.arm(slot);
        if has_output || result == ReadResult::CloseAfterFlush {
            self.mark_dirty(slot);
        }
    }

    /// The acceptor's retry after running out of descriptors (`-t 0`).
    fn retry_accept(&mut self) {
        let Some(a) = &mut self.acceptor else {
            return;
        };
        if a.retry_at().is_some_and(|t| t <= Instant::now()) {
            for (stream, peer, protocol) in a.retry() {
                self.add(stream, peer, protocol);
            }
        }
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(c) = self.conns.by_slot(slot) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(slot);
            }
        }
    }

    /// Takes a new connection into the slab and tells the engine (a TLS one once its handshake
    /// is done).
    fn add(&mut self, mut stream: TcpStream, peer: SocketAddr, protocol: usize) {
        let Some(proto) = self.net.protocols.get(protocol).cloned() else {
            return;
        };
        let transport = match &self.net.tls {
            None => Transport::Plain,
            Some(tls) => match tls.session() {
                Ok(s) => Transport::Tls(Box::new(s)),
                Err(e) => {
                    log::error!("cannot start TLS for {peer}: {e}");
                    return;
                }
            },
        };
        let (slot, generation) = self.conns.vacant();
        let id = ConnId::new(self.index, slot as u32, generation);
        let Some(codec) = proto.open(&peer.to_string()) else {
            log::warn!("{} refused the connection from {peer}", proto.name());
            self.conns.release(slot);
            return;
        };
        let registry = self.poll.registry();
        if let Err(e) = registry.register(&mut stream, Token(slot), Interest::READABLE) {
            log::error!("cannot poll the connection from {peer}: {e}");
            self.conns.release(slot);
            return;
        }
        log::info!("accepted connection from {peer} ({})", proto.name());
        let info = ConnInfo {
            peer,
            fd: stream.as_raw_fd(),
            protocol: proto.name(),
            // Decided when the connection is announced (after a TLS handshake).
            admin: AdminRights::compatible(peer.ip()),
        };
        let mut conn = Conn::new(id, peer, stream, transport, codec, info);
        conn.announce(&mut self.batch, &self.net.admin);
        self.conns.fill(slot, conn);
        self.arm(slot);
    }

    /// Asks connection `slot`'s codec for its deadline and adds a timer entry if needed.
    fn arm(&mut self, slot: usize) {
        let Some(conn) = self.conns.by_slot(slot) else {
            return;
        };
        if let Some(at) = conn.ask_deadline() {
            self.deadlines.push(Reverse((at, conn.id)));
        }
    }

    /// Runs the codec timeout of every connection whose deadline has come (a stalled HTTP
    /// client gets its `408` and is closed after the flush).
    fn fire_deadlines(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, id))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(conn) = self.conns.by_id(id) else {
                continue; // closed since
            };
            match conn.on_timer(at, now) {
                Timer::Rearm(Some(next)) => self.deadlines.push(Reverse((next, id))),
                Timer::Rearm(None) => {}
                Timer::Fired => {
                    log::info!("connection from {} timed out", conn.peer);
                    self.mark_dirty(id.slot());
                    self.arm(id.slot());
                }
            }
        }
    }

    /// Closes a connection now and tells the engine.
    fn close(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns.remove(slot) {
            conn.goodbye();
            let _ = self.poll.registry().deregister(&mut conn.stream);
            log::info!("closed connection from {}", conn.peer);
            // The engine never heard of a TLS connection whose handshake did not finish.
            if conn.announced() {
                self.batch.push(ToEngine::Closed(conn.id));
            }
        }
    }

    fn drain_inbox(&mut self) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                IoMsg::Accepted {
                    stream,
                    peer,
                    protocol,
                } => self.add(stream, peer, protocol),
                IoMsg::Batch(msgs) => self.apply(msgs),
                IoMsg::Graceful => self.begin_graceful(),
                IoMsg::Stop => self.stopping = true,
            }
        }
    }

    /// Encodes the engine's answers; messages for closed connections are dropped.
    fn apply(&mut self, msgs: Vec<ToIo>) {
        for m in msgs {
            let id = match &m {
                ToIo::Send(id, _) | ToIo::Close(id) => *id,
            };
            let Some(conn) = self.conns.by_id(id) else {
                continue;
            };
            let buffered = match m {
                ToIo::Send(_, frame) => conn.encode(&frame, &self.net.limits),
                ToIo::Close(_) => {
                    conn.closing = true;
                    Buffered::Ok
                }
            };
            if buffered == Buffered::OverLimit {
                log::warn!(
                    "disconnecting {}: {} reply bytes unsent, over --max-output-buffer",
                    conn.peer,
                    conn.unsent()
                );
                self.close(id.slot());
                continue;
            }
            self.mark_dirty(id.slot());
        }
    }

    /// Writes out every connection that got output; closes those that asked to once flushed.
    fn flush_dirty(&mut self) {
        for slot in std::mem::take(&mut self.dirty) {
            let registry = self.poll.registry();
            let Some(conn) = self.conns.by_slot(slot) else {
                continue;
            };
            conn.dirty = false;
            // Everything that made it dirty (encoded replies, decoded requests) may have moved
            // its codec's deadline; asked once per round, not per reply.
            if let Some(at) = conn.ask_deadline() {
                self.deadlines.push(Reverse((at, conn.id)));
            }
            match conn.flush(registry, Token(slot)) {
                FlushResult::Failed => self.close(slot),
                FlushResult::Done if conn.closing => self.close(slot),
                FlushResult::Done | FlushResult::Pending => {
                    // A paused reader whose client caught up is read again (edge-triggered poll:
                    // the bytes it left in the socket raise no new event).
                    if conn.paused && conn.unsent() < self.net.limits.pause_at {
                        conn.paused = false;
                        self.again.push(slot);
                    }
                }
            }
        }
    }

    /// Flushes, then hands the batch to the engine; inline, applies its answers right away.
    fn dispatch(&mut self) {
        // Bounded: closing a connection after a flush feeds a Closed back, which may answer.
        for _ in 0..8 {
            self.flush_dirty();
            let p = match &mut self.engine {
                EngineSide::Remote(tx) => {
                    if !self.batch.is_empty() {
                        let _ = tx.send(EngineMsg::Batch(std::mem::take(&mut self.batch)));
                    }
                    return;
                }
                EngineSide::Inline(p) => p,
            };
            p.handle(self.batch.drain(..));
            p.timers();
            let (msgs, control) = p.take();
            if let Some(c) = control {
                self.on_control(c);
            }
            // After on_control: an admin graceful shutdown with no job left ends at once.
            if matches!(&self.engine, EngineSide::Inline(p) if p.drained()) {
                self.on_drained();
            }
            if msgs.is_empty() && self.dirty.is_empty() && self.batch.is_empty() {
                return;
            }
            self.apply(msgs);
        }
        // Bound reached (a long chain of closes): still write out what was applied last.
        self.flush_dirty();
    }
}
