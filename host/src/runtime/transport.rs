//! The byte pipe under a connection: the plain socket, or a TLS session over it.
//!
//! [`Conn`](super::conn::Conn) reads plaintext and writes plaintext through a [`Transport`] and
//! never needs to know which one it has. With TLS, reading first drains plaintext rustls already
//! decrypted, then feeds it more records from the socket; writing hands plaintext to rustls and
//! pushes the resulting records out. rustls holds at most a small, fixed buffer per connection
//! (see [`super::tls`]); everything else waits in the connection's own output buffer, where the
//! backpressure limits can see it.

use mio::net::TcpStream;
use rustls::ServerConnection;
use std::io::{ErrorKind, Read, Write};

/// What one read attempt produced.
#[derive(Debug)]
pub enum Fill {
    /// `n` plaintext bytes are at the start of the buffer.
    Data(usize),
    /// Nothing more for now.
    WouldBlock,
    /// The peer closed (EOF, or a TLS close_notify).
    Eof,
    /// The socket failed.
    Failed(std::io::Error),
    /// The TLS layer refused the peer (bad handshake, certificate, or not TLS at all).
    Rejected(rustls::Error),
}

/// What one write attempt did.
#[derive(Debug)]
pub enum Push {
    /// `n` bytes were taken (0: none could be taken now and nothing is waiting to go out).
    Took(usize),
    /// The socket is full: wait for WRITABLE.
    WouldBlock,
    /// The socket failed.
    Failed(std::io::Error),
}

pub enum Transport {
    Plain,
    Tls(Box<ServerConnection>),
}

impl Transport {
    /// True while a TLS handshake is still going on.
    pub fn handshaking(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(s) => s.is_handshaking(),
        }
    }

    /// True if TLS records are waiting to be written.
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(s) => s.wants_write(),
        }
    }

    /// The DER certificates the client presented (TLS with a verified client certificate).
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        match self {
            Transport::Plain => None,
            Transport::Tls(s) => s.peer_certificates(),
        }
    }

    /// Reads plaintext into `buf`.
    pub fn read(&mut self, stream: &mut TcpStream, buf: &mut [u8]) -> Fill {
        match self {
            Transport::Plain => read_plain(stream, buf),
            Transport::Tls(s) => read_tls(s, stream, buf),
        }
    }

    /// Hands plaintext to the transport (written to the socket, or to the TLS session).
    pub fn write(&mut self, stream: &mut TcpStream, data: &[u8]) -> Push {
        match self {
            Transport::Plain => loop {
                match stream.write(data) {
                    Ok(0) => return Push::Failed(ErrorKind::WriteZero.into()),
                    Ok(n) => return Push::Took(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Push::WouldBlock,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Push::Failed(e),
                }
            },
            // Bounded by the session's buffer limit; Ok(0) when full or mid-handshake.
            Transport::Tls(s) => match s.writer().write(data) {
                Ok(n) => Push::Took(n),
                Err(e) => Push::Failed(e),
            },
        }
    }

    /// Writes pending TLS records; `Took(0)` when none are left.
    pub fn flush_records(&mut self, stream: &mut TcpStream) -> Push {
        let Transport::Tls(s) = self else {
            return Push::Took(0);
        };
        let mut total = 0;
        while s.wants_write() {
            match s.write_tls(stream) {
                Ok(0) => return Push::Failed(ErrorKind::WriteZero.into()),
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Push::WouldBlock,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Push::Failed(e),
            }
        }
        Push::Took(total)
    }

    /// Best effort before closing: a TLS close_notify (or the alert of a failed handshake).
    pub fn goodbye(&mut self, stream: &mut TcpStream) {
        if let Transport::Tls(s) = self {
            if !s.is_handshaking() {
                s.send_close_notify();
            }
            let _ = self.flush_records(stream);
        }
    }
}

fn read_plain(stream: &mut TcpStream, buf: &mut [u8]) -> Fill {
    loop {
        match stream.read(buf) {
            Ok(0) => return Fill::Eof,
            Ok(n) => return Fill::Data(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Fill::WouldBlock,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Fill::Failed(e),
        }
    }
}

fn read_tls(s: &mut ServerConnection, stream: &mut TcpStream, buf: &mut [u8]) -> Fill {
    loop {
        // Plaintext already decrypted goes first, so rustls' buffer never fills up.
        match s.reader().read(buf) {
            Ok(0) => return Fill::Eof,
            Ok(n) => return Fill::Data(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Fill::Failed(e),
        }
        match s.read_tls(stream) {
            Ok(0) => return Fill::Eof,
            Ok(_) => {
                if let Err(e) = s.process_new_packets() {
                    return Fill::Rejected(e);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Fill::WouldBlock,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Fill::Failed(e),
        }
    }
}
