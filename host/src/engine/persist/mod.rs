//! Persistence off the processing thread, with group commit.
//!
//! With a real queue plugin, a new background job is not written in place: its `add` goes to the
//! persister thread, which takes every operation waiting for it, applies them (consecutive adds
//! as one `add_batch`, so a database stores them in a few round trips) and calls `flush` once
//! for the whole group. Only then does the engine hear back ([`Ack`]) and send JOB_CREATED,
//! so a job is durable before its client is told, yet a slow database costs one sync per group
//! instead of one per job, and never stalls other clients' foreground work.
//!
//! While a connection waits for such an acknowledgement, everything else the engine sends it is
//! held back ([`Holds`]), so that its replies keep the order of its requests: gear clients match
//! JOB_CREATED to their submits by order.

use super::jobs::JobState;
use super::{Clock, Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ToIo};
use crate::queue::{QueueStore, StoredJob};
use gearmand_plugin_api::gear::ptype;
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

#[cfg(test)]
mod manual;
#[cfg(test)]
pub(super) use manual::{ManualQueue, QueueOp};

/// Wakes whoever drives the engine, so that it calls [`Engine::poll_background`].
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The most operations one group commit takes.
const MAX_GROUP: usize = 4096;

/// An operation for the persister thread.
enum Op {
    Add(u32, OwnedJob),
    Done(Box<[u8]>, Box<[u8]>),
}

struct OwnedJob {
    unique: Box<[u8]>,
    function: Box<[u8]>,
    data: Box<[u8]>,
    priority: u32,
    when: i64,
}

impl OwnedJob {
    fn stored(&self) -> StoredJob<'_> {
        StoredJob {
            unique: &self.unique,
            function: &self.function,
            data: &self.data,
            priority: self.priority,
            when: self.when,
        }
    }
}

/// The outcome of one `add` after its group's `flush`.
pub struct Ack {
    handle: u32,
    result: Result<(), String>,
}

/// The persister thread, owning the queue until shutdown gives it back.
pub(super) struct Persister {
    tx: Option<Sender<Op>>,
    acks: Receiver<Vec<Ack>>,
    join: Option<JoinHandle<Box<dyn QueueStore>>>,
}

impl Persister {
    fn start(queue: Box<dyn QueueStore>, wake: Wake) -> std::io::Result<Persister> {
        let (tx, rx) = channel();
        let (ack_tx, acks) = channel();
        let join = std::thread::Builder::new()
            .name("queue".into())
            .spawn(move || run(queue, rx, ack_tx, wake))?;
        Ok(Persister {
            tx: Some(tx),
            acks,
            join: Some(join),
        })
    }

    fn send(&self, op: Op) {
        if let Some(tx) = &self.tx {
            // The thread only ends when `tx` is dropped, so this cannot fail before shutdown.
            let _ = tx.send(op);
        }
    }

    /// Lets the thread finish what it has, and takes the queue back.
    fn stop(mut self) -> Option<Box<dyn QueueStore>> {
        self.tx.take();
        self.join.take()?.join().ok()
    }
}

/// The persister thread: one group per wake-up, one flush per group.
fn run(
    mut queue: Box<dyn QueueStore>,
    rx: Receiver<Op>,
    acks: Sender<Vec<Ack>>,
    wake: Wake,
) -> Box<dyn QueueStore> {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter().take(MAX_GROUP - 1));
        let mut done = apply(queue.as_mut(), group);
        if let Err(e) = queue.flush() {
            log::error!("{} queue flush failed: {e}", queue.name());
            for a in done.iter_mut().filter(|a| a.result.is_ok()) {
                a.result = Err(e.clone());
            }
        }
        if !done.is_empty() && acks.send(done).is_ok() {
            wake();
        }
    }
    queue
}

