//! The reference model: what the engine should do, written as plainly as possible (vectors and
//! linear scans, no indexes, no lazy deletion), so that it can be trusted by reading it.
//!
//! It predicts every message the engine sends, per connection, with the replies held behind a
//! pending store exactly as the engine holds them, and the `status` / `prioritystatus` listings.

use std::collections::VecDeque;

pub const FUNCS: [&str; 3] = ["f0", "f1", "f2"];
pub const CONNS: usize = 4;
/// The slot of the connection that sends admin lines.
pub const ADMIN: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum St {
    /// Being stored by the queue thread.
    Storing,
    Scheduled,
    /// In its function's run list.
    InRunList,
    Running {
        worker: usize,
        deadline: Option<u64>,
    },
}

#[derive(Debug, Clone)]
pub struct MJob {
    pub h: u32,
    pub func: usize,
    pub prio: usize,
    pub foreground: bool,
    pub unique: &'static str,
    pub data: &'static str,
    pub reducer: bool,
    pub when: i64,
    pub state: St,
    pub ignored: bool,
    /// Stored in the persistent queue: `done` is owed.
    pub stored: bool,
    /// Attached clients, oldest first, duplicates kept.
    pub clients: Vec<usize>,
    pub retries: u32,
    pub progress: (u32, u32),
}

impl MJob {
    /// What the job coalesces on: None, its unique, or its data (unique `-`).
    pub fn key(&self) -> Option<(bool, &'static str)> {
        key_of(self.unique, self.data)
    }
}

pub fn key_of(unique: &'static str, data: &'static str) -> Option<(bool, &'static str)> {
    match unique {
        "" => None,
        "-" if data.is_empty() => None,
        "-" => Some((false, data)),
        u => Some((true, u)),
    }
}

/// One held reply slot, as in the engine's holds.
#[derive(Debug, Clone)]
pub enum Held {
    Waiting(u32),
    Ready(String),
}

#[derive(Debug, Clone, Default)]
pub struct MConn {
    /// (function, CAN_DO_TIMEOUT ms), newest first.
    pub abilities: Vec<(usize, Option<u64>)>,
    pub exceptions: bool,
    pub sleeping: bool,
    pub noop_sent: bool,
    /// Jobs it runs, in the engine's order (swap_remove on removal).
    pub running: Vec<u32>,
    /// Jobs it attached to, in order.
    pub waiting: Vec<u32>,
    pub holds: VecDeque<Held>,
}

impl MConn {
    pub fn can_do(&self, func: usize) -> bool {
        self.abilities.iter().any(|a| a.0 == func)
    }

