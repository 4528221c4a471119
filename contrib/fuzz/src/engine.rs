//! Target `engine`: random gear requests and admin lines from a few connections into the host's
//! `Engine`, as the I/O threads would deliver them.
//!
//! Input: two bytes of engine settings, then operations (see `engine_ops`). Every few operations
//! `Engine::check_invariants` must hold (the model-based test's invariants), and:
//! - every response goes to an open connection, has exactly the argument count of its packet
//!   type (or is one RAW blob), and encodes with the gear codec;
//! - the admin listings agree with each other and with `job_count()`: the `status` totals add up
//!   to it, `show jobs` lists that many jobs, `status` and `prioritystatus` agree on workers and
//!   total = queued + running per function, and the `workers` listing has as many registrations
//!   as the `status` worker counts add up to.
//!
//! At the end every connection closes (then nothing may be running and no worker registered,
//! and every job left is background or ignored), and unless an unbounded epoch time was used a
//! fresh worker drains every function: afterwards no job may remain.

use crate::engine_ops::{self, Known, Op, ACTORS};
use crate::input::Input;
use gearmand::engine::{Clock, Engine, EngineConfig, Outbox};
use gearmand::frame::Frame;
use gearmand::msg::{AdminRights, ConnId, ConnInfo, ToEngine, ToIo};
use gearmand::queue::Builtin;
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::{self, ptype};
use gearmand_plugin_api::{Codec, Next};
use gearmand_protocol_gear::GearCodec;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Operations per input; longer inputs are cut (keeps each run fast).
const MAX_OPS: usize = 256;
/// Operations between two checks of the admin listings.
const CHECK_EVERY: usize = 4;
/// The epoch the scenario starts at.
const START_EPOCH: i64 = 1_700_000_000;

pub fn check_engine(data: &[u8]) {
    let mut input = Input::new(data);
    let settings = input.byte();
    let mut h = Harness::new(settings, input.byte());
    let mut known = Known {
        epoch: START_EPOCH,
        ..Known::default()
    };
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        known.epoch = h.clock.epoch;
        let op = engine_ops::next(&mut input, &mut known);
        h.apply(op, &mut known);
        // The counters drift for good once wrong, so every few operations is enough (and 4x
        // faster than after each one).
        if ops.is_multiple_of(CHECK_EVERY) {
            h.check_tables();
        }
        ops += 1;
    }
    h.close_everyone();
    if !known.unbounded_epoch {
        h.drain();
    }
}

/// One parsed line of `status` / `prioritystatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FuncLine {
    name: Vec<u8>,
    nums: Vec<u64>,
}

struct Harness {
    engine: Engine,
    clock: Clock,
    /// The connection in each actor slot.
    actors: [ConnId; ACTORS],
    generation: u16,
    /// Asks the admin questions; never sends anything else.
    observer: ConnId,
    open: HashSet<ConnId>,
    /// The connection whose `Closed` the engine is handling.
    closing: Option<ConnId>,
    codec: GearCodec,
}

impl Harness {
    /// `settings` picks the engine options; bit 0 of `more` turns parked grabs on (1 ms hold).
    fn new(settings: u8, more: u8) -> Harness {
        let cfg = EngineConfig {
            handle_prefix: ["H:fz", "", "x"][settings as usize % 3].to_string(),
            job_retries: [-1, 0, 1, 2][(settings as usize >> 2) % 4],
            worker_wakeup: [0, 1][(settings as usize >> 4) % 2],
            round_robin: settings & 0x20 != 0,
            exceptions: settings & 0x40 != 0,
            verbose_name: "ERROR".into(),
            version: "fuzz".into(),
            pid: 1,
            remote_shutdown: settings & 0x80 != 0,
            grab_hold: Duration::from_micros(if more & 1 != 0 { 1000 } else { 0 }),
        };
        let clock = Clock {
            instant: Instant::now(),
            epoch: START_EPOCH,
        };
        let mut h = Harness {
            engine: Engine::new(cfg, Box::new(Builtin)),
            clock,
            actors: [ConnId(0); ACTORS],
            generation: 0,
            observer: ConnId::new(1, 0, 0),
            open: HashSet::new(),
            closing: None,
            codec: GearCodec::new(),
        };
        h.open_conn(h.observer);
        for slot in 0..ACTORS {
            h.actors[slot] = h.fresh_id(slot);
            h.open_conn(h.actors[slot]);
        }
        h
    }

