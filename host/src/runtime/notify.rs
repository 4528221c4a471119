//! Readiness notification for service managers (systemd's `Type=notify`), without libsystemd.
//!
//! The protocol (sd_notify(3)) is one datagram of `KEY=VALUE` lines sent to the unix socket named
//! by the environment variable `NOTIFY_SOCKET`: a path, or `@name` for the Linux abstract
//! namespace. When the variable is unset nothing is sent and nothing fails: the server runs the
//! same under a shell, a test harness or a service manager.
//!
//! The runtime calls [`Readiness::announce`] once, after the queue has been replayed and just
//! before the server starts accepting, so `systemctl start gearmand` returns only when clients
//! can be served. Dropping the returned guard, when the server returns from serving (or fails),
//! sends `STOPPING=1`. A notification that cannot be delivered is logged, never fatal: readiness
//! is a courtesy to the service manager, not a reason to refuse service.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The environment variable a service manager sets to the socket it listens on.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// The states the server reports. The strings are sd_notify's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Startup finished: the queue is replayed and the listening sockets are about to be served.
    Ready,
    /// Shutdown began.
    Stopping,
}

impl State {
    /// The datagram for this state.
    pub fn message(self) -> &'static str {
        match self {
            State::Ready => "READY=1\nSTATUS=Accepting connections\n",
            State::Stopping => "STOPPING=1\n",
        }
    }
}

/// What [`send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// The datagram was sent.
    Sent,
    /// `NOTIFY_SOCKET` is unset or empty: no service manager is listening.
    NoManager,
}

/// Why a notification could not be sent.
#[derive(Debug)]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor `@name`.
    BadAddress(OsString),
    /// Creating the socket or sending failed.
    Io(io::Error),
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::BadAddress(a) => {
                write!(f, "{NOTIFY_SOCKET}={a:?} is not a socket path or @name")
            }
            NotifyError::Io(e) => write!(f, "cannot notify the service manager: {e}"),
        }
    }
}

impl std::error::Error for NotifyError {}

/// Sends `state` to the socket named by `NOTIFY_SOCKET`, if any.
pub fn send(state: State) -> Result<Notified, NotifyError> {
    match std::env::var_os(NOTIFY_SOCKET) {
        Some(socket) if !socket.is_empty() => {
            send_to(&socket, state.message()).map(|_| Notified::Sent)
        }
        _ => Ok(Notified::NoManager),
    }
}

/// Sends `message` as one datagram to `socket` (a path, or `@name` in the abstract namespace).
pub fn send_to(socket: &OsStr, message: &str) -> Result<(), NotifyError> {
    let addr = address(socket)?;
    let sock = UnixDatagram::unbound().map_err(NotifyError::Io)?;
    let sent = sock
        .send_to_addr(message.as_bytes(), &addr)
        .map_err(NotifyError::Io)?;
    // A datagram is all or nothing; a short count would mean a truncated, misread message.
    if sent != message.len() {
        return Err(NotifyError::Io(io::Error::new(
            io::ErrorKind::WriteZero,
            "short datagram",
        )));
    }
    Ok(())
}

/// `@name` → abstract address `\0name`; `/path` → that path. Anything else is refused, as
/// sd_notify does, rather than being resolved against the working directory.
fn address(socket: &OsStr) -> Result<SocketAddr, NotifyError> {
    let bytes = socket.as_bytes();
    match bytes.first() {
        Some(b'@') => abstract_address(&bytes[1..]).map_err(NotifyError::Io),
        Some(b'/') => SocketAddr::from_pathname(socket).map_err(NotifyError::Io),
        _ => Err(NotifyError::BadAddress(socket.to_owned())),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract unix sockets exist only on Linux",
    ))
}

/// Sends `state`, logging (not returning) a failure.
fn send_logged(state: State) {
    match send(state) {
        Ok(Notified::Sent) => log::debug!("told the service manager: {}", state.message().trim()),
        Ok(Notified::NoManager) => {}
        Err(e) => log::warn!("{e}"),
    }
}

/// Held while the server serves: created by announcing readiness, sends `STOPPING=1` on drop.
#[must_use = "dropping the guard at once would announce stopping right after ready"]
pub struct Readiness(());

impl Readiness {
    /// Tells the service manager (if any) that the server is ready.
    pub fn announce() -> Readiness {
        send_logged(State::Ready);
        Readiness(())
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        send_logged(State::Stopping);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receiver(sock: &UnixDatagram) -> impl FnMut() -> String + '_ {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        move || {
            let mut buf = [0u8; 512];
            let n = sock.recv(&mut buf).expect("a datagram within 5 s");
            String::from_utf8(buf[..n].to_vec()).unwrap()
        }
    }

    #[test]
    fn sends_to_a_socket_path() {
        let dir = std::env::temp_dir().join(format!("gearmand-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        let mut recv = receiver(&sock);
        send_to(path.as_os_str(), State::Ready.message()).unwrap();
        assert_eq!(recv(), "READY=1\nSTATUS=Accepting connections\n");
        send_to(path.as_os_str(), State::Stopping.message()).unwrap();
        assert_eq!(recv(), "STOPPING=1\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("gearmand-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let sock = UnixDatagram::bind_addr(&addr).unwrap();
        let mut recv = receiver(&sock);
        send_to(OsStr::new(&format!("@{name}")), "RELOADING=1\n").unwrap();
        assert_eq!(recv(), "RELOADING=1\n");
    }

    #[test]
    fn relative_and_empty_addresses_are_refused() {
        for bad in ["relative.sock", ""] {
            match send_to(OsStr::new(bad), "READY=1\n") {
                Err(NotifyError::BadAddress(a)) => assert_eq!(a, OsStr::new(bad)),
                other => panic!("{bad:?}: expected BadAddress, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_missing_listener_is_an_io_error() {
        let path =
            std::env::temp_dir().join(format!("gearmand-no-such-{}.sock", std::process::id()));
        assert!(matches!(
            send_to(path.as_os_str(), "READY=1\n"),
            Err(NotifyError::Io(_))
        ));
    }
}
