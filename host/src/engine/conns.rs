//! Connections as the engine sees them: who they are, what they can do, what they wait for.
//!
//! A connection may be a client and a worker at once. As a worker it has an ability list (newest
//! registration first, duplicates kept), sleep state, and the jobs it runs; as a client, the jobs
//! it is attached to. The "waiting" list is pruned lazily: finished jobs are not searched out of
//! every client's list (a client may wait on thousands), the list is compacted when mostly stale.

use super::hash::FxBuild;
use super::request::Grab;
use crate::msg::{AdminRights, ConnId, ConnInfo};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

/// Longest client id kept (SET_CLIENT_ID).
const MAX_CLIENT_ID: usize = 127;

/// One CAN_DO registration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ability {
    pub func: u32,
    /// CAN_DO_TIMEOUT in milliseconds; `None` for plain CAN_DO.
    pub timeout_ms: Option<u64>,
}

#[derive(Debug)]
pub(super) struct Conn {
    pub peer: SocketAddr,
    pub fd: i32,
    /// The protocol plugin serving it (`gear`, `http`), for `metrics`.
    pub protocol: &'static str,
    /// Admin commands it may use.
    pub admin: AdminRights,
    client_id: Option<Box<[u8]>>,
    /// Newest first.
    pub abilities: Vec<Ability>,
    /// Receive WORK_EXCEPTION as such (else it arrives as WORK_FAIL).
    pub exceptions: bool,
    pub sleeping: bool,
    pub noop_sent: bool,
    /// Bumped every time the worker goes to sleep; tells live sleeper entries from stale ones.
    pub sleep_gen: u32,
    /// The grab this worker waits with, while it is parked (parking.rs).
    pub parked: Option<Grab>,
    /// Handles of jobs assigned to this worker, in assignment order.
    pub running: Vec<u32>,
    /// Handles of jobs this client attached to (may hold finished jobs, see module doc).
    waiting: Vec<u32>,
    /// How many entries of `waiting` are still live attachments.
    waiting_live: u32,
}

impl Conn {
    pub(super) fn new(info: &ConnInfo, exceptions: bool) -> Conn {
        Conn {
            peer: info.peer,
            fd: info.fd,
            protocol: info.protocol,
            admin: info.admin,
            client_id: None,
            abilities: Vec::new(),
            exceptions,
            sleeping: false,
            noop_sent: false,
            sleep_gen: 0,
            parked: None,
            running: Vec::new(),
            waiting: Vec::new(),
            waiting_live: 0,
        }
    }

    /// A connection the engine was not told about (should not happen; keeps requests working).
    pub(super) fn unannounced(exceptions: bool) -> Conn {
        let info = ConnInfo {
            peer: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            fd: -1,
            protocol: "unknown",
            admin: AdminRights::compatible(Ipv4Addr::UNSPECIFIED.into()),
        };
        Conn::new(&info, exceptions)
    }

    pub(super) fn client_id(&self) -> &[u8] {
        self.client_id.as_deref().unwrap_or(b"-")
    }

    /// SET_CLIENT_ID: keeps the text up to the first NUL, at most 127 bytes.
    pub(super) fn set_client_id(&mut self, id: &[u8]) {
        let id = super::num::up_to_nul(id);
        self.client_id = Some(id[..id.len().min(MAX_CLIENT_ID)].into());
    }

    /// Whether this worker's grab is parked, as of the entry tagged `gen`.
    pub(super) fn is_parked(&self, gen: u32) -> bool {
        self.parked.is_some() && self.sleep_gen == gen
    }

    pub(super) fn can_do(&self, func: u32) -> bool {
        self.abilities.iter().any(|a| a.func == func)
    }

    /// Forgets a finished job this worker ran.
    pub(super) fn forget_running(&mut self, h: u32) {
        if let Some(i) = self.running.iter().rposition(|&x| x == h) {
            self.running.swap_remove(i);
        }
    }

    /// Handles this client attached to, finished jobs possibly among them.
    pub(super) fn waiting(&self) -> &[u32] {
        &self.waiting
    }

    /// How many of [`Conn::waiting`] are live attachments.
    pub(super) fn waiting_live(&self) -> u32 {
        self.waiting_live
    }

    /// The client attached to job `h`; once the list is mostly stale it keeps only the
    /// handles for which `attached` still holds.
    pub(super) fn attach(&mut self, h: u32, attached: impl Fn(u32) -> bool) {
        self.waiting.push(h);
        self.waiting_live += 1;
        if self.waiting.len() > 2 * self.waiting_live as usize + 32 {
            self.waiting.retain(|&w| attached(w));
        }
    }

    /// `n` of its attachments ended with their job.
    pub(super) fn detached(&mut self, n: usize) {
        let n = n as u32;
        debug_assert!(self.waiting_live >= n, "more attachments ended than made");
        self.waiting_live = self.waiting_live.saturating_sub(n);
    }
}

/// Every open connection.
#[derive(Default)]
pub(super) struct ConnTable {
    map: HashMap<ConnId, Conn, FxBuild>,
}

impl ConnTable {
    pub(super) fn open(&mut self, id: ConnId, conn: Conn) {
        self.map.insert(id, conn);
    }

    /// Makes sure `id` exists (requests from a connection never announced still work).
    pub(super) fn ensure(&mut self, id: ConnId, exceptions: bool) {
        self.map.entry(id).or_insert_with(|| {
            log::warn!("request from connection {id:?} that was never opened");
            Conn::unannounced(exceptions)
        });
    }

    pub(super) fn get(&self, id: ConnId) -> Option<&Conn> {
        self.map.get(&id)
    }

    pub(super) fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.map.get_mut(&id)
    }

    pub(super) fn remove(&mut self, id: ConnId) -> Option<Conn> {
        self.map.remove(&id)
    }

    /// Every connection, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&ConnId, &Conn)> {
        self.map.iter()
    }

    /// Connections grouped per I/O thread, then by descriptor (the `workers` listing).
    pub(super) fn sorted(&self) -> Vec<(ConnId, &Conn)> {
        let mut v: Vec<(ConnId, &Conn)> = self.map.iter().map(|(k, c)| (*k, c)).collect();
        v.sort_by_key(|(id, c)| (id.thread(), c.fd, id.0));
        v
    }
}
