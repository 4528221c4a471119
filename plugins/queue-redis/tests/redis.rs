//! The redis queue against the real Redis on 127.0.0.1:6379: round trips of every kind of job,
//! the exact C layout, legacy values, reconnection after `CLIENT KILL`, bounded failures, and
//! migration from and to Debian's C gearmand. Each test uses its own key prefix and removes its
//! keys afterwards. Without Redis the tests print a loud SKIP (and fail when CI=true).

use gearmand_plugin_api::{Options, Priority, QueuePlugin};
use gearmand_queue_redis::layout::{Keys, Space};
use gearmand_queue_redis::link::{CONNECT_TIMEOUT, IO_TIMEOUT};
use gearmand_queue_redis::RedisQueue;
use gearmand_queue_testkit::*;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A unique key prefix whose keys are deleted at drop, plus a raw connection for checks.
struct Scratch {
    prefix: String,
    raw: redis::Connection,
}

impl Scratch {
    /// `None` (after a loud SKIP) when Redis is not reachable.
    fn new(tag: &str) -> Option<Scratch> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let client = redis::Client::open("redis://127.0.0.1:6379/").unwrap();
        let raw = match client.get_connection_with_timeout(Duration::from_secs(2)) {
            Ok(raw) => raw,
            Err(e) => {
                skip(&format!("redis not reachable at 127.0.0.1:6379 ({e})"));
                return None;
            }
        };
        let prefix = format!(
            "gmt{}{tag}{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut s = Scratch { prefix, raw };
        s.clean();
        Some(s)
    }

    fn options(&self) -> Options {
        Options::from_pairs([
            ("redis-server", "127.0.0.1"),
            ("redis-port", "6379"),
            ("redis-prefix", self.prefix.as_str()),
        ])
    }

    fn queue(&self) -> RedisQueue {
        RedisQueue::create(&self.options()).unwrap()
    }

    fn keys(&self) -> Keys {
        Keys::new(self.prefix.as_bytes())
    }

    /// Every key of both spaces.
    fn all_keys(&mut self) -> Vec<Vec<u8>> {
        let keys = self.keys();
        let mut out = Vec::new();
        for space in [Space::Plain, Space::Extended] {
            let found: Vec<Vec<u8>> = redis::cmd("KEYS")
                .arg(keys.pattern(space))
                .query(&mut self.raw)
                .unwrap();
            out.extend(found);
        }
        out.sort();
        out
    }

    fn clean(&mut self) {
        for key in self.all_keys() {
            let _: () = redis::cmd("DEL").arg(key).query(&mut self.raw).unwrap();
        }
    }

    fn hgetall(&mut self, key: &[u8]) -> Vec<Vec<u8>> {
        redis::cmd("HGETALL").arg(key).query(&mut self.raw).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.clean();
    }
}

#[test]
fn round_trip_of_every_kind_of_job() {
    let Some(s) = Scratch::new("rt") else { return };
    kv::round_trip_of_every_kind_of_job(|| s.queue());
}

#[test]
fn many_jobs_in_one_group_commit_replay_in_batches() {
    let Some(s) = Scratch::new("many") else {
        return;
    };
    kv::many_jobs_in_one_group_commit_replay_in_batches(|| s.queue());
}

#[test]
fn writes_the_c_layout_and_extended_records() {
    let Some(mut s) = Scratch::new("lay") else {
        return;
    };
    let mut q = s.queue();
    let [plain, _epoch, dashed] = kv::store_layout_samples(&mut q);
    let p = s.prefix.clone();
    // C gearmand's hash: exactly data then priority.
    assert_eq!(
        s.hgetall(format!("{p}-fn-u-1").as_bytes()),
        vec![
            b"data".to_vec(),
            b"da\0ta".to_vec(),
            b"priority".to_vec(),
            b"2".to_vec()
        ]
    );
    assert_eq!(
        s.hgetall(format!("#gmx:{p}:fn-e").as_bytes()),
        [
            "data",
            "later",
            "priority",
            "0",
            "when",
            "1900000000",
            "function",
            "fn",
            "unique",
            "e"
        ]
        .map(|x| x.as_bytes().to_vec())
        .to_vec()
    );
    let mut expected_keys = vec![
        format!("{p}-fn-u-1").into_bytes(),
        format!("#gmx:{p}:fn-e").into_bytes(),
        format!("#gmx:{p}:f%2Dn-u").into_bytes(),
    ];
    expected_keys.sort();
    assert_eq!(s.all_keys(), expected_keys);
    // Re-adding the epoch job as a plain one moves it back to the plain space.
    let now = Job::new(b"e", b"fn", b"now", Priority::High, 0);
    q.add(&now.as_queue_job()).unwrap();
    q.flush().unwrap();
    assert!(!s
        .all_keys()
        .contains(&format!("#gmx:{p}:fn-e").into_bytes()));
    assert_eq!(
        sorted(replay_all(&mut q)),
        sorted(vec![plain, dashed, now]),
        "one record per job"
    );
}

