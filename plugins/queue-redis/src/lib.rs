//! The redis queue plugin (`-q redis`): background jobs as Redis hashes, in C gearmand's layout.
//!
//! - [`layout`]: key spaces and fields (C-compatible plain keys; extended keys for what C
//!   gearmand cannot express: epoch jobs and function names containing `-`).
//! - [`link`]: the connection, with timeouts and self-healing reconnects.
//! - `replay`: `SCAN`-based streaming replay.
//! - [`error`]: what can go wrong, as the host shows it.
//!
//! Group commit: `add` only queues its commands; `flush` sends everything queued since the last
//! flush as one `MULTI`/`EXEC` pipeline, so many submits share one round trip. Durability is
//! whatever the Redis server is configured for (`appendonly yes` + `appendfsync always` for
//! a job to survive a Redis crash; with the defaults a Redis crash loses recent writes).

pub mod error;
pub mod layout;
pub mod link;
mod replay;

pub use error::Error;
use gearmand_plugin_api::{OptionDef, Options, PluginInfo, QueueJob, QueuePlugin, ReplayStopped};
use layout::{Keys, Space};
use link::{Link, Target};

gearmand_plugin_api::export_queue_plugin!(RedisQueue);

const OPT_SERVER: &str = "redis-server";
const OPT_PORT: &str = "redis-port";
const OPT_PASSWORD: &str = "redis-password";
const OPT_PREFIX: &str = "redis-prefix";
const DEFAULT_PREFIX: &str = "_gear_";
const DEFAULT_SERVER: &str = "127.0.0.1";
const DEFAULT_PORT: &str = "6379";

/// The plugin instance.
pub struct RedisQueue {
    link: Link,
    keys: Keys,
    /// Commands of `add`s not yet sent (the group commit).
    pending: redis::Pipeline,
    pending_jobs: usize,
}

impl PluginInfo for RedisQueue {
    const NAME: &'static str = "redis";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Redis queue (hashes under <prefix>-<function>-<unique>)";
    const OPTIONS: &'static [OptionDef] = &[
        OptionDef::value(OPT_SERVER, "Redis server", Some(DEFAULT_SERVER)),
        OptionDef::value(OPT_PORT, "Redis server port/service", Some(DEFAULT_PORT)),
        OptionDef::value(OPT_PASSWORD, "Redis server password/service", None),
        OptionDef::value(
            OPT_PREFIX,
            "Prefix to use in redis keys",
            Some(DEFAULT_PREFIX),
        ),
    ];
}

/// A connection name `CLIENT SETNAME` accepts: no spaces or control bytes.
fn client_name(prefix: &[u8]) -> String {
    let tail: String = prefix
        .iter()
        .map(|&b| match b {
            b'!'..=b'~' => b as char,
            _ => '_',
        })
        .collect();
    format!("gearmand-queue:{tail}")
}

fn target(options: &Options, prefix: &[u8]) -> Result<Target, Error> {
    let host = options
        .get(OPT_SERVER)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.into());
    let port_text = options.get(OPT_PORT).unwrap_or_else(|| DEFAULT_PORT.into());
    let port = match port_text.trim().parse::<u16>() {
        Ok(port) => port,
        Err(_) => return Err(Error::BadPort(port_text)),
    };
    Ok(Target {
        host,
        port,
        password: options.get(OPT_PASSWORD).filter(|p| !p.is_empty()),
        client_name: client_name(prefix),
    })
}

impl RedisQueue {
    /// Sends the queued commands as one transaction.
    fn send_pending(&mut self, what: &'static str) -> Result<(), Error> {
        if self.pending_jobs == 0 {
            return Ok(());
        }
        // Whatever happens, these commands are settled: on failure the host reports the
        // jobs as not stored, so they must not be sent later.
        let mut pipe = std::mem::replace(&mut self.pending, redis::pipe());
        self.pending.atomic();
        self.pending_jobs = 0;
        pipe.atomic();
        self.link.run(what, |c| pipe.query::<()>(c))
    }
}

impl QueuePlugin for RedisQueue {
    type Error = Error;

    fn create(options: &Options) -> Result<Self, Error> {
        let prefix = options
            .get_bytes(OPT_PREFIX)
            .unwrap_or(DEFAULT_PREFIX.as_bytes())
            .to_vec();
        let link = Link::open(target(options, &prefix)?)?;
        log::info!(
            "redis queue at {} with prefix {:?}",
            link.address(),
            String::from_utf8_lossy(&prefix)
        );
        let mut pending = redis::pipe();
        pending.atomic();
        Ok(RedisQueue {
            link,
            keys: Keys::new(&prefix),
            pending,
            pending_jobs: 0,
        })
    }

    fn add(&mut self, job: &QueueJob<'_>) -> Result<(), Error> {
        let space = layout::space_for(job.function, job.when);
        let other = match space {
            Space::Plain => Space::Extended,
            Space::Extended => Space::Plain,
        };
        let key = self.keys.key(space, job.function, job.unique);
        // DEL first: clears a legacy string value or stale fields, and the job's other form.
        self.pending
            .cmd("DEL")
            .arg(&key)
            .arg(self.keys.key(other, job.function, job.unique))
            .ignore();
        // Field order matters to C gearmand: it reads `data` then `priority` by position.
        let hset = self
            .pending
            .cmd("HSET")
            .arg(&key)
            .arg(layout::F_DATA)
            .arg(job.data)
            .arg(layout::F_PRIORITY)
            .arg(job.priority as u32);
        if space == Space::Extended {
            hset.arg(layout::F_WHEN)
                .arg(job.when)
                .arg(layout::F_FUNCTION)
                .arg(job.function)
                .arg(layout::F_UNIQUE)
                .arg(job.unique);
        }
        hset.ignore();
        self.pending_jobs += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.send_pending("storing jobs")
    }

    fn done(&mut self, unique: &[u8], function: &[u8]) -> Result<(), Error> {
        // Both spaces: a job may have been written by C gearmand (plain, even with a `-` in
        // the function) or by us in either form. Sent now, after any queued adds, in order.
        self.pending
            .cmd("DEL")
            .arg(self.keys.key(Space::Plain, function, unique))
            .arg(self.keys.key(Space::Extended, function, unique))
            .ignore();
        self.pending_jobs += 1;
        self.send_pending("removing a finished job")
    }

    fn replay(
        &mut self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), Error> {
        let count = replay::replay(&mut self.link, &self.keys, sink)?;
        log::info!("redis: replayed {count} job(s)");
        Ok(())
    }

    fn shutdown(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{e}");
        }
    }
}
