//! Plugin instances behind safe types: a queue, a protocol and its per-connection codec state.
//! Each call goes through the vtable with borrowed arguments; host callbacks the plugin calls
//! back into (replay sink, request sink, writer) catch panics and re-raise them only once the
//! plugin has returned, so no unwind ever crosses plugin frames.

use super::{array, create, with_error, ProtocolFns, QueueFns};
use crate::frame::Frame;
use crate::plugin::Sink;
use crate::queue::StoredJob;
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::gear::MAX_ARGS;
use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::time::Duration;

/// A panic raised by a host callback while the plugin was on the stack; re-raised once the plugin
/// has returned, so it never unwinds through foreign frames.
type HostPanic = Option<Box<dyn Any + Send>>;

/// A queue plugin instance. The ABI lets one thread at a time call it, which `&mut self` ensures.
pub struct QueueInstance {
    vt: &'static QueueFns,
    ptr: *mut c_void,
}

// SAFETY: the queue contract allows calls from any thread, one at a time.
unsafe impl Send for QueueInstance {}

impl QueueInstance {
    pub fn create(vt: &'static QueueFns, opts: &[(String, Vec<u8>)]) -> Result<Self, String> {
        Ok(QueueInstance {
            vt,
            ptr: create(vt.create, opts)?,
        })
    }

    pub fn add(&mut self, job: &StoredJob<'_>) -> Result<(), String> {
        let item = queue_item(job);
        // SAFETY: `ptr` is a live instance; `item` borrows `job` for the call.
        with_error(|err| unsafe { (self.vt.add)(self.ptr, &item, err) })
    }

    /// Stores new jobs, one result per job in order: one `add_batch` call when the plugin has
    /// it (ABI 1.2), else `add` per job. A failed batch refuses every job with its message.
    pub fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
        let Some(add_batch) = self.vt.add_batch.filter(|_| !jobs.is_empty()) else {
            return jobs.iter().map(|job| self.add(job)).collect();
        };
        let items: Vec<GmQueueItem> = jobs.iter().map(queue_item).collect();
        let mut results: Vec<Result<(), String>> = vec![Ok(()); jobs.len()];
        let ctx = &mut results as *mut Vec<Result<(), String>> as *mut c_void;
        // SAFETY: `ptr` is a live instance; `items` borrow `jobs` and `ctx` borrows `results`,
        // both for the call only, and `refuse_job` touches `results` only during it.
        let batch = with_error(|err| unsafe {
            add_batch(self.ptr, items.as_ptr(), items.len(), refuse_job, ctx, err)
        });
        match batch {
            Ok(()) => results,
            Err(e) => vec![Err(e); jobs.len()],
        }
    }

    pub fn flush(&mut self) -> Result<(), String> {
        // SAFETY: `ptr` is a live instance.
        with_error(|err| unsafe { (self.vt.flush)(self.ptr, err) })
    }

    pub fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String> {
        let (u, f) = (GmSlice::new(unique), GmSlice::new(function));
        // SAFETY: `ptr` is a live instance; the slices borrow the arguments for the call.
        with_error(|err| unsafe { (self.vt.done)(self.ptr, u, f, err) })
    }

    pub fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut ctx = ReplayCtx {
            sink,
            error: None,
            panic: None,
        };
        let ctx_ptr = &mut ctx as *mut ReplayCtx<'_> as *mut c_void;
        // SAFETY: `ctx` outlives the call and is only touched by `replay_job` during it.
        let result =
            with_error(|err| unsafe { (self.vt.replay)(self.ptr, replay_job, ctx_ptr, err) });
        if let Some(payload) = ctx.panic {
            resume_unwind(payload);
        }
        // The host's own reason for stopping beats the plugin's report of it.
        result.map_err(|plugin_msg| ctx.error.unwrap_or(plugin_msg))
    }

    /// Last flush and release (the ABI's `destroy`); the instance is gone afterwards.
    pub fn destroy(mut self) {
        let ptr = std::mem::replace(&mut self.ptr, null_mut());
        // SAFETY: `ptr` is live and, now taken out of `self`, destroyed exactly once.
        unsafe { (self.vt.destroy)(ptr) }
    }
}

impl Drop for QueueInstance {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: not yet destroyed (destroy() nulls the pointer).
            unsafe { (self.vt.destroy)(self.ptr) }
        }
    }
}

fn queue_item(job: &StoredJob<'_>) -> GmQueueItem {
    GmQueueItem {
        unique: GmSlice::new(job.unique),
        function: GmSlice::new(job.function),
        data: GmSlice::new(job.data),
        priority: job.priority,
        when: job.when,
    }
}

/// `GmAddFailFn`: the plugin refused job `index` of the batch; `ctx` is the batch's results.
unsafe extern "C" fn refuse_job(ctx: *mut c_void, index: usize, message: GmSlice) {
    // SAFETY: `ctx` is the results vector of the running `add_batch`, exclusively ours during the
    // call; `message` is valid for this call. Only an allocation can fail here, and that aborts
    // rather than unwinds in practice; catch it anyway.
    let results = &mut *(ctx as *mut Vec<Result<(), String>>);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(slot) = results.get_mut(index) {
            let why = String::from_utf8_lossy(message.as_bytes()).into_owned();
            *slot = Err(match why.is_empty() {
                true => "the queue plugin refused the job without a message".into(),
                false => why,
            });
        }
    }));
}

