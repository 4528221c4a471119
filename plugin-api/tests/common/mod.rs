//! The host's side of the C ABI for the glue tests: a `GmHostApi` whose log callback records
//! every message, and the `GmAddFailFn` that collects `add_batch` refusals.

use gearmand_plugin_api::abi::*;
use std::ffi::c_void;
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
    max_level: keep_everything,
});

/// `GmHostApi::max_level` of a host that keeps every record.
unsafe extern "C" fn keep_everything(_: *mut c_void) -> u32 {
    level::TRACE
}

/// The host's `GmAddFailFn`: collects (index, message) into the `Vec` behind `ctx`.
///
/// # Safety
/// `ctx` points to a live `Vec<(usize, String)>`.
pub unsafe extern "C" fn collect_refusal(ctx: *mut c_void, index: usize, message: GmSlice) {
    let refused = &mut *(ctx as *mut Vec<(usize, String)>);
    refused.push((
        index,
        String::from_utf8_lossy(message.as_bytes()).into_owned(),
    ));
}
