//! The command line and the configuration file, resolved into one [`Config`] (docs/cli.md §1-4).
//!
//! Parsing has two phases because plugin options depend on which plugins are installed:
//! 1. [`Prescan::run`] finds `--config-file` and `--plugin-dir` and reads the config file;
//! 2. the caller discovers plugins, then [`parse`] builds the clap command with the host's options
//!    and every installed plugin's, parses the command line and the file with it (the command
//!    line wins, option by option), validates, and selects the plugins (`-q`, `-r`, gear always).
//!
//! Every error is one line (`gearmand: ` is added by the caller) and means exit status 1.

pub mod admin;
pub mod args;
mod catalog;
mod file;
mod layered;
mod prescan;
mod security;
mod selection;
#[cfg(test)]
mod tests;
mod verbose;

pub use admin::{AdminPolicy, Allow, Restrict};
pub use args::DEFAULT_SPIN_US;
pub use catalog::{Catalog, Kind, OptionInfo, PluginInfo};
pub use prescan::Prescan;
pub use security::{Limits, TlsFiles};
pub use selection::SelectedPlugin;
pub use verbose::Verbose;

use layered::Layered;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Our version: `-V` and the admin `version` command report the crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const ISSUES_URL: &str = "https://github.com/gearman/gearmand/issues";

/// Where log records go (`-l`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    File(PathBuf),
    Stderr,
    Off,
}

/// `--keepalive*`: applied to listening sockets when enabled; -1 leaves the system default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub enabled: bool,
    pub idle: i32,
    pub interval: i32,
    pub count: i32,
}

/// Everything the command line and config file decided.
#[derive(Debug, Clone)]
pub struct Config {
    pub backlog: i32,
    pub daemon: bool,
    pub exceptions: bool,
    pub file_descriptors: Option<u64>,
    /// -1 unlimited, 0 no retries, 1..=255 attempts (gearmand 2.0).
    pub job_retries: i32,
    pub job_handle_prefix: Option<String>,
    pub keepalive: Keepalive,
    pub log: LogTarget,
    /// `-l` as given, for messages.
    pub log_file: String,
    pub listen: Option<String>,
    pub pid_file: PathBuf,
    /// The pid file was named explicitly (an error to fail creating it).
    pub pid_file_explicit: bool,
    pub syslog: bool,
    pub threads: u32,
    pub user: Option<String>,
    pub verbose: Verbose,
    /// Kept as the original's u8 (256 wraps to 0).
    pub worker_wakeup: u32,
    /// `--grab-hold-us`: how long an unanswerable GRAB_JOB may wait for a job.
    pub grab_hold_us: u64,
    /// `--spin-us`: how long a thread looks for more work before it sleeps (runtime/spin.rs).
    pub spin_us: u64,
    pub plugin_dir: Option<PathBuf>,
    /// `None` = the builtin in-memory queue.
    pub queue: Option<SelectedPlugin>,
    /// Protocol plugins, `gear` first.
    pub protocols: Vec<SelectedPlugin>,
    /// `--ssl`: every listener speaks TLS with these files.
    pub tls: Option<TlsFiles>,
    /// Output, job count and job memory limits.
    pub limits: Limits,
    /// Who may use which admin commands.
    pub admin: AdminPolicy,
}

/// What to do after parsing.
#[derive(Debug)]
pub enum Outcome {
    /// Start the server.
    Run(Box<Config>),
    /// Print this on stdout and exit 0 (`--help`, `--version`).
    Print(String),
    /// `--check-args`: everything parsed; exit 0.
    CheckArgs,
}

