//! Our deliberate differences from C gearmand 1.1.20 (listed in `common/differences.rs`, ids D1..D15
//! cited per test): gearmand 2.0 behaviour and the fixes of 1.1.20's bugs (docs/gear-protocol.md, "Differences"). Run against ours only.

mod common;
use common::*;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn ours(extra: &[&str]) -> Server {
    start(Kind::Ours, extra)
}

fn grab_until_job(w: &mut Conn, timeout: Duration) -> Packet {
    eventually("a job to grab", timeout, || {
        w.send(ptype::GRAB_JOB, &[]);
        let p = w.recv();
        (p.ptype != ptype::NO_JOB).then_some(p)
    })
}

/// D1: job priority is global across a worker's functions.
#[test]
fn d1_high_job_of_any_function_goes_first() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"email", b"", b"e"], &h(1));
    c.created(ptype::SUBMIT_JOB_HIGH_BG, &[b"resize", b"", b"r"], &h(2));
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"email", b"", b"l"], &h(3));
    let mut w = worker(&s, &["resize", "email"]);
    w.assigned(&[&h(2), b"resize", b"r"]);
    w.assigned(&[&h(1), b"email", b"e"]);
    w.assigned(&[&h(3), b"email", b"l"]);
}

/// D2: round robin across a worker's functions is the default (and `-R` is still accepted).
#[test]
fn d2_round_robin_by_default() {
    for extra in [&[][..], &["-R"][..]] {
        let s = ours(extra);
        let mut c = s.connect();
        for f in ["a", "b", "c"] {
            for i in 0..3 {
                submit(
                    &mut c,
                    ptype::SUBMIT_JOB_BG,
                    f,
                    "",
                    format!("{f}{i}").as_bytes(),
                );
            }
        }
        let mut w = worker(&s, &["a", "b", "c"]);
        let mut got = Vec::new();
        for _ in 0..9 {
            w.send(ptype::GRAB_JOB, &[]);
            let p = w.recv();
            assert_eq!(p.ptype, ptype::JOB_ASSIGN, "{p:?}");
            got.push(String::from_utf8_lossy(p.args()[2]).into_owned());
        }
        for (round, window) in got.chunks(3).enumerate() {
            let mut w: Vec<&str> = window.iter().map(|s| &s[..1]).collect();
            w.sort();
            assert_eq!(w, ["a", "b", "c"], "round {round} of {got:?} ({extra:?})");
            for s in window {
                assert!(
                    s.ends_with(&round.to_string()),
                    "FIFO per function: {got:?}"
                );
            }
        }
    }
}

/// D3: a sleeping worker is woken when an epoch job falls due, without any other event.
#[test]
fn d3_epoch_job_wakes_sleepers_when_due() {
    let s = ours(&[]);
    let mut w = worker(&s, &["e"]);
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync();
    let when = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let mut c = s.connect();
    let epoch = when.to_string();
    c.created(
        ptype::SUBMIT_JOB_EPOCH,
        &[b"e", b"", epoch.as_bytes(), b"d"],
        &h(1),
    );
    // Like a real worker: on NOOP grab; on NO_JOB (a spurious wake-up) sleep again.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let p = w
            .try_recv(left)
            .expect("a NOOP when the epoch job falls due");
        assert_eq!(p.ptype, ptype::NOOP, "{p:?}");
        w.send(ptype::GRAB_JOB, &[]);
        let p = w.recv();
        if p.ptype == ptype::JOB_ASSIGN {
            assert_eq!(
                p.to_bytes(),
                frame_res(ptype::JOB_ASSIGN, &[&h(1), b"e", b"d"])
            );
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(now >= when, "handed out before its time");
            break;
        }
        assert_eq!(p.ptype, ptype::NO_JOB, "{p:?}");
        w.send(ptype::PRE_SLEEP, &[]);
    }
}

/// D4: the CAN_DO_TIMEOUT timer belongs to the job: finishing the job cancels it, so it cannot
/// requeue another job later.
#[test]
fn d4_timeout_cancelled_when_the_job_ends() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"one"], &h(1));
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"two"], &h(2));
    let mut w1 = s.connect();
    w1.send(ptype::CAN_DO_TIMEOUT, &[b"f", b"1000"]);
    w1.assigned(&[&h(1), b"f", b"one"]);
    w1.send(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(1), b"done"]);
    let mut w2 = worker(&s, &["f"]);
    w2.assigned(&[&h(2), b"f", b"two"]);
    // Well past the 1 s timeout of the finished job: job 2 must still be w2's, never requeued.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        assert_eq!(c.admin_list("show jobs"), "T:2\t0\t0\t0\n.\n");
        std::thread::sleep(Duration::from_millis(100));
    }
    w2.send(ptype::WORK_COMPLETE, &[&h(2), b"ok"]);
    c.expect(ptype::WORK_COMPLETE, &[&h(2), b"ok"]);
}

