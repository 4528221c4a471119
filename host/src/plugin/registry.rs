//! The `Registry`: every plugin file in the search path, its checked header ([`LoadedPlugin`])
//! or the reason it could not be used ([`PluginFailure`]), and lookup by name or alias. It is
//! the command line's [`Catalog`].
//!
//! Discovery loads each file's header once (the library stays loaded); instances are created
//! only for the plugins the command line asks for.

use super::error::PluginError;
use super::ffi::{self, ProtocolInstance, Vtable};
use super::queue::PluginQueue;
use crate::config::{Catalog, Kind, PluginInfo};
use crate::queue::QueueStore;
use std::fmt;
use std::path::{Path, PathBuf};

/// A plugin file whose header checked out: what the header says, where the file is, and its
/// functions (the library stays loaded).
#[derive(Clone)]
pub struct LoadedPlugin {
    pub info: PluginInfo,
    pub path: PathBuf,
    vtable: Vtable,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Starts a queue plugin with its resolved options (canonical name, value); the result is
    /// the engine's [`QueueStore`], with the capabilities the instance declares.
    pub fn create_queue(
        &self,
        opts: &[(String, Vec<u8>)],
    ) -> Result<Box<dyn QueueStore>, PluginError> {
        let Vtable::Queue(vt) = self.vtable else {
            return Err(self.not_a(Kind::Queue));
        };
        let instance = ffi::QueueInstance::create(vt, opts).map_err(|m| self.init_failed(m))?;
        Ok(Box::new(PluginQueue::new(
            self.info.name.clone(),
            instance,
            opts,
        )))
    }

    /// Starts a protocol plugin with its resolved options.
    pub fn create_protocol(
        &self,
        opts: &[(String, Vec<u8>)],
    ) -> Result<ProtocolInstance, PluginError> {
        let Vtable::Protocol(vt) = self.vtable else {
            return Err(self.not_a(Kind::Protocol));
        };
        ProtocolInstance::create(&self.info.name, vt, opts).map_err(|m| self.init_failed(m))
    }

    fn init_failed(&self, message: String) -> PluginError {
        PluginError::InitFailed {
            kind: self.info.kind,
            name: self.info.name.clone(),
            message,
        }
    }

    fn not_a(&self, expected: Kind) -> PluginError {
        PluginError::WrongKind {
            path: self.path.clone(),
            expected,
            found: self.info.kind.to_string(),
        }
    }
}

/// A plugin file that was found but cannot be used.
#[derive(Debug, Clone)]
pub struct PluginFailure {
    pub kind: Kind,
    /// The name its file carries (`libgearmand_queue_<name>.so`).
    pub name: String,
    pub path: PathBuf,
    pub error: PluginError,
}

/// Every plugin in the search path.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    searched: Vec<PathBuf>,
    plugins: Vec<LoadedPlugin>,
    failures: Vec<PluginFailure>,
}

impl Registry {
    /// Looks in `dirs` (in order; the first file of a name wins) for plugin files and reads
    /// the header of each, remembering per-file failures. Missing directories are skipped.
    pub fn discover(dirs: &[PathBuf]) -> Registry {
        let mut reg = Registry {
            searched: dirs.to_vec(),
            ..Registry::default()
        };
        for dir in dirs {
            for (kind, name, path) in plugin_files(dir) {
                if reg.has_file(kind, &name) {
                    continue;
                }
                match ffi::load(&path, kind) {
                    Ok(h) => {
                        if !h.info.name.eq_ignore_ascii_case(&name) {
                            log::warn!("{} declares the name '{}'", path.display(), h.info.name);
                        }
                        reg.plugins.push(LoadedPlugin {
                            info: h.info,
                            path,
                            vtable: h.vtable,
                        });
                    }
                    Err(error) => {
                        log::debug!("skipping {}: {error}", path.display());
                        reg.failures.push(PluginFailure {
                            kind,
                            name,
                            path,
                            error,
                        });
                    }
                }
            }
        }
        reg.plugins
            .sort_by(|a, b| (a.info.kind, &a.info.name).cmp(&(b.info.kind, &b.info.name)));
        reg
    }

