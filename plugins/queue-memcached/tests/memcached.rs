//! The memcached queue against real memcached processes started by each test (free loopback
//! port, `-U 0`, killed afterwards): round trips of every kind of job, C gearmand's item layout,
//! both key-listing methods, reconnection after a memcached restart, bounded failures, two
//! servers, and migration from and to Debian's C gearmand.

use gearmand_plugin_api::{Options, Priority, QueuePlugin};
use gearmand_queue_memcached::client::{Item, Server, CONNECT_TIMEOUT, IO_TIMEOUT};
use gearmand_queue_memcached::dump::{self, Method};
use gearmand_queue_memcached::{servers, MemcachedQueue};
use gearmand_queue_testkit::*;
use std::time::{Duration, Instant};

fn queue(servers: &str, prefix: &str) -> MemcachedQueue {
    MemcachedQueue::create(&Options::from_pairs([
        ("libmemcached-servers", servers),
        ("libmemcached-prefix", prefix),
    ]))
    .unwrap()
}

/// Reads raw items straight from one server.
fn raw_get(addr: &str, keys: &[&[u8]]) -> Vec<Item> {
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    Server::new(addr.to_string()).get_many(&keys).unwrap()
}

fn raw_set(addr: &str, key: &[u8], flags: u32, value: &[u8]) {
    let mut s = Server::new(addr.to_string());
    s.push_set(key, flags, value);
    s.execute().unwrap();
}

fn round_trip(extra: &[&str]) {
    let Some(m) = Memcached::start(extra) else {
        return;
    };
    // Replayed at once: the fresh items still sit in memcached's HOT LRU.
    kv::round_trip_of_every_kind_of_job(|| queue(&m.addr(), "gear_"));
}

#[test]
fn round_trip_listing_keys_with_metadump() {
    round_trip(&[]);
}

#[test]
fn round_trip_with_the_lru_crawler_disabled() {
    // Replay enables the crawler for its metadump and disables it again.
    round_trip(&["-o", "no_lru_crawler"]);
}

#[test]
fn lru_crawler_is_left_disabled_after_replay() {
    let Some(m) = Memcached::start(&["-o", "no_lru_crawler"]) else {
        return;
    };
    let mut q = queue(&m.addr(), "gear_");
    q.add(&Job::new(b"u", b"f", b"d", Priority::Normal, 0).as_queue_job())
        .unwrap();
    q.flush().unwrap();
    assert_eq!(replay_all(&mut q).len(), 1);
    let mut conn = Server::new(m.addr()).connect_new().unwrap();
    assert!(!dump::crawler_enabled(&mut conn).unwrap());
}

