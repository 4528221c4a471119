//! A tiny raw gear client for tests: builds `\0REQ` frames, reads exactly one `\0RES` packet or one
//! admin reply, always with a timeout so a missing reply fails the test instead of hanging it.
//!
//! Expected replies are compared as whole frames (`frame_res`), i.e. byte for byte.

use gearmand_plugin_api::gear::ptype;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Default time to wait for a reply that must come.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One packet as read from the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    /// The 4 magic bytes (`\0RES` from a server).
    pub magic: [u8; 4],
    pub ptype: u32,
    pub body: Vec<u8>,
}

impl Packet {
    /// The whole frame as it was on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12 + self.body.len());
        v.extend_from_slice(&self.magic);
        v.extend_from_slice(&self.ptype.to_be_bytes());
        v.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        v.extend_from_slice(&self.body);
        v
    }

    /// Arguments split on NUL (for display and loose checks only).
    pub fn args(&self) -> Vec<&[u8]> {
        self.body.split(|b| *b == 0).collect()
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({}) {:?}",
            gearmand_plugin_api::gear::name(self.ptype),
            self.ptype,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Build a frame with `magic`, packet type and args joined by single NULs (no trailing NUL).
pub fn frame(magic: &[u8; 4], ptype: u32, args: &[&[u8]]) -> Vec<u8> {
    let body = args.join(&0u8);
    let mut v = Vec::with_capacity(12 + body.len());
    v.extend_from_slice(magic);
    v.extend_from_slice(&ptype.to_be_bytes());
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(&body);
    v
}

/// A request frame (`\0REQ`).
pub fn frame_req(ptype: u32, args: &[&[u8]]) -> Vec<u8> {
    frame(b"\0REQ", ptype, args)
}

/// A response frame (`\0RES`), i.e. what we expect the server to send.
pub fn frame_res(ptype: u32, args: &[&[u8]]) -> Vec<u8> {
    frame(b"\0RES", ptype, args)
}

/// How a read ended when no complete reply arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// The peer closed the connection (EOF or reset).
    Closed,
    /// Nothing (complete) arrived in time.
    Timeout,
}