struct ReplayCtx<'a> {
    sink: &'a mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    error: Option<String>,
    panic: HostPanic,
}

/// `GmReplayFn`: one stored job from the plugin into the host's sink.
unsafe extern "C" fn replay_job(ctx: *mut c_void, item: *const GmQueueItem) -> GmStatus {
    // SAFETY: `ctx` is the `ReplayCtx` passed to `replay`, alive for the whole call.
    let ctx = &mut *(ctx as *mut ReplayCtx<'_>);
    // SAFETY: the plugin passes a valid item whose slices live during this call.
    let Some(item) = item.as_ref() else {
        return GmStatus::ERROR;
    };
    let job = StoredJob {
        unique: item.unique.as_bytes(),
        function: item.function.as_bytes(),
        data: item.data.as_bytes(),
        priority: item.priority,
        when: item.when,
    };
    // A row no request could have created (a hand-made one) would overflow the job's frames.
    let size = job.unique.len() + job.function.len() + job.data.len();
    if !Frame::holds(size) {
        ctx.error = Some(format!(
            "a stored job of {size} bytes is over the {MAX_REQUEST_BYTES}-byte request limit"
        ));
        return GmStatus::ERROR;
    }
    match catch_unwind(AssertUnwindSafe(|| (ctx.sink)(&job))) {
        Ok(Ok(())) => GmStatus::OK,
        Ok(Err(e)) => {
            ctx.error = Some(e);
            GmStatus::ERROR
        }
        Err(payload) => {
            ctx.panic = Some(payload);
            GmStatus::ERROR
        }
    }
}

/// A protocol plugin instance, shared by every I/O thread (the ABI requires `conn_open` and
/// `listen_port` to be callable from any thread).
pub struct ProtocolInstance {
    vt: &'static ProtocolFns,
    ptr: *mut c_void,
}

// SAFETY: see the type's doc: the protocol contract makes the instance thread-safe.
unsafe impl Send for ProtocolInstance {}
// SAFETY: as above.
unsafe impl Sync for ProtocolInstance {}

impl ProtocolInstance {
    pub fn create(vt: &'static ProtocolFns, opts: &[(String, Vec<u8>)]) -> Result<Self, String> {
        Ok(ProtocolInstance {
            vt,
            ptr: create(vt.create, opts)?,
        })
    }

    pub fn listen_port(&self) -> String {
        // SAFETY: `ptr` is live; the returned slice borrows the instance and is copied at once.
        unsafe {
            let port = (self.vt.listen_port)(self.ptr);
            String::from_utf8_lossy(port.as_bytes()).into_owned()
        }
    }

    /// A codec for a new connection; `None` if the plugin refused it.
    pub fn open(&self, peer: &str) -> Option<ConnInstance> {
        // SAFETY: `ptr` is live; `peer` is borrowed for the call.
        let conn = unsafe { (self.vt.conn_open)(self.ptr, GmSlice::new(peer.as_bytes())) };
        (!conn.is_null()).then_some(ConnInstance {
            vt: self.vt,
            ptr: conn,
        })
    }
}

impl Drop for ProtocolInstance {
    fn drop(&mut self) {
        // SAFETY: the last owner drops it once; no connection outlives it (they hold an Arc).
        unsafe { (self.vt.destroy)(self.ptr) }
    }
}

/// One connection's codec state inside a protocol plugin; closed on drop.
pub struct ConnInstance {
    vt: &'static ProtocolFns,
    ptr: *mut c_void,
}

// SAFETY: a connection's state is touched by one thread at a time (`&mut self`), which may
// change when a connection moves between threads.
unsafe impl Send for ConnInstance {}

/// Decode status as the ABI reports it.
pub enum Status {
    Continue,
    Close,
}

fn status(s: GmStatus) -> Status {
    match s {
        GmStatus::OK => Status::Continue,
        GmStatus::CLOSE => Status::Close,
        other => {
            log::error!(
                "protocol plugin failed (status {}); closing the connection",
                other.0
            );
            Status::Close
        }
    }
}

struct SinkCtx<'a> {
    on_request: &'a mut dyn FnMut(Frame),
    panic: HostPanic,
    /// The plugin handed over a request over [`MAX_REQUEST_BYTES`]: close the connection.
    oversized: bool,
}

impl ConnInstance {
    pub fn decode(
        &mut self,
        input: &[u8],
        on_request: &mut dyn FnMut(Frame),
        out: &mut Vec<u8>,
    ) -> (usize, Status) {
        let mut ctx = SinkCtx {
            on_request,
            panic: None,
            oversized: false,
        };
        let sink = GmRequestSink {
            ctx: &mut ctx as *mut SinkCtx<'_> as *mut c_void,
            request: take_request,
        };
        let mut out: &mut dyn Sink = out;
        let writer = writer(&mut out);
        let mut consumed = 0usize;
        // SAFETY: every pointer is valid for the call and only used during it.
        let s = unsafe {
            (self.vt.conn_decode)(self.ptr, GmSlice::new(input), &mut consumed, &sink, &writer)
        };
        if let Some(payload) = ctx.panic {
            resume_unwind(payload);
        }
        let s = if ctx.oversized {
            Status::Close
        } else {
            status(s)
        };
        (consumed.min(input.len()), s)
    }

