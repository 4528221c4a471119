//! A protocol plugin's instance and per-connection codec state behind safe types, implementing
//! the runtime's seam ([`WireProtocol`], [`WireCodec`]) directly: a decoded request goes from
//! the plugin's call to the connection with no layer between. Each call goes through the vtable
//! with borrowed arguments, and the host callbacks it passes (request sink, writer) keep their
//! panics for re-raising once the plugin has returned (callback.rs).

use super::callback::{catch, reraise, HostPanic};
use super::{array, create, ProtocolFns};
use crate::frame::Frame;
use crate::runtime::wire::{Sink, WireCodec, WireProtocol};
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::gear::MAX_ARGS;
use gearmand_plugin_api::Next;
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

/// The plugin's protocol instance, shared by the [`ProtocolInstance`] and every connection it
/// opened, so that `destroy` runs only after the last `conn_close`.
struct Shared {
    vt: &'static ProtocolFns,
    ptr: *mut c_void,
}

// SAFETY: the protocol contract lets `conn_open` run on several threads at once and `destroy`
// on any thread; `listen_port` is called at startup only.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: the last owner drops it once; every connection holds an Arc, so none is left.
        unsafe { (self.vt.destroy)(self.ptr) }
    }
}

/// A started protocol plugin as the I/O threads use it: cheap to clone, one per protocol.
#[derive(Clone)]
pub struct ProtocolInstance {
    name: &'static str,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProtocolInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolInstance")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ProtocolInstance {
    pub fn create(
        name: &str,
        vt: &'static ProtocolFns,
        opts: &[(String, Vec<u8>)],
    ) -> Result<Self, String> {
        let ptr = create(vt.create, opts)?;
        Ok(ProtocolInstance {
            // Leaked once per started plugin so connections can carry it as `&'static str`.
            name: Box::leak(name.to_string().into_boxed_str()),
            shared: Arc::new(Shared { vt, ptr }),
        })
    }
}

impl WireProtocol for ProtocolInstance {
    fn name(&self) -> &'static str {
        self.name
    }

    fn listen_port(&self) -> String {
        let Shared { vt, ptr } = *self.shared;
        // SAFETY: `ptr` is live; the returned slice borrows the instance and is copied at once.
        unsafe { String::from_utf8_lossy((vt.listen_port)(ptr).as_bytes()).into_owned() }
    }

    fn open(&self, peer: &str) -> Option<Box<dyn WireCodec>> {
        let Shared { vt, ptr } = *self.shared;
        // SAFETY: `ptr` is live; `peer` is borrowed for the call.
        let conn = unsafe { (vt.conn_open)(ptr, GmSlice::new(peer.as_bytes())) };
        (!conn.is_null()).then(|| {
            Box::new(ConnInstance {
                vt,
                ptr: conn,
                _protocol: Arc::clone(&self.shared),
            }) as Box<dyn WireCodec>
        })
    }
}

/// One connection's codec state inside a protocol plugin; closed on drop, before the protocol
/// instance it holds on to can go.
pub struct ConnInstance {
    vt: &'static ProtocolFns,
    ptr: *mut c_void,
    _protocol: Arc<Shared>,
}

// SAFETY: a connection's state is touched by one thread at a time (`&mut self`), which may
// change when a connection moves between threads.
unsafe impl Send for ConnInstance {}

/// What the plugin's status says happens to the connection; a failure closes it.
fn next(s: GmStatus) -> Next {
    match s {
        GmStatus::OK => Next::Continue,
        GmStatus::CLOSE => Next::Close,
        other => {
            log::error!(
                "protocol plugin failed (status {}); closing the connection",
                other.0
            );
            Next::Close
        }
    }
}

struct SinkCtx<'a> {
    on_request: &'a mut dyn FnMut(Frame),
    panic: HostPanic,
    /// The plugin handed over a request over [`MAX_REQUEST_BYTES`]: close the connection.
    oversized: bool,
}

/// What a [`GmWriter`] points to: the host's sink, and a panic it raised.
struct WriterCtx<'a> {
    out: &'a mut dyn Sink,
    panic: HostPanic,
}

impl WriterCtx<'_> {
    /// A writer for this context, which must outlive the plugin call it is passed to.
    fn writer(&mut self) -> GmWriter {
        GmWriter {
            ctx: self as *mut WriterCtx<'_> as *mut c_void,
            write: put,
        }
    }
}

/// Calls the plugin with a writer over `out`, then re-raises a panic of `out`.
fn writing(out: &mut dyn Sink, call: impl FnOnce(&GmWriter) -> GmStatus) -> Next {
    let mut ctx = WriterCtx { out, panic: None };
    let writer = ctx.writer();
    let status = call(&writer);
    reraise(ctx.panic);
    next(status)
}

impl WireCodec for ConnInstance {
    fn decode(
        &mut self,
        input: &[u8],
        on_request: &mut dyn FnMut(Frame),
        out: &mut Vec<u8>,
    ) -> (usize, Next) {
        let mut ctx = SinkCtx {
            on_request,
            panic: None,
            oversized: false,
        };
        let sink = GmRequestSink {
            ctx: &mut ctx as *mut SinkCtx<'_> as *mut c_void,
            request: take_request,
        };
        let mut consumed = 0usize;
        let next = writing(out, |writer| {
            // SAFETY: every pointer is valid for the call and only used during it.
            unsafe {
                (self.vt.conn_decode)(self.ptr, GmSlice::new(input), &mut consumed, &sink, writer)
            }
        });
        reraise(ctx.panic);
        let next = if ctx.oversized { Next::Close } else { next };
        (consumed.min(input.len()), next)
    }

