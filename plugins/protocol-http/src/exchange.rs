//! The requests of one connection that still await their response, and how engine replies
//! complete them.
//!
//! Every request handed to the engine is answered by *immediate* replies, in request order
//! (JOB_CREATED or ERROR for a submission, RAW for an admin line, TABLE or ERROR for a
//! structured query, STATUS_RES(_UNIQUE) for a job status query, OPTION_RES for the option set
//! at connection start). A foreground job is then
//! completed later by WORK_* packets carrying its handle, possibly after younger requests have
//! completed. HTTP answers strictly in request order, so a response that is ready early waits in
//! its entry until everything before it has been written.

use crate::prometheus;
use crate::render::{self, StatusParts};
use crate::response::{self, Ctx, Extra, Status};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;
use std::collections::VecDeque;

/// What an outstanding request is waiting for.
#[derive(Debug)]
pub enum Want {
    /// The OPTION_REQ `exceptions` sent at connection start; its reply is swallowed.
    OptionReply,
    /// A job submission: JOB_CREATED, then for a foreground job its result.
    Job {
        background: bool,
        /// Set by JOB_CREATED.
        handle: Vec<u8>,
        /// WORK_DATA received so far, sent in front of the WORK_COMPLETE data.
        data: Vec<u8>,
    },
    /// `/-/health`: any admin reply proves the engine is serving.
    Health,
    /// `/-/status`: the arguments of the replies to the [`render::STATUS_QUERIES`] so far (none
    /// for a reply that is not a TABLE).
    Status { tables: Vec<Vec<Vec<u8>>> },
    /// `/-/metrics`: the reply to the `metrics` admin line.
    Metrics,
    /// `/-/job/<handle>`: STATUS_RES.
    JobStatus,
    /// `/-/unique/<unique>`: STATUS_RES_UNIQUE.
    UniqueStatus,
    /// A response rendered locally (errors, TRACE, `100 Continue`).
    Ready,
}

/// One outstanding request.
#[derive(Debug)]
pub struct Pending {
    pub want: Want,
    /// Immediate replies still due from the engine.
    pub awaiting: u8,
    pub ctx: Ctx,
    /// The response is complete (in `ready`, or already written if it was at the front).
    pub done: bool,
    /// The rendered response, when it completed behind an unfinished one.
    pub ready: Vec<u8>,
}

impl Pending {
    /// An entry waiting for `awaiting` immediate replies.
    pub fn waiting(want: Want, awaiting: u8, ctx: Ctx) -> Pending {
        Pending {
            want,
            awaiting,
            ctx,
            done: false,
            ready: Vec::new(),
        }
    }

    /// An entry whose response is already rendered.
    pub fn ready(bytes: Vec<u8>, ctx: Ctx) -> Pending {
        Pending {
            want: Want::Ready,
            awaiting: 0,
            ctx,
            done: true,
            ready: bytes,
        }
    }
}

/// Whether the connection continues after a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFlush {
    KeepOpen,
    Close,
}

/// The FIFO of outstanding requests of one connection.
#[derive(Debug, Default)]
pub struct Exchange {
    queue: VecDeque<Pending>,
}

impl Exchange {
    pub fn push(&mut self, p: Pending) {
        self.queue.push_back(p);
    }

    /// True when some outstanding request will produce output: a new response must queue behind it.
    pub fn blocks_output(&self) -> bool {
        self.queue
            .iter()
            .any(|p| !matches!(p.want, Want::OptionReply))
    }

    /// Routes one engine response to the request it belongs to.
    pub fn on_response(&mut self, k: u32, args: &[&[u8]], out: &mut Vec<u8>) {
        match k {
            ptype::JOB_CREATED
            | ptype::ERROR
            | kind::RAW
            | kind::TABLE
            | ptype::STATUS_RES
            | ptype::STATUS_RES_UNIQUE
            | ptype::OPTION_RES => self.on_reply(k, args, out),
            ptype::WORK_DATA
            | ptype::WORK_COMPLETE
            | ptype::WORK_FAIL
            | ptype::WORK_EXCEPTION
            | ptype::WORK_STATUS
            | ptype::WORK_WARNING => self.on_work(k, args, out),
            _ => log::debug!("ignoring response kind {k} on an http connection"),
        }
    }

