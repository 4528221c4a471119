//! Hostile clients against the real binary while well-behaved clients and workers keep working.
//!
//! Attackers open many connections and send random bytes, truncated packets, huge length headers,
//! valid packets in the wrong state (WORK_COMPLETE for jobs they do not hold, GRAB_JOB without
//! CAN_DO, WORK_* for made-up handles), admin noise, slow partial headers, and pipelined requests
//! they never read the answers to. Meanwhile clients submit jobs that workers run and check every
//! result. The test asserts the server stays up, its RSS stays bounded, every good job completes
//! with the right result, and a fresh client is served at the end. Loops are bounded in count and
//! time; the random seed is printed so a failure can be replayed (`HOSTILE_SEED=<n>`).

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::gear::frame_req;
use common::{ptype, start, Conn, Kind, Server};
use hardening::rss_kib;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GOOD_CLIENTS: usize = 2;
/// Each good client runs at least this many jobs, and keeps going for at least [`MIN_RUN`]
/// (at most [`MAX_JOBS_PER_CLIENT`]).
const JOBS_PER_CLIENT: usize = 150;
const MAX_JOBS_PER_CLIENT: usize = 20_000;
const MIN_RUN: Duration = Duration::from_secs(8);
const WORKERS: usize = 2;
const ATTACKERS: usize = 4;
/// Hard bound on the whole run.
const DEADLINE: Duration = Duration::from_secs(90);
/// Connections each attacker keeps open at most.
const HELD_PER_ATTACKER: usize = 40;
/// How much the server's RSS may grow over its idle size.
const RSS_BUDGET_KIB: u64 = 160 * 1024;

/// xorshift64*: enough randomness for attacks, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn seed() -> u64 {
    std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

fn header(t: u32, len: u32) -> Vec<u8> {
    let mut h = b"\0REQ".to_vec();
    h.extend_from_slice(&t.to_be_bytes());
    h.extend_from_slice(&len.to_be_bytes());
    h
}

/// Connects with short timeouts; `None` if the server is busy refusing (counts as an attempt).
fn raw(port: u16) -> Option<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    Some(s)
}

/// One attack on a new connection; the connection is returned if it should be held open.
/// `recent` is about the newest job handle number, so that forged WORK_* packets hit jobs good
/// workers are running right now.
fn attack(rng: &mut Rng, port: u16, recent: u64) -> Option<TcpStream> {
    let mut s = raw(port)?;
    let handle = format!("{}:{}", common::PREFIX, recent + rng.below(4));
    match rng.below(10) {
        // Random bytes, maybe starting with a NUL so they parse as a packet header.
        0 => {
            let n = 1 + rng.below(4096) as usize;
            let mut b = rng.bytes(n);
            if rng.below(2) == 0 {
                b[0] = 0;
            }
            send(&mut s, &b);
        }
        // A truncated packet, then silence (held) or a close.
        1 => {
            let mut p = header(ptype::SUBMIT_JOB, 100);
            p.extend_from_slice(b"good\0\0only half");
            send(&mut s, &p);
            return (rng.below(2) == 0).then_some(s);
        }
        // Huge length headers: over the packet limit, and just under it with part of a body.
        2 => send(&mut s, &header(ptype::SUBMIT_JOB, 0xFFFF_FFF0)),
        3 => {
            let mut p = header(ptype::ECHO_REQ, 60 << 20);
            p.extend_from_slice(&vec![b'x'; 256 * 1024]);
            send(&mut s, &p);
        }
        // Valid packets in the wrong state.
        4 => {
            send(
                &mut s,
                &frame_req(ptype::WORK_COMPLETE, &[handle.as_bytes(), b"forged"]),
            );
            send(&mut s, &frame_req(ptype::WORK_FAIL, &[handle.as_bytes()]));
            send(
                &mut s,
                &frame_req(ptype::WORK_DATA, &[handle.as_bytes(), b"forged"]),
            );
            send(
                &mut s,
                &frame_req(ptype::WORK_STATUS, &[handle.as_bytes(), b"1", b"2"]),
            );
        }
        5 => {
            send(&mut s, &frame_req(ptype::GRAB_JOB, &[]));
            send(&mut s, &frame_req(ptype::GRAB_JOB_UNIQ, &[]));
            send(&mut s, &frame_req(ptype::PRE_SLEEP, &[]));
            send(&mut s, &frame_req(ptype::CANT_DO, &[b"good"]));
            send(&mut s, &frame_req(ptype::JOB_ASSIGN, &[b"x", b"y", b"z"]));
            send(&mut s, &frame_req(ptype::NOOP, &[]));
        }
        // Admin noise (never shutdown or cancel: those are legitimate for loopback peers).
        6 => {
            let lines = [
                "status\n",
                "workers\n",
                "show jobs\n",
                "show unique jobs\n",
                "maxqueue nothere 3\n",
                "drop function nothere\n",
                "verbose\n",
                "\x01\x02garbage\r\n",
                "prioritystatus\n",
            ];
            send(
                &mut s,
                lines[rng.below(lines.len() as u64) as usize].as_bytes(),
            );
        }
        // A text line that never ends (closed by the server at 8192 bytes).
        7 => send(&mut s, &vec![b'a'; 9000]),
        // Pipelined requests whose answers are never read: the server pauses this connection.
        8 => {
            let echo = frame_req(ptype::ECHO_REQ, &[&[b'e'; 1024]]);
            for _ in 0..2000 {
                if s.write_all(&echo).is_err() {
                    break;
                }
            }
            return Some(s);
        }
        // A slow partial header, held open.
        _ => {
            send(&mut s, b"\0RE");
            return Some(s);
        }
    }
    // Drain a little of whatever came back, then hang up.
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf);
    None
}

