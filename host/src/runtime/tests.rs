//! The runtime over real loopback sockets and real threads, for every thread model, with a tiny
//! line protocol and an echo engine standing in for the gear plugin and the job engine.

use super::conn::NetLimits;
use super::io::NetSetup;
use super::listen::{bind_all, BindOptions};
use super::server::{serve, Listening};
use super::wire::{Core, Next, Sink, WireCodec, WireProtocol};
use crate::config::Keepalive;
use crate::engine::{Clock, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, Control, ToEngine, ToIo};
use gearmand_plugin_api::abi::kind;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines in, `ADMIN_LINE` requests out; `RAW` responses written as they are; `quit` closes.
struct LineProto;
struct LineCodec;

impl WireProtocol for LineProto {
    fn name(&self) -> &'static str {
        "line"
    }
    fn listen_port(&self) -> String {
        "0".into()
    }
    fn open(&self, _peer: &str) -> Option<Box<dyn WireCodec>> {
        Some(Box::new(LineCodec))
    }
}

impl WireCodec for LineCodec {
    fn decode(
        &mut self,
        input: &[u8],
        on: &mut dyn FnMut(Frame),
        _out: &mut Vec<u8>,
    ) -> (usize, Next) {
        let mut used = 0;
        while let Some(n) = input[used..].iter().position(|&b| b == b'\n') {
            let line = &input[used..used + n];
            used += n + 1;
            if line == b"quit" {
                return (used, Next::Close);
            }
            on(Frame::with_args(kind::ADMIN_LINE, &[line]));
        }
        (used, Next::Continue)
    }
    fn encode(&mut self, f: &Frame, out: &mut dyn Sink) -> Next {
        out.put(f.arg(0));
        Next::Continue
    }
}

/// Shared observations of the echo engine.
#[derive(Default)]
struct Seen {
    opened: AtomicUsize,
    closed: AtomicUsize,
    shut_down: AtomicBool,
}

/// Upper-cases lines, plus a few commands that exercise the runtime.
struct Echo {
    seen: Arc<Seen>,
    jobs: usize,
    timer: Option<(Instant, ConnId)>,
}

impl Core for Echo {
    fn handle(&mut self, msg: ToEngine, _now: Clock, out: &mut Outbox) {
        let (id, f) = match msg {
            ToEngine::Opened(..) => {
                self.seen.opened.fetch_add(1, Ordering::SeqCst);
                return;
            }
            ToEngine::Closed(_) => {
                self.seen.closed.fetch_add(1, Ordering::SeqCst);
                return;
            }
            ToEngine::Request(id, f) => (id, f),
        };
        let raw = |b: &[u8]| Frame::with_args(kind::RAW, &[b]);
        match f.arg(0) {
            b"shutdown" => out.control = Some(Control::Shutdown),
            b"graceful" => out.control = Some(Control::GracefulShutdown),
            b"job+" => self.jobs += 1,
            b"job-" => self.jobs -= 1,
            b"close" => {
                out.msgs.push(ToIo::Send(id, raw(b"done\n")));
                out.msgs.push(ToIo::Close(id));
                // Anything after Close is dropped: the connection is closing.
                out.msgs.push(ToIo::Send(id, raw(b"late\n")));
                return;
            }
            b"timer" => self.timer = Some((Instant::now() + Duration::from_millis(50), id)),
            b"big" => out.msgs.push(ToIo::Send(id, raw(&vec![b'x'; 4 << 20]))),
            b"flood" => {
                for _ in 0..16 {
                    out.msgs.push(ToIo::Send(id, raw(&vec![b'f'; 1 << 20])));
                }
            }
            b"stale" => {
                let old = ConnId::new(
                    id.thread() as u16,
                    id.slot() as u32,
                    id.generation().wrapping_add(1),
                );
                out.msgs.push(ToIo::Send(old, raw(b"WRONG\n")));
                out.msgs.push(ToIo::Send(id, raw(b"ok\n")));
                return;
            }
            line => {
                let mut reply = line.to_ascii_uppercase();
                reply.push(b'\n');
                out.msgs.push(ToIo::Send(id, raw(&reply)));
                return;
            }
        }
        out.msgs.push(ToIo::Send(id, raw(b"done\n")));
    }
    fn on_timers(&mut self, now: Clock, out: &mut Outbox) {
        if let Some((at, id)) = self.timer {
            if at <= now.instant {
                self.timer = None;
                out.msgs
                    .push(ToIo::Send(id, Frame::with_args(kind::RAW, &[b"tick\n"])));
            }
        }
    }
    fn next_deadline(&self) -> Option<Instant> {
        self.timer.map(|(at, _)| at)
    }
    fn job_count(&self) -> usize {
        self.jobs
    }
    fn shutdown(&mut self) {
        self.seen.shut_down.store(true, Ordering::SeqCst);
    }
}

