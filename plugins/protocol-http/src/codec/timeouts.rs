//! The codec's side of the read timers ([`crate::timer`]): what the connection waits for after
//! each call, and what a timeout does to it.

use super::{HttpCodec, ReadState};
use crate::head::HttpError;
use crate::response::{Ctx, Status};
use crate::timer::Wait;
use gearmand_plugin_api::DecodeSink;

impl HttpCodec {
    /// What the connection waits for from its client now (see [`crate::timer`]).
    pub(super) fn waiting_for(&self) -> Wait {
        match self.state {
            _ if self.close_now => Wait::Nothing,
            ReadState::Draining => Wait::Nothing,
            ReadState::Body(..) => Wait::Body,
            ReadState::Head if self.partial => Wait::Head { partial: true },
            ReadState::Head if self.exchange.blocks_output() => Wait::Nothing,
            ReadState::Head if self.heads == 0 => Wait::Head { partial: false },
            ReadState::Head => Wait::Idle,
        }
    }

    /// The client took too long: `408` for a request it began, a silent close otherwise.
    pub(super) fn time_out(&mut self, out: &mut Vec<u8>) {
        let mut sink = WriteOnly(out);
        match (self.timer.wait(), &self.state) {
            (Wait::Head { partial: true }, _) => {
                let e = HttpError::new(Status::RequestTimeout, "request head not received in time");
                self.fail(Ctx::CLOSING, e, &mut sink);
            }
            (Wait::Body, ReadState::Body(_, ctx, _)) => {
                let ctx = *ctx;
                let e = HttpError::new(Status::RequestTimeout, "request body stalled");
                self.fail(ctx, e, &mut sink);
            }
            _ => {
                log::debug!("http: idle connection closed");
                self.state = ReadState::Draining;
                self.close_now = !self.exchange.blocks_output();
            }
        }
    }
}

/// A sink for answers written outside `decode` (a timeout's `408`): no request can come of them.
struct WriteOnly<'a>(&'a mut Vec<u8>);

impl DecodeSink for WriteOnly<'_> {
    fn request(&mut self, kind: u32, _: &[&[u8]]) {
        log::error!("http: request {kind} made outside decode; dropped");
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}
