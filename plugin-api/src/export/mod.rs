//! The glue behind [`export_queue_plugin!`](crate::export_queue_plugin) and
//! [`export_protocol_plugin!`](crate::export_protocol_plugin): the only `unsafe` a Rust plugin
//! ever runs, kept here so that plugin crates contain none.
//!
//! What it does, in the order the host sees it:
//! 1. The entry point returns a [`GmPluginHeader`] built once from the trait's [`PluginInfo`]
//!    constants (NUL-terminated copies, leaked so they live as long as the process, which never
//!    unloads a plugin).
//! 2. Every vtable function is an `extern "C"` shim generic over the plugin type. Each one converts
//!    borrowed C slices to Rust slices, calls the safe trait method inside `catch_unwind` (a panic
//!    becomes [`GmStatus::PANIC`] with the panic message), and writes the `Display` text of any
//!    error (the plugin's own type, or the glue's `HostFault`) into the host's [`GmErrorBuf`],
//!    truncated to its capacity.
//! 3. `create` installs a `log::Log` in the plugin's own copy of the `log` crate that forwards every
//!    record to [`GmHostApi::log`], tagged with the plugin's name, so plugins just use `log::info!`.
//!
//! The macros stay tiny: they only define the exported symbol and call [`HeaderCell`].

use crate::abi::*;
use crate::sdk::*;
use protocol::protocol_vtable;
use queue::queue_vtable;
use std::any::Any;
use std::ffi::{c_char, c_void, CStr, CString};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

mod protocol;
mod queue;

/// Exports a [`QueuePlugin`] implementation as a gearmand plugin (defines `gearmand_plugin_entry`).
///
/// Use it once per `cdylib`, at the crate's top level: `export_queue_plugin!(MyQueue);`.
#[macro_export]
macro_rules! export_queue_plugin {
    ($plugin:ty) => {
        /// The gearmand plugin entry point: returns this plugin's static header.
        #[no_mangle]
        pub extern "C" fn gearmand_plugin_entry() -> *const $crate::abi::GmPluginHeader {
            static HEADER: $crate::export::HeaderCell = $crate::export::HeaderCell::new();
            HEADER.queue::<$plugin>()
        }
    };
}

/// Exports a [`ProtocolPlugin`] implementation as a gearmand plugin (defines
/// `gearmand_plugin_entry`).
///
/// Use it once per `cdylib`, at the crate's top level: `export_protocol_plugin!(MyProtocol);`.
#[macro_export]
macro_rules! export_protocol_plugin {
    ($plugin:ty) => {
        /// The gearmand plugin entry point: returns this plugin's static header.
        #[no_mangle]
        pub extern "C" fn gearmand_plugin_entry() -> *const $crate::abi::GmPluginHeader {
            static HEADER: $crate::export::HeaderCell = $crate::export::HeaderCell::new();
            HEADER.protocol::<$plugin>()
        }
    };
}

/// A pointer to a leaked, immutable header; sharing it between threads is what it is made for.
struct HeaderPtr(*const GmPluginHeader);

// SAFETY: the header and everything it points to are leaked and never written after being built,
// so any thread may read them.
unsafe impl Send for HeaderPtr {}
// SAFETY: as above: immutable after construction.
unsafe impl Sync for HeaderPtr {}

/// The once-built header behind an entry point (a `static` the export macros define).
#[doc(hidden)]
pub struct HeaderCell(OnceLock<HeaderPtr>);

impl HeaderCell {
    /// An empty cell, filled on the first call of the entry point.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> HeaderCell {
        HeaderCell(OnceLock::new())
    }

    /// The header of queue plugin `T`, or null if building it panicked.
    pub fn queue<T: QueuePlugin>(&self) -> *const GmPluginHeader {
        self.get_or_build::<T, _>(GmPluginKind::QUEUE, queue_vtable::<T>)
    }

    /// The header of protocol plugin `T`, or null if building it panicked.
    pub fn protocol<T: ProtocolPlugin>(&self) -> *const GmPluginHeader {
        self.get_or_build::<T, _>(GmPluginKind::PROTOCOL, protocol_vtable::<T>)
    }

    fn get_or_build<T: PluginInfo, V: 'static>(
        &self,
        kind: GmPluginKind,
        vtable: fn() -> V,
    ) -> *const GmPluginHeader {
        let built = catch_unwind(|| {
            self.0
                .get_or_init(|| HeaderPtr(build_header::<T, V>(kind, vtable())))
                .0
        });
        built.unwrap_or(std::ptr::null())
    }
}

