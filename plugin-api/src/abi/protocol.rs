//! The protocol plugin contract of the ABI (`-r`): requests and responses, the host's sink and
//! writer, the per-connection codec calls and the vtable. The rules and the thread tags are in
//! the parent module's header.

use super::{GmCreateFn, GmDestroyFn, GmSlice, GmStatus};
use std::ffi::c_void;

/// Request and response kinds are gear packet type numbers (1..=42), plus these host kinds.
pub mod kind {
    /// Request: one admin text line (without `\r\n`) as the only argument.
    pub const ADMIN_LINE: u32 = 0x1_0000;
    /// Response: raw bytes to send as they are (admin replies); the only argument.
    pub const RAW: u32 = 0x1_0001;
    /// Request (ABI 1.4): a structured query of the engine's tables. The first argument names
    /// it (see [`crate::table::query`]); further arguments are reserved and ignored. Answered by
    /// one [`TABLE`], or by ERROR `UNKNOWN_QUERY` or `PERMISSION_DENIED` (a connection without
    /// admin read rights), in request order like every immediate reply.
    pub const QUERY: u32 = 0x1_0002;
    /// Response (ABI 1.4): the answer to a [`QUERY`], a table in two arguments: the column
    /// names, then the cells row by row, each a run of cells that are a 4-byte little-endian
    /// length and that many bytes (any byte may occur; numbers are decimal text).
    /// [`crate::table`] builds and reads this shape.
    pub const TABLE: u32 = 0x1_0003;
}

/// A request decoded from the wire: a gear packet type (or a host kind such as
/// [`kind::ADMIN_LINE`] or [`kind::QUERY`]) and its
/// arguments in the order of the gear protocol, the trailing data last.
#[repr(C)]
pub struct GmRequest {
    /// A gear packet type or a [`kind`] host kind.
    pub kind: u32,
    /// The arguments, data last.
    pub args: *const GmSlice,
    /// Number of arguments.
    pub n_args: usize,
}

/// The most bytes the arguments of one request may add up to: 4095 MiB. The host keeps argument
/// offsets as `u32` and answers some requests with their arguments plus a job handle, so this
/// leaves 1 MiB of `u32` room. The host drops a bigger request and closes its connection; a
/// protocol plugin's size options must keep its requests within it.
pub const MAX_REQUEST_BYTES: usize = 4095 << 20;

/// A response for the wire, shaped like [`GmRequest`]; kinds are server-to-client packet types
/// (JOB_CREATED, WORK_*, ERROR, ...), [`kind::RAW`] or [`kind::TABLE`].
pub type GmResponse = GmRequest;

/// `GmRequestSink::request`. `[in-call]` (of `conn_decode`). The request and its bytes are the
/// plugin's, borrowed for the callback: the host copies them before it returns.
pub type GmRequestFn = unsafe extern "C" fn(ctx: *mut c_void, request: *const GmRequest);

/// `GmWriter::write`. `[in-call]` (of `conn_decode`, `conn_encode`, `conn_timeout`). `bytes`
/// are borrowed for the callback: the host copies or sends them before it returns.
pub type GmWriteFn = unsafe extern "C" fn(ctx: *mut c_void, bytes: GmSlice);

/// Where a codec delivers what it decoded. Host-owned, valid only during the `conn_decode` call
/// it is passed to.
#[repr(C)]
pub struct GmRequestSink {
    /// Opaque context passed back to the callbacks.
    pub ctx: *mut c_void,
    /// Hands one request to the host (copied before the call returns); one whose arguments add
    /// up to more than [`MAX_REQUEST_BYTES`] is dropped and the connection closed.
    pub request: GmRequestFn,
}

/// A host-owned output buffer a codec appends wire bytes to, in as many calls as it likes: a
/// header from a small buffer, then a large payload straight from the response's own argument.
/// Valid only during the call it is passed to.
#[repr(C)]
pub struct GmWriter {
    /// Opaque context passed back to the callbacks.
    pub ctx: *mut c_void,
    /// Appends `bytes` to the host's buffer, after what earlier calls appended.
    pub write: GmWriteFn,
}

