//! Target `gear_codec`: the gear binary framing and the admin line splitter of
//! `plugins/protocol-gear` (docs/gear-protocol.md §1, docs/admin-protocol.md "Line parsing").
//!
//! Input: one seed byte for the split points, then the byte stream a client sends. Checked:
//! - decoding never panics and never consumes more than it was given;
//! - one piece, seeded pieces and single bytes give the same requests, writes and close;
//! - every request has the shape its type promises (argument count of the gear layout, no NUL
//!   inside a NUL-terminated argument, no `\n` inside an admin line);
//! - the only direct write is the `ERROR INVALID_MAGIC` packet;
//! - every request re-encoded as a packet (or a line) decodes back to itself.

use crate::transcript::{feed, splits, Event, Transcript};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::{self, Layout};
use gearmand_plugin_api::{Codec, Next};
use gearmand_protocol_gear::scan::{required_nuls, HEADER_LEN, RECV_BUFFER, REQ_MAGIC};
use gearmand_protocol_gear::GearCodec;

/// Byte-at-a-time feeding rescans a partial line per byte; keep it to inputs where that is cheap.
const BYTEWISE_MAX: usize = 2048;

/// The whole reply to a `\0RES` packet.
const INVALID_MAGIC_PACKET: &[u8] =
    b"\0RES\0\0\0\x13\0\0\0\x24INVALID_MAGIC\0Request magic expected";

pub fn check_gear(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let mut reference: Option<Transcript> = None;
    for plan in splits(stream, u64::from(seed), BYTEWISE_MAX) {
        let t = feed(&mut GearCodec::new(), &plan);
        match &reference {
            None => {
                check_shapes(&t);
                reference = Some(t);
            }
            Some(r) => assert_same(r, &t, plan.len()),
        }
    }
}

fn assert_same(reference: &Transcript, other: &Transcript, pieces: usize) {
    assert_eq!(
        reference.events, other.events,
        "events differ when the input arrives in {pieces} pieces"
    );
    assert_eq!(
        reference.closed, other.closed,
        "close differs ({pieces} pieces)"
    );
    assert_eq!(
        reference.leftover, other.leftover,
        "buffered bytes differ ({pieces} pieces)"
    );
}

fn check_shapes(t: &Transcript) {
    for e in &t.events {
        match e {
            Event::Write(w) => {
                assert_eq!(
                    w.len() % INVALID_MAGIC_PACKET.len(),
                    0,
                    "direct write {w:?}"
                );
                for chunk in w.chunks(INVALID_MAGIC_PACKET.len()) {
                    assert_eq!(chunk, INVALID_MAGIC_PACKET, "unexpected direct write");
                }
            }
            Event::Request(k, args) if *k == kind::ADMIN_LINE => check_line(args),
            Event::Request(k, args) => check_packet(*k, args),
        }
    }
    // A stream that ends mid-frame leaves at most one frame's worth of bytes, never a whole line.
    if let Some(&first) = t.leftover.first() {
        if first != 0 {
            assert!(
                !t.leftover.contains(&b'\n'),
                "a complete line was left undecoded"
            );
            assert!(t.leftover.len() < RECV_BUFFER, "an over-long line was kept");
        }
    }
}

fn check_line(args: &[Vec<u8>]) {
    assert_eq!(args.len(), 1, "an admin line is one argument");
    let line = &args[0];
    assert!(!line.contains(&b'\n'), "admin line contains a newline");
    assert!(
        line.len() < RECV_BUFFER,
        "admin line longer than the buffer"
    );
    // Re-encoded with "\r\n" (which the splitter strips) it decodes to itself.
    if line.len() + 2 <= RECV_BUFFER {
        let mut wire = line.clone();
        wire.extend_from_slice(b"\r\n");
        let again = feed(&mut GearCodec::new(), &[&wire]);
        let want = vec![Event::Request(kind::ADMIN_LINE, args.to_vec())];
        assert_eq!(again.events, want, "admin line does not round-trip");
        assert!(!again.closed && again.leftover.is_empty());
    }
}

fn check_packet(k: u32, args: &[Vec<u8>]) {
    let layout: Layout = gear::layout(k).unwrap_or_else(|| panic!("request of invalid type {k}"));
    assert_eq!(
        args.len(),
        layout.total(),
        "{} argument count",
        gear::name(k)
    );
    for (i, a) in args.iter().enumerate().take(required_nuls(layout)) {
        assert!(
            !a.contains(&0),
            "{} argument {i} contains a NUL",
            gear::name(k)
        );
    }
    // Encode it back (the codec writes \0RES; a client writes \0REQ) and decode it again.
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let mut wire = Vec::new();
    assert_eq!(GearCodec::new().encode(k, &refs, &mut wire), Next::Continue);
    assert!(
        wire.len() >= HEADER_LEN,
        "encoded packet shorter than a header"
    );
    let body_len = u32::from_be_bytes([wire[8], wire[9], wire[10], wire[11]]) as usize;
    assert_eq!(
        body_len,
        wire.len() - HEADER_LEN,
        "encoded length field is wrong"
    );
    wire[..4].copy_from_slice(&REQ_MAGIC);
    let again = feed(&mut GearCodec::new(), &[&wire]);
    let want = vec![Event::Request(k, args.to_vec())];
    assert_eq!(again.events, want, "{} does not round-trip", gear::name(k));
    assert!(!again.closed && again.leftover.is_empty());
}
