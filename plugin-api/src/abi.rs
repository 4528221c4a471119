//! The C ABI between the gearmand host and its plugins: the single source of truth.
//!
//! Everything that crosses the boundary is defined here as `#[repr(C)]` and mirrored, field for
//! field, by `include/gearmand_plugin.h` (a test compares sizes and offsets). Nothing here is a Rust
//! trait object or a std type, so a plugin can be written in Rust, C or anything that speaks C.
//!
//! Rules of the boundary:
//! - A plugin exports one symbol, [`ENTRY_SYMBOL`], returning a pointer to a static
//!   [`GmPluginHeader`]. The host checks `magic`, `abi_major` (equal), `abi_minor` (the plugin's may
//!   not be newer than the host's) and `vtable_size` (at least the size of the v1.0 vtable) before
//!   calling anything else.
//! - Vtables are append-only: a new minor version may add fields at the end, never reorder or remove.
//!   The host reads only the fields covered by `vtable_size`.
//! - Bytes are passed as borrowed [`GmSlice`]s, valid only for the duration of the call.
//! - Whoever allocates frees: errors are written into a host-owned [`GmErrorBuf`], output bytes are
//!   appended through a host-owned [`GmWriter`], requests are handed to a host-owned [`GmRequestSink`].
//! - Every function returns a [`GmStatus`]; a plugin never unwinds across the boundary.
//! - The host never unloads a plugin.
//!
//! Every function pointer is tagged, as CLAP's headers are, with the thread that calls it and
//! when:
//! - `[main-thread]`: the thread that runs `main`, at startup, before any connection is accepted.
//! - `[io-thread]`: the I/O thread that owns the connection's socket (with `-t 0` the main thread
//!   does all I/O); one thread at a time per connection.
//! - `[queue-thread]`: the one thread that holds the queue instance at the time: the host's
//!   `queue` thread (group commit) while the server runs and the queue writes at submit, else the
//!   thread that runs the engine; at exit, the engine's thread.
//! - `[any-thread]`: any thread, several at once.
//! - `[in-call]`: a host callback, called by the plugin only during the plugin call it was passed
//!   to, on that call's thread.
//!
//! and with who owns what it is passed and returns, and for how long.

use std::ffi::{c_char, c_void};

/// Name of the one symbol every plugin exports (`const GmPluginHeader *gearmand_plugin_entry(void)`).
pub const ENTRY_SYMBOL: &[u8] = b"gearmand_plugin_entry\0";
/// `"GMPL"` read as a big-endian u32; identifies a gearmand plugin header.
pub const PLUGIN_MAGIC: u32 = 0x474D_504C;
/// Incompatible changes bump the major version; the host refuses any other major.
pub const ABI_MAJOR: u16 = 1;
/// Append-only additions bump the minor version.
///
/// - 1.0: the first version.
/// - 1.1: [`GmProtocolVtable::conn_deadline`] and [`GmProtocolVtable::conn_timeout`] (per-connection
///   timers, e.g. an HTTP header read timeout). The host still loads 1.0 plugins: their
///   connections simply have no deadline.
/// - 1.2: [`GmQueueVtable::add_batch`] (many new jobs in one call, each with its own outcome).
///   The host still loads 1.0 and 1.1 queue plugins, and plugins whose `add_batch` is null: it
///   then calls `add` once per job.
/// - 1.3: [`GmHostApi::max_level`] (the host's current log level, so that a plugin does not
///   format records the host would drop). Plugins built for 1.0–1.2 still load.
/// - 1.4: two additions, neither of which older plugins see.
///   - [`GmQueueVtable::capabilities`] (a queue instance declares whether it is durable and
///     whether it stores jobs at shutdown instead of at submit, see [`queue_caps`]). For a queue
///     plugin built for 1.0–1.3, or one whose `capabilities` is null, the host assumes what it
///     always did: durable, and storing at shutdown when the option `store-queue-on-shutdown` is
///     given (and not `false`/`0`).
///   - The request kind [`kind::QUERY`] and its answer [`kind::TABLE`]: the engine's tables
///     (functions, connections, abilities) as rows and columns, so that a protocol plugin no
///     longer parses admin text back (a function name may hold a tab or a newline). A plugin
///     that sends QUERY is built for 1.4 and so is only loaded by a 1.4 host: it needs no
///     fallback to admin text.
pub const ABI_MINOR: u16 = 4;