    fn forget_running(&mut self, h: u32) {
        if let Some(i) = self.running.iter().rposition(|&x| x == h) {
            self.running.swap_remove(i);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct MFunc {
    pub maxqueue: [u32; 3],
}

/// A queue-thread operation the model expects (adds are tracked by the harness itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub func: usize,
    pub unique: &'static str,
}

pub struct Model {
    pub jobs: Vec<MJob>,
    /// Run lists by (function, priority): handles in FIFO order.
    pub lists: [[VecDeque<u32>; 3]; 3],
    pub conns: [MConn; CONNS],
    /// Function slots in the engine's order (ids reused LIFO after `drop function`).
    pub funcs: Vec<Option<(usize, MFunc)>>,
    free_funcs: Vec<usize>,
    pub next_handle: u32,
    pub max_attempts: Option<u32>,
    /// Whether background submits go through the (test-driven) queue thread.
    pub persister: bool,
    pub now_ms: u64,
    pub epoch: i64,
    /// Messages expected this step: (connection slot, rendered message).
    pub out: Vec<(usize, String)>,
    /// Removals the queue should receive this step.
    pub dones: Vec<Done>,
    /// Adds the queue should receive this step (job handles).
    pub adds: Vec<u32>,
}

pub fn handle(h: u32) -> String {
    format!("H:t:{h}")
}

impl Model {
    pub fn new(max_attempts: Option<u32>, persister: bool, epoch: i64) -> Model {
        Model {
            jobs: Vec::new(),
            lists: Default::default(),
            conns: Default::default(),
            funcs: Vec::new(),
            free_funcs: Vec::new(),
            next_handle: 1,
            max_attempts,
            persister,
            now_ms: 0,
            epoch,
            out: Vec::new(),
            dones: Vec::new(),
            adds: Vec::new(),
        }
    }

    // ---- Tables -------------------------------------------------------------------------

    pub fn job(&self, h: u32) -> Option<&MJob> {
        self.jobs.iter().find(|j| j.h == h)
    }

    pub fn job_mut(&mut self, h: u32) -> Option<&mut MJob> {
        self.jobs.iter_mut().find(|j| j.h == h)
    }

    pub fn func_exists(&self, func: usize) -> bool {
        self.funcs.iter().flatten().any(|(f, _)| *f == func)
    }

    pub fn func_mut(&mut self, func: usize) -> Option<&mut MFunc> {
        self.funcs
            .iter_mut()
            .flatten()
            .find(|(f, _)| *f == func)
            .map(|(_, m)| m)
    }

    /// `get_or_create`.
    pub fn touch(&mut self, func: usize) {
        if self.func_exists(func) {
            return;
        }
        let entry = Some((func, MFunc::default()));
        match self.free_funcs.pop() {
            Some(slot) => self.funcs[slot] = entry,
            None => self.funcs.push(entry),
        }
    }

    pub fn drop_func(&mut self, func: usize) {
        if let Some(slot) = self
            .funcs
            .iter()
            .position(|f| f.as_ref().is_some_and(|x| x.0 == func))
        {
            self.funcs[slot] = None;
            self.free_funcs.push(slot);
        }
    }

    pub fn total(&self, func: usize) -> u32 {
        self.jobs.iter().filter(|j| j.func == func).count() as u32
    }

    pub fn workers(&self, func: usize) -> usize {
        let regs = |c: &MConn| c.abilities.iter().filter(|a| a.0 == func).count();
        self.conns.iter().map(regs).sum()
    }

    pub fn ready(&self, func: usize, p: usize) -> bool {
        self.lists[func][p]
            .iter()
            .any(|&h| self.job(h).is_some_and(|j| !j.ignored))
    }

    pub fn has_ready(&self, func: usize) -> bool {
        (0..3).any(|p| self.ready(func, p))
    }

    /// `status` as the engine prints it.
    pub fn status(&self) -> String {
        let mut s = String::new();
        for (func, _) in self.funcs.iter().flatten() {
            let running = self.jobs.iter().filter(|j| j.func == *func);
            let running = running
                .filter(|j| matches!(j.state, St::Running { .. }))
                .count();
            let (t, w) = (self.total(*func), self.workers(*func));
            s += &format!("{}\t{t}\t{running}\t{w}\n", FUNCS[*func]);
        }
        s + ".\n"
    }

    /// `prioritystatus` as the engine prints it.
    pub fn priority_status(&self) -> String {
        let mut s = String::new();
        for (func, _) in self.funcs.iter().flatten() {
            let waiting = |p: usize| {
                let of = |j: &&MJob| j.func == *func && j.prio == p;
                let waits = |j: &&MJob| !matches!(j.state, St::Running { .. });
                self.jobs.iter().filter(of).filter(waits).count()
            };
            let w = self.workers(*func);
            s += &format!(
                "{}\t{}\t{}\t{}\t{w}\n",
                FUNCS[*func],
                waiting(0),
                waiting(1),
                waiting(2)
            );
        }
        s + ".\n"
    }

    // ---- Output, with holds ---------------------------------------------------------------

    /// A message for connection `c`: sent now, or held behind a pending store.
    pub fn send(&mut self, c: usize, msg: String) {
        match self.conns.get_mut(c) {
            Some(conn) if !conn.holds.is_empty() => conn.holds.push_back(Held::Ready(msg)),
            _ => self.out.push((c, format!("c{c} {msg}"))),
        }
    }

    /// Sends the front of `c`'s holds up to the first reply still waiting.
    pub fn release(&mut self, c: usize) {
        while let Some(Held::Ready(_)) = self.conns[c].holds.front() {
            if let Some(Held::Ready(m)) = self.conns[c].holds.pop_front() {
                self.out.push((c, format!("c{c} {m}")));
            }
        }
    }

    // ---- Job life -----------------------------------------------------------------------

    /// Removes a job from the model and from its worker and run list.
    pub fn free(&mut self, h: u32) -> Option<MJob> {
        let i = self.jobs.iter().position(|j| j.h == h)?;
        let job = self.jobs.remove(i);
        if let St::Running { worker, .. } = job.state {
            self.conns[worker].forget_running(h);
        }
        self.lists[job.func][job.prio].retain(|&x| x != h);
        Some(job)
    }

    pub fn enqueue(&mut self, h: u32) {
        let Some(j) = self.job_mut(h) else { return };
        j.state = St::InRunList;
        let (func, prio) = (j.func, j.prio);
        self.lists[func][prio].push_back(h);
    }

    /// A stored (or in-memory) job enters its run list or waits for its epoch time.
    pub fn make_runnable(&mut self, h: u32) {
        let epoch = self.epoch;
        let Some(j) = self.job_mut(h) else { return };
        if j.when > epoch {
            j.state = St::Scheduled;
            return;
        }
        let func = j.func;
        self.enqueue(h);
        self.wake(func);
    }

    /// NOOP to every sleeping worker of `func` not yet woken (`-w 0`).
    pub fn wake(&mut self, func: usize) {
        for c in 0..CONNS {
            let conn = &self.conns[c];
            if conn.sleeping && !conn.noop_sent && conn.can_do(func) {
                self.conns[c].noop_sent = true;
                self.send(c, "NOOP".into());
            }
        }
    }

    /// A running job taken back from its worker (gear-protocol requeue with `-j`).
    pub fn requeue(&mut self, h: u32) {
        let max = self.max_attempts;
        let Some(j) = self.job_mut(h) else { return };
        let St::Running { worker, .. } = j.state else {
            return;
        };
        j.retries += 1;
        let exhausted = max.is_some_and(|m| j.retries >= m);
        if j.ignored {
            self.free(h);
            return;
        }
        if exhausted {
            let job = self.free(h).expect("job exists");
            for &c in job.clients.iter().rev() {
                self.send(c, format!("WORK_FAIL [{}]", handle(h)));
            }
            if job.stored {
                self.dones.push(Done {
                    func: job.func,
                    unique: job.unique,
                });
            }
            return;
        }
        j.progress = (0, 0);
        let func = j.func;
        self.conns[worker].forget_running(h);
        self.enqueue(h);
        self.wake(func);
    }

    /// A connection closed: registrations go, it leaves its jobs as a client (foreground jobs
    /// left without clients are ignored), its running jobs are requeued.
    pub fn close(&mut self, c: usize) {
        let conn = std::mem::take(&mut self.conns[c]);
        for h in conn.waiting {
            let Some(j) = self.job_mut(h) else { continue };
            let before = j.clients.len();
            j.clients.retain(|&x| x != c);
            if j.clients.len() < before && j.clients.is_empty() && j.foreground {
                j.ignored = true;
            }
        }
        for h in conn.running {
            let mine = self
                .job(h)
                .is_some_and(|j| matches!(j.state, St::Running { worker, .. } if worker == c));
            if mine {
                self.requeue(h);
            }
        }
    }
}
