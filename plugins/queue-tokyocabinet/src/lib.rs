//! The tokyocabinet queue plugin (`-q tokyocabinet`, alias `libtokyocabinet`).
//!
//! Stores background jobs in a Tokyo Cabinet database file through the abstract `tcadb` API, so
//! the file type follows the name: `/path/q.tch` is a hash database, `/path/q.tcb` a B+tree
//! (`tcadbopen` name syntax, tuning parameters after `#`). Records use C gearmand's layout
//! exactly ([`layout`]), so a file written by either server replays in the other.
//!
//! The library itself, `libtokyocabinet.so.9`, is loaded at run time when the first queue is
//! created (`library`), so building needs no Tokyo Cabinet and `--help` works without it.
//!
//! Durability: `add` and `done` write to the file, `flush` calls `tcadbsync` (msync + fsync) once
//! for everything since the last flush, which is the group commit. Epoch jobs keep their time, as in the
//! original (this is the one original key-value backend that stored it).
//!
//! Keys that collide: C gearmand's key `<function>-<unique>` is the same for (`a-b`, `c`) and
//! (`a`, `b-c`), and the original silently overwrote one job with the other. Here a job goes
//! under C's key whenever that key is free or already holds this very job; only a job whose C key
//! is held by a *different* job is stored under an extended key (see [`layout`]), and `done`
//! looks in both places. The value is C's record either way, so both servers replay such a job
//! correctly; C gearmand's own `done` of it would remove the C key, though (the other job's
//! record), which is the original's bug and cannot be fixed from here.

mod error;
mod ffi;
pub mod layout;
mod library;

use gearmand_plugin_api::{OptionDef, Options, PluginInfo, QueueJob, QueuePlugin, ReplayStopped};

pub use error::Error;
pub use ffi::{Adb, TcError};
use layout::Record;
pub use library::{LibraryError, DEBIAN_PACKAGE, SONAME};

gearmand_plugin_api::export_queue_plugin!(TokyoCabinetQueue);

/// Loads `libtokyocabinet.so.9` if nothing has yet: `Err` is the one-line message naming it and
/// its Debian package (tests skip on it where the library is not installed).
pub fn load_library() -> Result<(), LibraryError> {
    library::api().map(|_| ())
}

/// Option names, as C gearmand spells them.
const OPT_FILE: &str = "libtokyocabinet-file";
const OPT_OPTIMIZE: &str = "libtokyocabinet-optimize";

/// The plugin instance: one open database.
pub struct TokyoCabinetQueue {
    db: Adb,
    /// The name it was opened with, for messages.
    file: String,
    /// Whether anything was written since the last sync.
    dirty: bool,
}

/// What lies under a job's plain (C gearmand) key.
#[derive(Debug, PartialEq, Eq)]
enum Occupant {
    /// No record.
    Free,
    /// The record of this very job; also said of an unambiguous key without reading it
    /// (only this job can have that key, so writing or removing it is always right).
    Same,
    /// The record of another job whose key happens to be the same (see [`layout`]).
    Other,
}

/// Where a job's record goes or is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// C gearmand's key `<function>-<unique>`.
    Plain,
    /// [`layout::extended_key`]: the plain key belongs to another job.
    Extended,
}

impl PluginInfo for TokyoCabinetQueue {
    const NAME: &'static str = "tokyocabinet";
    const ALIASES: &'static [&'static str] = &["libtokyocabinet"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Tokyo Cabinet hash (.tch) or B+tree (.tcb) file queue";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(
            OPT_FILE,
            "File name of the database. [see: man tcadb, tcadbopen() for name guidelines]",
            None,
        ),
        OptionDef {
            default: Some("true"),
            ..OptionDef::switch(OPT_OPTIMIZE, "Optimize database on open. [default=true]")
        },
    ];
}

impl TokyoCabinetQueue {
    /// Wraps a library error with the file name.
    fn fail(&self, source: TcError) -> Error {
        Error::Db {
            file: self.file.clone(),
            source,
        }
    }