/// Applies a group in its order: each run of consecutive adds is one `add_batch` (one round trip
/// or a few for a database, instead of one per job), and a removal between two runs stays
/// between them (it may be the removal of a job added just before). Returns one ack per add.
fn apply(queue: &mut dyn QueueStore, group: Vec<Op>) -> Vec<Ack> {
    let mut acks = Vec::new();
    let mut run: Vec<(u32, OwnedJob)> = Vec::new();
    for op in group {
        match op {
            Op::Add(handle, job) => run.push((handle, job)),
            Op::Done(unique, function) => {
                add_run(queue, &mut run, &mut acks);
                if let Err(e) = queue.done(&unique, &function) {
                    log::warn!(
                        "removing a finished job from the {} queue failed: {e}",
                        queue.name()
                    );
                }
            }
        }
    }
    add_run(queue, &mut run, &mut acks);
    acks
}

/// Stores a run of new jobs with one `add_batch`, appending their acks, and empties the run.
fn add_run(queue: &mut dyn QueueStore, run: &mut Vec<(u32, OwnedJob)>, acks: &mut Vec<Ack>) {
    if run.is_empty() {
        return;
    }
    let jobs: Vec<StoredJob<'_>> = run.iter().map(|(_, j)| j.stored()).collect();
    let mut results = queue.add_batch(&jobs).into_iter();
    for (handle, _) in run.drain(..) {
        // A backend answering fewer results than jobs must not leave a client waiting forever.
        let result = results.next().unwrap_or_else(|| {
            Err(format!(
                "the {} queue gave no result for the job",
                queue.name()
            ))
        });
        acks.push(Ack { handle, result });
    }
}

/// Removes a finished job's stored row: in place, or through the persister (after its add).
/// A free function over the two fields, so callers can lend the function name from the engine.
pub(super) fn store_done(
    persister: &Option<Persister>,
    queue: &mut dyn QueueStore,
    unique: &[u8],
    function: &[u8],
) -> Result<(), String> {
    match persister {
        Some(p) => {
            p.send(Op::Done(unique.into(), function.into()));
            Ok(())
        }
        // In place, the removal is made durable at once, as the original's done was.
        None => queue.done(unique, function).and_then(|()| queue.flush()),
    }
}

/// Replies held back per connection until the acknowledgements in front of them arrive.
#[derive(Default)]
pub(super) struct Holds {
    map: HashMap<ConnId, Hold>,
}

#[derive(Default)]
struct Hold {
    queue: VecDeque<Held>,
    /// Messages of the current call before this index were sent before the hold began.
    since: usize,
}

enum Held {
    /// The JOB_CREATED (or ERROR) for this job's submit goes here once it is acknowledged.
    Waiting(u32),
    Ready(ToIo),
}

fn conn_of(m: &ToIo) -> ConnId {
    match m {
        ToIo::Send(c, _) | ToIo::Close(c) => *c,
    }
}

impl Holds {
    /// Connection `c` waits for job `h`'s acknowledgement; `at` = messages already in the outbox.
    fn wait(&mut self, c: ConnId, h: u32, at: usize) {
        let hold = self.map.entry(c).or_insert_with(|| Hold {
            queue: VecDeque::new(),
            since: at,
        });
        hold.queue.push_back(Held::Waiting(h));
    }

    /// Moves messages from `out.msgs[start..]` for held connections into their holds.
    fn hold_back(&mut self, out: &mut Outbox, start: usize) {
        if self.map.is_empty() || out.msgs.len() <= start {
            return;
        }
        for (i, m) in out.msgs.split_off(start).into_iter().enumerate() {
            match self.map.get_mut(&conn_of(&m)) {
                Some(hold) if start + i >= hold.since => hold.queue.push_back(Held::Ready(m)),
                _ => out.msgs.push(m),
            }
        }
        self.map.values_mut().for_each(|h| h.since = 0);
    }

