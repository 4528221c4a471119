//! The appendfile plugin through its safe trait, as the server uses it: create, replay once, add,
//! flush, done, drop (the server's destroy). Each test gets a fresh directory.
//!
//! These tests need nothing but this crate; the conformance kit in the gearmand repository
//! (`contrib/queue-conformance`) checks the same plugin through the server's own loader.

use gearmand_plugin_api::{Options, Priority, QueueJob, QueuePlugin, ReplayStopped};
use gearmand_queue_appendfile::store::{compact_path, lock_path};
use gearmand_queue_appendfile::{AppendFileQueue, OPT_FSYNC, OPT_PATH};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("appendfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("queue.af")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An owned job: (unique, function, data, priority, when).
type Owned = (Vec<u8>, Vec<u8>, Vec<u8>, Priority, i64);

fn open(path: &Path) -> Result<AppendFileQueue, String> {
    AppendFileQueue::create(&Options::from_pairs([(
        OPT_PATH,
        path.to_str().unwrap().as_bytes().to_vec(),
    )]))
    .map_err(|e| e.to_string())
}

fn job<'a>(unique: &'a [u8], data: &'a [u8]) -> QueueJob<'a> {
    QueueJob {
        unique,
        function: b"fn",
        data,
        priority: Priority::Normal,
        when: 0,
    }
}

fn replay(q: &mut AppendFileQueue) -> Vec<Owned> {
    let mut jobs = Vec::new();
    q.replay(&mut |j| {
        jobs.push((
            j.unique.to_vec(),
            j.function.to_vec(),
            j.data.to_vec(),
            j.priority,
            j.when,
        ));
        Ok(())
    })
    .unwrap();
    jobs
}

/// Restart as the server does: drop (destroy) the instance, create a new one, replay.
fn restart(q: AppendFileQueue, path: &Path) -> (AppendFileQueue, Vec<Owned>) {
    drop(q);
    let mut q = open(path).unwrap();
    let jobs = replay(&mut q);
    (q, jobs)
}

fn uniques(jobs: &[Owned]) -> Vec<&[u8]> {
    jobs.iter().map(|j| &j.0[..]).collect()
}

#[test]
fn jobs_survive_a_restart_with_every_field() {
    let dir = TempDir::new("roundtrip");
    let mut q = open(&dir.file()).unwrap();
    assert!(replay(&mut q).is_empty());
    let odd = QueueJob {
        unique: b"it's-\\ \xff",
        function: b"f n-'\\\xfe",
        data: b"\0bin\0",
        priority: Priority::High,
        when: 4_102_444_800,
    };
    q.add(&odd).unwrap();
    q.add(&job(b"", b"")).unwrap();
    q.flush().unwrap();
    let (_q, jobs) = restart(q, &dir.file());
    assert_eq!(
        jobs,
        vec![
            (
                odd.unique.to_vec(),
                odd.function.to_vec(),
                b"\0bin\0".to_vec(),
                Priority::High,
                4_102_444_800
            ),
            (vec![], b"fn".to_vec(), vec![], Priority::Normal, 0),
        ]
    );
}

#[test]
fn done_removes_and_replay_compacts_the_file() {
    let dir = TempDir::new("compact");
    let mut q = open(&dir.file()).unwrap();
    for u in [&b"a"[..], b"b", b"c"] {
        q.add(&job(u, &[b'x'; 1000])).unwrap();
    }
    q.done(b"b", b"fn").unwrap();
    q.done(b"never-added", b"fn").unwrap();
    q.flush().unwrap();
    let before = fs::metadata(dir.file()).unwrap().len();
    let (q, jobs) = restart(q, &dir.file());
    assert_eq!(uniques(&jobs), [&b"a"[..], b"c"]);
    let after = fs::metadata(dir.file()).unwrap().len();
    assert!(after < before, "compaction shrank {before} to {after}");
    assert!(!compact_path(&dir.file()).exists());
    // A compacted file replays the same, and is not rewritten again.
    let (_q, jobs) = restart(q, &dir.file());
    assert_eq!(uniques(&jobs), [&b"a"[..], b"c"]);
    assert_eq!(fs::metadata(dir.file()).unwrap().len(), after);
}

#[test]
fn a_second_add_of_a_key_replaces_it() {
    let dir = TempDir::new("replace");
    let mut q = open(&dir.file()).unwrap();
    q.add(&job(b"u", b"first")).unwrap();
    q.add(&job(b"u", b"second")).unwrap();
    q.flush().unwrap();
    let (mut q, jobs) = restart(q, &dir.file());
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].2, b"second");
    q.done(b"u", b"fn").unwrap();
    let (_q, jobs) = restart(q, &dir.file());
    assert!(jobs.is_empty());
}

