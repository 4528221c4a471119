//! What can go wrong in the mysql queue, as one line each ([`Error`]), and how bad a failed
//! statement is for the connection ([`classify`]).

use gearmand_plugin_api::ReplayStopped;
use gearmand_sql_keytext::group::Lost;
use gearmand_sql_keytext::{BadTable, LimitError};
use std::fmt;

/// Server error codes after which the connection is gone (or its transaction is).
const ER_LOCK_DEADLOCK: u16 = 1213;
const ER_SERVER_SHUTDOWN: u16 = 1053;
const ER_CONNECTION_KILLED: u16 = 1927;
const ER_CLIENT_INTERACTION_TIMEOUT: u16 = 4031;

/// What went wrong, as the host shows it (one line).
#[derive(Debug)]
pub enum Error {
    /// The table option does not name a plain identifier.
    BadTable(BadTable),
    /// `--mysql-port` is not a port number.
    BadPort(String),
    Connect {
        target: String,
        source: mysql::Error,
    },
    Sql {
        what: &'static str,
        source: mysql::Error,
    },
    /// A unique or function name longer than its column, or a `when` that does not fit.
    Limit(LimitError),
    Lost(Lost),
    /// The host stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadTable(e) => write!(f, "{e}"),
            Error::BadPort(port) => write!(f, "invalid --mysql-port {port:?}"),
            Error::Connect { target, source } => {
                write!(f, "mysql: cannot connect to {target}: {source}")
            }
            Error::Sql { what, source } => write!(f, "mysql: {what} failed: {source}"),
            Error::Limit(e) => write!(f, "mysql: {e}"),
            Error::Lost(e) => write!(f, "mysql: {e}"),
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<LimitError> for Error {
    fn from(e: LimitError) -> Error {
        Error::Limit(e)
    }
}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}

/// How bad a failed statement was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection is gone: drop it; reconnect on the next call.
    Broken,
    /// The server rolled back the whole transaction (deadlock) but the connection lives.
    TxRolledBack,
    /// The server refused this statement only.
    Refused,
}

pub fn classify(e: &mysql::Error) -> Failure {
    match e {
        mysql::Error::MySqlError(m) => match m.code {
            ER_CONNECTION_KILLED | ER_SERVER_SHUTDOWN | ER_CLIENT_INTERACTION_TIMEOUT => {
                Failure::Broken
            }
            ER_LOCK_DEADLOCK => Failure::TxRolledBack,
            _ => Failure::Refused,
        },
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => Failure::Refused,
        _ => Failure::Broken,
    }
}
