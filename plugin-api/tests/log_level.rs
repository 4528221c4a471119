//! ABI 1.3: a plugin asks the host's current log level (`GmHostApi::max_level`) and neither
//! formats nor sends a record the host would drop; it asks every time, so a change of the host's
//! verbosity takes effect at once. Its own test binary: the host's level here is process-wide
//! state.

mod common;

use common::{HOST, HOST_LEVEL, LOGGED};
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::*;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How often the plugin formatted its debug argument.
static FORMATTED: AtomicUsize = AtomicUsize::new(0);

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
    type Error = String;
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
        _: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), String> {
        Ok(())
    }
}

export_queue_plugin!(Chatty);

#[test]
fn records_above_the_hosts_level_are_not_formatted_and_a_change_applies_at_once() {
    let vt = unsafe { &*((*gearmand_plugin_entry()).vtable as *const GmQueueVtable) };
    let mut inst = std::ptr::null_mut();
    let mut buf = [0u8; 64];
    let mut err = GmErrorBuf {
        buf: buf.as_mut_ptr(),
        cap: buf.len(),
        len: 0,
    };
    let s = unsafe { (vt.create)(&HOST.0, std::ptr::null(), 0, &mut inst, &mut err) };
    assert_eq!(s, GmStatus::OK);
    let item = GmQueueItem {
        unique: GmSlice::new(b"u"),
        function: GmSlice::new(b"f"),
        data: GmSlice::new(b"d"),
        priority: 1,
        when: 0,
    };
    let mut add = || unsafe { (vt.add)(inst, &item, &mut err) };

    HOST_LEVEL.store(level::WARN, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    let record = |level, text: &str| (level, "chatty".to_string(), text.to_string());
    assert_eq!(*LOGGED.lock().unwrap(), [record(level::WARN, "warned")]);
    assert_eq!(
        FORMATTED.load(Ordering::SeqCst),
        0,
        "a dropped record was formatted"
    );

    // The host's level went up (a host may change it at run time; the SDK asks every time): the
    // next add's debug record goes out.
    HOST_LEVEL.store(level::DEBUG, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    assert_eq!(FORMATTED.load(Ordering::SeqCst), 1);
    assert_eq!(
        LOGGED.lock().unwrap()[1..],
        [
            record(level::WARN, "warned"),
            record(level::DEBUG, "debug costly")
        ]
    );

    // Logging off: nothing at all.
    HOST_LEVEL.store(0, Ordering::SeqCst);
    assert_eq!(add(), GmStatus::OK);
    assert_eq!(LOGGED.lock().unwrap().len(), 3);
    unsafe { (vt.destroy)(inst) };
}