    /// Who holds `key` (a job's plain key). Only an ambiguous key can hold another job, so
    /// the common case costs no read.
    fn occupant(&self, key: &[u8], function: &[u8], unique: &[u8]) -> Result<Occupant, Error> {
        if !layout::key_is_ambiguous(key) {
            return Ok(Occupant::Same);
        }
        let value = self.db.get(key).map_err(|e| self.fail(e))?;
        Ok(match value.as_deref().map(layout::decode) {
            None => Occupant::Free,
            Some(Ok(r)) if r.function != function || r.unique != unique => Occupant::Other,
            // This job's record, or an unreadable one (which C's key addresses, so reuse it).
            Some(_) => Occupant::Same,
        })
    }

    /// Where a job being added goes: its plain key unless another job holds it. A job that
    /// already lives under its extended key stays there, so it is never stored twice.
    fn place_for(&self, key: &[u8], function: &[u8], unique: &[u8]) -> Result<Place, Error> {
        match self.occupant(key, function, unique)? {
            Occupant::Same => Ok(Place::Plain),
            Occupant::Other => Ok(Place::Extended),
            Occupant::Free => {
                let ext = layout::extended_key(function, unique);
                match self.db.exists(&ext).map_err(|e| self.fail(e))? {
                    true => Ok(Place::Extended),
                    false => Ok(Place::Plain),
                }
            }
        }
    }

    /// Removes `key`; marks the file dirty when something was removed.
    fn remove(&mut self, key: &[u8]) -> Result<(), Error> {
        if self.db.out(key).map_err(|e| self.fail(e))? {
            self.dirty = true;
        }
        Ok(())
    }
}

impl QueuePlugin for TokyoCabinetQueue {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let file = options
            .get(OPT_FILE)
            .filter(|f| !f.is_empty())
            .ok_or(Error::MissingFile)?;
        // A switch defaulting to true in the original; the config file may say `false` here.
        let optimize = !matches!(options.get(OPT_OPTIMIZE).as_deref(), Some("false" | "0"));
        // Resolved here, once: without the library this is the one line the user sees.
        library::api()?;
        let db_error = |source| Error::Db {
            file: file.clone(),
            source,
        };
        let mut db = Adb::open(&file).map_err(db_error)?;
        if optimize {
            log::info!("optimizing tokyocabinet database {file}");
            db.optimize().map_err(db_error)?;
        }
        log::info!("tokyocabinet queue opened {file}");
        Ok(TokyoCabinetQueue {
            db,
            file,
            dirty: false,
        })
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let record = Record {
            function: job.function,
            unique: job.unique,
            priority: job.priority,
            when: job.when,
            data: job.data,
        };
        let value = layout::encode(&record)?;
        let key = layout::key(job.function, job.unique);
        let key = match self.place_for(&key, job.function, job.unique)? {
            Place::Plain => key,
            Place::Extended => {
                log::debug!(
                    "tokyocabinet key {:?} holds another job; using the extended key",
                    String::from_utf8_lossy(&key)
                );
                layout::extended_key(job.function, job.unique)
            }
        };
        self.db.put(&key, &value).map_err(|e| self.fail(e))?;
        self.dirty = true;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.dirty {
            self.db.sync().map_err(|e| self.fail(e))?;
            self.dirty = false;
        }
        Ok(())
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        let key = layout::key(function, unique);
        // Never delete the record of a different job that shares the plain key. Durable at the
        // next `flush` (the ABI's contract: flush covers earlier dones too).
        match self.occupant(&key, function, unique)? {
            Occupant::Same => self.remove(&key)?,
            Occupant::Free | Occupant::Other => {}
        }
        if layout::key_is_ambiguous(&key) {
            // Only a job with an ambiguous plain key can have been stored under its extended key.
            self.remove(&layout::extended_key(function, unique))?;
        }
        Ok(())
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let mut skipped = 0usize;
        let result = self.db.for_each(|key, value| match layout::decode(value) {
            Ok(r) => sink(&QueueJob {
                unique: r.unique,
                function: r.function,
                data: r.data,
                priority: r.priority,
                when: r.when,
            }),
            Err(e) => {
                log::error!(
                    "tokyocabinet: skipping record {:?}: {e}",
                    String::from_utf8_lossy(key)
                );
                skipped += 1;
                Ok(())
            }
        });
        let outcome = result.map_err(|e| self.fail(e))?;
        if skipped > 0 {
            log::warn!("tokyocabinet: {skipped} unreadable record(s) skipped during replay");
        }
        Ok(outcome?)
    }

    fn shutdown(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{e}");
        }
    }
}