struct Running {
    addr: SocketAddr,
    seen: Arc<Seen>,
    server: JoinHandle<Result<(), super::ServeError>>,
}

fn start(threads: u32) -> Running {
    start_with(threads, NetLimits::default())
}

fn start_with(threads: u32, limits: NetLimits) -> Running {
    let keepalive = Keepalive {
        enabled: false,
        idle: -1,
        interval: -1,
        count: -1,
    };
    let opts = BindOptions {
        host: Some("127.0.0.1".into()),
        backlog: 32,
        keepalive,
    };
    let sockets = bind_all(&opts, "0").unwrap();
    let addr = sockets[0].local_addr().unwrap();
    let mut listening = Listening::new(keepalive);
    listening.push(sockets.into_iter().next().unwrap(), 0);
    let seen = Arc::new(Seen::default());
    let core = Box::new(Echo {
        seen: seen.clone(),
        jobs: 0,
        timer: None,
    });
    let signals = signal_hook_mio::v1_0::Signals::new([libc::SIGUSR2]).unwrap();
    let net = NetSetup {
        protocols: vec![Arc::new(LineProto) as Arc<dyn WireProtocol>],
        tls: None,
        limits,
        admin: crate::config::AdminPolicy::default(),
        spin: Duration::from_micros(crate::config::DEFAULT_SPIN_US),
    };
    let server = std::thread::spawn(move || serve(threads, core, net, listening, signals));
    Running { addr, seen, server }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads exactly `n` bytes.
fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

fn expect(s: &mut TcpStream, want: &[u8]) {
    assert_eq!(
        String::from_utf8_lossy(&read_n(s, want.len())),
        String::from_utf8_lossy(want)
    );
}

fn expect_eof(s: &mut TcpStream) {
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected EOF, got {other:?}"),
    }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn exercise(threads: u32) {
    let r = start(threads);
    let mut a = connect(r.addr);
    let mut b = connect(r.addr);
    a.write_all(b"one\ntwo\n").unwrap();
    expect(&mut a, b"ONE\nTWO\n");
    b.write_all(b"he").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    b.write_all(b"llo\n").unwrap();
    expect(&mut b, b"HELLO\n");
    a.write_all(b"stale\nx\n").unwrap();
    expect(&mut a, b"ok\nX\n");
    b.write_all(b"timer\n").unwrap();
    expect(&mut b, b"done\ntick\n");
    b.write_all(b"big\n").unwrap();
    assert!(read_n(&mut b, 4 << 20).iter().all(|&c| c == b'x'));
    expect(&mut b, b"done\n");
    let mut c = connect(r.addr);
    c.write_all(b"close\n").unwrap();
    expect(&mut c, b"done\n");
    expect_eof(&mut c);
    let mut d = connect(r.addr);
    d.write_all(b"quit\nignored\n").unwrap();
    expect_eof(&mut d);
    wait_until("4 opened, 2 closed", || {
        r.seen.opened.load(Ordering::SeqCst) == 4 && r.seen.closed.load(Ordering::SeqCst) == 2
    });
    a.write_all(b"shutdown\n").unwrap();
    expect(&mut a, b"done\n");
    r.server.join().unwrap().unwrap();
    assert!(r.seen.shut_down.load(Ordering::SeqCst));
    expect_eof(&mut a);
    expect_eof(&mut b);
}

#[test]
fn single_thread_serves_everything() {
    exercise(0);
}

#[test]
fn one_io_thread_with_inline_engine() {
    exercise(1);
}

#[test]
fn io_threads_and_processing_thread() {
    exercise(3);
}

fn graceful(threads: u32) {
    let r = start(threads);
    let mut a = connect(r.addr);
    a.write_all(b"job+\ngraceful\n").unwrap();
    expect(&mut a, b"done\ndone\n");
    // Listening stops at once; the existing connection keeps being served.
    wait_until("listener closed", || TcpStream::connect(r.addr).is_err());
    a.write_all(b"still\n").unwrap();
    expect(&mut a, b"STILL\n");
    assert!(!r.server.is_finished());
    a.write_all(b"job-\n").unwrap();
    r.server.join().unwrap().unwrap();
    assert!(r.seen.shut_down.load(Ordering::SeqCst));
}

#[test]
fn graceful_shutdown_waits_for_jobs_in_every_model() {
    for t in [0, 1, 2] {
        graceful(t);
    }
}

/// A client that asks for more than `--max-output-buffer` without reading is disconnected, and
/// the engine hears about it; others are unaffected.
fn overflow(threads: u32) {
    let r = start_with(threads, NetLimits::new(4 << 20));
    let mut greedy = connect(r.addr);
    let mut other = connect(r.addr);
    greedy.write_all(b"flood\n").unwrap();
    wait_until("the flooded connection closed", || {
        r.seen.closed.load(Ordering::SeqCst) == 1
    });
    // It got at most the limit plus one reply, then EOF or a reset.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match greedy.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the flooded connection: {e}"),
        }
    }
    assert!(got < 16 << 20, "a disconnected client got all {got} bytes");
    other.write_all(b"fine\n").unwrap();
    expect(&mut other, b"FINE\n");
    other.write_all(b"shutdown\n").unwrap();
    r.server.join().unwrap().unwrap();
}