/// D4: one timer per assigned job: both jobs of one worker time out.
#[test]
fn d4_every_assigned_job_has_its_own_timer() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"one"], &h(1));
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"two"], &h(2));
    let mut w1 = s.connect();
    w1.send(ptype::CAN_DO_TIMEOUT, &[b"f", b"1000"]);
    w1.assigned(&[&h(1), b"f", b"one"]);
    w1.assigned(&[&h(2), b"f", b"two"]);
    let mut w2 = worker(&s, &["f"]);
    let a = grab_until_job(&mut w2, Duration::from_secs(6));
    let b = grab_until_job(&mut w2, Duration::from_secs(6));
    let mut got = [a.args()[0].to_vec(), b.args()[0].to_vec()];
    got.sort();
    assert_eq!(got, [h(1), h(2)]);
}

/// D5: by default retries are unlimited; `-j 0` drops a job after its first failed attempt.
#[test]
fn d5_job_retries_default_unlimited_and_zero_means_none() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"a"], &h(1));
    for attempt in 1..=4 {
        let mut w = worker(&s, &["f"]);
        grab_until_job(&mut w, Duration::from_secs(5));
        w.close();
        let want = format!("T:1\t{attempt}\t0\t0\n.\n");
        wait_for("the requeue", Duration::from_secs(5), || {
            c.admin_list("show jobs") == want
        });
    }
    let s = ours(&["-j", "0"]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB, &[b"f", b"", b"a"], &h(1));
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(1), b"f", b"a"]);
    w.close();
    c.expect(ptype::WORK_FAIL, &[&h(1)]);
    assert_eq!(c.admin_list("show jobs"), ".\n");
}

/// D6: our version, not 1.1.20's; the admin reply and `-V` agree.
#[test]
fn d6_version_is_ours() {
    let s = ours(&[]);
    let v = s.connect().admin_line("version");
    let v = v
        .strip_prefix("OK ")
        .expect("OK <version>")
        .trim_end_matches('\n');
    assert_ne!(v, "1.1.20+ds");
    let out = std::process::Command::new(server::our_binary())
        .arg("-V")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(v),
        "-V must show {v}"
    );
}

/// D7: a required NUL missing inside the declared body closes the connection.
#[test]
fn d7_missing_nul_closes() {
    let s = ours(&[]);
    let mut c = s.connect();
    // SUBMIT_JOB needs two NUL-terminated args; this body of 5 bytes has one NUL.
    let mut bytes = gear::frame_req(ptype::SUBMIT_JOB, &[b"f", b"abc"]);
    bytes.extend(gear::frame_req(ptype::ECHO_REQ, &[b"x"]));
    c.send_raw(&bytes);
    c.expect_closed();
    assert_eq!(s.connect().admin_list("status"), ".\n");
}

/// D8: a 64-byte unique is stored whole and coalesces.
#[test]
fn d8_unique_of_64_bytes_is_kept_whole() {
    let s = ours(&[]);
    let mut c = s.connect();
    let u = vec![b'u'; 64];
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", &u, b"d"], &h(1));
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", &u, b"d"], &h(1));
    let mut w = worker(&s, &["f"]);
    w.call(
        ptype::GRAB_JOB_UNIQ,
        &[],
        ptype::JOB_ASSIGN_UNIQ,
        &[&h(1), b"f", &u, b"d"],
    );
}

/// D9: an out-of-range CAN_DO_TIMEOUT value closes the connection (1.1.20 crashes).
#[test]
fn d9_out_of_range_timeout_closes() {
    let s = ours(&[]);
    let mut w = s.connect();
    w.send(ptype::CAN_DO_TIMEOUT, &[b"f", b"99999999999999999999"]);
    w.expect_closed();
    let mut a = s.connect();
    assert_eq!(
        a.admin_line("getpid"),
        format!("OK {}\n", s.pid()),
        "server still up"
    );
}