    /// Writes every completed response at the front, in order.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> AfterFlush {
        while self.queue.front().is_some_and(|p| p.done) {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            out.extend_from_slice(&p.ready);
            if !p.ctx.keep_alive {
                self.queue.clear();
                return AfterFlush::Close;
            }
        }
        AfterFlush::KeepOpen
    }

    /// An immediate reply: it belongs to the oldest request still waiting for one.
    fn on_reply(&mut self, k: u32, args: &[&[u8]], out: &mut Vec<u8>) {
        let Some(idx) = self.queue.iter().position(|p| p.awaiting > 0) else {
            log::warn!("http: engine reply {k} with no request waiting for it");
            return;
        };
        let p = &mut self.queue[idx];
        p.awaiting -= 1;
        if let Want::Status { tables } = &mut p.want {
            let table = match k {
                kind::TABLE => args.iter().map(|a| a.to_vec()).collect(),
                _ => Vec::new(),
            };
            tables.push(table);
            if p.awaiting > 0 {
                return;
            }
        }
        if let (
            Want::Job {
                background: false,
                handle,
                ..
            },
            ptype::JOB_CREATED,
        ) = (&mut p.want, k)
        {
            handle.extend_from_slice(first(args));
            return;
        }
        finish(p, idx == 0, out, |p, buf| reply_response(p, k, args, buf));
    }

    /// A WORK_* packet: it belongs to every foreground job with that handle (two pipelined
    /// requests can coalesce into one job).
    fn on_work(&mut self, k: u32, args: &[&[u8]], out: &mut Vec<u8>) {
        let handle = cut_nul(first(args));
        let payload = args.get(1).copied().unwrap_or(b"");
        for (idx, p) in self.queue.iter_mut().enumerate() {
            let Want::Job {
                handle: h, data, ..
            } = &mut p.want
            else {
                continue;
            };
            if p.done || p.awaiting > 0 || h.as_slice() != handle {
                continue;
            }
            match k {
                ptype::WORK_DATA => data.extend_from_slice(payload),
                ptype::WORK_COMPLETE | ptype::WORK_FAIL | ptype::WORK_EXCEPTION => {
                    finish(p, idx == 0, out, |p, buf| {
                        result_response(p, k, payload, buf)
                    });
                }
                // Progress and warnings do not end an HTTP response.
                _ => {}
            }
        }
    }
}

/// Marks `p` done, rendering its response straight onto `out` when it is at the front (the
/// common case, no copy) or into its own buffer when it must wait for older responses.
fn finish(
    p: &mut Pending,
    at_front: bool,
    out: &mut Vec<u8>,
    render: impl FnOnce(&Pending, &mut Vec<u8>),
) {
    if at_front {
        render(p, out);
    } else {
        let mut buf = Vec::new();
        render(p, &mut buf);
        p.ready = buf;
    }
    p.done = true;
}

