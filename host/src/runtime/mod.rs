//! The server process: startup in the original's order, the thread model, and shutdown.
//!
//! Startup (docs/cli.md §6): parse the command line and config file → validate → `--help`,
//! `--version`, `--check-args` exits → `-f` → `-u` → `-d` → signal handlers → pid file → log
//! file → queue plugin → protocol plugins → daemon "ready" → bind every address → engine replay →
//! serve. Reading order: `server::serve` (threads), `io` (an I/O thread), `conn` (one
//! connection) and `slab` (a thread's connections), `processor` (the engine side),
//! `acceptor` and `listen` (sockets and signals), `process` (daemon, user, pid file),
//! `wire` (the seams), `spin` (looking again before sleeping).

mod acceptor;
mod conn;
mod direct;
mod io;
mod listen;
mod notify;
mod process;
mod processor;
mod server;
mod slab;
mod spin;
mod subject;
mod threads;
mod tls;
mod transport;
pub mod wire;

#[cfg(test)]
mod tests;

use crate::config::{self, Config, Kind, Outcome, Prescan};
use crate::engine::{Clock, Engine, EngineConfig};
use crate::plugin::{self, Registry};
use crate::queue::{Builtin, QueueStore};
use conn::NetLimits;
use io::NetSetup;
use listen::BindOptions;
use signal_hook_mio::v1_0::Signals;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use wire::WireProtocol;

pub use process::ProcessError;
pub use server::{serve, Listening, ServeError};
pub use tls::TlsError;

