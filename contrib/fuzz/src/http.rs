//! Target `http_codec`: the HTTP request parser and response encoder of `plugins/protocol-http`.
//!
//! Input: a split seed, a reply seed, a limits byte, then the bytes an HTTP client sends. Checked
//! while decoding (as for gear): no panic, consumed <= offered, the same requests, writes and close
//! for one piece, seeded pieces and single bytes (the interim `100 Continue`, which depends on
//! whether the body had arrived yet, aside), and requests of the shapes the engine expects. Then a
//! second run interleaves decoding with engine replies made up from the reply seed (JOB_CREATED,
//! ERROR, admin text, query tables, status results, WORK_* for the handles given out, and some
//! nonsense) and checks that the connection's output is a well-formed sequence of HTTP responses:
//! status line, clean header lines, a body of exactly `Content-Length` bytes, and nothing after
//! `Connection: close`.

use crate::input::{split_points, Input, Rng};
use crate::transcript::{feed_into, splits, Event, Recorder, Transcript};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::table::{query, TableBuilder};
use gearmand_plugin_api::{Codec, Next};
use gearmand_protocol_http::response::CONTINUE;
use gearmand_protocol_http::{HttpCodec, Limits};
use std::time::Duration;

const BYTEWISE_MAX: usize = 2048;

pub fn check_http(data: &[u8]) {
    let mut input = Input::new(data);
    let split_seed = u64::from(input.byte());
    let reply_seed = u64::from(input.byte());
    let limits = limits(input.byte());
    let stream = input.rest();

    let mut reference: Option<Transcript> = None;
    for plan in splits(stream, split_seed, BYTEWISE_MAX) {
        let rec = Recorder {
            unrecorded: Some(CONTINUE),
            ..Recorder::default()
        };
        let t = feed_into(&mut HttpCodec::new(limits), &plan, rec);
        match &reference {
            None => {
                check_requests(&t);
                reference = Some(t);
            }
            Some(r) => {
                assert_eq!(r.events, t.events, "events differ in {} pieces", plan.len());
                assert_eq!(r.closed, t.closed, "close differs in {} pieces", plan.len());
            }
        }
    }
    let out = converse(stream, limits, split_seed, reply_seed);
    let heads_possible = stream.windows(4).any(|w| w == b"HEAD");
    check_responses(&out, !heads_possible);
}

/// The defaults, or the smallest limits the plugin accepts (to reach them with small inputs).
fn limits(b: u8) -> Limits {
    match b % 3 {
        0 => Limits::default(),
        _ => Limits {
            max_header: 1024,
            max_body: 300,
            header_timeout: Duration::from_secs(10),
            ..Limits::default()
        },
    }
}

fn check_requests(t: &Transcript) {
    let mut first = true;
    for (k, args) in t.requests() {
        if first {
            assert_eq!(
                (k, args),
                (ptype::OPTION_REQ, &[b"exceptions".to_vec()][..])
            );
            first = false;
            continue;
        }
        match k {
            ptype::SUBMIT_JOB
            | ptype::SUBMIT_JOB_BG
            | ptype::SUBMIT_JOB_HIGH
            | ptype::SUBMIT_JOB_HIGH_BG
            | ptype::SUBMIT_JOB_LOW
            | ptype::SUBMIT_JOB_LOW_BG => {
                assert_eq!(args.len(), 3, "submit argument count");
                for (what, a) in [("function", &args[0]), ("unique", &args[1])] {
                    assert!(!a.is_empty(), "empty {what}");
                    assert!(!a.contains(&0), "{what} {a:?} contains a NUL");
                }
            }
            kind::ADMIN_LINE => {
                let ok: [&[u8]; 2] = [b"version", b"metrics"];
                assert!(
                    args.len() == 1 && ok.contains(&args[0].as_slice()),
                    "{args:?}"
                );
            }
            kind::QUERY => {
                let ok = [query::FUNCTIONS, query::WORKERS, query::ABILITIES].map(str::as_bytes);
                assert!(
                    args.len() == 1 && ok.contains(&args[0].as_slice()),
                    "{args:?}"
                );
            }
            ptype::GET_STATUS | ptype::GET_STATUS_UNIQUE => {
                assert_eq!(args.len(), 1);
                let a = &args[0];
                assert!(!a.is_empty() && a.len() < 64 && !a.contains(&0), "{a:?}");
            }
            other => panic!("unexpected request kind {other} {args:?}"),
        }
    }
    for e in &t.events {
        if let Event::Write(w) = e {
            assert!(
                w.starts_with(b"HTTP/1."),
                "direct write is not a response: {w:?}"
            );
        }
    }
}

