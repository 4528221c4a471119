//! One Redis connection that fails fast and heals itself.
//!
//! Every command runs under a connect timeout and a read/write timeout, so a dead or hung Redis
//! turns into an error within a bounded time instead of a stuck server. A connection that broke
//! (reset, closed, timed out) is dropped; the next command connects afresh. When a command fails
//! because a *reused* connection turned out to be dead (Redis restarted, `CLIENT KILL`, idle
//! timeout), it is retried once on a new connection: everything this plugin sends is idempotent
//! (DEL, HSET of whole records, reads), so a retry cannot double anything.

use crate::error::Error;
use redis::{Client, Connection, ConnectionAddr, ConnectionInfo, RedisConnectionInfo, RedisError};
use std::time::Duration;

/// How long to wait for TCP connect plus handshake (AUTH, SETNAME).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any one reply may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub password: Option<String>,
    /// Shown by `CLIENT LIST`, so an operator can tell the queue's connection apart.
    pub client_name: String,
}

/// What a failed command means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection is unusable; a fresh one may work.
    Broken,
    /// Timed out: Redis is slow or hung; retrying would only double the wait.
    TimedOut,
    /// Redis answered with an error; the connection is fine.
    Refused,
}

pub(crate) fn classify(e: &RedisError) -> Failure {
    if e.is_timeout() {
        Failure::TimedOut
    } else if e.is_io_error() || e.is_unrecoverable_error() {
        Failure::Broken
    } else {
        Failure::Refused
    }
}

/// A lazily (re)connected Redis connection.
pub struct Link {
    client: Client,
    target: Target,
    con: Option<Connection>,
}

impl Link {
    /// Connects now, so a wrong address or password stops startup with a clear message.
    pub fn open(target: Target) -> Result<Link, Error> {
        let info = ConnectionInfo {
            addr: ConnectionAddr::Tcp(target.host.clone(), target.port),
            redis: RedisConnectionInfo {
                password: target.password.clone(),
                ..Default::default()
            },
        };
        let client = Client::open(info).map_err(Error::BadAddress)?;
        let mut link = Link {
            client,
            target,
            con: None,
        };
        link.run("connect", |_| Ok(()))?;
        Ok(link)
    }

    /// `host:port` for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.target.host, self.target.port)
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let mut con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_read_timeout(Some(IO_TIMEOUT))?;
        con.set_write_timeout(Some(IO_TIMEOUT))?;
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&self.target.client_name)
            .query::<()>(&mut con)?;
        Ok(con)
    }

    /// Runs `op` on a live connection, reconnecting and retrying once as described above.
    /// `what` names the operation in the error message.
    pub fn run<T>(
        &mut self,
        what: &'static str,
        mut op: impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, Error> {
        let reused = self.con.is_some();
        match self.attempt(&mut op) {
            Ok(v) => Ok(v),
            Err(e) if reused && classify(&e) == Failure::Broken => {
                log::warn!(
                    "redis {}: connection lost ({e}); reconnecting",
                    self.address()
                );
                self.attempt(&mut op).map_err(|e| self.failed(what, e))
            }
            Err(e) => Err(self.failed(what, e)),
        }
    }

    /// One try: connect if needed, run, drop the connection if it broke.
    fn attempt<T>(
        &mut self,
        op: &mut impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, RedisError> {
        let con = match self.con.as_mut() {
            Some(con) => con,
            None => self.con.insert(self.connect()?),
        };
        let result = op(con);
        if let Err(e) = &result {
            if classify(e) != Failure::Refused {
                self.con = None;
            }
        }
        result
    }

    fn failed(&self, what: &'static str, source: RedisError) -> Error {
        Error::Failed {
            address: self.address(),
            what,
            source,
        }
    }
}
