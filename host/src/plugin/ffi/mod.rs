//! Every `unsafe` line of the plugin loader, in one place: opening a library, reading and checking
//! its header, and calling through its vtables. Everything here is wrapped in small safe types
//! ([`QueueInstance`], [`ProtocolInstance`], [`ConnInstance`]) that the rest of `plugin` uses.
//!
//! The trust model: a file found in the plugin search path under a plugin's name is code we chose
//! to run (like any `dlopen`-based module system). What we defend against is a *wrong* file — not
//! a shared object, built for another ABI, the wrong kind, a truncated vtable — and each of those
//! is checked before anything but the entry point is called. Libraries are never unloaded, so
//! pointers into them are `'static`.

use super::error::PluginError;
use crate::config::{Kind, OptionInfo, PluginInfo};
use gearmand_plugin_api::abi::*;
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use std::ffi::{c_char, c_void, CStr, CString};
use std::mem::{offset_of, size_of};
use std::panic::catch_unwind;
use std::path::Path;

mod callback;
mod instances;
mod queue;
pub use instances::{ConnInstance, ProtocolInstance};
pub use queue::QueueInstance;
use std::ptr::{addr_of, null_mut};

/// Size of the v1.0 queue vtable: everything before `add_batch`; a smaller one is refused.
pub const QUEUE_VTABLE_V1_0: usize = offset_of!(GmQueueVtable, add_batch);
/// Size of the v1.2 queue vtable: v1.0 plus `add_batch`.
pub const QUEUE_VTABLE_V1_2: usize = offset_of!(GmQueueVtable, capabilities);
/// Size of the v1.4 queue vtable: v1.2 plus `capabilities`.
pub const QUEUE_VTABLE_V1_4: usize =
    offset_of!(GmQueueVtable, capabilities) + size_of::<Option<GmQueueCapsFn>>();
/// Size of the v1.0 protocol vtable: everything before `conn_deadline`; a smaller one is refused.
pub const PROTOCOL_VTABLE_V1_0: usize = offset_of!(GmProtocolVtable, conn_deadline);
/// Size of the v1.1 protocol vtable: v1.0 plus `conn_deadline` and `conn_timeout`.
pub const PROTOCOL_VTABLE_V1_1: usize =
    offset_of!(GmProtocolVtable, conn_timeout) + size_of::<GmConnTimeoutFn>();

/// Room for a plugin's error message; longer ones are truncated by the plugin.
const ERROR_CAP: usize = 1024;

