//! Framing (docs/gear-protocol.md §1): every framing error and its reaction, partial and
//! pipelined packets, the 8 KiB receive-buffer rule. Run against C gearmand and ours; the missing
//! NUL case, where we follow the *Recommended* fix (D7), is in `ours_only.rs`.

#[macro_use]
mod common;
use common::gear::{frame, frame_req};
use common::*;

both!(bad_magic_closes_silently, |kind| {
    let s = start(kind, &[]);
    // (A first byte other than NUL would start an admin text line.)
    for magic in [b"\0REX", b"\0req", b"\0\0\0\0"] {
        let mut c = s.connect();
        c.send_raw(&frame(magic, ptype::ECHO_REQ, &[b"x"]));
        c.expect_closed();
    }
});

both!(type_zero_and_unknown_types_close_silently, |kind| {
    let s = start(kind, &[]);
    for t in [0u32, 43, 44, 1000, u32::MAX] {
        let mut c = s.connect();
        c.send_raw(&frame_req(t, &[b""]));
        c.expect_closed();
    }
});

both!(
    res_magic_gets_invalid_magic_and_the_connection_stays,
    |kind| {
        let s = start(kind, &[]);
        let mut c = s.connect();
        c.send_raw(&frame(b"\0RES", ptype::ECHO_REQ, &[b"x"]));
        c.expect(ptype::ERROR, &[b"INVALID_MAGIC", b"Request magic expected"]);
        c.send_raw(&frame(b"\0RES", ptype::CAN_DO, &[b"f"]));
        c.expect(ptype::ERROR, &[b"INVALID_MAGIC", b"Request magic expected"]);
        c.sync();
    }
);

/// A well-formed body for type `t`: enough NUL-terminated arguments for its layout.
fn body_for(t: u32) -> Vec<u8> {
    let l = gearmand_plugin_api::gear::layout(t).expect("valid type");
    let mut b = Vec::new();
    for i in 0..l.args {
        b.push(b'a' + i);
        if l.data || i + 1 < l.args {
            b.push(0);
        }
    }
    if l.data {
        b.extend_from_slice(b"data");
    }
    b
}

both!(server_side_and_unused_types_are_not_expected, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let types = [5u32, 6, 8, 10, 11, 17, 19, 20, 24, 27, 31, 35, 40, 42];
    for t in types {
        c.send(t, &[&body_for(t)]);
        c.expect(ptype::ERROR, &[b"INVALID_COMMAND", b"Command not expected"]);
    }
    c.sync();
    // Nothing was created by the sched submit (35).
    assert_eq!(c.admin_list("status"), ".\n");
});

both!(
    oversized_header_and_arguments_close_the_connection,
    |kind| {
        let s = start(kind, &[]);
        let mut c = s.connect();
        c.send(ptype::CAN_DO, &[&vec![b'f'; 9000]]);
        c.expect_closed();
        let mut c = s.connect();
        c.send(ptype::SUBMIT_JOB, &[&vec![b'f'; 9000], b"", b"d"]);
        c.expect_closed();
        // Large data after small arguments is fine.
        let mut c = s.connect();
        let data = vec![b'd'; 100_000];
        c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", &data], &h(1));
    }
);

both!(overlong_admin_line_closes_the_connection, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    c.send_raw(&vec![b'a'; 9000]);
    c.expect_closed();
});

both!(packets_split_into_single_bytes_are_reassembled, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    for b in frame_req(ptype::ECHO_REQ, &[b"slow"]) {
        c.send_raw(&[b]);
    }
    c.expect(ptype::ECHO_RES, &[b"slow"]);
});

both!(pipelined_packets_are_answered_in_order, |kind| {
    let s = start(kind, &[]);
    let mut c = s.connect();
    let mut all = Vec::new();
    all.extend(frame_req(ptype::ECHO_REQ, &[b"1"]));
    all.extend(frame_req(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"]));
    all.extend(frame_req(ptype::OPTION_REQ, &[b"bogus"]));
    all.extend(frame_req(ptype::GET_STATUS, &[b"T:1"]));
    all.extend(b"version\n");
    all.extend(frame_req(ptype::ECHO_REQ, &[b"2"]));
    c.send_raw(&all);
    c.expect(ptype::ECHO_RES, &[b"1"]);
    c.expect(ptype::JOB_CREATED, &[&h(1)]);
    c.expect(
        ptype::ERROR,
        &[b"UNKNOWN_OPTION", b"Server does not recognize given option"],
    );
    c.expect(ptype::STATUS_RES, &[b"T:1", b"1", b"0", b"0", b"0"]);
    let v = c.read_until(|b| b.ends_with(b"\n"));
    assert!(
        v.starts_with("OK ") && v.ends_with('\n'),
        "version reply {v:?}"
    );
    c.expect(ptype::ECHO_RES, &[b"2"]);
});
