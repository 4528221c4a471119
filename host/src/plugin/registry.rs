//! The `Registry`: every plugin file in the search path, its checked header ([`PluginMeta`]) or
//! the reason it could not be used ([`PluginFailure`]), and lookup by name or alias.
//!
//! Discovery loads each file's header once (the library stays loaded); instances are created
//! only for the plugins the command line asks for.

use super::error::PluginError;
use super::ffi::{self, Vtable};
use super::protocol::Protocol;
use super::queue::PluginQueue;
use super::PluginKind;
use crate::queue::QueueStore;
use std::fmt;
use std::path::{Path, PathBuf};

/// One option a plugin declares (shown in `--help`, accepted on the command line and in the
/// config file when the plugin is loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionMeta {
    /// Long name without dashes: `libsqlite3-db`.
    pub name: String,
    pub help: String,
    /// Passed to the plugin when the option is not given.
    pub default: Option<String>,
    /// Short form: `Some('p')` for `-p`.
    pub short: Option<char>,
    /// False for a switch (passed as `"true"` when given).
    pub takes_value: bool,
    /// This option is another spelling of the named option.
    pub alias_of: Option<String>,
}

/// What a plugin's header says, plus where it was found.
#[derive(Clone)]
pub struct PluginMeta {
    /// Canonical lowercase name.
    pub name: String,
    /// Other accepted names (compared case-insensitively).
    pub aliases: Vec<String>,
    pub kind: PluginKind,
    pub version: String,
    pub description: String,
    pub options: Vec<OptionMeta>,
    pub path: PathBuf,
    vtable: Vtable,
}

impl fmt::Debug for PluginMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginMeta")
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("kind", &self.kind)
            .field("version", &self.version)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PluginMeta {
    /// Whether `name` is this plugin's name or one of its aliases, ignoring case.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Starts a queue plugin with its resolved options (canonical name, value); the result is
    /// the engine's [`QueueStore`]. `store_on_shutdown()` is true when the option
    /// `store-queue-on-shutdown` is given (and not `false`/`0`).
    pub fn create_queue(
        &self,
        opts: &[(String, Vec<u8>)],
    ) -> Result<Box<dyn QueueStore>, PluginError> {
        let Vtable::Queue(vt) = self.vtable else {
            return Err(self.not_a(PluginKind::Queue));
        };
        let instance = ffi::QueueInstance::create(vt, opts).map_err(|m| self.init_failed(m))?;
        Ok(Box::new(PluginQueue::new(
            self.name.clone(),
            instance,
            store_on_shutdown(opts),
        )))
    }

    /// Starts a protocol plugin with its resolved options.
    pub fn create_protocol(&self, opts: &[(String, Vec<u8>)]) -> Result<Protocol, PluginError> {
        let Vtable::Protocol(vt) = self.vtable else {
            return Err(self.not_a(PluginKind::Protocol));
        };
        let instance = ffi::ProtocolInstance::create(vt, opts).map_err(|m| self.init_failed(m))?;
        Ok(Protocol::new(&self.name, instance))
    }

    fn init_failed(&self, message: String) -> PluginError {
        PluginError::InitFailed {
            kind: self.kind,
            name: self.name.clone(),
            message,
        }
    }

    fn not_a(&self, expected: PluginKind) -> PluginError {
        PluginError::WrongKind {
            path: self.path.clone(),
            expected,
            found: self.kind.to_string(),
        }
    }
}

fn store_on_shutdown(opts: &[(String, Vec<u8>)]) -> bool {
    opts.iter().any(|(k, v)| {
        k == "store-queue-on-shutdown" && v.as_slice() != b"false" && v.as_slice() != b"0"
    })
}

/// A plugin file that was found but cannot be used.
#[derive(Debug, Clone)]
pub struct PluginFailure {
    pub kind: PluginKind,
    /// The name its file carries (`libgearmand_queue_<name>.so`).
    pub name: String,
    pub path: PathBuf,
    pub error: PluginError,
}

/// Every plugin in the search path.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    searched: Vec<PathBuf>,
    plugins: Vec<PluginMeta>,
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
                        if !h.name.eq_ignore_ascii_case(&name) {
                            log::warn!("{} declares the name '{}'", path.display(), h.name);
                        }
                        reg.plugins.push(PluginMeta {
                            name: h.name,
                            aliases: h.aliases,
                            kind: h.kind,
                            version: h.version,
                            description: h.description,
                            options: h.options,
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
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        reg
    }

    /// Every usable plugin, sorted by kind then name.
    pub fn installed(&self) -> &[PluginMeta] {
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
    pub fn find(&self, kind: PluginKind, name: &str) -> Result<&PluginMeta, PluginError> {
        if let Some(meta) = self
            .plugins
            .iter()
            .find(|p| p.kind == kind && p.answers_to(name))
        {
            return Ok(meta);
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
    fn names(&self, kind: PluginKind) -> Vec<String> {
        let builtin = (kind == PluginKind::Queue).then(|| "builtin".to_string());
        builtin
            .into_iter()
            .chain(
                self.plugins
                    .iter()
                    .filter(|p| p.kind == kind)
                    .map(|p| p.name.clone()),
            )
            .collect()
    }

    fn has_file(&self, kind: PluginKind, name: &str) -> bool {
        self.plugins
            .iter()
            .any(|p| p.kind == kind && p.name.eq_ignore_ascii_case(name))
            || self
                .failures
                .iter()
                .any(|f| f.kind == kind && f.name.eq_ignore_ascii_case(name))
    }
}

/// The plugin files in `dir`, sorted by file name: (kind, name from the file name, path).
fn plugin_files(dir: &Path) -> Vec<(PluginKind, String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PluginKind, String, PathBuf)> = entries
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
fn parse_file_name(file: &str) -> Option<(PluginKind, &str)> {
    let stem = file.strip_suffix(".so")?;
    [PluginKind::Queue, PluginKind::Protocol]
        .into_iter()
        .find_map(|kind| {
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
            Some((PluginKind::Queue, "sqlite"))
        );
        assert_eq!(
            parse_file_name("libgearmand_protocol_gear.so"),
            Some((PluginKind::Protocol, "gear"))
        );
        assert_eq!(parse_file_name("libgearmand_queue_.so"), None);
        assert_eq!(parse_file_name("libgearmand_queue_x.so.1"), None);
        assert_eq!(parse_file_name("libother.so"), None);
    }

    #[test]
    fn store_on_shutdown_follows_the_option() {
        let opt = |v: &str| vec![("store-queue-on-shutdown".to_string(), v.as_bytes().to_vec())];
        assert!(store_on_shutdown(&opt("true")));
        assert!(!store_on_shutdown(&opt("false")));
        assert!(!store_on_shutdown(&[]));
    }
}
