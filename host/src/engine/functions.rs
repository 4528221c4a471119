//! Functions: the per-function run lists, counters, queue limits and sleeping workers.
//!
//! A function is created on first mention and kept until `drop function`. Its three run lists
//! (high, normal, low) hold handle numbers of `Queued` jobs in FIFO order. The counters exist so
//! that every question the hot path asks ("does this worker have anything to do?") is O(1):
//! `ready[p]` counts queued jobs a worker may take, `queued[p]` everything `prioritystatus` shows.

use super::jobs::Priority;
use super::metrics::FunctionStats;
use crate::msg::ConnId;
use std::collections::{HashMap, VecDeque};

/// One function (a job type workers register for).
#[derive(Debug, Default)]
pub(super) struct Function {
    pub name: Box<[u8]>,
    /// Queued jobs per priority, FIFO.
    lists: [VecDeque<u32>; 3],
    /// Scheduled + queued (not running) jobs per priority, ignored ones included.
    pub queued: [u32; 3],
    /// Queued jobs per priority that a worker may take (due and not ignored).
    pub ready: [u32; 3],
    /// Queued jobs that are ignored, waiting for a GRAB to reach and free them.
    pub ignored: u32,
    /// All jobs: scheduled, queued and running.
    pub total: u32,
    pub running: u32,
    /// CAN_DO registrations, duplicates counted.
    pub workers: u32,
    /// `maxqueue` limits per priority; 0 = unlimited.
    pub maxqueue: [u32; 3],
    /// Workers that slept while registered for this function, with their sleep generation;
    /// entries go stale when the worker wakes, so they are checked when popped.
    pub sleepers: VecDeque<(ConnId, u32)>,
    /// Workers whose GRAB_JOB waits for a job of this function (parking.rs), with their
    /// generation; stale entries are skipped when popped, as for `sleepers`.
    pub parked: VecDeque<(ConnId, u32)>,
    /// Jobs submitted, completed, failed and retried so far (metrics.rs).
    pub stats: FunctionStats,
}

impl Function {
    fn new(name: &[u8]) -> Function {
        Function {
            name: name.into(),
            ..Function::default()
        }
    }

    /// Whether any job is ready for a worker.
    pub(super) fn has_ready(&self) -> bool {
        self.ready.iter().any(|&r| r > 0)
    }

    /// Appends a job that just became runnable to the tail of its list.
    pub(super) fn push(&mut self, h: u32, p: Priority, ignored: bool) {
        self.lists[p.idx()].push_back(h);
        if ignored {
            self.ignored += 1;
        } else {
            self.ready[p.idx()] += 1;
        }
    }

    /// Takes the head of list `p` (the caller validates it against the job table).
    pub(super) fn pop(&mut self, p: Priority) -> Option<u32> {
        self.lists[p.idx()].pop_front()
    }

    /// Drops every list entry (used once only ignored jobs are left).
    pub(super) fn drain_lists(&mut self) -> Vec<u32> {
        let mut all = Vec::new();
        for l in &mut self.lists {
            all.extend(l.drain(..));
        }
        all
    }

    /// The `maxqueue` check of gear-protocol.md §4.4.
    pub(super) fn is_full(&self, p: Priority) -> bool {
        let limit = self.maxqueue[p.idx()];
        limit > 0 && self.total >= limit
    }
}

/// All functions, by id (a slot index) and by name.
#[derive(Default)]
pub(super) struct FunctionTable {
    slots: Vec<Option<Function>>,
    by_name: HashMap<Box<[u8]>, u32>,
    free: Vec<u32>,
}

impl FunctionTable {
    /// With no job anywhere, run lists hold only stale entries: drop them and their room.
    pub(super) fn shrink_idle(&mut self) {
        for f in self.slots.iter_mut().flatten() {
            for list in &mut f.lists {
                *list = VecDeque::new();
            }
            f.sleepers.shrink_to_fit();
        }
    }

    pub(super) fn find(&self, name: &[u8]) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// The id of `name`, creating the function if it is new.
    pub(super) fn get_or_create(&mut self, name: &[u8]) -> u32 {
        if let Some(id) = self.find(name) {
            return id;
        }
        let f = Function::new(name);
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(f);
                id
            }
            None => {
                self.slots.push(Some(f));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_name.insert(name.into(), id);
        id
    }

    /// A function by id; ids held by jobs and registrations always exist.
    pub(super) fn get(&self, id: u32) -> &Function {
        self.slots[id as usize]
            .as_ref()
            .expect("function ids held by jobs and workers stay valid")
    }

    pub(super) fn get_mut(&mut self, id: u32) -> &mut Function {
        self.slots[id as usize]
            .as_mut()
            .expect("function ids held by jobs and workers stay valid")
    }

    /// Functions in slot order (creation order, reusing dropped slots).
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &Function)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (i as u32, f)))
    }

    /// The first function whose name equals `name` ignoring ASCII case (`drop function`).
    pub(super) fn find_ignore_case(&self, name: &[u8]) -> Option<u32> {
        self.iter()
            .find(|(_, f)| f.name.eq_ignore_ascii_case(name))
            .map(|(id, _)| id)
    }

    pub(super) fn remove(&mut self, id: u32) {
        if let Some(f) = self.slots[id as usize].take() {
            self.by_name.remove(&f.name);
            self.free.push(id);
        }
    }
}
