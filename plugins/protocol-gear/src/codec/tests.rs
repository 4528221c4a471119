//! One test per framing rule of docs/gear-protocol.md §1 and docs/admin-protocol.md "Line parsing", plus
//! encoding.

use super::*;
use crate::limits::GearLimits;
use crate::scan::{scan, FramingError, RECV_BUFFER};

/// Records what the codec hands to the host.
#[derive(Default)]
struct Rec {
    requests: Vec<(u32, Vec<Vec<u8>>)>,
    written: Vec<u8>,
}

impl DecodeSink for Rec {
    fn request(&mut self, kind: u32, args: &[&[u8]]) {
        self.requests
            .push((kind, args.iter().map(|a| a.to_vec()).collect()));
    }
    fn write(&mut self, bytes: &[u8]) {
        self.written.extend_from_slice(bytes);
    }
}

fn packet(magic: &[u8; 4], t: u32, body: &[u8]) -> Vec<u8> {
    let mut p = magic.to_vec();
    p.extend_from_slice(&t.to_be_bytes());
    p.extend_from_slice(&(body.len() as u32).to_be_bytes());
    p.extend_from_slice(body);
    p
}

fn req(t: u32, body: &[u8]) -> Vec<u8> {
    packet(b"\0REQ", t, body)
}

fn decode(input: &[u8]) -> (usize, Next, Rec) {
    let mut rec = Rec::default();
    let (used, d) = GearCodec::new().decode(input, &mut rec);
    (used, d, rec)
}

fn args(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.to_vec()).collect()
}

// ----- admin text lines -----------------------------------------------------------------------

#[test]
fn a_text_line_ends_at_newline() {
    let (used, d, rec) = decode(b"status\nver");
    assert_eq!((used, d), (7, Next::Continue));
    assert_eq!(rec.requests, vec![(kind::ADMIN_LINE, args(&[b"status"]))]);
}

#[test]
fn one_carriage_return_before_the_newline_is_dropped() {
    let (_, _, rec) = decode(b"workers\r\nversion\r\r\n");
    assert_eq!(rec.requests[0].1, args(&[b"workers"]));
    assert_eq!(rec.requests[1].1, args(&[b"version\r"]));
}

#[test]
fn an_empty_line_is_still_a_request() {
    let (used, _, rec) = decode(b"\r\n");
    assert_eq!(used, 2);
    assert_eq!(rec.requests, vec![(kind::ADMIN_LINE, args(&[b""]))]);
}

#[test]
fn an_incomplete_line_waits_for_more() {
    let (used, d, rec) = decode(b"stat");
    assert_eq!((used, d), (0, Next::Continue));
    assert!(rec.requests.is_empty());
}

#[test]
fn a_line_of_8192_bytes_without_newline_closes() {
    let (used, d, rec) = decode(&vec![b'a'; RECV_BUFFER]);
    assert_eq!((used, d), (0, Next::Close));
    assert!(rec.requests.is_empty() && rec.written.is_empty());
}

#[test]
fn a_line_just_fitting_the_buffer_is_accepted() {
    let mut line = vec![b'a'; RECV_BUFFER - 1];
    line.push(b'\n');
    let (used, d, rec) = decode(&line);
    assert_eq!((used, d), (RECV_BUFFER, Next::Continue));
    assert_eq!(rec.requests[0].1[0].len(), RECV_BUFFER - 1);
}

#[test]
fn lines_and_packets_mix_on_one_connection() {
    let mut input = req(ptype::ECHO_REQ, b"hi");
    input.extend_from_slice(b"status\n");
    input.extend_from_slice(&req(ptype::CAN_DO, b"fn"));
    let (used, d, rec) = decode(&input);
    assert_eq!((used, d), (input.len(), Next::Continue));
    let kinds: Vec<u32> = rec.requests.iter().map(|r| r.0).collect();
    assert_eq!(
        kinds,
        vec![ptype::ECHO_REQ, kind::ADMIN_LINE, ptype::CAN_DO]
    );
}

// ----- binary packets: splitting --------------------------------------------------------------

#[test]
fn a_data_packet_splits_into_args_then_data() {
    let (_, _, rec) = decode(&req(ptype::SUBMIT_JOB, b"fn\0uniq\0da\0ta"));
    assert_eq!(
        rec.requests,
        vec![(ptype::SUBMIT_JOB, args(&[b"fn", b"uniq", b"da\0ta"]))]
    );
}

