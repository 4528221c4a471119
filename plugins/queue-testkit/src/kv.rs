//! The contract checks the key-value queue plugins (redis, memcached) share, each written once as
//! a generic function and called from one `#[test]` per backend under its own name. Neither keeps
//! an order, so replays are compared as sets.

use crate::cgearmand::CGearmand;
use crate::job::{odd_kv_jobs, replay_all, sorted, Job};
use gearmand_plugin_api::{Priority, QueuePlugin};
use std::ffi::OsStr;

/// Every odd job is stored by one flush, survives a clean shutdown, replays from a fresh queue,
/// and `done` removes exactly the jobs it names (a job never stored is not an error).
pub fn round_trip_of_every_kind_of_job<Q: QueuePlugin>(open: impl Fn() -> Q) {
    let jobs = odd_kv_jobs();
    {
        let mut q = open();
        assert!(replay_all(&mut q).is_empty());
        for j in &jobs {
            q.add(&j.as_queue_job()).unwrap();
        }
        q.flush().unwrap();
        q.shutdown();
    }
    let mut q = open();
    let got = sorted(replay_all(&mut q));
    // Named first: with a hundred-kilobyte job in the list the full comparison is hard to read.
    let missing: Vec<&Job> = jobs.iter().filter(|j| !got.contains(j)).collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    assert_eq!(got, sorted(jobs.clone()));
    let (finished, left) = jobs.split_at(jobs.len() / 2);
    for j in finished {
        q.done(&j.unique, &j.function).unwrap();
    }
    q.done(b"never", b"stored").unwrap();
    drop(q);
    assert_eq!(sorted(replay_all(&mut open())), sorted(left.to_vec()));
}

/// 2,500 jobs (every seventh an epoch job) in one group commit replay in full from a fresh queue
/// (more than one batch of keys), and `done` for each leaves nothing.
pub fn many_jobs_in_one_group_commit_replay_in_batches<Q: QueuePlugin>(open: impl Fn() -> Q) {
    let mut q = open();
    let jobs: Vec<Job> = (0..2500)
        .map(|i| {
            let when = if i % 7 == 0 { 2_000_000_000 + i } else { 0 };
            Job::new(
                format!("u{i}").as_bytes(),
                b"many",
                b"d",
                Priority::Low,
                when,
            )
        })
        .collect();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut open())), sorted(jobs.clone()));
    for j in &jobs {
        q.done(&j.unique, &j.function).unwrap();
    }
    assert!(replay_all(&mut q).is_empty());
}

/// Plain jobs this plugin stores in `ours` are replayed by C gearmand started with `c_args`, which
/// runs them with a `gearman -w` worker (high priority first where `c_keeps_priority`) and
/// deletes them; an epoch job, which C cannot read, stays for us. `after_c_stops` checks the
/// backend's own keys with C gearmand stopped (its log still readable).
pub fn plain_jobs_stored_here_are_run_by_c_gearmand<Q: QueuePlugin>(
    ours: &mut Q,
    c_args: &[impl AsRef<OsStr>],
    c_keeps_priority: bool,
    after_c_stops: impl FnOnce(&CGearmand),
) {
    let epoch = Job::new(b"e", b"ofn", b"later", Priority::Normal, 4_102_444_800);
    for j in [
        Job::new(b"o1", b"ofn", b"one", Priority::Normal, 0),
        Job::new(b"o2", b"ofn", b"two", Priority::High, 0),
        Job::new(b"o3", b"ofn", b"three", Priority::Low, 0),
        epoch.clone(),
    ] {
        ours.add(&j.as_queue_job()).unwrap();
    }
    ours.flush().unwrap();
    let Some(mut c) = CGearmand::start(c_args) else {
        return;
    };
    let queued = ("ofn".to_string(), 3, 0, 0);
    assert!(c.status().contains(&queued), "{:?}", c.status());
    let Some(worked) = c.work("ofn", 3) else {
        return;
    };
    let each_once = [
        "onetwothree",
        "onethreetwo",
        "twoonethree",
        "twothreeone",
        "threeonetwo",
        "threetwoone",
    ];
    assert!(each_once.contains(&worked.as_str()), "{worked:?}");
    if c_keeps_priority {
        assert!(worked.starts_with("two"), "high priority first: {worked:?}");
    }
    c.stop();
    after_c_stops(&c);
    assert_eq!(replay_all(ours), vec![epoch], "the epoch job waits for us");
}

/// Stores (one flush) the three jobs a layout test reads back raw: `plain`, which C gearmand's
/// layout holds (binary data, low priority); `epoch` and `dashed` (a `-` in the function name),
/// which only the extended form holds. Returns `[plain, epoch, dashed]`.
pub fn store_layout_samples<Q: QueuePlugin>(q: &mut Q) -> [Job; 3] {
    let plain = Job::new(b"u-1", b"fn", b"da\0ta", Priority::Low, 0);
    let epoch = Job::new(b"e", b"fn", b"later", Priority::High, 1_900_000_000);
    let dashed = Job::new(b"u", b"f-n", b"x", Priority::Normal, 0);
    for j in [&plain, &epoch, &dashed] {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    [plain, epoch, dashed]
}
