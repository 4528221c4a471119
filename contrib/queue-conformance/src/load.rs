//! Loading the plugin under test exactly as the server does, through the host's own
//! [`Registry`], and resolving `--option name=value` pairs the way the server resolves its command
//! line (aliases to canonical names, defaults for options not given, `true` for a bare switch).
//!
//! The registry loads every plugin in a directory, so the file is linked alone into a private
//! directory first: only the plugin under test is opened, and its file name is checked by the same
//! rule the server applies (`libgearmand_queue_<name>.so`).

use gearmand::config::Kind;
use gearmand::plugin::{LoadedPlugin, Registry};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why the plugin could not be loaded or its options resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The path does not name a readable file.
    Missing(PathBuf, String),
    /// The file name does not follow `libgearmand_queue_<name>.so`.
    BadFileName(String),
    /// The private directory for the link could not be prepared.
    Io(String),
    /// The host's loader refused the file; its message.
    Refused(String),
    /// An `--option` the plugin does not declare.
    UnknownOption { name: String, known: Vec<String> },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Missing(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            LoadError::BadFileName(n) => write!(
                f,
                "{n}: a queue plugin file must be named libgearmand_queue_<name>.so (the server finds plugins by that name)"
            ),
            LoadError::Io(e) => write!(f, "cannot prepare a directory to load from: {e}"),
            LoadError::Refused(e) => write!(f, "the host's loader refused it: {e}"),
            LoadError::UnknownOption { name, known } => write!(
                f,
                "unknown option '{name}' (the plugin declares: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        }
    }
}

/// Loads the queue plugin at `path` through the host's registry and returns its checked header.
pub fn load(path: &Path) -> Result<LoadedPlugin, LoadError> {
    let file = path
        .canonicalize()
        .map_err(|e| LoadError::Missing(path.to_path_buf(), e.to_string()))?;
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let name = file_name
        .strip_prefix(Kind::Queue.file_prefix())
        .and_then(|n| n.strip_suffix(".so"))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LoadError::BadFileName(file_name.clone()))?
        .to_string();
    let dir = private_dir().map_err(|e| LoadError::Io(e.to_string()))?;
    let link = dir.join(&file_name);
    let linked = std::os::unix::fs::symlink(&file, &link);
    let registry = linked
        .as_ref()
        .map(|_| Registry::discover(std::slice::from_ref(&dir)));
    // The library stays mapped once loaded; the link and its directory are no longer needed.
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_dir(&dir);
    let registry = registry.map_err(|e| LoadError::Io(e.to_string()))?;
    registry
        .find(Kind::Queue, &name)
        .cloned()
        .map_err(|e| LoadError::Refused(e.to_string()))
}

/// A fresh, empty directory of our own under the system temp dir.
fn private_dir() -> std::io::Result<PathBuf> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gearmand-conformance-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Resolves `(name, value)` pairs as the server does: a name may carry leading dashes and may be
/// an alias (mapped to its canonical option); every option that is not given but has a default
/// gets its default; an empty value of a switch means `true`.
pub fn resolve_options(
    meta: &LoadedPlugin,
    given: &[(String, String)],
) -> Result<Vec<(String, Vec<u8>)>, LoadError> {
    let mut resolved: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in given {
        let name = name.trim_start_matches('-');
        let Some(opt) = meta.info.options.iter().find(|o| o.name == name) else {
            return Err(LoadError::UnknownOption {
                name: name.to_string(),
                known: meta.info.options.iter().map(|o| o.name.clone()).collect(),
            });
        };
        let canonical = opt.alias_of.clone().unwrap_or_else(|| opt.name.clone());
        let is_switch = meta
            .info
            .options
            .iter()
            .any(|o| o.name == canonical && !o.takes_value);
        let value = match (is_switch, value.is_empty()) {
            (true, true) => "true".to_string(),
            _ => value.clone(),
        };
        resolved.retain(|(k, _)| *k != canonical);
        resolved.push((canonical, value.into_bytes()));
    }
    for opt in meta.info.options.iter().filter(|o| o.alias_of.is_none()) {
        if let Some(default) = &opt.default {
            if !resolved.iter().any(|(k, _)| *k == opt.name) {
                resolved.push((opt.name.clone(), default.clone().into_bytes()));
            }
        }
    }
    Ok(resolved)
}
