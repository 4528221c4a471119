//! `PluginQueue`: the engine's [`QueueStore`] over a loaded queue plugin.

use super::ffi::QueueInstance;
use crate::queue::{QueueStore, StoredJob};

/// A queue plugin instance as the engine sees it.
pub struct PluginQueue {
    name: String,
    /// `None` once shut down.
    instance: Option<QueueInstance>,
    store_on_shutdown: bool,
}

impl PluginQueue {
    pub(super) fn new(name: String, instance: QueueInstance, store_on_shutdown: bool) -> Self {
        PluginQueue {
            name,
            instance: Some(instance),
            store_on_shutdown,
        }
    }

    fn live(&mut self) -> Result<&mut QueueInstance, String> {
        self.instance
            .as_mut()
            .ok_or_else(|| format!("queue plugin {} is shut down", self.name))
    }
}

impl QueueStore for PluginQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn add(&mut self, job: &StoredJob<'_>) -> Result<(), String> {
        self.live()?.add(job)
    }

    fn add_batch(&mut self, jobs: &[StoredJob<'_>]) -> Vec<Result<(), String>> {
        match self.live() {
            Ok(instance) => instance.add_batch(jobs),
            Err(e) => vec![Err(e); jobs.len()],
        }
    }

    fn flush(&mut self) -> Result<(), String> {
        self.live()?.flush()
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), String> {
        self.live()?.done(unique, function)
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&StoredJob<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.live()?.replay(sink)
    }

    fn store_on_shutdown(&self) -> bool {
        self.store_on_shutdown
    }

    /// Last flush and release; later calls report that the queue is shut down.
    fn shutdown(&mut self) {
        if let Some(instance) = self.instance.take() {
            instance.destroy();
        }
    }
}
