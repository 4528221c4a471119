//! Loading protocol and queue plugins (`libgearmand_protocol_<name>.so`,
//! `libgearmand_queue_<name>.so`) through the C ABI of `gearmand-plugin-api`.
//!
//! Reading order:
//! - [`search_path`]: where plugins are looked for (`--plugin-dir`, the build-time directory,
//!   then the executable's directory).
//! - [`Registry`] (registry.rs): finds every plugin file, reads and checks its header, and
//!   answers `-q NAME` / `-r NAME` lookups; a [`LoadedPlugin`] is a checked header
//!   ([`crate::config::PluginInfo`], the one description of a plugin, which the command line
//!   reads through the [`crate::config::Catalog`] the registry implements) and its functions.
//! - [`LoadedPlugin::create_queue`] gives a [`crate::queue::QueueStore`] (queue.rs);
//!   [`LoadedPlugin::create_protocol`] gives a [`ProtocolInstance`], the runtime's
//!   [`crate::runtime::wire::WireProtocol`], that opens a [`ConnInstance`] (its
//!   [`crate::runtime::wire::WireCodec`]) per connection.
//! - [`PluginError`] (error.rs): every failure, one line each.
//! - ffi/: all the `unsafe`, commented: `mod.rs` opens libraries and checks headers, `queue.rs`
//!   and `instances.rs` (protocols) call through the vtables, `callback.rs` keeps the host
//!   callbacks' panics off plugin frames.
//!
//! Plugins are never unloaded: they stay mapped until the process exits.

mod error;
mod ffi;
mod queue;
mod registry;

pub use error::PluginError;
pub use ffi::{ConnInstance, ProtocolInstance};
pub use ffi::{PROTOCOL_VTABLE_V1_0, PROTOCOL_VTABLE_V1_1};
pub use ffi::{QUEUE_VTABLE_V1_0, QUEUE_VTABLE_V1_2, QUEUE_VTABLE_V1_4};
pub use queue::PluginQueue;
pub use registry::{LoadedPlugin, PluginFailure, Registry};

use crate::config::Kind;
use std::path::{Path, PathBuf};

/// Plugin file names: the one thing about a kind that only the loader needs.
impl Kind {
    /// The file name prefix of this kind: `libgearmand_queue_` / `libgearmand_protocol_`.
    pub fn file_prefix(self) -> &'static str {
        match self {
            Kind::Queue => "libgearmand_queue_",
            Kind::Protocol => "libgearmand_protocol_",
        }
    }

    /// The file name of plugin `name` of this kind.
    pub fn file_name(self, name: &str) -> String {
        format!("{}{name}.so", self.file_prefix())
    }
}

/// The directories searched for plugins, in order: `plugin_dir` (`--plugin-dir`), the directory
/// fixed at build time (env `GEARMAND_PLUGIN_DIR` when building), then the directory of the
/// running executable (so `target/release/gearmand` finds its sibling plugins). Duplicates are
/// dropped.
pub fn search_path(plugin_dir: Option<&Path>) -> Vec<PathBuf> {
    let build_time = option_env!("GEARMAND_PLUGIN_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in [plugin_dir.map(Path::to_path_buf), build_time, exe_dir]
        .into_iter()
        .flatten()
    {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}