    /// When the plugin wants [`ConnInstance::timeout`] called, from now; `None` for no deadline
    /// (always for a plugin built for ABI 1.0).
    pub fn deadline(&mut self) -> Option<Duration> {
        let timers = self.vt.timers?;
        // SAFETY: `ptr` is the live connection state; the call borrows nothing else.
        let ms = unsafe { (timers.deadline)(self.ptr) };
        u64::try_from(ms).ok().map(Duration::from_millis)
    }

    /// The deadline passed: the plugin may append last bytes to `out`.
    pub fn timeout(&mut self, out: &mut Vec<u8>) -> Status {
        let Some(timers) = self.vt.timers else {
            return Status::Continue;
        };
        let mut out: &mut dyn Sink = out;
        let writer = writer(&mut out);
        // SAFETY: `writer` borrows `out` for the call.
        status(unsafe { (timers.timeout)(self.ptr, &writer) })
    }

    pub fn encode(&mut self, resp: &Frame, mut out: &mut dyn Sink) -> Status {
        let mut args = [GmSlice::EMPTY; MAX_ARGS];
        for (slot, a) in args.iter_mut().zip(resp.args()) {
            *slot = GmSlice::new(a);
        }
        let response = GmResponse {
            kind: resp.kind(),
            args: args.as_ptr(),
            n_args: resp.len(),
        };
        let writer = writer(&mut out);
        // SAFETY: `response` borrows `resp` and `writer` borrows `out` for the call.
        status(unsafe { (self.vt.conn_encode)(self.ptr, &response, &writer) })
    }
}

impl Drop for ConnInstance {
    fn drop(&mut self) {
        // SAFETY: the connection state is live and closed exactly once, here.
        unsafe { (self.vt.conn_close)(self.ptr) }
    }
}

/// A writer for `out`: the context is a pointer to the (thin) `&mut dyn Sink`, which must
/// outlive the plugin call the writer is passed to.
fn writer(out: &mut &mut dyn Sink) -> GmWriter {
    GmWriter {
        ctx: out as *mut &mut dyn Sink as *mut c_void,
        write: put,
    }
}

/// `GmWriter::write`: hands bytes to the host's sink (the output buffer, or the socket).
unsafe extern "C" fn put(ctx: *mut c_void, bytes: GmSlice) {
    // SAFETY: `ctx` is the `&mut dyn Sink` passed by `writer`, alive and exclusively ours during
    // the call; `bytes` is valid for the call. A sink can only panic on capacity overflow, which
    // aborts rather than unwinding in practice; catch it anyway.
    let out = &mut *(ctx as *mut &mut dyn Sink);
    let _ = catch_unwind(AssertUnwindSafe(|| out.put(bytes.as_bytes())));
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
    if ctx.panic.is_none() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (ctx.on_request)(frame))) {
            ctx.panic = Some(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` readable zero bytes that cost no memory: mapped, never touched.
    struct Untouched(GmSlice);

    impl Untouched {
        fn new(len: usize) -> Untouched {
            use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ};
            // SAFETY: a fresh anonymous read-only mapping, unmapped on drop.
            let ptr = unsafe {
                libc::mmap(
                    null_mut(),
                    len,
                    PROT_READ,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            assert_ne!(ptr, MAP_FAILED, "mmap of {len} bytes");
            Untouched(GmSlice {
                ptr: ptr as *const u8,
                len,
            })
        }
    }

    impl Drop for Untouched {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, unmapped once.
            unsafe { libc::munmap(self.0.ptr as *mut c_void, self.0.len) };
        }
    }

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
    fn a_stored_job_over_the_limit_stops_the_replay() {
        let mut replayed = 0;
        let mut sink = |_: &StoredJob<'_>| -> Result<(), String> {
            replayed += 1;
            Ok(())
        };
        let mut ctx = ReplayCtx {
            sink: &mut sink,
            error: None,
            panic: None,
        };
        let big = Untouched::new(MAX_REQUEST_BYTES);
        let item = |data: GmSlice| GmQueueItem {
            unique: GmSlice::new(b"u"),
            function: GmSlice::new(b""),
            data,
            priority: priority::NORMAL,
            when: 0,
        };
        let ctx_ptr = &mut ctx as *mut ReplayCtx<'_> as *mut c_void;
        // SAFETY: `ctx` and the items outlive each call.
        let small = unsafe { replay_job(ctx_ptr, &item(GmSlice::new(b"d"))) };
        let over = unsafe { replay_job(ctx_ptr, &item(big.0)) };
        assert_eq!((small, over), (GmStatus::OK, GmStatus::ERROR));
        let error = ctx.error.unwrap();
        assert!(error.contains("request limit"), "{error}");
        assert_eq!(replayed, 1);
    }
}
