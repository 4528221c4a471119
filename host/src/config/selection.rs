//! Which plugins run (`-q`, `-r`, gear always) and the options each one gets.
//!
//! Plugin options are accepted only for selected plugins: an option of an installed plugin that is
//! not selected is an error naming the plugin and how to select it. Each selected plugin gets its
//! options by canonical name: the given value, else the default; a switch is `"true"` when given.

use super::args::{plugin_arg_id, split_plugin_arg_id};
use super::catalog::{Catalog, Kind, PluginInfo};
use super::layered::Layered;
use super::ConfigError;

/// The protocol every server runs.
pub const GEAR: &str = "gear";

/// A plugin to load, with its resolved options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPlugin {
    pub kind: Kind,
    /// Canonical name.
    pub name: String,
    /// (canonical option name, value), in the plugin's declaration order.
    pub options: Vec<(String, Vec<u8>)>,
}

/// `-q`'s default: the queue that keeps nothing, which needs no plugin.
pub const BUILTIN_QUEUE: &str = "builtin";

/// Resolves `-q` and `-r` and gathers each selected plugin's options.
pub fn select(
    l: &Layered,
    catalog: &dyn Catalog,
    installed: &[PluginInfo],
) -> Result<(Option<SelectedPlugin>, Vec<SelectedPlugin>), ConfigError> {
    let queue_name = l.string("queue-type").unwrap_or_default();
    let queue = if queue_name.eq_ignore_ascii_case(BUILTIN_QUEUE) {
        None
    } else {
        let name = catalog
            .resolve(Kind::Queue, &queue_name)
            .map_err(ConfigError::Plugin)?;
        Some(name)
    };
    let mut protocols: Vec<String> = vec![catalog
        .resolve(Kind::Protocol, GEAR)
        .map_err(ConfigError::Plugin)?];
    for name in l.many("protocol") {
        let name = catalog
            .resolve(Kind::Protocol, &name)
            .map_err(ConfigError::Plugin)?;
        if !protocols.contains(&name) {
            protocols.push(name);
        }
    }
    check_unselected_options(l, installed, queue.as_deref(), &protocols)?;
    let queue = queue.map(|n| selected(l, installed, Kind::Queue, n));
    let protocols = protocols
        .into_iter()
        .map(|n| selected(l, installed, Kind::Protocol, n))
        .collect();
    Ok((queue, protocols))
}

fn check_unselected_options(
    l: &Layered,
    installed: &[PluginInfo],
    queue: Option<&str>,
    protocols: &[String],
) -> Result<(), ConfigError> {
    for id in l.given_plugin_ids() {
        let Some((plugin, option)) = split_plugin_arg_id(&id) else {
            continue;
        };
        if queue == Some(plugin) || protocols.iter().any(|p| p == plugin) {
            continue;
        }
        let kind = installed
            .iter()
            .find(|p| p.name == plugin)
            .map_or(Kind::Queue, |p| p.kind);
        return Err(ConfigError::Plugin(format!(
            "option '--{option}' belongs to the {plugin} {} plugin, which is not selected (use {} {plugin})",
            kind.as_str(),
            kind.selector()
        )));
    }
    Ok(())
}

fn selected(l: &Layered, installed: &[PluginInfo], kind: Kind, name: String) -> SelectedPlugin {
    let mut options = Vec::new();
    if let Some(info) = installed.iter().find(|p| p.name == name) {
        for opt in info.options.iter().filter(|o| o.alias_of.is_none()) {
            let id = plugin_arg_id(&info.name, &opt.name);
            let value = env_override(&name, &opt.name, l.explicit(&id))
                .or_else(|| l.plugin_value(&id, opt.takes_value));
            if let Some(v) = value {
                options.push((opt.name.clone(), v.into_bytes()));
            }
        }
    }
    SelectedPlugin {
        kind,
        name,
        options,
    }
}

/// The loader's error for a `-q`/`-r` name on the raw command line that is not installed, if
/// any (used to explain an option that only that plugin would have defined).
pub fn missing_plugin(args: &[std::ffi::OsString], catalog: &dyn Catalog) -> Option<ConfigError> {
    let toks: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        let (kind, value) = match t {
            "-q" | "--queue-type" => (Kind::Queue, toks.get(i + 1).cloned()),
            "-r" | "--protocol" => (Kind::Protocol, toks.get(i + 1).cloned()),
            _ => match t.split_once('=') {
                Some(("--queue-type", v)) => (Kind::Queue, Some(v.to_string())),
                Some(("--protocol", v)) => (Kind::Protocol, Some(v.to_string())),
                _ => {
                    i += 1;
                    continue;
                }
            },
        };
        i += 1;
        let Some(name) = value else { continue };
        if kind == Kind::Queue && name.eq_ignore_ascii_case(BUILTIN_QUEUE) {
            continue;
        }
        if let Err(e) = catalog.resolve(kind, &name) {
            return Some(ConfigError::Plugin(e));
        }
    }
    None
}

/// The original's environment override: `GEARMAND_PORT` replaces gear's default port.
fn env_override(plugin: &str, option: &str, explicit: bool) -> Option<String> {
    if plugin != GEAR || option != "port" || explicit {
        return None;
    }
    std::env::var("GEARMAND_PORT")
        .ok()
        .filter(|v| !v.is_empty())
}