    fn fresh_id(&mut self, slot: usize) -> ConnId {
        self.generation = self.generation.wrapping_add(1);
        ConnId::new(0, slot as u32, self.generation)
    }

    fn open_conn(&mut self, c: ConnId) {
        let peer = if c.slot().is_multiple_of(2) {
            "127.0.0.1:40000"
        } else {
            "[::1]:40001"
        };
        let info = ConnInfo {
            peer: peer.parse().unwrap(),
            fd: 10 + c.slot() as i32,
            protocol: "gear",
            // The last actor may only read: refused admin changes must not disturb the tables.
            admin: if c.slot() == ACTORS - 1 {
                AdminRights {
                    read: true,
                    change: false,
                    shutdown: false,
                }
            } else {
                AdminRights::ALL
            },
        };
        self.open.insert(c);
        self.send(ToEngine::Opened(c, info));
    }

    /// Hands one message to the engine and checks what comes back; returns the responses.
    fn send(&mut self, msg: ToEngine) -> Vec<(ConnId, Frame)> {
        let mut out = Outbox::default();
        self.engine.handle(msg, self.clock, &mut out);
        self.absorb(out)
    }

    fn absorb(&mut self, out: Outbox) -> Vec<(ConnId, Frame)> {
        let mut sent = Vec::new();
        let mut to_close = Vec::new();
        for m in out.msgs {
            match m {
                ToIo::Send(c, f) => {
                    assert!(
                        self.open.contains(&c),
                        "response {f:?} to closed connection {c:?}"
                    );
                    self.check_frame(&f);
                    sent.push((c, f));
                }
                ToIo::Close(c) => to_close.push(c),
            }
        }
        // The host closes such a connection and tells the engine.
        for c in to_close {
            if self.open.remove(&c) {
                sent.extend(self.close(c));
                if let Some(slot) = self.actors.iter().position(|&a| a == c) {
                    self.actors[slot] = self.fresh_id(slot);
                    self.open_conn(self.actors[slot]);
                }
            }
        }
        sent
    }

    /// Tells the engine that `c` (already removed from `open`) has closed.
    fn close(&mut self, c: ConnId) -> Vec<(ConnId, Frame)> {
        let outer = self.closing.replace(c);
        let sent = self.send(ToEngine::Closed(c));
        self.closing = outer;
        sent
    }

    fn check_frame(&mut self, f: &Frame) {
        if f.kind() == kind::RAW {
            assert_eq!(f.len(), 1, "RAW response with {} arguments", f.len());
        } else {
            let layout =
                gear::layout(f.kind()).unwrap_or_else(|| panic!("response kind {}", f.kind()));
            let forwarded = matches!(
                f.kind(),
                ptype::WORK_STATUS
                    | ptype::WORK_DATA
                    | ptype::WORK_WARNING
                    | ptype::WORK_COMPLETE
                    | ptype::WORK_FAIL
                    | ptype::WORK_EXCEPTION
            );
            assert!(
                gear::is_server_to_client(f.kind()) || forwarded,
                "response {f:?}"
            );
            assert_eq!(f.len(), layout.total(), "argument count of {f:?}");
        }
        let args: Vec<&[u8]> = f.args().collect();
        let mut wire = Vec::new();
        assert_eq!(
            self.codec.encode(f.kind(), &args, &mut wire),
            Next::Continue
        );
    }