    /// Fills in the reply for job `h` on connection `c`.
    fn resolve(&mut self, c: ConnId, h: u32, reply: Frame) {
        let Some(hold) = self.map.get_mut(&c) else {
            return;
        };
        if let Some(slot) = hold
            .queue
            .iter_mut()
            .find(|s| matches!(s, Held::Waiting(w) if *w == h))
        {
            *slot = Held::Ready(ToIo::Send(c, reply));
        }
    }

    /// Sends what is no longer behind a pending acknowledgement.
    fn release(&mut self, c: ConnId, out: &mut Outbox) {
        let Some(hold) = self.map.get_mut(&c) else {
            return;
        };
        while let Some(Held::Ready(_)) = hold.queue.front() {
            if let Some(Held::Ready(m)) = hold.queue.pop_front() {
                out.msgs.push(m);
            }
        }
        if hold.queue.is_empty() {
            self.map.remove(&c);
        }
    }

    /// Every (connection, job) pair a held reply waits for.
    pub(super) fn waiting(&self) -> impl Iterator<Item = (ConnId, u32)> + '_ {
        self.map.iter().flat_map(|(&c, hold)| {
            hold.queue.iter().filter_map(move |s| match s {
                Held::Waiting(h) => Some((c, *h)),
                Held::Ready(_) => None,
            })
        })
    }

    /// The connection is gone: nothing more to send it.
    pub(super) fn forget(&mut self, c: ConnId) {
        self.map.remove(&c);
    }
}

impl Engine {
    /// Moves the queue onto its own thread (group commit). Kept in place for a queue that is not
    /// durable (nothing worth waiting for) and for `--store-queue-on-shutdown` (nothing written
    /// at submit).
    pub fn start_background(&mut self, wake: Wake) {
        if self.persister.is_some() || !self.queue.durable() || self.queue.store_on_shutdown() {
            return;
        }
        let queue = std::mem::replace(&mut self.queue, Box::new(crate::queue::Builtin));
        let name = queue.name().to_string();
        match Persister::start(queue, wake) {
            Ok(p) => {
                log::info!("{name} queue writes run on their own thread, with group commit");
                self.queue_name = name;
                self.persister = Some(p);
            }
            Err(e) => log::error!("cannot start the queue thread ({e}); the {name} queue is lost"),
        }
    }

    /// Whether background jobs are written by the persister thread.
    pub(super) fn persists_in_background(&self) -> bool {
        self.persister.is_some()
    }

    /// Hands a new background job to the persister; JOB_CREATED waits for its [`Ack`].
    pub(super) fn persist_later(&self, h: u32, job: &StoredJob<'_>) {
        if let Some(p) = &self.persister {
            let owned = OwnedJob {
                unique: job.unique.into(),
                function: job.function.into(),
                data: job.data.into(),
                priority: job.priority,
                when: job.when,
            };
            p.send(Op::Add(h, owned));
        }
    }

    /// Client `c` gets job `h`'s JOB_CREATED once the job is stored; until then, its other
    /// replies wait behind it.
    pub(super) fn wait_for_store(&mut self, c: ConnId, h: u32, out: &Outbox) {
        self.holds.wait(c, h, out.msgs.len());
        self.persisting.entry(h).or_default().push(c);
    }

    /// Keeps replies in request order for connections that wait for an acknowledgement.
    pub(super) fn hold_back(&mut self, out: &mut Outbox, start: usize) {
        self.holds.hold_back(out, start);
    }

