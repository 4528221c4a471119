//! `PluginError`: every way finding, loading or starting a plugin can fail, each with a one-line
//! message that tells the user what to do (which plugins exist, where we looked, which versions
//! disagree, what the plugin itself said).

use crate::config::Kind;
use std::fmt;
use std::path::PathBuf;

/// Why a plugin could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// No plugin of that kind answers to that name.
    NotFound {
        kind: Kind,
        name: String,
        /// The directories searched, in order.
        searched: Vec<PathBuf>,
        /// Names of the plugins of that kind that are available.
        installed: Vec<String>,
    },
    /// The file is not a gearmand plugin: not a shared object, no `gearmand_plugin_entry`,
    /// or a bad magic value.
    NotAPlugin { path: PathBuf, why: String },
    /// Built for another ABI: a different major, or a newer minor than the host's.
    AbiMismatch {
        path: PathBuf,
        plugin: (u16, u16),
        host: (u16, u16),
    },
    /// The header declares another kind than the file name says.
    WrongKind {
        path: PathBuf,
        expected: Kind,
        found: String,
    },
    /// The vtable is missing or smaller than the ABI 1.0 vtable.
    BadVtable {
        path: PathBuf,
        size: usize,
        needed: usize,
    },
    /// The plugin's `create` failed; `message` is the plugin's own.
    InitFailed {
        kind: Kind,
        name: String,
        message: String,
    },
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::NotFound {
                kind,
                name,
                searched,
                installed,
            } => {
                let installed = if installed.is_empty() {
                    "none".to_string()
                } else {
                    installed.join(", ")
                };
                let searched: Vec<String> =
                    searched.iter().map(|d| d.display().to_string()).collect();
                write!(
                    f,
                    "unknown {kind} plugin '{name}' (installed {kind} plugins: {installed}; looked in: {})",
                    searched.join(", ")
                )
            }
            PluginError::NotAPlugin { path, why } => {
                write!(f, "{} is not a gearmand plugin: {why}", path.display())
            }
            PluginError::AbiMismatch { path, plugin, host } => write!(
                f,
                "{} was built for plugin ABI {}.{} but this gearmand speaks ABI {}.{}",
                path.display(),
                plugin.0,
                plugin.1,
                host.0,
                host.1
            ),
            PluginError::WrongKind {
                path,
                expected,
                found,
            } => write!(
                f,
                "{} is named as a {expected} plugin but declares itself a {found} plugin",
                path.display()
            ),
            PluginError::BadVtable { path, size, needed } => write!(
                f,
                "{} has a {size}-byte vtable, smaller than the {needed} bytes of ABI 1.0",
                path.display()
            ),
            PluginError::InitFailed {
                kind,
                name,
                message,
            } => write!(f, "{kind} plugin '{name}' failed to start: {message}"),
        }
    }
}

impl std::error::Error for PluginError {}