    fn apply(&mut self, op: Op, known: &mut Known) {
        match op {
            Op::Packet { conn, kind, args } => {
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                let c = self.actors[conn];
                let sent = self.send(ToEngine::Request(c, Frame::with_args(kind, &refs)));
                remember_handles(&sent, &self.actors, known);
            }
            Op::Admin { conn, line } => {
                let c = self.actors[conn];
                self.send(ToEngine::Request(
                    c,
                    Frame::with_args(kind::ADMIN_LINE, &[&line]),
                ));
            }
            Op::Reconnect { conn } => {
                let old = self.actors[conn];
                self.open.remove(&old);
                self.close(old);
                self.actors[conn] = self.fresh_id(conn);
                self.open_conn(self.actors[conn]);
            }
            Op::Advance { millis } => {
                self.advance(Duration::from_millis(millis));
            }
        }
    }

    /// Moves the clock on by `d` and fires the engine's timers; returns what they sent.
    fn advance(&mut self, d: Duration) -> Vec<(ConnId, Frame)> {
        self.clock.instant += d;
        self.clock.epoch += d.as_secs() as i64;
        let _ = self.engine.next_deadline();
        let mut out = Outbox::default();
        self.engine.on_timers(self.clock, &mut out);
        self.absorb(out)
    }

    /// The observer's admin reply to `line`.
    fn admin(&mut self, line: &str) -> Vec<u8> {
        let f = Frame::with_args(kind::ADMIN_LINE, &[line.as_bytes()]);
        let sent = self.send(ToEngine::Request(self.observer, f));
        let mine: Vec<_> = sent.iter().filter(|(c, _)| *c == self.observer).collect();
        assert_eq!(mine.len(), 1, "admin '{line}' got {} replies", mine.len());
        let reply = mine[0].1.arg(0).to_vec();
        assert!(
            reply.ends_with(b".\n"),
            "'{line}' listing does not end with '.'"
        );
        reply
    }

    fn check_tables(&mut self) {
        if let Err(e) = self.engine.check_invariants() {
            panic!("engine invariant broken: {e}");
        }
        let jobs = self.engine.job_count() as u64;
        let status = func_lines(&self.admin("status"), 3);
        let prio = func_lines(&self.admin("prioritystatus"), 4);
        assert_eq!(
            status.len(),
            prio.len(),
            "status and prioritystatus list different functions"
        );
        for (s, p) in status.iter().zip(&prio) {
            assert_eq!(s.name, p.name, "function order differs");
            let (total, running, workers) = (s.nums[0], s.nums[1], s.nums[2]);
            assert_eq!(workers, p.nums[3], "worker counts differ for {:?}", s.name);
            assert!(
                running <= total,
                "{:?}: running {running} > total {total}",
                s.name
            );
            let queued: u64 = p.nums[..3].iter().sum();
            assert_eq!(
                queued + running,
                total,
                "{:?}: queued + running != total",
                s.name
            );
        }
        let total: u64 = status.iter().map(|s| s.nums[0]).sum();
        assert_eq!(total, jobs, "status totals {total} but job_count() {jobs}");
        let shown = listing(&self.admin("show jobs"));
        assert_eq!(
            shown.len() as u64,
            jobs,
            "show jobs lists {} of {jobs} jobs",
            shown.len()
        );
        let registrations: u64 = status.iter().map(|s| s.nums[2]).sum();
        assert_eq!(
            self.registrations(),
            registrations,
            "workers listing vs status counts"
        );
    }

    /// Registrations in the `workers` listing: `<fd> <ip> <client-id> : <f>...`.
    fn registrations(&mut self) -> u64 {
        let mut n = 0;
        for line in listing(&self.admin("workers")) {
            let toks: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            assert!(toks.len() >= 4 && toks[3] == b":", "workers line {line:?}");
            n += toks.len() as u64 - 4;
        }
        n
    }

