//! The one-thread driver (`--driver loop`): every client and worker connection of a foreground
//! or echo run is non-blocking and served by one `mio` poll loop, as load generators such as wrk
//! and memtier do.
//!
//! The threaded driver (scenarios.rs) gives each connection a thread that blocks in `recv`, as a
//! libgearman client or worker does. On a small machine those threads' wake-ups cost about as
//! much CPU as the server under test, on the same cores (docs/performance.md, "Method").
//! This driver wakes once for everything that is ready, answers all of it, and sends at most once
//! per connection per wake-up, so more of the machine is left to the server. It checks the same
//! things: each JOB_CREATED asked for, each result the payload echoed, no job handed out twice.

use crate::proto::*;
use crate::scenarios::{payload, progress};
use crate::stats::{new_histogram, record};
use crate::workers::{payload_seq, FUNCTION};
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

type R<T> = Result<T, String>;

/// How long the loop waits for any reply before it calls the run failed.
const STALL: Duration = Duration::from_secs(60);

/// What one connection does.
enum Role {
    /// Keeps `inflight` SUBMIT_JOBs outstanding and checks their results.
    Submitter(Flow),
    /// Keeps `inflight` ECHO_REQs outstanding and checks the replies.
    Echoer(Flow),
    /// Grabs jobs and echoes their payload as the result.
    Worker,
}

/// The requests of one client connection: sent and not yet answered, and (foreground jobs)
/// acknowledged and running, by handle. Sequence numbers start at `base`.
struct Flow {
    base: u64,
    sent: u64,
    pending: VecDeque<(u64, Instant)>,
    running: HashMap<Vec<u8>, (u64, Instant)>,
}

/// One non-blocking connection with its unparsed input and unsent output.
struct Peer {
    sock: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    role: Role,
}

/// What every connection shares: the load's shape and the tally of the run.
struct Run {
    /// For the progress line.
    label: &'static str,
    per_client: u64,
    inflight: usize,
    size: usize,
    total: u64,
    done: u64,
    /// Sequence numbers of the jobs workers were handed.
    seen: HashSet<u64>,
    hist: Histogram<u64>,
}

/// Runs `per_client` foreground jobs from each of `clients` connections, `inflight` each, with
/// `workers` workers, all on this thread; returns the latencies.
pub fn foreground(
    addr: &str,
    (clients, workers, inflight): (usize, usize, usize),
    size: usize,
    per_client: u64,
) -> R<Histogram<u64>> {
    let mut roles: Vec<Role> = (0..workers).map(|_| Role::Worker).collect();
    roles.extend((0..clients).map(|i| Role::Submitter(Flow::new(i))));
    drive(addr, "foreground", roles, (inflight, size, per_client))
}

/// Runs `per_client` echoes from each of `clients` connections, `inflight` each.
pub fn echo(
    addr: &str,
    clients: usize,
    inflight: usize,
    size: usize,
    per_client: u64,
) -> R<Histogram<u64>> {
    let roles = (0..clients).map(|i| Role::Echoer(Flow::new(i))).collect();
    drive(addr, "echo", roles, (inflight, size, per_client))
}

/// Connects one peer per role and serves them all until every client has its answers.
fn drive(
    addr: &str,
    label: &'static str,
    roles: Vec<Role>,
    (inflight, size, per_client): (usize, usize, u64),
) -> R<Histogram<u64>> {
    let clients = roles.iter().filter(|r| !matches!(r, Role::Worker)).count();
    let mut run = Run {
        label,
        per_client,
        inflight,
        size,
        total: per_client * clients as u64,
        done: 0,
        seen: HashSet::new(),
        hist: new_histogram(),
    };
    let mut poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    let mut peers = Vec::with_capacity(roles.len());
    for (i, role) in roles.into_iter().enumerate() {
        let mut peer = Peer::connect(addr, role)?;
        run.start(&mut peer);
        let interest = Interest::READABLE | Interest::WRITABLE;
        poll.registry()
            .register(&mut peer.sock, Token(i), interest)
            .map_err(|e| format!("register: {e}"))?;
        peer.flush()?;
        peers.push(peer);
    }
    let mut events = Events::with_capacity(1024);
    let mut unsent: Vec<usize> = Vec::new();
    while run.done < run.total {
        poll.poll(&mut events, Some(STALL))
            .map_err(|e| format!("poll: {e}"))?;
        if events.is_empty() {
            return Err(format!("no reply from the server for {STALL:?}"));
        }
        // Answer everything that is ready first, then send, so each connection gets one send.
        for ev in events.iter() {
            let peer = &mut peers[ev.token().0];
            if ev.is_readable() {
                peer.fill()?;
                peer.handle(&mut run)?;
            }
            if !peer.output.is_empty() {
                unsent.push(ev.token().0);
            }
        }
        for i in unsent.drain(..) {
            peers[i].flush()?;
        }
    }
    Ok(run.hist)
}

