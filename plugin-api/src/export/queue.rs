//! The queue half of the export glue: `extern "C"` shims from [`GmQueueVtable`] to
//! [`QueuePlugin`]. Every shim runs the trait method under [`guarded`] (panics caught, errors
//! written to the host's buffer).

use super::{guarded, guarded_or, hand_over, install_logger, instance_mut, read_options};
use super::{Failure, HostFault};
use crate::abi::*;
use crate::sdk::*;
use std::ffi::c_void;

pub(super) fn queue_vtable<T: QueuePlugin>() -> GmQueueVtable {
    GmQueueVtable {
        create: q_create::<T>,
        add: q_add::<T>,
        flush: q_flush::<T>,
        done: q_done::<T>,
        replay: q_replay::<T>,
        destroy: q_destroy::<T>,
        add_batch: Some(q_add_batch::<T>),
        capabilities: Some(q_capabilities::<T>),
    }
}

unsafe extern "C" fn q_create<T: QueuePlugin>(
    host: *const GmHostApi,
    options: *const GmOptionValue,
    n_options: usize,
    instance: *mut *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        install_logger::<T>(host)?;
        let queue = T::create(&read_options(options, n_options)).map_err(Failure::Plugin)?;
        Ok(hand_over(instance, queue)?)
    })
}

/// Borrows a [`GmQueueItem`] as a [`QueueJob`].
///
/// # Safety
/// The item's slices are valid for `'a`.
unsafe fn queue_job<'a>(item: &GmQueueItem) -> QueueJob<'a> {
    QueueJob {
        unique: item.unique.as_bytes(),
        function: item.function.as_bytes(),
        data: item.data.as_bytes(),
        priority: Priority::from_u32(item.priority),
        when: item.when,
    }
}

unsafe extern "C" fn q_add<T: QueuePlugin>(
    instance: *mut c_void,
    item: *const GmQueueItem,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        let queue = instance_mut::<T>(instance)?;
        let item = item.as_ref().ok_or(HostFault::NullJob)?;
        queue.add(&queue_job(item)).map_err(Failure::Plugin)
    })
}

/// ABI 1.2: the batch as [`QueueJob`]s for [`QueuePlugin::add_batch`]; each job it refuses is
/// reported to the host (a refusal naming an index outside the batch is dropped). The report is
/// made only after the plugin returned, so a panic in the plugin reports nothing.
unsafe extern "C" fn q_add_batch<T: QueuePlugin>(
    instance: *mut c_void,
    items: *const GmQueueItem,
    n: usize,
    report: GmAddFailFn,
    ctx: *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        let queue = instance_mut::<T>(instance)?;
        if items.is_null() && n > 0 {
            return Err(HostFault::NullBatch.into());
        }
        let items: &[GmQueueItem] = match n {
            0 => &[],
            // SAFETY: the host passes `n` valid items, borrowed for the call.
            _ => std::slice::from_raw_parts(items, n),
        };
        let jobs: Vec<QueueJob<'_>> = items.iter().map(|item| queue_job(item)).collect();
        let mut reported = vec![false; n];
        for (index, why) in queue.add_batch(&jobs).map_err(Failure::Plugin)? {
            if index < n && !std::mem::replace(&mut reported[index], true) {
                let why = why.to_string();
                // SAFETY: `report` and `ctx` come from the host for the duration of this call;
                // the message is borrowed for the callback only.
                report(ctx, index, GmSlice::new(why.as_bytes()));
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn q_flush<T: QueuePlugin>(
    instance: *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        instance_mut::<T>(instance)?
            .flush()
            .map_err(Failure::Plugin)
    })
}

unsafe extern "C" fn q_done<T: QueuePlugin>(
    instance: *mut c_void,
    unique: GmSlice,
    function: GmSlice,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        instance_mut::<T>(instance)?
            .done(unique.as_bytes(), function.as_bytes())
            .map_err(Failure::Plugin)
    })
}

unsafe extern "C" fn q_replay<T: QueuePlugin>(
    instance: *mut c_void,
    callback: GmReplayFn,
    ctx: *mut c_void,
    err: *mut GmErrorBuf,
) -> GmStatus {
    guarded(err, || -> Result<(), Failure<T::Error>> {
        let queue = instance_mut::<T>(instance)?;
        let replayed = queue.replay(&mut |job: &QueueJob<'_>| {
            let item = GmQueueItem {
                unique: GmSlice::new(job.unique),
                function: GmSlice::new(job.function),
                data: GmSlice::new(job.data),
                priority: job.priority as u32,
                when: job.when,
            };
            // SAFETY: `callback` and `ctx` come from the host for the duration of this call; the
            // item borrows `job`, which outlives the call.
            match callback(ctx, &item) {
                GmStatus::OK => Ok(()),
                status => Err(ReplayStopped::new(status.0)),
            }
        });
        replayed.map_err(Failure::Plugin)
    })
}

/// ABI 1.4: the instance's [`QueuePlugin::capabilities`] as bits; a panic or a null instance
/// answers the default ones (durable, storing at submit).
unsafe extern "C" fn q_capabilities<T: QueuePlugin>(instance: *mut c_void) -> u32 {
    let fallback = QueueCapabilities::default().bits();
    guarded_or(fallback, || match (instance as *const T).as_ref() {
        Some(queue) => queue.capabilities().bits(),
        None => fallback,
    })
}

unsafe extern "C" fn q_destroy<T: QueuePlugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: the host calls destroy once, with a pointer `q_create` produced.
    let mut queue = Box::from_raw(instance as *mut T);
    guarded_or((), move || {
        if let Err(e) = queue.flush() {
            log::error!("last flush failed: {e}");
        }
        queue.shutdown();
        drop(queue);
    });
}
