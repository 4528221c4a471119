//! Engine tests: a harness that drives an [`Engine`] with messages and a hand-moved clock, and a
//! queue double that records every call and can be told to fail.
//!
//! Outputs are rendered as short strings (`c1 JOB_CREATED [H:t:1]`, args escaped) so that each test
//! states the exact outbox it expects; admin replies are compared byte for byte.

mod admin_tests;
mod limit_tests;
mod metrics_tests;
mod misc_tests;
mod model;
mod parking_tests;
mod queue_tests;
mod result_tests;
mod scale_tests;
mod submit_tests;
mod timer_tests;
mod worker_tests;

use super::{Clock, Engine, EngineConfig, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ConnInfo, Control, ToEngine, ToIo};
use crate::queue::{QueueStore, StoredJob};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use gear::ptype::*;

/// A stored row for the queue double.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub unique: Vec<u8>,
    pub function: Vec<u8>,
    pub data: Vec<u8>,
    pub priority: u32,
    pub when: i64,
}

/// What the queue double saw and how it should misbehave.
#[derive(Debug, Default)]
pub(crate) struct QState {
    pub calls: Vec<String>,
    pub fail_add: Option<String>,
    pub fail_flush: Option<String>,
    pub fail_done: Option<String>,
    pub rows: Vec<Row>,
    pub store_on_shutdown: bool,
    /// Declares itself not durable, as the builtin queue does.
    pub volatile: bool,
}

/// The queue double; clones share state.
#[derive(Clone, Default)]
pub(crate) struct TestQueue(pub Arc<Mutex<QState>>);

impl TestQueue {
    pub fn calls(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap().calls)
    }
    pub fn state(&self) -> std::sync::MutexGuard<'_, QState> {
        self.0.lock().unwrap()
    }
}

fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

impl QueueStore for TestQueue {
    fn name(&self) -> &str {
        "test"
    }
    fn add(&mut self, j: &StoredJob<'_>) -> Result<(), String> {
        let mut s = self.state();
        let (u, f, d) = (esc(j.unique), esc(j.function), esc(j.data));
        s.calls
            .push(format!("add {u} {f} {d} {} {}", j.priority, j.when));
        s.fail_add.clone().map_or(Ok(()), Err)
    }
    fn flush(&mut self) -> Result<(), String> {
        let mut s = self.state();
        s.calls.push("flush".into());
        s.fail_flush.clone().map_or(Ok(()), Err)
    }
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String> {
        let mut s = self.state();
        s.calls
            .push(format!("done {} {}", esc(unique), esc(function)));
        s.fail_done.clone().map_or(Ok(()), Err)
    }
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let rows = self.state().rows.clone();
        for r in &rows {
            sink(&StoredJob {
                unique: &r.unique,
                function: &r.function,
                data: &r.data,
                priority: r.priority,
                when: r.when,
            })?;
        }
        Ok(())
    }
    fn durable(&self) -> bool {
        !self.state().volatile
    }
    fn store_on_shutdown(&self) -> bool {
        self.state().store_on_shutdown
    }
    fn shutdown(&mut self) {
        self.state().calls.push("shutdown".into());
    }
}

pub(crate) fn config() -> EngineConfig {
    EngineConfig {
        handle_prefix: "H:t".into(),
        job_retries: -1,
        worker_wakeup: 0,
        round_robin: true,
        exceptions: false,
        verbose_name: "WARNING".into(),
        version: "1.1.20+ds".into(),
        pid: 4242,
        remote_shutdown: false,
        grab_hold: std::time::Duration::ZERO,
    }
}

/// The engine under test with its clock and queue double.
pub(crate) struct H {
    pub eng: Engine,
    pub now: Clock,
    pub q: TestQueue,
    pub control: Option<Control>,
}

pub(crate) fn conn(n: u32) -> ConnId {
    ConnId::new(0, n, 0)
}

/// Renders one output message: `c<n> <TYPE> [arg] [arg]` or `c<n> CLOSE`.
fn render(m: &ToIo) -> String {
    match m {
        ToIo::Close(c) => format!("c{} CLOSE", c.slot()),
        ToIo::Send(c, f) => {
            let name = match f.kind() {
                kind::RAW => "RAW",
                k => gear::name(k),
            };
            let mut s = format!("c{} {name}", c.slot());
            for a in f.args() {
                s.push_str(&format!(" [{}]", esc(a)));
            }
            s
        }
    }
}

