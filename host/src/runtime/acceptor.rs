//! The listening sockets and the signal source, as one part of a mio poll.
//!
//! With `-t 0` the only thread polls these next to its connections; otherwise the main thread
//! polls them alone and hands accepted sockets to I/O threads round-robin. Either way the same
//! [`Acceptor`] accepts (TCP_NODELAY and SO_KEEPALIVE on every accepted socket) and turns pending
//! signals into [`SignalAction`]s.

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use signal_hook_mio::v1_0::Signals;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;

/// Wakes a poll for its mailbox.
pub const WAKER: Token = Token(usize::MAX - 1);
/// The signal pipe.
pub const SIGNALS: Token = Token(usize::MAX - 2);
/// Listener `i` is `Token(LISTENER_BASE + i)`; connection tokens are slab slots, far below.
const LISTENER_BASE: usize = usize::MAX / 2;

/// The signals the server handles (SIGPIPE is ignored by the Rust runtime already).
pub const HANDLED: [i32; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGUSR1, libc::SIGHUP];

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// SIGTERM, SIGINT: stop accepting, finish what is in flight, exit 0.
    Stop,
    /// SIGUSR1: stop listening, exit once no job is left.
    Graceful,
    /// SIGHUP: reopen the log file.
    ReopenLog,
}

/// What a poll event for the acceptor was.
pub enum AcceptEvent {
    /// Not one of the acceptor's tokens.
    NotMine,
    /// Connections accepted: (socket, peer, protocol index).
    Accepted(Vec<(TcpStream, SocketAddr, usize)>),
    /// Signals arrived.
    Signals(Vec<SignalAction>),
}

pub struct Acceptor {
    /// (listener, protocol index); emptied when listening stops.
    listeners: Vec<(TcpListener, usize)>,
    signals: Signals,
}

impl Acceptor {
    pub fn new(listeners: Vec<(std::net::TcpListener, usize)>, signals: Signals) -> Acceptor {
        let listeners = listeners
            .into_iter()
            .map(|(l, p)| (TcpListener::from_std(l), p))
            .collect();
        Acceptor { listeners, signals }
    }

    /// Registers every listener and the signal pipe.
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        for (i, (l, _)) in self.listeners.iter_mut().enumerate() {
            registry.register(l, Token(LISTENER_BASE + i), Interest::READABLE)?;
        }
        registry.register(&mut self.signals, SIGNALS, Interest::READABLE)
    }

    /// Handles a poll event if it is one of ours.
    pub fn on_event(&mut self, token: Token) -> AcceptEvent {
        if token == SIGNALS {
            return AcceptEvent::Signals(self.pending_signals());
        }
        if !self.owns(token) {
            return AcceptEvent::NotMine;
        }
        // A listener closed by graceful shutdown may still have an event in this round.
        let i = token.0 - LISTENER_BASE;
        if i < self.listeners.len() {
            AcceptEvent::Accepted(self.accept(i))
        } else {
            AcceptEvent::Accepted(Vec::new())
        }
    }

    /// True for a token this acceptor registered.
    pub fn owns(&self, token: Token) -> bool {
        token == SIGNALS || (token.0 >= LISTENER_BASE && token != WAKER)
    }

    fn accept(&mut self, i: usize) -> Vec<(TcpStream, SocketAddr, usize)> {
        let (listener, protocol) = &self.listeners[i];
        let mut out = Vec::new();
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if let Err(e) = prepare(&stream) {
                        log::warn!("socket options for {peer} failed: {e}");
                    }
                    out.push((stream, peer, *protocol));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: give up for this round; the next connect retries.
                    log::error!("accept failed: {e}");
                    break;
                }
            }
        }
        out
    }

    fn pending_signals(&mut self) -> Vec<SignalAction> {
        self.signals
            .pending()
            .filter_map(|s| match s {
                libc::SIGTERM | libc::SIGINT => Some(SignalAction::Stop),
                libc::SIGUSR1 => Some(SignalAction::Graceful),
                libc::SIGHUP => Some(SignalAction::ReopenLog),
                _ => None,
            })
            .collect()
    }

    /// Closes every listening socket (graceful shutdown: new connects are refused).
    pub fn stop_listening(&mut self, registry: &Registry) {
        for (mut l, _) in self.listeners.drain(..) {
            let _ = registry.deregister(&mut l);
        }
    }
}

fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    socket2::SockRef::from(stream).set_keepalive(true)
}
