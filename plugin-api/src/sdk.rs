//! The safe Rust SDK over the C ABI: implement a trait, call one export macro, write no `unsafe`.
//!
//! ```ignore
//! struct MyQueue { /* ... */ }
//! impl gearmand_plugin_api::QueuePlugin for MyQueue { /* ... */ }
//! gearmand_plugin_api::export_queue_plugin!(MyQueue);
//! ```
//!
//! The macro builds the static [`crate::abi::GmPluginHeader`] from the trait's constants, wraps
//! every call in `catch_unwind` (a panic becomes [`crate::abi::GmStatus::PANIC`] with its message),
//! and installs a `log` logger that forwards records to the host, tagged with the plugin's name.
//!
//! Errors are the plugin's own types (each trait's `type Error`); the host sees their `Display`
//! text, which the glue writes into the host's error buffer.

pub use crate::errors::{Refused, ReplayStopped};
use std::fmt;

/// An option the plugin accepts on the command line and in the config file.
#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    /// Long name without dashes: `libsqlite3-db`.
    pub name: &'static str,
    /// One-line help shown by `--help`.
    pub help: &'static str,
    /// Passed to `create` when the option is not given.
    pub default: Option<&'static str>,
    /// Short form, e.g. `Some('p')` for `-p`.
    pub short: Option<char>,
    /// False for a switch (its value is `"true"` when given).
    pub takes_value: bool,
    /// This option is another spelling of the named option (e.g. `libdrizzle-host` of `mysql-host`).
    pub alias_of: Option<&'static str>,
}

impl OptionDef {
    /// An option taking a value, with an optional default.
    pub const fn value(
        name: &'static str,
        help: &'static str,
        default: Option<&'static str>,
    ) -> Self {
        OptionDef {
            name,
            help,
            default,
            short: None,
            takes_value: true,
            alias_of: None,
        }
    }
    /// A switch.
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        OptionDef {
            name,
            help,
            default: None,
            short: None,
            takes_value: false,
            alias_of: None,
        }
    }
    /// Another spelling of `target`.
    pub const fn alias(name: &'static str, target: &'static str) -> Self {
        OptionDef {
            name,
            help: "",
            default: None,
            short: None,
            takes_value: true,
            alias_of: Some(target),
        }
    }
    /// The same option with a short form.
    pub const fn with_short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
}

/// The options the host resolved for this plugin (command line, config file, defaults), by
/// canonical name. An option that was not given and has no default is absent.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub(crate) values: Vec<(String, Vec<u8>)>,
}

impl Options {
    /// Builds an option set (used by the SDK glue and by plugin tests).
    pub fn from_pairs<I, K, V>(pairs: I) -> Options
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        Options {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
    /// The raw value of `name`.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
    /// The value of `name` as text (lossy for non-UTF-8).
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_bytes(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    /// A switch: given (any value but `false`/`0`) or not.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name).as_deref(), Some(v) if v != "false" && v != "0")
    }
}

/// Job priority as stored by queue backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Runs before normal and low jobs.
    High = 0,
    /// The default.
    Normal = 1,
    /// Runs after high and normal jobs.
    Low = 2,
}

impl Priority {
    /// From the stored number; anything unknown is normal.
    pub fn from_u32(p: u32) -> Priority {
        match p {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        }
    }
}

/// One background job as a queue stores it (borrowed).
#[derive(Debug, Clone, Copy)]
pub struct QueueJob<'a> {
    /// The job's unique id.
    pub unique: &'a [u8],
    /// The function name.
    pub function: &'a [u8],
    /// The job's payload.
    pub data: &'a [u8],
    /// The job's priority.
    pub priority: Priority,
    /// Epoch seconds when it may run; 0 = now.
    pub when: i64,
}

/// Metadata every plugin declares.
pub trait PluginInfo {
    /// Canonical lowercase name: the file is `libgearmand_queue_<NAME>.so` / `..._protocol_<NAME>.so`.
    const NAME: &'static str;
    /// Other names `-q`/`-r` accept, case-insensitively (the original's spellings).
    const ALIASES: &'static [&'static str] = &[];
    /// The plugin's own version.
    const VERSION: &'static str;
    /// One line for `--help`.
    const DESCRIPTION: &'static str;
    /// The options the plugin accepts (shown under its name in `--help`).
    const OPTIONS: &'static [OptionDef] = &[];
}

