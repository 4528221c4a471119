//! Every packet type the server sends to a client or a worker, taken by every real client
//! library that can receive it, against ours and against C gearmand: each must be parsed without
//! complaint (the library reports the expected value or state, exits 0, writes nothing on
//! stderr), and a recording proxy ([`tap::Tap`]) checks that the library really got that packet.
//! The other side is a raw peer (`common::Conn`). Libraries: `common/libs.rs`; scripts:
//! `tests/clients/*_matrix.*`. One test per library and server; it runs every case the library
//! can express and reports all failures together.
//!
//! How each library takes each packet (`—`: it cannot; [`cannot`] says why, and each test prints
//! those; NO_JOB and NOOP come in every worker case: a NOOP whose job another worker takes, then
//! the job):
//!
//! | packet (case)     | Perl          | PHP           | Python         | Node          | `gearman` |
//! |-------------------|---------------|---------------|----------------|---------------|-----------|
//! | JOB_CREATED       | dispatch_bg   | doBackground  | submit_job     | submitJob     | -b        |
//! | WORK_STATUS       | on_status     | status cb     | status         | event         | `N%`      |
//! | WORK_DATA         | on_data       | data cb       | data_updates   | event         | stdout    |
//! | WORK_WARNING      | on_warning    | warning cb    | warnings       | event         | stderr    |
//! | WORK_COMPLETE     | on_complete   | complete cb   | result         | event         | stdout    |
//! | WORK_FAIL         | on_fail       | fail cb       | JOB_FAILED     | event         | exit 1    |
//! | WORK_FAIL (exc.)  | on_fail       | fail cb       | JOB_FAILED     | event         | exit 1    |
//! | WORK_EXCEPTION    | exceptions    | exception cb  | --exceptions   | setOption     | --exc…    |
//! | STATUS_RES        | get_status    | jobStatus     | get_job_status | getJobStatus  | —         |
//! | STATUS_RES_UNIQUE | —             | jobStatusBy…  | —              | …StatusUnique | —         |
//! | OPTION_RES        | exceptions    | addServer     | —              | setOption     | —         |
//! | ERROR QUEUE_ERROR | Gearman::Util | doNormal      | on_gearman…    | event         | stderr    |
//! | ECHO_RES          | Gearman::Util | ping          | ping_server    | echo          | —         |
//! | JOB_ASSIGN        | Worker        | GRAB_JOB opt. | —              | grabJob       | —         |
//! | JOB_ASSIGN_UNIQ   | —             | GRAB_JOB_UNIQ | worker         | grabUniqueJob | -w        |
//! | JOB_ASSIGN_ALL    | —             | default grab  | —              | —             | -w        |
//!
//! WORK_FAIL (exc.): a worker's WORK_EXCEPTION sent on to a client without exceptions.
//! `--exceptions` (`--exc…`): the library has no OPTION_REQ, so the server turns exceptions on
//! for every connection. `Gearman::Util`: Gearman::Client has no echo, and its task set croaks
//! "Unimplemented packet type: error" on any ERROR, so the script reads the answer with the
//! library's packet reader. JOB_ASSIGN_ALL is a reduce job: libgearman then submits its answer
//! to the reducer, which a raw worker takes. libgearman's C API is the PHP and `gearman` columns
//! (both libgearman 1.1.20); `contrib/bench/libgearman/slap.c` runs only plain jobs and adds
//! nothing here. On C gearmand the exception converted to WORK_FAIL carries a trailing NUL (D20),
//! and each library fails in its own way (`Lib::exception_as_fail`). Library quirks the scripts
//! work around, each said there: Node reads the last field of STATUS_RES(_UNIQUE) as one byte,
//! pygearman takes WORK_EXCEPTION as an update rather than an end.

#[macro_use]
mod common;
#[path = "common/libs.rs"]
mod libs;
#[path = "common/tap.rs"]
mod tap;

