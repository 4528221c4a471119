//! Phase one of decoding: look at the bytes at a frame boundary and say what is there — not enough
//! bytes yet, an admin text line, a complete binary packet, or a framing error — without copying
//! or splitting anything. Phase two ([`crate::codec`]) splits what this accepted.
//!
//! The rules are docs/gear-protocol.md §1 and docs/admin-protocol.md "Line parsing":
//! - first byte non-zero: a text line up to `\n`; 8192 bytes without `\n` close the connection;
//! - first byte zero: a 12-byte header (magic, type, body length, big-endian) and the body;
//!   a magic other than `\0REQ`/`\0RES`, a type outside 1..=42, a frame whose header and
//!   NUL-terminated arguments do not fit the original's 8192-byte receive buffer, and a missing
//!   NUL inside the declared body (the *Recommended* fix) all close the connection.

use gearmand_plugin_api::gear::{self, Layout};
use std::fmt;

/// The original's receive buffer: a text line, or a packet header plus its NUL-terminated
/// arguments, must fit in it.
pub const RECV_BUFFER: usize = 8192;
/// Bytes in a binary packet header.
pub const HEADER_LEN: usize = 12;
/// Magic of packets from clients and workers.
pub const REQ_MAGIC: [u8; 4] = *b"\0REQ";
/// Magic of packets from the server.
pub const RES_MAGIC: [u8; 4] = *b"\0RES";

/// Which magic a packet carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    /// `\0REQ`: a request, as expected.
    Request,
    /// `\0RES`: a response sent to the server; answered with `ERROR INVALID_MAGIC`.
    Response,
}

/// What the bytes at a frame boundary hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The frame is not complete yet; keep the bytes and wait for more.
    NeedMore,
    /// An admin text line: the line is `input[..end]` (without `\r\n`); the frame is `used` bytes.
    Line { end: usize, used: usize },
    /// A complete binary packet: the body is `input[HEADER_LEN..HEADER_LEN + body_len]`.
    Packet {
        magic: Magic,
        ptype: u32,
        layout: Layout,
        body_len: usize,
    },
    /// A framing error: close the connection without a reply.
    Close(FramingError),
    /// The header declares a packet (header plus body) larger than the configured maximum:
    /// refused before its body is buffered.
    OverLimit { declared: u64 },
}

/// Why a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// 8192 bytes of text without a `\n`.
    LineTooLong,
    /// Magic neither `\0REQ` nor `\0RES`.
    BadMagic,
    /// Packet type 0 or past 42.
    BadType(u32),
    /// Header plus NUL-terminated arguments larger than the receive buffer.
    TooLarge,
    /// The body ends before all its NUL-terminated arguments do.
    MissingNul,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::LineTooLong => write!(f, "text line longer than {RECV_BUFFER} bytes"),
            FramingError::BadMagic => write!(f, "packet magic is neither \\0REQ nor \\0RES"),
            FramingError::BadType(t) => write!(f, "invalid packet type {t}"),
            FramingError::TooLarge => {
                write!(f, "packet arguments larger than {RECV_BUFFER} bytes")
            }
            FramingError::MissingNul => write!(f, "packet body lacks a required NUL"),
        }
    }
}

/// Checks the frame at the start of `input`, with no packet size limit but the protocol's.
pub fn scan(input: &[u8]) -> Scan {
    scan_with(input, usize::MAX)
}

/// Checks the frame at the start of `input`; a packet over `max_packet` bytes (header included)
/// is [`Scan::OverLimit`] as soon as its header is there.
pub fn scan_with(input: &[u8], max_packet: usize) -> Scan {
    match input.first() {
        None => Scan::NeedMore,
        Some(0) => scan_packet(input, max_packet),
        Some(_) => scan_line(input),
    }
}

/// A text line ends at the first `\n` within the receive buffer; one `\r` before it is dropped.
fn scan_line(input: &[u8]) -> Scan {
    let window = &input[..input.len().min(RECV_BUFFER)];
    match window.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            let end = if nl > 0 && window[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            Scan::Line { end, used: nl + 1 }
        }
        None if input.len() >= RECV_BUFFER => Scan::Close(FramingError::LineTooLong),
        None => Scan::NeedMore,
    }
}

fn scan_packet(input: &[u8], max_packet: usize) -> Scan {
    // The magic can be judged as soon as it is there; the rest needs the whole header.
    if input.len() >= 4 && magic(input).is_none() {
        return Scan::Close(FramingError::BadMagic);
    }
    if input.len() < HEADER_LEN {
        return Scan::NeedMore;
    }
    let Some(magic) = magic(input) else {
        return Scan::Close(FramingError::BadMagic);
    };
    let ptype = be_u32(&input[4..8]);
    let Some(layout) = gear::layout(ptype) else {
        return Scan::Close(FramingError::BadType(ptype));
    };
    let body_len = be_u32(&input[8..12]) as usize;
    let declared = HEADER_LEN as u64 + body_len as u64;
    if declared > max_packet as u64 {
        return Scan::OverLimit { declared };
    }
    if let Some(err) = check_arguments(layout, body_len, &input[HEADER_LEN..]) {
        return err;
    }
    if input.len() - HEADER_LEN < body_len {
        return Scan::NeedMore;
    }
    Scan::Packet {
        magic,
        ptype,
        layout,
        body_len,
    }
}

/// NULs a body of this layout must contain: one after each argument, except that the last
/// argument of a non-data packet runs to the end of the body.
pub fn required_nuls(layout: Layout) -> usize {
    if layout.data {
        layout.args as usize
    } else {
        (layout.args as usize).saturating_sub(1)
    }
}

/// Checks that the header and NUL-terminated arguments fit the receive buffer and that the
/// required NULs are inside the body. Returns `None` when the packet may proceed (possibly still
/// waiting for the rest of its body), or the verdict to return.
fn check_arguments(layout: Layout, body_len: usize, body: &[u8]) -> Option<Scan> {
    let limit = RECV_BUFFER - HEADER_LEN;
    // A non-data packet is read whole into the buffer.
    if !layout.data && body_len > limit {
        return Some(Scan::Close(FramingError::TooLarge));
    }
    let required = required_nuls(layout);
    // An empty body carries no arguments at all (the original accepts it; they read as empty).
    if required == 0 || body_len == 0 {
        return None;
    }
    let window = body_len.min(limit);
    let seen = &body[..body.len().min(window)];
    if seen.iter().filter(|&&b| b == 0).take(required).count() == required {
        return None;
    }
    if seen.len() < window {
        return Some(Scan::NeedMore);
    }
    Some(Scan::Close(if body_len > limit {
        FramingError::TooLarge
    } else {
        FramingError::MissingNul
    }))
}

fn magic(input: &[u8]) -> Option<Magic> {
    match &input[..4] {
        m if m == REQ_MAGIC => Some(Magic::Request),
        m if m == RES_MAGIC => Some(Magic::Response),
        _ => None,
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
