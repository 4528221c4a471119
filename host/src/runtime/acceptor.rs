//! The listening sockets and the signal source, as one part of a mio poll.
//!
//! With `-t 0` the only thread polls these next to its connections; otherwise the main thread
//! polls them alone and hands accepted sockets to I/O threads round-robin. Either way the same
//! [`Acceptor`] accepts (TCP_NODELAY and SO_KEEPALIVE on every accepted socket) and turns pending
//! signals into [`SignalAction`]s.
//!
//! Running out of descriptors (EMFILE/ENFILE, `-f`): the pending connection stays in the
//! backlog and the poll would not report the listener again (edge-triggered), so the acceptor
//! backs off (50 ms doubling to 1 s) and retries on a timer ([`Acceptor::retry_at`]) until
//! descriptors free up. The failure is logged once per [`FD_LOG_INTERVAL`] with a count, not once
//! per attempt like the original.

use super::listen::apply_keepalive;
use crate::config::Keepalive;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use signal_hook_mio::v1_0::Signals;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// At most one "out of descriptors" log line per this interval.
pub const FD_LOG_INTERVAL: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

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

/// Out-of-descriptor state: when to retry, and what to log.
#[derive(Debug, Default)]
struct Starved {
    /// Set while accept() is failing for lack of resources.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// When the last log line was written, and failures since.
    logged_at: Option<Instant>,
    unlogged: u64,
    /// Failures since the last successful accept.
    total: u64,
}

impl Starved {
    fn failed(&mut self, e: &io::Error) {
        let now = Instant::now();
        self.backoff = (self.backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
        self.retry_at = Some(now + self.backoff);
        self.total += 1;
        self.unlogged += 1;
        if self
            .logged_at
            .is_none_or(|t| now.duration_since(t) >= FD_LOG_INTERVAL)
        {
            log::error!(
                "accept failed: {e} ({} failures in the last {} s; retrying with backoff)",
                self.unlogged,
                FD_LOG_INTERVAL.as_secs()
            );
            self.logged_at = Some(now);
            self.unlogged = 0;
        }
    }

    fn recovered(&mut self) {
        if self.total > 0 {
            log::warn!("accepting again after {} failed attempts", self.total);
        }
        self.retry_at = None;
        self.backoff = Duration::ZERO;
        self.total = 0;
        self.unlogged = 0;
    }
}

pub struct Acceptor {
    /// (listener, protocol index); emptied when listening stops.
    listeners: Vec<(TcpListener, usize)>,
    signals: Signals,
    keepalive: Keepalive,
    starved: Starved,
}

impl Acceptor {
    pub fn new(
        listeners: Vec<(std::net::TcpListener, usize)>,
        signals: Signals,
        keepalive: Keepalive,
    ) -> Acceptor {
        let listeners = listeners
            .into_iter()
            .map(|(l, p)| (TcpListener::from_std(l), p))
            .collect();
        Acceptor {
            listeners,
            signals,
            keepalive,
            starved: Starved::default(),
        }
    }

    /// When to call [`Acceptor::retry`], while descriptors are short.
    pub fn retry_at(&self) -> Option<Instant> {
        self.starved.retry_at
    }

    /// Accepts on every listener again (after running out of descriptors).
    pub fn retry(&mut self) -> Vec<(TcpStream, SocketAddr, usize)> {
        self.starved.retry_at = None;
        let mut out = Vec::new();
        for i in 0..self.listeners.len() {
            out.extend(self.accept(i));
        }
        out
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
                    self.starved.recovered();
                    if let Err(e) = prepare(&stream, &self.keepalive) {
                        log::warn!("socket options for {peer} failed: {e}");
                    }
                    out.push((stream, peer, *protocol));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_resource_shortage(&e) => {
                    self.starved.failed(&e);
                    break;
                }
                // The peer gave up before we accepted: try the next one.
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    log::warn!("accept failed: {e}");
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

/// Errors that mean "no descriptor or memory for a new socket": back off and retry.
fn is_resource_shortage(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// TCP_NODELAY, SO_KEEPALIVE always (as the original), and the `--keepalive-*` timings.
fn prepare(stream: &TcpStream, keepalive: &Keepalive) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let sock = socket2::SockRef::from(stream);
    sock.set_keepalive(true)?;
    if keepalive.enabled {
        apply_keepalive(&sock, keepalive)?;
    }
    Ok(())
}
