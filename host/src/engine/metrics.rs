//! Counters for monitoring, and `metrics`: our admin extension that prints them.
//!
//! What is counted, and where:
//! - per function and priority ([`FunctionStats`], a field of every function): jobs submitted
//!   (new jobs from clients; a submit that coalesces with an existing job creates none), completed
//!   (WORK_COMPLETE), failed (WORK_FAIL, WORK_EXCEPTION, or dropped once out of retries) and
//!   retried (requeued after its worker left, gave it up or timed out). Plain integers bumped by
//!   the processing thread next to the counters it already keeps: no lock, no allocation.
//! - server-wide ([`ServerStats`]): start time, jobs replayed at startup, connections accepted per
//!   protocol (open ones are counted from the connection table when asked).
//! - the persistent queue ([`QueueStats`], behind [`TimedQueue`]): operations, errors, and the
//!   duration of each group (every `add`/`done` since the last `flush`, through that `flush`) as a
//!   histogram. The queue runs on its own thread, so these are relaxed atomics shared with it.
//!
//! `metrics` answers one line per sample, `name<TAB>labels<TAB>value`, then `.`: labels are
//! already in Prometheus syntax (`function="f",priority="high"`, values escaped), so the HTTP
//! plugin only adds `# HELP`/`# TYPE` lines. A name never holds a tab and a value never does, so
//! a reader splits at the first and the last tab and label values may hold tabs.

use super::jobs::Priority;
use super::Engine;
use crate::queue::{QueueStore, StoredJob};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a job ended without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// WORK_FAIL from its worker.
    Fail = 0,
    /// WORK_EXCEPTION from its worker.
    Exception = 1,
    /// Requeued more often than `-j` allows.
    Retries = 2,
}

impl Failure {
    const ALL: [Failure; 3] = [Failure::Fail, Failure::Exception, Failure::Retries];

    fn label(self) -> &'static str {
        match self {
            Failure::Fail => "fail",
            Failure::Exception => "exception",
            Failure::Retries => "retries",
        }
    }
}

/// Monotonic counters of one function, per priority (index [`Priority::idx`]).
#[derive(Debug, Default)]
pub(super) struct FunctionStats {
    submitted: [u64; 3],
    completed: [u64; 3],
    /// Per [`Failure`], then per priority.
    failed: [[u64; 3]; 3],
    retried: [u64; 3],
}

impl FunctionStats {
    pub(super) fn submitted(&mut self, p: Priority) {
        self.submitted[p.idx()] += 1;
    }

    pub(super) fn completed(&mut self, p: Priority) {
        self.completed[p.idx()] += 1;
    }

    pub(super) fn failed(&mut self, why: Failure, p: Priority) {
        self.failed[why as usize][p.idx()] += 1;
    }

    pub(super) fn retried(&mut self, p: Priority) {
        self.retried[p.idx()] += 1;
    }

    /// Jobs completed, over all priorities.
    pub(super) fn completed_total(&self) -> u64 {
        self.completed.iter().sum()
    }

    /// Jobs failed, over all priorities and reasons.
    pub(super) fn failed_total(&self) -> u64 {
        self.failed.iter().flatten().sum()
    }
}

/// Server-wide counters (processing thread only).
#[derive(Debug)]
pub(super) struct ServerStats {
    started: Instant,
    /// Rows read from the persistent queue at startup.
    pub replayed: u64,
    /// Connections announced to the engine, per protocol name (a handful of entries).
    accepted: Vec<(&'static str, u64)>,
}

impl ServerStats {
    pub(super) fn new(started: Instant) -> ServerStats {
        ServerStats {
            started,
            replayed: 0,
            accepted: Vec::new(),
        }
    }

    /// A connection of `protocol` was opened.
    pub(super) fn accepted(&mut self, protocol: &'static str) {
        match self.accepted.iter_mut().find(|(p, _)| *p == protocol) {
            Some((_, n)) => *n += 1,
            None => self.accepted.push((protocol, 1)),
        }
    }
}

/// Upper bounds (seconds) of the queue group histogram's buckets; `+Inf` follows.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A queue operation, for the operation and error counters.
#[derive(Debug, Clone, Copy)]
enum QueueOp {
    Add = 0,
    Done = 1,
    Flush = 2,
}

const QUEUE_OPS: [(QueueOp, &str); 3] = [
    (QueueOp::Add, "add"),
    (QueueOp::Done, "done"),
    (QueueOp::Flush, "flush"),
];

/// Persistent-queue statistics, written by whichever thread runs the queue.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Groups per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    nanos: AtomicU64,
    ops: [AtomicU64; 3],
    errors: [AtomicU64; 3],
}