    /// Takes the persister's acknowledgements: stored jobs become runnable and their clients get
    /// JOB_CREATED; refused ones are dropped and their clients get ERROR QUEUE_ERROR.
    pub fn poll_background(&mut self, now: Clock, out: &mut Outbox) {
        let Some(p) = &self.persister else { return };
        let groups: Vec<Vec<Ack>> = p.acks.try_iter().collect();
        if groups.is_empty() {
            return;
        }
        self.clock = now;
        let start = out.msgs.len();
        let mut touched = Vec::new();
        for ack in groups.into_iter().flatten() {
            let waiters = self.persisting.remove(&ack.handle).unwrap_or_default();
            let reply = match &ack.result {
                Ok(()) => {
                    self.stored(ack.handle, now, out);
                    Frame::with_args(ptype::JOB_CREATED, &[self.handle_of(ack.handle).as_bytes()])
                }
                Err(e) => {
                    log::error!("{} queue refused a job: {e}", self.queue_name);
                    self.free_job(ack.handle);
                    Frame::with_args(ptype::ERROR, &[b"QUEUE_ERROR", e.as_bytes()])
                }
            };
            for c in waiters {
                self.holds.resolve(c, ack.handle, reply.clone());
                touched.push(c);
            }
        }
        self.hold_back(out, start);
        for c in touched {
            self.holds.release(c, out);
        }
    }

    /// Job `h` is stored: it becomes runnable, or, if it was cancelled while being stored, it
    /// goes (the cancel already queued the removal of its row behind the add). Its submitters
    /// are told JOB_CREATED either way: the submit was accepted.
    fn stored(&mut self, h: u32, now: Clock, out: &mut Outbox) {
        let Some(job) = self.jobs.get(h) else {
            return;
        };
        if job.state() != JobState::Persisting {
            return;
        }
        if job.is_ignored() {
            self.free_job(h);
        } else {
            self.make_runnable(h, now, out);
        }
    }

    /// Shutdown of the persister: it writes what it has, and the queue comes back for the last
    /// flush and shutdown.
    pub(super) fn stop_background(&mut self) {
        if let Some(p) = self.persister.take() {
            match p.stop() {
                Some(q) => self.queue = q,
                None => log::error!("the queue thread ended abnormally"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the calls it gets; refuses jobs whose unique is `dup`.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
    }

    impl QueueStore for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        fn add(&mut self, _: &StoredJob<'_>) -> Result<(), String> {
            Err("the persister must use add_batch".into())
        }
        fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
            let uniques: Vec<_> = jobs
                .iter()
                .map(|j| String::from_utf8_lossy(j.unique))
                .collect();
            self.calls.push(format!("add {}", uniques.join(",")));
            let refuse = |j: &StoredJob<'_>| (j.unique == b"dup").then(|| "duplicate".to_string());
            jobs.iter().map(|j| refuse(j).map_or(Ok(()), Err)).collect()
        }
        fn flush(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn done(&mut self, unique: &[u8], _: &[u8]) -> Result<(), String> {
            self.calls
                .push(format!("done {}", String::from_utf8_lossy(unique)));
            Ok(())
        }
        fn replay(
            &mut self,
            _: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
        ) -> Result<(), String> {
            Ok(())
        }
    }

    fn add(handle: u32, unique: &str) -> Op {
        Op::Add(
            handle,
            OwnedJob {
                unique: unique.as_bytes().into(),
                function: b"f".as_slice().into(),
                data: b"d".as_slice().into(),
                priority: 1,
                when: 0,
            },
        )
    }

    #[test]
    fn runs_of_adds_are_one_batch_each_and_removals_keep_their_place() {
        let mut queue = Recorder::default();
        let done = |u: &str| Op::Done(u.as_bytes().into(), b"f".as_slice().into());
        let group = vec![
            add(1, "a"),
            add(2, "dup"),
            done("a"),
            add(3, "c"),
            done("z"),
        ];
        let acks = apply(&mut queue, group);
        assert_eq!(queue.calls, ["add a,dup", "done a", "add c", "done z"]);
        let got: Vec<(u32, Result<(), String>)> =
            acks.into_iter().map(|a| (a.handle, a.result)).collect();
        assert_eq!(
            got,
            [(1, Ok(())), (2, Err("duplicate".into())), (3, Ok(()))]
        );
        assert!(apply(&mut queue, vec![done("y")]).is_empty());
        assert_eq!(queue.calls.last().map(String::as_str), Some("done y"));
    }
}
