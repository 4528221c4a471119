//! The configuration file (`--config-file`, default `/etc/gearmand.conf`).
//!
//! Two formats are accepted and told apart by content:
//! - TOML: top-level keys are long option names (`port = 4730`, `threads = 2`,
//!   `protocol = ["http"]`, `daemon = true`), and a table per plugin whose keys are that plugin's
//!   options, with or without the plugin's prefix (`[sqlite] db = "/q.db"` is `--libsqlite3-db`).
//! - The original's: whitespace-separated command-line tokens (`--port=4792 -L 127.0.0.1`);
//!   tokens that are neither an option nor an option's value are ignored, as the original does.
//!
//! A file that parses as TOML and has no key starting with `-` is TOML; anything else with a
//! token starting with `-` is the original's format; the rest is reported as a TOML error.
//! Either way the file becomes a list of command-line tokens, parsed by the same clap command as
//! the real command line, which then wins over it.

use super::args::consumes_next;
use super::catalog::PluginInfo;
use super::ConfigError;
use clap::Command;
use std::path::{Path, PathBuf};

/// A configuration file, read but not yet interpreted.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Tokens(Vec<String>),
    Toml(toml::Table),
}

impl ConfigFile {
    /// Reads `path`. A missing or unreadable file is an error only when it was named explicitly.
    pub fn load(path: &Path, explicit: bool) -> Result<Option<ConfigFile>, ConfigError> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) if !explicit => return Ok(None),
            Err(e) => {
                return Err(ConfigError::File(format!(
                    "Could not open configuration file {}: {e}",
                    path.display()
                )))
            }
        };
        Self::from_text(path, &text).map(Some)
    }

    /// Interprets file contents (see the module comment for how the format is chosen).
    pub fn from_text(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let body = match text.parse::<toml::Table>() {
            Ok(t) if !t.keys().any(|k| k.starts_with('-')) => Body::Toml(t),
            Ok(_) => Body::Tokens(split_tokens(text)),
            Err(_) if split_tokens(text).iter().any(|t| t.starts_with('-')) => {
                Body::Tokens(split_tokens(text))
            }
            Err(e) => {
                // toml's messages can span lines; ours are one line.
                let msg = e.message().lines().collect::<Vec<_>>().join("; ");
                return Err(ConfigError::File(format!("{}: {msg}", path.display())));
            }
        };
        Ok(ConfigFile {
            path: path.to_owned(),
            body,
        })
    }

    /// `plugin-dir` as the file gives it, needed before plugins are discovered.
    pub fn plugin_dir(&self) -> Option<PathBuf> {
        match &self.body {
            Body::Toml(t) => t.get("plugin-dir")?.as_str().map(PathBuf::from),
            Body::Tokens(toks) => {
                super::prescan::find_value(toks, "--plugin-dir", None).map(PathBuf::from)
            }
        }
    }

    /// The file as command-line tokens for `cmd` (no program name).
    pub fn to_args(
        &self,
        cmd: &Command,
        installed: &[PluginInfo],
    ) -> Result<Vec<String>, ConfigError> {
        match &self.body {
            Body::Tokens(toks) => Ok(drop_strays(cmd, toks)),
            Body::Toml(t) => toml_to_args(t, installed)
                .map_err(|m| ConfigError::File(format!("{}: {m}", self.path.display()))),
        }
    }
}

/// The original splits on space, `\n` and `\r`; tabs are accepted too.
fn split_tokens(text: &str) -> Vec<String> {
    text.split([' ', '\n', '\r', '\t'])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Keeps options and their values, drops every other token. Unknown options are kept so that
/// clap reports them.
fn drop_strays(cmd: &Command, toks: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        i += 1;
        if !tok.starts_with('-') || tok == "-" {
            continue;
        }
        out.push(tok.clone());
        if consumes_next(cmd, tok) == Some(true) && i < toks.len() {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

fn toml_to_args(table: &toml::Table, installed: &[PluginInfo]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(t) => plugin_table(key, t, installed, &mut out)?,
            v => push_value(key, v, &mut out)?,
        }
    }
    Ok(out)
}

fn plugin_table(
    name: &str,
    table: &toml::Table,
    installed: &[PluginInfo],
    out: &mut Vec<String>,
) -> Result<(), String> {
    let plugin = installed
        .iter()
        .find(|p| p.answers_to(name))
        .ok_or_else(|| format!("[{name}] is not an installed plugin"))?;
    for (key, value) in table {
        let option = plugin_option_for_key(plugin, key)
            .ok_or_else(|| format!("plugin {} has no option '{key}'", plugin.name))?;
        push_value(&option, value, out)?;
    }
    Ok(())
}

/// `key` inside `[plugin]`: the option of that name, or the one option named `<prefix>-<key>`.
fn plugin_option_for_key(plugin: &PluginInfo, key: &str) -> Option<String> {
    if plugin.options.iter().any(|o| o.name == key) {
        return Some(key.to_owned());
    }
    let suffix = format!("-{key}");
    let mut matches = plugin
        .options
        .iter()
        .filter(|o| o.alias_of.is_none() && o.name.ends_with(&suffix));
    match (matches.next(), matches.next()) {
        (Some(o), None) => Some(o.name.clone()),
        _ => None,
    }
}

fn push_value(key: &str, value: &toml::Value, out: &mut Vec<String>) -> Result<(), String> {
    let flag = format!("--{key}");
    match value {
        toml::Value::Boolean(true) => out.push(flag),
        toml::Value::Boolean(false) => {}
        toml::Value::String(s) => out.extend([flag, s.clone()]),
        toml::Value::Integer(n) => out.extend([flag, n.to_string()]),
        toml::Value::Float(f) => out.extend([flag, f.to_string()]),
        toml::Value::Array(items) => {
            for item in items {
                if item.is_array() || item.is_table() {
                    return Err(format!("'{key}' must be a list of plain values"));
                }
                push_value(key, item, out)?;
            }
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => {
            return Err(format!("'{key}' has an unsupported value"))
        }
    }
    Ok(())
}
