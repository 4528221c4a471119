//! `add_batch` (ABI 1.2) of a plugin that overrides it, driven through the exported vtable as the
//! host drives it: the jobs arrive whole and in order, each refusal reaches the host's callback
//! once (out-of-range and repeated indices are dropped), an `Err` fails the batch with its
//! message, a panic becomes PANIC, and an empty batch may come with a null pointer.

mod common;

use common::{collect_refusal, HOST};
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::*;
use std::ffi::c_void;

/// A job as the plugin saw it: unique, function, data, priority, when.
type Seen = (Vec<u8>, Vec<u8>, Vec<u8>, Priority, i64);

/// Records every batch; refuses jobs whose data is `dup`, fails a batch holding `fail`, panics
/// on `panic`.
struct Batcher {
    batches: Vec<Vec<Seen>>,
}

impl PluginInfo for Batcher {
    const NAME: &'static str = "batcher";
    const VERSION: &'static str = "1.2";
    const DESCRIPTION: &'static str = "add_batch test queue";
}

impl QueuePlugin for Batcher {
    type Error = String;
    fn create(_: &Options) -> Result<Self, String> {
        Ok(Batcher {
            batches: Vec::new(),
        })
    }
    fn add(&mut self, _: &QueueJob<'_>) -> Result<(), String> {
        Err("add must not be called: the batch goes through add_batch".into())
    }
    fn add_batch(
        &mut self,
        jobs: &[QueueJob<'_>],
    ) -> Result<Vec<(usize, Refused<String>)>, String> {
        let seen = jobs.iter().map(|j| {
            let (u, f, d) = (j.unique.to_vec(), j.function.to_vec(), j.data.to_vec());
            (u, f, d, j.priority, j.when)
        });
        self.batches.push(seen.collect());
        let mut refused = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match job.data {
                b"fail" => return Err("the whole batch failed".into()),
                b"panic" => panic!("boom in add_batch"),
                // Reported twice, and once more for an index outside the batch.
                b"dup" => refused.extend([(i, format!("dup at {i}")), (i, "again".into())]),
                _ => {}
            }
        }
        refused.push((jobs.len() + 7, "out of range".into()));
        Ok(refused.into_iter().map(|(i, e)| (i, e.into())).collect())
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

export_queue_plugin!(Batcher);

/// One `add_batch` call: (status, error message, refusals reported).
fn add_batch(
    vt: &GmQueueVtable,
    inst: *mut c_void,
    items: *const GmQueueItem,
    n: usize,
) -> (GmStatus, String, Vec<(usize, String)>) {
    let mut refused: Vec<(usize, String)> = Vec::new();
    let mut bytes = vec![0u8; 128];
    let mut err = GmErrorBuf {
        buf: bytes.as_mut_ptr(),
        cap: bytes.len(),
        len: 0,
    };
    let ctx = &mut refused as *mut _ as *mut c_void;
    let f = vt.add_batch.expect("exported");
    let status = unsafe { f(inst, items, n, collect_refusal, ctx, &mut err) };
    let msg = String::from_utf8_lossy(&bytes[..err.len]).into_owned();
    (status, msg, refused)
}

fn item(unique: &'static [u8], data: &'static [u8], priority: u32, when: i64) -> GmQueueItem {
    GmQueueItem {
        unique: GmSlice::new(unique),
        function: GmSlice::new(b"fn"),
        data: GmSlice::new(data),
        priority,
        when,
    }
}

#[test]
fn an_overridden_add_batch_speaks_the_abi() {
    let header = unsafe { &*gearmand_plugin_entry() };
    assert_eq!(header.vtable_size, std::mem::size_of::<GmQueueVtable>());
    let vt = unsafe { &*(header.vtable as *const GmQueueVtable) };
    let mut inst = std::ptr::null_mut();
    let mut no_err = GmErrorBuf {
        buf: std::ptr::null_mut(),
        cap: 0,
        len: 0,
    };
    let s = unsafe { (vt.create)(&HOST.0, std::ptr::null(), 0, &mut inst, &mut no_err) };
    assert_eq!(s, GmStatus::OK);

    let batch = [
        item(b"a", b"x", 0, 0),
        item(b"b", b"dup", 2, 9),
        item(b"", b"y", 1, 1 << 40),
    ];
    let (s, _, refused) = add_batch(vt, inst, batch.as_ptr(), batch.len());
    assert_eq!(s, GmStatus::OK);
    assert_eq!(
        refused,
        [(1, "dup at 1".to_string())],
        "once, in range only"
    );

    // An empty batch may come with a null pointer.
    let (s, _, refused) = add_batch(vt, inst, std::ptr::null(), 0);
    assert_eq!((s, refused.len()), (GmStatus::OK, 0));

    let (s, msg, refused) = add_batch(vt, inst, [item(b"c", b"fail", 1, 0)].as_ptr(), 1);
    assert_eq!(
        (s, msg.as_str()),
        (GmStatus::ERROR, "the whole batch failed")
    );
    assert!(refused.is_empty());

    let (s, msg, refused) = add_batch(vt, inst, [item(b"d", b"panic", 1, 0)].as_ptr(), 1);
    assert_eq!(
        (s, msg.as_str()),
        (GmStatus::PANIC, "plugin panicked: boom in add_batch")
    );
    assert!(refused.is_empty());

    // The plugin saw every job whole, in order, with priority and time.
    let queue = unsafe { &*(inst as *const Batcher) };
    let first = &queue.batches[0];
    assert_eq!(first.len(), 3);
    assert_eq!(
        first[1],
        (
            b"b".to_vec(),
            b"fn".to_vec(),
            b"dup".to_vec(),
            Priority::Low,
            9
        )
    );
    assert_eq!((first[2].0.len(), first[2].4), (0, 1 << 40));
    assert_eq!(queue.batches.len(), 4);
    unsafe { (vt.destroy)(inst) };
}
