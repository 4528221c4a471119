//! `appendfile`: an example gearmand queue plugin, built outside the gearmand workspace against
//! `gearmand-plugin-api` alone, with no `unsafe` code.
//!
//! `gearmand --plugin-dir DIR -q appendfile --appendfile-path FILE` keeps background jobs in an
//! append-only file: `add` and `done` append a record, `flush` syncs, and the replay at startup
//! hands out the live jobs and compacts the file (see store.rs). A second `add` of a stored
//! (unique, function) replaces it, as the sqlite backend does.
//!
//! Reading order: this file (the plugin's name, options, its errors and the [`QueuePlugin`]
//! contract), store.rs (the file and its compaction), record.rs (the bytes of one record).
//!
//! Errors are the plugin's own types: the SDK shows the host their `Display` line.

#![forbid(unsafe_code)]

pub mod record;
pub mod store;

use gearmand_plugin_api::{OptionDef, Options, PluginInfo, QueueJob, QueuePlugin, ReplayStopped};
use std::fmt;
use std::path::PathBuf;
use store::{AppendFile, Fsync};

/// The option naming the queue file (required).
pub const OPT_PATH: &str = "appendfile-path";
/// The option choosing when to sync: `always` (default) or `never`.
pub const OPT_FSYNC: &str = "appendfile-fsync";

/// One open queue file: the plugin instance the server holds.
pub struct AppendFileQueue {
    file: AppendFile,
}

impl PluginInfo for AppendFileQueue {
    // The server finds this plugin as libgearmand_queue_appendfile.so and selects it with
    // `-q appendfile`.
    const NAME: &'static str = "appendfile";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Example: append-only file queue, compacted on replay";
    // Option names share the server's command line with every other plugin: prefix them with
    // the plugin's name.
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(OPT_PATH, "Queue file (required).", None),
        OptionDef::value(
            OPT_FSYNC,
            "always: sync on every flush; never: leave it to the OS.",
            Some("always"),
        ),
    ];
}

/// What can go wrong: a refused option, or the file's own [`store::Error`].
#[derive(Debug)]
pub enum Error {
    /// `--appendfile-path` was not given.
    NoPath,
    /// `--appendfile-fsync` is neither `always` nor `never`.
    BadFsync(String),
    /// The queue file failed.
    File(store::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoPath => f.write_str("appendfile: option --appendfile-path is required"),
            Error::BadFsync(other) => write!(
                f,
                "appendfile: --appendfile-fsync must be always or never, not '{other}'"
            ),
            Error::File(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        Error::File(e)
    }
}

impl QueuePlugin for AppendFileQueue {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let path = options
            .get(OPT_PATH)
            .filter(|p| !p.is_empty())
            .ok_or(Error::NoPath)?;
        let fsync = match options.get(OPT_FSYNC).as_deref() {
            None | Some("always") => Fsync::Always,
            Some("never") => Fsync::Never,
            Some(other) => return Err(Error::BadFsync(other.to_string())),
        };
        let file = AppendFile::open(&PathBuf::from(&path), fsync)?;
        log::info!("appendfile queue at {path} (fsync {fsync:?})");
        Ok(AppendFileQueue { file })
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        Ok(self.file.add(job)?)
    }

    fn flush(&mut self) -> Result<(), Error> {
        Ok(self.file.flush()?)
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        Ok(self.file.done(unique, function)?)
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let (jobs, compacted) = self.file.replay(sink)?;
        log::info!("replayed {jobs} jobs (compacted: {compacted})");
        Ok(())
    }

    // shutdown(): nothing to do; the SDK flushes before calling it and dropping the instance
    // closes the file and releases the lock.
}

gearmand_plugin_api::export_queue_plugin!(AppendFileQueue);
