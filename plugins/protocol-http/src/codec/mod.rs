//! The per-connection codec: HTTP requests in, gear requests out; gear responses in, HTTP out.
//!
//! Decoding runs a small state machine per request: read the head ([`crate::head`]), decide what
//! the request is for ([`crate::target`]), read the body ([`crate::body`]), then hand the gear
//! request(s) to the host and remember what the answer needs ([`crate::exchange`]). Responses made
//! here without the engine (errors, TRACE, `100 Continue`) still go out in request order: they are
//! written at once only when no earlier response is pending, and queued otherwise.
//!
//! A request that cannot be framed (bad head, body too large, broken chunking) is answered and
//! ends the connection; so does a request that did not ask for keep-alive. Everything the client
//! sends after that is read and dropped. A client that is too slow (see [`crate::timer`]) gets
//! `408 Request Timeout` for a request it started, or a silent close when it sent nothing.

use crate::body::{BodyReader, Progress};
use crate::config::Limits;
use crate::exchange::{AfterFlush, Exchange, Pending, Want};
use crate::head::{self, Framing, Head, HeadScanner, HttpError, Method, Scan, Version};
use crate::page;
use crate::render;
use crate::response::{self, Ctx, Extra, Status, CONTINUE};
use crate::target::{self, Endpoint, Route};
use crate::timer::ReadTimer;
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::{Codec, DecodeSink, Next};
use std::time::Duration;

mod timeouts;

/// Methods the job paths serve (sent in `Allow` with a 405).
const ALLOW_JOBS: &str = "GET, HEAD, POST, PUT, TRACE";
/// Methods the `/-/` endpoints serve.
const ALLOW_ENDPOINTS: &str = "GET, HEAD";
/// Handles and uniques the engine answers status queries for are shorter than this.
const MAX_STATUS_KEY: usize = 64;
/// A body buffer grown past this is released after its request instead of kept for reuse.
const KEEP_BODY_CAPACITY: usize = 1 << 20;

/// What a request whose head has been read will do once its body is complete.
#[derive(Debug)]
enum Action {
    /// Submit a job of this gear packet type (function in `name`, unique in `unique`).
    Submit(u32),
    /// Query an endpoint (its argument, if any, in `name`).
    Endpoint(Endpoint),
    /// Echo the request head.
    Trace(Vec<u8>),
    /// Answer with an error and go on with the next request.
    Refuse(Status, &'static str, Option<&'static str>),
}

/// Where the decoder is.
#[derive(Debug)]
enum ReadState {
    /// Waiting for a complete request head.
    Head,
    /// Reading the body of `Action`.
    Body(BodyReader, Ctx, Action),
    /// The connection ends after the pending responses; input is dropped.
    Draining,
}

/// What one decoding step achieved.
enum Step {
    /// Consumed this many bytes and can go on.
    Progress(usize),
    /// Consumed this many bytes and needs more input.
    NeedMore(usize),
}

/// The per-connection state.
pub struct HttpCodec {
    limits: Limits,
    /// OPTION_REQ `exceptions` has been sent.
    started: bool,
    state: ReadState,
    scanner: HeadScanner,
    /// The function name (or endpoint argument) of the request being read.
    name: Vec<u8>,
    /// Its unique.
    unique: Vec<u8>,
    /// Its body, when it did not arrive in one piece.
    body: Vec<u8>,
    exchange: Exchange,
    /// Set when a response that ends the connection was written directly.
    close_now: bool,
    /// Reused for responses written through the sink.
    scratch: Vec<u8>,
    /// Request heads read so far.
    heads: u64,
    /// Input is waiting for more bytes (the host offers it again).
    partial: bool,
    /// The header, body and idle timeouts.
    timer: ReadTimer,
}

impl HttpCodec {
    /// A codec for a new connection.
    pub fn new(limits: Limits) -> HttpCodec {
        HttpCodec {
            limits,
            started: false,
            state: ReadState::Head,
            scanner: HeadScanner::default(),
            name: Vec::new(),
            unique: Vec::new(),
            body: Vec::new(),
            exchange: Exchange::default(),
            close_now: false,
            scratch: Vec::new(),
            heads: 0,
            partial: false,
            timer: ReadTimer::new(),
        }
    }

