//! What the command line needs to know about plugins, independent of how they are loaded.
//!
//! The parser sees installed plugins through the [`Catalog`] trait: their names, kinds and options
//! (for `--help` and for accepting plugin options), and a way to resolve a `-q`/`-r` name to a
//! plugin's canonical name (or the loader's one-line error). The plugin registry implements it;
//! the tests implement it over a fixed list, so parsing is testable without `.so` files.
//!
//! [`Kind`], [`PluginInfo`] and [`OptionInfo`] are the one description of a plugin: the loader
//! (`crate::plugin`) fills them from a plugin's header and depends on this module, not the other
//! way round, so that config builds and tests without loading anything.

use std::fmt;

/// A plugin's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A persistent queue (`-q`).
    Queue,
    /// A wire protocol (`-r`; `gear` is always loaded).
    Protocol,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Queue => "queue",
            Kind::Protocol => "protocol",
        }
    }

    /// The option that selects a plugin of this kind.
    pub fn selector(self) -> &'static str {
        match self {
            Kind::Queue => "-q",
            Kind::Protocol => "-r",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option a plugin accepts (shown in `--help`, accepted on the command line and in the
/// config file when the plugin is loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionInfo {
    /// Long name without dashes: `libsqlite3-db`.
    pub name: String,
    pub help: String,
    /// Passed to the plugin when the option is not given.
    pub default: Option<String>,
    /// Short form: `Some('p')` for `-p`.
    pub short: Option<char>,
    /// False for a switch (passed to the plugin as `"true"` when given).
    pub takes_value: bool,
    /// This option is another spelling of the named option of the same plugin.
    pub alias_of: Option<String>,
}

/// An installed plugin as the command line sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Canonical lowercase name (`sqlite`, `gear`).
    pub name: String,
    /// Other accepted spellings (`libsqlite3`), compared case-insensitively.
    pub aliases: Vec<String>,
    pub kind: Kind,
    pub version: String,
    pub description: String,
    pub options: Vec<OptionInfo>,
}

impl PluginInfo {
    /// True if `name` is this plugin's name or one of its aliases, ignoring case.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// The option called `name` (canonical or alias), resolved to its canonical entry.
    pub fn option(&self, name: &str) -> Option<&OptionInfo> {
        let opt = self.options.iter().find(|o| o.name == name)?;
        match &opt.alias_of {
            Some(target) => self.options.iter().find(|o| &o.name == target),
            None => Some(opt),
        }
    }
}

/// The installed plugins.
pub trait Catalog {
    /// Every plugin found in the search path, for `--help` and option parsing.
    fn installed(&self) -> Vec<PluginInfo>;
    /// Resolves a `-q`/`-r` name (case-insensitive, aliases allowed) to the canonical name, or
    /// returns the loader's one-line error (unknown plugin, not a plugin, ABI mismatch).
    fn resolve(&self, kind: Kind, name: &str) -> Result<String, String>;
}

/// Options of the original gearmand's modules, by the canonical plugin that owns them here.
/// Used only to say which plugin an option needs when that plugin is not installed.
const KNOWN_PLUGIN_OPTIONS: &[(&str, &[&str])] = &[
    ("gear", &["port"]),
    ("http", &["http-port"]),
    (
        "sqlite",
        &[
            "libsqlite3-db",
            "libsqlite3-table",
            "store-queue-on-shutdown",
        ],
    ),
    ("postgres", &["libpq-conninfo", "libpq-table"]),
    (
        "mysql",
        &[
            "mysql-host",
            "mysql-port",
            "mysql-user",
            "mysql-password",
            "mysql-db",
            "mysql-table",
            "libdrizzle-host",
            "libdrizzle-port",
            "libdrizzle-uds",
            "libdrizzle-user",
            "libdrizzle-password",
            "libdrizzle-db",
            "libdrizzle-table",
            "libdrizzle-mysql",
        ],
    ),
    (
        "memcached",
        &["libmemcached-servers", "libmemcached-prefix"],
    ),
    (
        "redis",
        &[
            "redis-server",
            "redis-port",
            "redis-password",
            "redis-prefix",
        ],
    ),
    (
        "tokyocabinet",
        &["libtokyocabinet-file", "libtokyocabinet-optimize"],
    ),
];

/// The plugin that provides the original's option `--name` (without dashes), if any.
pub fn known_option_owner(name: &str) -> Option<&'static str> {
    KNOWN_PLUGIN_OPTIONS
        .iter()
        .find(|(_, opts)| opts.contains(&name))
        .map(|(plugin, _)| *plugin)
}

/// The kind of a plugin named in [`KNOWN_PLUGIN_OPTIONS`].
pub fn known_plugin_kind(plugin: &str) -> Kind {
    match plugin {
        "gear" | "http" => Kind::Protocol,
        _ => Kind::Queue,
    }
}