    /// Every usable plugin, sorted by kind then name.
    pub fn installed(&self) -> &[LoadedPlugin] {
        &self.plugins
    }

    /// Plugin files that were found but cannot be used.
    pub fn failures(&self) -> &[PluginFailure] {
        &self.failures
    }

    /// The directories that were searched, in order.
    pub fn searched(&self) -> &[PathBuf] {
        &self.searched
    }

    /// The plugin of `kind` answering to `name` (case-insensitive, aliases included). If no
    /// usable plugin does but a file of that name failed to load, that file's error.
    pub fn find(&self, kind: Kind, name: &str) -> Result<&LoadedPlugin, PluginError> {
        if let Some(plugin) = self
            .plugins
            .iter()
            .find(|p| p.info.kind == kind && p.info.answers_to(name))
        {
            return Ok(plugin);
        }
        if let Some(failed) = self
            .failures
            .iter()
            .find(|f| f.kind == kind && f.name.eq_ignore_ascii_case(name))
        {
            return Err(failed.error.clone());
        }
        Err(PluginError::NotFound {
            kind,
            name: name.to_string(),
            searched: self.searched.clone(),
            installed: self.names(kind),
        })
    }

    /// Names a user may give for `kind`; `builtin` is listed for queues because the host always
    /// has it.
    fn names(&self, kind: Kind) -> Vec<String> {
        let builtin = (kind == Kind::Queue).then(|| "builtin".to_string());
        builtin
            .into_iter()
            .chain(
                self.plugins
                    .iter()
                    .filter(|p| p.info.kind == kind)
                    .map(|p| p.info.name.clone()),
            )
            .collect()
    }

    fn has_file(&self, kind: Kind, name: &str) -> bool {
        self.plugins
            .iter()
            .any(|p| p.info.kind == kind && p.info.name.eq_ignore_ascii_case(name))
            || self
                .failures
                .iter()
                .any(|f| f.kind == kind && f.name.eq_ignore_ascii_case(name))
    }
}

impl Catalog for Registry {
    fn installed(&self) -> Vec<PluginInfo> {
        self.plugins.iter().map(|p| p.info.clone()).collect()
    }

    fn resolve(&self, kind: Kind, name: &str) -> Result<String, String> {
        self.find(kind, name)
            .map(|p| p.info.name.clone())
            .map_err(|e| e.to_string())
    }
}

/// The plugin files in `dir`, sorted by file name: (kind, name from the file name, path).
fn plugin_files(dir: &Path) -> Vec<(Kind, String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(Kind, String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let (kind, name) = parse_file_name(&file)?;
            Some((kind, name.to_string(), e.path()))
        })
        .collect();
    files.sort_by(|a, b| a.2.cmp(&b.2));
    files
}

/// `libgearmand_queue_sqlite.so` → (Queue, "sqlite").
fn parse_file_name(file: &str) -> Option<(Kind, &str)> {
    let stem = file.strip_suffix(".so")?;
    [Kind::Queue, Kind::Protocol].into_iter().find_map(|kind| {
        let name = stem.strip_prefix(kind.file_prefix())?;
        (!name.is_empty()).then_some((kind, name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_kind_and_name() {
        assert_eq!(
            parse_file_name("libgearmand_queue_sqlite.so"),
            Some((Kind::Queue, "sqlite"))
        );
        assert_eq!(
            parse_file_name("libgearmand_protocol_gear.so"),
            Some((Kind::Protocol, "gear"))
        );
        assert_eq!(parse_file_name("libgearmand_queue_.so"), None);
        assert_eq!(parse_file_name("libgearmand_queue_x.so.1"), None);
        assert_eq!(parse_file_name("libother.so"), None);
    }
}
