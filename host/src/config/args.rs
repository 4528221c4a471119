//! The clap `Command`: gearmand's own options (docs/cli.md §1) plus the options of every installed
//! plugin, each plugin under its own help heading.
//!
//! Arg ids of host options are their long names. Plugin options get the id
//! `plugin:<plugin>:<option>` so that two plugins can never clash inside clap; their long names
//! are the plugin's own. A plugin option whose long or short name is already taken (by the host
//! or an earlier plugin) is left out rather than letting clap panic on the duplicate.
//!
//! `--hashtable-buckets`, `-R` and `--coredump` are parsed so that 1.1.20 command lines keep
//! working, and change nothing (their help says so; `Config` has no field for them).

use super::catalog::{OptionInfo, PluginInfo};
use super::verbose;
use clap::{value_parser, Arg, ArgAction, Command};
use std::collections::HashSet;
use std::path::PathBuf;

pub const DEFAULT_LOG_FILE: &str = "/var/log/gearmand.log";
pub const DEFAULT_PID_FILE: &str = "/var/gearmand.pid";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/gearmand.conf";

// The numeric defaults: `--help` shows them and `Config` falls back to them.
pub const DEFAULT_BACKLOG: i32 = 32;
/// `--job-retries`: no limit.
pub const DEFAULT_JOB_RETRIES: i64 = -1;
/// The original's default, shown by `--help` only (the option changes nothing).
const DEFAULT_HASHTABLE_BUCKETS: u32 = 991;
/// `--keepalive-idle`, `-interval` and `-count`: the system's default.
pub const DEFAULT_KEEPALIVE: i32 = -1;
pub const DEFAULT_THREADS: u32 = 4;
/// `-w`: wake all workers.
pub const DEFAULT_WORKER_WAKEUP: u32 = 0;
pub const DEFAULT_GRAB_HOLD_US: u64 = 1000;
/// Default `--spin-us` (runtime/spin.rs): the value Linux recommends for `net.core.busy_read`.
pub const DEFAULT_SPIN_US: u64 = 50;

const GENERAL: &str = "General options";

/// The full command for the installed plugins.
pub fn command(installed: &[PluginInfo]) -> Command {
    let mut cmd = host_command();
    let mut taken = Taken::of(&cmd);
    for p in installed {
        cmd = add_plugin(cmd, p, &mut taken);
    }
    cmd
}

/// Id of a plugin option's arg.
pub fn plugin_arg_id(plugin: &str, option: &str) -> String {
    format!("plugin:{plugin}:{option}")
}

/// Splits a plugin arg id back into (plugin, option).
pub fn split_plugin_arg_id(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix("plugin:")?.split_once(':')
}

fn value(id: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(id)
        .help(help)
        .value_name("arg")
        .action(ArgAction::Set)
        .help_heading(GENERAL)
}

fn switch(id: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(id)
        .help(help)
        .action(ArgAction::SetTrue)
        .help_heading(GENERAL)
}