/// D10: a handle prefix that cannot fit `:<10 digits>` in 63 bytes is refused at startup.
#[test]
fn d10_overlong_handle_prefix_is_refused() {
    let long = "p".repeat(60);
    let err = Server::try_start(&["--job-handle-prefix", &long]).err();
    assert!(err.is_some(), "a 60-byte prefix must be refused");
    let ok = "p".repeat(40);
    let s = Server::start(&["--job-handle-prefix", &ok]);
    let mut c = s.connect();
    let hdl = submit(&mut c, ptype::SUBMIT_JOB_BG, "f", "", b"d");
    assert_eq!(hdl, format!("{ok}:1").into_bytes());
}

/// D11: a future epoch job at the head of the normal list does not hide a due low job.
#[test]
fn d11_future_epoch_does_not_hide_lower_priorities() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(
        ptype::SUBMIT_JOB_EPOCH,
        &[b"f", b"", b"4000000000", b"later"],
        &h(1),
    );
    c.created(ptype::SUBMIT_JOB_LOW_BG, &[b"f", b"", b"now"], &h(2));
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(2), b"f", b"now"]);
    w.call(ptype::GRAB_JOB, &[], ptype::NO_JOB, &[]);
}

/// D12: reduce submissions check the unique (≤ 64) and allow reducers up to 511 bytes.
#[test]
fn d12_reduce_checks_unique_not_reducer() {
    let s = ours(&[]);
    let mut c = s.connect();
    let u = vec![b'u'; 65];
    let r = vec![b'r'; 100];
    let err: &[&[u8]] = &[b"ARGUMENT_TOO_LARGE", b"Unique value too large"];
    c.call(
        ptype::SUBMIT_REDUCE_JOB,
        &[b"m", &u, b"r", b"a", b"d"],
        ptype::ERROR,
        err,
    );
    c.created(
        ptype::SUBMIT_REDUCE_JOB,
        &[b"m", b"u", &r, b"a", b"d"],
        &h(1),
    );
    c.send(
        ptype::SUBMIT_REDUCE_JOB_BACKGROUND,
        &[b"m", b"u2", &[b'r'; 600], b"a", b"d"],
    );
    let p = c.recv();
    assert_eq!(
        p.ptype,
        ptype::ERROR,
        "a 600-byte reducer is refused: {p:?}"
    );
    let mut w = worker(&s, &["m"]);
    w.call(
        ptype::GRAB_JOB_ALL,
        &[],
        ptype::JOB_ASSIGN_ALL,
        &[&h(1), b"m", b"u", &r, b"d"],
    );
}

/// D13: a background job joined by a foreground client survives that client's disconnect.
#[test]
fn d13_background_job_survives_joined_client() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"u", b"d"], &h(1));
    let mut fg = s.connect();
    fg.created(ptype::SUBMIT_JOB, &[b"f", b"u", b"d"], &h(1));
    fg.close();
    c.sync();
    // Give the disconnect a chance to be processed, observed through a status query of fg's
    // attachment: the client count drops to 0 while the job stays.
    wait_for("the client to detach", Duration::from_secs(5), || {
        c.send(ptype::GET_STATUS_UNIQUE, &[b"u"]);
        c.recv().to_bytes()
            == gear::frame_res(
                ptype::STATUS_RES_UNIQUE,
                &[b"u", b"1", b"0", b"0", b"0", b"0"],
            )
    });
    assert_eq!(c.admin_list("show jobs"), "T:1\t0\t0\t1\n.\n");
    let mut w = worker(&s, &["f"]);
    w.assigned(&[&h(1), b"f", b"d"]);
}

/// D14: `create function NAME\n` creates NAME.
#[test]
fn d14_create_function_without_cr_keeps_the_name() {
    let s = ours(&[]);
    let mut a = s.connect();
    assert_eq!(a.admin_line("create function xyz"), "OK\r\n");
    assert_eq!(a.admin_list("status"), "xyz\t0\t0\t0\n.\n");
}

/// D15: `drop function` is refused while the function has jobs.
#[test]
fn d15_drop_function_refused_with_queued_jobs() {
    let s = ours(&[]);
    let mut c = s.connect();
    c.created(ptype::SUBMIT_JOB_BG, &[b"f", b"", b"d"], &h(1));
    let r = c.admin_line("drop function f");
    assert!(r.starts_with("ERR ") && r.ends_with("\r\n"), "{r:?}");
    assert_eq!(c.admin_list("show jobs"), "T:1\t0\t0\t1\n.\n");
}
