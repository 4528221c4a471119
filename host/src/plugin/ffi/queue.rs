//! A queue plugin instance behind a safe type: each call goes through the vtable with borrowed
//! arguments, and the host callbacks it passes (replay sink, batch refusals) keep their panics
//! for re-raising once the plugin has returned (callback.rs).

use super::callback::{catch, reraise, HostPanic};
use super::{create, with_error, QueueFns};
use crate::frame::Frame;
use crate::queue::StoredJob;
use gearmand_plugin_api::abi::*;
use gearmand_plugin_api::QueueCapabilities;
use std::ffi::c_void;
use std::ptr::null_mut;

/// A queue plugin instance. The ABI lets one thread at a time call it, which `&mut self` ensures.
pub struct QueueInstance {
    vt: &'static QueueFns,
    ptr: *mut c_void,
}

// SAFETY: the queue contract allows calls from any thread, one at a time.
unsafe impl Send for QueueInstance {}

impl QueueInstance {
    pub fn create(vt: &'static QueueFns, opts: &[(String, Vec<u8>)]) -> Result<Self, String> {
        Ok(QueueInstance {
            vt,
            ptr: create(vt.create, opts)?,
        })
    }

    /// What the instance declares (ABI 1.4); `None` for an older plugin or a null entry.
    pub fn capabilities(&self) -> Option<QueueCapabilities> {
        let capabilities = self.vt.capabilities?;
        // SAFETY: `ptr` is a live instance; the call borrows nothing else.
        let bits = unsafe { capabilities(self.ptr) };
        Some(QueueCapabilities::from_bits(bits))
    }

    pub fn add(&mut self, job: &StoredJob<'_>) -> Result<(), String> {
        let item = queue_item(job);
        // SAFETY: `ptr` is a live instance; `item` borrows `job` for the call.
        with_error(|err| unsafe { (self.vt.add)(self.ptr, &item, err) })
    }

    /// Stores new jobs, one result per job in order: one `add_batch` call when the plugin has
    /// it (ABI 1.2), else `add` per job. A failed batch refuses every job with its message.
    pub fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
        let Some(add_batch) = self.vt.add_batch.filter(|_| !jobs.is_empty()) else {
            return jobs.iter().map(|job| self.add(job)).collect();
        };
        let items: Vec<GmQueueItem> = jobs.iter().map(queue_item).collect();
        let mut batch = BatchCtx {
            results: vec![Ok(()); jobs.len()],
            panic: None,
        };
        let ctx = &mut batch as *mut BatchCtx as *mut c_void;
        // SAFETY: `ptr` is a live instance; `items` borrow `jobs` and `ctx` borrows `batch`,
        // both for the call only, and `refuse_job` touches `batch` only during it.
        let status = with_error(|err| unsafe {
            add_batch(self.ptr, items.as_ptr(), items.len(), refuse_job, ctx, err)
        });
        reraise(batch.panic);
        match status {
            Ok(()) => batch.results,
            Err(e) => vec![Err(e); jobs.len()],
        }
    }

    pub fn flush(&mut self) -> Result<(), String> {
        // SAFETY: `ptr` is a live instance.
        with_error(|err| unsafe { (self.vt.flush)(self.ptr, err) })
    }

    pub fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String> {
        let (u, f) = (GmSlice::new(unique), GmSlice::new(function));
        // SAFETY: `ptr` is a live instance; the slices borrow the arguments for the call.
        with_error(|err| unsafe { (self.vt.done)(self.ptr, u, f, err) })
    }

    pub fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut ctx = ReplayCtx {
            sink,
            error: None,
            panic: None,
        };
        let ctx_ptr = &mut ctx as *mut ReplayCtx<'_> as *mut c_void;
        // SAFETY: `ctx` outlives the call and is only touched by `replay_job` during it.
        let result =
            with_error(|err| unsafe { (self.vt.replay)(self.ptr, replay_job, ctx_ptr, err) });
        reraise(ctx.panic);
        // The host's own reason for stopping beats the plugin's report of it.
        result.map_err(|plugin_msg| ctx.error.unwrap_or(plugin_msg))
    }

    /// Last flush and release (the ABI's `destroy`); the instance is gone afterwards.
    pub fn destroy(mut self) {
        let ptr = std::mem::replace(&mut self.ptr, null_mut());
        // SAFETY: `ptr` is live and, now taken out of `self`, destroyed exactly once.
        unsafe { (self.vt.destroy)(ptr) }
    }
}

