//! Host callbacks that a plugin calls while it is on the stack (replay sink, batch refusals,
//! request sink, writer): each catches a panic of the host's code and keeps it, and the caller
//! re-raises it once the plugin has returned, so no unwind ever crosses plugin frames.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// A panic raised by a host callback while the plugin was on the stack.
pub(super) type HostPanic = Option<Box<dyn Any + Send>>;

/// Runs a host callback's body, keeping its panic (and skipping the body once one was kept: the
/// host's state may be half-updated).
pub(super) fn catch(panic: &mut HostPanic, body: impl FnOnce()) {
    if panic.is_none() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
            *panic = Some(payload);
        }
    }
}

/// Re-raises a kept panic, now that the plugin has returned.
pub(super) fn reraise(panic: HostPanic) {
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
}
