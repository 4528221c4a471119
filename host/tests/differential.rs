//! Differential test: the same scripted sessions (packets and admin lines over several connections)
//! run against Debian's C gearmand and against ours; the transcripts of replies must be identical
//! after normalising what may differ (docs/admin-protocol.md): pid, version (D6), `workers` fd
//! numbers, and the order of list replies. Handles are made comparable with `--job-handle-prefix T` on both.
//! The scripts avoid the deliberate differences of `common/differences.rs` (no multi-function
//! workers whose order would differ (D1, D2), no epoch timers (D3), no buggy inputs (D7..D15));
//! the WORK_FAIL converted from an exception is read with `RecvConverted`, which drops the
//! trailing NUL that 1.1.20 adds (D20).

mod common;
use common::gear::{frame, frame_req, ReadEnd};
use common::*;
use std::time::Duration;

/// One step of a script. `usize` is the connection index (connections open on first use).
enum Step {
    /// Send a raw request.
    Send(usize, Vec<u8>),
    /// Read one packet and record it.
    Recv(usize),
    /// Read the WORK_FAIL that a client without exceptions gets for a WORK_EXCEPTION and record
    /// it without the trailing NUL that 1.1.20 adds (D20).
    RecvConverted(usize),
    /// Send an admin line; record its one-line reply.
    Admin(usize, &'static str),
    /// Send an admin list command; record its reply (normalised).
    List(usize, &'static str),
    /// ECHO round trip: asserts nothing unexpected arrived first.
    Sync(usize),
    /// Close our side.
    Close(usize),
    /// Expect the server to close the connection; record that.
    Closed(usize),
    /// Poll `List(cmd)` on a connection until its normalised reply contains the text (not
    /// recorded): waits for the effect of a disconnect without sleeping.
    AwaitList(usize, &'static str, &'static str),
}
use Step::*;

fn req(t: u32, args: &[&[u8]]) -> Vec<u8> {
    frame_req(t, args)
}

/// Run `script` against a fresh server of `kind` started with `args`; return the transcript.
fn run(kind: Kind, args: &[&str], script: &[Step]) -> Vec<String> {
    // Ours always runs at INFO (the harness reads its port from the log): make `verbose` agree.
    let mut args = args.to_vec();
    if kind == Kind::C {
        args.extend(["--verbose", "INFO"]);
    }
    let s = start(kind, &args);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut out = Vec::new();
    for (i, step) in script.iter().enumerate() {
        let n = step_conn(step);
        while conns.len() <= n {
            conns.push(None);
        }
        let c = conns[n].get_or_insert_with(|| s.connect());
        if std::env::var_os("GEARMAND_DIFF_TRACE").is_some() {
            eprintln!("{kind:?} step {i} on c{n}");
        }
        match step {
            Send(_, bytes) => c.send_raw(bytes),
            Recv(_) => match c.try_recv(Duration::from_secs(5)) {
                Ok(p) => out.push(format!("{i} c{n} <- {p:?}")),
                Err(e) => out.push(format!("{i} c{n} <- {e:?}")),
            },
            RecvConverted(_) => match c.try_recv(Duration::from_secs(5)) {
                Ok(p) => out.push(format!("{i} c{n} <- {:?}", without_d20_nul(kind, p))),
                Err(e) => out.push(format!("{i} c{n} <- {e:?}")),
            },
            Admin(_, line) => {
                let r = c.admin_line(line);
                out.push(format!(
                    "{i} c{n} {line:?} -> {:?}",
                    normalise_line(line, &r)
                ));
            }
            List(_, line) => {
                let r = normalise_list(line, &c.admin_list(line));
                out.push(format!("{i} c{n} {line:?} -> {r:?}"));
            }
            Sync(_) => c.sync(),
            Close(_) => {
                conns[n].take().unwrap().close();
            }
            Closed(_) => {
                let r = c.try_recv(Duration::from_secs(5));
                let what = match r {
                    Err(ReadEnd::Closed) => "closed".to_string(),
                    other => format!("not closed: {other:?}"),
                };
                out.push(format!("{i} c{n} {what}"));
                conns[n] = None;
            }
            AwaitList(_, line, text) => {
                wait_for(text, Duration::from_secs(5), || {
                    normalise_list(line, &c.admin_list(line))
                        .join("\n")
                        .contains(text)
                });
            }
        }
    }
    out
}

fn step_conn(s: &Step) -> usize {
    match s {
        Send(n, _) | Recv(n) | Admin(n, _) | List(n, _) | Sync(n) | Close(n) | Closed(n) => *n,
        RecvConverted(n) | AwaitList(n, _, _) => *n,
    }
}

/// C's converted WORK_FAIL `handle\0` as ours sends it, `handle` (D20); anything else unchanged.
fn without_d20_nul(kind: Kind, mut p: Packet) -> Packet {
    if kind == Kind::C && p.ptype == ptype::WORK_FAIL && p.body.last() == Some(&0) {
        p.body.pop();
    }
    p
}

fn normalise_line(line: &str, reply: &str) -> String {
    let cmd = line.split(' ').next().unwrap_or("").to_ascii_lowercase();
    match cmd.as_str() {
        "getpid" if reply.starts_with("OK ") => "OK <pid>\n".into(),
        "version" if reply.starts_with("OK ") => "OK <version>\n".into(),
        _ => reply.to_string(),
    }
}

fn normalise_list(line: &str, reply: &str) -> Vec<String> {
    if reply.starts_with("ERR ") {
        return vec![reply.to_string()];
    }
    if line.trim().eq_ignore_ascii_case("workers") {
        normalised_workers(reply)
    } else {
        sorted_lines(reply)
    }
}

/// Run on both servers and compare, or skip loudly without C gearmand.
fn differential(name: &str, args: &[&str], script: Vec<Step>) {
    if skip_unless(
        server::c_gearmand_available(),
        "C gearmand (differential test)",
    ) {
        return;
    }
    let c = run(Kind::C, args, &script);
    // GEARMAND_DIFF_SELF_CHECK=1 compares C with itself (checks that a script is deterministic)
    // and prints the transcript.
    let other = match std::env::var_os("GEARMAND_DIFF_SELF_CHECK") {
        Some(_) => Kind::C,
        None => Kind::Ours,
    };
    let ours = run(other, args, &script);
    if other == Kind::C {
        eprintln!("session {name}:\n{}", c.join("\n"));
    }
    for (a, b) in c.iter().zip(ours.iter()) {
        assert_eq!(
            a, b,
            "session {name}: first difference (C left, ours right)"
        );
    }
    assert_eq!(c.len(), ours.len(), "session {name}: transcript lengths");
}

#[test]
fn session_submit_and_results() {
    let mut s = vec![Send(0, req(ptype::OPTION_REQ, &[b"exceptions"])), Recv(0)];
    for (t, d) in [
        (ptype::SUBMIT_JOB, "n"),
        (ptype::SUBMIT_JOB_HIGH, "h"),
        (ptype::SUBMIT_JOB_LOW, "l"),
        (ptype::SUBMIT_JOB_BG, "nb"),
        (ptype::SUBMIT_JOB_HIGH_BG, "hb"),
        (ptype::SUBMIT_JOB_LOW_BG, "lb"),
    ] {
        s.push(Send(0, req(t, &[b"f", d.as_bytes(), d.as_bytes()])));
        s.push(Recv(0));
    }
    s.extend([
        List(1, "status"),
        List(1, "prioritystatus"),
        List(1, "show jobs"),
        List(1, "show unique jobs"),
        Send(2, req(ptype::CAN_DO, &[b"f"])),
        Send(2, req(ptype::SET_CLIENT_ID, &[b"w"])),
        Sync(2),
        List(1, "workers"),
    ]);
    for _ in 0..7 {
        s.extend([Send(2, req(ptype::GRAB_JOB_UNIQ, &[])), Recv(2)]);
    }
    let results: [(u32, &[&[u8]]); 8] = [
        (ptype::WORK_STATUS, &[b"T:2", b"1", b"2"]),
        (ptype::WORK_DATA, &[b"T:2", b"data"]),
        (ptype::WORK_WARNING, &[b"T:2", b"warn"]),
        (ptype::WORK_COMPLETE, &[b"T:2", b"done"]),
        (ptype::WORK_FAIL, &[b"T:1"]),
        (ptype::WORK_EXCEPTION, &[b"T:3", b"exc"]),
        (ptype::WORK_COMPLETE, &[b"T:4", b"bg"]),
        (ptype::WORK_COMPLETE, &[b"T:4", b"again"]),
    ];
    for (t, a) in results {
        s.push(Send(2, req(t, a)));
    }
    // The duplicate completion is refused; then the client's six forwarded packets.
    s.extend([Recv(2), Sync(2)]);
    s.extend((0..6).map(|_| Recv(0)));
    s.extend([
        Send(0, req(ptype::GET_STATUS, &[b"T:5"])),
        Recv(0),
        List(1, "status"),
        Send(0, req(ptype::GET_STATUS_UNIQUE, &[b"lb"])),
        Recv(0),
        List(1, "show jobs"),
    ]);
    differential("submit_and_results", &[], s);
}

#[test]
fn session_unique_keys() {
    let mut s = Vec::new();
    let subs: [(u32, &[&[u8]]); 9] = [
        (ptype::SUBMIT_JOB_BG, &[b"f", b"-", b"same"]),
        (ptype::SUBMIT_JOB_BG, &[b"f", b"-", b"same"]),
        (ptype::SUBMIT_JOB_BG, &[b"f", b"-", b""]),
        (ptype::SUBMIT_JOB_BG, &[b"f", b"-", b""]),
        (ptype::SUBMIT_JOB_BG, &[b"f", b"", b"x"]),
        (ptype::SUBMIT_JOB, &[b"g", b"k", b"x"]),
        (ptype::SUBMIT_JOB_LOW, &[b"g", b"k", b"y"]),
        (ptype::SUBMIT_JOB_BG, &[b"h", b"k", b"z"]),
        (ptype::SUBMIT_JOB, &[b"f", &[b'u'; 65], b"x"]),
    ];
    for (t, a) in subs {
        s.extend([Send(0, req(t, a)), Recv(0)]);
    }
    s.extend([Send(0, req(ptype::GET_STATUS_UNIQUE, &[b"k"])), Recv(0)]);
    s.extend([Send(1, req(ptype::GET_STATUS_UNIQUE, &[b"-"])), Recv(1)]);
    s.extend([
        List(2, "show unique jobs"),
        List(2, "status"),
        List(2, "show jobs"),
    ]);
    differential("unique_keys", &[], s);
}

#[test]
fn session_protocol_errors() {
    let mut s = vec![
        Send(0, frame(b"\0RES", ptype::ECHO_REQ, &[b"x"])),
        Recv(0),
        Send(0, req(ptype::OPTION_REQ, &[b"nope"])),
        Recv(0),
        Send(
            0,
            req(
                ptype::SUBMIT_JOB_SCHED,
                &[b"f", b"u", b"1", b"2", b"3", b"4", b"5", b"d"],
            ),
        ),
        Recv(0),
    ];
    for t in [5u32, 6, 8, 10, 17, 19, 24, 27] {
        s.extend([Send(0, req(t, &[b"a", b"b"])), Recv(0)]);
    }
    for t in [
        ptype::WORK_STATUS,
        ptype::WORK_DATA,
        ptype::WORK_EXCEPTION,
        ptype::WORK_FAIL,
    ] {
        s.extend([Send(0, req(t, &[b"T:9", b"1", b"2"])), Recv(0)]);
    }
    s.extend([Send(0, req(ptype::WORK_FAIL, &[&[b'h'; 70]])), Recv(0)]);
    s.push(Sync(0));
    s.extend([Send(1, frame(b"\0RQQ", 1, &[b"f"])), Closed(1)]);
    s.extend([
        Send(2, req(0, &[b""])),
        Closed(2),
        Send(3, req(99, &[b""])),
        Closed(3),
    ]);
    s.extend([Send(4, req(ptype::CAN_DO, &[&[b'f'; 9000]])), Closed(4)]);
    s.extend([Send(5, vec![b'x'; 9000]), Closed(5), List(6, "status")]);
    differential("protocol_errors", &[], s);
}

#[test]
fn session_admin() {
    let mut s = Vec::new();
    for line in [
        "version",
        "getpid",
        "verbose",
        "foo bar",
        " status",
        "show",
        "show foo",
        "cancel",
        "cancel job",
        "cancel job T:1",
        "cancel a b",
        "create function",
        "create function abc\r",
        "drop function",
        "drop function nope",
        "drop function ABC\r",
        "maxqueue",
        "maxqueue x 1",
    ] {
        s.push(Admin(0, line));
    }
    s.extend([
        Send(1, req(ptype::SUBMIT_JOB, &[b"q", b"u", b"d"])),
        Recv(1),
    ]);
    s.extend([
        Admin(0, "cancel job T:1"),
        Recv(1),
        List(0, "show jobs"),
        List(0, "STATUS"),
    ]);
    s.extend([
        Send(2, req(ptype::CAN_DO, &[b"q"])),
        Sync(2),
        Admin(0, "drop function Q\r"),
    ]);
    s.extend([
        Send(2, req(ptype::GRAB_JOB, &[])),
        Recv(2),
        List(0, "show jobs"),
    ]);
    s.extend([
        List(0, "workers"),
        List(0, "prioritystatus"),
        Send(0, b"status\nversion\n".to_vec()),
    ]);
    s.extend([Send(0, req(ptype::ECHO_REQ, &[b"e"])), List(3, "status")]);
    differential("admin", &[], s);
}

#[test]
fn session_sleep_and_wake() {
    let mut s = Vec::new();
    for w in [1, 2] {
        s.extend([
            Send(w, req(ptype::CAN_DO, &[b"f"])),
            Send(w, req(ptype::PRE_SLEEP, &[])),
            Sync(w),
        ]);
    }
    s.extend([
        Send(0, req(ptype::SUBMIT_JOB, &[b"f", b"", b"d"])),
        Recv(0),
        Recv(1),
        Recv(2),
    ]);
    s.extend([
        Send(1, req(ptype::GRAB_JOB, &[])),
        Recv(1),
        Send(2, req(ptype::GRAB_JOB, &[])),
        Recv(2),
    ]);
    s.extend([
        Send(2, req(ptype::PRE_SLEEP, &[])),
        Sync(2),
        Send(0, req(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"e"])),
    ]);
    s.extend([
        Recv(0),
        Recv(2),
        Send(1, req(ptype::PRE_SLEEP, &[])),
        Recv(1),
    ]);
    differential("sleep_and_wake", &[], s);
}

#[test]
fn session_disconnects_and_retries() {
    let mut s = vec![
        Send(0, req(ptype::SUBMIT_JOB, &[b"f", b"a", b"1"])),
        Recv(0),
        Send(1, req(ptype::SUBMIT_JOB, &[b"f", b"b", b"2"])),
        Recv(1),
        Close(1),
        AwaitList(9, "show jobs", "T:2\t0\t1\t0"),
        Send(2, req(ptype::CAN_DO, &[b"f"])),
        Send(2, req(ptype::GRAB_JOB, &[])),
        Recv(2),
        Close(2),
        AwaitList(9, "show jobs", "T:1\t1\t0\t0"),
        List(9, "status"),
        Send(3, req(ptype::CAN_DO, &[b"f"])),
    ];
    for _ in 0..3 {
        s.extend([Send(3, req(ptype::GRAB_JOB, &[])), Recv(3)]);
    }
    s.extend([Close(3), Recv(0), List(9, "show jobs"), List(9, "status")]);
    differential("disconnects_and_retries", &["-j", "2"], s);
}

#[test]
fn session_reduce_epoch_maxqueue() {
    let s = vec![
        Send(
            0,
            req(ptype::SUBMIT_REDUCE_JOB, &[b"m", b"u", b"r", b"a", b"d"]),
        ),
        Recv(0),
        Send(
            0,
            req(
                ptype::SUBMIT_REDUCE_JOB_BACKGROUND,
                &[b"m", b"v", b"r", b"a", b"e"],
            ),
        ),
        Recv(0),
        Send(
            0,
            req(ptype::SUBMIT_JOB_EPOCH, &[b"m", b"w", b"1", b"past"]),
        ),
        Recv(0),
        Send(
            0,
            req(
                ptype::SUBMIT_JOB_EPOCH,
                &[b"m", b"x", b"4000000000", b"future"],
            ),
        ),
        Recv(0),
        Admin(1, "maxqueue m 5 4 1"),
        Send(0, req(ptype::SUBMIT_JOB_LOW_BG, &[b"m", b"y", b"low"])),
        Recv(0),
        Send(0, req(ptype::SUBMIT_JOB_HIGH_BG, &[b"m", b"z", b"high"])),
        Recv(0),
        Send(0, req(ptype::SUBMIT_JOB_HIGH_BG, &[b"m", b"zz", b"high"])),
        Recv(0),
        List(1, "prioritystatus"),
        Send(2, req(ptype::CAN_DO, &[b"m"])),
        Send(2, req(ptype::GRAB_JOB_ALL, &[])),
        Recv(2),
        Send(2, req(ptype::GRAB_JOB_ALL, &[])),
        Recv(2),
        Send(2, req(ptype::GRAB_JOB_ALL, &[])),
        Recv(2),
        Send(2, req(ptype::GRAB_JOB_ALL, &[])),
        Recv(2),
        Send(2, req(ptype::GRAB_JOB, &[])),
        Recv(2),
        List(1, "status"),
        List(1, "show jobs"),
    ];
    differential("reduce_epoch_maxqueue", &[], s);
}

#[test]
fn session_server_wide_exceptions() {
    let s = vec![
        Send(0, req(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"])),
        Recv(0),
        Send(1, req(ptype::CAN_DO, &[b"f"])),
        Send(1, req(ptype::GRAB_JOB, &[])),
        Recv(1),
        Send(1, req(ptype::WORK_EXCEPTION, &[b"T:1", b"bad"])),
        Recv(0),
        Send(1, req(ptype::ECHO_REQ, &[b"e"])),
        Recv(1),
    ];
    differential("server_wide_exceptions", &["--exceptions"], s);
}

#[test]
fn session_exception_to_a_client_without_exceptions() {
    let job = |c| Send(c, req(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"]));
    let s = vec![
        Send(0, req(ptype::OPTION_REQ, &[b"exceptions"])),
        Recv(0),
        job(0),
        Recv(0),
        job(1),
        Recv(1),
        Send(2, req(ptype::CAN_DO, &[b"f"])),
        Send(2, req(ptype::GRAB_JOB, &[])),
        Recv(2),
        Send(2, req(ptype::WORK_EXCEPTION, &[b"T:1", b"bad"])),
        Recv(0),
        RecvConverted(1),
        Send(2, req(ptype::WORK_EXCEPTION, &[b"T:1", b"again"])),
        Recv(2),
        List(3, "status"),
    ];
    differential("exception_to_a_client_without_exceptions", &[], s);
}