/// The entry point's signature. `[main-thread]` once per file, at startup (discovery; `--help`
/// reads every installed plugin). Returns a header the plugin owns, valid (and unchanged) for
/// the life of the process, as is everything it points to.
pub type GmEntryFn = unsafe extern "C" fn() -> *const GmPluginHeader;

/// Result of every call across the boundary.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GmStatus(pub i32);

impl GmStatus {
    /// Success.
    pub const OK: GmStatus = GmStatus(0);
    /// Failure; the error buffer holds a message.
    pub const ERROR: GmStatus = GmStatus(1);
    /// The plugin panicked; the SDK caught it. The error buffer holds the panic message.
    pub const PANIC: GmStatus = GmStatus(2);
    /// Protocol codecs: the connection must be closed (after flushing what was written).
    pub const CLOSE: GmStatus = GmStatus(3);
}

/// What a plugin is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GmPluginKind(pub u32);

impl GmPluginKind {
    /// A persistent queue backend (`-q`).
    pub const QUEUE: GmPluginKind = GmPluginKind(1);
    /// A wire protocol (`-r`), e.g. gear or http.
    pub const PROTOCOL: GmPluginKind = GmPluginKind(2);
}

/// A borrowed run of bytes. `ptr` may be null only when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GmSlice {
    /// First byte (may be null when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl GmSlice {
    /// An empty slice.
    pub const EMPTY: GmSlice = GmSlice {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// Borrows `bytes` for the duration of a call.
    pub fn new(bytes: &[u8]) -> GmSlice {
        GmSlice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// Views the bytes again.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }
}

/// A host-owned buffer a plugin writes an error message into (truncated to `cap`).
#[repr(C)]
pub struct GmErrorBuf {
    /// Start of the host's buffer.
    pub buf: *mut u8,
    /// Capacity of `buf` in bytes; longer messages are truncated.
    pub cap: usize,
    /// Bytes written so far; the plugin sets it.
    pub len: usize,
}

/// One command-line / config option a plugin accepts, e.g. `--libsqlite3-db`.
#[repr(C)]
pub struct GmOptionSpec {
    /// Long name without dashes, NUL-terminated: `libsqlite3-db`.
    pub name: *const c_char,
    /// One-line help text, NUL-terminated.
    pub help: *const c_char,
    /// Default value shown in `--help` and passed when the option is absent; null = none.
    pub default_value: *const c_char,
    /// Short option character (`'p'`), or 0 for none.
    pub short_name: c_char,
    /// 1 if the option takes a value (`--x VALUE`), 0 for a switch (passed as `"true"` when given).
    pub takes_value: u8,
    /// Name of another option of this plugin that this one is an alias for; null = none.
    pub alias_of: *const c_char,
}

/// An option value as resolved by the host (command line, then config file, then default).
#[repr(C)]
pub struct GmOptionValue {
    /// The canonical option name (never an alias), NUL-terminated.
    pub name: *const c_char,
    /// The value's bytes.
    pub value: GmSlice,
}

/// The static description a plugin returns from its entry point.
#[repr(C)]
pub struct GmPluginHeader {
    /// [`PLUGIN_MAGIC`].
    pub magic: u32,
    /// [`ABI_MAJOR`] the plugin was built with.
    pub abi_major: u16,
    /// [`ABI_MINOR`] the plugin was built with.
    pub abi_minor: u16,
    /// Queue or protocol; must match the file name.
    pub kind: GmPluginKind,
    /// Canonical module name, lowercase, NUL-terminated: `sqlite`, `http`.
    pub name: *const c_char,
    /// Other names `-q`/`-r` accept (compared case-insensitively): `libsqlite3`.
    pub aliases: *const *const c_char,
    /// Number of entries in `aliases`.
    pub n_aliases: usize,
    /// The plugin's own version, NUL-terminated.
    pub version: *const c_char,
    /// One line for `--help`, NUL-terminated.
    pub description: *const c_char,
    /// The options the plugin accepts.
    pub options: *const GmOptionSpec,
    /// Number of entries in `options`.
    pub n_options: usize,
    /// Points to a [`GmQueueVtable`] or [`GmProtocolVtable`] according to `kind`.
    pub vtable: *const c_void,
    /// `size_of` the vtable the plugin was built with.
    pub vtable_size: usize,
}

/// Log levels of [`GmHostApi::log`], the `log` crate's numbering.
pub mod level {
    /// An error.
    pub const ERROR: u32 = 1;
    /// A warning.
    pub const WARN: u32 = 2;
    /// Information.
    pub const INFO: u32 = 3;
    /// Debugging detail.
    pub const DEBUG: u32 = 4;
    /// Very detailed tracing.
    pub const TRACE: u32 = 5;
}

/// `GmHostApi::log`. `[any-thread]`. `plugin` and `message` are borrowed for the call.
pub type GmLogFn =
    unsafe extern "C" fn(ctx: *mut c_void, level: u32, plugin: GmSlice, message: GmSlice);

/// `GmHostApi::max_level` (ABI 1.3). `[any-thread]`.
pub type GmMaxLevelFn = unsafe extern "C" fn(ctx: *mut c_void) -> u32;

/// Services the host offers a plugin, handed to `create`. The host owns it; it and `ctx` are
/// valid for the life of the process, so a plugin may keep the pointer.
#[repr(C)]
pub struct GmHostApi {
    /// `size_of::<GmHostApi>()` as the host knows it; append-only like the vtables.
    pub size: usize,
    /// [`ABI_MAJOR`] of the host.
    pub abi_major: u16,
    /// [`ABI_MINOR`] of the host.
    pub abi_minor: u16,
    /// Opaque context passed back to the callbacks.
    pub ctx: *mut c_void,
    /// `[any-thread]` Writes one log record into the host's log, attributed to `plugin` (the
    /// plugin's name).
    pub log: GmLogFn,
    // ---- v1.3 (present when `size` covers it) ----
    /// `[any-thread]` The most detailed [`level`] the host's log keeps right now (0: none). A
    /// record above it is dropped, so a plugin can skip formatting it. Today's host fixes it at
    /// startup from `--verbose` / `-v` (the admin `verbose` command only reports the level, as in C
    /// gearmand); ask each time anyway rather than caching, so a host that changes it later is
    /// followed.
    pub max_level: GmMaxLevelFn,
}

/// Creates a plugin instance from its resolved options. `[main-thread]` once per started plugin,
/// at startup. `host` lives for the process; `options` (and the strings and bytes they name) are
/// borrowed for the call. The instance stored in `*instance` is the plugin's, until `destroy`.
pub type GmCreateFn = unsafe extern "C" fn(
    host: *const GmHostApi,
    options: *const GmOptionValue,
    n_options: usize,
    instance: *mut *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus;

/// Releases an instance (queue `shutdown`); called once, at exit (queue: `[queue-thread]`;
/// protocol: `[any-thread]`, after the last `conn_close`). The instance pointer is dead after it.
pub type GmDestroyFn = unsafe extern "C" fn(instance: *mut c_void);

// ---------------------------------------------------------------------------------------------
// Queue plugins
// ---------------------------------------------------------------------------------------------

/// Job priorities as stored by every backend.
pub mod priority {
    /// High priority.
    pub const HIGH: u32 = 0;
    /// Normal priority.
    pub const NORMAL: u32 = 1;
    /// Low priority.
    pub const LOW: u32 = 2;
}

/// One background job as a queue backend stores it.
#[repr(C)]
pub struct GmQueueItem {
    /// The job's unique id.
    pub unique: GmSlice,
    /// The function name.
    pub function: GmSlice,
    /// The job's payload.
    pub data: GmSlice,
    /// [`priority`]: 0 high, 1 normal, 2 low.
    pub priority: u32,
    /// Epoch seconds at which the job may run; 0 = now.
    pub when: i64,
}

/// Called by `replay` once per stored job; a non-OK status stops the replay. `[in-call]`; the
/// item and its bytes are the plugin's, borrowed for the callback (the host copies them).
pub type GmReplayFn = unsafe extern "C" fn(ctx: *mut c_void, item: *const GmQueueItem) -> GmStatus;

/// Called by `add_batch` for each job of the batch that was refused on its own (a duplicate, a
/// value too long for the store): `index` is the job's position in the batch, `message` a one-line
/// reason, borrowed for the call. At most once per index. `[in-call]`.
pub type GmAddFailFn = unsafe extern "C" fn(ctx: *mut c_void, index: usize, message: GmSlice);

/// `GmQueueVtable::add_batch` (ABI 1.2). `[queue-thread]`. `items` and their bytes are the
/// host's, borrowed for the call; `report` and `ctx` are valid only during it.
pub type GmAddBatchFn = unsafe extern "C" fn(
    instance: *mut c_void,
    items: *const GmQueueItem,
    n: usize,
    report: GmAddFailFn,
    ctx: *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus;

/// `GmQueueVtable::add`. `[queue-thread]`. `item` and its bytes are borrowed for the call.
pub type GmAddFn = unsafe extern "C" fn(
    instance: *mut c_void,
    item: *const GmQueueItem,
    err: *mut GmErrorBuf,
) -> GmStatus;

/// `GmQueueVtable::flush`. `[queue-thread]`.
pub type GmFlushFn = unsafe extern "C" fn(instance: *mut c_void, err: *mut GmErrorBuf) -> GmStatus;

/// `GmQueueVtable::done`. `[queue-thread]`. The slices are borrowed for the call.
pub type GmDoneFn = unsafe extern "C" fn(
    instance: *mut c_void,
    unique: GmSlice,
    function: GmSlice,
    err: *mut GmErrorBuf,
) -> GmStatus;

/// `GmQueueVtable::replay`. `[main-thread]` once, at startup, before connections are accepted.
/// `callback` and `ctx` are valid only during the call.
pub type GmQueueReplayFn = unsafe extern "C" fn(
    instance: *mut c_void,
    callback: GmReplayFn,
    ctx: *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus;

/// `GmQueueVtable::capabilities` (ABI 1.4). `[main-thread]` once, right after `create`.
/// Returns the [`queue_caps`] bits that hold for this instance.
pub type GmQueueCapsFn = unsafe extern "C" fn(instance: *mut c_void) -> u32;

/// The bits a queue instance returns from [`GmQueueVtable::capabilities`] (ABI 1.4).
pub mod queue_caps {
    /// Jobs survive a restart. Without it the queue is like the host's `builtin` one: the host
    /// neither moves it to the `queue` thread nor times its calls.
    pub const DURABLE: u32 = 1;
    /// Jobs are stored at shutdown instead of at submit (the original's
    /// `--store-queue-on-shutdown`): the host skips `add` while running and, at exit, adds and
    /// flushes every job it still holds.
    pub const STORE_ON_SHUTDOWN: u32 = 2;
}

/// The queue contract (the original's `add`, `flush`, `done`, `replay`, `shutdown`).
///
/// Threading: the host calls one instance from one thread at a time, but not always the same
/// thread (see the tags on each function).
#[repr(C)]
pub struct GmQueueVtable {
    /// `[main-thread]` Creates an instance from its resolved options.
    pub create: GmCreateFn,
    /// `[queue-thread]` Stores a new background job. Durable after the next successful `flush`.
    pub add: GmAddFn,
    /// `[queue-thread]` Makes every `add` and `done` so far durable; the host acknowledges jobs
    /// only after it.
    pub flush: GmFlushFn,
    /// `[queue-thread]` Removes the job (unique, function); removing a job that is not there is not
    /// an error.
    pub done: GmDoneFn,
    /// `[main-thread]` Calls `callback` for every stored job, at startup, before connections are
    /// accepted.
    pub replay: GmQueueReplayFn,
    /// `[queue-thread]` Shutdown: flush what is left and release the instance.
    pub destroy: GmDestroyFn,
    // ---- v1.2 (read by the host only when `vtable_size` covers it) ----
    /// `[queue-thread]` Optional (null = absent: the host calls `add` once per job). Stores the `n`
    /// new jobs of `items` as `n` calls of `add` in that order would, each durable after the next
    /// successful `flush`; its point is to let a backend store them with a few round trips instead
    /// of `n`. A job refused on its own (e.g. a duplicate) is reported through `report(ctx, index,
    /// msg)` and must not be stored; the others are unaffected. Returns OK when every job not
    /// reported is stored. Any other status means the whole batch failed (message in `err`): the
    /// host refuses every job of it, so none of them may become durable (a database rolls back).
    pub add_batch: Option<GmAddBatchFn>,
    // ---- v1.4 (read by the host only when `vtable_size` covers it) ----
    /// `[main-thread]` Optional (null = absent: the host assumes what it did before 1.4, see
    /// [`ABI_MINOR`]). The [`queue_caps`] of this instance, asked once after `create`; an
    /// instance may answer from its options (sqlite's `--store-queue-on-shutdown`).
    pub capabilities: Option<GmQueueCapsFn>,
}

// ---------------------------------------------------------------------------------------------
// Protocol plugins
// ---------------------------------------------------------------------------------------------

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