/// A command-line or config-file error; each is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Unknown option, bad value, repeated option.
    Usage(String),
    /// A value clap accepted but gearmand refuses.
    Invalid(String),
    /// The config file could not be read or understood.
    File(String),
    /// A plugin could not be selected or an option needs another plugin.
    Plugin(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Usage(m)
            | ConfigError::Invalid(m)
            | ConfigError::File(m)
            | ConfigError::Plugin(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Phase two: parses `args` (program name first) and the prescanned file against the catalog.
pub fn parse(
    args: &[OsString],
    pre: &Prescan,
    catalog: &dyn Catalog,
) -> Result<Outcome, ConfigError> {
    let installed = catalog.installed();
    let cmd = args::command(&installed);
    let cli = cmd.clone().try_get_matches_from(args).map_err(|e| {
        // `-q sqlite --libsqlite3-db x` without the sqlite plugin: the root cause is the missing
        // plugin, not the option it would have defined.
        match e.kind() {
            clap::error::ErrorKind::UnknownArgument => selection::missing_plugin(args, catalog)
                .unwrap_or_else(|| layered::clap_error(e, "")),
            _ => layered::clap_error(e, ""),
        }
    })?;
    if cli.get_flag("help") {
        return Ok(Outcome::Print(help_text(cmd)));
    }
    if cli.get_flag("version") {
        return Ok(Outcome::Print(format!(
            "\ngearmand {VERSION} - {ISSUES_URL}\n"
        )));
    }
    let file = match &pre.file {
        Some(f) => {
            let toks = f.to_args(&cmd, &installed)?;
            let m = cmd
                .clone()
                .no_binary_name(true)
                .try_get_matches_from(toks)
                .map_err(|e| layered::clap_error(e, &format!("{}: ", f.path.display())))?;
            Some(m)
        }
        None => None,
    };
    let l = Layered::new(cli, file);
    let config = build(&l, pre, catalog, &installed)?;
    if l.flag("check-args") {
        return Ok(Outcome::CheckArgs);
    }
    Ok(Outcome::Run(Box::new(config)))
}

fn help_text(mut cmd: clap::Command) -> String {
    format!("{}\n", cmd.render_help())
}

fn build(
    l: &Layered,
    pre: &Prescan,
    catalog: &dyn Catalog,
    installed: &[PluginInfo],
) -> Result<Config, ConfigError> {
    let verbose = verbose::resolve(l)?;
    // Accepted for compatibility and otherwise ignored (args.rs), but 0 is refused as in 1.1.20.
    if l.one::<u32>("hashtable-buckets") == Some(0) {
        return Err(ConfigError::Invalid(
            "hashtable-buckets has to be greater than 0".into(),
        ));
    }
    let log_file = l.string("log-file").unwrap_or_default();
    let (queue, protocols) = selection::select(l, catalog, installed)?;
    Ok(Config {
        backlog: l.one("backlog").unwrap_or(args::DEFAULT_BACKLOG),
        daemon: l.flag("daemon"),
        exceptions: l.flag("exceptions"),
        file_descriptors: l.one("file-descriptors"),
        job_retries: job_retries(l.one("job-retries").unwrap_or(args::DEFAULT_JOB_RETRIES))?,
        job_handle_prefix: handle_prefix(l.string("job-handle-prefix"))?,
        keepalive: Keepalive {
            enabled: l.flag("keepalive"),
            idle: l.one("keepalive-idle").unwrap_or(args::DEFAULT_KEEPALIVE),
            interval: l
                .one("keepalive-interval")
                .unwrap_or(args::DEFAULT_KEEPALIVE),
            count: l.one("keepalive-count").unwrap_or(args::DEFAULT_KEEPALIVE),
        },
        log: match log_file.as_str() {
            "stderr" => LogTarget::Stderr,
            "none" => LogTarget::Off,
            path => LogTarget::File(PathBuf::from(path)),
        },
        log_file,
        listen: l.string("listen"),
        pid_file: l.one("pid-file").unwrap_or_default(),
        pid_file_explicit: l.explicit("pid-file"),
        syslog: l.flag("syslog"),
        threads: l.one("threads").unwrap_or(args::DEFAULT_THREADS),
        user: l.string("user"),
        verbose,
        // The original stores -w in a u8; keep its wrap-around so configs behave the same.
        worker_wakeup: l
            .one("worker-wakeup")
            .unwrap_or(args::DEFAULT_WORKER_WAKEUP)
            % 256,
        grab_hold_us: l.one("grab-hold-us").unwrap_or(args::DEFAULT_GRAB_HOLD_US),
        spin_us: l.one("spin-us").unwrap_or(args::DEFAULT_SPIN_US),
        plugin_dir: pre.plugin_dir.clone(),
        queue,
        protocols,
        tls: security::tls(l, &|var| std::env::var(var).ok())?,
        limits: security::limits(l)?,
        admin: security::admin(l)?,
    })
}

/// gearmand 2.0: -1 no limit, 0 no retries, 1..=255 attempts, anything else refused.
fn job_retries(n: i64) -> Result<i32, ConfigError> {
    if (-1..=255).contains(&n) {
        Ok(n as i32)
    } else {
        Err(ConfigError::Invalid(format!(
            "--job-retries {n} is out of range: use -1 (no limit), 0 (no retries) or 1..255"
        )))
    }
}

/// The longest job handle: the original keeps handles in a 64-byte buffer, NUL included.
pub const MAX_JOB_HANDLE: usize = 63;

/// Job handles are `<prefix>:<n>`: the prefix must leave room for `:` and 10 digits within
/// [`MAX_JOB_HANDLE`] bytes (docs/gear-protocol.md §3 "Job handles").
fn handle_prefix(p: Option<String>) -> Result<Option<String>, ConfigError> {
    const MAX: usize = MAX_JOB_HANDLE - 11;
    match p {
        Some(p) if p.len() > MAX => Err(ConfigError::Invalid(format!(
            "--job-handle-prefix is {} bytes long; at most {MAX} fit in a job handle",
            p.len()
        ))),
        p => Ok(p),
    }
}
