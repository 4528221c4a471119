//! What can go wrong in the memcached queue, one line each as the host shows it ([`Error`]).

use crate::client::McError;
use crate::layout::LayoutError;
use crate::servers::ServerListError;
use gearmand_plugin_api::ReplayStopped;
use std::fmt;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// `--libmemcached-servers` was not given.
    MissingServers,
    /// `--libmemcached-servers` could not be read.
    Servers(ServerListError),
    /// `--libmemcached-prefix` cannot start a memcached key.
    BadPrefix,
    /// A server did not answer `version` at startup.
    Unreachable { addr: String, source: McError },
    /// The job cannot be written as an item.
    Layout(LayoutError),
    /// Talking to server `addr` failed; `what` names the operation.
    Failed {
        addr: String,
        what: &'static str,
        source: McError,
    },
    /// The host stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingServers => {
                f.write_str("missing required --libmemcached-servers=<host:port,...> argument")
            }
            Error::Servers(e) => write!(f, "{e}"),
            Error::BadPrefix => {
                f.write_str("--libmemcached-prefix must be under 200 bytes without spaces")
            }
            Error::Unreachable { addr, source } => {
                write!(f, "memcached {addr}: not reachable: {source}")
            }
            Error::Layout(e) => write!(f, "memcached: cannot store job: {e}"),
            Error::Failed { addr, what, source } => {
                write!(f, "memcached {addr}: {what} failed: {source}")
            }
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ServerListError> for Error {
    fn from(e: ServerListError) -> Error {
        Error::Servers(e)
    }
}

impl From<LayoutError> for Error {
    fn from(e: LayoutError) -> Error {
        Error::Layout(e)
    }
}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}