/// One client connection.
pub struct Conn {
    pub stream: TcpStream,
    /// Bytes read past the last returned reply.
    pending: Vec<u8>,
    echo_seq: u32,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect 127.0.0.1:{port}: {e}"));
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            pending: Vec::new(),
            echo_seq: 0,
        }
    }

    /// Send raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Send a `\0REQ` packet.
    pub fn send(&mut self, ptype: u32, args: &[&[u8]]) {
        let f = frame_req(ptype, args);
        self.send_raw(&f);
    }

    /// Send a `\0REQ` packet if the connection is still writable; false if the write failed.
    pub fn try_send(&mut self, ptype: u32, args: &[&[u8]]) -> bool {
        self.stream.write_all(&frame_req(ptype, args)).is_ok()
    }

    /// Read exactly one packet, or say why not, within `timeout`.
    pub fn try_recv(&mut self, timeout: Duration) -> Result<Packet, ReadEnd> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.pending.len() >= 12 {
                let len = u32::from_be_bytes(self.pending[8..12].try_into().unwrap()) as usize;
                if self.pending.len() >= 12 + len {
                    let rest = self.pending.split_off(12 + len);
                    let p = std::mem::replace(&mut self.pending, rest);
                    return Ok(Packet {
                        magic: p[0..4].try_into().unwrap(),
                        ptype: u32::from_be_bytes(p[4..8].try_into().unwrap()),
                        body: p[12..].to_vec(),
                    });
                }
            }
            self.fill(deadline)?;
        }
    }

    /// Read exactly one packet; panic if none arrives within [`REPLY_TIMEOUT`].
    pub fn recv(&mut self) -> Packet {
        match self.try_recv(REPLY_TIMEOUT) {
            Ok(p) => p,
            Err(e) => panic!("expected a packet, got {e:?} (pending {:?})", self.pending),
        }
    }

    /// Read one packet and assert it is byte-identical to `\0RES ptype args`.
    #[track_caller]
    pub fn expect(&mut self, ptype: u32, args: &[&[u8]]) {
        let got = self.recv();
        let want = frame_res(ptype, args);
        if got.to_bytes() != want {
            panic!(
                "reply mismatch\n  want {:?}\n  got  {:?}\n  want bytes {:?}\n  got bytes  {:?}",
                Packet {
                    magic: *b"\0RES",
                    ptype,
                    body: want[12..].to_vec()
                },
                got,
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got.to_bytes())
            );
        }
    }

    /// Send a request and expect one exact reply.
    #[track_caller]
    pub fn call(&mut self, ptype: u32, args: &[&[u8]], rtype: u32, rargs: &[&[u8]]) {
        self.send(ptype, args);
        self.expect(rtype, rargs);
    }

    /// Submit a job (`kind` with function, unique and data) and expect JOB_CREATED with `handle`.
    #[track_caller]
    pub fn created(&mut self, kind: u32, args: &[&[u8]], handle: &[u8]) {
        self.call(kind, args, ptype::JOB_CREATED, &[handle]);
    }

    /// Send GRAB_JOB and expect the JOB_ASSIGN of `assign` (handle, function, data).
    #[track_caller]
    pub fn assigned(&mut self, assign: &[&[u8]]) {
        self.call(ptype::GRAB_JOB, &[], ptype::JOB_ASSIGN, assign);
    }

    /// Round-trip an ECHO_REQ and assert nothing else arrived before its ECHO_RES. Since the
    /// server handles one connection's packets in order, this proves every packet sent earlier on
    /// this connection has been processed and produced no reply.
    #[track_caller]
    pub fn sync(&mut self) {
        self.echo_seq += 1;
        let tag = format!("sync-{}", self.echo_seq);
        self.send(ptype::ECHO_REQ, &[tag.as_bytes()]);
        self.expect(ptype::ECHO_RES, &[tag.as_bytes()]);
    }

    /// Assert the server closes this connection (within [`REPLY_TIMEOUT`]) without sending anything.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            match self.fill(deadline) {
                Err(ReadEnd::Closed) => break,
                Err(ReadEnd::Timeout) => panic!("server did not close the connection"),
                Ok(()) => {}
            }
        }
        assert!(
            self.pending.is_empty(),
            "server sent {:?} before closing",
            self.pending
        );
    }

    /// Assert nothing arrives (and the connection stays open) for `d`. Only for asserting the
    /// absence of a reply where no later event can prove it.
    #[track_caller]
    pub fn expect_silence(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        match self.fill(deadline) {
            Err(ReadEnd::Timeout) => {}
            Err(ReadEnd::Closed) => panic!("connection closed; expected silence"),
            Ok(()) => panic!("expected silence, got {:?}", self.pending),
        }
    }

    /// Assert no bytes arrive for `d`; the server closing the connection silently is accepted.
    #[track_caller]
    pub fn expect_no_reply(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while self.fill(deadline).is_ok() {}
        assert!(
            self.pending.is_empty(),
            "expected no reply, got {:?}",
            self.pending
        );
    }

    /// Send an admin line (`\n` appended if missing) and read one line reply (through `\n`).
    pub fn admin_line(&mut self, line: &str) -> String {
        self.send_admin(line);
        self.read_until(|b| b.contains(&b'\n'))
    }

    /// Send an admin line and read a list reply through its terminating `.\n` line.
    pub fn admin_list(&mut self, line: &str) -> String {
        self.send_admin(line);
        self.read_until(|b| b == b".\n" || b.ends_with(b"\n.\n") || b.starts_with(b"ERR "))
    }

    /// Read one list reply (through its `.\n` line) without sending anything.
    pub fn admin_list_reply(&mut self) -> String {
        self.read_until(|b| b == b".\n" || b.ends_with(b"\n.\n") || b.starts_with(b"ERR "))
    }

    fn send_admin(&mut self, line: &str) {
        let mut l = line.as_bytes().to_vec();
        if !l.ends_with(b"\n") {
            l.push(b'\n');
        }
        self.send_raw(&l);
    }

    /// Read until `done(bytes so far)`; for admin replies (which carry no length). The reply is
    /// everything read up to the first point where `done` holds, cut at a line end.
    pub fn read_until(&mut self, done: impl Fn(&[u8]) -> bool) -> String {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            // Check each line-end prefix so a following reply is left pending.
            let mut end = None;
            for (i, b) in self.pending.iter().enumerate() {
                if *b == b'\n' && done(&self.pending[..=i]) {
                    end = Some(i + 1);
                    break;
                }
            }
            if let Some(n) = end {
                let rest = self.pending.split_off(n);
                let got = std::mem::replace(&mut self.pending, rest);
                return String::from_utf8_lossy(&got).into_owned();
            }
            if let Err(e) = self.fill(deadline) {
                panic!(
                    "admin reply incomplete ({e:?}): {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
            }
        }
    }

    /// Read whatever arrives within `timeout` (for tests that compare raw streams).
    pub fn read_for(&mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        while self.fill(deadline).is_ok() {}
        std::mem::take(&mut self.pending)
    }

    /// Half-close our side and drop: the server sees EOF.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Read more bytes into `pending`, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadEnd> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadEnd::Timeout);
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 65536];
        match self.stream.read(&mut buf) {
            Ok(0) => Err(ReadEnd::Closed),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ReadEnd::Timeout)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadEnd::Closed),
        }
    }
}
