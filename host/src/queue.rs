//! `QueueStore`: the persistent-queue contract as the engine sees it.
//!
//! The engine calls these methods; behind them is either [`Builtin`] (no persistence, the default)
//! or a loaded queue plugin (see `plugin::queue`). Errors are the backend's one-line messages.

/// One background job as it is persisted.
#[derive(Debug, Clone, Copy)]
pub struct StoredJob<'a> {
    pub unique: &'a [u8],
    pub function: &'a [u8],
    pub data: &'a [u8],
    /// 0 high, 1 normal, 2 low.
    pub priority: u32,
    /// Epoch seconds, 0 = now.
    pub when: i64,
}

/// The original's queue module contract.
pub trait QueueStore: Send {
    /// Module name for logs (`builtin`, `sqlite`, ...).
    fn name(&self) -> &str;
    fn add(&mut self, job: &StoredJob<'_>) -> Result<(), String>;
    /// Stores many new jobs as `add` on each in order would; one result per job, in order. A
    /// backend that can store them in fewer round trips overrides it (queue plugins of ABI 1.2).
    fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
        jobs.iter().map(|job| self.add(job)).collect()
    }
    fn flush(&mut self) -> Result<(), String>;
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String>;
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String>;
    /// Jobs survive a restart. Only [`Builtin`] says no (or a plugin that declares so): the
    /// engine then keeps the queue on its own thread and does not time its calls.
    fn durable(&self) -> bool {
        true
    }
    /// `--store-queue-on-shutdown`: jobs are written at shutdown instead of at submit.
    fn store_on_shutdown(&self) -> bool {
        false
    }
    /// Last flush and release, at exit.
    fn shutdown(&mut self) {}
}

/// The default `builtin` queue: keeps nothing, every call succeeds.
#[derive(Debug, Default)]
pub struct Builtin;

impl QueueStore for Builtin {
    fn name(&self) -> &str {
        "builtin"
    }
    fn durable(&self) -> bool {
        false
    }
    fn add(&mut self, _: &StoredJob<'_>) -> Result<(), String> {
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
        _: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        Ok(())
    }
}