#[test]
fn reads_legacy_and_c_written_values() {
    let Some(mut s) = Scratch::new("leg") else {
        return;
    };
    let p = s.prefix.clone();
    let raw = &mut s.raw;
    // gearmand <= 1.1.15: a plain string value.
    let _: () = redis::cmd("SET")
        .arg(format!("{p}-fn-legacy"))
        .arg(&b"old\0data"[..])
        .query(raw)
        .unwrap();
    // C gearmand 1.1.20 with a function containing '-': split at the first '-' like C does.
    let _: () = redis::cmd("HSET")
        .arg(format!("{p}-fn-x-uniq-1"))
        .arg("data")
        .arg("d")
        .arg("priority")
        .arg("2")
        .query(raw)
        .unwrap();
    // Field order reversed (as a large hash may return it).
    let _: () = redis::cmd("HSET")
        .arg(format!("{p}-fn-rev"))
        .arg("priority")
        .arg("0")
        .arg("data")
        .arg("r")
        .query(raw)
        .unwrap();
    // Not jobs: skipped with a warning, replay goes on.
    let _: () = redis::cmd("SET")
        .arg(format!("{p}-nodash"))
        .arg("x")
        .query(raw)
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(format!("{p}-fn-list"))
        .arg("x")
        .query(raw)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{p}-fn-nodata"))
        .arg("priority")
        .arg("1")
        .query(raw)
        .unwrap();
    let mut q = s.queue();
    assert_eq!(
        sorted(replay_all(&mut q)),
        sorted(vec![
            Job::new(b"legacy", b"fn", b"old\0data", Priority::Normal, 0),
            Job::new(b"x-uniq-1", b"fn", b"d", Priority::Low, 0),
            Job::new(b"rev", b"fn", b"r", Priority::High, 0),
        ])
    );
    // `done` finds the C-written keys under the names replay reported.
    q.done(b"x-uniq-1", b"fn").unwrap();
    q.done(b"legacy", b"fn").unwrap();
    q.done(b"rev", b"fn").unwrap();
    assert_eq!(s.all_keys().len(), 3, "only the three non-jobs are left");
}

#[test]
fn prefixes_with_glob_characters_match_only_themselves() {
    let Some(mut s) = Scratch::new("glob") else {
        return;
    };
    let odd = format!("{}*[a ]?", s.prefix);
    // A foreign key an unescaped `<odd>-*` pattern would match.
    let foreign = format!("{}X[a ]?-fn-u", s.prefix);
    let _: () = redis::cmd("HSET")
        .arg(&foreign)
        .arg("data")
        .arg("x")
        .arg("priority")
        .arg("1")
        .query(&mut s.raw)
        .unwrap();
    let options = Options::from_pairs([("redis-prefix", odd.as_str())]);
    let mut q = RedisQueue::create(&options).unwrap();
    let jobs = vec![
        Job::new(b"u", b"fn", b"plain", Priority::Normal, 0),
        Job::new(b"e", b"fn", b"epoch", Priority::High, 3),
    ];
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    assert_eq!(sorted(replay_all(&mut q)), sorted(jobs.clone()));
    for j in &jobs {
        q.done(&j.unique, &j.function).unwrap();
    }
    assert!(replay_all(&mut q).is_empty());
    let _: () = redis::cmd("DEL").arg(&foreign).query(&mut s.raw).unwrap();
}

