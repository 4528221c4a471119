//! The tokyocabinet queue against real database files (hash `.tch` and B+tree `.tcb`): round
//! trips of every kind of job across close and reopen, C gearmand's byte layout in both
//! directions, key collisions of names containing `-`, and clear errors for bad options.
//! Without `libtokyocabinet.so.9` installed each test skips loudly (fails under CI).

use gearmand_plugin_api::{Options, Priority, QueueJob, QueuePlugin};
use gearmand_queue_testkit::skip;
use gearmand_queue_tokyocabinet::{load_library, Adb, TokyoCabinetQueue};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A job as the tests keep it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Job {
    function: Vec<u8>,
    unique: Vec<u8>,
    data: Vec<u8>,
    priority: Priority,
    when: i64,
}

impl Job {
    fn new(function: &[u8], unique: &[u8], data: &[u8], priority: Priority, when: i64) -> Job {
        Job {
            function: function.to_vec(),
            unique: unique.to_vec(),
            data: data.to_vec(),
            priority,
            when,
        }
    }
    fn as_queue_job(&self) -> QueueJob<'_> {
        QueueJob {
            unique: &self.unique,
            function: &self.function,
            data: &self.data,
            priority: self.priority,
            when: self.when,
        }
    }
}

/// Every odd kind of job the issue lists.
fn odd_jobs() -> Vec<Job> {
    vec![
        Job::new(b"fn", b"u1", b"plain", Priority::Normal, 0),
        Job::new(b"fn", b"u2", b"high", Priority::High, 0),
        Job::new(b"fn", b"u3", b"low", Priority::Low, 0),
        Job::new(b"fn", b"epoch", b"later", Priority::Normal, 4_102_444_800),
        Job::new(b"fn", b"empty-data", b"", Priority::Low, 0),
        Job::new(b"fn", b"", b"empty unique", Priority::Normal, 0),
        Job::new(b"fn", b"bin", b"bin\0ary\0\xff\xfe", Priority::High, 0),
        Job::new(b"fn-x", b"uniq-1", b"dash function", Priority::Normal, 0),
        Job::new(b"f'n\\", b"u'\\\"", b"quotes", Priority::Normal, 0),
        Job::new(b"f\xc3\x28", b"u\xff\x80", b"non-utf8", Priority::Low, 17),
        Job::new(b"sp ace", b"tab\tnl\n", b"whitespace", Priority::Normal, 0),
    ]
}

/// A temporary directory removed at drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gearmand-tc-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the library loads; otherwise a loud SKIP naming it (a failure under CI).
fn have_library() -> bool {
    load_library().map_err(|e| skip(&e.to_string())).is_ok()
}

fn open(file: &str) -> TokyoCabinetQueue {
    TokyoCabinetQueue::create(&Options::from_pairs([("libtokyocabinet-file", file)])).unwrap()
}

fn replay_all(q: &mut TokyoCabinetQueue) -> Vec<Job> {
    let mut out = Vec::new();
    q.replay(&mut |j: &QueueJob<'_>| {
        out.push(Job::new(j.function, j.unique, j.data, j.priority, j.when));
        Ok(())
    })
    .unwrap();
    out.sort();
    out
}

fn sorted(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort();
    jobs
}

/// Add everything, close, reopen, replay; finish half, close, reopen, replay the rest.
fn round_trip(file: &str) {
    let jobs = odd_jobs();
    {
        let mut q = open(file);
        assert!(replay_all(&mut q).is_empty());
        for j in &jobs {
            q.add(&j.as_queue_job()).unwrap();
        }
        q.flush().unwrap();
        q.shutdown();
    }
    let mut q = open(file);
    assert_eq!(replay_all(&mut q), sorted(jobs.clone()));
    let (finished, left) = jobs.split_at(jobs.len() / 2);
    for j in finished {
        q.done(&j.unique, &j.function).unwrap();
    }
    // Finishing a job that is not stored is not an error.
    q.done(b"nope", b"nothing").unwrap();
    q.flush().unwrap();
    drop(q);
    let mut q = open(file);
    assert_eq!(replay_all(&mut q), sorted(left.to_vec()));
}

#[test]
fn round_trip_hash_file() {
    if !have_library() {
        return;
    }
    let dir = TempDir::new();
    round_trip(&dir.file("q.tch"));
}

#[test]
fn round_trip_btree_file() {
    if !have_library() {
        return;
    }
    let dir = TempDir::new();
    round_trip(&dir.file("q.tcb"));
}