/// Builds and leaks the header; the strings are NUL-terminated copies of the trait constants.
fn build_header<T: PluginInfo, V: 'static>(kind: GmPluginKind, vtable: V) -> *const GmPluginHeader {
    let aliases: Vec<*const c_char> = T::ALIASES.iter().map(|a| leak_cstr(a)).collect();
    let options: Vec<GmOptionSpec> = T::OPTIONS.iter().map(option_spec).collect();
    let header = GmPluginHeader {
        magic: PLUGIN_MAGIC,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        kind,
        name: leak_cstr(T::NAME),
        n_aliases: aliases.len(),
        aliases: Box::leak(aliases.into_boxed_slice()).as_ptr(),
        version: leak_cstr(T::VERSION),
        description: leak_cstr(T::DESCRIPTION),
        n_options: options.len(),
        options: Box::leak(options.into_boxed_slice()).as_ptr(),
        vtable: Box::leak(Box::new(vtable)) as *const V as *const c_void,
        vtable_size: std::mem::size_of::<V>(),
    };
    Box::leak(Box::new(header))
}

fn option_spec(def: &OptionDef) -> GmOptionSpec {
    GmOptionSpec {
        name: leak_cstr(def.name),
        help: leak_cstr(def.help),
        default_value: def.default.map_or(std::ptr::null(), leak_cstr),
        // Only ASCII short forms can be expressed as one C char.
        short_name: match def.short {
            Some(c) if c.is_ascii() => c as u8 as c_char,
            _ => 0,
        },
        takes_value: def.takes_value as u8,
        alias_of: def.alias_of.map_or(std::ptr::null(), leak_cstr),
    }
}

/// A NUL-terminated copy of `s` that lives forever (interior NULs are dropped).
fn leak_cstr(s: &str) -> *const c_char {
    let bytes: Vec<u8> = s.bytes().filter(|&b| b != 0).collect();
    CString::new(bytes).unwrap_or_default().into_raw()
}

// ---------------------------------------------------------------------------------------------
// Shared helpers: panics, errors, options, logging
// ---------------------------------------------------------------------------------------------

/// The text of a panic payload (`panic!("...")` carries a `&str` or a `String`).
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("plugin panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("plugin panicked: {s}")
    } else {
        "plugin panicked".to_string()
    }
}

/// A mistake of the host's that the glue finds before the plugin is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostFault {
    NoHostApi,
    /// The host's API version and size, which this plugin cannot use.
    HostApi {
        major: u16,
        minor: u16,
        size: usize,
    },
    NoInstancePointer,
    NullInstance,
    NullJob,
    NullBatch,
}

impl fmt::Display for HostFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostFault::NoHostApi => f.write_str("the host passed no host API"),
            HostFault::HostApi { major, minor, size } => write!(
                f,
                "host API {major}.{minor} (size {size}) does not match the plugin's ABI {ABI_MAJOR}.{ABI_MINOR}"
            ),
            HostFault::NoInstancePointer => f.write_str("the host passed no instance pointer"),
            HostFault::NullInstance => f.write_str("the host passed a null instance"),
            HostFault::NullJob => f.write_str("the host passed a null job"),
            HostFault::NullBatch => f.write_str("the host passed a null batch"),
        }
    }
}

/// What a guarded call failed with: the host's mistake or the plugin's own error.
pub(super) enum Failure<E> {
    Host(HostFault),
    Plugin(E),
}

impl<E> From<HostFault> for Failure<E> {
    fn from(f: HostFault) -> Failure<E> {
        Failure::Host(f)
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Host(h) => h.fmt(f),
            Failure::Plugin(e) => e.fmt(f),
        }
    }
}

/// Writes `msg` into the host's error buffer, truncated to its capacity.
///
/// # Safety
/// `err` is null or points to a host-owned [`GmErrorBuf`] whose `buf` has `cap` writable bytes.
pub(super) unsafe fn write_error(err: *mut GmErrorBuf, msg: &str) {
    if err.is_null() {
        return;
    }
    let err = &mut *err;
    if err.buf.is_null() {
        return;
    }
    let n = msg.len().min(err.cap);
    std::ptr::copy_nonoverlapping(msg.as_ptr(), err.buf, n);
    err.len = n;
}

/// Runs a fallible plugin call: Ok → OK, Err → ERROR with its `Display` text, panic → PANIC.
///
/// # Safety
/// `err` as for [`write_error`].
pub(super) unsafe fn guarded<E: fmt::Display>(
    err: *mut GmErrorBuf,
    call: impl FnOnce() -> Result<(), Failure<E>>,
) -> GmStatus {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(())) => GmStatus::OK,
        Ok(Err(e)) => {
            write_error(err, &e.to_string());
            GmStatus::ERROR
        }
        Err(payload) => {
            write_error(err, &panic_message(&*payload));
            GmStatus::PANIC
        }
    }
}

/// Runs a call that has no error buffer; a panic is logged and replaced by `on_panic`.
pub(super) fn guarded_or<R>(on_panic: R, call: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        log::error!("{}", panic_message(&*payload));
        on_panic
    })
}