fn host_command() -> Command {
    let num = |a: Arg| a.allow_negative_numbers(true);
    Command::new("gearmand")
        .about("Gearman job server")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args([
            value("backlog", "Number of backlog connections for listen.")
                .short('b')
                .value_parser(value_parser!(i32))
                .default_value(DEFAULT_BACKLOG.to_string()),
            switch("daemon", "Daemon, detach and run in the background.").short('d'),
            switch("exceptions", "Enable protocol exceptions by default."),
            value(
                "file-descriptors",
                "Number of file descriptors to allow for the process.",
            )
            .short('f')
            .value_parser(value_parser!(u64)),
            switch("help", "Print this help menu.").short('h'),
            num(value(
                "job-retries",
                "Attempts to run a job before it is dropped: -1 no limit, 0 no retries, 1..255.",
            )
            .short('j')
            .value_parser(value_parser!(i64))
            .default_value(DEFAULT_JOB_RETRIES.to_string())),
            value(
                "job-handle-prefix",
                "Prefix of job handles. Default \"H:<host_name>\".",
            ),
            value(
                "hashtable-buckets",
                "Accepted for compatibility, no effect (0 is refused, as in 1.1.20).",
            )
            .value_parser(value_parser!(u32))
            .default_value(DEFAULT_HASHTABLE_BUCKETS.to_string()),
            switch("keepalive", "Enable keepalive on sockets."),
            num(value(
                "keepalive-idle",
                "TCP_KEEPIDLE with --keepalive; -1 = system default.",
            )
            .value_parser(value_parser!(i32))
            .default_value(DEFAULT_KEEPALIVE.to_string())),
            num(value(
                "keepalive-interval",
                "TCP_KEEPINTVL with --keepalive; -1 = system default.",
            )
            .value_parser(value_parser!(i32))
            .default_value(DEFAULT_KEEPALIVE.to_string())),
            num(value(
                "keepalive-count",
                "TCP_KEEPCNT with --keepalive; -1 = system default.",
            )
            .value_parser(value_parser!(i32))
            .default_value(DEFAULT_KEEPALIVE.to_string())),
            value(
                "log-file",
                "Log file; 'stderr' for stderr, 'none' for no log.",
            )
            .short('l')
            .default_value(DEFAULT_LOG_FILE),
            value(
                "listen",
                "Address the server should listen on. Default is all.",
            )
            .short('L'),
            value("pid-file", "File to write process ID out to.")
                .short('P')
                .value_parser(value_parser!(PathBuf))
                .default_value(DEFAULT_PID_FILE),
            value("protocol", "Load protocol module (repeatable).")
                .short('r')
                .action(ArgAction::Append),
            switch(
                "round-robin",
                "Accepted for compatibility, no effect: work is always assigned round robin (gearmand 2.0).",
            )
            .short('R'),
            value("queue-type", "Persistent queue type to use.")
                .short('q')
                .default_value(super::selection::BUILTIN_QUEUE),
            value(
                "config-file",
                "Configuration file (TOML, or command-line tokens).",
            )
            .value_parser(value_parser!(PathBuf))
            .default_value(DEFAULT_CONFIG_FILE),
            switch("syslog", "Use syslog."),
            switch(
                "coredump",
                "Accepted for compatibility, no effect: core dumps are always left to the system's limits.",
            ),
            value(
                "threads",
                "Number of I/O threads; 0 = one thread does everything.",
            )
            .short('t')
            .value_parser(value_parser!(u32))
            .default_value(DEFAULT_THREADS.to_string()),
            value("user", "Switch to given user after startup.").short('u'),
            value(
                verbose::LEVEL_ID,
                "Log level (FATAL, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG).",
            )
            .default_value(verbose::DEFAULT.name()),
            Arg::new(verbose::STEP_ID)
                .short('v')
                .help("Increase verbosity level by one, from ERROR (-vvvv = DEBUG); not with --verbose.")
                .action(ArgAction::Count)
                .conflicts_with(verbose::LEVEL_ID)
                .help_heading(GENERAL),
            switch("version", "Display the version of gearmand and exit.").short('V'),
            value("worker-wakeup", "Workers to wake up per job; 0 = all.")
                .short('w')
                .value_parser(value_parser!(u32))
                .default_value(DEFAULT_WORKER_WAKEUP.to_string()),
            value(
                "grab-hold-us",
                "Microseconds a GRAB_JOB that finds no job waits for one before NO_JOB; 0 = answer at once (as C gearmand).",
            )
            .value_parser(value_parser!(u64).range(0..=1_000_000))
            .default_value(DEFAULT_GRAB_HOLD_US.to_string()),
            value(
                "spin-us",
                "Microseconds a thread looks for more work before it sleeps; 0 = sleep at once.",
            )
            .value_parser(value_parser!(u64).range(0..=100_000))
            .default_value(DEFAULT_SPIN_US.to_string()),
            switch(
                "check-args",
                "Check the command line and configuration, then exit.",
            ),
            value("plugin-dir", "Directory searched first for plugins.")
                .value_parser(value_parser!(PathBuf)),
        ])
        .args(super::security::args())
}

/// Long and short names already in use.
struct Taken {
    longs: HashSet<String>,
    shorts: HashSet<char>,
}

impl Taken {
    fn of(cmd: &Command) -> Taken {
        let mut t = Taken {
            longs: HashSet::new(),
            shorts: HashSet::new(),
        };
        for a in cmd.get_arguments() {
            t.longs.extend(a.get_long().map(str::to_owned));
            t.shorts.extend(a.get_short());
        }
        t
    }
}

fn heading(p: &PluginInfo) -> String {
    format!(
        "{} ({} plugin {}, {} {}): {}",
        p.name,
        p.kind.as_str(),
        p.version,
        p.kind.selector(),
        p.name,
        p.description
    )
}

fn add_plugin(mut cmd: Command, p: &PluginInfo, taken: &mut Taken) -> Command {
    let heading = heading(p);
    for opt in p.options.iter().filter(|o| o.alias_of.is_none()) {
        if !taken.longs.insert(opt.name.clone()) {
            continue;
        }
        let mut arg = plugin_arg(p, opt, &heading);
        if let Some(c) = opt.short.filter(|c| taken.shorts.insert(*c)) {
            arg = arg.short(c);
        }
        for alias in p
            .options
            .iter()
            .filter(|o| o.alias_of.as_ref() == Some(&opt.name))
        {
            if taken.longs.insert(alias.name.clone()) {
                arg = arg.visible_alias(alias.name.clone());
            }
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn plugin_arg(p: &PluginInfo, opt: &OptionInfo, heading: &str) -> Arg {
    let arg = Arg::new(plugin_arg_id(&p.name, &opt.name))
        .long(opt.name.clone())
        .help(opt.help.clone())
        .help_heading(heading.to_owned());
    if !opt.takes_value {
        return arg.action(ArgAction::SetTrue);
    }
    let arg = arg
        .action(ArgAction::Set)
        .value_name("arg")
        .allow_hyphen_values(true);
    match &opt.default {
        Some(d) => arg.default_value(d.clone()),
        None => arg,
    }
}

/// Whether the option token `tok` (`--name`, `--name=v`, `-x`, `-xv`) takes the next token as
/// its value: `Some(true)` if so, `Some(false)` if not (switch, or value attached), `None` if
/// the option is unknown.
pub fn consumes_next(cmd: &Command, tok: &str) -> Option<bool> {
    if let Some(long) = tok.strip_prefix("--") {
        let (name, attached) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        let arg = cmd.get_arguments().find(|a| {
            a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|v| v.contains(&name))
        })?;
        return Some(takes_value(arg) && !attached);
    }
    let mut chars = tok.strip_prefix('-')?.chars();
    let c = chars.next()?;
    let arg = cmd.get_arguments().find(|a| a.get_short() == Some(c))?;
    Some(takes_value(arg) && chars.as_str().is_empty())
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}
