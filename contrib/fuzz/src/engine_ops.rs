//! The operations the `engine` target performs, decoded from fuzz bytes: gear requests of every
//! kind with arguments that are mostly plausible (known function names, handles the engine gave
//! out, edge-sized uniques) and sometimes raw, admin lines, disconnects and the passing of time.

use crate::input::Input;
use gearmand_plugin_api::gear::ptype::*;

/// Client/worker connections the target drives (the observer is separate).
pub const ACTORS: usize = 4;

/// One step of the scenario.
#[derive(Debug, Clone)]
pub enum Op {
    /// A request from actor `conn`.
    Packet {
        conn: usize,
        kind: u32,
        args: Vec<Vec<u8>>,
    },
    /// An admin text line from actor `conn`.
    Admin { conn: usize, line: Vec<u8> },
    /// Actor `conn` disconnects and a new connection takes its place.
    Reconnect { conn: usize },
    /// The clock moves forward and timers run.
    Advance { millis: u64 },
}

/// What the scenario has seen so far, to aim requests at real jobs.
#[derive(Debug, Default)]
pub struct Known {
    /// Recently seen job handles and the actor they were assigned to, if any.
    pub handles: Vec<(Vec<u8>, Option<usize>)>,
    /// The clock's epoch seconds now.
    pub epoch: i64,
    /// An epoch job was submitted with a raw (possibly far-future) time.
    pub unbounded_epoch: bool,
}

const FUNCS: [&[u8]; 4] = [b"f0", b"f1", b"reverse", b""];
const SUBMITS: [u32; 9] = [
    SUBMIT_JOB,
    SUBMIT_JOB_BG,
    SUBMIT_JOB_HIGH,
    SUBMIT_JOB_HIGH_BG,
    SUBMIT_JOB_LOW,
    SUBMIT_JOB_LOW_BG,
    SUBMIT_JOB_EPOCH,
    SUBMIT_REDUCE_JOB,
    SUBMIT_REDUCE_JOB_BACKGROUND,
];
const WORKS: [u32; 6] = [
    WORK_STATUS,
    WORK_DATA,
    WORK_WARNING,
    WORK_COMPLETE,
    WORK_FAIL,
    WORK_EXCEPTION,
];

/// Decodes the next operation.
pub fn next(input: &mut Input<'_>, known: &mut Known) -> Op {
    let conn = input.below(ACTORS);
    let packet = |kind, args| Op::Packet { conn, kind, args };
    match input.below(20) {
        0..=3 => submit(input, known, conn),
        4 => packet(CAN_DO, vec![func(input)]),
        5 => packet(CANT_DO, vec![func(input)]),
        6 => packet(CAN_DO_TIMEOUT, vec![func(input), timeout(input)]),
        7 => packet(RESET_ABILITIES, vec![]),
        8 => packet(PRE_SLEEP, vec![]),
        9 | 10 => packet(input.pick(&[GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL]), vec![]),
        11 | 12 => work(input, known),
        13 => packet(GET_STATUS, vec![handle(input, known).0]),
        14 => packet(GET_STATUS_UNIQUE, vec![unique(input)]),
        15 => match input.below(3) {
            0 => packet(ECHO_REQ, vec![input.bytes(16).to_vec()]),
            1 => packet(
                OPTION_REQ,
                vec![input
                    .pick(&[&b"exceptions"[..], b"EXCEPTIONS", b"x"])
                    .to_vec()],
            ),
            _ => packet(SET_CLIENT_ID, vec![sanitize(input.bytes(12))]),
        },
        16 => Op::Admin {
            conn,
            line: admin_line(input, known),
        },
        17 => Op::Reconnect { conn },
        18 => Op::Advance {
            millis: u64::from(input.u16()) * input.pick(&[1, 10, 1000]),
        },
        _ => raw_packet(input, conn),
    }
}

fn submit(input: &mut Input<'_>, known: &mut Known, conn: usize) -> Op {
    let kind = input.pick(&SUBMITS);
    let (f, u) = (func(input), unique(input));
    let mut args = vec![f, u];
    match kind {
        SUBMIT_JOB_EPOCH => args.push(epoch(input, known)),
        SUBMIT_REDUCE_JOB | SUBMIT_REDUCE_JOB_BACKGROUND => {
            args.push(input.pick(&[&b"r"[..], b"", &[b'r'; 600]]).to_vec());
            args.push(b"agg".to_vec());
        }
        _ => {}
    }
    args.push(input.bytes(8).to_vec());
    Op::Packet { conn, kind, args }
}