/// Copies the host's resolved options into an [`Options`].
///
/// # Safety
/// `values` is null or points to `n` valid [`GmOptionValue`]s whose names are NUL-terminated.
pub(super) unsafe fn read_options(values: *const GmOptionValue, n: usize) -> Options {
    if values.is_null() || n == 0 {
        return Options::default();
    }
    let values = std::slice::from_raw_parts(values, n);
    Options::from_pairs(values.iter().filter(|v| !v.name.is_null()).map(|v| {
        let name = CStr::from_ptr(v.name).to_string_lossy().into_owned();
        (name, v.value.as_bytes().to_vec())
    }))
}

/// The logger installed in the plugin's copy of `log`: forwards records to the host.
struct HostLogger {
    host: *const GmHostApi,
    plugin: &'static str,
}

// SAFETY: the host API is valid for the life of the process and its `log` callback may be called
// from any thread (the ABI promises this).
unsafe impl Send for HostLogger {}
// SAFETY: as above; the logger itself holds no mutable state.
unsafe impl Sync for HostLogger {}

impl HostLogger {
    /// The level the host's log keeps now (ABI 1.3), or Trace from a host too old to say.
    fn host_level(&self) -> u32 {
        // SAFETY: `host` was checked non-null and at least v1.0-sized when the logger was
        // installed and lives for the whole process; `max_level` is read only if `size` covers it.
        unsafe {
            let host = &*self.host;
            let end = std::mem::offset_of!(GmHostApi, max_level) + std::mem::size_of::<usize>();
            if host.size >= end {
                (host.max_level)(host.ctx)
            } else {
                level::TRACE
            }
        }
    }
}

impl log::Log for HostLogger {
    /// Asks the host: a dependency's debug records (a database driver printing every query
    /// parameter, say) are then neither formatted nor sent only to be dropped. That formatting
    /// was about a fifth of the postgres queue thread's time under load.
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() as u32 <= self.host_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        // log::Level numbers (Error = 1 .. Trace = 5) are the ABI's `level` numbers.
        let level = record.level() as u32;
        // SAFETY: `host` was checked non-null and of a known size when the logger was installed,
        // and lives for the whole process.
        unsafe {
            let host = &*self.host;
            (host.log)(
                host.ctx,
                level,
                GmSlice::new(self.plugin.as_bytes()),
                GmSlice::new(message.as_bytes()),
            );
        }
    }

    fn flush(&self) {}
}

/// Checks the host API and installs the forwarding logger (once per plugin library).
///
/// # Safety
/// `host` is null or points to a [`GmHostApi`] valid for the life of the process.
pub(super) unsafe fn install_logger<T: PluginInfo>(
    host: *const GmHostApi,
) -> Result<(), HostFault> {
    if host.is_null() {
        return Err(HostFault::NoHostApi);
    }
    let api = &*host;
    // Every host passes at least the v1.0 fields; `max_level` (1.3) is checked where it is used.
    if api.abi_major != ABI_MAJOR || api.size < std::mem::offset_of!(GmHostApi, max_level) {
        return Err(HostFault::HostApi {
            major: api.abi_major,
            minor: api.abi_minor,
            size: api.size,
        });
    }
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let logger: &'static HostLogger = Box::leak(Box::new(HostLogger {
            host,
            plugin: T::NAME,
        }));
        // Fails only if this library already has a logger (e.g. linked into a test); keep that one.
        if log::set_logger(logger).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
    Ok(())
}

/// Stores a freshly created instance in the host's out-pointer.
///
/// # Safety
/// `instance` is null or a writable pointer.
pub(super) unsafe fn hand_over<I>(instance: *mut *mut c_void, value: I) -> Result<(), HostFault> {
    if instance.is_null() {
        return Err(HostFault::NoInstancePointer);
    }
    *instance = Box::into_raw(Box::new(value)) as *mut c_void;
    Ok(())
}

/// The plugin instance behind a host-held pointer.
///
/// # Safety
/// `instance` is null or was produced by [`hand_over`] for type `I` and not yet destroyed, and the
/// host does not call into the same instance from two threads at once.
pub(super) unsafe fn instance_mut<'a, I>(instance: *mut c_void) -> Result<&'a mut I, HostFault> {
    (instance as *mut I).as_mut().ok_or(HostFault::NullInstance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_faults_and_plugin_errors_read_as_one_line() {
        let host: Failure<String> = HostFault::NullInstance.into();
        assert_eq!(host.to_string(), "the host passed a null instance");
        let api = HostFault::HostApi {
            major: 2,
            minor: 0,
            size: 8,
        };
        assert_eq!(
            api.to_string(),
            format!(
                "host API 2.0 (size 8) does not match the plugin's ABI {ABI_MAJOR}.{ABI_MINOR}"
            )
        );
        let plugin: Failure<&str> = Failure::Plugin("mine: disk full");
        assert_eq!(plugin.to_string(), "mine: disk full");
    }
}
