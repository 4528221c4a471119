//! The command line over the config file: for every option, the command line's value if it was
//! given there, else the file's, else the default. Also turns clap's multi-line errors into the
//! one-line messages gearmand prints.

use super::args::split_plugin_arg_id;
use super::catalog::{known_option_owner, known_plugin_kind};
use super::ConfigError;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::ArgMatches;

/// Parsed command line and config file.
pub struct Layered {
    cli: ArgMatches,
    file: Option<ArgMatches>,
}

fn given(m: &ArgMatches, id: &str) -> bool {
    // try_contains_id first: value_source panics on an id the command does not define.
    matches!(m.try_contains_id(id), Ok(true))
        && matches!(m.value_source(id), Some(ValueSource::CommandLine))
}

impl Layered {
    pub fn new(cli: ArgMatches, file: Option<ArgMatches>) -> Layered {
        Layered { cli, file }
    }

    /// The matches that decide `id`: the command line if it gave it, else the file if it did,
    /// else the command line (which holds the default).
    fn source(&self, id: &str) -> &ArgMatches {
        self.source_among(&[id])
    }

    /// Like [`Layered::source`] for a setting with several spellings (`--verbose` and `-v`):
    /// the first source that gave any of `ids` decides them all.
    fn source_among(&self, ids: &[&str]) -> &ArgMatches {
        if ids.iter().any(|id| given(&self.cli, id)) {
            return &self.cli;
        }
        match &self.file {
            Some(f) if ids.iter().any(|id| given(f, id)) => f,
            _ => &self.cli,
        }
    }

    /// True if the command line or the file gave `id`.
    pub fn explicit(&self, id: &str) -> bool {
        given(self.source(id), id)
    }

    pub fn one<T: Clone + Send + Sync + 'static>(&self, id: &str) -> Option<T> {
        self.one_among(&[id], id)
    }

    /// `id`, one of the spellings `ids` of one setting, from the source that gave any of them:
    /// so the command line's `-v` replaces the file's `verbose = "INFO"`.
    pub fn one_among<T: Clone + Send + Sync + 'static>(&self, ids: &[&str], id: &str) -> Option<T> {
        // try_: an id that was left out of the command (a clashing plugin option) reads as unset.
        self.source_among(ids)
            .try_get_one::<T>(id)
            .ok()
            .flatten()
            .cloned()
    }

    pub fn string(&self, id: &str) -> Option<String> {
        self.one::<String>(id)
    }

    pub fn flag(&self, id: &str) -> bool {
        self.one::<bool>(id).unwrap_or(false)
    }

    /// All values of a repeatable option, from one source (the command line replaces the file).
    pub fn many(&self, id: &str) -> Vec<String> {
        self.source(id)
            .try_get_many::<String>(id)
            .ok()
            .flatten()
            .map(|v| v.cloned().collect())
            .unwrap_or_default()
    }

    /// Plugin option ids (`plugin:<p>:<o>`) that the command line or file gave.
    pub fn given_plugin_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let sources = std::iter::once(&self.cli).chain(self.file.iter());
        for m in sources {
            for id in m.ids() {
                let id = id.as_str();
                if split_plugin_arg_id(id).is_some() && given(m, id) && !ids.iter().any(|i| i == id)
                {
                    ids.push(id.to_owned());
                }
            }
        }
        ids
    }

    /// The value of a plugin option as the plugin gets it (`"true"` for a given switch).
    pub fn plugin_value(&self, id: &str, takes_value: bool) -> Option<String> {
        if takes_value {
            self.string(id)
        } else {
            self.flag(id).then(|| "true".to_owned())
        }
    }
}

/// One line for a clap error; `prefix` names the config file for errors found there.
pub fn clap_error(e: clap::Error, prefix: &str) -> ConfigError {
    if e.kind() == ErrorKind::UnknownArgument {
        let arg = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s.clone(),
            _ => String::new(),
        };
        return ConfigError::Usage(format!("{prefix}{}", unknown_option(&arg)));
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    ConfigError::Usage(format!("{prefix}{first}"))
}

/// The message for an option nobody defines: it may belong to a plugin that is not installed.
fn unknown_option(arg: &str) -> String {
    let name = match arg.strip_prefix("--") {
        Some(long) => long.split('=').next().unwrap_or(long),
        None if arg.starts_with("-p") => "port",
        None => "",
    };
    match known_option_owner(name) {
        Some(plugin) => {
            let kind = known_plugin_kind(plugin);
            format!(
                "option '--{name}' needs the {plugin} {} plugin ({} {plugin}), which is not installed",
                kind.as_str(),
                kind.selector()
            )
        }
        None => format!("unrecognised option '{arg}'"),
    }
}