#[test]
fn a_torn_tail_is_dropped_and_the_file_stays_usable() {
    let dir = TempDir::new("torn");
    let mut q = open(&dir.file()).unwrap();
    q.add(&job(b"kept", b"d")).unwrap();
    q.flush().unwrap();
    drop(q);
    // A crash in the middle of an append: half a record at the end.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(dir.file())
        .unwrap();
    f.write_all(&[40, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(f);
    let mut q = open(&dir.file()).unwrap();
    assert_eq!(uniques(&replay(&mut q)), [&b"kept"[..]]);
    q.add(&job(b"after", b"d")).unwrap();
    q.flush().unwrap();
    let (_q, jobs) = restart(q, &dir.file());
    assert_eq!(uniques(&jobs), [&b"kept"[..], b"after"]);
}

#[test]
fn a_stopped_replay_loses_nothing() {
    let dir = TempDir::new("stopped");
    let mut q = open(&dir.file()).unwrap();
    for u in [&b"a"[..], b"b", b"c"] {
        q.add(&job(u, b"d")).unwrap();
    }
    q.done(b"a", b"fn").unwrap();
    q.flush().unwrap();
    let (mut q, _) = restart(q, &dir.file());
    let bytes = fs::read(dir.file()).unwrap();
    let mut calls = 0;
    let stopped = q.replay(&mut |_| {
        calls += 1;
        Err(ReplayStopped::new(7))
    });
    let stopped = stopped.map_err(|e| e.to_string());
    assert_eq!(stopped, Err(ReplayStopped::new(7).to_string()));
    assert_eq!(calls, 1);
    assert_eq!(fs::read(dir.file()).unwrap(), bytes, "file untouched");
    let (_q, jobs) = restart(q, &dir.file());
    assert_eq!(uniques(&jobs), [&b"b"[..], b"c"]);
}

#[test]
fn one_queue_file_serves_one_server_at_a_time() {
    let dir = TempDir::new("lock");
    let q = open(&dir.file()).unwrap();
    let second = open(&dir.file()).err().unwrap();
    assert!(second.contains("in use"), "{second}");
    assert!(lock_path(&dir.file()).exists());
    drop(q);
    open(&dir.file()).unwrap();
}

#[test]
fn options_are_checked() {
    let dir = TempDir::new("options");
    let none = AppendFileQueue::create(&Options::default())
        .err()
        .unwrap()
        .to_string();
    assert!(none.contains("--appendfile-path is required"), "{none}");
    let path = dir.file().to_str().unwrap().to_string();
    let bad = AppendFileQueue::create(&Options::from_pairs([
        (OPT_PATH, path.clone()),
        (OPT_FSYNC, "sometimes".to_string()),
    ]))
    .err()
    .unwrap()
    .to_string();
    assert!(bad.contains("always or never"), "{bad}");
    let never = AppendFileQueue::create(&Options::from_pairs([
        (OPT_PATH, path),
        (OPT_FSYNC, "never".to_string()),
    ]));
    assert!(never.is_ok());
}

#[test]
fn a_file_that_is_not_a_queue_is_refused() {
    let dir = TempDir::new("foreign");
    fs::write(dir.file(), b"not a queue file").unwrap();
    let err = open(&dir.file()).err().unwrap();
    assert!(err.contains("not an appendfile queue"), "{err}");
    assert_eq!(fs::read(dir.file()).unwrap(), b"not a queue file");
}