/// A plugin's vtable, typed by kind. Points into a library that is never unloaded (the
/// protocol functions are a copy, made once per library: see [`ProtocolFns`]).
#[derive(Clone, Copy)]
pub enum Vtable {
    Queue(&'static QueueFns),
    Protocol(&'static ProtocolFns),
}

/// A queue plugin's functions, copied out of its vtable field by field (like [`ProtocolFns`]: a
/// plugin built for ABI 1.0 to 1.3 has a shorter vtable than [`GmQueueVtable`] is today).
#[derive(Clone, Copy)]
pub struct QueueFns {
    pub create: GmCreateFn,
    pub add: GmAddFn,
    pub flush: GmFlushFn,
    pub done: GmDoneFn,
    pub replay: GmQueueReplayFn,
    pub destroy: GmDestroyFn,
    /// v1.2; `None` for an older plugin or a null entry (the host then adds job by job).
    pub add_batch: Option<GmAddBatchFn>,
    /// v1.4; `None` for an older plugin or a null entry (see [`QueueInstance::capabilities`]).
    pub capabilities: Option<GmQueueCapsFn>,
}

/// Copies the functions out of a queue vtable of `size` bytes (at least v1.0's).
///
/// # Safety
/// `vt` points to a vtable of at least `size` bytes, `size >= QUEUE_VTABLE_V1_0`.
unsafe fn queue_fns(vt: *const GmQueueVtable, size: usize) -> QueueFns {
    let add_batch = if size >= QUEUE_VTABLE_V1_2 {
        addr_of!((*vt).add_batch).read()
    } else {
        None
    };
    let capabilities = if size >= QUEUE_VTABLE_V1_4 {
        addr_of!((*vt).capabilities).read()
    } else {
        None
    };
    QueueFns {
        create: addr_of!((*vt).create).read(),
        add: addr_of!((*vt).add).read(),
        flush: addr_of!((*vt).flush).read(),
        done: addr_of!((*vt).done).read(),
        replay: addr_of!((*vt).replay).read(),
        destroy: addr_of!((*vt).destroy).read(),
        add_batch,
        capabilities,
    }
}

/// A protocol plugin's functions, copied out of its vtable field by field. A plugin built for
/// ABI 1.0 has a shorter vtable than [`GmProtocolVtable`] is today, so the host never makes a
/// reference to the whole struct: it reads the v1.0 fields, and the v1.1 ones only when the
/// plugin's `vtable_size` covers them.
#[derive(Clone, Copy)]
pub struct ProtocolFns {
    pub create: GmCreateFn,
    pub listen_port: GmListenPortFn,
    pub conn_open: GmConnOpenFn,
    pub conn_decode: GmConnDecodeFn,
    pub conn_encode: GmConnEncodeFn,
    pub conn_close: GmConnCloseFn,
    pub destroy: GmDestroyFn,
    /// v1.1 per-connection timers; `None` for a v1.0 plugin (its connections have no deadline).
    pub timers: Option<TimerFns>,
}

/// The v1.1 fields of [`GmProtocolVtable`].
#[derive(Clone, Copy)]
pub struct TimerFns {
    pub deadline: GmConnDeadlineFn,
    pub timeout: GmConnTimeoutFn,
}

/// Copies the functions out of a protocol vtable of `size` bytes (at least v1.0's).
///
/// # Safety
/// `vt` points to a vtable of at least `size` bytes, `size >= PROTOCOL_VTABLE_V1_0`.
unsafe fn protocol_fns(vt: *const GmProtocolVtable, size: usize) -> ProtocolFns {
    let timers = (size >= PROTOCOL_VTABLE_V1_1).then(|| TimerFns {
        deadline: addr_of!((*vt).conn_deadline).read(),
        timeout: addr_of!((*vt).conn_timeout).read(),
    });
    ProtocolFns {
        create: addr_of!((*vt).create).read(),
        listen_port: addr_of!((*vt).listen_port).read(),
        conn_open: addr_of!((*vt).conn_open).read(),
        conn_decode: addr_of!((*vt).conn_decode).read(),
        conn_encode: addr_of!((*vt).conn_encode).read(),
        conn_close: addr_of!((*vt).conn_close).read(),
        destroy: addr_of!((*vt).destroy).read(),
        timers,
    }
}

/// What a checked header says, copied into Rust types.
pub struct Header {
    pub info: PluginInfo,
    pub vtable: Vtable,
}

/// The config's kind of an ABI kind; `None` for a kind this host does not know.
fn kind_of(kind: GmPluginKind) -> Option<Kind> {
    match kind {
        GmPluginKind::QUEUE => Some(Kind::Queue),
        GmPluginKind::PROTOCOL => Some(Kind::Protocol),
        _ => None,
    }
}

/// Opens `path`, checks its header against the host's ABI and `expected` kind, and reads it.
pub fn load(path: &Path, expected: Kind) -> Result<Header, PluginError> {
    let header = open(path)?;
    // SAFETY: `header` is non-null and points to the plugin's static header. Only the leading
    // magic/version fields, whose offsets every ABI version keeps, are read before they are
    // checked; the rest of the struct is read only once the major version is known to match.
    unsafe {
        check_prefix(header, path, expected)?;
        read_header(&*header, path)
    }
}

/// Loads the library (RTLD_NOW | RTLD_LOCAL, never unloaded) and calls its entry point.
fn open(path: &Path) -> Result<*const GmPluginHeader, PluginError> {
    let not_a_plugin = |why: String| PluginError::NotAPlugin {
        path: path.to_path_buf(),
        why,
    };
    // SAFETY: loading runs the library's initialisers; see the trust model above.
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
        .map_err(|e| not_a_plugin(format!("not a loadable shared object ({e})")))?;
    // SAFETY: the ABI fixes the entry point's type; we copy the fn pointer out of the symbol.
    let entry: GmEntryFn = match unsafe { lib.get::<GmEntryFn>(ENTRY_SYMBOL) } {
        Ok(symbol) => *symbol,
        Err(_) => return Err(not_a_plugin("missing symbol gearmand_plugin_entry".into())),
    };
    // Never unload: headers, vtables and instances all live inside the library.
    std::mem::forget(lib);
    // SAFETY: the entry point takes no arguments and returns a pointer to a static header.
    let header = unsafe { entry() };
    if header.is_null() {
        return Err(not_a_plugin(
            "gearmand_plugin_entry returned no header".into(),
        ));
    }
    Ok(header)
}

/// Checks magic, ABI version and kind: the fields every ABI version keeps at the same offsets.
///
/// # Safety
/// `header` points to at least the first 12 bytes of a plugin header.
unsafe fn check_prefix(
    header: *const GmPluginHeader,
    path: &Path,
    expected: Kind,
) -> Result<(), PluginError> {
    let magic = addr_of!((*header).magic).read_unaligned();
    if magic != PLUGIN_MAGIC {
        return Err(PluginError::NotAPlugin {
            path: path.to_path_buf(),
            why: format!("bad magic {magic:#010x} (expected {PLUGIN_MAGIC:#010x})"),
        });
    }
    let major = addr_of!((*header).abi_major).read_unaligned();
    let minor = addr_of!((*header).abi_minor).read_unaligned();
    if major != ABI_MAJOR || minor > ABI_MINOR {
        return Err(PluginError::AbiMismatch {
            path: path.to_path_buf(),
            plugin: (major, minor),
            host: (ABI_MAJOR, ABI_MINOR),
        });
    }
    let kind = addr_of!((*header).kind).read_unaligned();
    if kind_of(kind) != Some(expected) {
        return Err(PluginError::WrongKind {
            path: path.to_path_buf(),
            expected,
            found: kind_of(kind).map_or(format!("unknown kind {}", kind.0), |k| k.to_string()),
        });
    }
    Ok(())
}

/// Reads a header whose magic, version and kind are checked.
///
/// # Safety
/// `h` is a v1.x header whose pointers are null or valid for the life of the process.
unsafe fn read_header(h: &GmPluginHeader, path: &Path) -> Result<Header, PluginError> {
    let kind = kind_of(h.kind).expect("kind checked by check_prefix");
    let needed = match kind {
        Kind::Queue => QUEUE_VTABLE_V1_0,
        Kind::Protocol => PROTOCOL_VTABLE_V1_0,
    };
    if h.vtable.is_null() || h.vtable_size < needed {
        return Err(PluginError::BadVtable {
            path: path.to_path_buf(),
            size: if h.vtable.is_null() { 0 } else { h.vtable_size },
            needed,
        });
    }
    let vtable = match kind {
        Kind::Queue => {
            let fns = queue_fns(h.vtable as *const GmQueueVtable, h.vtable_size);
            // Leaked once per plugin library, which is never unloaded either.
            Vtable::Queue(Box::leak(Box::new(fns)))
        }
        Kind::Protocol => {
            let fns = protocol_fns(h.vtable as *const GmProtocolVtable, h.vtable_size);
            // Leaked once per plugin library, which is never unloaded either.
            Vtable::Protocol(Box::leak(Box::new(fns)))
        }
    };
    let name = text(h.name);
    if name.is_empty() {
        return Err(PluginError::NotAPlugin {
            path: path.to_path_buf(),
            why: "the header has no name".into(),
        });
    }
    let info = PluginInfo {
        name,
        aliases: array(h.aliases, h.n_aliases)
            .iter()
            .map(|&a| text(a))
            .collect(),
        kind,
        version: text(h.version),
        description: text(h.description),
        options: array(h.options, h.n_options)
            .iter()
            .map(|o| option(o))
            .collect(),
    };
    Ok(Header { info, vtable })
}

/// # Safety
/// `spec`'s pointers are null or NUL-terminated strings.
unsafe fn option(spec: &GmOptionSpec) -> OptionInfo {
    let opt_text = |p: *const c_char| (!p.is_null()).then(|| text(p));
    OptionInfo {
        name: text(spec.name),
        help: text(spec.help),
        default: opt_text(spec.default_value),
        short: (spec.short_name as u8)
            .is_ascii_graphic()
            .then_some(spec.short_name as u8 as char),
        takes_value: spec.takes_value != 0,
        alias_of: opt_text(spec.alias_of),
    }
}

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    CStr::from_ptr(p).to_string_lossy().into_owned()
}

/// # Safety
/// `p` is null or points to `n` valid `T`s that live forever.
pub(super) unsafe fn array<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, n)
    }
}