#[test]
fn cachedump_fallback_lists_every_key_of_a_flat_lru() {
    // `stats cachedump` only sees COLD items; with the LRU maintainer off the LRU is flat.
    let Some(m) = Memcached::start(&["-o", "no_lru_maintainer"]) else {
        return;
    };
    let mut q = queue(&m.addr(), "gear_");
    for j in odd_kv_jobs() {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    let listed = |method| {
        let mut conn = Server::new(m.addr()).connect_new().unwrap();
        let mut keys = Vec::new();
        let mut each = |k: Vec<u8>| -> Result<(), ()> {
            keys.push(k);
            Ok(())
        };
        let used = dump::list_keys_by(&mut conn, method, &mut each)
            .ok()
            .unwrap();
        assert_eq!(used, method);
        keys.sort();
        keys
    };
    let by_cachedump = listed(Method::Cachedump);
    assert_eq!(by_cachedump.len(), odd_kv_jobs().len());
    assert_eq!(by_cachedump, listed(Method::Metadump));
}

#[test]
fn many_jobs_in_one_group_commit_replay_in_batches() {
    let Some(m) = Memcached::start(&[]) else {
        return;
    };
    kv::many_jobs_in_one_group_commit_replay_in_batches(|| queue(&m.addr(), "gear_"));
}

#[test]
fn writes_c_layout_and_extended_items() {
    let Some(m) = Memcached::start(&[]) else {
        return;
    };
    let mut q = queue(&m.addr(), "gear_");
    kv::store_layout_samples(&mut q);
    let items = raw_get(
        &m.addr(),
        &[
            b"gear_fn-u-1",
            b"gear_fn-e",
            b"#gmx:gear_:fn-e",
            b"#gmx:gear_:f%2Dn-u",
        ],
    );
    let item = |key: &[u8], flags: u32, value: &[u8]| Item {
        key: key.to_vec(),
        flags,
        value: value.to_vec(),
    };
    assert_eq!(
        items,
        vec![
            item(b"gear_fn-u-1", 2, b"da\0ta"),
            item(b"#gmx:gear_:fn-e", 0, b"fn\0e\x0001900000000\0later"),
            item(b"#gmx:gear_:f%2Dn-u", 1, b"f-n\0u\x0010\0x"),
        ],
        "plain job as C writes it; epoch and dash jobs only in the extended form"
    );
}

#[test]
fn reads_c_written_items_and_skips_foreign_ones() {
    let Some(m) = Memcached::start(&[]) else {
        return;
    };
    let addr = m.addr();
    raw_set(&addr, b"gear_fn-x-uniq-1", 2, b"c data");
    raw_set(&addr, b"gear_fn-", 0, b"");
    raw_set(&addr, b"gear_nodash", 1, b"not a job");
    raw_set(&addr, b"#gmx:gear_:bad", 1, b"not an extended value");
    raw_set(&addr, b"other_fn-u", 1, b"another prefix");
    let mut q = queue(&addr, "gear_");
    assert_eq!(
        sorted(replay_all(&mut q)),
        sorted(vec![
            Job::new(b"x-uniq-1", b"fn", b"c data", Priority::Low, 0),
            Job::new(b"", b"fn", b"", Priority::High, 0),
        ])
    );
    // `done` removes C-written items under the names replay reported.
    q.done(b"x-uniq-1", b"fn").unwrap();
    q.done(b"", b"fn").unwrap();
    assert!(raw_get(&addr, &[b"gear_fn-x-uniq-1", b"gear_fn-"]).is_empty());
}

#[test]
fn reconnects_by_itself_after_memcached_restarts() {
    let Some(mut m) = Memcached::start(&[]) else {
        return;
    };
    let mut q = queue(&m.addr(), "gear_");
    let a = Job::new(b"a", b"fn", b"1", Priority::Normal, 0);
    let b = Job::new(b"b", b"fn", b"2", Priority::High, 9);
    q.add(&a.as_queue_job()).unwrap();
    q.flush().unwrap();
    // Down: a clear error within the timeouts, no hang.
    m.kill();
    let started = Instant::now();
    q.add(&b.as_queue_job()).unwrap();
    let err = q.flush().unwrap_err().to_string();
    assert!(started.elapsed() < CONNECT_TIMEOUT + IO_TIMEOUT, "{err}");
    assert!(
        err.contains(&m.addr()) && err.contains("storing jobs failed"),
        "{err}"
    );
    // Back (empty, as memcached keeps nothing): the next call reconnects by itself.
    m.restart();
    q.add(&b.as_queue_job()).unwrap();
    q.flush().unwrap();
    assert_eq!(replay_all(&mut q), vec![b.clone()]);
    // A restart between two calls is invisible: the dead connection is replaced and retried.
    m.restart();
    q.add(&a.as_queue_job()).unwrap();
    q.flush().unwrap();
    q.done(b"a", b"fn").unwrap();
    assert!(replay_all(&mut q).is_empty());
}

#[test]
fn unreachable_or_missing_servers_fail_create_clearly() {
    let err = MemcachedQueue::create(&Options::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--libmemcached-servers"), "{err}");
    let addr = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let err = MemcachedQueue::create(&Options::from_pairs([("libmemcached-servers", &*addr)]))
        .err()
        .unwrap()
        .to_string();
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
    assert!(
        err.contains(&addr) && err.contains("not reachable"),
        "{err}"
    );
    let err = MemcachedQueue::create(&Options::from_pairs([
        ("libmemcached-servers", "127.0.0.1:1"),
        ("libmemcached-prefix", "has space"),
    ]))
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("--libmemcached-prefix"), "{err}");
}

#[test]
fn two_servers_place_keys_like_libmemcached_and_replay_both() {
    let (Some(m1), Some(m2)) = (Memcached::start(&[]), Memcached::start(&[])) else {
        return;
    };
    let addrs = [m1.addr(), m2.addr()];
    let list = addrs.join(",");
    let mut q = queue(&list, "gear_");
    let jobs: Vec<Job> = (0..20)
        .map(|i| Job::new(format!("u{i}").as_bytes(), b"fn", b"d", Priority::Normal, 0))
        .collect();
    for j in &jobs {
        q.add(&j.as_queue_job()).unwrap();
    }
    q.flush().unwrap();
    let mut per_server = [0, 0];
    for j in &jobs {
        let key = [&b"gear_fn-"[..], &j.unique].concat();
        let n = servers::pick(&key, 2);
        assert_eq!(raw_get(&addrs[n], &[&key]).len(), 1);
        per_server[n] += 1;
    }
    assert!(per_server[0] > 0 && per_server[1] > 0, "{per_server:?}");
    assert_eq!(sorted(replay_all(&mut q)), sorted(jobs));
}

#[test]
fn c_gearmand_items_replay_in_ours_and_back() {
    // C gearmand lists keys with `stats cachedump`, which misses items still in the HOT LRU of
    // a default memcached ≥ 1.5; a flat LRU (no LRU maintainer) makes its replay deterministic.
    let flat = ["-o", "no_lru_maintainer"];
    let (Some(m1), Some(m2)) = (Memcached::start(&flat), Memcached::start(&flat)) else {
        return;
    };
    // Two servers, so the test also proves we place keys where libmemcached looks for them.
    let list = format!("{},{}", m1.addr(), m2.addr());
    let queue_args = ["-q", "libmemcached", "--libmemcached-servers", &list];
    let submitted = vec![
        Job::new(b"u1", b"cfn", b"normal data", Priority::Normal, 0),
        Job::new(b"u2", b"cfn", b"high data", Priority::High, 0),
        Job::new(b"u3", b"cfn", b"low data", Priority::Low, 0),
        Job::new(b"u4", b"cfn", b"four", Priority::Normal, 0),
    ];
    let open = || queue(&list, "gear_");
    let Some(mut ours) =
        cgearmand::jobs_stored_by_c_gearmand_replay_here(&queue_args, submitted, open, Order::Any)
    else {
        return;
    };
    let addrs = [m1.addr(), m2.addr()];
    for u in ["u1", "u2", "u3", "u4"] {
        let key = format!("gear_cfn-{u}").into_bytes();
        let n = servers::pick(&key, 2);
        assert_eq!(
            raw_get(&addrs[n], &[&key]).len(),
            1,
            "C put {u} where we look"
        );
        ours.done(u.as_bytes(), b"cfn").unwrap();
    }
    assert!(replay_all(&mut ours).is_empty());
    // Ours stores; C gearmand replays the plain jobs, runs them and deletes them (by priority:
    // libmemcached keeps it in the item's flags).
    kv::plain_jobs_stored_here_are_run_by_c_gearmand(&mut ours, &queue_args, true, |_| {});
}