/// Plays the host and the engine: decodes `stream` piece by piece and answers what was asked,
/// returning every byte the connection would send.
fn converse(stream: &[u8], limits: Limits, split_seed: u64, reply_seed: u64) -> Vec<u8> {
    let mut codec = HttpCodec::new(limits);
    let mut engine = FakeEngine::new(reply_seed);
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let pieces = if stream.is_empty() {
        vec![stream]
    } else {
        split_points(stream, split_seed)
    };
    for piece in pieces {
        pending.extend_from_slice(piece);
        let mut rec = Recorder::default();
        let (used, verdict) = codec.decode(&pending, &mut rec);
        pending.drain(..used);
        for e in rec.events {
            match e {
                Event::Write(w) => out.extend_from_slice(&w),
                Event::Request(k, args) => engine.asked.push((k, args)),
            }
        }
        if verdict == Next::Close {
            return out;
        }
        let n = engine.rng.below(engine.asked.len() as u64 + 1) as usize;
        if engine.reply(&mut codec, n, &mut out) == Next::Close {
            return out;
        }
    }
    if engine.reply(&mut codec, usize::MAX, &mut out) == Next::Close {
        return out;
    }
    engine.work(&mut codec, &mut out);
    out
}

/// Made-up engine replies, deterministic from a seed.
struct FakeEngine {
    rng: Rng,
    asked: Vec<(u32, Vec<Vec<u8>>)>,
    /// Handles of foreground jobs, which WORK_* packets may then complete.
    handles: Vec<Vec<u8>>,
    next: u32,
}

impl FakeEngine {
    fn new(seed: u64) -> FakeEngine {
        FakeEngine {
            rng: Rng::new(seed ^ 0x5eed),
            asked: Vec::new(),
            handles: Vec::new(),
            next: 1,
        }
    }

    /// Answers the oldest `n` requests still unanswered.
    fn reply(&mut self, codec: &mut HttpCodec, n: usize, out: &mut Vec<u8>) -> Next {
        let n = n.min(self.asked.len());
        let asked: Vec<_> = self.asked.drain(..n).collect();
        for (k, args) in asked {
            let (rk, rargs) = self.answer(k, &args);
            let refs: Vec<&[u8]> = rargs.iter().map(|a| a.as_slice()).collect();
            if codec.encode(rk, &refs, out) == Next::Close {
                return Next::Close;
            }
            if self.rng.below(3) == 0 && self.work_once(codec, out) == Next::Close {
                return Next::Close;
            }
        }
        Next::Continue
    }

    fn answer(&mut self, k: u32, args: &[Vec<u8>]) -> (u32, Vec<Vec<u8>>) {
        let first = args.first().cloned().unwrap_or_default();
        match (k, self.rng.below(16)) {
            (_, 0) => (ptype::NOOP, vec![]),
            (_, 1) => (kind::RAW, vec![self.junk()]),
            (_, 2) => {
                let code =
                    [&b"QUEUE_ERROR"[..], b"ARGUMENT_TOO_LARGE", b"X"][self.rng.below(3) as usize];
                (ptype::ERROR, vec![code.to_vec(), self.junk()])
            }
            (ptype::OPTION_REQ, _) => (ptype::OPTION_RES, vec![first]),
            (kind::ADMIN_LINE, _) => (kind::RAW, vec![self.admin_text()]),
            (kind::QUERY, _) => (kind::TABLE, self.table(&first)),
            (ptype::GET_STATUS, _) => {
                let mut a = vec![first];
                a.extend((0..4).map(|_| self.number()));
                (ptype::STATUS_RES, a)
            }
            (ptype::GET_STATUS_UNIQUE, _) => {
                let mut a = vec![first];
                a.extend((0..5).map(|_| self.number()));
                (ptype::STATUS_RES_UNIQUE, a)
            }
            _ => {
                let h = format!("H:fz:{}", self.next).into_bytes();
                self.next += 1;
                self.handles.push(h.clone());
                (ptype::JOB_CREATED, vec![h])
            }
        }
    }

    /// A burst of WORK_* packets at the end.
    fn work(&mut self, codec: &mut HttpCodec, out: &mut Vec<u8>) {
        for _ in 0..self.handles.len() * 2 + 1 {
            if self.work_once(codec, out) == Next::Close {
                return;
            }
        }
    }

    fn work_once(&mut self, codec: &mut HttpCodec, out: &mut Vec<u8>) -> Next {
        let handle = match self.handles.len() {
            0 => self.junk(),
            n => self.handles[self.rng.below(n as u64) as usize].clone(),
        };
        let payload = self.junk();
        let (k, args) = match self.rng.below(6) {
            0 => (ptype::WORK_DATA, vec![handle, payload]),
            1 => (
                ptype::WORK_STATUS,
                vec![handle, self.number(), self.number()],
            ),
            2 => (ptype::WORK_WARNING, vec![handle, payload]),
            3 => (ptype::WORK_FAIL, vec![handle]),
            4 => (ptype::WORK_EXCEPTION, vec![handle, payload]),
            _ => (ptype::WORK_COMPLETE, vec![handle, payload]),
        };
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        codec.encode(k, &refs, out)
    }