// ---------------------------------------------------------------------------------------------
// Calls into a plugin
// ---------------------------------------------------------------------------------------------

/// The host services handed to every plugin's `create`.
struct HostApi(GmHostApi);
// SAFETY: `ctx` is null and never used; `log` and `max_level` are plain functions that may be
// called from any thread.
unsafe impl Sync for HostApi {}

static HOST_API: HostApi = HostApi(GmHostApi {
    size: size_of::<GmHostApi>(),
    abi_major: ABI_MAJOR,
    abi_minor: ABI_MINOR,
    ctx: null_mut(),
    log: host_log,
    max_level: host_max_level,
});

/// `GmHostApi::max_level`: the level the host's log keeps now (`log::LevelFilter` numbers are
/// the ABI's: Off 0, Error 1 .. Trace 5).
unsafe extern "C" fn host_max_level(_ctx: *mut c_void) -> u32 {
    catch_unwind(|| log::max_level() as u32).unwrap_or(level::TRACE)
}

/// `GmHostApi::log`: a plugin's record into the host's log, with the plugin's name as target.
unsafe extern "C" fn host_log(_ctx: *mut c_void, level: u32, plugin: GmSlice, message: GmSlice) {
    let _ = catch_unwind(|| {
        let plugin = String::from_utf8_lossy(plugin.as_bytes());
        let message = String::from_utf8_lossy(message.as_bytes());
        let level = match level {
            0 | level::ERROR => log::Level::Error,
            level::WARN => log::Level::Warn,
            level::INFO => log::Level::Info,
            level::DEBUG => log::Level::Debug,
            _ => log::Level::Trace,
        };
        log::log!(target: &plugin, level, "{message}");
    });
}

