//! Just enough of the gear binary protocol for a load generator: write requests, read responses.
//!
//! The bench speaks the protocol itself (no client library) so that what it measures is the server,
//! and so that it can check every reply byte by byte.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub const CAN_DO: u32 = 1;
pub const PRE_SLEEP: u32 = 4;
pub const NOOP: u32 = 6;
pub const SUBMIT_JOB: u32 = 7;
pub const JOB_CREATED: u32 = 8;
pub const GRAB_JOB: u32 = 9;
pub const NO_JOB: u32 = 10;
pub const JOB_ASSIGN: u32 = 11;
pub const WORK_COMPLETE: u32 = 13;
pub const ECHO_REQ: u32 = 16;
pub const ECHO_RES: u32 = 17;
pub const SUBMIT_JOB_BG: u32 = 18;
pub const ERROR: u32 = 19;

/// One response packet.
#[derive(Debug)]
pub struct Packet {
    pub kind: u32,
    pub body: Vec<u8>,
}

impl Packet {
    /// The body split at the first `n` NULs (the rest is the last piece).
    pub fn split(&self, n: usize) -> Vec<&[u8]> {
        self.body.splitn(n + 1, |b| *b == 0).collect()
    }
}

/// A buffered connection to a gear server.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

/// A handle that can close a connection from another thread (to stop a blocked worker).
#[derive(Debug)]
pub struct Closer(TcpStream);

impl Closer {
    pub fn close(&self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

impl Conn {
    pub fn connect(addr: &str) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let r = s.try_clone()?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, r),
            writer: BufWriter::with_capacity(64 * 1024, s),
        })
    }

    /// A handle to close this connection from elsewhere.
    pub fn closer(&self) -> io::Result<Closer> {
        Ok(Closer(self.writer.get_ref().try_clone()?))
    }

    /// Queues a request (args joined by NUL); nothing is sent until `flush`.
    pub fn send(&mut self, kind: u32, args: &[&[u8]]) -> io::Result<()> {
        let len: usize = args.iter().map(|a| a.len()).sum::<usize>() + args.len().saturating_sub(1);
        let mut head = [0u8; 12];
        head[..4].copy_from_slice(b"\0REQ");
        head[4..8].copy_from_slice(&kind.to_be_bytes());
        head[8..].copy_from_slice(&(len as u32).to_be_bytes());
        self.writer.write_all(&head)?;
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.writer.write_all(&[0])?;
            }
            self.writer.write_all(a)?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// Reads one response packet (blocking).
    pub fn recv(&mut self) -> io::Result<Packet> {
        let mut head = [0u8; 12];
        self.reader.read_exact(&mut head)?;
        if &head[..4] != b"\0RES" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad response magic",
            ));
        }
        let kind = u32::from_be_bytes(head[4..8].try_into().unwrap());
        let len = u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body)?;
        if kind == ERROR {
            return Err(io::Error::other(format!(
                "server ERROR: {}",
                String::from_utf8_lossy(&body).replace('\0', " ")
            )));
        }
        Ok(Packet { kind, body })
    }

    /// Reads one packet and checks its type.
    pub fn expect(&mut self, kind: u32) -> io::Result<Packet> {
        let p = self.recv()?;
        if p.kind != kind {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected packet type {kind}, got {}", p.kind),
            ));
        }
        Ok(p)
    }
}

/// Waits until `addr` accepts a connection, for at most `limit`. Between tries `gone` may end the
/// wait with its reason (a server that exited at startup, say).
pub fn await_listening(
    addr: &str,
    limit: Duration,
    mut gone: impl FnMut() -> Option<String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while let Err(e) = TcpStream::connect(addr) {
        if let Some(why) = gone() {
            return Err(why);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{addr} did not accept a connection within {limit:?}: {e}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
