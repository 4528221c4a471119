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
//!
//! What every plugin shares is here; the queue contract is in `abi/queue.rs` and the protocol
//! contract in `abi/protocol.rs`, both re-exported, so every name is `abi::Name`.

mod protocol;
mod queue;

pub use protocol::*;
pub use queue::*;

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