impl Drop for QueueInstance {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: not yet destroyed (destroy() nulls the pointer).
            unsafe { (self.vt.destroy)(self.ptr) }
        }
    }
}

fn queue_item(job: &StoredJob<'_>) -> GmQueueItem {
    GmQueueItem {
        unique: GmSlice::new(job.unique),
        function: GmSlice::new(job.function),
        data: GmSlice::new(job.data),
        priority: job.priority,
        when: job.when,
    }
}

/// What `add_batch`'s callback context points to: one result per job, and a kept panic.
struct BatchCtx {
    results: Vec<Result<(), String>>,
    panic: HostPanic,
}

/// `GmAddFailFn`: the plugin refused job `index` of the batch.
unsafe extern "C" fn refuse_job(ctx: *mut c_void, index: usize, message: GmSlice) {
    // SAFETY: `ctx` is the `BatchCtx` of the running `add_batch`, exclusively ours during the
    // call; `message` is valid for this call.
    let ctx = &mut *(ctx as *mut BatchCtx);
    let results = &mut ctx.results;
    catch(&mut ctx.panic, || {
        if let Some(slot) = results.get_mut(index) {
            let why = String::from_utf8_lossy(message.as_bytes()).into_owned();
            *slot = Err(match why.is_empty() {
                true => "the queue plugin refused the job without a message".into(),
                false => why,
            });
        }
    });
}

struct ReplayCtx<'a> {
    sink: &'a mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    error: Option<String>,
    panic: HostPanic,
}

/// `GmReplayFn`: one stored job from the plugin into the host's sink.
unsafe extern "C" fn replay_job(ctx: *mut c_void, item: *const GmQueueItem) -> GmStatus {
    // SAFETY: `ctx` is the `ReplayCtx` passed to `replay`, alive for the whole call.
    let ctx = &mut *(ctx as *mut ReplayCtx<'_>);
    // SAFETY: the plugin passes a valid item whose slices live during this call.
    let Some(item) = item.as_ref() else {
        return GmStatus::ERROR;
    };
    let job = StoredJob {
        unique: item.unique.as_bytes(),
        function: item.function.as_bytes(),
        data: item.data.as_bytes(),
        priority: item.priority,
        when: item.when,
    };
    // A row no request could have created (a hand-made one) would overflow the job's frames.
    let size = job.unique.len() + job.function.len() + job.data.len();
    if !Frame::holds(size) {
        ctx.error = Some(format!(
            "a stored job of {size} bytes is over the {MAX_REQUEST_BYTES}-byte request limit"
        ));
        return GmStatus::ERROR;
    }
    let mut result = Ok(());
    let sink = &mut ctx.sink;
    catch(&mut ctx.panic, || result = (sink)(&job));
    match (result, &ctx.panic) {
        (Ok(()), None) => GmStatus::OK,
        (Ok(()), Some(_)) => GmStatus::ERROR,
        (Err(e), _) => {
            ctx.error = Some(e);
            GmStatus::ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Untouched;
    use super::*;

    #[test]
    fn a_stored_job_over_the_limit_stops_the_replay() {
        let mut replayed = 0;
        let mut sink = |_: &StoredJob<'_>| -> Result<(), String> {
            replayed += 1;
            Ok(())
        };
        let mut ctx = ReplayCtx {
            sink: &mut sink,
            error: None,
            panic: None,
        };
        let big = Untouched::new(MAX_REQUEST_BYTES);
        let item = |data: GmSlice| GmQueueItem {
            unique: GmSlice::new(b"u"),
            function: GmSlice::new(b""),
            data,
            priority: priority::NORMAL,
            when: 0,
        };
        let ctx_ptr = &mut ctx as *mut ReplayCtx<'_> as *mut c_void;
        // SAFETY: `ctx` and the items outlive each call.
        let small = unsafe { replay_job(ctx_ptr, &item(GmSlice::new(b"d"))) };
        let over = unsafe { replay_job(ctx_ptr, &item(big.0)) };
        assert_eq!((small, over), (GmStatus::OK, GmStatus::ERROR));
        let error = ctx.error.unwrap();
        assert!(error.contains("request limit"), "{error}");
        assert_eq!(replayed, 1);
    }
}