impl Flow {
    fn new(client: usize) -> Flow {
        Flow {
            base: (client as u64) << 40,
            sent: 0,
            pending: VecDeque::new(),
            running: HashMap::new(),
        }
    }

    fn outstanding(&self) -> usize {
        self.pending.len() + self.running.len()
    }
}

impl Run {
    /// The first requests of a connection.
    fn start(&self, peer: &mut Peer) {
        match &mut peer.role {
            Role::Worker => {
                request(&mut peer.output, CAN_DO, &[FUNCTION]);
                request(&mut peer.output, GRAB_JOB, &[]);
            }
            Role::Submitter(f) => self.top_up(f, SUBMIT_JOB, &mut peer.output),
            Role::Echoer(f) => self.top_up(f, ECHO_REQ, &mut peer.output),
        }
    }

    /// Sends `kind` requests until the flow has `inflight` outstanding or has sent its share.
    fn top_up(&self, f: &mut Flow, kind: u32, out: &mut Vec<u8>) {
        while f.sent < self.per_client && f.outstanding() < self.inflight {
            let seq = f.base + f.sent;
            let data = payload(seq, self.size);
            match kind {
                SUBMIT_JOB => request(out, SUBMIT_JOB, &[FUNCTION, b"", &data]),
                _ => request(out, kind, &[&data]),
            }
            f.pending.push_back((seq, Instant::now()));
            f.sent += 1;
        }
    }

    /// One request answered: its latency, the count, the progress line.
    fn answered(&mut self, t0: Instant) {
        record(&mut self.hist, t0.elapsed());
        self.done += 1;
        progress(self.label, self.done, self.total);
    }

    fn on_packet(&mut self, role: &mut Role, p: Packet, out: &mut Vec<u8>) -> R<()> {
        match role {
            Role::Submitter(f) => self.on_submitter(f, p, out),
            Role::Echoer(f) => self.on_echoer(f, p, out),
            Role::Worker => self.on_worker(p, out),
        }
    }

    fn on_submitter(&mut self, f: &mut Flow, p: Packet, out: &mut Vec<u8>) -> R<()> {
        match p.kind {
            JOB_CREATED => {
                let job = f
                    .pending
                    .pop_front()
                    .ok_or("JOB_CREATED nobody asked for")?;
                if f.running.insert(p.body, job).is_some() {
                    return Err("duplicate job handle".into());
                }
            }
            WORK_COMPLETE => {
                let parts = p.split(1);
                let (seq, t0) = f
                    .running
                    .remove(parts[0])
                    .ok_or("WORK_COMPLETE for an unknown handle")?;
                if parts.len() != 2
                    || payload_seq(parts[1]) != Some(seq)
                    || parts[1].len() != self.size.max(8)
                {
                    return Err(format!("job {seq}: result is not the payload echoed"));
                }
                self.answered(t0);
                self.top_up(f, SUBMIT_JOB, out);
            }
            other => return Err(format!("client got unexpected packet type {other}")),
        }
        Ok(())
    }

    fn on_echoer(&mut self, f: &mut Flow, p: Packet, out: &mut Vec<u8>) -> R<()> {
        if p.kind != ECHO_RES {
            return Err(format!("expected ECHO_RES, got packet type {}", p.kind));
        }
        let (seq, t0) = f.pending.pop_front().ok_or("unasked ECHO_RES")?;
        if payload_seq(&p.body) != Some(seq) {
            return Err("echo reply does not match the request".into());
        }
        self.answered(t0);
        self.top_up(f, ECHO_REQ, out);
        Ok(())
    }

