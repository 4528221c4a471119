//! The job every queue plugin test keeps (owned bytes, ordered for comparisons), the odd jobs every
//! backend must round-trip, replay into owned jobs, and comparing replays in order or as a set.

use gearmand_plugin_api::{Priority, QueueJob, QueuePlugin};
use std::time::{SystemTime, UNIX_EPOCH};

/// A job with owned bytes, for comparing what went in with what came out.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    pub unique: Vec<u8>,
    pub function: Vec<u8>,
    pub data: Vec<u8>,
    pub priority: Priority,
    pub when: i64,
}

/// Bytes escaped and cut short, so a failed comparison stays readable.
fn short(b: &[u8]) -> String {
    let text: String = b
        .iter()
        .take(24)
        .flat_map(|c| c.escape_ascii())
        .map(char::from)
        .collect();
    if b.len() > 24 {
        format!("{text}...({} bytes)", b.len())
    } else {
        text
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Job({:?} {:?} {:?} {:?} when={})",
            short(&self.unique),
            short(&self.function),
            short(&self.data),
            self.priority,
            self.when
        )
    }
}

impl Job {
    /// Arguments in the order of the tables' columns and of [`QueuePlugin::done`]: unique first.
    pub fn new(unique: &[u8], function: &[u8], data: &[u8], priority: Priority, when: i64) -> Job {
        Job {
            unique: unique.to_vec(),
            function: function.to_vec(),
            data: data.to_vec(),
            priority,
            when,
        }
    }

    pub fn as_queue_job(&self) -> QueueJob<'_> {
        QueueJob {
            unique: &self.unique,
            function: &self.function,
            data: &self.data,
            priority: self.priority,
            when: self.when,
        }
    }
}

pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every kind of job and every awkward key and payload the issue names, that every backend can
/// store. The other odd jobs fit only some layouts, so they come from [`odd_sql_jobs`] and
/// [`odd_kv_jobs`].
pub fn odd_jobs() -> Vec<Job> {
    let later = now_epoch() + 3600;
    vec![
        Job::new(b"plain", b"fn", b"data", Priority::Normal, 0),
        Job::new(b"hi", b"fn", b"high", Priority::High, 0),
        Job::new(b"lo", b"fn", b"low", Priority::Low, 0),
        Job::new(b"u1", b"fn", b"plain", Priority::Normal, 0),
        Job::new(b"u2", b"fn", b"high", Priority::High, 0),
        Job::new(b"u3", b"fn", b"low", Priority::Low, 0),
        Job::new(b"epoch", b"fn", b"later", Priority::Normal, later),
        Job::new(b"epoch-lo", b"fn", b"later", Priority::Low, later),
        Job::new(b"bin", b"fn", b"bin\0ary\xff\x00\x01", Priority::Normal, 0),
        Job::new(b"bin-hi", b"fn", b"bin\0ary\0\xff\xfe", Priority::High, 0),
        Job::new(b"empty-data", b"fn", b"", Priority::Normal, 0),
        Job::new(b"empty-data-lo", b"fn", b"", Priority::Low, 0),
        Job::new(b"", b"fn-empty-unique", b"x", Priority::Normal, 0),
        Job::new(b"", b"fn", b"empty unique", Priority::Normal, 0),
        Job::new(b"dash-u-1", b"fn-x", b"d", Priority::Normal, 0),
        Job::new(b"uniq-1", b"fn-x", b"dash function", Priority::Normal, 0),
        // `fn-x` + `uniq-1` and `fn` + `x-uniq-1` are the same C key `fn-x-uniq-1`.
        Job::new(
            b"x-uniq-1",
            b"fn",
            b"looks like the dash job",
            Priority::Normal,
            0,
        ),
        Job::new(b"it's", b"o'brien", b"q'", Priority::Low, 0),
        Job::new(b"back\\slash", b"fn\\x", b"\\", Priority::Normal, 0),
        Job::new(b"u'\\\"", b"f'n\\", b"quotes", Priority::Normal, 0),
        Job::new(
            b"utf8 \xc3\xa9 \xe6\x97\xa5",
            b"fn",
            b"u",
            Priority::Normal,
            0,
        ),
        Job::new(b"raw \xff\xfe\x80", b"fn \xe9", b"n", Priority::High, 0),
        Job::new(b"u\xff\x80", b"f\xc3\x28", b"non-utf8", Priority::Low, 17),
        Job::new(b"tab\tnl\n", b"sp ace", b"whitespace", Priority::Normal, 0),
        Job::new(b"b", b"big", &[7u8; 100_000], Priority::Normal, 0),
    ]
}

/// [`odd_jobs`], a NUL inside a unique (memcached's NUL-separated extended items cannot hold it),
/// and the longest names C gearmand keeps, a 63-byte unique and a 200-byte function (a memcached
/// key is at most 250 bytes): the SQL tables hold both.
pub fn odd_sql_jobs() -> Vec<Job> {
    odd_jobs_and([
        Job::new(b"nul\0key", b"fn", b"k", Priority::Normal, 0),
        Job::new(&[b'u'; 63], &[b'f'; 200], &[7u8; 100_000], Priority::Low, 0),
    ])
}

/// [`odd_jobs`] and an epoch job after 2038: the key-value layouts hold it, the SQL tables'
/// `when_to_run` (a 32-bit int in MySQL and PostgreSQL) does not.
pub fn odd_kv_jobs() -> Vec<Job> {
    odd_jobs_and([Job::new(
        b"after-2038",
        b"fn",
        b"later",
        Priority::Low,
        4_102_444_800,
    )])
}

fn odd_jobs_and(extra: impl IntoIterator<Item = Job>) -> Vec<Job> {
    let mut jobs = odd_jobs();
    jobs.extend(extra);
    jobs
}

/// Sorted copies, to compare sets of jobs.
pub fn sorted(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort();
    jobs
}

/// Everything `q` replays, as owned jobs in replay order (wrap in [`sorted`] to compare sets).
pub fn replay_all<Q: QueuePlugin>(q: &mut Q) -> Vec<Job> {
    let mut out = Vec::new();
    q.replay(&mut |j: &QueueJob<'_>| {
        out.push(Job::new(j.unique, j.function, j.data, j.priority, j.when));
        Ok(())
    })
    .expect("replay");
    out
}

/// What a backend's replay promises about order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Rows come back in the order they were added (sqlite's rowid order).
    Insertion,
    /// Rows come back in any order: compared as sets.
    Any,
}

/// Asserts that `got` is `want`, in order or as a set.
pub fn assert_replayed(got: Vec<Job>, want: Vec<Job>, order: Order) {
    match order {
        Order::Insertion => assert_eq!(got, want),
        Order::Any => assert_eq!(sorted(got), sorted(want)),
    }
}