    fn close_everyone(&mut self) {
        for slot in 0..ACTORS {
            let c = self.actors[slot];
            self.open.remove(&c);
            self.close(c);
        }
        for s in func_lines(&self.admin("status"), 3) {
            assert_eq!(
                (s.nums[1], s.nums[2]),
                (0, 0),
                "{:?} still running/registered",
                s.name
            );
        }
        for line in listing(&self.admin("show jobs")) {
            let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
            assert!(
                f.len() == 4 && (f[2] == b"1" || f[3] == b"1"),
                "orphan job: {line:?}"
            );
        }
        self.check_tables();
    }

    /// A new worker registers for every function and completes what it is given.
    fn drain(&mut self) {
        self.advance(Duration::from_secs(3 * 86_400));
        let w = self.fresh_id(0);
        self.open_conn(w);
        for s in func_lines(&self.admin("status"), 3) {
            self.send(ToEngine::Request(
                w,
                Frame::with_args(ptype::CAN_DO, &[&s.name]),
            ));
        }
        let budget = self.engine.job_count() * 2 + 4;
        for _ in 0..budget {
            let mut sent = self.send(ToEngine::Request(w, Frame::new(ptype::GRAB_JOB)));
            if !sent.iter().any(|(c, _)| *c == w) {
                // A parked grab (grab_hold > 0) is answered NO_JOB when its hold runs out.
                sent = self.advance(Duration::from_secs(1));
            }
            let Some((_, f)) = sent.iter().find(|(c, _)| *c == w) else {
                panic!("GRAB_JOB got no answer");
            };
            if f.kind() == ptype::NO_JOB {
                break;
            }
            assert_eq!(f.kind(), ptype::JOB_ASSIGN, "GRAB_JOB answered {f:?}");
            let done = Frame::with_args(ptype::WORK_COMPLETE, &[f.arg(0), b""]);
            self.send(ToEngine::Request(w, done));
        }
        let left = listing(&self.admin("show jobs"));
        assert!(left.is_empty(), "jobs left after draining: {left:?}");
        assert_eq!(self.engine.job_count(), 0);
    }
}

/// Records handles given out, and who got a job assigned.
fn remember_handles(sent: &[(ConnId, Frame)], actors: &[ConnId; ACTORS], known: &mut Known) {
    for (c, f) in sent {
        let owner = match f.kind() {
            ptype::JOB_CREATED => None,
            ptype::JOB_ASSIGN | ptype::JOB_ASSIGN_UNIQ | ptype::JOB_ASSIGN_ALL => {
                actors.iter().position(|a| a == c)
            }
            _ => continue,
        };
        known.handles.push((f.arg(0).to_vec(), owner));
        if known.handles.len() > 8 {
            known.handles.remove(0);
        }
    }
}

/// The lines of a listing without the final `.`.
fn listing(reply: &[u8]) -> Vec<Vec<u8>> {
    let body = &reply[..reply.len() - 2];
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// `name\tn1\t...\tnk` lines, split from the right (a name may contain tabs).
fn func_lines(reply: &[u8], k: usize) -> Vec<FuncLine> {
    let body = &reply[..reply.len() - 2];
    if body.is_empty() {
        return Vec::new();
    }
    body.strip_suffix(b"\n")
        .unwrap_or(body)
        .split(|&b| b == b'\n')
        .map(|line| {
            let mut parts: Vec<&[u8]> = line.rsplitn(k + 1, |&b| b == b'\t').collect();
            assert_eq!(parts.len(), k + 1, "listing line {line:?}");
            let name = parts.pop().unwrap().to_vec();
            let nums = parts
                .iter()
                .rev()
                .map(|p| std::str::from_utf8(p).ok().and_then(|s| s.parse().ok()))
                .map(|n| n.unwrap_or_else(|| panic!("number in {line:?}")))
                .collect();
            FuncLine { name, nums }
        })
        .collect()
}
