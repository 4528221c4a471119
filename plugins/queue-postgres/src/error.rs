//! What can go wrong in the postgres queue, as one line each ([`Error`]), and how bad a failed
//! statement is for the connection ([`classify`]).

use crate::conninfo::BadConninfo;
use gearmand_plugin_api::ReplayStopped;
use gearmand_sql_keytext::group::Lost;
use gearmand_sql_keytext::{BadTable, LimitError};
use postgres::Client;
use std::fmt;

/// What went wrong, as the host shows it (one line).
#[derive(Debug)]
pub enum Error {
    /// `--libpq-conninfo` could not be understood.
    BadConninfo(BadConninfo),
    /// The table option does not name a plain identifier.
    BadTable(BadTable),
    Connect {
        target: String,
        source: postgres::Error,
    },
    Sql {
        what: &'static str,
        source: postgres::Error,
    },
    /// A unique or function name longer than its column allows, or a `when` that does not fit
    /// the `when_to_run` column (INTEGER ends in 2038).
    Limit(LimitError),
    /// A row with this (unique, function) exists already.
    Duplicate,
    /// The transaction holding earlier adds died; they are not stored.
    Lost(Lost),
    /// A replayed row could not be decoded.
    BadRow(String),
    /// The host's replay callback refused a job.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadConninfo(e) => write!(f, "{e}"),
            Error::BadTable(e) => write!(f, "{e}"),
            Error::Connect { target, source } => {
                write!(f, "postgres: cannot connect to {target}: {}", full(source))
            }
            Error::Sql { what, source } => write!(f, "postgres: {what} failed: {}", full(source)),
            Error::Limit(e) => write!(f, "postgres: {e}"),
            Error::Duplicate => write!(
                f,
                "postgres: a job with this unique and function is already stored"
            ),
            Error::Lost(e) => write!(f, "postgres: {e}"),
            Error::BadRow(why) => write!(f, "postgres: unreadable row in the queue table: {why}"),
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

impl From<BadConninfo> for Error {
    fn from(e: BadConninfo) -> Error {
        Error::BadConninfo(e)
    }
}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}

/// The error with its cause (rust-postgres puts the server's message in the source).
pub fn full(e: &postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// How bad a failed statement was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection is gone: drop it, reconnect on the next call.
    Broken,
    /// The server refused the statement; the connection is fine but a transaction is aborted.
    Refused,
}

/// Classifies the failure of a statement on `client`.
pub fn classify(client: &Client, e: &postgres::Error) -> Failure {
    let class = e.code().map(|c| &c.code()[..2]);
    if client.is_closed() || e.is_closed() || e.as_db_error().is_none() {
        return Failure::Broken;
    }
    // 08: connection exception; 57: operator intervention (pg_terminate_backend, shutdown).
    match class {
        Some("08") | Some("57") => Failure::Broken,
        _ => Failure::Refused,
    }
}