    /// One step of the state machine on the unconsumed input.
    fn step(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> Step {
        match std::mem::replace(&mut self.state, ReadState::Draining) {
            ReadState::Head => self.read_head(input, sink),
            ReadState::Body(reader, ctx, action) => {
                self.read_body(input, reader, ctx, action, sink)
            }
            ReadState::Draining => Step::NeedMore(input.len()),
        }
    }

    fn read_head(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> Step {
        let len = match self.scanner.scan(input, self.limits.max_header) {
            Ok(Scan::NeedMore) => {
                self.state = ReadState::Head;
                return Step::NeedMore(0);
            }
            Ok(Scan::Complete { len }) => len,
            Err(e) => {
                self.fail(Ctx::CLOSING, e, sink);
                return Step::NeedMore(input.len());
            }
        };
        self.scanner.reset();
        self.heads += 1;
        match head::parse(&input[..len]) {
            Ok(h) => {
                let body_waiting = input.len() == len;
                self.begin(h, &input[..len], body_waiting, sink);
                Step::Progress(len)
            }
            Err(e) => {
                self.fail(Ctx::closing_for(&input[..len]), e, sink);
                Step::NeedMore(input.len())
            }
        }
    }

    /// Decides what a parsed request does and starts reading its body.
    fn begin(&mut self, h: Head<'_>, raw: &[u8], body_waiting: bool, sink: &mut dyn DecodeSink) {
        let ctx = Ctx {
            version: h.version,
            keep_alive: h.keep_alive,
            head_only: h.method == Method::Head,
        };
        if let Framing::Length(n) = h.framing {
            if n > self.limits.max_body as u64 {
                let e = HttpError::new(Status::PayloadTooLarge, "request body too large");
                return self.fail(
                    Ctx {
                        keep_alive: false,
                        ..ctx
                    },
                    e,
                    sink,
                );
            }
        }
        let action = self.action(&h, raw);
        let has_body = h.framing != Framing::None;
        if h.expect_continue && has_body {
            if let Action::Refuse(status, reason, _) = action {
                // Answer before the body is sent, then close: the client may not send it at all.
                let e = HttpError::new(status, reason);
                return self.fail(
                    Ctx {
                        keep_alive: false,
                        ..ctx
                    },
                    e,
                    sink,
                );
            }
            if h.version == Version::Http11 && body_waiting {
                self.emit_local(ctx, sink, |out| out.extend_from_slice(CONTINUE));
            }
        }
        self.state = ReadState::Body(BodyReader::new(h.framing), ctx, action);
    }

    /// What the request is for, given its method and target.
    fn action(&mut self, h: &Head<'_>, raw: &[u8]) -> Action {
        let route = match h.method {
            Method::Other => {
                return Action::Refuse(
                    Status::MethodNotAllowed,
                    "method not allowed",
                    Some(ALLOW_JOBS),
                )
            }
            Method::Trace => return Action::Trace(raw.to_vec()),
            _ => target::route(h.target, &mut self.name),
        };
        match route {
            Err(e) => Action::Refuse(e.status, e.reason, None),
            Ok(Route::NotFound(reason)) => Action::Refuse(Status::NotFound, reason, None),
            Ok(Route::Endpoint(_)) if !matches!(h.method, Method::Get | Method::Head) => {
                Action::Refuse(
                    Status::MethodNotAllowed,
                    "method not allowed",
                    Some(ALLOW_ENDPOINTS),
                )
            }
            Ok(Route::Endpoint(e)) => Action::Endpoint(e),
            Ok(Route::Submit) => {
                self.unique.clear();
                self.unique.extend_from_slice(h.unique.unwrap_or(b"-"));
                Action::Submit(target::submit_type(h.background, h.priority))
            }
        }
    }

    fn read_body(
        &mut self,
        input: &[u8],
        mut reader: BodyReader,
        ctx: Ctx,
        action: Action,
        sink: &mut dyn DecodeSink,
    ) -> Step {
        // The common case, a Content-Length body that arrived whole, is handed on without a copy.
        if let BodyReader::Length { remaining } = reader {
            if self.body.is_empty() && remaining <= input.len() as u64 {
                let n = remaining as usize;
                self.dispatch(ctx, action, &input[..n], sink);
                return Step::Progress(n);
            }
        }
        let max_trailers = self.limits.max_header;
        match reader.read(input, &mut self.body, self.limits.max_body, max_trailers) {
            Ok(Progress::Done { consumed }) => {
                let body = std::mem::take(&mut self.body);
                self.dispatch(ctx, action, &body, sink);
                self.body = body;
                self.body.clear();
                if self.body.capacity() > KEEP_BODY_CAPACITY {
                    self.body = Vec::new();
                }
                Step::Progress(consumed)
            }
            Ok(Progress::NeedMore { consumed }) => {
                self.state = ReadState::Body(reader, ctx, action);
                Step::NeedMore(consumed)
            }
            Err(e) => {
                self.fail(
                    Ctx {
                        keep_alive: false,
                        ..ctx
                    },
                    e,
                    sink,
                );
                Step::NeedMore(input.len())
            }
        }
    }

    /// The request is complete: hand it to the engine or answer it here.
    fn dispatch(&mut self, ctx: Ctx, action: Action, body: &[u8], sink: &mut dyn DecodeSink) {
        self.state = if ctx.keep_alive {
            ReadState::Head
        } else {
            ReadState::Draining
        };
        match action {
            Action::Submit(t) => {
                sink.request(t, &[&self.name, &self.unique, body]);
                let background = target::is_background(t);
                let job = Want::Job {
                    background,
                    handle: Vec::new(),
                    data: Vec::new(),
                };
                self.exchange.push(Pending::waiting(job, 1, ctx));
            }
            Action::Endpoint(e) => self.endpoint(ctx, e, sink),
            Action::Trace(head) => self.emit_local(ctx, sink, |out| {
                let extra = Extra {
                    content_type: Some("message/http"),
                    ..Extra::default()
                };
                response::write(out, ctx, Status::Ok, extra, &head);
            }),
            Action::Refuse(status, reason, allow) => self.emit_local(ctx, sink, |out| {
                let extra = Extra {
                    allow,
                    ..Extra::default()
                };
                response::write_error(out, ctx, status, reason, extra);
            }),
        }
    }

    /// Sends the gear requests a `/-/` endpoint needs.
    fn endpoint(&mut self, ctx: Ctx, e: Endpoint, sink: &mut dyn DecodeSink) {
        let admin = |sink: &mut dyn DecodeSink, lines: &[&[u8]]| {
            for line in lines {
                sink.request(kind::ADMIN_LINE, &[line]);
            }
        };
        let (want, awaiting) = match e {
            Endpoint::Page => {
                // Static bytes: answered here, in order, without the engine.
                return self.emit_local(ctx, sink, |out| page::write(out, ctx));
            }
            Endpoint::Health => {
                admin(sink, &[b"version"]);
                (Want::Health, 1)
            }
            Endpoint::Status => {
                for q in render::STATUS_QUERIES {
                    sink.request(kind::QUERY, &[q.as_bytes()]);
                }
                let tables = Vec::new();
                (Want::Status { tables }, render::STATUS_QUERIES.len() as u8)
            }
            Endpoint::Metrics => {
                admin(sink, &[b"metrics"]);
                (Want::Metrics, 1)
            }
            Endpoint::Job | Endpoint::Unique => {
                let (t, want, key) = match e {
                    Endpoint::Job => (ptype::GET_STATUS, Want::JobStatus, "handle"),
                    _ => (ptype::GET_STATUS_UNIQUE, Want::UniqueStatus, "unique"),
                };
                if self.name.len() >= MAX_STATUS_KEY {
                    // The engine does not answer these at all; no such job can exist.
                    let name = std::mem::take(&mut self.name);
                    self.emit_local(ctx, sink, |out| {
                        let mut body = Vec::new();
                        render::unknown_json(key, &name, &mut body);
                        let extra = Extra {
                            content_type: Some("application/json"),
                            ..Extra::default()
                        };
                        response::write(out, ctx, Status::NotFound, extra, &body);
                    });
                    self.name = name;
                    return;
                }
                sink.request(t, &[&self.name]);
                (want, 1)
            }
        };
        self.exchange.push(Pending::waiting(want, awaiting, ctx));
    }

    /// Answers a request that cannot be framed, then drops the connection.
    fn fail(&mut self, ctx: Ctx, e: HttpError, sink: &mut dyn DecodeSink) {
        log::debug!("http: {} {}", e.status.line(), e.reason);
        let ctx = Ctx {
            keep_alive: false,
            ..ctx
        };
        self.state = ReadState::Draining;
        self.emit_local(ctx, sink, |out| {
            response::write_error(out, ctx, e.status, e.reason, Extra::default())
        });
    }

    /// A response made here: written at once if nothing is ahead of it, queued otherwise.
    fn emit_local(
        &mut self,
        ctx: Ctx,
        sink: &mut dyn DecodeSink,
        render: impl FnOnce(&mut Vec<u8>),
    ) {
        if self.exchange.blocks_output() {
            let mut bytes = Vec::new();
            render(&mut bytes);
            self.exchange.push(Pending::ready(bytes, ctx));
            return;
        }
        self.scratch.clear();
        render(&mut self.scratch);
        sink.write(&self.scratch);
        if !ctx.keep_alive {
            self.close_now = true;
        }
    }

    /// Sends OPTION_REQ `exceptions` once, so WORK_EXCEPTION text can reach the response body.
    fn start(&mut self, sink: &mut dyn DecodeSink) {
        if self.started {
            return;
        }
        self.started = true;
        sink.request(ptype::OPTION_REQ, &[b"exceptions"]);
        let ctx = Ctx {
            version: Version::Http11,
            keep_alive: true,
            head_only: false,
        };
        self.exchange
            .push(Pending::waiting(Want::OptionReply, 1, ctx));
    }
}

impl HttpCodec {
    fn decode_input(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> (usize, Next) {
        self.start(sink);
        let mut pos = 0;
        loop {
            if self.close_now {
                return (input.len(), Next::Close);
            }
            if matches!(self.state, ReadState::Draining) {
                return (input.len(), Next::Continue);
            }
            match self.step(&input[pos..], sink) {
                Step::Progress(n) => pos += n,
                Step::NeedMore(n) => {
                    pos += n;
                    if self.close_now {
                        return (input.len(), Next::Close);
                    }
                    return (pos, Next::Continue);
                }
            }
        }
    }
}

impl Codec for HttpCodec {
    fn decode(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> (usize, Next) {
        let (used, decoded) = self.decode_input(input, sink);
        self.partial = used < input.len();
        self.timer.update(self.waiting_for(), self.heads, used > 0);
        (used, decoded)
    }

    fn encode(&mut self, kind: u32, args: &[&[u8]], out: &mut Vec<u8>) -> Next {
        self.exchange.on_response(kind, args, out);
        let after = self.exchange.flush(out);
        self.timer.update(self.waiting_for(), self.heads, false);
        match after {
            AfterFlush::KeepOpen => Next::Continue,
            AfterFlush::Close => Next::Close,
        }
    }

    fn deadline(&self) -> Option<Duration> {
        self.timer.remaining(&self.limits)
    }

    fn timeout(&mut self, out: &mut Vec<u8>) -> Next {
        // The host may call a little early (it rounds to milliseconds): then just say when.
        if self.timer.is_due(&self.limits) {
            self.time_out(out);
            self.timer.update(self.waiting_for(), self.heads, false);
        }
        match self.close_now {
            true => Next::Close,
            false => Next::Continue,
        }
    }
}