use common::*;
use libs::{Expect, Lib, Ran, ANSWER_MS};
use tap::Tap;
use Case::*;

/// One packet type (or way of getting it) that a library must take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    JobCreated,
    WorkStatus,
    WorkData,
    WorkWarning,
    WorkComplete,
    WorkFail,
    ExceptionAsFail,
    WorkException,
    StatusRes,
    StatusResUnique,
    OptionRes,
    Error,
    EchoRes,
    JobAssign,
    JobAssignUniq,
    JobAssignAll,
}

const CASES: [Case; 16] = [
    JobCreated,
    WorkStatus,
    WorkData,
    WorkWarning,
    WorkComplete,
    WorkFail,
    ExceptionAsFail,
    WorkException,
    StatusRes,
    StatusResUnique,
    OptionRes,
    Error,
    EchoRes,
    JobAssign,
    JobAssignUniq,
    JobAssignAll,
];

impl Case {
    /// The packet the library must have received.
    fn packet(self) -> u32 {
        match self {
            JobCreated => ptype::JOB_CREATED,
            WorkStatus => ptype::WORK_STATUS,
            WorkData => ptype::WORK_DATA,
            WorkWarning => ptype::WORK_WARNING,
            WorkComplete => ptype::WORK_COMPLETE,
            WorkFail | ExceptionAsFail => ptype::WORK_FAIL,
            WorkException => ptype::WORK_EXCEPTION,
            StatusRes => ptype::STATUS_RES,
            StatusResUnique => ptype::STATUS_RES_UNIQUE,
            OptionRes => ptype::OPTION_RES,
            Error => ptype::ERROR,
            EchoRes => ptype::ECHO_RES,
            JobAssign => ptype::JOB_ASSIGN,
            JobAssignUniq => ptype::JOB_ASSIGN_UNIQ,
            JobAssignAll => ptype::JOB_ASSIGN_ALL,
        }
    }

    /// What the raw worker sends for a foreground job of the library (after JOB_ASSIGN), if the
    /// case is one.
    fn worker_sends(self) -> Option<Vec<(u32, &'static [u8])>> {
        let complete = |d: &'static [u8]| (ptype::WORK_COMPLETE, d);
        Some(match self {
            WorkStatus => vec![(ptype::WORK_STATUS, b"1\x002"), complete(b"done")],
            WorkData => vec![(ptype::WORK_DATA, b"part"), complete(b"end")],
            WorkWarning => vec![(ptype::WORK_WARNING, b"warn"), complete(b"end")],
            WorkComplete => vec![complete(b"done")],
            WorkFail => vec![(ptype::WORK_FAIL, b"")],
            ExceptionAsFail | WorkException => vec![(ptype::WORK_EXCEPTION, b"boom")],
            _ => return None,
        })
    }

    /// The script's MODE ARG OPT for this case.
    fn mode(self, lib: Lib) -> (&'static str, &'static str, &'static str) {
        let perl_raw = lib == Lib::Perl;
        match self {
            JobCreated => ("bg", "mx", ""),
            WorkException => ("job", "mx", "exceptions"),
            StatusRes => ("status", "T:1", ""),
            StatusResUnique => ("unique", "uq", ""),
            OptionRes => ("option", "-", ""),
            Error if perl_raw => ("raw-error", "fq", ""),
            Error => ("error", "fq", ""),
            EchoRes if perl_raw => ("raw-echo", "ping", ""),
            EchoRes => ("echo", "ping", ""),
            JobAssign => ("work", "mx", "job"),
            JobAssignUniq => ("work", "mx", "uniq"),
            JobAssignAll => ("work", "mx", "all"),
            _ => ("job", "mx", "plain"),
        }
    }
}

