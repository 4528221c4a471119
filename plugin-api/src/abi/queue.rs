//! The queue plugin contract of the ABI (`-q`): one stored job, the vtable, and the calls in it.
//! The rules and the thread tags are in the parent module's header.

use super::{GmCreateFn, GmDestroyFn, GmErrorBuf, GmSlice, GmStatus};
use std::ffi::c_void;

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
    /// [`ABI_MINOR`](super::ABI_MINOR)). The [`queue_caps`] of this instance, asked once after `create`; an
    /// instance may answer from its options (sqlite's `--store-queue-on-shutdown`).
    pub capabilities: Option<GmQueueCapsFn>,
}