impl H {
    pub fn new() -> H {
        H::with(|_| {})
    }

    pub fn with(tweak: impl FnOnce(&mut EngineConfig)) -> H {
        let mut cfg = config();
        tweak(&mut cfg);
        let q = TestQueue::default();
        H::with_queue(cfg, q)
    }

    pub fn with_queue(cfg: EngineConfig, q: TestQueue) -> H {
        let now = Clock {
            instant: Instant::now(),
            epoch: 1_000_000,
        };
        H {
            eng: Engine::new(cfg, Box::new(q.clone())),
            now,
            q,
            control: None,
        }
    }

    fn run(&mut self, msg: ToEngine) -> Vec<String> {
        let mut out = Outbox::default();
        self.eng.handle(msg, self.now, &mut out);
        self.finish(out)
    }

    fn finish(&mut self, out: Outbox) -> Vec<String> {
        if out.control.is_some() {
            self.control = out.control;
        }
        out.msgs.iter().map(render).collect()
    }

    /// Opens connection `n` from 127.0.0.1 with descriptor `30 + n`.
    pub fn open(&mut self, n: u32) -> ConnId {
        self.open_from(n, "127.0.0.1:40000")
    }

    pub fn open_from(&mut self, n: u32, peer: &str) -> ConnId {
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        let info = ConnInfo {
            peer,
            fd: 30 + n as i32,
            protocol: "gear",
            admin: crate::msg::AdminRights::compatible(peer.ip()),
        };
        let out = self.run(ToEngine::Opened(conn(n), info));
        assert!(out.is_empty());
        conn(n)
    }

    pub fn req(&mut self, c: ConnId, kind: u32, args: &[&[u8]]) -> Vec<String> {
        self.run(ToEngine::Request(c, Frame::with_args(kind, args)))
    }

    pub fn close(&mut self, c: ConnId) -> Vec<String> {
        self.run(ToEngine::Closed(c))
    }

    /// Sends an admin line and returns the raw reply bytes (exactly one RAW frame expected).
    pub fn admin(&mut self, c: ConnId, line: &str) -> Vec<u8> {
        let mut out = Outbox::default();
        let f = Frame::with_args(kind::ADMIN_LINE, &[line.as_bytes()]);
        self.eng.handle(ToEngine::Request(c, f), self.now, &mut out);
        if out.control.is_some() {
            self.control = out.control;
        }
        let raws: Vec<Vec<u8>> = out
            .msgs
            .iter()
            .filter_map(|m| match m {
                ToIo::Send(_, f) if f.kind() == kind::RAW => Some(f.arg(0).to_vec()),
                _ => None,
            })
            .collect();
        assert_eq!(raws.len(), 1, "one admin reply expected: {:?}", out.msgs);
        raws.into_iter().next().unwrap()
    }

    /// `admin` as a string (for readable comparisons).
    pub fn admin_s(&mut self, c: ConnId, line: &str) -> String {
        String::from_utf8(self.admin(c, line)).unwrap()
    }

    /// Moves the clock forward without firing timers.
    pub fn advance(&mut self, d: Duration) {
        self.now.instant += d;
        self.now.epoch += d.as_secs() as i64;
    }

    /// Runs `on_timers` at the current clock.
    pub fn timers(&mut self) -> Vec<String> {
        let mut out = Outbox::default();
        self.eng.on_timers(self.now, &mut out);
        self.finish(out)
    }

    // Shorthands for the common packets.

    pub fn submit(
        &mut self,
        c: ConnId,
        kind: u32,
        func: &str,
        uniq: &str,
        data: &str,
    ) -> Vec<String> {
        self.req(
            c,
            kind,
            &[func.as_bytes(), uniq.as_bytes(), data.as_bytes()],
        )
    }

    pub fn can_do(&mut self, c: ConnId, func: &str) {
        assert!(self.req(c, CAN_DO, &[func.as_bytes()]).is_empty());
    }

    pub fn grab(&mut self, c: ConnId) -> Vec<String> {
        self.req(c, GRAB_JOB, &[])
    }

    pub fn sleep(&mut self, c: ConnId) -> Vec<String> {
        self.req(c, PRE_SLEEP, &[])
    }
}

/// Builds the expected outbox from string literals.
pub(crate) fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
