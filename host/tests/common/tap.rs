//! A recording proxy between a real client library and the server under test, so a test can see
//! which packets the library really received (and await what it sent) without trusting its
//! output alone.
//!
//! Included with `#[path = "common/tap.rs"] mod tap;` beside `mod common;`. The library connects
//! to [`Tap::port`]; every connection is forwarded to the server byte for byte, and each binary
//! packet in either direction is recorded with the connection's number (in accept order).
//! [`Tap::hold`] keeps what the server sends back from the library (recorded, not yet passed on)
//! until [`Tap::release`], so a test can change the server's state between a packet and the
//! library's answer to it (a NOOP whose job another worker takes first, say).

#![allow(dead_code)]

use crate::common::wait_for;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One packet that went through the tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The proxied connection (0 for the first accepted).
    pub conn: usize,
    /// True for server → library, false for library → server.
    pub to_peer: bool,
    pub ptype: u32,
    pub body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;
/// Whether server → library bytes are held back, and its change signal.
type Gate = Arc<(Mutex<bool>, Condvar)>;

/// The proxy: accepts on a loopback port of its own until dropped.
pub struct Tap {
    port: u16,
    log: Log,
    gate: Gate,
    stop: Arc<AtomicBool>,
}

impl Tap {
    /// Starts forwarding connections on a fresh port to `127.0.0.1:server_port`.
    pub fn start(server_port: u16) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tap");
        let port = listener.local_addr().unwrap().port();
        let (log, gate, stop) = (Log::default(), Gate::default(), Arc::default());
        let (l, g, s) = (Arc::clone(&log), Arc::clone(&gate), Arc::clone(&stop));
        std::thread::spawn(move || accept(listener, server_port, &l, &g, &s));
        Tap {
            port,
            log,
            gate,
            stop,
        }
    }

    /// From now on, keep what the server sends (it is still recorded).
    pub fn hold(&self) {
        *self.gate.0.lock().unwrap() = true;
    }

    /// Pass on what was held, and everything after it.
    pub fn release(&self) {
        *self.gate.0.lock().unwrap() = false;
        self.gate.1.notify_all();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every packet so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Types of the packets the server sent to the library, in order, on all connections.
    pub fn received(&self) -> Vec<u32> {
        self.seen()
            .into_iter()
            .filter(|p| p.to_peer)
            .map(|p| p.ptype)
            .collect()
    }

    /// Waits until `n` packets of type `ptype` went the way `to_peer` says (to the library, or
    /// from it; then the server may not have the last one yet).
    #[track_caller]
    pub fn await_count(&self, to_peer: bool, ptype: u32, n: usize) {
        let what = format!("{n} packet(s) of type {ptype} (to the library: {to_peer})");
        wait_for(&what, Duration::from_secs(20), || {
            let seen = self.seen();
            seen.iter()
                .filter(|p| p.to_peer == to_peer && p.ptype == ptype)
                .count()
                >= n
        });
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept(listener: TcpListener, server_port: u16, log: &Log, gate: &Gate, stop: &AtomicBool) {
    for (n, peer) in listener.incoming().enumerate() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(peer) = peer else { continue };
        let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
            continue;
        };
        let _ = (peer.set_nodelay(true), server.set_nodelay(true));
        let (p2, s2) = (peer.try_clone().unwrap(), server.try_clone().unwrap());
        let (l1, l2, g) = (Arc::clone(log), Arc::clone(log), Arc::clone(gate));
        std::thread::spawn(move || pump(peer, server, n, None, &l1));
        std::thread::spawn(move || pump(s2, p2, n, Some(&g), &l2));
    }
}

/// Copies `from` to `to` until EOF, recording every complete binary packet; then half-closes
/// `to` so the other side sees the end too. `gate` is the hold of server → library bytes.
fn pump(mut from: TcpStream, mut to: TcpStream, conn: usize, gate: Option<&Gate>, log: &Log) {
    let to_peer = gate.is_some();
    let mut buf = [0u8; 65536];
    let mut pending = Vec::new();
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        // Recorded before it is passed on: once the library has it, the log has it.
        pending.extend_from_slice(&buf[..n]);
        record(&mut pending, conn, to_peer, log);
        if let Some(g) = gate {
            let (held, changed) = &**g;
            let guard = held.lock().unwrap();
            drop(changed.wait_while(guard, |h| *h).unwrap());
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Moves every complete `\0REQ` / `\0RES` packet at the front of `pending` into the log; admin
/// text (which no matrix library sends) is dropped up to its line end.
fn record(pending: &mut Vec<u8>, conn: usize, to_peer: bool, log: &Log) {
    loop {
        if pending.first().is_some_and(|b| *b != 0) {
            match pending.iter().position(|b| *b == b'\n') {
                Some(i) => drop(pending.drain(..=i)),
                None => return,
            }
            continue;
        }
        if pending.len() < 12 {
            return;
        }
        let len = u32::from_be_bytes(pending[8..12].try_into().unwrap()) as usize;
        if pending.len() < 12 + len {
            return;
        }
        let ptype = u32::from_be_bytes(pending[4..8].try_into().unwrap());
        let body = pending[12..12 + len].to_vec();
        pending.drain(..12 + len);
        log.lock().unwrap().push(Seen {
            conn,
            to_peer,
            ptype,
            body,
        });
    }
}
