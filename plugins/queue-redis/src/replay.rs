//! Streaming replay: `SCAN` both key spaces in batches and hand each job to the sink.
//!
//! Per batch of keys: one pipeline of `TYPE`s, then one pipeline of `HGETALL` (hashes) or `GET`
//! (legacy strings), so a million keys cost a few thousand round trips and never sit in memory
//! at once. `SCAN` may return a key twice; a duplicate with a non-empty unique collapses in the
//! server by unique coalescing, and keys with an empty unique are remembered and skipped.

use crate::error::Error;
use crate::layout::{self, Keys, Space};
use crate::link::Link;
use gearmand_plugin_api::{Priority, QueueJob, ReplayStopped};
use redis::Value;
use std::collections::{HashMap, HashSet};

/// Keys asked for per `SCAN` step.
const SCAN_COUNT: usize = 1000;

/// One job read back, owning its bytes.
struct Loaded {
    function: Vec<u8>,
    unique: Vec<u8>,
    data: Vec<u8>,
    priority: Priority,
    when: i64,
}

/// Why a key was not replayed (logged, never fatal).
#[derive(Debug)]
enum Skip {
    /// Not `<prefix>-<function>-<unique>`.
    BadKey,
    /// Neither a hash nor a string.
    WrongType(String),
    /// A hash without a `data` field (or without function/unique in the extended space).
    MissingField(&'static str),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::BadKey => write!(f, "not <prefix>-<function>-<unique>"),
            Skip::WrongType(t) => write!(f, "value is a {t}, not a hash or string"),
            Skip::MissingField(name) => write!(f, "hash has no `{name}` field"),
        }
    }
}

/// The sink as the plugin receives it.
pub type Sink<'s> = dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped> + 's;

/// Replays every job under `keys` from `link` into `sink`.
pub fn replay(link: &mut Link, keys: &Keys, sink: &mut Sink<'_>) -> Result<usize, Error> {
    let mut state = State {
        seen_empty_unique: HashSet::new(),
        count: 0,
        skipped: 0,
    };
    for space in [Space::Plain, Space::Extended] {
        let pattern = keys.pattern(space);
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = link.run("SCAN", |c| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(c)
            })?;
            state.batch(link, keys, space, &batch, sink)?;
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    if state.skipped > 0 {
        log::warn!("redis: {} key(s) skipped during replay", state.skipped);
    }
    Ok(state.count)
}

struct State {
    seen_empty_unique: HashSet<Vec<u8>>,
    count: usize,
    skipped: usize,
}

impl State {
    fn batch(
        &mut self,
        link: &mut Link,
        keys: &Keys,
        space: Space,
        batch: &[Vec<u8>],
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let types: Vec<String> = link.run("TYPE", |c| {
            let mut pipe = redis::pipe();
            for key in batch {
                pipe.cmd("TYPE").arg(key);
            }
            pipe.query(c)
        })?;
        let values: Vec<Value> = link.run("HGETALL", |c| {
            let mut pipe = redis::pipe();
            for (key, kind) in batch.iter().zip(&types) {
                match kind.as_str() {
                    "hash" => pipe.cmd("HGETALL").arg(key),
                    "string" => pipe.cmd("GET").arg(key),
                    _ => pipe.cmd("EXISTS").arg(key), // placeholder keeps replies aligned
                };
            }
            pipe.query(c)
        })?;
        for ((key, kind), value) in batch.iter().zip(&types).zip(values) {
            match load(keys, space, key, kind, value) {
                Ok(Some(job)) => self.emit(job, sink)?,
                Ok(None) => {} // vanished since SCAN
                Err(why) => {
                    log::warn!(
                        "redis: skipping key {:?}: {why}",
                        String::from_utf8_lossy(key)
                    );
                    self.skipped += 1;
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, job: Loaded, sink: &mut Sink<'_>) -> Result<(), Error> {
        if job.unique.is_empty() && !self.seen_empty_unique.insert(job.function.clone()) {
            return Ok(()); // SCAN returned this key twice
        }
        self.count += 1;
        Ok(sink(&QueueJob {
            unique: &job.unique,
            function: &job.function,
            data: &job.data,
            priority: job.priority,
            when: job.when,
        })?)
    }
}

/// Turns one key's value into a job; `Ok(None)` when the key no longer exists.
fn load(
    keys: &Keys,
    space: Space,
    key: &[u8],
    kind: &str,
    value: Value,
) -> Result<Option<Loaded>, Skip> {
    match kind {
        "none" => Ok(None),
        "string" => {
            let data: Option<Vec<u8>> = redis::from_owned_redis_value(value).unwrap_or(None);
            let Some(data) = data else { return Ok(None) };
            let (function, unique) = names_from_key(keys, space, key)?;
            Ok(Some(Loaded {
                function,
                unique,
                data,
                priority: Priority::Normal,
                when: 0,
            }))
        }
        "hash" => {
            let mut fields: HashMap<Vec<u8>, Vec<u8>> =
                redis::from_owned_redis_value(value).unwrap_or_default();
            if fields.is_empty() {
                return Ok(None);
            }
            from_hash(keys, space, key, &mut fields).map(Some)
        }
        other => Err(Skip::WrongType(other.to_string())),
    }
}

fn from_hash(
    keys: &Keys,
    space: Space,
    key: &[u8],
    fields: &mut HashMap<Vec<u8>, Vec<u8>>,
) -> Result<Loaded, Skip> {
    let data = fields
        .remove(layout::F_DATA.as_bytes())
        .ok_or(Skip::MissingField(layout::F_DATA))?;
    let number = |name: &str| -> Option<i64> {
        std::str::from_utf8(fields.get(name.as_bytes())?)
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let priority = number(layout::F_PRIORITY).map_or(Priority::Normal, |p| {
        Priority::from_u32(u32::try_from(p).unwrap_or(1))
    });
    let when = number(layout::F_WHEN).unwrap_or(0);
    // The stored names win; only plain keys may be split (as C gearmand does).
    let (function, unique) = match (
        fields.remove(layout::F_FUNCTION.as_bytes()),
        fields.remove(layout::F_UNIQUE.as_bytes()),
    ) {
        (Some(f), Some(u)) => (f, u),
        _ => names_from_key(keys, space, key)?,
    };
    Ok(Loaded {
        function,
        unique,
        data,
        priority,
        when,
    })
}

fn names_from_key(keys: &Keys, space: Space, key: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Skip> {
    match space {
        Space::Plain => keys
            .split_plain(key)
            .map(|(f, u)| (f.to_vec(), u.to_vec()))
            .ok_or(Skip::BadKey),
        Space::Extended => Err(Skip::MissingField(layout::F_FUNCTION)),
    }
}
