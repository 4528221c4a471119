//! ABI 1.3: a plugin asks the host's current log level (`GmHostApi::max_level`) and neither
//! formats nor sends a record the host would drop; it asks every time, so a change of the host's
//! verbosity takes effect at once. Its own test binary: the host's level here is process-wide
//! state.

use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::*;
use std::ffi::c_void;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

static LEVEL: AtomicU32 = AtomicU32::new(level::TRACE);
static LOGGED: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
/// How often the plugin formatted its debug argument.
static FORMATTED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn host_log(_: *mut c_void, level: u32, _: GmSlice, message: GmSlice) {
    let text = String::from_utf8_lossy(message.as_bytes()).into_owned();
    LOGGED.lock().unwrap().push((level, text));
}

unsafe extern "C" fn max_level(_: *mut c_void) -> u32 {
    LEVEL.load(Ordering::SeqCst)
}

struct Host(GmHostApi);
unsafe impl Sync for Host {}

fn host(size: usize) -> Host {
    Host(GmHostApi {
        size,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        ctx: std::ptr::null_mut(),
        log: host_log,
        max_level,
    })
}

/// Counts its own formatting.
struct Costly;

impl fmt::Display for Costly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.fetch_add(1, Ordering::SeqCst);
        f.write_str("costly")
    }
}

/// A queue whose `add` logs one warning and one debug record.
struct Chatty;

impl PluginInfo for Chatty {
    const NAME: &'static str = "chatty";
    const VERSION: &'static str = "1";
    const DESCRIPTION: &'static str = "log level test";
}

impl QueuePlugin for Chatty {
    fn create(_: &Options) -> Result<Self, String> {
        Ok(Chatty)
    }
    fn add(&mut self, _: &QueueJob<'_>) -> Result<(), String> {
        log::warn!("warned");
        log::debug!("debug {}", Costly);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn done(&mut self, _: &[u8], _: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn replay(
        &mut self,
        _: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        Ok(())
    }
}

export_queue_plugin!(Chatty);

#[test]
fn records_above_the_hosts_level_are_not_formatted_and_a_change_applies_at_once() {
    let host = host(std::mem::size_of::<GmHostApi>());
    let vt = unsafe { &*((*gearmand_plugin_entry()).vtable as *const GmQueueVtable) };
    let mut inst = std::ptr::null_mut();
    let mut buf = [0u8; 64];
    let mut err = GmErrorBuf {
        buf: buf.as_mut_ptr(),
        cap: buf.len(),
        len: 0,
    };
    let s = unsafe { (vt.create)(&host.0, std::ptr::null(), 0, &mut inst, &mut err) };
    assert_eq!(s, GmStatus::OK);
    let item = GmQueueItem {
        unique: GmSlice::new(b"u"),
        function: GmSlice::new(b"f"),
        data: GmSlice::new(b"d"),
        priority: 1,
        when: 0,
    };
    let mut add = || unsafe { (vt.add)(inst, &item, &mut err) };

    LEVEL.store(level::WARN, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    assert_eq!(*LOGGED.lock().unwrap(), [(level::WARN, "warned".into())]);
    assert_eq!(
        FORMATTED.load(Ordering::SeqCst),
        0,
        "a dropped record was formatted"
    );

    // The admin `verbose` command raised the host's level: the next add's debug record goes out.
    LEVEL.store(level::DEBUG, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    assert_eq!(FORMATTED.load(Ordering::SeqCst), 1);
    assert_eq!(
        LOGGED.lock().unwrap()[1..],
        [
            (level::WARN, "warned".into()),
            (level::DEBUG, "debug costly".into())
        ]
    );

    // Logging off: nothing at all.
    LEVEL.store(0, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    assert_eq!(LOGGED.lock().unwrap().len(), 3);
    unsafe { (vt.destroy)(inst) };
}
