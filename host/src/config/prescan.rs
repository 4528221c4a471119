//! Phase one of parsing: what must be known before plugins are discovered.
//!
//! The full clap command includes every installed plugin's options, and which plugins are
//! installed depends on `--plugin-dir`, which may come from the command line or from the config
//! file. So the command line is first scanned, without clap, for `--config-file` and
//! `--plugin-dir`; the config file is read; and the plugin directory is settled (command line
//! first). Everything else waits for phase two.

use super::args::DEFAULT_CONFIG_FILE;
use super::file::ConfigFile;
use super::ConfigError;
use std::ffi::OsString;
use std::path::PathBuf;

/// The result of phase one.
#[derive(Debug, Clone)]
pub struct Prescan {
    /// `--plugin-dir` from the command line, else from the config file.
    pub plugin_dir: Option<PathBuf>,
    /// The config file, if one was read.
    pub file: Option<ConfigFile>,
}

impl Prescan {
    /// Scans `args` (program name first) and reads the config file.
    pub fn run(args: &[OsString]) -> Result<Prescan, ConfigError> {
        let toks: Vec<String> = args
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let explicit = find_value(&toks, "--config-file", None);
        let path = explicit
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        let file = ConfigFile::load(&path, explicit.is_some())?;
        let plugin_dir = find_value(&toks, "--plugin-dir", None)
            .map(PathBuf::from)
            .or_else(|| file.as_ref().and_then(ConfigFile::plugin_dir));
        Ok(Prescan { plugin_dir, file })
    }
}

/// The value of the option `long` (`--name value` or `--name=value`) or of its short form
/// (`-x value` or `-xvalue`), first occurrence. Scanning stops at `--`.
pub fn find_value(toks: &[String], long: &str, short: Option<char>) -> Option<String> {
    let mut it = toks.iter();
    while let Some(tok) = it.next() {
        if tok == "--" {
            return None;
        }
        if tok == long {
            return it.next().cloned();
        }
        if let Some(v) = tok.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_owned());
        }
        let Some(c) = short else { continue };
        let mut chars = tok.chars();
        if chars.next() == Some('-') && chars.next() == Some(c) {
            let rest = chars.as_str();
            return if rest.is_empty() {
                it.next().cloned()
            } else {
                Some(rest.to_owned())
            };
        }
    }
    None
}
