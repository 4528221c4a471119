//! [`AppendFile`]: the queue file itself. Adds and dones are appended as records (record.rs);
//! a flush makes them durable; replay, which the server runs once at startup, reads the file,
//! hands out the jobs still alive and, when the file holds dead records or a torn tail, rewrites
//! it with only the live jobs (compaction).
//!
//! Replay is two streaming passes, so memory holds the keys of live jobs, never their data:
//! 1. scan: which record offsets hold a live job (the last `A` of a key with no later `D`), and
//!    where the intact records end;
//! 2. stream: read the file again, hand each live job to the server and, when compacting, copy it
//!    into `<path>.compact`, which then replaces the file (synced, renamed, directory synced).
//!
//! If the server stops the replay half way, the compacted copy is dropped and the file is left as
//! it was. A `<path>.lock` file, locked while an instance lives, keeps two servers off one queue.

use crate::record::{self, Next, Record, MAGIC, TAG_ADD};
use gearmand_plugin_api::{Priority, QueueJob, ReplayStopped};
use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// When flush syncs the file to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// On every flush: an acknowledged job survives a power failure.
    Always,
    /// Never: the OS writes when it likes; a crash of the machine may lose recent jobs.
    Never,
}

/// Everything that can go wrong with the file.
#[derive(Debug)]
pub enum Error {
    /// An I/O call failed.
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Another instance (another server) holds the queue.
    Locked(PathBuf),
    /// The file exists but is not an append file.
    NotAppendFile(PathBuf),
    /// A job too large to encode.
    TooLarge(record::TooLarge),
    /// The server stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, path, source } => {
                write!(f, "appendfile: cannot {what} {}: {source}", path.display())
            }
            Error::Locked(p) => write!(
                f,
                "appendfile: {} is in use by another gearmand (its .lock file is locked)",
                p.display()
            ),
            Error::NotAppendFile(p) => {
                write!(f, "appendfile: {} is not an appendfile queue", p.display())
            }
            Error::TooLarge(e) => write!(f, "appendfile: {e}"),
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// An open queue file.
pub struct AppendFile {
    path: PathBuf,
    fsync: Fsync,
    out: BufWriter<File>,
    /// Held (locked) for as long as the instance lives.
    _lock: File,
    /// Reused for encoding each record.
    scratch: Vec<u8>,
}

/// What the first replay pass learned.
struct Scan {
    /// Offsets of the records holding live jobs, ascending.
    live: Vec<u64>,
    /// Intact records in the file.
    records: usize,
    /// Where the intact records end.
    valid_end: u64,
    /// The file's length.
    file_len: u64,
}

impl AppendFile {
    /// Opens (or creates) the queue at `path` and locks it.
    pub fn open(path: &Path, fsync: Fsync) -> Result<AppendFile, Error> {
        let io = |what| move |source| io_error(what, path, source);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(path))
            .map_err(io("open the lock file of"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(Error::Locked(path.to_path_buf())),
            Err(TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        let out = open_for_append(path)?;
        Ok(AppendFile {
            path: path.to_path_buf(),
            fsync,
            out: BufWriter::with_capacity(64 * 1024, out),
            _lock: lock,
            scratch: Vec::new(),
        })
    }

    /// Appends an `A` record (adds or replaces the job).
    pub fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let fields = [job.unique, job.function, job.data];
        self.append(TAG_ADD, job.priority as u32, job.when, fields)
    }

    /// Appends a `D` record (removes the job, if it is there).
    pub fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        self.append(record::TAG_DONE, 0, 0, [unique, function, b""])
    }

    fn append(&mut self, tag: u8, prio: u32, when: i64, fields: [&[u8]; 3]) -> Result<(), Error> {
        self.scratch.clear();
        record::encode(&mut self.scratch, tag, prio, when, fields).map_err(Error::TooLarge)?;
        let path = &self.path;
        self.out
            .write_all(&self.scratch)
            .map_err(|e| io_error("write", path, e))
    }

