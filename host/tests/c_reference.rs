//! The 1.1.20 side of our deliberate differences (`common/differences.rs`): what Debian's C
//! gearmand does where we do otherwise. Run against C gearmand only, so the list of differences
//! stays honest (if C behaved like us, the entry would not be a difference).

mod common;
use common::*;

/// Start C gearmand, or None (after a loud SKIP) when it is not installed outside CI.
fn c(extra: &[&str]) -> Option<Server> {
    if skip_unless(
        server::c_gearmand_available(),
        "C gearmand (/usr/sbin/gearmand)",
    ) {
        return None;
    }
    Some(start(Kind::C, extra))
}

/// Data of the next 9 grabs by a worker of a, b, c (registered in that order).
fn grab_order(s: &Server) -> Vec<String> {
    let mut cl = s.connect();
    for f in ["a", "b", "c"] {
        for i in 0..3 {
            submit(
                &mut cl,
                ptype::SUBMIT_JOB_BG,
                f,
                "",
                format!("{f}{i}").as_bytes(),
            );
        }
    }
    let mut w = worker(s, &["a", "b", "c"]);
    (0..9)
        .map(|_| {
            w.send(ptype::GRAB_JOB, &[]);
            String::from_utf8_lossy(w.recv().args()[2]).into_owned()
        })
        .collect()
}

/// D1/D2: 1.1.20 serves the most recently registered function first, whatever the priority.
#[test]
fn c_function_order_beats_priority() {
    let Some(s) = c(&[]) else { return };
    let mut cl = s.connect();
    submit(&mut cl, ptype::SUBMIT_JOB_BG, "email", "", b"e");
    submit(&mut cl, ptype::SUBMIT_JOB_HIGH_BG, "resize", "", b"r");
    let mut w = worker(&s, &["resize", "email"]);
    w.assigned(&[&h(1), b"email", b"e"]);
    let s = c(&[]).unwrap();
    assert_eq!(
        grab_order(&s),
        ["c0", "c1", "c2", "b0", "b1", "b2", "a0", "a1", "a2"]
    );
}

/// D2: with -R 1.1.20 rotates, starting from the newest registration.
#[test]
fn c_round_robin_flag() {
    let Some(s) = c(&["-R"]) else { return };
    assert_eq!(
        grab_order(&s),
        ["c0", "b0", "a0", "c1", "b1", "a1", "c2", "b2", "a2"]
    );
}

/// D8: 1.1.20 keeps 63 bytes of a 64-byte unique, so such jobs never coalesce.
#[test]
fn c_unique_of_64_bytes_does_not_coalesce() {
    let Some(s) = c(&[]) else { return };
    let mut cl = s.connect();
    let u = vec![b'u'; 64];
    cl.created(ptype::SUBMIT_JOB_BG, &[b"f", &u, b"d"], &h(1));
    cl.created(ptype::SUBMIT_JOB_BG, &[b"f", &u, b"d"], &h(2));
}

/// D12: 1.1.20 applies the 64-byte check to the reducer of a reduce job.
#[test]
fn c_reduce_checks_the_reducer() {
    let Some(s) = c(&[]) else { return };
    let mut cl = s.connect();
    let r = vec![b'r'; 70];
    let err: &[&[u8]] = &[b"ARGUMENT_TOO_LARGE", b"Unique value too large"];
    cl.call(
        ptype::SUBMIT_REDUCE_JOB,
        &[b"m", b"u", &r, b"a", b"d"],
        ptype::ERROR,
        err,
    );
}

/// D14: 1.1.20 drops the last character of the name when the line ends in a bare `\n`.
#[test]
fn c_create_function_without_cr_loses_a_character() {
    let Some(s) = c(&[]) else { return };
    let mut a = s.connect();
    assert_eq!(a.admin_line("create function xyz"), "OK\r\n");
    assert_eq!(a.admin_list("status"), "xy\t0\t0\t0\n.\n");
}

/// D15: 1.1.20 drops a function that still has queued jobs.
#[test]
fn c_drop_function_with_queued_jobs() {
    let Some(s) = c(&[]) else { return };
    let mut cl = s.connect();
    cl.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(1));
    assert_eq!(cl.admin_line("drop function f\r"), "OK\r\n");
    assert_eq!(cl.admin_list("status"), ".\n");
}

/// D6: the version string.
#[test]
fn c_version() {
    let Some(s) = c(&[]) else { return };
    assert_eq!(s.connect().admin_line("version"), "OK 1.1.20+ds\n");
}

/// D20: 1.1.20 converts a WORK_EXCEPTION for a client without exceptions into a WORK_FAIL whose
/// body is the handle plus a trailing NUL (`T:1\0`, 4 bytes); a worker's own WORK_FAIL is bare.
#[test]
fn c_converted_exception_has_a_trailing_nul() {
    let Some(s) = c(&[]) else { return };
    let mut cl = s.connect();
    submit(&mut cl, ptype::SUBMIT_JOB, "f", "", b"d");
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
    w.send(ptype::WORK_EXCEPTION, &[&h(1), b"boom"]);
    let fail = cl.recv();
    assert_eq!(fail.to_bytes(), frame_res(ptype::WORK_FAIL, &[b"T:1\0"]));
}