    fn encode(&mut self, resp: &Frame, out: &mut dyn Sink) -> Next {
        let mut args = [GmSlice::EMPTY; MAX_ARGS];
        for (slot, a) in args.iter_mut().zip(resp.args()) {
            *slot = GmSlice::new(a);
        }
        let response = GmResponse {
            kind: resp.kind(),
            args: args.as_ptr(),
            n_args: resp.len(),
        };
        // SAFETY: `response` borrows `resp` and the writer borrows `out` for the call.
        writing(out, |writer| unsafe {
            (self.vt.conn_encode)(self.ptr, &response, writer)
        })
    }

    /// `None` always for a plugin built for ABI 1.0.
    fn deadline(&mut self) -> Option<Duration> {
        let timers = self.vt.timers?;
        // SAFETY: `ptr` is the live connection state; the call borrows nothing else.
        let ms = unsafe { (timers.deadline)(self.ptr) };
        u64::try_from(ms).ok().map(Duration::from_millis)
    }

    fn timeout(&mut self, out: &mut Vec<u8>) -> Next {
        let Some(timers) = self.vt.timers else {
            return Next::Continue;
        };
        // SAFETY: the writer borrows `out` for the call.
        writing(out, |writer| unsafe { (timers.timeout)(self.ptr, writer) })
    }
}

impl Drop for ConnInstance {
    fn drop(&mut self) {
        // SAFETY: the connection state is live and closed exactly once, here.
        unsafe { (self.vt.conn_close)(self.ptr) }
    }
}

/// `GmWriter::write`: hands bytes to the host's sink (the output buffer, or the socket).
unsafe extern "C" fn put(ctx: *mut c_void, bytes: GmSlice) {
    // SAFETY: `ctx` is the `WriterCtx` of the running call, alive and exclusively ours during it;
    // `bytes` is valid for this call.
    let ctx = &mut *(ctx as *mut WriterCtx<'_>);
    let out = &mut ctx.out;
    catch(&mut ctx.panic, || out.put(bytes.as_bytes()));
}

/// `GmRequestSink::request`: copies one decoded request into a [`Frame`] for the host.
unsafe extern "C" fn take_request(ctx: *mut c_void, request: *const GmRequest) {
    // SAFETY: `ctx` is the `SinkCtx` of the running `decode`; `request` and its slices are valid
    // for this call.
    let ctx = &mut *(ctx as *mut SinkCtx<'_>);
    let Some(request) = request.as_ref() else {
        return;
    };
    let raw = array(request.args, request.n_args);
    if raw.len() > MAX_ARGS {
        log::warn!(
            "a protocol plugin sent {} arguments; extra ones dropped",
            raw.len()
        );
    }
    let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    let n = raw.len().min(MAX_ARGS);
    for (slot, a) in args.iter_mut().zip(raw) {
        *slot = a.as_bytes();
    }
    // The frame's offsets are u32: a plugin whose limits let more through loses the connection.
    let size: usize = args[..n].iter().map(|a| a.len()).sum();
    if !ctx.oversized && !Frame::holds(size) {
        log::warn!(
            "a protocol plugin sent a request of {size} bytes, over the {MAX_REQUEST_BYTES}-byte limit; closing the connection"
        );
        ctx.oversized = true;
    }
    if ctx.oversized {
        return; // nothing after it on this connection is delivered either
    }
    // One allocation per request: the frame's buffer, sized up front.
    let frame = Frame::with_args(request.kind, &args[..n]);
    let on_request = &mut ctx.on_request;
    catch(&mut ctx.panic, || on_request(frame));
}

#[cfg(test)]
mod tests {
    use super::super::Untouched;
    use super::*;

    fn hand_over(ctx: &mut SinkCtx<'_>, args: &[GmSlice]) {
        let request = GmRequest {
            kind: gearmand_plugin_api::gear::ptype::ECHO_REQ,
            args: args.as_ptr(),
            n_args: args.len(),
        };
        // SAFETY: `ctx` and `request` (and the memory its slices name) outlive the call.
        unsafe { take_request(ctx as *mut SinkCtx<'_> as *mut c_void, &request) }
    }

    #[test]
    fn a_request_over_the_limit_is_dropped_and_closes_the_connection() {
        let mut got = Vec::new();
        let mut on_request = |f: Frame| got.push(f.payload_len());
        let mut ctx = SinkCtx {
            on_request: &mut on_request,
            panic: None,
            oversized: false,
        };
        let big = Untouched::new(MAX_REQUEST_BYTES);
        let x = GmSlice::new(b"x");
        hand_over(&mut ctx, &[x]);
        // One byte over, counting every argument: the u32 offsets would not hold a reply.
        hand_over(&mut ctx, &[x, big.0]);
        hand_over(&mut ctx, &[x]);
        assert!(ctx.oversized);
        assert_eq!(got, [1]);
    }

    #[test]
    fn a_panicking_sink_is_re_raised_only_after_the_plugin_returned() {
        struct Full;
        impl Sink for Full {
            fn put(&mut self, _: &[u8]) {
                panic!("sink full");
            }
        }
        let mut plugin_returned = false;
        let raised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writing(&mut Full, |w| {
                // SAFETY: the writer and its context are valid during this call.
                unsafe {
                    (w.write)(w.ctx, GmSlice::new(b"a"));
                    (w.write)(w.ctx, GmSlice::new(b"b"));
                }
                plugin_returned = true;
                GmStatus::OK
            })
        }));
        assert!(plugin_returned, "the panic crossed the plugin's frames");
        let payload = raised.expect_err("the sink's panic is re-raised");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"sink full"));
    }
}