/// Runs a plugin call that reports through an error buffer; a non-OK status becomes its message.
pub(super) fn with_error(call: impl FnOnce(*mut GmErrorBuf) -> GmStatus) -> Result<(), String> {
    let mut bytes = [0u8; ERROR_CAP];
    let mut err = GmErrorBuf {
        buf: bytes.as_mut_ptr(),
        cap: bytes.len(),
        len: 0,
    };
    let status = call(&mut err);
    if status == GmStatus::OK {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&bytes[..err.len.min(ERROR_CAP)]).into_owned();
    Err(match (msg.is_empty(), status) {
        (false, _) => msg,
        (true, GmStatus::PANIC) => "the plugin panicked".to_string(),
        (true, s) => format!("the plugin failed (status {}) without a message", s.0),
    })
}

/// Creates an instance with `create`, passing the resolved options.
pub(super) fn create(
    create: GmCreateFn,
    opts: &[(String, Vec<u8>)],
) -> Result<*mut c_void, String> {
    let names = opts
        .iter()
        .map(|(k, _)| CString::new(k.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "an option name contains a NUL byte".to_string())?;
    let values: Vec<GmOptionValue> = names
        .iter()
        .zip(opts)
        .map(|(n, (_, v))| GmOptionValue {
            name: n.as_ptr(),
            value: GmSlice::new(v),
        })
        .collect();
    let mut instance = null_mut();
    // SAFETY: every pointer is valid for the call; the host API is a static.
    with_error(|err| unsafe {
        create(
            &HOST_API.0,
            values.as_ptr(),
            values.len(),
            &mut instance,
            err,
        )
    })?;
    if instance.is_null() {
        return Err("the plugin returned no instance".into());
    }
    Ok(instance)
}

#[cfg(test)]
use untouched::Untouched;

/// Memory for the tests of the size limits that the host callbacks check.
#[cfg(test)]
mod untouched {
    use gearmand_plugin_api::abi::GmSlice;
    use std::ffi::c_void;
    use std::ptr::null_mut;

    /// `len` readable zero bytes that cost no memory: mapped, never touched.
    pub struct Untouched(pub GmSlice);

    impl Untouched {
        pub fn new(len: usize) -> Untouched {
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
}