/// Writes, ignoring failures (the server may have closed on us already).
fn send(s: &mut TcpStream, b: &[u8]) {
    let _ = s.write_all(b);
}

fn attacker(
    seed: u64,
    port: u16,
    stop: Arc<AtomicBool>,
    attacks: Arc<AtomicU64>,
    done: Arc<AtomicUsize>,
) {
    let mut rng = Rng(seed);
    let mut held: Vec<TcpStream> = Vec::new();
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < DEADLINE {
        let recent = done.load(Ordering::Relaxed) as u64;
        if let Some(s) = attack(&mut rng, port, recent) {
            if held.len() >= HELD_PER_ATTACKER {
                held.swap_remove(rng.below(held.len() as u64) as usize);
            }
            held.push(s);
        }
        attacks.fetch_add(1, Ordering::Relaxed);
    }
}

/// A worker that reverses its job's data; runs until `stop`.
fn good_worker(port: u16, stop: Arc<AtomicBool>) {
    let mut w = Conn::connect(port);
    w.send(ptype::CAN_DO, &[b"good"]);
    while !stop.load(Ordering::SeqCst) {
        w.send(ptype::GRAB_JOB, &[]);
        // The reply to this GRAB_JOB; a late NOOP from an earlier sleep may come first.
        let p = loop {
            match w.try_recv(Duration::from_secs(5)) {
                Ok(p) if p.ptype == ptype::NOOP => continue,
                other => break other,
            }
        };
        let Ok(p) = p else {
            continue;
        };
        match p.ptype {
            ptype::JOB_ASSIGN => {
                let a = p.args();
                let out: Vec<u8> = a[2].iter().rev().copied().collect();
                w.send(ptype::WORK_COMPLETE, &[a[0], &out]);
            }
            ptype::NO_JOB => {
                w.send(ptype::PRE_SLEEP, &[]);
                // Woken by NOOP, or re-check after a while.
                let _ = w.try_recv(Duration::from_millis(500));
            }
            other => panic!("good worker got {other}: {p:?}"),
        }
    }
}

/// A client that submits jobs one at a time and checks each result; returns how many it ran.
fn good_client(id: usize, port: u16, done: Arc<AtomicUsize>) -> usize {
    let mut c = Conn::connect(port);
    let started = Instant::now();
    let mut n = 0;
    while n < MAX_JOBS_PER_CLIENT && (n < JOBS_PER_CLIENT || started.elapsed() < MIN_RUN) {
        let data = format!("client{id}-job{n}");
        c.send(ptype::SUBMIT_JOB, &[b"good", b"", data.as_bytes()]);
        let created = c.recv();
        assert_eq!(created.ptype, ptype::JOB_CREATED, "{created:?}");
        let result = c.try_recv(Duration::from_secs(30)).expect("a result");
        assert_eq!(result.ptype, ptype::WORK_COMPLETE, "{result:?}");
        let want: Vec<u8> = data.bytes().rev().collect();
        assert_eq!(result.args()[0], created.body.as_slice());
        assert_eq!(
            result.args()[1],
            want.as_slice(),
            "forged or mixed-up result"
        );
        done.fetch_add(1, Ordering::SeqCst);
        n += 1;
    }
    n
}

#[test]
fn hostile_clients_do_not_stop_good_ones() {
    let seed = seed();
    eprintln!("HOSTILE_SEED={seed}");
    let mut s: Server = start(Kind::Ours, &[]);
    let port = s.port();
    let idle_rss = rss_kib(s.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let attacks = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || good_worker(port, stop))
        })
        .collect();
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|i| {
            let (stop, attacks, done) = (stop.clone(), attacks.clone(), done.clone());
            let seed = seed.wrapping_add(i as u64 * 0x9E37_79B9);
            std::thread::spawn(move || attacker(seed, port, stop, attacks, done))
        })
        .collect();
    let clients: Vec<_> = (0..GOOD_CLIENTS)
        .map(|i| {
            let done = done.clone();
            std::thread::spawn(move || good_client(i, port, done))
        })
        .collect();

    let started = Instant::now();
    let mut peak = idle_rss;
    while clients.iter().any(|c| !c.is_finished()) && started.elapsed() < DEADLINE {
        assert!(s.is_running(), "the server died; seed {seed}");
        peak = peak.max(rss_kib(s.pid()));
        std::thread::sleep(Duration::from_millis(100));
    }
    let client_results: Vec<_> = clients.into_iter().map(|c| c.join()).collect();
    stop.store(true, Ordering::SeqCst);
    for a in attackers {
        a.join().expect("attacker thread");
    }
    for w in workers {
        w.join().expect("worker thread");
    }
    eprintln!(
        "hostile: {} attacks, {} good jobs in {:?}, RSS idle {idle_rss} KiB, peak {peak} KiB",
        attacks.load(Ordering::SeqCst),
        done.load(Ordering::SeqCst),
        started.elapsed()
    );
    let mut submitted = 0;
    for r in client_results {
        let n = r.unwrap_or_else(|_| panic!("a good client failed; seed {seed}"));
        assert!(n >= JOBS_PER_CLIENT);
        submitted += n;
    }
    assert_eq!(done.load(Ordering::SeqCst), submitted);
    assert!(s.is_running(), "the server died; seed {seed}");
    assert!(
        peak < idle_rss + RSS_BUDGET_KIB,
        "RSS grew from {idle_rss} to {peak} KiB; seed {seed}"
    );
    // Still serving a fresh client.
    let mut c = s.connect();
    c.sync();
}
