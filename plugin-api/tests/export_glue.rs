//! The export glue seen from the host's side of the C ABI: a queue plugin exported with
//! `export_queue_plugin!` is driven through its header and vtable exactly as the loader does,
//! checking the header contents, option passing, error truncation, panic capture and log
//! forwarding.

mod common;

use common::{collect_refusal, HOST, LOGGED};
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::*;
use std::ffi::{c_void, CStr};

struct Flaky {
    greeting: String,
}

impl PluginInfo for Flaky {
    const NAME: &'static str = "flaky";
    const ALIASES: &'static [&'static str] = &["libflaky", "Flaky2"];
    const VERSION: &'static str = "9.9";
    const DESCRIPTION: &'static str = "test queue";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value("flaky-greeting", "what to say", Some("hello")).with_short('g'),
        OptionDef::switch("flaky-switch", "a switch"),
        OptionDef::alias("flaky-hi", "flaky-greeting"),
    ];
}

impl QueuePlugin for Flaky {
    type Error = String;
    fn create(options: &Options) -> Result<Self, String> {
        let greeting = options.get("flaky-greeting").ok_or("no greeting")?;
        log::warn!("created with {greeting}");
        Ok(Flaky { greeting })
    }
    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), String> {
        match job.data {
            b"panic" => panic!("boom in add"),
            b"long" => Err("x".repeat(500)),
            _ => Ok(()),
        }
    }
    fn flush(&mut self) -> Result<(), String> {
        Err(format!("flush says {}", self.greeting))
    }
    fn done(&mut self, _: &[u8], _: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), String> {
        Ok(sink(&QueueJob {
            unique: b"u",
            function: b"f",
            data: b"d",
            priority: Priority::Low,
            when: 7,
        })?)
    }
}

export_queue_plugin!(Flaky);

fn cstr(p: *const std::ffi::c_char) -> &'static str {
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

/// Calls `f` with a small error buffer; returns the status and the message written.
fn call(cap: usize, f: impl FnOnce(*mut GmErrorBuf) -> GmStatus) -> (GmStatus, String) {
    let mut bytes = vec![0u8; cap];
    let mut err = GmErrorBuf {
        buf: bytes.as_mut_ptr(),
        cap,
        len: 0,
    };
    let status = f(&mut err);
    (
        status,
        String::from_utf8_lossy(&bytes[..err.len]).into_owned(),
    )
}

