//! gearmand-queue-conformance: checks that a queue plugin keeps the queue contract, by loading its
//! `.so` through the server's own loader and driving it as the server does.
//!
//! Use it from the command line (`gearmand-queue-conformance --plugin libgearmand_queue_x.so
//! --option x-path=/tmp/q`) or from a plugin's own tests:
//!
//! ```no_run
//! let report = gearmand_queue_conformance::Config::new("target/debug/libgearmand_queue_x.so")
//!     .option("x-path", "/tmp/x.queue")
//!     .run();
//! assert!(report.is_ok(), "{report}");
//! ```
//!
//! Reading order: [`load`] (finding the plugin and resolving options as the server does),
//! [`session`] (the instance life cycle: create, replay once, add/flush/done, destroy), `checks`
//! (what is checked), [`report`] (PASS/FAIL/SKIP lines and the `N passed, M failed` summary).
//!
//! The suite leaves the store as it found it: every job it adds carries a function-name prefix of
//! its own run, and it removes them all at the end. Jobs already in the store are counted and left
//! alone, so it can run against a shared database.

mod checks;
pub mod job;
pub mod load;
pub mod report;
pub mod session;

pub use report::{CheckResult, Outcome, Report};

use checks::{Scope, CHECKS};
use session::Session;
use std::path::PathBuf;

/// What to test and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// The plugin file, `libgearmand_queue_<name>.so`.
    pub plugin: PathBuf,
    /// Option `(name, value)` pairs, as `--name value` would give them to the server; names may be
    /// aliases; an empty value of a switch means it is given.
    pub options: Vec<(String, String)>,
    /// How many jobs the `many-jobs` check streams.
    pub jobs: usize,
}

impl Config {
    /// Tests the plugin at `plugin` with no options and 10,000 jobs in `many-jobs`.
    pub fn new(plugin: impl Into<PathBuf>) -> Config {
        Config {
            plugin: plugin.into(),
            options: Vec::new(),
            jobs: 10_000,
        }
    }

    /// Adds an option (`--name value`).
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Config {
        self.options.push((name.into(), value.into()));
        self
    }

    /// Sets the job count of `many-jobs`.
    pub fn jobs(mut self, jobs: usize) -> Config {
        self.jobs = jobs;
        self
    }

    /// Runs the whole suite.
    pub fn run(&self) -> Report {
        run_with(self, |_| {})
    }
}

/// Runs the whole suite, handing each result to `on_result` as soon as it is known (the
/// command-line tool prints it), and returns them all.
pub fn run_with(config: &Config, mut on_result: impl FnMut(&CheckResult)) -> Report {
    let mut report = Report::default();
    let mut emit = |r: CheckResult| {
        on_result(&r);
        report.results.push(r);
    };
    match start(config, &mut emit) {
        Some((mut session, foreign)) => {
            run_checks(&mut session, config, &mut emit);
            emit(left_as_found(&mut session, foreign));
            session.finish();
        }
        None => emit(CheckResult::new(
            "remaining checks",
            Outcome::Skip("no instance to test".into()),
        )),
    }
    report
}

/// `load`, `create` and `startup-replay`: the server's startup. Returns the session and the number
/// of jobs that were already stored.
fn start(config: &Config, emit: &mut impl FnMut(CheckResult)) -> Option<(Session, usize)> {
    let meta = match load::load(&config.plugin) {
        Ok(meta) => meta,
        Err(e) => {
            emit(CheckResult::new("load", Outcome::Fail(e.to_string())));
            return None;
        }
    };
    emit(CheckResult::new("load", Outcome::Pass(describe(&meta))));
    let created = load::resolve_options(&meta, &config.options)
        .map_err(|e| e.to_string())
        .and_then(|options| Session::start(meta, options));
    let mut session = match created {
        Ok(s) => s,
        Err(e) => {
            emit(CheckResult::new("create", Outcome::Fail(e)));
            return None;
        }
    };
    emit(CheckResult::new(
        "create",
        Outcome::Pass(format!("created with {}", options_text(config))),
    ));
    match session.replay_all() {
        Ok((ours, foreign)) => {
            emit(CheckResult::new(
                "startup-replay",
                Outcome::Pass(format!(
                    "the store held {} jobs; they are left alone",
                    ours.len() + foreign
                )),
            ));
            Some((session, foreign + ours.len()))
        }
        Err(e) => {
            emit(CheckResult::new("startup-replay", Outcome::Fail(e)));
            None
        }
    }
}

fn run_checks(session: &mut Session, config: &Config, emit: &mut impl FnMut(CheckResult)) {
    for check in CHECKS {
        if !session.is_live() {
            if let Err(e) = session.restart() {
                emit(CheckResult::new(check.name, Outcome::Skip(e)));
                continue;
            }
        }
        let scope = Scope {
            name: check.name,
            prefix: session.scope(check.name),
            jobs: config.jobs,
        };
        for r in (check.run)(session, &scope) {
            emit(r);
        }
        // A failed check may leave jobs behind; remove them so the next check starts clean.
        if let Err(e) = session.clean(&scope.prefix) {
            log::warn!("cleaning up after {}: {e}", check.name);
        }
    }
}

/// The store holds no job of this run and as many other jobs as at the start.
fn left_as_found(session: &mut Session, foreign_before: usize) -> CheckResult {
    let outcome = match session.observe_all() {
        Err(e) => Outcome::Fail(e),
        Ok((ours, _)) if !ours.is_empty() => Outcome::Fail(format!(
            "{} jobs of this run could not be removed, e.g. {}",
            ours.len(),
            ours[0]
        )),
        Ok((_, foreign)) if foreign != foreign_before => Outcome::Fail(format!(
            "the store held {foreign_before} other jobs at the start and {foreign} now"
        )),
        Ok(_) => Outcome::Pass(format!(
            "no job of this run left; the {foreign_before} other jobs are still there"
        )),
    };
    CheckResult::new("left-as-found", outcome)
}

fn describe(meta: &gearmand::plugin::LoadedPlugin) -> String {
    let aliases = match meta.info.aliases.is_empty() {
        true => String::new(),
        false => format!(" (aliases {})", meta.info.aliases.join(", ")),
    };
    let options: Vec<String> = meta
        .info
        .options
        .iter()
        .map(|o| format!("--{}", o.name))
        .collect();
    format!(
        "queue plugin '{}' {}{aliases}, options: {}",
        meta.info.name,
        meta.info.version,
        if options.is_empty() {
            "none".to_string()
        } else {
            options.join(" ")
        }
    )
}

fn options_text(config: &Config) -> String {
    if config.options.is_empty() {
        return "no options".to_string();
    }
    config
        .options
        .iter()
        .map(|(k, v)| format!("--{} {v}", k.trim_start_matches('-')))
        .collect::<Vec<_>>()
        .join(" ")
}