/// Why `lib` cannot take `case`, or None when it can.
fn cannot(lib: Lib, case: Case) -> Option<&'static str> {
    let why = match (lib, case) {
        (Lib::Perl, StatusResUnique) => "Gearman::Client has no GET_STATUS_UNIQUE",
        (Lib::Perl, JobAssignUniq) => "Gearman::Worker sends only GRAB_JOB (no GRAB_JOB_UNIQ)",
        (Lib::Perl | Lib::Python | Lib::Node, JobAssignAll) => "no GRAB_JOB_ALL in the library",
        (Lib::Python, StatusResUnique) => "pygearman has no GET_STATUS_UNIQUE",
        (Lib::Python, OptionRes) => "pygearman has no OPTION_REQ",
        (Lib::Python, JobAssign) => "pygearman's worker sends only GRAB_JOB_UNIQ",
        (Lib::Cli, StatusRes | StatusResUnique) => "the gearman tool has no status query",
        (Lib::Cli, OptionRes) => "the gearman tool sends no OPTION_REQ",
        (Lib::Cli, EchoRes) => "the gearman tool sends no ECHO_REQ",
        (Lib::Cli, JobAssign) => "the gearman tool's worker always sends GRAB_JOB_ALL",
        _ => return None,
    };
    Some(why)
}

/// What the library must report, and the WORK_COMPLETE data a worker case must answer.
fn want(lib: Lib, case: Case, kind: Kind) -> (Expect, Option<String>) {
    let cli = lib == Lib::Cli;
    let (out, err, ok) = match case {
        ExceptionAsFail => return (lib.exception_as_fail(kind), None),
        JobCreated if cli => ("", None, true),
        JobCreated => ("created T:1\n", None, true),
        WorkStatus if cli => ("done50% Complete\n", None, true),
        WorkStatus => ("created\nstatus 1/2\ncomplete done\n", None, true),
        WorkData if cli => ("partend", None, true),
        WorkData => ("created\ndata part\ncomplete end\n", None, true),
        WorkWarning if cli => ("end", Some("warn"), true),
        WorkWarning => ("created\nwarning warn\ncomplete end\n", None, true),
        WorkComplete if cli => ("done", None, true),
        WorkComplete => ("created\ncomplete done\n", None, true),
        WorkFail if cli => ("", Some("Job failed\n"), false),
        WorkFail => ("created\nfail\n", None, true),
        WorkException if cli => ("", Some("boom"), true),
        WorkException => ("created\nexception boom\n", None, true),
        StatusRes | StatusResUnique => ("status known=1 running=1 1/2\n", None, true),
        OptionRes => ("option exceptions\n", None, true),
        Error if cli => ("", Some("QUEUE_ERROR:Job queue is full"), true),
        Error => ("error QUEUE_ERROR Job queue is full\n", None, true),
        EchoRes => ("echo ping\n", None, true),
        JobAssign | JobAssignUniq | JobAssignAll => ("", None, true),
    };
    (Expect { ok, out, err }, worker_answer(lib, case))
}

/// The WORK_COMPLETE data of a worker case: the job as the library reported it (the tool's
/// worker runs `cat`, so it answers the workload).
fn worker_answer(lib: Lib, case: Case) -> Option<String> {
    let unique = match case {
        JobAssign => "",
        JobAssignUniq | JobAssignAll => "uq",
        _ => return None,
    };
    Some(match lib {
        Lib::Cli => "in".into(),
        _ => format!("h=T:2 f=mx u={unique} d=in"),
    })
}