#[test]
fn a_non_data_packet_keeps_extra_nuls_in_its_last_arg() {
    let (_, _, rec) = decode(&req(ptype::CAN_DO, b"a\0b\0"));
    assert_eq!(rec.requests, vec![(ptype::CAN_DO, args(&[b"a\0b\0"]))]);
    let (_, _, rec) = decode(&req(ptype::WORK_STATUS, b"H:x:1\x001\x002\0"));
    assert_eq!(rec.requests[0].1, args(&[b"H:x:1", b"1", b"2\0"]));
}

#[test]
fn empty_data_and_empty_bodies_read_as_empty_args() {
    let (_, _, rec) = decode(&req(ptype::WORK_COMPLETE, b"H:x:1\0"));
    assert_eq!(rec.requests[0].1, args(&[b"H:x:1", b""]));
    let (_, d, rec) = decode(&req(ptype::SUBMIT_JOB, b""));
    assert_eq!(d, Next::Continue);
    assert_eq!(rec.requests[0].1, args(&[b"", b"", b""]));
    let (_, _, rec) = decode(&req(ptype::GRAB_JOB, b""));
    assert_eq!(rec.requests, vec![(ptype::GRAB_JOB, vec![])]);
}

#[test]
fn every_valid_type_is_delivered_including_server_to_client_ones() {
    for t in 1..ptype::END {
        let (_, d, rec) = decode(&req(t, b""));
        assert_eq!(d, Next::Continue, "type {t}");
        assert_eq!(rec.requests.len(), 1, "type {t}");
        assert_eq!(rec.requests[0].0, t);
        assert_eq!(rec.requests[0].1.len(), gear::layout(t).unwrap().total());
    }
}

#[test]
fn a_packet_fed_byte_by_byte_is_decoded_once_complete() {
    let input = req(ptype::SUBMIT_JOB_BG, b"f\0u\0payload");
    let mut codec = GearCodec::new();
    let mut rec = Rec::default();
    let mut buf = Vec::new();
    for &b in &input {
        buf.push(b);
        let (used, d) = codec.decode(&buf, &mut rec);
        assert_eq!(d, Next::Continue);
        buf.drain(..used);
    }
    assert!(buf.is_empty());
    assert_eq!(
        rec.requests,
        vec![(ptype::SUBMIT_JOB_BG, args(&[b"f", b"u", b"payload"]))]
    );
}

#[test]
fn a_trailing_partial_packet_is_not_consumed() {
    let mut input = req(ptype::NOOP, b"");
    let second = req(ptype::ECHO_REQ, b"abc");
    input.extend_from_slice(&second[..7]);
    let (used, d, rec) = decode(&input);
    assert_eq!((used, d), (12, Next::Continue));
    assert_eq!(rec.requests.len(), 1);
}

#[test]
fn large_data_is_accepted() {
    let mut body = b"fn\0\0".to_vec();
    body.resize(5 * 1024 * 1024, b'x');
    let (used, d, rec) = decode(&req(ptype::SUBMIT_JOB, &body));
    assert_eq!((used, d), (12 + body.len(), Next::Continue));
    assert_eq!(rec.requests[0].1[2].len(), body.len() - 4);
}

// ----- binary packets: framing errors ---------------------------------------------------------

fn assert_closes(input: &[u8], why: FramingError) {
    assert_eq!(scan(input), Scan::Close(why));
    let (used, d, rec) = decode(input);
    assert_eq!((used, d), (0, Next::Close));
    assert!(rec.requests.is_empty(), "nothing is delivered");
    assert!(rec.written.is_empty(), "nothing is sent");
}

#[test]
fn a_bad_magic_closes_without_reply() {
    assert_closes(
        &packet(b"\0REX", ptype::ECHO_REQ, b"x"),
        FramingError::BadMagic,
    );
    // Judged as soon as the magic is there, before the rest of the header.
    assert_closes(b"\0XYZ", FramingError::BadMagic);
}

