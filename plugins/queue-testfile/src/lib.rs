//! `testfile`: a tiny append-only-file queue plugin that proves the queue side of the plugin ABI
//! end to end (load, create, add, flush, done, replay across a restart, shutdown). Tests only;
//! it is not shipped.
//!
//! The file is a log of records, each `tag (1 byte) | priority u32 | when i64 | unique | function |
//! data`, numbers little-endian and every byte string prefixed by its u32 length. Tag `A` adds a
//! job, tag `D` removes the job with that (unique, function). Replay reads the log and hands out the
//! jobs still alive, in the order they were added.

use gearmand_plugin_api::{
    export_queue_plugin, OptionDef, Options, PluginInfo, Priority, QueueCapabilities, QueueJob,
    QueuePlugin, ReplayStopped,
};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

/// What can go wrong, one line each as the host shows it.
#[derive(Debug)]
pub enum Error {
    /// `--testfile-path` was not given.
    NoPath,
    /// The file could not be opened at startup.
    Open {
        path: String,
        source: std::io::Error,
    },
    /// Reading or writing the file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file ends inside a record, or a record does not decode.
    Corrupt,
    /// A record with a tag this plugin never writes.
    UnknownTag(u8),
    /// The host stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoPath => f.write_str("testfile: option --testfile-path is required"),
            Error::Open { path, source } => write!(f, "testfile: cannot open {path}: {source}"),
            Error::Io { path, source } => write!(f, "testfile: {}: {source}", path.display()),
            Error::Corrupt => f.write_str("testfile: the file is truncated or corrupt"),
            Error::UnknownTag(tag) => write!(f, "testfile: unknown record tag {tag}"),
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}

/// The plugin instance: the log file, opened for appending.
pub struct TestFile {
    path: PathBuf,
    out: BufWriter<File>,
    /// `--store-queue-on-shutdown`, declared as sqlite declares it (ABI 1.4 capabilities).
    store_on_shutdown: bool,
}

impl PluginInfo for TestFile {
    const NAME: &'static str = "testfile";
    const ALIASES: &'static [&'static str] = &["libtestfile"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Append-only file queue for tests (not shipped)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(
            "testfile-path",
            "File the test queue appends its records to (required)",
            None,
        ),
        OptionDef::switch(OPT_STORE_ON_SHUTDOWN, "Store queue on shutdown."),
    ];
}

/// The original's switch: the host writes jobs at shutdown instead of at submit.
const OPT_STORE_ON_SHUTDOWN: &str = "store-queue-on-shutdown";

const TAG_ADD: u8 = b'A';
const TAG_DONE: u8 = b'D';

impl QueuePlugin for TestFile {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let path = options
            .get("testfile-path")
            .filter(|p| !p.is_empty())
            .ok_or(Error::NoPath)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| Error::Open {
                path: path.clone(),
                source,
            })?;
        log::info!("testfile queue at {path}");
        Ok(TestFile {
            path: PathBuf::from(path),
            out: BufWriter::new(file),
            store_on_shutdown: options.flag(OPT_STORE_ON_SHUTDOWN),
        })
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            store_on_shutdown: self.store_on_shutdown,
            ..QueueCapabilities::default()
        }
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let record = encode(
            TAG_ADD,
            job.priority as u32,
            job.when,
            [job.unique, job.function, job.data],
        );
        self.write(&record)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(|e| self.io_error(e))?;
        self.out.get_ref().sync_data().map_err(|e| self.io_error(e))
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        self.write(&encode(TAG_DONE, 0, 0, [unique, function, b""]))
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        self.flush()?;
        let mut bytes = Vec::new();
        File::open(&self.path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| self.io_error(e))?;
        for r in live_records(&bytes)? {
            sink(&QueueJob {
                unique: r.unique,
                function: r.function,
                data: r.data,
                priority: Priority::from_u32(r.priority),
                when: r.when,
            })?;
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        log::info!("testfile queue closed");
    }
}

impl TestFile {
    fn write(&mut self, record: &[u8]) -> Result<(), Error> {
        self.out.write_all(record).map_err(|e| self.io_error(e))
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// One decoded record, borrowing the file's bytes.
struct Record<'a> {
    tag: u8,
    priority: u32,
    when: i64,
    unique: &'a [u8],
    function: &'a [u8],
    data: &'a [u8],
}

fn encode(tag: u8, priority: u32, when: i64, fields: [&[u8]; 3]) -> Vec<u8> {
    let mut r = vec![tag];
    r.extend_from_slice(&priority.to_le_bytes());
    r.extend_from_slice(&when.to_le_bytes());
    for f in fields {
        r.extend_from_slice(&(f.len() as u32).to_le_bytes());
        r.extend_from_slice(f);
    }
    r
}

/// Reads every record and keeps the added jobs that no later `D` record removed.
fn live_records(mut bytes: &[u8]) -> Result<Vec<Record<'_>>, Error> {
    let mut live: Vec<Record<'_>> = Vec::new();
    while !bytes.is_empty() {
        let r = decode(&mut bytes).ok_or(Error::Corrupt)?;
        match r.tag {
            TAG_ADD => live.push(r),
            TAG_DONE => live.retain(|j| !(j.unique == r.unique && j.function == r.function)),
            other => return Err(Error::UnknownTag(other)),
        }
    }
    Ok(live)
}

fn decode<'a>(bytes: &mut &'a [u8]) -> Option<Record<'a>> {
    let tag = *take(bytes, 1)?.first()?;
    let priority = u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?);
    let when = i64::from_le_bytes(take(bytes, 8)?.try_into().ok()?);
    let mut field = || {
        let len = u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?);
        take(bytes, len as usize)
    };
    Some(Record {
        tag,
        priority,
        when,
        unique: field()?,
        function: field()?,
        data: field()?,
    })
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if bytes.len() < n {
        return None;
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Some(head)
}

export_queue_plugin!(TestFile);