/// Runs one case; returns what the library did, the tap's record and a worker case's answer.
fn run_case(kind: Kind, lib: Lib, case: Case) -> (Ran, Vec<u32>, Option<String>) {
    let exceptions_flag = case == WorkException && matches!(lib, Lib::Python | Lib::Cli);
    let args: &[&str] = if exceptions_flag {
        &["--exceptions"]
    } else {
        &[]
    };
    let s = start(kind, args);
    let tap = Tap::start(s.port());
    let (mode, arg, opt) = case.mode(lib);
    let timeout = match case {
        ExceptionAsFail => lib.exception_as_fail_timeout(kind),
        _ => ANSWER_MS,
    };
    let run = || lib.run(tap.port(), mode, arg, opt, timeout);
    let (ran, answer) = match case {
        JobAssign | JobAssignUniq | JobAssignAll => worker_case(&s, &tap, case, run),
        StatusRes | StatusResUnique => {
            let _job = running_with_status(&s);
            (run(), None)
        }
        Error => {
            let _queue = full_queue(&s);
            (run(), None)
        }
        JobCreated | OptionRes | EchoRes => (run(), None),
        _ => (job_case(&s, case, run), None),
    };
    (ran, tap.received(), answer)
}

/// A raw worker sleeps on `mx`; the library submits; the worker takes the job and sends the
/// case's packets.
fn job_case(s: &Server, case: Case, run: impl FnOnce() -> Ran + Send) -> Ran {
    let mut w = worker(s, &["mx"]);
    w.send(ptype::PRE_SLEEP, &[]);
    w.sync();
    std::thread::scope(|sc| {
        let lib = sc.spawn(run);
        w.expect(ptype::NOOP, &[]);
        w.send(ptype::GRAB_JOB, &[]);
        let assign = w.recv();
        assert_eq!(assign.ptype, ptype::JOB_ASSIGN, "{assign:?}");
        let handle = assign.args()[0].to_vec();
        for (t, rest) in case.worker_sends().unwrap() {
            let body = [&handle[..], rest].join(&0u8);
            let args: &[&[u8]] = if rest.is_empty() {
                &[&handle]
            } else {
                &[&body]
            };
            w.send(t, args);
        }
        lib.join().unwrap()
    })
}

/// Job T:1 of `mx` (unique `uq`, one foreground client) running, at status 1/2.
fn running_with_status(s: &Server) -> (Conn, Conn) {
    let mut c = s.connect();
    submit(&mut c, ptype::SUBMIT_JOB, "mx", "uq", b"in");
    let mut w = worker(s, &["mx"]);
    w.assigned(&[&h(1), b"mx", b"in"]);
    w.send(ptype::WORK_STATUS, &[&h(1), b"1", b"2"]);
    c.expect(ptype::WORK_STATUS, &[&h(1), b"1", b"2"]);
    (c, w)
}

/// Function `fq` with one queued job and `maxqueue fq 1`: the next submission gets QUEUE_ERROR.
fn full_queue(s: &Server) -> Conn {
    let mut c = s.connect();
    submit(&mut c, ptype::SUBMIT_JOB_BG, "fq", "", b"x");
    assert_eq!(c.admin_line("maxqueue fq 1"), "OK\r\n");
    c
}

/// The library's worker sleeps; a job wakes it but a raw worker takes that job first (the tap
/// holds the NOOP until then), so the library's grab gets NO_JOB and it sleeps again; then job
/// T:2 (`mx`, unique `uq`, workload `in`) is the library's. Returns the library's run and what
/// it answered: the data of its WORK_COMPLETE, or for JOB_ASSIGN_ALL (a reduce job, reducer
/// `reducer`) the workload of the job it submits to the reducer, as libgearman does.
fn worker_case(
    s: &Server,
    tap: &Tap,
    case: Case,
    run: impl FnOnce() -> Ran + Send,
) -> (Ran, Option<String>) {
    let mut other = worker(s, &["mx"]);
    let mut reducer = worker(s, &["reducer"]);
    reducer.send(ptype::PRE_SLEEP, &[]);
    reducer.sync();
    let mut c = s.connect();
    std::thread::scope(|sc| {
        let lib = sc.spawn(run);
        tap.await_count(false, ptype::PRE_SLEEP, 1);
        tap.hold();
        submit(&mut c, ptype::SUBMIT_JOB_BG, "mx", "decoy", b"decoy");
        tap.await_count(true, ptype::NOOP, 1);
        other.assigned(&[&h(1), b"mx", b"decoy"]);
        other.send(ptype::WORK_COMPLETE, &[&h(1), b""]);
        other.sync();
        tap.release();
        tap.await_count(false, ptype::PRE_SLEEP, 2);
        let reduce = case == JobAssignAll;
        match reduce {
            true => c.send(
                ptype::SUBMIT_REDUCE_JOB,
                &[b"mx", b"uq", b"reducer", b"aggregator", b"in"],
            ),
            false => c.send(ptype::SUBMIT_JOB, &[b"mx", b"uq", b"in"]),
        }
        c.expect(ptype::JOB_CREATED, &[&h(2)]);
        let answer = match reduce {
            true => reducer_input(&mut reducer),
            false => complete_data(c.recv()),
        };
        if reduce {
            let done = c.recv();
            assert_eq!(done.ptype, ptype::WORK_COMPLETE, "{done:?}");
        }
        (lib.join().unwrap(), Some(answer))
    })
}

