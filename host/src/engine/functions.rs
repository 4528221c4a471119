//! Functions: names, registered workers, queue limits and sleeping workers.
//!
//! A function is created on first mention and kept until `drop function`. Its jobs, run lists
//! and job counts belong to the job table (`jobs/`), keyed by the function's id.

use super::metrics::FunctionStats;
use crate::msg::ConnId;
use std::collections::{HashMap, VecDeque};

/// One function (a job type workers register for).
#[derive(Debug, Default)]
pub(super) struct Function {
    pub name: Box<[u8]>,
    /// CAN_DO registrations, duplicates counted; changed only by [`Function::registered`].
    workers: u32,
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

    /// CAN_DO registrations of the function, duplicates counted.
    pub(super) fn workers(&self) -> u32 {
        self.workers
    }

    /// `n` registrations were added (`add`) or removed.
    pub(super) fn registered(&mut self, n: usize, add: bool) {
        let n = n as u32;
        debug_assert!(
            add || self.workers >= n,
            "more registrations removed than made"
        );
        self.workers = if add {
            self.workers.saturating_add(n)
        } else {
            self.workers.saturating_sub(n)
        };
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
    /// With no job anywhere, sleeper lists hold only stale entries: drop their room.
    pub(super) fn shrink_idle(&mut self) {
        for f in self.slots.iter_mut().flatten() {
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