#[test]
fn type_zero_and_types_past_42_close_without_reply() {
    assert_closes(&req(0, b""), FramingError::BadType(0));
    assert_closes(&req(43, b""), FramingError::BadType(43));
    assert_closes(&req(u32::MAX, b""), FramingError::BadType(u32::MAX));
}

#[test]
fn response_magic_gets_invalid_magic_and_the_packet_is_skipped() {
    let mut input = packet(b"\0RES", ptype::SUBMIT_JOB, b"f\0u\0data");
    input.extend_from_slice(&req(ptype::ECHO_REQ, b"next"));
    let (used, d, rec) = decode(&input);
    assert_eq!((used, d), (input.len(), Next::Continue));
    assert_eq!(
        rec.written,
        packet(
            b"\0RES",
            ptype::ERROR,
            b"INVALID_MAGIC\0Request magic expected"
        )
    );
    assert_eq!(rec.requests, vec![(ptype::ECHO_REQ, args(&[b"next"]))]);
}

#[test]
fn response_magic_with_an_invalid_type_closes() {
    assert_closes(&packet(b"\0RES", 99, b""), FramingError::BadType(99));
}

#[test]
fn a_non_data_packet_larger_than_the_buffer_closes_from_its_header() {
    let body = vec![b'f'; 9000];
    let full = req(ptype::CAN_DO, &body);
    // The header alone is enough to know.
    assert_closes(&full[..12], FramingError::TooLarge);
    assert_closes(&full, FramingError::TooLarge);
}

#[test]
fn a_non_data_packet_filling_the_buffer_exactly_is_accepted() {
    let body = vec![b'f'; RECV_BUFFER - 12];
    let (used, d, _) = decode(&req(ptype::CAN_DO, &body));
    assert_eq!((used, d), (RECV_BUFFER, Next::Continue));
}

#[test]
fn data_packet_args_larger_than_the_buffer_close() {
    let mut body = vec![b'f'; 9000];
    body.extend_from_slice(b"\0u\0data");
    let full = req(ptype::SUBMIT_JOB, &body);
    assert_closes(&full, FramingError::TooLarge);
    // Known once 8192 bytes of the frame have arrived without the NULs.
    assert_closes(&full[..RECV_BUFFER], FramingError::TooLarge);
    assert_eq!(scan(&full[..RECV_BUFFER - 1]), Scan::NeedMore);
}

#[test]
fn a_missing_nul_inside_the_body_closes() {
    assert_closes(
        &req(ptype::SUBMIT_JOB, b"fn-without-nul"),
        FramingError::MissingNul,
    );
    assert_closes(
        &req(ptype::SUBMIT_JOB, b"fn\0uniq"),
        FramingError::MissingNul,
    );
    assert_closes(
        &req(ptype::WORK_STATUS, b"H:x:1\x0050"),
        FramingError::MissingNul,
    );
    assert_closes(
        &req(ptype::WORK_COMPLETE, b"H:x:1"),
        FramingError::MissingNul,
    );
}

#[test]
fn a_nul_after_the_declared_body_does_not_count() {
    // The next packet's leading zero must not complete this one (the original's desync bug).
    let mut input = req(ptype::SUBMIT_JOB, b"fn\0uniq");
    input.extend_from_slice(&req(ptype::NOOP, b""));
    let (used, d, rec) = decode(&input);
    assert_eq!((used, d), (0, Next::Close));
    assert!(rec.requests.is_empty());
}

#[test]
fn an_incomplete_header_or_body_needs_more() {
    let full = req(ptype::SUBMIT_JOB, b"fn\0u\0data");
    for cut in 1..full.len() {
        assert_eq!(scan(&full[..cut]), Scan::NeedMore, "cut at {cut}");
    }
}

// ----- encoding -------------------------------------------------------------------------------

fn encode(kind: u32, list: &[&[u8]]) -> (Next, Vec<u8>) {
    let mut out = Vec::new();
    let d = GearCodec::new().encode(kind, list, &mut out);
    (d, out)
}

#[test]
fn raw_bytes_go_out_as_they_are() {
    assert_eq!(
        encode(kind::RAW, &[b"OK\r\n"]),
        (Next::Continue, b"OK\r\n".to_vec())
    );
}