/// Wakes for the job a libgearman worker submits to `reducer` (T:3), answers it and returns
/// its data.
fn reducer_input(w: &mut Conn) -> String {
    w.expect(ptype::NOOP, &[]);
    w.send(ptype::GRAB_JOB, &[]);
    let p = w.recv();
    assert_eq!(p.ptype, ptype::JOB_ASSIGN, "{p:?}");
    w.send(ptype::WORK_COMPLETE, &[&h(3), b"reduced"]);
    String::from_utf8_lossy(p.args()[2]).into_owned()
}

/// The data of a WORK_COMPLETE, or what came instead.
fn complete_data(p: Packet) -> String {
    match p.ptype == ptype::WORK_COMPLETE {
        true => String::from_utf8_lossy(p.args()[1]).into_owned(),
        false => format!("not WORK_COMPLETE: {p:?}"),
    }
}

/// Checks one case; a description of every mismatch.
fn check(lib: Lib, case: Case, kind: Kind) -> Vec<String> {
    let (ran, received, answer) = run_case(kind, lib, case);
    let (w, want_answer) = want(lib, case, kind);
    let mut bad = Vec::new();
    if !ran.is(&w) || answer != want_answer {
        bad.push(format!(
            "got {ran:?}, answer {answer:?}; want {w:?}, {want_answer:?}"
        ));
    }
    let mut need = vec![case.packet()];
    if matches!(case, JobAssign | JobAssignUniq | JobAssignAll) {
        need.extend([ptype::NO_JOB, ptype::NOOP]);
    }
    for p in need.into_iter().filter(|p| !received.contains(p)) {
        bad.push(format!(
            "the library never received packet type {p}: {received:?}"
        ));
    }
    bad.into_iter().map(|b| format!("{case:?}: {b}")).collect()
}

/// Every case `lib` can express against `kind`; panics with all failures.
fn matrix(lib: Lib, kind: Kind) {
    if lib.skip() {
        return;
    }
    let (run, skipped): (Vec<Case>, Vec<Case>) =
        CASES.iter().partition(|c| cannot(lib, **c).is_none());
    for c in &skipped {
        eprintln!("{lib:?} cannot express {c:?}: {}", cannot(lib, *c).unwrap());
    }
    // A case whose peer panicked (its message is above) is reported beside the others.
    let failures: Vec<String> = run
        .iter()
        .flat_map(|c| {
            std::panic::catch_unwind(|| check(lib, *c, kind))
                .unwrap_or_else(|_| vec![format!("{c:?}: panicked")])
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{lib:?} against {kind:?}:\n{}",
        failures.join("\n")
    );
}

both!(perl, |kind| matrix(Lib::Perl, kind));
both!(php, |kind| matrix(Lib::Php, kind));
both!(python, |kind| matrix(Lib::Python, kind));
both!(node, |kind| matrix(Lib::Node, kind));
both!(gearman_tool, |kind| matrix(Lib::Cli, kind));
