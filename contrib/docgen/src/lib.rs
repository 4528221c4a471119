//! gearmand-docgen: the man page `gearmand.8` and the bash, zsh and fish completions, generated
//! from the very `clap::Command` the server parses its command line with, so they cannot drift
//! from `gearmand --help`.
//!
//! The server's command depends on the installed plugins (each adds its options under its own
//! heading), so [`command_for`] discovers the plugins of one directory with the server's own
//! [`Registry`] and builds [`gearmand::config::args::command`] from them. Packagers point it at a
//! directory holding every plugin they ship; the man page then documents every option any
//! package can add. [`write_all`] renders the files.

use clap::{Command, ValueHint};
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;
use gearmand::config::{args, Catalog, PluginInfo};
use gearmand::plugin::Registry;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why the documentation could not be generated.
#[derive(Debug)]
pub enum DocgenError {
    /// The plugin directory holds no gear protocol plugin: the page would lack `--port`.
    NoGearPlugin(PathBuf),
    /// Writing an output file failed.
    Write(PathBuf, io::Error),
}

impl fmt::Display for DocgenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocgenError::NoGearPlugin(dir) => write!(
                f,
                "no gear protocol plugin (libgearmand_protocol_gear.so) in {}",
                dir.display()
            ),
            DocgenError::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for DocgenError {}

/// The plugins found in `plugin_dir` (only there: not the server's other search directories).
pub fn plugins_in(plugin_dir: &Path) -> Result<Vec<PluginInfo>, DocgenError> {
    let registry = Registry::discover(&[plugin_dir.to_path_buf()]);
    for failure in registry.failures() {
        eprintln!(
            "gearmand-docgen: skipping {}: {}",
            failure.path.display(),
            failure.error
        );
    }
    let installed = Catalog::installed(&registry);
    if !installed.iter().any(|p| p.name == "gear") {
        return Err(DocgenError::NoGearPlugin(plugin_dir.to_path_buf()));
    }
    Ok(installed)
}

/// The server's command for `plugins`, with what only documentation needs: the version, a long
/// description, and value hints so shells complete file and directory names.
pub fn command_for(plugins: &[PluginInfo]) -> Command {
    let hint = |cmd: Command, id: &str, h: ValueHint| cmd.mut_arg(id, |a| a.value_hint(h));
    let mut cmd = args::command(plugins)
        .version(gearmand::config::VERSION)
        .long_about(DESCRIPTION);
    cmd = plain_plugin_headings(cmd, plugins);
    for id in ["config-file", "pid-file", "log-file"] {
        cmd = hint(cmd, id, ValueHint::FilePath);
    }
    cmd = hint(cmd, "plugin-dir", ValueHint::DirPath);
    cmd = hint(cmd, "user", ValueHint::Username);
    aliases_in_help(cmd)
}

/// `--help` shows an option's other spellings (`[alias: --libdrizzle-host]`) but the man page
/// would not; so they are added to the option's text.
fn aliases_in_help(mut cmd: Command) -> Command {
    let with_aliases: Vec<(String, Vec<String>)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let aliases: Vec<String> = a
                .get_visible_aliases()?
                .iter()
                .map(|s| format!("--{s}"))
                .collect();
            Some((a.get_id().to_string(), aliases))
        })
        .collect();
    for (id, aliases) in with_aliases {
        cmd = cmd.mut_arg(&id, |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            a.help(format!("{help} Also spelled {}.", aliases.join(", ")))
        });
    }
    cmd
}

/// clap_mangen upper-cases section titles, which would turn the help heading's `-r http` into
/// `-R HTTP`; so plugin options get a heading with nothing case-sensitive in it, and how to
/// select each plugin is told in the PLUGINS section ([`plugin_list`]).
fn plain_plugin_headings(mut cmd: Command, plugins: &[PluginInfo]) -> Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let Some((name, _)) = args::split_plugin_arg_id(&id) else {
            continue;
        };
        let Some(p) = plugins.iter().find(|p| p.name == name) else {
            continue;
        };
        let heading = format!("{} {} plugin", p.name, p.kind.as_str());
        cmd = cmd.mut_arg(id, |a| a.help_heading(heading));
    }
    cmd
}

/// One line per plugin: how to select it, its other names, what it is, and its package.
fn plugin_list(plugins: &[PluginInfo]) -> Vec<String> {
    plugins
        .iter()
        .map(|p| {
            let also = match p.aliases.is_empty() {
                true => String::new(),
                false => format!(" (also {})", p.aliases.join(", ")),
            };
            let package = match p.name.as_str() {
                "gear" => "gearmand".to_owned(),
                name => format!("gearmand-plugin-{name}"),
            };
            format!(
                "{} {}{also}: {}; package {package}.",
                p.kind.selector(),
                p.name,
                p.description
            )
        })
        .collect()
}