/// A persistent queue backend: the original's contract. Errors are the plugin's [`QueuePlugin::Error`],
/// shown by the host as the one line its `Display` writes.
///
/// The host calls an instance from one thread at a time (not always the same one).
///
/// The whole shape of a plugin (this one keeps jobs in memory only, which a real backend must
/// not do; see `contrib/example-queue-plugin` and the crate's README for a complete one):
///
/// ```
/// use gearmand_plugin_api::{OptionDef, Options, PluginInfo, Priority, QueueJob, QueuePlugin};
/// use gearmand_plugin_api::ReplayStopped;
///
/// /// What can go wrong, one variant per cause; `Display` is the line the host shows.
/// #[derive(Debug)]
/// pub enum MyError {
///     NoPath,
///     Stopped(ReplayStopped),
/// }
///
/// impl std::fmt::Display for MyError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             MyError::NoPath => f.write_str("mything: --mything-path is required"),
///             MyError::Stopped(e) => e.fmt(f),
///         }
///     }
/// }
///
/// impl From<ReplayStopped> for MyError {
///     fn from(e: ReplayStopped) -> MyError {
///         MyError::Stopped(e)
///     }
/// }
///
/// pub struct MyThing {
///     jobs: Vec<(Vec<u8>, Vec<u8>, Vec<u8>, Priority, i64)>,
/// }
///
/// impl PluginInfo for MyThing {
///     const NAME: &'static str = "mything"; // -q mything, file libgearmand_queue_mything.so
///     const VERSION: &'static str = "0.1.0";
///     const DESCRIPTION: &'static str = "My queue";
///     const OPTIONS: &'static [OptionDef] = &[OptionDef::value("mything-path", "File.", None)];
/// }
///
/// impl QueuePlugin for MyThing {
///     type Error = MyError;
///     fn create(options: &Options) -> Result<Self, MyError> {
///         let _path = options.get("mything-path").ok_or(MyError::NoPath)?;
///         Ok(MyThing { jobs: Vec::new() })
///     }
///     fn add(&mut self, j: &QueueJob<'_>) -> Result<(), MyError> {
///         self.done(j.unique, j.function)?; // a second add of a key replaces it
///         let job = (j.unique.to_vec(), j.function.to_vec(), j.data.to_vec());
///         self.jobs.push((job.0, job.1, job.2, j.priority, j.when));
///         Ok(())
///     }
///     fn flush(&mut self) -> Result<(), MyError> {
///         Ok(())
///     }
///     fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), MyError> {
///         self.jobs.retain(|j| !(j.0 == unique && j.1 == function));
///         Ok(()) // a missing job is not an error
///     }
///     fn replay(
///         &mut self,
///         sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
///     ) -> Result<(), MyError> {
///         for (unique, function, data, priority, when) in &self.jobs {
///             let (priority, when) = (*priority, *when);
///             // `?`: the host's error stops the replay at once.
///             sink(&QueueJob { unique, function, data, priority, when })?;
///         }
///         Ok(())
///     }
/// }
///
/// gearmand_plugin_api::export_queue_plugin!(MyThing);
///
/// // Tests can drive the trait directly.
/// let mut q = MyThing::create(&Options::from_pairs([("mything-path", "/tmp/q")])).unwrap();
/// let job = QueueJob { unique: b"u", function: b"f", data: b"\0", priority: Priority::High, when: 0 };
/// q.add(&job).unwrap();
/// let mut n = 0;
/// q.replay(&mut |j| { n += 1; assert_eq!(j.data, b"\0"); Ok(()) }).unwrap();
/// assert_eq!(n, 1);
/// ```
pub trait QueuePlugin: PluginInfo + Send + Sized + 'static {
    /// What can go wrong: the host shows its `Display` text as one line (`Debug` lets tests
    /// `unwrap`).
    type Error: fmt::Display + fmt::Debug;
    /// Connects / opens storage. A failure stops the server's startup with this message.
    fn create(options: &Options) -> Result<Self, Self::Error>;
    /// Stores a new background job; durable once `flush` returns Ok.
    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Self::Error>;
    /// ABI 1.2: stores many new jobs at once, as `add` on each of them in order would, and
    /// returns the ones refused on their own as (index in `jobs`, reason); the others are stored
    /// (durable once `flush` returns Ok). The server hands its whole group of new jobs here, so
    /// override it when your storage can take many jobs in fewer round trips than one per job
    /// (a database: a multi-row INSERT). An `Err` refuses every job of the batch, so none of
    /// them may be stored (roll back what you did).
    ///
    /// The default calls [`QueuePlugin::add`] once per job; a panic in one `add` refuses that job
    /// only, as separate calls would.
    #[allow(clippy::type_complexity)]
    fn add_batch(
        &mut self,
        jobs: &[QueueJob<'_>],
    ) -> Result<Vec<(usize, Refused<Self::Error>)>, Self::Error> {
        let mut refused = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.add(job)));
            match added {
                Ok(Ok(())) => {}
                Ok(Err(e)) => refused.push((i, Refused::Error(e))),
                Err(payload) => {
                    let message = crate::export::panic_message(&*payload);
                    refused.push((i, Refused::Panicked(message)));
                }
            }
        }
        Ok(refused)
    }
    /// Makes all earlier `add`s and `done`s durable.
    fn flush(&mut self) -> Result<(), Self::Error>;
    /// Removes a finished job; a missing job is not an error.
    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Self::Error>;
    /// Hands every stored job to `sink`, streaming (never all rows at once); when the sink
    /// returns [`ReplayStopped`], stops and returns it inside `Self::Error`.
    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Self::Error>;
    /// ABI 1.4: what the host may assume of this instance, asked once after `create`. The
    /// default is a durable queue that stores jobs at submit; a queue with the original's
    /// `--store-queue-on-shutdown` answers from its options.
    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities::default()
    }
    /// Called once at exit, after a last `flush`.
    fn shutdown(&mut self) {}
}

