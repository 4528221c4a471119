//! The memcached queue plugin (`-q memcached`, alias `libmemcached`), in C gearmand's layout.
//!
//! - [`layout`]: keys and values (C-compatible plain items; extended items for what C gearmand
//!   cannot express: epoch jobs, functions containing `-`, names memcached keys cannot hold).
//! - [`client`]: a small text-protocol client with timeouts, batching and reconnects.
//! - [`dump`]: listing keys for replay (`lru_crawler metadump`, else `stats cachedump`).
//! - [`servers`]: the server list and libmemcached-compatible key placement.
//! - [`error`]: what can go wrong, as the host shows it.
//!
//! What memcached cannot guarantee: it is a cache. Items are stored without expiry, but memcached
//! evicts items when it runs out of memory (start it with `-M` to refuse writes instead), a
//! restart of memcached loses every job, and nothing is ever written to disk. `flush` sends the
//! batched writes (one round trip per server for many jobs) and waits for `STORED`, which is as
//! durable as memcached gets.

pub mod client;
pub mod dump;
pub mod error;
pub mod layout;
pub mod servers;

use client::{McError, Server};
use dump::DumpError;
pub use error::Error;
use gearmand_plugin_api::{OptionDef, Options, PluginInfo, QueueJob, QueuePlugin, ReplayStopped};
use layout::{Keys, Space};

gearmand_plugin_api::export_queue_plugin!(MemcachedQueue);

const OPT_SERVERS: &str = "libmemcached-servers";
const OPT_PREFIX: &str = "libmemcached-prefix";
const DEFAULT_PREFIX: &str = "gear_";
/// Keys per `get` during replay.
const GET_BATCH: usize = 100;

/// The plugin instance.
pub struct MemcachedQueue {
    servers: Vec<Server>,
    keys: Keys,
}

impl PluginInfo for MemcachedQueue {
    const NAME: &'static str = "memcached";
    const ALIASES: &'static [&'static str] = &["libmemcached"];
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "memcached queue (items <prefix><function>-<unique>)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(OPT_SERVERS, "List of Memcached servers to use.", None),
        OptionDef::value(
            OPT_PREFIX,
            "Prefix to use in memcached keys",
            Some(DEFAULT_PREFIX),
        ),
    ];
}

impl MemcachedQueue {
    fn server_for(&mut self, key: &[u8]) -> &mut Server {
        let n = servers::pick(key, self.servers.len());
        &mut self.servers[n]
    }

    /// Sends every server's pending batch; reports the first failure.
    fn execute_all(&mut self, what: &'static str) -> Result<(), Error> {
        let mut first = None;
        for server in self.servers.iter_mut().filter(|s| s.has_pending()) {
            if let Err(source) = server.execute() {
                let addr = server.addr().to_string();
                let e = Error::Failed { addr, what, source };
                log::error!("{e}");
                first = first.or(Some(e));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Replays the items of server `index`.
    fn replay_server(
        &mut self,
        index: usize,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<usize, Error> {
        let keys = self.keys.clone();
        let server = &mut self.servers[index];
        let addr = server.addr().to_string();
        let fail = |what: &'static str, source: McError| Error::Failed {
            addr: addr.clone(),
            what,
            source,
        };
        let describe = |e: DumpError<ReplayStopped>| match e {
            DumpError::Mc(e) => fail("reading items", e),
            DumpError::Consumer(stop) => Error::Stopped(stop),
        };
        let mut listing = server.connect_new().map_err(|e| fail("connect", e))?;
        let mut batch = Vec::with_capacity(GET_BATCH);
        let mut count = 0usize;
        let mut each = |key: Vec<u8>| -> Result<(), Error> {
            if keys.classify(&key).is_none() {
                return Ok(());
            }
            batch.push(key);
            if batch.len() == GET_BATCH {
                count += load(server, &keys, &mut batch, sink).map_err(&describe)?;
            }
            Ok(())
        };
        let method = dump::list_keys(&mut listing, &mut each).map_err(|e| match e {
            DumpError::Mc(e) => fail("listing keys", e),
            DumpError::Consumer(e) => e,
        })?;
        count += load(server, &keys, &mut batch, sink).map_err(describe)?;
        log::info!("memcached {addr}: replayed {count} job(s), keys listed by {method:?}");
        Ok(count)
    }
}

/// Fetches the items of `batch` (emptying it) and hands the jobs to `sink`.
/// Items gone since the listing are skipped, as are items that do not parse (logged).
fn load(
    server: &mut Server,
    keys: &Keys,
    batch: &mut Vec<Vec<u8>>,
    sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
) -> Result<usize, DumpError<ReplayStopped>> {
    if batch.is_empty() {
        return Ok(0);
    }
    let items = server.get_many(batch)?;
    batch.clear();
    let mut count = 0;
    for item in items {
        match keys.decode(&item.key, item.flags, &item.value) {
            Ok(r) => {
                sink(&QueueJob {
                    unique: &r.unique,
                    function: &r.function,
                    data: &r.data,
                    priority: r.priority,
                    when: r.when,
                })
                .map_err(DumpError::Consumer)?;
                count += 1;
            }
            Err(e) => log::warn!(
                "memcached: skipping item {:?}: {e}",
                String::from_utf8_lossy(&item.key)
            ),
        }
    }
    Ok(count)
}

impl QueuePlugin for MemcachedQueue {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let list = options
            .get(OPT_SERVERS)
            .filter(|l| !l.trim().is_empty())
            .ok_or(Error::MissingServers)?;
        let prefix = options
            .get_bytes(OPT_PREFIX)
            .unwrap_or(DEFAULT_PREFIX.as_bytes())
            .to_vec();
        if prefix.len() > 200 || prefix.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err(Error::BadPrefix);
        }
        let mut servers: Vec<Server> = servers::parse(&list)?
            .into_iter()
            .map(Server::new)
            .collect();
        for server in &mut servers {
            let version = server.version().map_err(|source| Error::Unreachable {
                addr: server.addr().to_string(),
                source,
            })?;
            log::info!("memcached queue at {} (memcached {version})", server.addr());
        }
        Ok(MemcachedQueue {
            servers,
            keys: Keys::new(&prefix),
        })
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let (space, key) = self.keys.key_for(job.function, job.unique, job.when)?;
        let value = match space {
            Space::Plain => job.data.to_vec(),
            Space::Extended => {
                layout::encode_extended(job.function, job.unique, job.data, job.priority, job.when)?
            }
        };
        // Remove the job's other form first, so one job never has two records.
        for other in self.keys.all_keys(job.function, job.unique) {
            if other != key {
                self.server_for(&other).push_delete(&other);
            }
        }
        self.server_for(&key)
            .push_set(&key, job.priority as u32, &value);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.execute_all("storing jobs")
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        for key in self.keys.all_keys(function, unique) {
            self.server_for(&key).push_delete(&key);
        }
        // Sent now, after any batched adds (same server, same order).
        self.execute_all("removing a finished job")
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        for index in 0..self.servers.len() {
            self.replay_server(index, sink)?;
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        let _ = self.flush();
    }
}
