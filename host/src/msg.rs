//! The messages I/O threads and the processing thread exchange. They share no state but these.
//!
//! I/O threads own sockets and protocol codecs; the processing thread (the engine) owns every job,
//! function and worker table and no socket. An I/O thread sends [`ToEngine`] messages in batches,
//! one channel send and one wake-up per poll round; the engine answers with [`ToIo`] batches per
//! I/O thread.

use crate::frame::Frame;
use std::net::{IpAddr, SocketAddr};

/// Identifies one connection for its whole life: the owning I/O thread, its slab slot, and a
/// generation so that a message for a closed connection never reaches the next one in that slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    pub fn new(thread: u16, slot: u32, generation: u16) -> ConnId {
        ConnId(((thread as u64) << 48) | ((generation as u64) << 32) | slot as u64)
    }
    /// Index of the I/O thread that owns the socket.
    pub fn thread(self) -> usize {
        (self.0 >> 48) as usize
    }
    pub fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
    pub fn generation(self) -> u16 {
        (self.0 >> 32) as u16
    }
}

/// What a new connection is.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// The server-side socket descriptor, shown by the admin `workers` command.
    pub fd: i32,
    /// Name of the protocol plugin serving it (`gear`, `http`).
    pub protocol: &'static str,
    /// The admin commands it may use (the runtime decides from `--admin-*`, the peer address
    /// and its TLS client certificate; the engine enforces).
    pub admin: AdminRights,
}

/// Which classes of admin command a connection may use (each command's class is
/// `Command::class` in engine/admin/command.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRights {
    /// `status`, `workers`, `show`, `version`, `verbose`, `getpid`, ... (and unknown commands).
    pub read: bool,
    /// `cancel`, `create`, `drop`, `maxqueue`.
    pub change: bool,
    /// `shutdown`.
    pub shutdown: bool,
}

impl AdminRights {
    pub const ALL: AdminRights = AdminRights {
        read: true,
        change: true,
        shutdown: true,
    };

    /// The original's rule: every command, `shutdown` only from loopback.
    pub fn compatible(peer: IpAddr) -> AdminRights {
        AdminRights {
            shutdown: AdminRights::is_loopback(peer),
            ..AdminRights::ALL
        }
    }

    /// Loopback, including IPv4-mapped IPv6 loopback.
    pub fn is_loopback(ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => {
                a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// From an I/O thread to the engine.
#[derive(Debug)]
pub enum ToEngine {
    Opened(ConnId, ConnInfo),
    Request(ConnId, Frame),
    Closed(ConnId),
}

/// From the engine to an I/O thread.
#[derive(Debug)]
pub enum ToIo {
    /// Encode this response on the connection.
    Send(ConnId, Frame),
    /// Close the connection after what was sent before.
    Close(ConnId),
}

/// What the engine asks of the process as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop now (admin `shutdown`).
    Shutdown,
    /// Stop accepting, exit when no job is left (admin `shutdown graceful`).
    GracefulShutdown,
}