#[test]
fn a_client_over_the_output_limit_is_disconnected() {
    for t in [0, 2] {
        overflow(t);
    }
}

/// A client that pipelines requests without reading replies is paused, not buffered: its writes
/// soon block, it stays connected, and once it reads it gets every reply.
fn paused(threads: u32) {
    let r = start_with(threads, NetLimits::new(8 << 20));
    let mut c = connect(r.addr);
    let line = [b'a'; 1023];
    let mut frame = line.to_vec();
    frame.push(b'\n');
    c.set_nonblocking(true).unwrap();
    let mut sent = 0usize;
    let mut blocked_at = None;
    // Bounded: if the server buffered everything, 64 MiB would go through without blocking.
    while sent < 64 << 20 {
        match c.write(&frame[sent % frame.len()..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Give the server time to read what it will; if writes still block, it paused.
                let started = Instant::now();
                wait_until("the server to stop reading", || {
                    started.elapsed() > Duration::from_millis(300)
                });
                match c.write(&frame[sent % frame.len()..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        blocked_at = Some(sent);
                        break;
                    }
                    Err(e) => panic!("write: {e}"),
                }
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    let sent_total = blocked_at.expect("the server kept reading a client that never reads");
    // Read the replies to every whole line; that lets the server read on, so the rest of the last
    // line can then go out and be answered too.
    c.set_nonblocking(false).unwrap();
    let mut want = line.to_ascii_uppercase();
    want.push(b'\n');
    let whole = sent_total / frame.len();
    let got = read_n(&mut c, whole * want.len());
    assert!(got.chunks(want.len()).all(|ch| ch == want.as_slice()));
    let partial = sent_total % frame.len();
    if partial > 0 {
        c.write_all(&frame[partial..]).unwrap();
        assert_eq!(read_n(&mut c, want.len()), want);
    }
    assert_eq!(r.seen.closed.load(Ordering::SeqCst), 0);
    c.write_all(b"shutdown\n").unwrap();
    r.server.join().unwrap().unwrap();
}

#[test]
fn a_pipelining_client_is_paused_not_buffered() {
    for t in [0, 2] {
        paused(t);
    }
}