#[test]
fn writes_c_gearmand_layout() {
    if !have_library() {
        return;
    }
    let dir = TempDir::new();
    for name in ["q.tch", "q.tcb"] {
        let file = dir.file(name);
        let mut q = open(&file);
        let job = Job::new(b"fn", b"u1", b"da\0ta", Priority::Low, 1_700_000_000);
        q.add(&job.as_queue_job()).unwrap();
        q.flush().unwrap();
        drop(q);
        let db = Adb::open(&file).unwrap();
        assert_eq!(
            db.get(b"fn-u1").unwrap().as_deref(),
            Some(&b"fn\0u1\x0021700000000\0da\0ta"[..]),
            "{name}"
        );
    }
}

#[test]
fn reads_records_written_the_c_way() {
    if !have_library() {
        return;
    }
    // C gearmand's _libtokyocabinet_add, reproduced byte for byte (it is not in Debian's build).
    let dir = TempDir::new();
    let file = dir.file("c.tch");
    {
        let mut db = Adb::open(&file).unwrap();
        db.put(b"reverse-abc", b"reverse\0abc\x0000\0hello")
            .unwrap();
        db.put(b"fn-x-u", b"fn-x\0u\x00117\0").unwrap();
        db.put(b"broken", b"no nul at all").unwrap();
        db.sync().unwrap();
    }
    let mut q = open(&file);
    assert_eq!(
        replay_all(&mut q),
        vec![
            Job::new(b"fn-x", b"u", b"", Priority::Normal, 17),
            Job::new(b"reverse", b"abc", b"hello", Priority::High, 0),
        ],
        "the malformed record is skipped, the others replay"
    );
}

#[test]
fn ambiguous_keys_keep_both_jobs() {
    if !have_library() {
        return;
    }
    let dir = TempDir::new();
    for name in ["amb.tch", "amb.tcb"] {
        let file = dir.file(name);
        let mut q = open(&file);
        let first = Job::new(b"a-b", b"c", b"first", Priority::Normal, 0);
        let second = Job::new(b"a", b"b-c", b"second", Priority::High, 5);
        q.add(&first.as_queue_job()).unwrap();
        q.add(&second.as_queue_job()).unwrap();
        q.flush().unwrap();
        drop(q);
        // The first job keeps C gearmand's key and record; the second is stored under the
        // extended key, in the same record layout.
        {
            let db = Adb::open(&file).unwrap();
            assert_eq!(
                db.get(b"a-b-c").unwrap().as_deref(),
                Some(&b"a-b\0c\x0010\0first"[..]),
                "{name}"
            );
            assert_eq!(
                db.get(b"\0gmx\0a\0b-c").unwrap().as_deref(),
                Some(&b"a\0b-c\x0005\0second"[..]),
                "{name}"
            );
        }
        let mut q = open(&file);
        assert_eq!(
            replay_all(&mut q),
            sorted(vec![first.clone(), second.clone()])
        );
        // Re-adding the second job overwrites it where it is (never two records of one job).
        let again = Job::new(b"a", b"b-c", b"again", Priority::Low, 0);
        q.add(&again.as_queue_job()).unwrap();
        assert_eq!(
            replay_all(&mut q),
            sorted(vec![first.clone(), again.clone()])
        );
        // Finishing one job never touches the other's record, in either order of keys.
        q.done(b"b-c", b"a").unwrap();
        q.flush().unwrap();
        assert_eq!(replay_all(&mut q), vec![first.clone()]);
        q.add(&again.as_queue_job()).unwrap();
        q.done(b"c", b"a-b").unwrap();
        q.flush().unwrap();
        assert_eq!(replay_all(&mut q), vec![again.clone()]);
        q.done(b"b-c", b"a").unwrap();
        q.flush().unwrap();
        assert!(replay_all(&mut q).is_empty(), "{name}");
    }
}

#[test]
fn options_and_errors() {
    if !have_library() {
        return;
    }
    let err = TokyoCabinetQueue::create(&Options::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--libtokyocabinet-file"), "{err}");
    let err = TokyoCabinetQueue::create(&Options::from_pairs([(
        "libtokyocabinet-file",
        "/nonexistent-dir/q.tch",
    )]))
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("/nonexistent-dir/q.tch") && err.contains("tcadbopen"),
        "{err}"
    );
    // Optimize off (possible from the config file) and on both open an existing file.
    let dir = TempDir::new();
    let file = dir.file("opt.tcb");
    for optimize in ["false", "true"] {
        let mut q = TokyoCabinetQueue::create(&Options::from_pairs([
            ("libtokyocabinet-file", file.as_str()),
            ("libtokyocabinet-optimize", optimize),
        ]))
        .unwrap();
        let j = Job::new(b"f", optimize.as_bytes(), b"d", Priority::Normal, 0);
        q.add(&j.as_queue_job()).unwrap();
        q.flush().unwrap();
    }
    assert_eq!(replay_all(&mut open(&file)).len(), 2);
}
