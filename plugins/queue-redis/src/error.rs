//! What can go wrong in the redis queue, one line each as the host shows it ([`Error`]).

use crate::link::{classify, Failure};
use gearmand_plugin_api::ReplayStopped;
use redis::RedisError;
use std::fmt;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// `--redis-port` is not a port number.
    BadPort(String),
    /// The client refused the address.
    BadAddress(RedisError),
    /// A command (or the connection for it) failed at `address`; `what` names the operation.
    Failed {
        address: String,
        what: &'static str,
        source: RedisError,
    },
    /// The host stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadPort(text) => {
                write!(f, "redis: --redis-port {text:?} is not a port number")
            }
            Error::BadAddress(e) => write!(f, "redis: bad address: {e}"),
            Error::Failed {
                address,
                what,
                source,
            } => {
                let hint = match classify(source) {
                    Failure::TimedOut => " (timed out)",
                    Failure::Broken => " (not reachable; will reconnect on the next call)",
                    Failure::Refused => "",
                };
                write!(f, "redis {address}: {what} failed: {source}{hint}")
            }
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}