impl QueueStats {
    fn op(&self, op: QueueOp, ok: bool) {
        self.ops[op as usize].fetch_add(1, Relaxed);
        if !ok {
            self.errors[op as usize].fetch_add(1, Relaxed);
        }
    }

    fn group(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Relaxed);
    }
}

/// The queue as the engine holds it: every call passes through to the backend and is counted;
/// a group's clock starts at its first `add`/`done` and stops when its `flush` returns.
pub(super) struct TimedQueue {
    inner: Box<dyn QueueStore>,
    stats: Arc<QueueStats>,
    group_start: Option<Instant>,
}

impl TimedQueue {
    /// Wraps `queue`; a queue that is not durable (builtin) is left bare (no clock reads for it).
    pub(super) fn wrap(queue: Box<dyn QueueStore>, stats: &Arc<QueueStats>) -> Box<dyn QueueStore> {
        if !queue.durable() {
            return queue;
        }
        Box::new(TimedQueue {
            inner: queue,
            stats: Arc::clone(stats),
            group_start: None,
        })
    }

    /// Starts the group's clock unless it runs; true if this call started it.
    fn begin(&mut self) -> bool {
        let first = self.group_start.is_none();
        if first {
            self.group_start = Some(Instant::now());
        }
        first
    }

    /// An operation that failed and began a group ends it: in place, no flush follows it.
    fn end_if_failed(&mut self, began: bool, r: &Result<(), String>) {
        if began && r.is_err() {
            self.group_start = None;
        }
    }
}

impl QueueStore for TimedQueue {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn add(&mut self, job: &StoredJob<'_>) -> Result<(), String> {
        let began = self.begin();
        let r = self.inner.add(job);
        self.stats.op(QueueOp::Add, r.is_ok());
        self.end_if_failed(began, &r);
        r
    }
    /// Forwarded whole (the default would split it into single adds): one backend call, each
    /// job counted as an add.
    fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
        let began = self.begin();
        let results = self.inner.add_batch(jobs);
        for r in &results {
            self.stats.op(QueueOp::Add, r.is_ok());
        }
        if results.iter().all(Result::is_err) {
            self.end_if_failed(began, &Err(String::new()));
        }
        results
    }
    fn flush(&mut self) -> Result<(), String> {
        let start = self.group_start.take().unwrap_or_else(Instant::now);
        let r = self.inner.flush();
        self.stats.op(QueueOp::Flush, r.is_ok());
        self.stats.group(start.elapsed());
        r
    }
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String> {
        let began = self.begin();
        let r = self.inner.done(unique, function);
        self.stats.op(QueueOp::Done, r.is_ok());
        self.end_if_failed(began, &r);
        r
    }
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.inner.replay(sink)
    }
    fn durable(&self) -> bool {
        self.inner.durable()
    }
    fn store_on_shutdown(&self) -> bool {
        self.inner.store_on_shutdown()
    }
    fn shutdown(&mut self) {
        self.inner.shutdown()
    }
}

/// The priority label values, by index.
const PRIORITIES: [&str; 3] = ["high", "normal", "low"];

/// Builds the `metrics` reply.
struct Lines(Vec<u8>);

impl Lines {
    /// `name<TAB>labels<TAB>value`.
    fn sample(&mut self, name: &str, labels: &[u8], value: impl std::fmt::Display) {
        let _ = write!(self.0, "{name}\t");
        self.0.extend_from_slice(labels);
        let _ = writeln!(self.0, "\t{value}");
    }
}

/// `function="<name>"` with the name escaped as Prometheus wants (`\\`, `\"`, `\n`).
fn function_label(name: &[u8]) -> Vec<u8> {
    let mut l = b"function=\"".to_vec();
    for &b in name {
        match b {
            b'\\' => l.extend_from_slice(b"\\\\"),
            b'"' => l.extend_from_slice(b"\\\""),
            b'\n' => l.extend_from_slice(b"\\n"),
            b => l.push(b),
        }
    }
    l.push(b'"');
    l
}

/// `<base>,priority="<p>"`.
fn with_priority(base: &[u8], p: usize) -> Vec<u8> {
    let mut l = base.to_vec();
    let _ = write!(l, ",priority=\"{}\"", PRIORITIES[p]);
    l
}