/// What a queue instance declares to the host ([`QueuePlugin::capabilities`], ABI 1.4). The
/// host's own `builtin` queue is the one that is not durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCapabilities {
    /// Jobs survive a restart. A queue that is not durable is treated like `builtin`: its calls
    /// stay on the engine's thread and are not timed.
    pub durable: bool,
    /// Jobs are written at shutdown instead of at submit: the host skips `add` while running
    /// and, at exit, adds and flushes every job it still holds.
    pub store_on_shutdown: bool,
}

impl Default for QueueCapabilities {
    fn default() -> QueueCapabilities {
        QueueCapabilities {
            durable: true,
            store_on_shutdown: false,
        }
    }
}

impl QueueCapabilities {
    /// The [`crate::abi::queue_caps`] bits of these capabilities.
    pub fn bits(self) -> u32 {
        use crate::abi::queue_caps::*;
        (self.durable as u32 * DURABLE) | (self.store_on_shutdown as u32 * STORE_ON_SHUTDOWN)
    }

    /// The capabilities the [`crate::abi::queue_caps`] bits `bits` declare (unknown bits ignored).
    pub fn from_bits(bits: u32) -> QueueCapabilities {
        use crate::abi::queue_caps::*;
        QueueCapabilities {
            durable: bits & DURABLE != 0,
            store_on_shutdown: bits & STORE_ON_SHUTDOWN != 0,
        }
    }
}

/// What happens to the connection next, as a codec's `decode`, `encode` and `timeout` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep the connection; bytes `decode` did not consume are offered again with more.
    Continue,
    /// Close the connection after flushing what was written.
    Close,
}

/// Where a codec puts what it decoded and any bytes it answers with directly.
pub trait DecodeSink {
    /// Hands one request to the host: a gear packet type (or a host kind, `abi::kind::ADMIN_LINE`
    /// or `abi::kind::QUERY`) and its args.
    fn request(&mut self, kind: u32, args: &[&[u8]]);
    /// Bytes to send back at once (e.g. a protocol error).
    fn write(&mut self, bytes: &[u8]);
}

/// Where [`Codec::encode_to`] writes one response. Small pieces are gathered in a buffer the glue
/// reuses and handed to the host in one call; a piece of [`EncodeOut::PASS_MIN`] bytes or more
/// goes to the host directly, after what is buffered, so a big payload is copied once, into the
/// host's buffer.
pub struct EncodeOut<'a> {
    buf: &'a mut Vec<u8>,
    host: &'a mut dyn FnMut(&[u8]),
}