    fn number(&mut self) -> Vec<u8> {
        match self.rng.below(4) {
            0 => self.junk(),
            _ => self.rng.below(1000).to_string().into_bytes(),
        }
    }

    /// Bytes from an alphabet that matters to the renderers (tabs, newlines, digits, quotes).
    fn junk(&mut self) -> Vec<u8> {
        const ALPHABET: &[u8] = b"\t\n\r .:-\"\\\0f0123456789H\xff";
        let n = self.rng.below(24) as usize;
        (0..n)
            .map(|_| ALPHABET[self.rng.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    /// A table with the query's columns (or a few made up) and junk or numeric cells; now and
    /// then a malformed one.
    fn table(&mut self, name: &[u8]) -> Vec<Vec<u8>> {
        let columns: &[&str] = match name {
            n if n == query::FUNCTIONS.as_bytes() => &query::FUNCTIONS_COLUMNS,
            n if n == query::WORKERS.as_bytes() => &query::WORKERS_COLUMNS,
            n if n == query::ABILITIES.as_bytes() => &query::ABILITIES_COLUMNS,
            _ => &["x"],
        };
        if self.rng.below(8) == 0 {
            return vec![self.junk(), self.junk()];
        }
        // Sometimes without the last column, as from an engine that does not know it.
        let width = (columns.len() - self.rng.below(2) as usize).max(1);
        let mut t = TableBuilder::new(&columns[..width]);
        for _ in 0..self.rng.below(4) * width as u64 {
            match self.rng.below(3) {
                0 => t.text(&self.junk()),
                _ => t.num(self.rng.below(1000)),
            };
        }
        t.args().iter().map(|a| a.to_vec()).collect()
    }

    /// Admin replies as the engine writes them, or junk.
    fn admin_text(&mut self) -> Vec<u8> {
        match self.rng.below(5) {
            0 => b"OK 0.1.0\n".to_vec(),
            1 => b"fn\t3\t1\t2\nother\t0\t0\t0\n.\n".to_vec(),
            2 => b"fn\t1\t2\t0\t2\n.\n".to_vec(),
            3 => b"33 127.0.0.1 - : fn other\n34 ::1 w1 :\n.\n".to_vec(),
            _ => self.junk(),
        }
    }
}

/// Checks that `out` is a sequence of complete HTTP responses. Bodies are checked against
/// `Content-Length` only when no HEAD request (whose response has no body) may be among them.
fn check_responses(out: &[u8], bodies_known: bool) {
    let mut rest = out;
    while !rest.is_empty() {
        let end = find(rest, b"\r\n\r\n").unwrap_or_else(|| {
            panic!(
                "incomplete response head: {:?}",
                rest.escape_ascii().to_string()
            )
        });
        let head = &rest[..end];
        rest = &rest[end + 4..];
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status = lines.next().unwrap_or_default();
        check_status_line(status);
        if status == b"HTTP/1.1 100 Continue" {
            continue;
        }
        let mut length = None;
        let mut closes = false;
        for line in lines {
            let (name, value) = header(line);
            if name.eq_ignore_ascii_case(b"content-length") {
                assert!(length.is_none(), "two Content-Length headers");
                length = Some(parse_len(value));
            }
            closes |= name.eq_ignore_ascii_case(b"connection") && value == b"close";
        }
        let length = length.expect("response without Content-Length");
        if !bodies_known {
            return;
        }
        assert!(rest.len() >= length, "body shorter than Content-Length");
        rest = &rest[length..];
        if closes {
            assert!(rest.is_empty(), "bytes sent after Connection: close");
        }
    }
}

fn check_status_line(line: &[u8]) {
    let ok = line.len() >= 12
        && (line.starts_with(b"HTTP/1.0 ") || line.starts_with(b"HTTP/1.1 "))
        && line[9..12].iter().all(u8::is_ascii_digit)
        && !line.contains(&b'\r');
    assert!(ok, "bad status line {:?}", line.escape_ascii().to_string());
}

fn header(line: &[u8]) -> (&[u8], &[u8]) {
    assert!(
        !line.contains(&b'\r') && !line.contains(&0),
        "control byte in header {:?}",
        line.escape_ascii().to_string()
    );
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .expect("header without ':'");
    let name = &line[..colon];
    assert!(
        !name.is_empty() && name.iter().all(|b| b.is_ascii_graphic()),
        "bad header name"
    );
    let value = line[colon + 1..]
        .strip_prefix(b" ")
        .unwrap_or(&line[colon + 1..]);
    (name, value)
}

fn parse_len(v: &[u8]) -> usize {
    assert!(
        !v.is_empty() && v.iter().all(u8::is_ascii_digit),
        "bad Content-Length {v:?}"
    );
    std::str::from_utf8(v).unwrap().parse().unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