    fn on_worker(&mut self, p: Packet, out: &mut Vec<u8>) -> R<()> {
        match p.kind {
            JOB_ASSIGN => {
                let parts = p.split(2);
                if parts.len() != 3 || parts[1] != FUNCTION {
                    return Err(format!("malformed JOB_ASSIGN: {:?}", p.body));
                }
                let seq = payload_seq(parts[2]).ok_or("payload without sequence number")?;
                if !self.seen.insert(seq) {
                    return Err(format!("job {seq} was handed out twice"));
                }
                request(out, WORK_COMPLETE, &[parts[0], parts[2]]);
                request(out, GRAB_JOB, &[]);
            }
            NO_JOB => request(out, PRE_SLEEP, &[]),
            NOOP => request(out, GRAB_JOB, &[]),
            other => return Err(format!("worker got unexpected packet type {other}")),
        }
        Ok(())
    }
}

impl Peer {
    fn connect(addr: &str, role: Role) -> R<Peer> {
        let std = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        std.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        std.set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        Ok(Peer {
            sock: TcpStream::from_std(std),
            input: Vec::with_capacity(64 * 1024),
            output: Vec::with_capacity(64 * 1024),
            role,
        })
    }

    /// Reads all that is there.
    fn fill(&mut self) -> R<()> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => return Err("the server closed a connection".into()),
                // Edge-triggered: a short read means the socket is empty for now.
                Ok(n) if n < chunk.len() => {
                    self.input.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("recv: {e}")),
            }
        }
    }

    /// Sends what the socket takes; the rest waits for the next writable event.
    fn flush(&mut self) -> R<()> {
        while !self.output.is_empty() {
            match self.sock.write(&self.output) {
                Ok(n) => drop(self.output.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        Ok(())
    }

    /// Handles every whole packet in the input, writing the answers to the output.
    fn handle(&mut self, run: &mut Run) -> R<()> {
        let mut at = 0;
        while let Some(p) = take_packet(&self.input[at..])? {
            at += HEADER + p.body.len();
            run.on_packet(&mut self.role, p, &mut self.output)?;
        }
        self.input.drain(..at);
        Ok(())
    }
}

const HEADER: usize = 12;

/// Appends one request packet (args joined by NUL) to `out`.
fn request(out: &mut Vec<u8>, kind: u32, args: &[&[u8]]) {
    let len = args.iter().map(|a| a.len()).sum::<usize>() + args.len().saturating_sub(1);
    out.extend_from_slice(b"\0REQ");
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(len as u32).to_be_bytes());
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(a);
    }
}

/// The first whole response packet in `bytes`, if they hold one; a server ERROR is an error.
fn take_packet(bytes: &[u8]) -> R<Option<Packet>> {
    let Some(head) = bytes.get(..HEADER) else {
        return Ok(None);
    };
    if &head[..4] != b"\0RES" {
        return Err("bad response magic".into());
    }
    let kind = u32::from_be_bytes(head[4..8].try_into().unwrap());
    let len = u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize;
    let Some(body) = bytes.get(HEADER..HEADER + len) else {
        return Ok(None);
    };
    if kind == ERROR {
        let text = String::from_utf8_lossy(body).replace('\0', " ");
        return Err(format!("server ERROR: {text}"));
    }
    Ok(Some(Packet {
        kind,
        body: body.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_header_then_args_joined_by_nul() {
        let mut out = Vec::new();
        request(&mut out, SUBMIT_JOB, &[b"f", b"", b"data"]);
        assert_eq!(out, b"\0REQ\0\0\0\x07\0\0\0\x07f\0\0data");
    }

    #[test]
    fn a_packet_is_taken_only_when_whole() {
        let whole = b"\0RES\0\0\0\x08\0\0\0\x03H:1";
        for cut in 0..whole.len() {
            assert!(
                take_packet(&whole[..cut]).unwrap().is_none(),
                "cut at {cut}"
            );
        }
        let p = take_packet(whole).unwrap().unwrap();
        assert_eq!((p.kind, p.body.as_slice()), (JOB_CREATED, &b"H:1"[..]));
    }

    #[test]
    fn bad_magic_and_server_errors_fail_the_run() {
        assert!(take_packet(b"\0REQ\0\0\0\x08\0\0\0\0").is_err());
        let err = take_packet(b"\0RES\0\0\0\x13\0\0\0\x03a\0b").unwrap_err();
        assert!(err.contains("a b"), "{err}");
    }
}