impl<'a> EncodeOut<'a> {
    /// Pieces at least this long skip the buffer: below it, one more host call costs more than
    /// the copy it saves.
    pub const PASS_MIN: usize = 2048;

    /// An output gathering into `buf` (cleared first) and handing bytes to `host`.
    pub fn new(buf: &'a mut Vec<u8>, host: &'a mut dyn FnMut(&[u8])) -> EncodeOut<'a> {
        buf.clear();
        EncodeOut { buf, host }
    }

    /// The buffer itself, for codecs that build their output in place; its bytes reach the host
    /// before anything put later.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    /// Appends `bytes`: copied into the buffer if small, handed over directly if large.
    pub fn put(&mut self, bytes: &[u8]) {
        if bytes.len() < Self::PASS_MIN {
            self.buf.extend_from_slice(bytes);
        } else {
            self.finish();
            (self.host)(bytes);
        }
    }

    /// Hands what is buffered to the host (the glue calls it after `encode_to`).
    pub fn finish(&mut self) {
        if !self.buf.is_empty() {
            (self.host)(self.buf);
            self.buf.clear();
        }
    }
}

/// Per-connection protocol state: bytes in, gear requests out; gear responses in, bytes out.
pub trait Codec: Send + 'static {
    /// Decodes whole requests from `input`; returns bytes consumed and whether to keep the connection.
    fn decode(&mut self, input: &[u8], sink: &mut dyn DecodeSink) -> (usize, Next);
    /// Encodes one response (a server-to-client packet type, `abi::kind::RAW` or
    /// `abi::kind::TABLE`) onto `out`.
    fn encode(&mut self, kind: u32, args: &[&[u8]], out: &mut Vec<u8>) -> Next;
    /// What the glue calls: [`Codec::encode`] through an [`EncodeOut`], which lets a codec hand
    /// big arguments to the host without first copying them into a buffer. The default encodes
    /// into the buffer with `encode`; override it with [`EncodeOut::put`] for large payloads.
    fn encode_to(&mut self, kind: u32, args: &[&[u8]], out: &mut EncodeOut<'_>) -> Next {
        self.encode(kind, args, out.buf())
    }
    /// ABI 1.1: how long from now until the host should call [`Codec::timeout`]; `None` (the
    /// default) for no deadline. Asked after opening and after every `decode`, `encode` and
    /// `timeout`; the latest answer replaces the earlier ones.
    fn deadline(&self) -> Option<std::time::Duration> {
        None
    }
    /// ABI 1.1: the deadline passed. Write any last bytes to `out` (an HTTP `408`, say) and say
    /// whether the connection stays. Called only after a deadline was given, so the default
    /// never runs; a codec that finds its deadline not yet due answers `Continue`.
    fn timeout(&mut self, _out: &mut Vec<u8>) -> Next {
        Next::Continue
    }
}

/// A protocol plugin: what port it listens on and a codec per connection.
pub trait ProtocolPlugin: PluginInfo + Send + Sync + Sized + 'static {
    /// The per-connection codec.
    type Codec: Codec;
    /// Why the protocol could not start: the host shows its `Display` text as one line.
    type Error: fmt::Display + fmt::Debug;
    /// Starts the protocol from its resolved options; a failure stops startup with this message.
    fn create(options: &Options) -> Result<Self, Self::Error>;
    /// Port number or service name; "0" = any free port.
    fn listen_port(&self) -> &str;
    /// A new connection from `peer`.
    fn open(&self, peer: &str) -> Self::Codec;
}

#[cfg(test)]
mod tests {
    use super::QueueCapabilities;

    #[test]
    fn queue_capabilities_round_trip_through_their_bits() {
        for durable in [false, true] {
            for store_on_shutdown in [false, true] {
                let caps = QueueCapabilities {
                    durable,
                    store_on_shutdown,
                };
                assert_eq!(QueueCapabilities::from_bits(caps.bits()), caps);
            }
        }
        assert_eq!(
            QueueCapabilities::default().bits(),
            crate::abi::queue_caps::DURABLE
        );
    }
}