/// `GmProtocolVtable::listen_port`. `[main-thread]` at startup, before binding. The slice is
/// borrowed from the instance and must stay valid until `destroy`.
pub type GmListenPortFn = unsafe extern "C" fn(instance: *mut c_void) -> GmSlice;

/// `GmProtocolVtable::conn_open`. `[io-thread]` of the new connection, concurrently with other
/// I/O threads' calls. `peer` is borrowed for the call; the returned state is the plugin's until
/// `conn_close`.
pub type GmConnOpenFn = unsafe extern "C" fn(instance: *mut c_void, peer: GmSlice) -> *mut c_void;

/// `GmProtocolVtable::conn_decode`. `[io-thread]`. `input`, `consumed`, `sink` and `out` are the
/// host's, valid only during the call.
pub type GmConnDecodeFn = unsafe extern "C" fn(
    conn: *mut c_void,
    input: GmSlice,
    consumed: *mut usize,
    sink: *const GmRequestSink,
    out: *const GmWriter,
) -> GmStatus;

/// `GmProtocolVtable::conn_encode`. `[io-thread]`. `response` (and its bytes) and `out` are the
/// host's, valid only during the call.
pub type GmConnEncodeFn = unsafe extern "C" fn(
    conn: *mut c_void,
    response: *const GmResponse,
    out: *const GmWriter,
) -> GmStatus;

/// `GmProtocolVtable::conn_close`. `[io-thread]` once per connection (at exit, also for the
/// connections still open). The state is dead after it.
pub type GmConnCloseFn = unsafe extern "C" fn(conn: *mut c_void);

/// `GmProtocolVtable::conn_deadline` (ABI 1.1). `[io-thread]`.
pub type GmConnDeadlineFn = unsafe extern "C" fn(conn: *mut c_void) -> i64;

/// `GmProtocolVtable::conn_timeout` (ABI 1.1). `[io-thread]`. `out` is valid only during the call.
pub type GmConnTimeoutFn =
    unsafe extern "C" fn(conn: *mut c_void, out: *const GmWriter) -> GmStatus;

/// The protocol contract: a listening port and, per connection, a codec. The host owns sockets,
/// threads and buffers; the plugin never does I/O. Connection state (`conn`) is the plugin's and
/// is only touched from the I/O thread that owns the socket.
#[repr(C)]
pub struct GmProtocolVtable {
    /// `[main-thread]` Creates an instance from its resolved options.
    pub create: GmCreateFn,
    /// `[main-thread]` The port (number or service name) to listen on, borrowed from the
    /// instance; "0" = any free.
    pub listen_port: GmListenPortFn,
    /// `[io-thread]` A new connection from `peer` (textual address); returns the codec state,
    /// null on failure.
    pub conn_open: GmConnOpenFn,
    /// `[io-thread]` Decodes as many whole requests from `input` as it holds, handing each to
    /// `sink` and writing any immediate reply (e.g. a protocol error) to `out`; sets `consumed`
    /// to the bytes used.
    /// Returns OK (unconsumed bytes are kept and offered again with more), or CLOSE.
    pub conn_decode: GmConnDecodeFn,
    /// `[io-thread]` Encodes one response onto `out`. Returns OK, or CLOSE to close after
    /// flushing.
    pub conn_encode: GmConnEncodeFn,
    /// `[io-thread]` The connection is gone; free the codec state.
    pub conn_close: GmConnCloseFn,
    /// `[any-thread]` Releases the instance at exit, after every connection's `conn_close`.
    pub destroy: GmDestroyFn,
    // ---- v1.1 (read by the host only when `vtable_size` covers them) ----
    /// `[io-thread]` Milliseconds from now until the host should call `conn_timeout`, or -1 for
    /// no deadline.
    /// The host asks after `conn_open`, after every `conn_decode`, `conn_encode` and
    /// `conn_timeout`, and keeps only the latest answer. Round up: 0 means "due now".
    pub conn_deadline: GmConnDeadlineFn,
    /// `[io-thread]` The deadline passed (the codec may find it is not due yet: it answers OK and a
    /// new deadline). May write last bytes (e.g. `408 Request Timeout`) to `out`. Returns OK to
    /// keep the connection, or CLOSE to close it after flushing.
    pub conn_timeout: GmConnTimeoutFn,
}