/// Finds the plugin's connection by its client name and kills it.
fn kill_queue_connection(s: &mut Scratch) -> usize {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut s.raw).unwrap();
    let name = format!("name=gearmand-queue:{}", s.prefix);
    let ids: Vec<String> = list
        .lines()
        .filter(|l| l.split(' ').any(|f| f == name))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_string)
        .collect();
    for id in &ids {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query(&mut s.raw)
            .unwrap();
    }
    ids.len()
}

#[test]
fn reconnects_by_itself_after_client_kill() {
    let Some(mut s) = Scratch::new("kill") else {
        return;
    };
    let mut q = s.queue();
    let a = Job::new(b"a", b"fn", b"1", Priority::Normal, 0);
    let b = Job::new(b"b", b"fn", b"2", Priority::High, 7);
    q.add(&a.as_queue_job()).unwrap();
    q.flush().unwrap();
    assert_eq!(kill_queue_connection(&mut s), 1);
    // The very next call notices the dead connection, reconnects and succeeds.
    q.add(&b.as_queue_job()).unwrap();
    q.flush().unwrap();
    assert_eq!(kill_queue_connection(&mut s), 1);
    q.done(b"a", b"fn").unwrap();
    assert_eq!(kill_queue_connection(&mut s), 1);
    assert_eq!(replay_all(&mut q), vec![b]);
}

#[test]
fn unreachable_server_fails_create_quickly_and_clearly() {
    let port = free_port().to_string();
    let started = Instant::now();
    let err = RedisQueue::create(&Options::from_pairs([
        ("redis-server", "127.0.0.1"),
        ("redis-port", port.as_str()),
    ]))
    .err()
    .expect("nothing listens there")
    .to_string();
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("connect"),
        "{err}"
    );
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
    let err = RedisQueue::create(&Options::from_pairs([("redis-port", "seventy")]))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--redis-port"), "{err}");
}

#[test]
fn hung_server_fails_within_the_timeouts() {
    // Accepts connections and never answers: every request must time out, not hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let _ = released.recv_timeout(Duration::from_secs(30));
        drop(conn);
    });
    let started = Instant::now();
    let err = RedisQueue::create(&Options::from_pairs([
        ("redis-server", "127.0.0.1"),
        ("redis-port", port.as_str()),
    ]))
    .err()
    .expect("a silent server cannot complete the handshake")
    .to_string();
    let took = started.elapsed();
    assert!(
        took < CONNECT_TIMEOUT + IO_TIMEOUT + Duration::from_secs(1),
        "{took:?}"
    );
    assert!(
        err.contains("timed out") || err.contains("Timed out"),
        "{err}"
    );
    release.send(()).unwrap();
    holder.join().unwrap();
}

#[test]
fn c_gearmand_jobs_replay_in_ours_and_back() {
    let Some(mut s) = Scratch::new("compat") else {
        return;
    };
    let prefix = s.prefix.clone();
    let queue_args = [
        "-q",
        "redis",
        "--redis-server",
        "127.0.0.1",
        "--redis-port",
        "6379",
        "--redis-prefix",
        &prefix,
    ];
    // C gearmand stores, is stopped, and our replay reads its keys.
    let submitted = vec![
        Job::new(b"u1", b"cfn", b"normal data", Priority::Normal, 0),
        Job::new(b"u2", b"cfn", b"high data", Priority::High, 0),
        Job::new(b"u3", b"cfn", b"low data", Priority::Low, 0),
    ];
    let open = || s.queue();
    let Some(mut ours) =
        cgearmand::jobs_stored_by_c_gearmand_replay_here(&queue_args, submitted, open, Order::Any)
    else {
        return;
    };
    for u in [&b"u1"[..], b"u2", b"u3"] {
        ours.done(u, b"cfn").unwrap();
    }
    // Ours stores; C gearmand replays the plain jobs, runs them, and deletes their keys (in an
    // order of its own: the redis module does not replay them by priority).
    kv::plain_jobs_stored_here_are_run_by_c_gearmand(&mut ours, &queue_args, false, |c| {
        let left = s.all_keys().len();
        assert_eq!(left, 1, "C gearmand deleted what it ran: {}", c.log_text());
    });
}