fn work(input: &mut Input<'_>, known: &Known) -> Op {
    let kind = input.pick(&WORKS);
    let (h, owner) = handle(input, known);
    let conn = owner
        .filter(|_| !input.byte().is_multiple_of(4))
        .unwrap_or_else(|| input.below(ACTORS));
    let args = match kind {
        WORK_STATUS => vec![h, number(input), number(input)],
        WORK_FAIL => vec![h],
        _ => vec![h, input.bytes(8).to_vec()],
    };
    Op::Packet { conn, kind, args }
}

/// Any kind (valid, server-to-client, out of range or the admin kind) with any argument count.
fn raw_packet(input: &mut Input<'_>, conn: usize) -> Op {
    let kind = match input.below(8) {
        0 => gearmand_plugin_api::abi::kind::ADMIN_LINE,
        1 => u32::from(input.u16()),
        _ => input.below(44) as u32,
    };
    let n = input.below(9);
    let args = (0..n).map(|_| sanitize(input.bytes(12))).collect();
    Op::Packet { conn, kind, args }
}

/// A known function, or raw bytes without the separators the admin listings use.
fn func(input: &mut Input<'_>) -> Vec<u8> {
    match input.below(8) {
        0 => sanitize(input.bytes(10)),
        _ => input.pick(&FUNCS).to_vec(),
    }
}

fn unique(input: &mut Input<'_>) -> Vec<u8> {
    match input.below(10) {
        0 => vec![b'u'; 63],
        1 => vec![b'u'; 64],
        2 => vec![b'u'; 65],
        3 => input
            .bytes(12)
            .iter()
            .map(|&b| if b == 0 { b'0' } else { b })
            .collect(),
        i => [&b""[..], b"-", b"u1", b"u2", b"u3", b"-"][i - 4].to_vec(),
    }
}

fn timeout(input: &mut Input<'_>) -> Vec<u8> {
    let t: &[u8] = input.pick(&[
        &b"0"[..],
        b"1",
        b"1500",
        b"-5",
        b"abc",
        b"99999999999999999999",
        b"123456789012345678901",
    ]);
    t.to_vec()
}

fn epoch(input: &mut Input<'_>, known: &mut Known) -> Vec<u8> {
    match input.below(6) {
        0 => {
            known.unbounded_epoch = true;
            input.bytes(21).to_vec()
        }
        1 => b"0".to_vec(),
        _ => (known.epoch + i64::from(input.u16() as i16))
            .to_string()
            .into_bytes(),
    }
}

/// A handle the engine gave out (with the actor it went to), or a made-up one.
pub fn handle(input: &mut Input<'_>, known: &Known) -> (Vec<u8>, Option<usize>) {
    match (input.below(4), known.handles.len()) {
        (0, _) | (_, 0) => (
            input.pick(&[&b"H:fz:1"[..], b"", b"nonsense"]).to_vec(),
            None,
        ),
        (_, n) => known.handles[input.below(n)].clone(),
    }
}

fn number(input: &mut Input<'_>) -> Vec<u8> {
    input
        .pick(&[&b"1"[..], b"100", b"-3", b"x", b"4294967296"])
        .to_vec()
}

fn admin_line(input: &mut Input<'_>, known: &Known) -> Vec<u8> {
    let f = String::from_utf8_lossy(&func(input)).into_owned();
    let line = match input.below(16) {
        0 => "status".to_string(),
        1 => "workers".to_string(),
        2 => "prioritystatus".to_string(),
        3 => "show jobs".to_string(),
        4 => "show unique jobs".to_string(),
        5 => {
            let h = handle(input, known).0;
            return [&b"cancel job "[..], &h].concat();
        }
        6 => format!("create function {f}"),
        7 => format!("drop function {f}"),
        8 => {
            let n: Vec<String> = (0..input.below(4))
                .map(|_| (input.byte() % 5).to_string())
                .collect();
            format!("maxqueue {f} {}", n.join(" "))
        }
        9 => "shutdown graceful".to_string(),
        10 => "VERSION".to_string(),
        11 => "getpid".to_string(),
        _ => {
            return input
                .bytes(24)
                .iter()
                .map(|&b| if b == b'\n' { b' ' } else { b })
                .collect()
        }
    };
    line.into_bytes()
}

/// Raw name bytes with the admin listings' separators (space, tab, newline) replaced.
pub fn sanitize(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0) {
                b'_'
            } else {
                c
            }
        })
        .collect()
}