#[test]
fn the_glue_speaks_the_abi() {
    let header = unsafe { &*gearmand_plugin_entry() };
    assert_eq!(gearmand_plugin_entry(), header as *const _, "built once");
    assert_eq!(
        (header.magic, header.abi_major, header.abi_minor),
        (PLUGIN_MAGIC, 1, 4)
    );
    assert_eq!(header.kind, GmPluginKind::QUEUE);
    assert_eq!((cstr(header.name), cstr(header.version)), ("flaky", "9.9"));
    let aliases = unsafe { std::slice::from_raw_parts(header.aliases, header.n_aliases) };
    assert_eq!(
        aliases.iter().map(|&a| cstr(a)).collect::<Vec<_>>(),
        ["libflaky", "Flaky2"]
    );
    let options = unsafe { std::slice::from_raw_parts(header.options, header.n_options) };
    assert_eq!(cstr(options[0].name), "flaky-greeting");
    assert_eq!(cstr(options[0].default_value), "hello");
    assert_eq!(
        (options[0].short_name as u8, options[0].takes_value),
        (b'g', 1)
    );
    assert_eq!(
        (options[1].takes_value, options[1].default_value.is_null()),
        (0, true)
    );
    assert_eq!(cstr(options[2].alias_of), "flaky-greeting");
    assert_eq!(header.vtable_size, std::mem::size_of::<GmQueueVtable>());
    let vt = unsafe { &*(header.vtable as *const GmQueueVtable) };

    // create: a failure carries the plugin's message.
    let mut inst = std::ptr::null_mut();
    let (s, msg) = call(64, |e| unsafe {
        (vt.create)(&HOST.0, std::ptr::null(), 0, &mut inst, e)
    });
    assert_eq!((s, msg.as_str()), (GmStatus::ERROR, "no greeting"));

    // create with an option; its log::warn! reaches the host tagged "flaky".
    let name = c"flaky-greeting";
    let opt = GmOptionValue {
        name: name.as_ptr(),
        value: GmSlice::new(b"bonjour"),
    };
    let (s, _) = call(64, |e| unsafe {
        (vt.create)(&HOST.0, &opt, 1, &mut inst, e)
    });
    assert_eq!(s, GmStatus::OK);
    assert!(!inst.is_null());
    // ABI 1.4: a plugin that declares nothing gets the SDK's default capabilities.
    let caps = vt.capabilities.expect("the glue exports capabilities");
    assert_eq!(unsafe { caps(inst) }, queue_caps::DURABLE);
    assert!(LOGGED.lock().unwrap().contains(&(
        level::WARN,
        "flaky".into(),
        "created with bonjour".into()
    )));

    let item = |data: &'static [u8]| GmQueueItem {
        unique: GmSlice::new(b"u"),
        function: GmSlice::new(b"f"),
        data: GmSlice::new(data),
        priority: 1,
        when: 0,
    };
    let (s, _) = call(64, |e| unsafe { (vt.add)(inst, &item(b"ok"), e) });
    assert_eq!(s, GmStatus::OK);
    // A panic becomes PANIC with its message; the instance stays usable.
    let (s, msg) = call(64, |e| unsafe { (vt.add)(inst, &item(b"panic"), e) });
    assert_eq!(
        (s, msg.as_str()),
        (GmStatus::PANIC, "plugin panicked: boom in add")
    );
    // Long messages are truncated to the buffer.
    let (s, msg) = call(16, |e| unsafe { (vt.add)(inst, &item(b"long"), e) });
    assert_eq!((s, msg), (GmStatus::ERROR, "x".repeat(16)));
    // add_batch (ABI 1.2), the SDK's default: `add` per job, each refusal reported on its own
    // (a panic included), the batch itself OK.
    let batch = [item(b"ok"), item(b"panic"), item(b"long"), item(b"ok")];
    let add_batch = vt.add_batch.expect("the SDK always exports add_batch");
    let mut refused: Vec<(usize, String)> = Vec::new();
    let ctx = &mut refused as *mut _ as *mut c_void;
    let (s, _) = call(64, |e| unsafe {
        add_batch(inst, batch.as_ptr(), batch.len(), collect_refusal, ctx, e)
    });
    assert_eq!(s, GmStatus::OK);
    assert_eq!(
        refused,
        [
            (1, "plugin panicked: boom in add".to_string()),
            (2, "x".repeat(500))
        ]
    );
    let (s, msg) = call(64, |e| unsafe { (vt.flush)(inst, e) });
    assert_eq!((s, msg.as_str()), (GmStatus::ERROR, "flush says bonjour"));

    // replay: the host's callback sees the job; its refusal stops the replay.
    unsafe extern "C" fn refuse(ctx: *mut c_void, item: *const GmQueueItem) -> GmStatus {
        let seen = &mut *(ctx as *mut Vec<(Vec<u8>, u32, i64)>);
        let item = &*item;
        seen.push((item.data.as_bytes().to_vec(), item.priority, item.when));
        GmStatus::ERROR
    }
    let mut seen: Vec<(Vec<u8>, u32, i64)> = Vec::new();
    let ctx = &mut seen as *mut _ as *mut c_void;
    let (s, msg) = call(128, |e| unsafe { (vt.replay)(inst, refuse, ctx, e) });
    assert_eq!(s, GmStatus::ERROR);
    assert!(msg.contains("stopped the replay"), "{msg}");
    assert_eq!(seen, vec![(b"d".to_vec(), 2, 7)]);

    unsafe { (vt.destroy)(inst) };
}
