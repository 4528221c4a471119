//! Loading protocol and queue plugins (`libgearmand_protocol_<name>.so`,
//! `libgearmand_queue_<name>.so`) through the C ABI of `gearmand-plugin-api`.
//!
//! Reading order:
//! - [`search_path`]: where plugins are looked for (`--plugin-dir`, the build-time directory,
//!   then the executable's directory).
//! - [`Registry`] (registry.rs): finds every plugin file, reads and checks its header, and
//!   answers `-q NAME` / `-r NAME` lookups; [`PluginMeta`] is what a header says.
//! - [`PluginMeta::create_queue`] gives a [`crate::queue::QueueStore`] (queue.rs);
//!   [`PluginMeta::create_protocol`] gives a [`Protocol`] that opens a [`Codec`] per connection
//!   (protocol.rs).
//! - [`PluginError`] (error.rs): every failure, one line each.
//! - ffi/: all the `unsafe`, commented: `mod.rs` opens libraries and checks headers,
//!   `instances.rs` calls through the vtables.
//!
//! Plugins are never unloaded: they stay mapped until the process exits.

mod error;
mod ffi;
mod protocol;
mod queue;
mod registry;

pub use error::PluginError;
pub use ffi::{PROTOCOL_VTABLE_V1_0, PROTOCOL_VTABLE_V1_1, QUEUE_VTABLE_V1_0, QUEUE_VTABLE_V1_2};
pub use gearmand_plugin_api::Decoded;
pub use protocol::{Codec, Protocol, Sink};
pub use queue::PluginQueue;
pub use registry::{OptionMeta, PluginFailure, PluginMeta, Registry};

use gearmand_plugin_api::abi::GmPluginKind;
use std::fmt;
use std::path::{Path, PathBuf};

/// The two kinds of plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    /// A persistent queue backend (`-q`).
    Queue,
    /// A wire protocol (`-r`; `gear` is always loaded).
    Protocol,
}

impl PluginKind {
    /// The file name prefix of this kind: `libgearmand_queue_` / `libgearmand_protocol_`.
    pub fn file_prefix(self) -> &'static str {
        match self {
            PluginKind::Queue => "libgearmand_queue_",
            PluginKind::Protocol => "libgearmand_protocol_",
        }
    }

    /// The file name of plugin `name` of this kind.
    pub fn file_name(self, name: &str) -> String {
        format!("{}{name}.so", self.file_prefix())
    }

    fn from_abi(kind: GmPluginKind) -> Option<PluginKind> {
        match kind {
            GmPluginKind::QUEUE => Some(PluginKind::Queue),
            GmPluginKind::PROTOCOL => Some(PluginKind::Protocol),
            _ => None,
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Queue => "queue",
            PluginKind::Protocol => "protocol",
        })
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
