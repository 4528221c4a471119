//! The host's side of the C ABI for the glue tests: a `GmHostApi` whose log callback records
//! every message and whose level a test can set, and the `GmAddFailFn` that collects
//! `add_batch` refusals.

use gearmand_plugin_api::abi::*;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// Every message plugins logged through [`HOST`]: (level, plugin name, message).
pub static LOGGED: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn host_log(_: *mut c_void, level: u32, plugin: GmSlice, message: GmSlice) {
    let s = |x: GmSlice| String::from_utf8_lossy(x.as_bytes()).into_owned();
    LOGGED.lock().unwrap().push((level, s(plugin), s(message)));
}

/// `GmHostApi` holds a raw pointer, so a static needs this wrapper to be `Sync`.
pub struct HostApi(pub GmHostApi);
unsafe impl Sync for HostApi {}

/// The host API handed to `create`.
pub static HOST: HostApi = HostApi(GmHostApi {
    size: std::mem::size_of::<GmHostApi>(),
    abi_major: ABI_MAJOR,
    abi_minor: ABI_MINOR,
    ctx: std::ptr::null_mut(),
    log: host_log,
    max_level: host_level,
});

/// The level [`HOST`] reports as the most verbose it keeps: every record unless a test lowers
/// it (standing for a server started with another `--verbose`, or a host that changes its level
/// at run time). Process-wide, so a test that changes it has its own test binary.
pub static HOST_LEVEL: AtomicU32 = AtomicU32::new(level::TRACE);

/// `GmHostApi::max_level`: [`HOST_LEVEL`], read on every call.
unsafe extern "C" fn host_level(_: *mut c_void) -> u32 {
    HOST_LEVEL.load(Ordering::SeqCst)
}

/// The host's `GmAddFailFn`: collects (index, message) into the `Vec` behind `ctx`.
///
/// # Safety
/// `ctx` points to a live `Vec<(usize, String)>`.
#[allow(dead_code)] // not every test binary has batches to refuse
pub unsafe extern "C" fn collect_refusal(ctx: *mut c_void, index: usize, message: GmSlice) {
    let refused = &mut *(ctx as *mut Vec<(usize, String)>);
    refused.push((
        index,
        String::from_utf8_lossy(message.as_bytes()).into_owned(),
    ));
}