/// The response completed by an immediate reply.
fn reply_response(p: &Pending, k: u32, args: &[&[u8]], out: &mut Vec<u8>) {
    let ctx = p.ctx;
    match (&p.want, k) {
        (Want::OptionReply, _) => {}
        (Want::Status { tables }, _) => status_response(ctx, tables, out),
        (_, ptype::ERROR) => engine_error(ctx, args, out),
        (Want::Job { .. }, ptype::JOB_CREATED) => {
            let extra = Extra {
                handle: Some(first(args)),
                command: Some("JOB_CREATED"),
                ..Extra::default()
            };
            response::write(out, ctx, Status::Ok, extra, b"");
        }
        (Want::Health, kind::RAW) => response::write(out, ctx, Status::Ok, text(), b"ok\n"),
        (Want::Metrics, kind::RAW) => {
            let mut body = Vec::new();
            prometheus::render(first(args), &mut body);
            let extra = Extra {
                content_type: Some("text/plain; version=0.0.4; charset=utf-8"),
                ..Extra::default()
            };
            response::write(out, ctx, Status::Ok, extra, &body);
        }
        (Want::JobStatus, ptype::STATUS_RES) | (Want::UniqueStatus, ptype::STATUS_RES_UNIQUE) => {
            let mut body = Vec::new();
            let known = if k == ptype::STATUS_RES {
                render::job_status_json(args, &mut body)
            } else {
                render::unique_status_json(args, &mut body)
            };
            let status = if known { Status::Ok } else { Status::NotFound };
            response::write(out, ctx, status, json(), &body);
        }
        _ => {
            log::warn!("http: unexpected engine reply kind {k} for {:?}", p.want);
            let msg = "unexpected reply from the job server";
            response::write_error(out, ctx, Status::InternalError, msg, Extra::default());
        }
    }
}

/// `/-/status` from its three tables.
fn status_response(ctx: Ctx, tables: &[Vec<Vec<u8>>], out: &mut Vec<u8>) {
    let args: Vec<Vec<&[u8]>> = tables
        .iter()
        .map(|t| t.iter().map(Vec::as_slice).collect())
        .collect();
    let part = |i: usize| args.get(i).map_or(&[][..], Vec::as_slice);
    let parts = StatusParts {
        functions: part(0),
        workers: part(1),
        abilities: part(2),
    };
    let mut body = Vec::new();
    render::status_json(parts, &mut body);
    response::write(out, ctx, Status::Ok, json(), &body);
}

/// The response to a foreground job's final WORK_* packet.
fn result_response(p: &Pending, k: u32, payload: &[u8], out: &mut Vec<u8>) {
    let Want::Job { handle, data, .. } = &p.want else {
        return;
    };
    let extra = |command| Extra {
        handle: Some(handle),
        command: Some(command),
        ..Extra::default()
    };
    match k {
        ptype::WORK_COMPLETE => {
            let e = extra("WORK_COMPLETE");
            response::write_parts(out, p.ctx, Status::Ok, e, &[data, payload]);
        }
        ptype::WORK_EXCEPTION => {
            let e = extra("WORK_EXCEPTION");
            response::write(out, p.ctx, Status::InternalError, e, payload);
        }
        _ => {
            let e = extra("WORK_FAIL");
            response::write_error(out, p.ctx, Status::InternalError, "job failed", e);
        }
    }
}

/// An ERROR packet from the engine: `[code, text]`.
fn engine_error(ctx: Ctx, args: &[&[u8]], out: &mut Vec<u8>) {
    let code = first(args);
    let status = match code {
        b"QUEUE_ERROR" => Status::ServiceUnavailable,
        b"ARGUMENT_TOO_LARGE" => Status::BadRequest,
        _ => Status::InternalError,
    };
    let text = args.get(1).copied().unwrap_or(b"");
    let reason = format!(
        "{}: {}",
        String::from_utf8_lossy(code),
        String::from_utf8_lossy(text)
    );
    let extra = Extra {
        command: Some("ERROR"),
        ..Extra::default()
    };
    response::write_error(out, ctx, status, &reason, extra);
}

fn text() -> Extra<'static> {
    Extra {
        content_type: Some("text/plain; charset=utf-8"),
        ..Extra::default()
    }
}

fn json() -> Extra<'static> {
    Extra {
        content_type: Some("application/json"),
        ..Extra::default()
    }
}

fn first<'a>(args: &[&'a [u8]]) -> &'a [u8] {
    args.first().copied().unwrap_or(b"")
}

/// Handles are compared up to the first NUL, so that a WORK_FAIL with a trailing NUL (as C gearmand
/// 1.1.20 converts an exception) still finds its exchange.
fn cut_nul(v: &[u8]) -> &[u8] {
    v.iter().position(|&b| b == 0).map_or(v, |i| &v[..i])
}