    /// Writes what is buffered and, with [`Fsync::Always`], syncs it to disk.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.out
            .flush()
            .map_err(|e| io_error("write", &self.path, e))?;
        if self.fsync == Fsync::Always {
            let file = self.out.get_ref();
            file.sync_data()
                .map_err(|e| io_error("sync", &self.path, e))?;
        }
        Ok(())
    }

    /// Hands every live job to `sink` and compacts the file if it holds dead records or a torn
    /// tail. Returns (jobs replayed, whether the file was compacted).
    pub fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(usize, bool), Error> {
        self.flush()?;
        let scan = self.scan()?;
        if scan.valid_end < scan.file_len {
            log::warn!(
                "{}: dropping {} bytes of a torn write at the end (jobs never acknowledged)",
                self.path.display(),
                scan.file_len - scan.valid_end
            );
        }
        let compact = scan.live.len() < scan.records || scan.valid_end < scan.file_len;
        if !compact {
            self.stream(&scan.live, sink, None)?;
            return Ok((scan.live.len(), false));
        }
        let tmp = compact_path(&self.path);
        let result = self.compact_into(&tmp, &scan.live, sink);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        Ok((scan.live.len(), true))
    }

    /// Pass 1: offsets of live records, intact record count, end of the intact records.
    fn scan(&self) -> Result<Scan, Error> {
        let (mut input, file_len) = self.reader()?;
        let mut live: HashMap<(Vec<u8>, Vec<u8>), u64> = HashMap::new();
        let mut offset = MAGIC.len() as u64;
        let mut records = 0usize;
        let mut buf = Vec::new();
        // Stops at the end of the file or at a torn record (everything after it is dropped).
        while let Next::Record(r, len) =
            record::read_next(&mut input, &mut buf).map_err(|e| self.read_error(e))?
        {
            let key = (r.unique, r.function);
            if r.tag == TAG_ADD {
                live.insert(key, offset);
            } else {
                live.remove(&key);
            }
            records += 1;
            offset += len;
        }
        let mut live: Vec<u64> = live.into_values().collect();
        live.sort_unstable();
        Ok(Scan {
            live,
            records,
            valid_end: offset,
            file_len,
        })
    }

    /// Pass 2: hands the records at `live` offsets to `sink`, copying them to `copy` if given.
    fn stream(
        &self,
        live: &[u64],
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
        mut copy: Option<&mut BufWriter<File>>,
    ) -> Result<(), Error> {
        let (mut input, _) = self.reader()?;
        let mut offset = MAGIC.len() as u64;
        let mut buf = Vec::new();
        let mut encoded = Vec::new();
        let mut next = live.iter().peekable();
        while next.peek().is_some() {
            let (r, len) = match record::read_next(&mut input, &mut buf) {
                Ok(Next::Record(r, len)) => (r, len),
                Ok(_) => return Err(self.read_error(io::ErrorKind::UnexpectedEof.into())),
                Err(e) => return Err(self.read_error(e)),
            };
            if next.next_if_eq(&&offset).is_some() {
                sink(&job_of(&r)).map_err(Error::Stopped)?;
                if let Some(out) = copy.as_deref_mut() {
                    encoded.clear();
                    let fields = [&r.unique[..], &r.function[..], &r.data[..]];
                    record::encode(&mut encoded, TAG_ADD, r.priority, r.when, fields)
                        .map_err(Error::TooLarge)?;
                    out.write_all(&encoded)
                        .map_err(|e| io_error("write", &compact_path(&self.path), e))?;
                }
            }
            offset += len;
        }
        Ok(())
    }

    /// Streams the live jobs into `tmp`, then puts `tmp` in the file's place, durably.
    fn compact_into(
        &mut self,
        tmp: &Path,
        live: &[u64],
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let io = |what| move |source| io_error(what, tmp, source);
        let file = File::create(tmp).map_err(io("create"))?;
        let mut copy = BufWriter::with_capacity(64 * 1024, file);
        copy.write_all(MAGIC).map_err(io("write"))?;
        self.stream(live, sink, Some(&mut copy))?;
        let file = copy.into_inner().map_err(|e| io("write")(e.into_error()))?;
        file.sync_all().map_err(io("sync"))?;
        std::fs::rename(tmp, &self.path).map_err(io("rename"))?;
        sync_parent(&self.path)?;
        self.out = BufWriter::with_capacity(64 * 1024, open_for_append(&self.path)?);
        log::info!(
            "{}: compacted to {} live jobs",
            self.path.display(),
            live.len()
        );
        Ok(())
    }

    /// A reader positioned after the magic, and the file's length.
    fn reader(&self) -> Result<(BufReader<File>, u64), Error> {
        let file = File::open(&self.path).map_err(|e| io_error("open", &self.path, e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error("stat", &self.path, e))?
            .len();
        let mut input = BufReader::with_capacity(64 * 1024, file);
        let mut magic = [0u8; MAGIC.len()];
        input
            .read_exact(&mut magic)
            .map_err(|e| self.read_error(e))?;
        Ok((input, len))
    }

    fn read_error(&self, e: io::Error) -> Error {
        io_error("read", &self.path, e)
    }
}

fn job_of(r: &Record) -> QueueJob<'_> {
    QueueJob {
        unique: &r.unique,
        function: &r.function,
        data: &r.data,
        priority: Priority::from_u32(r.priority),
        when: r.when,
    }
}

/// Opens the file for appending, writing the magic into a new (empty) file and checking it in
/// an existing one.
fn open_for_append(path: &Path) -> Result<File, Error> {
    let io = |what| move |source| io_error(what, path, source);
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(io("open"))?;
    let len = file.metadata().map_err(io("stat"))?.len();
    if len == 0 {
        file.write_all(MAGIC).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        return Ok(file);
    }
    let mut magic = [0u8; MAGIC.len()];
    let read = File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    match read {
        Ok(()) if &magic == MAGIC => Ok(file),
        _ => Err(Error::NotAppendFile(path.to_path_buf())),
    }
}

/// Syncs the directory holding `path`, so a rename inside it survives a crash.
fn sync_parent(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync the directory of", path, e))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `<path>.lock`: locked while an instance lives.
pub fn lock_path(path: &Path) -> PathBuf {
    with_suffix(path, ".lock")
}

/// `<path>.compact`: the compacted copy being written during a replay.
pub fn compact_path(path: &Path) -> PathBuf {
    with_suffix(path, ".compact")
}

fn io_error(what: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}
