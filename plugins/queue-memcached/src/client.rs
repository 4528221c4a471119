//! A small memcached text-protocol client for one server: just `set`, `delete`, multi-`get`,
//! `version` and the key-listing commands replay needs.
//!
//! Writes are batched: [`Server::push_set`] / [`Server::push_delete`] append a command to a
//! buffer and [`Server::execute`] sends the whole batch in one write and reads the replies in
//! order (memcached answers pipelined requests in order), which is the group commit.
//!
//! Every socket has connect, read and write timeouts, so a dead or hung memcached becomes an
//! error within a bounded time. A connection that failed is dropped and the next call connects
//! again; a batch that fails on a *reused* connection (memcached restarted meanwhile) is retried
//! once on a fresh one, which is safe because `set` and `delete` are idempotent.
//!
//! Hand-written on purpose: the crates for memcached offer single commands, while the queue needs
//! a whole group of `set`s and `delete`s pipelined in one write, and replay needs
//! `lru_crawler metadump` and `stats cachedump` ([`crate::dump`]), which none of them speaks.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any one read or write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of this module.
#[derive(Debug)]
pub enum McError {
    /// The connection failed or timed out; it has been dropped.
    Io(io::Error),
    /// memcached answered `ERROR`, `CLIENT_ERROR ...` or `SERVER_ERROR ...` (connection kept).
    Server(String),
    /// An answer this client did not expect; the connection is dropped to resynchronise.
    Protocol(String),
}

impl std::fmt::Display for McError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McError::Io(e) if is_timeout(e) => write!(f, "timed out ({e})"),
            McError::Io(e) => write!(f, "{e}"),
            McError::Server(line) => write!(f, "server replied {line:?}"),
            McError::Protocol(what) => write!(f, "unexpected reply: {what}"),
        }
    }
}

impl From<io::Error> for McError {
    fn from(e: io::Error) -> Self {
        McError::Io(e)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// What the reply to a pushed command must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Stored,
    /// `DELETED` or `NOT_FOUND` (removing a missing job is fine).
    Deleted,
}

/// One item from a `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Vec<u8>,
    pub flags: u32,
    pub value: Vec<u8>,
}