#[test]
fn packets_join_their_args_with_nuls() {
    let (_, out) = encode(ptype::JOB_CREATED, &[b"H:host:1"]);
    assert_eq!(out, packet(b"\0RES", ptype::JOB_CREATED, b"H:host:1"));
    let (_, out) = encode(ptype::JOB_ASSIGN, &[b"H:h:1", b"fn", b"da\0ta"]);
    assert_eq!(
        out,
        packet(b"\0RES", ptype::JOB_ASSIGN, b"H:h:1\0fn\0da\0ta")
    );
    let (_, out) = encode(ptype::WORK_COMPLETE, &[b"H:h:1", b""]);
    assert_eq!(out, packet(b"\0RES", ptype::WORK_COMPLETE, b"H:h:1\0"));
    let (_, out) = encode(ptype::NOOP, &[]);
    assert_eq!(out, packet(b"\0RES", ptype::NOOP, b""));
}

#[test]
fn encoding_appends_to_what_is_already_there() {
    let mut out = b"prefix".to_vec();
    GearCodec::new().encode(ptype::NO_JOB, &[], &mut out);
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(&out[6..], packet(b"\0RES", ptype::NO_JOB, b"").as_slice());
}

#[test]
fn an_unknown_response_kind_writes_nothing() {
    assert_eq!(encode(0x9999, &[b"x"]), (Next::Continue, vec![]));
}

// ----- limits (--max-packet-size, --max-function-name, --max-unique) -------------------------

fn decode_limited(input: &[u8], limits: GearLimits) -> (usize, Next, Rec) {
    let mut rec = Rec::default();
    let (used, d) = GearCodec::with_limits(limits).decode(input, &mut rec);
    (used, d, rec)
}

const SMALL: GearLimits = GearLimits {
    max_packet: 1024,
    max_function: 8,
    max_unique: 4,
};

#[test]
fn a_header_over_the_packet_limit_gets_error_and_close_before_the_body() {
    // Only the header: the body is never waited for.
    let mut header = b"\0REQ".to_vec();
    header.extend_from_slice(&ptype::SUBMIT_JOB.to_be_bytes());
    header.extend_from_slice(&u32::MAX.to_be_bytes());
    let (used, d, rec) = decode_limited(&header, SMALL);
    assert_eq!((used, d), (0, Next::Close));
    assert!(rec.requests.is_empty());
    let body = b"ARGUMENT_TOO_LARGE\0Packet larger than --max-packet-size";
    let mut want = b"\0RES".to_vec();
    want.extend_from_slice(&ptype::ERROR.to_be_bytes());
    want.extend_from_slice(&(body.len() as u32).to_be_bytes());
    want.extend_from_slice(body);
    assert_eq!(rec.written, want);
}

#[test]
fn packets_before_an_oversized_one_are_delivered() {
    let mut input = req(ptype::ECHO_REQ, b"hi");
    input.extend_from_slice(&req(ptype::ECHO_REQ, &[b'x'; 2000]));
    let (used, d, rec) = decode_limited(&input, SMALL);
    assert_eq!((used, d), (14, Next::Close));
    assert_eq!(rec.requests, vec![(ptype::ECHO_REQ, args(&[b"hi"]))]);
}

#[test]
fn a_packet_at_the_limit_passes() {
    let body = vec![b'x'; 1024 - 12];
    let (_, d, rec) = decode_limited(&req(ptype::ECHO_REQ, &body), SMALL);
    assert_eq!(d, Next::Continue);
    assert_eq!(rec.requests.len(), 1);
}

#[test]
fn long_function_names_and_uniques_get_error_and_the_connection_stays() {
    let mut input = req(ptype::CAN_DO, b"function9");
    input.extend_from_slice(&req(ptype::SUBMIT_JOB, b"f\0uniq5\0data"));
    input.extend_from_slice(&req(ptype::SUBMIT_JOB, b"f\0uniq\0data"));
    let (used, d, rec) = decode_limited(&input, SMALL);
    assert_eq!((used, d), (input.len(), Next::Continue));
    assert_eq!(
        rec.requests,
        vec![(ptype::SUBMIT_JOB, args(&[b"f", b"uniq", b"data"]))]
    );
    let text = String::from_utf8_lossy(&rec.written);
    assert!(text.contains("Function name too large"), "{text:?}");
    assert!(text.contains("Unique value too large"), "{text:?}");
}
