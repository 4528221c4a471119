//! `PluginQueue`: the engine's [`QueueStore`] over a loaded queue plugin, with the capabilities
//! the instance declares (ABI 1.4) or, for an older plugin, the ones the host always assumed.

use super::ffi::QueueInstance;
use crate::queue::{QueueStore, StoredJob};
use gearmand_plugin_api::QueueCapabilities;

/// A queue plugin instance as the engine sees it.
pub struct PluginQueue {
    name: String,
    /// `None` once shut down.
    instance: Option<QueueInstance>,
    capabilities: QueueCapabilities,
}

impl PluginQueue {
    /// `opts` are the instance's resolved options, read only for a plugin that declares no
    /// capabilities.
    pub(super) fn new(name: String, instance: QueueInstance, opts: &[(String, Vec<u8>)]) -> Self {
        let capabilities = instance
            .capabilities()
            .unwrap_or_else(|| assumed_capabilities(opts));
        PluginQueue {
            name,
            instance: Some(instance),
            capabilities,
        }
    }

    fn live(&mut self) -> Result<&mut QueueInstance, String> {
        self.instance
            .as_mut()
            .ok_or_else(|| format!("queue plugin {} is shut down", self.name))
    }
}

/// What the host assumes of a queue plugin that declares no capabilities (built for ABI 1.0–1.3,
/// or a null entry): durable, and storing at shutdown when the option `store-queue-on-shutdown`
/// is given (and not `false`/`0`), as C gearmand's sqlite queue does.
fn assumed_capabilities(opts: &[(String, Vec<u8>)]) -> QueueCapabilities {
    let store_on_shutdown = opts.iter().any(|(k, v)| {
        k == "store-queue-on-shutdown" && v.as_slice() != b"false" && v.as_slice() != b"0"
    });
    QueueCapabilities {
        durable: true,
        store_on_shutdown,
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

    fn durable(&self) -> bool {
        self.capabilities.durable
    }

    fn store_on_shutdown(&self) -> bool {
        self.capabilities.store_on_shutdown
    }

    /// Last flush and release; later calls report that the queue is shut down.
    fn shutdown(&mut self) {
        if let Some(instance) = self.instance.take() {
            instance.destroy();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_plugin_stores_on_shutdown_when_the_option_says_so() {
        let opt = |v: &str| vec![("store-queue-on-shutdown".to_string(), v.as_bytes().to_vec())];
        assert!(assumed_capabilities(&opt("true")).store_on_shutdown);
        assert!(!assumed_capabilities(&opt("false")).store_on_shutdown);
        assert!(!assumed_capabilities(&[]).store_on_shutdown);
        assert!(assumed_capabilities(&[]).durable);
    }
}
