//! Binding the listening sockets: every address `-L` resolves to (default: all IPv4 and IPv6
//! addresses) times every protocol's port, with SO_REUSEADDR, IPV6_V6ONLY, the `-b` backlog and
//! the `--keepalive*` options; EADDRINUSE is retried like the original (1, 2, 4, 6, 9 s).

use crate::config::Keepalive;
use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, TcpKeepalive, Type};
use std::ffi::{CStr, CString};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A bind/listen failure, one line.
#[derive(Debug)]
pub enum ListenError {
    /// getaddrinfo failed for this host/port.
    Resolve(String),
    /// socket/bind/listen failed.
    Bind(String),
    /// EADDRINUSE did not clear within the retry schedule.
    Timeout,
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenError::Resolve(m) | ListenError::Bind(m) => f.write_str(m),
            ListenError::Timeout => f.write_str("Timeout occurred when calling bind()"),
        }
    }
}

/// How to bind.
pub struct BindOptions {
    pub host: Option<String>,
    pub backlog: i32,
    pub keepalive: Keepalive,
}

/// The original's sleep schedule between EADDRINUSE retries (about 22 s in all).
const RETRY_SLEEPS: [u64; 5] = [1, 2, 4, 6, 9];

/// Binds every address for `port`; returns the listeners with their actual local addresses.
pub fn bind_all(opts: &BindOptions, port: &str) -> Result<Vec<TcpListener>, ListenError> {
    let addrs = resolve(opts.host.as_deref(), port)?;
    let mut out = Vec::with_capacity(addrs.len());
    for addr in addrs {
        out.push(bind_retrying(opts, addr)?);
    }
    Ok(out)
}

fn bind_retrying(opts: &BindOptions, addr: SocketAddr) -> Result<TcpListener, ListenError> {
    let mut sleeps = RETRY_SLEEPS.iter();
    loop {
        match bind_one(opts, addr) {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => match sleeps.next() {
                Some(s) => {
                    log::warn!("{addr} is in use, retrying in {s} s");
                    std::thread::sleep(Duration::from_secs(*s));
                }
                None => return Err(ListenError::Timeout),
            },
            Err(e) => return Err(ListenError::Bind(format!("cannot listen on {addr}: {e}"))),
        }
    }
}

fn bind_one(opts: &BindOptions, addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SockProto::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if opts.keepalive.enabled {
        apply_keepalive(&socket, &opts.keepalive)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(effective_backlog(opts.backlog))?;
    Ok(socket.into())
}

/// The accept queue is never shorter than this: `net.core.somaxconn`'s default since Linux 5.4,
/// which caps it anyway (Go's listeners ask for somaxconn too).
const MIN_BACKLOG: i32 = 4096;

/// The `-b` value, raised to [`MIN_BACKLOG`]. The original's default of 32 is a relic: when
/// clients connect in a burst while the accepting thread waits for a CPU, a short queue
/// overflows, the kernel drops SYNs and each dropped client stalls for the SYN retransmit timer
/// (a second, then more). Queued connections cost a few hundred bytes of kernel memory each,
/// only while they wait; the kernel still caps the value at `net.core.somaxconn`.
fn effective_backlog(requested: i32) -> i32 {
    requested.max(MIN_BACKLOG)
}

/// SO_KEEPALIVE plus the TCP_KEEP* timings that are not -1.
pub fn apply_keepalive(socket: &Socket, k: &Keepalive) -> io::Result<()> {
    socket.set_keepalive(true)?;
    let mut ka = TcpKeepalive::new();
    if k.idle >= 0 {
        ka = ka.with_time(Duration::from_secs(k.idle as u64));
    }
    if k.interval >= 0 {
        ka = ka.with_interval(Duration::from_secs(k.interval as u64));
    }
    if k.count >= 0 {
        ka = ka.with_retries(k.count as u32);
    }
    if k.idle >= 0 || k.interval >= 0 || k.count >= 0 {
        socket.set_tcp_keepalive(&ka)?;
    }
    Ok(())
}

/// getaddrinfo(host, port, AI_PASSIVE, SOCK_STREAM): a missing host means every local address
/// (0.0.0.0 and ::); the port may be a service name.
pub fn resolve(host: Option<&str>, port: &str) -> Result<Vec<SocketAddr>, ListenError> {
    let bad = |m: &str| ListenError::Resolve(format!("{m} in -L/--listen or port '{port}'"));
    let c_host = host.map(CString::new).transpose().map_err(|_| bad("NUL"))?;
    let c_port = CString::new(port).map_err(|_| bad("NUL"))?;
    // SAFETY: plain getaddrinfo/freeaddrinfo use with valid C strings and a zeroed hints struct;
    // the result list is only read before it is freed.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_PASSIVE;
        hints.ai_family = libc::AF_UNSPEC;
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_protocol = libc::IPPROTO_TCP;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        let host_ptr = c_host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr());
        let rc = libc::getaddrinfo(host_ptr, c_port.as_ptr(), &hints, &mut res);
        if rc != 0 {
            let msg = CStr::from_ptr(libc::gai_strerror(rc)).to_string_lossy();
            let shown = host.unwrap_or("*");
            return Err(ListenError::Resolve(format!(
                "getaddrinfo({shown}, {port}): {msg}"
            )));
        }
        let mut out = Vec::new();
        let mut p = res;
        while !p.is_null() {
            let ai = &*p;
            let storage = SockAddr::try_init(|st, len| {
                std::ptr::copy_nonoverlapping(
                    ai.ai_addr as *const u8,
                    st as *mut u8,
                    ai.ai_addrlen as usize,
                );
                *len = ai.ai_addrlen;
                Ok(())
            });
            if let Some(a) = storage.ok().and_then(|(_, a)| a.as_socket()) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
            p = ai.ai_next;
        }
        libc::freeaddrinfo(res);
        Ok(out)
    }
}
