//! Phase two: the per-connection codec. Decoding walks the input frame by frame, letting
//! [`crate::scan`] judge each boundary, then splits accepted packets into arguments (on the
//! stack, no allocation) and hands them to the host. Encoding writes `\0RES` packets whose body
//! is the arguments joined by NUL bytes, or raw admin reply bytes.

use crate::limits::GearLimits;
use crate::scan::{scan_with, Magic, Scan, HEADER_LEN, RES_MAGIC};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::{self, ptype, Layout, MAX_ARGS};
use gearmand_plugin_api::{Codec, DecodeSink, EncodeOut, Next};

/// Body of the reply to a packet sent with the `\0RES` magic.
const INVALID_MAGIC_BODY: &[u8] = b"INVALID_MAGIC\0Request magic expected";

/// Gear needs no state between frames: every boundary is judged on its own bytes; only the
/// limits are per codec.
#[derive(Debug)]
pub struct GearCodec {
    limits: GearLimits,
}

impl GearCodec {
    /// A codec with no limits but the protocol's (the original's behaviour).
    pub fn new() -> GearCodec {
        GearCodec::with_limits(GearLimits::UNLIMITED)
    }

    /// A codec that applies `limits` (see [`crate::limits`]).
    pub fn with_limits(limits: GearLimits) -> GearCodec {
        GearCodec { limits }
    }
}

impl Default for GearCodec {
    fn default() -> Self {
        GearCodec::new()
    }
}

impl Codec for GearCodec {
    fn decode(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> (usize, Next) {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match scan_with(rest, self.limits.max_packet) {
                Scan::NeedMore => return (used, Next::Continue),
                Scan::OverLimit { declared } => {
                    log::warn!(
                        "closing connection: packet of {declared} bytes is over --max-packet-size {}",
                        self.limits.max_packet
                    );
                    error(sink, b"Packet larger than --max-packet-size");
                    return (used, Next::Close);
                }
                Scan::Close(why) => {
                    log::debug!("closing connection: {why}");
                    return (used, Next::Close);
                }
                Scan::Line { end, used: n } => {
                    sink.request(kind::ADMIN_LINE, &[&rest[..end]]);
                    used += n;
                }
                Scan::Packet {
                    magic,
                    ptype,
                    layout,
                    body_len,
                } => {
                    let body = &rest[HEADER_LEN..HEADER_LEN + body_len];
                    match magic {
                        Magic::Request => deliver(&self.limits, ptype, layout, body, sink),
                        Magic::Response => reject_response_magic(sink),
                    }
                    used += HEADER_LEN + body_len;
                }
            }
        }
    }

    fn encode(&mut self, kind: u32, args: &[&[u8]], out: &mut Vec<u8>) -> Next {
        let mut buf = Vec::new();
        let mut host = |bytes: &[u8]| out.extend_from_slice(bytes);
        let mut to = EncodeOut::new(&mut buf, &mut host);
        let decoded = self.encode_to(kind, args, &mut to);
        to.finish();
        decoded
    }

    /// Big arguments (a job's data) go to the host without a copy through the buffer.
    fn encode_to(&mut self, kind: u32, args: &[&[u8]], out: &mut EncodeOut<'_>) -> Next {
        match kind {
            kind::RAW => {
                for a in args {
                    out.put(a);
                }
                Next::Continue
            }
            t if gear::layout(t).is_some() => encode_packet(t, args, out),
            other => {
                log::warn!("asked to encode unknown response kind {other}; dropped");
                Next::Continue
            }
        }
    }
}

/// Splits a checked body per `layout` and hands the request to the host. Every valid type goes
/// through, server-to-client ones included: the engine answers those with INVALID_COMMAND.
/// A request whose function name or unique key is over its limit gets ERROR instead.
fn deliver(
    limits: &GearLimits,
    ptype: u32,
    layout: Layout,
    body: &[u8],
    sink: &mut dyn DecodeSink,
) {
    let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    let n = split_args(layout, body, &mut args);
    match limits.check_args(ptype, &args[..n]) {
        None => sink.request(ptype, &args[..n]),
        Some(text) => error(sink, text),
    }
}

/// `ERROR ARGUMENT_TOO_LARGE <text>`, written straight to the connection.
fn error(sink: &mut dyn DecodeSink, text: &[u8]) {
    const CODE: &[u8] = b"ARGUMENT_TOO_LARGE";
    sink.write(&header(ptype::ERROR, (CODE.len() + 1 + text.len()) as u32));
    sink.write(CODE);
    sink.write(&[0]);
    sink.write(text);
}

/// Splits `body` into `layout.total()` arguments: the NUL-terminated ones, then the data or the
/// last argument running to the end. [`crate::scan`] has checked the NULs are there; an empty
/// body yields empty arguments. Returns the argument count.
pub fn split_args<'a>(layout: Layout, body: &'a [u8], args: &mut [&'a [u8]; MAX_ARGS]) -> usize {
    let total = layout.total();
    let mut rest = body;
    for (i, slot) in args.iter_mut().take(total).enumerate() {
        let last = i + 1 == total;
        if last {
            *slot = rest;
            break;
        }
        match rest.iter().position(|&b| b == 0) {
            Some(nul) => {
                *slot = &rest[..nul];
                rest = &rest[nul + 1..];
            }
            None => {
                *slot = rest;
                rest = &[];
            }
        }
    }
    total
}

/// The reply to a packet with the `\0RES` magic; the packet itself is skipped.
fn reject_response_magic(sink: &mut dyn DecodeSink) {
    sink.write(&header(ptype::ERROR, INVALID_MAGIC_BODY.len() as u32));
    sink.write(INVALID_MAGIC_BODY);
}

/// A `\0RES` packet: the header, then the arguments joined by NULs (which is exactly the layout
/// rule for both data and non-data packets).
fn encode_packet(t: u32, args: &[&[u8]], out: &mut EncodeOut<'_>) -> Next {
    let body_len = args.iter().map(|a| a.len()).sum::<usize>() + args.len().saturating_sub(1);
    let Ok(len) = u32::try_from(body_len) else {
        log::error!(
            "{} response of {body_len} bytes exceeds the gear limit",
            gear::name(t)
        );
        return Next::Close;
    };
    out.put(&header(t, len));
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.put(&[0]);
        }
        out.put(a);
    }
    Next::Continue
}

fn header(t: u32, body_len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&RES_MAGIC);
    h[4..8].copy_from_slice(&t.to_be_bytes());
    h[8..].copy_from_slice(&body_len.to_be_bytes());
    h
}

#[cfg(test)]
mod tests;
