//! The tokyocabinet queue against real database files (hash `.tch` and B+tree `.tcb`): round
//! trips of every kind of job across close and reopen, C gearmand's byte layout in both
//! directions, key collisions of names containing `-`, and clear errors for bad options.
//! Without `libtokyocabinet.so.9` installed each test skips loudly (fails under CI).

use gearmand_plugin_api::{Options, Priority, QueuePlugin};
use gearmand_queue_testkit::{odd_kv_jobs, replay_all, skip, sorted, Job};
use gearmand_queue_tokyocabinet::{load_library, Adb, TokyoCabinetQueue};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Add everything, close, reopen, replay; finish half, close, reopen, replay the rest.
fn round_trip(file: &str) {
    let jobs = odd_kv_jobs();
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
    assert_eq!(sorted(replay_all(&mut q)), sorted(jobs.clone()));
    let (finished, left) = jobs.split_at(jobs.len() / 2);
    for j in finished {
        q.done(&j.unique, &j.function).unwrap();
    }
    // Finishing a job that is not stored is not an error.
    q.done(b"nope", b"nothing").unwrap();
    q.flush().unwrap();
    drop(q);
    let mut q = open(file);
    assert_eq!(sorted(replay_all(&mut q)), sorted(left.to_vec()));
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
        let job = Job::new(b"u1", b"fn", b"da\0ta", Priority::Low, 1_700_000_000);
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
        sorted(replay_all(&mut q)),
        sorted(vec![
            Job::new(b"u", b"fn-x", b"", Priority::Normal, 17),
            Job::new(b"abc", b"reverse", b"hello", Priority::High, 0),
        ]),
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
        let first = Job::new(b"c", b"a-b", b"first", Priority::Normal, 0);
        let second = Job::new(b"b-c", b"a", b"second", Priority::High, 5);
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
            sorted(replay_all(&mut q)),
            sorted(vec![first.clone(), second.clone()])
        );
        // Re-adding the second job overwrites it where it is (never two records of one job).
        let again = Job::new(b"b-c", b"a", b"again", Priority::Low, 0);
        q.add(&again.as_queue_job()).unwrap();
        assert_eq!(
            sorted(replay_all(&mut q)),
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
        let j = Job::new(optimize.as_bytes(), b"f", b"d", Priority::Normal, 0);
        q.add(&j.as_queue_job()).unwrap();
        q.flush().unwrap();
    }
    assert_eq!(replay_all(&mut open(&file)).len(), 2);
}