/// Why the server could not start; one line, exit status 1.
#[derive(Debug)]
pub enum RunError {
    Config(config::ConfigError),
    Plugin(plugin::PluginError),
    /// Process setup (fd limit, user, daemon, pid file).
    Process(ProcessError),
    /// The signal handlers could not be installed.
    Signals(std::io::Error),
    /// `--ssl` files that do not make a TLS configuration.
    Tls(TlsError),
    /// Binding the listening sockets.
    Listen(listen::ListenError),
    /// The queue's replay failed.
    Replay(String),
    /// The threads could not be started or run.
    Serve(ServeError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Config(e) => e.fmt(f),
            RunError::Plugin(e) => e.fmt(f),
            RunError::Process(e) => e.fmt(f),
            RunError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
            RunError::Tls(e) => e.fmt(f),
            RunError::Listen(e) => e.fmt(f),
            RunError::Replay(m) => write!(f, "failed to reload queue: {m}"),
            RunError::Serve(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RunError {}

impl From<ProcessError> for RunError {
    fn from(e: ProcessError) -> Self {
        RunError::Process(e)
    }
}

impl From<config::ConfigError> for RunError {
    fn from(e: config::ConfigError) -> Self {
        RunError::Config(e)
    }
}

impl From<plugin::PluginError> for RunError {
    fn from(e: plugin::PluginError) -> Self {
        RunError::Plugin(e)
    }
}

/// The whole program: returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    match run(&args) {
        Ok(()) => 0,
        Err(e) => {
            // Always one line on stderr; the log file (if that is elsewhere) gets it too.
            if crate::logging::is_installed_elsewhere() {
                log::error!("{e}");
            }
            eprintln!("gearmand: {e}");
            1
        }
    }
}

/// Parses, starts and serves until shutdown.
pub fn run(args: &[OsString]) -> Result<(), RunError> {
    let pre = Prescan::run(args)?;
    let registry = Registry::discover(&plugin::search_path(pre.plugin_dir.as_deref()));
    let cfg = match config::parse(args, &pre, &registry)? {
        Outcome::Print(text) => {
            print!("{text}");
            return Ok(());
        }
        Outcome::CheckArgs => return Ok(()),
        Outcome::Run(cfg) => cfg,
    };
    start(&cfg, &registry)
}

fn start(cfg: &Config, registry: &Registry) -> Result<(), RunError> {
    processor::tune_allocator();
    if let Some(n) = cfg.file_descriptors {
        process::set_fd_limit(n)?;
    }
    if let Some(user) = &cfg.user {
        process::switch_user(user)?;
    }
    let daemon = match cfg.daemon {
        true => Some(process::daemonize()?),
        false => None,
    };
    let signals = Signals::new(acceptor::HANDLED).map_err(RunError::Signals)?;
    let _pid_file = process::PidFile::create(&cfg.pid_file, cfg.pid_file_explicit)?;
    if let Some(warning) = crate::logging::init(&cfg.log, cfg.verbose, cfg.syslog) {
        eprintln!("{warning}");
    }
    let tls = match &cfg.tls {
        Some(files) => Some(tls::TlsAcceptor::load(files).map_err(RunError::Tls)?),
        None => None,
    };
    let queue = create_queue(cfg, registry)?;
    let protocols = create_protocols(cfg, registry)?;
    if let Some(d) = daemon {
        d.ready();
    }
    let listening = bind(cfg, &protocols)?;
    let mut engine = Engine::new(engine_config(cfg), queue);
    engine.set_limits(cfg.limits.engine);
    let replayed = engine.replay(Clock::now()).map_err(RunError::Replay)?;
    // Always said, zero included: it marks the end of the replay (connections are served after).
    log::info!("replayed {replayed} jobs from the queue");
    let net = NetSetup {
        protocols,
        tls,
        limits: NetLimits::new(cfg.limits.max_output),
        admin: cfg.admin.clone(),
        spin: std::time::Duration::from_micros(cfg.spin_us),
    };
    let _ready = notify::Readiness::announce(); // sd_notify READY=1; STOPPING=1 on drop
    serve(cfg.threads, Box::new(engine), net, listening, signals).map_err(RunError::Serve)?;
    log::info!("shutdown complete");
    Ok(())
}

fn create_queue(cfg: &Config, registry: &Registry) -> Result<Box<dyn QueueStore>, RunError> {
    let Some(q) = &cfg.queue else {
        return Ok(Box::new(Builtin));
    };
    let meta = registry.find(Kind::Queue, &q.name)?;
    let store = meta.create_queue(&q.options)?;
    log::info!(
        "queue plugin {} {} started",
        meta.info.name,
        meta.info.version
    );
    Ok(store)
}

fn create_protocols(
    cfg: &Config,
    registry: &Registry,
) -> Result<Vec<Arc<dyn WireProtocol>>, RunError> {
    let mut out: Vec<Arc<dyn WireProtocol>> = Vec::new();
    for p in &cfg.protocols {
        let meta = registry.find(Kind::Protocol, &p.name)?;
        out.push(Arc::new(meta.create_protocol(&p.options)?));
    }
    Ok(out)
}

/// Binds every protocol's port on every address and logs each one.
fn bind(cfg: &Config, protocols: &[Arc<dyn WireProtocol>]) -> Result<Listening, RunError> {
    let opts = BindOptions {
        host: cfg.listen.clone(),
        backlog: cfg.backlog,
        keepalive: cfg.keepalive,
    };
    let mut listening = Listening::new(cfg.keepalive);
    // After the protocol name: the test harness and scripts read `listening on ADDR (gear)`.
    let tls = if cfg.tls.is_some() { " with TLS" } else { "" };
    for (i, proto) in protocols.iter().enumerate() {
        for l in listen::bind_all(&opts, &proto.listen_port()).map_err(RunError::Listen)? {
            if let Ok(addr) = l.local_addr() {
                log::info!("listening on {addr} ({}){tls}", proto.name());
            }
            listening.push(l, i);
        }
    }
    Ok(listening)
}

fn engine_config(cfg: &Config) -> EngineConfig {
    EngineConfig {
        handle_prefix: cfg
            .job_handle_prefix
            .clone()
            .unwrap_or_else(|| format!("H:{}", process::nodename())),
        job_retries: cfg.job_retries,
        worker_wakeup: cfg.worker_wakeup,
        // gearmand 2.0 rotates across a worker's functions by default; -R is still accepted.
        round_robin: true,
        exceptions: cfg.exceptions,
        verbose_name: cfg.verbose.name().to_owned(),
        version: config::VERSION.to_owned(),
        pid: std::process::id(),
        // Who may shut down is decided per connection from --admin-restrict/--admin-allow.
        remote_shutdown: false,
        grab_hold: std::time::Duration::from_micros(cfg.grab_hold_us),
    }
}
