//! `gearmand-queue-conformance`: runs the conformance suite against one queue plugin and prints a
//! line per check (`PASS name: ...`, `FAIL name: ...`, `SKIP name: ...`), then `N passed, M
//! failed`. Exits 0 when nothing failed, 1 when a check failed, 2 on a usage error.
//!
//! The plugin's own log records go to stderr (level from `RUST_LOG`, `warn` by default), so
//! stdout holds only the result lines.

use clap::Parser;
use gearmand_queue_conformance::{run_with, Config};
use std::path::PathBuf;
use std::process::ExitCode;

/// Checks that a gearmand queue plugin keeps the queue contract.
#[derive(Parser, Debug)]
#[command(name = "gearmand-queue-conformance", version)]
struct Args {
    /// The plugin file: libgearmand_queue_<name>.so.
    #[arg(long, value_name = "PATH")]
    plugin: PathBuf,
    /// A plugin option as the server would get it with --NAME VALUE (repeatable); a bare NAME
    /// gives a switch.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// How many jobs the many-jobs check streams.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .target(env_logger::Target::Stderr)
        .init();
    let mut config = Config::new(args.plugin).jobs(args.jobs);
    for opt in &args.options {
        let (name, value) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
        config = config.option(name, value);
    }
    let report = run_with(&config, |r| println!("{r}"));
    println!("{}", report.summary());
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