/// One live connection: a buffered reader whose inner stream is also used for writing.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str) -> io::Result<Conn> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolves to nothing");
        for sa in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&sa, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(IO_TIMEOUT))?;
                    stream.set_write_timeout(Some(IO_TIMEOUT))?;
                    stream.set_nodelay(true)?;
                    return Ok(Conn {
                        reader: BufReader::new(stream),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// One reply line without its `\r\n`; EOF is an error.
    pub fn line(&mut self) -> Result<Vec<u8>, McError> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Err(McError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(line)
    }

    /// An error line (`ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...`) as an error, else the line.
    pub fn reply(&mut self) -> Result<Vec<u8>, McError> {
        let line = self.line()?;
        let error = line == b"ERROR"
            || line.starts_with(b"ERROR ")
            || line.starts_with(b"CLIENT_ERROR")
            || line.starts_with(b"SERVER_ERROR");
        if error {
            return Err(McError::Server(String::from_utf8_lossy(&line).into_owned()));
        }
        Ok(line)
    }

    /// Reads the items of a `get` up to `END`.
    fn items(&mut self, out: &mut Vec<Item>) -> Result<(), McError> {
        loop {
            let line = self.reply()?;
            if line == b"END" {
                return Ok(());
            }
            let (key, flags, len) = parse_value_header(&line)?;
            let mut value = vec![0; len + 2];
            self.reader.read_exact(&mut value)?;
            if !value.ends_with(b"\r\n") {
                return Err(McError::Protocol("value not followed by CRLF".into()));
            }
            value.truncate(len);
            out.push(Item { key, flags, value });
        }
    }
}

/// `VALUE <key> <flags> <bytes> [<cas>]` → (key, flags, bytes).
fn parse_value_header(line: &[u8]) -> Result<(Vec<u8>, u32, usize), McError> {
    let bad = || {
        McError::Protocol(format!(
            "bad VALUE line {:?}",
            String::from_utf8_lossy(line)
        ))
    };
    let mut parts = line.split(|&b| b == b' ');
    if parts.next() != Some(b"VALUE") {
        return Err(bad());
    }
    let key = parts.next().ok_or_else(bad)?.to_vec();
    let mut number = || -> Result<u64, McError> {
        let field = parts.next().ok_or_else(bad)?;
        std::str::from_utf8(field)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    let flags = u32::try_from(number()?).map_err(|_| bad())?;
    let len = usize::try_from(number()?).map_err(|_| bad())?;
    Ok((key, flags, len))
}

/// One memcached server: its address, a lazily opened connection, and the pending batch.
pub struct Server {
    addr: String,
    conn: Option<Conn>,
    batch: Vec<u8>,
    expects: Vec<Expect>,
}

impl Server {
    pub fn new(addr: String) -> Server {
        Server {
            addr,
            conn: None,
            batch: Vec::new(),
            expects: Vec::new(),
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A new, separate connection (replay lists keys on one while reading items on another).
    pub fn connect_new(&self) -> Result<Conn, McError> {
        Ok(Conn::open(&self.addr)?)
    }

    /// Queues `set <key> <flags> 0 <len>` (no expiry) with `value`.
    pub fn push_set(&mut self, key: &[u8], flags: u32, value: &[u8]) {
        self.batch.extend_from_slice(b"set ");
        self.batch.extend_from_slice(key);
        self.batch
            .extend_from_slice(format!(" {flags} 0 {}\r\n", value.len()).as_bytes());
        self.batch.extend_from_slice(value);
        self.batch.extend_from_slice(b"\r\n");
        self.expects.push(Expect::Stored);
    }

    /// Queues `delete <key>`.
    pub fn push_delete(&mut self, key: &[u8]) {
        self.batch.extend_from_slice(b"delete ");
        self.batch.extend_from_slice(key);
        self.batch.extend_from_slice(b"\r\n");
        self.expects.push(Expect::Deleted);
    }

    pub fn has_pending(&self) -> bool {
        !self.expects.is_empty()
    }

    /// Sends the pending batch and checks every reply. The batch is settled either way.
    pub fn execute(&mut self) -> Result<(), McError> {
        if self.expects.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let expects = std::mem::take(&mut self.expects);
        self.with_conn(|conn| {
            conn.send(&batch)?;
            let mut first_error = None;
            for expect in &expects {
                // Read every reply even after an error, so the connection stays in step.
                let outcome = match (conn.reply(), expect) {
                    (Ok(l), Expect::Stored) if l == b"STORED" => Ok(()),
                    (Ok(l), Expect::Deleted) if l == b"DELETED" || l == b"NOT_FOUND" => Ok(()),
                    (Ok(l), _) => Err(McError::Server(String::from_utf8_lossy(&l).into_owned())),
                    (Err(e @ McError::Server(_)), _) => Err(e),
                    (Err(e), _) => return Err(e),
                };
                first_error = first_error.or(outcome.err());
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// `get` of several keys at once (keys must be valid memcached keys).
    pub fn get_many(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Item>, McError> {
        let mut request = b"get".to_vec();
        for key in keys {
            request.push(b' ');
            request.extend_from_slice(key);
        }
        request.extend_from_slice(b"\r\n");
        self.with_conn(|conn| {
            conn.send(&request)?;
            let mut items = Vec::with_capacity(keys.len());
            conn.items(&mut items)?;
            Ok(items)
        })
    }

    /// `version`: proves the server is there and speaks the protocol.
    pub fn version(&mut self) -> Result<String, McError> {
        self.with_conn(|conn| {
            conn.send(b"version\r\n")?;
            let line = conn.reply()?;
            match line.strip_prefix(b"VERSION ") {
                Some(v) => Ok(String::from_utf8_lossy(v).into_owned()),
                None => Err(McError::Protocol(
                    String::from_utf8_lossy(&line).into_owned(),
                )),
            }
        })
    }

    /// Runs `op` on the connection (opening it if needed), dropping a failed connection and
    /// retrying once when a reused connection turned out to be dead.
    fn with_conn<T>(
        &mut self,
        mut op: impl FnMut(&mut Conn) -> Result<T, McError>,
    ) -> Result<T, McError> {
        let reused = self.conn.is_some();
        match self.attempt(&mut op) {
            Err(McError::Io(e)) if reused && !is_timeout(&e) => {
                log::warn!(
                    "memcached {}: connection lost ({e}); reconnecting",
                    self.addr
                );
                self.attempt(&mut op)
            }
            other => other,
        }
    }

    fn attempt<T>(
        &mut self,
        op: &mut impl FnMut(&mut Conn) -> Result<T, McError>,
    ) -> Result<T, McError> {
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => self.conn.insert(Conn::open(&self.addr)?),
        };
        let result = op(conn);
        if matches!(result, Err(McError::Io(_) | McError::Protocol(_))) {
            self.conn = None;
        }
        result
    }
}