impl Engine {
    /// `metrics`: every counter and gauge, one sample per line, then `.`.
    pub(super) fn admin_metrics(&self) -> Vec<u8> {
        let mut out = Lines(Vec::new());
        let uptime = self
            .clock
            .instant
            .saturating_duration_since(self.stats.started);
        out.sample(
            "gearmand_uptime_seconds",
            b"",
            format!("{:.3}", uptime.as_secs_f64()),
        );
        self.connection_metrics(&mut out);
        out.sample("gearmand_jobs_replayed_total", b"", self.stats.replayed);
        out.sample("gearmand_functions", b"", self.funcs.iter().count());
        self.function_gauges(&mut out);
        self.function_counters(&mut out);
        self.queue_metrics(&mut out);
        out.0.extend_from_slice(b".\n");
        out.0
    }

    fn connection_metrics(&self, out: &mut Lines) {
        let mut open: Vec<(&'static str, u64)> = Vec::new();
        for (_, c) in self.conns.iter() {
            match open.iter_mut().find(|(p, _)| *p == c.protocol) {
                Some((_, n)) => *n += 1,
                None => open.push((c.protocol, 1)),
            }
        }
        for (p, n) in &open {
            out.sample(
                "gearmand_connections",
                format!("protocol=\"{p}\"").as_bytes(),
                n,
            );
        }
        for (p, n) in &self.stats.accepted {
            let label = format!("protocol=\"{p}\"");
            out.sample("gearmand_connections_accepted_total", label.as_bytes(), n);
        }
    }

    /// What `status` and `prioritystatus` show, as gauges.
    fn function_gauges(&self, out: &mut Lines) {
        let labels: Vec<Vec<u8>> = self
            .funcs
            .iter()
            .map(|(_, f)| function_label(&f.name))
            .collect();
        let rows = || {
            self.funcs
                .iter()
                .map(|(id, f)| (f, self.jobs.counts(id)))
                .zip(&labels)
        };
        rows().for_each(|((_, j), l)| out.sample("gearmand_jobs", l, j.total()));
        rows().for_each(|((_, j), l)| out.sample("gearmand_jobs_running", l, j.running));
        // The family's name is the published one; what it counts is the waiting jobs.
        for ((_, j), l) in rows() {
            for (p, n) in j.waiting.iter().enumerate() {
                out.sample("gearmand_jobs_queued", &with_priority(l, p), n);
            }
        }
        rows().for_each(|((f, _), l)| out.sample("gearmand_workers", l, f.workers()));
    }

    /// The per-function, per-priority counters.
    fn function_counters(&self, out: &mut Lines) {
        type Pick = fn(&super::functions::Function) -> &[u64; 3];
        let families: [(&str, Pick); 3] = [
            ("gearmand_jobs_submitted_total", |f| &f.stats.submitted),
            ("gearmand_jobs_completed_total", |f| &f.stats.completed),
            ("gearmand_jobs_retried_total", |f| &f.stats.retried),
        ];
        let labels: Vec<Vec<u8>> = self
            .funcs
            .iter()
            .map(|(_, f)| function_label(&f.name))
            .collect();
        for (name, pick) in families {
            for ((_, f), l) in self.funcs.iter().zip(&labels) {
                for (p, n) in pick(f).iter().enumerate() {
                    out.sample(name, &with_priority(l, p), n);
                }
            }
        }
        for ((_, f), l) in self.funcs.iter().zip(&labels) {
            for why in Failure::ALL {
                for (p, n) in f.stats.failed[why as usize].iter().enumerate() {
                    let mut label = with_priority(l, p);
                    let _ = write!(label, ",reason=\"{}\"", why.label());
                    out.sample("gearmand_jobs_failed_total", &label, n);
                }
            }
        }
    }

    fn queue_metrics(&self, out: &mut Lines) {
        let q = &self.queue_stats;
        for (op, name) in QUEUE_OPS {
            let label = format!("op=\"{name}\"");
            out.sample(
                "gearmand_queue_operations_total",
                label.as_bytes(),
                q.ops[op as usize].load(Relaxed),
            );
        }
        for (op, name) in QUEUE_OPS {
            let label = format!("op=\"{name}\"");
            out.sample(
                "gearmand_queue_errors_total",
                label.as_bytes(),
                q.errors[op as usize].load(Relaxed),
            );
        }
        let mut cumulative = 0;
        for (i, bucket) in q.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let label = format!("le=\"{le}\"");
            out.sample(
                "gearmand_queue_group_seconds_bucket",
                label.as_bytes(),
                cumulative,
            );
        }
        let sum = Duration::from_nanos(q.nanos.load(Relaxed)).as_secs_f64();
        out.sample("gearmand_queue_group_seconds_sum", b"", format!("{sum:.6}"));
        // The `+Inf` bucket is the count, which keeps the two equal as the format requires.
        out.sample("gearmand_queue_group_seconds_count", b"", cumulative);
    }
}