const DESCRIPTION: &str = "gearmand is a Gearman job server: clients submit jobs, workers \
register the functions they can run, and the server queues jobs and hands them to workers. \
It speaks the Gear binary protocol and the admin text protocol on one port (4730 by default), \
optionally HTTP (-r http), and can keep background jobs in a persistent queue (-q) so they \
survive a restart. Protocols and queues are plugins loaded from the plugin directory; the \
options of a plugin are accepted only when its plugin is installed, and only when it is \
selected.";

/// Extra man page sections, after the options: what clap knows nothing about.
const EXTRA_SECTIONS: &[(&str, &str)] = &[
    (
        "CONFIGURATION FILE",
        "The file named by --config-file is read after the command line, whose values win. \
It is TOML: top-level keys are long option names (threads = 2, listen = \"127.0.0.1\"), \
switches are booleans, repeatable options are lists, and a table per plugin holds that \
plugin's options ([sqlite] libsqlite3-db = \"/var/lib/gearmand/queue.sqlite3\"). A file of \
command-line tokens, as C gearmand reads, is accepted too. Packages install a commented \
example as /etc/gearmand/gearmand.toml.",
    ),
    (
        "PLUGINS",
        "Plugins are searched for in --plugin-dir, then in the directory fixed when gearmand \
was built (/usr/lib/gearmand in the Debian packages), then beside the executable. Queue \
plugins are files named libgearmand_queue_NAME.so, protocol plugins \
libgearmand_protocol_NAME.so. Asking for a plugin that is not installed (-q sqlite without \
the gearmand-plugin-sqlite package) fails with a message listing the installed ones.",
    ),
    (
        "SIGNALS",
        "SIGTERM and SIGINT stop the server at once. SIGUSR1 stops listening and exits once no \
job is left. SIGHUP reopens the log file (for logrotate).",
    ),
    (
        "ENVIRONMENT",
        "NOTIFY_SOCKET: when set (by systemd for Type=notify services), gearmand sends READY=1 \
once its queue is replayed and it accepts connections, and STOPPING=1 when it shuts down. \
GEARMAND_PORT: the gear port when --port is not given.",
    ),
    ("SEE ALSO", "gearman(1), gearadmin(1), systemd.service(5)"),
];

/// The man page: clap's sections, the list of plugins, then `EXTRA_SECTIONS`.
pub fn man_page(cmd: &Command, plugins: &[PluginInfo]) -> Vec<u8> {
    let man = Man::new(cmd.clone())
        .section("8")
        .manual("System Administration")
        .source(format!("gearmand {}", gearmand::config::VERSION));
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    man.render(&mut out).expect("render into memory");
    let mut roff = Roff::new();
    roff.control("SH", ["INSTALLED PLUGINS"]).text([roman(
        "The plugins this page documents, each with the option that selects it:",
    )]);
    for line in plugin_list(plugins) {
        roff.control("IP", ["\\(bu", "2"]).text([roman(line)]);
    }
    for (title, text) in EXTRA_SECTIONS {
        roff.control("SH", [*title]).text([roman(*text)]);
    }
    out.extend_from_slice(roff.to_roff().as_bytes());
    out
}

/// The completion script for `shell`.
pub fn completion(cmd: &Command, shell: Shell) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "gearmand", &mut out);
    out
}

/// Where each generated file goes under the output directory, and what it holds.
pub enum Output {
    Man,
    Completion(Shell),
}

/// Every file docgen writes, relative to the output directory.
pub const OUTPUTS: &[(&str, Output)] = &[
    ("man/gearmand.8", Output::Man),
    ("bash/gearmand", Output::Completion(Shell::Bash)),
    ("zsh/_gearmand", Output::Completion(Shell::Zsh)),
    ("fish/gearmand.fish", Output::Completion(Shell::Fish)),
];

/// Writes every file of [`OUTPUTS`] for `plugins` under `out`; returns their paths.
pub fn write_all(plugins: &[PluginInfo], out: &Path) -> Result<Vec<PathBuf>, DocgenError> {
    let cmd = command_for(plugins);
    let mut written = Vec::new();
    for (rel, what) in OUTPUTS {
        let path = out.join(rel);
        let bytes = match what {
            Output::Man => man_page(&cmd, plugins),
            Output::Completion(shell) => completion(&cmd, *shell),
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| DocgenError::Write(dir.to_path_buf(), e))?;
        }
        fs::write(&path, bytes).map_err(|e| DocgenError::Write(path.clone(), e))?;
        written.push(path);
    }
    Ok(written)
}
