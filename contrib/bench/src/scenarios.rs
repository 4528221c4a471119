//! The load scenarios. Each checks every reply and returns an [`Outcome`]; any wrong, duplicated
//! or missing reply fails the run instead of being counted.

use crate::proto::*;
use crate::stats::{grown_per, new_histogram, record, sample_both, Outcome};
use crate::workers::{payload_seq, Pool, Tally, FUNCTION};
use hdrhistogram::Histogram;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the load tool drives its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Driver {
    /// A thread per connection, blocking in `recv`, as libgearman clients and workers do.
    Threads,
    /// One thread polls every connection (evloop.rs): the load tool takes less of the machine.
    Loop,
}

/// What a scenario is run with.
#[derive(Debug, Clone)]
pub struct Params {
    pub addr: String,
    /// Server pid for /proc sampling (0 = none).
    pub pid: u32,
    pub clients: usize,
    pub workers: usize,
    pub inflight: usize,
    pub payload: usize,
    pub jobs: u64,
    pub connections: usize,
    /// Foreground and echo runs only; the other scenarios always use threads.
    pub driver: Driver,
}

type R<T> = Result<T, String>;

fn e<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |err| format!("{what}: {err}")
}

/// A payload of `size` bytes (at least 8) starting with `seq`.
pub(crate) fn payload(seq: u64, size: usize) -> Vec<u8> {
    let mut v = vec![b'x'; size.max(8)];
    v[..8].copy_from_slice(&seq.to_be_bytes());
    v
}

/// Runs `per_client` on `clients` threads and merges their histograms.
fn run_clients<F>(clients: usize, per_client: F) -> R<Histogram<u64>>
where
    F: Fn(usize) -> R<Histogram<u64>> + Send + Sync + 'static,
{
    let f = Arc::new(per_client);
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || f(i))
        })
        .collect();
    let mut all = new_histogram();
    for t in threads {
        let h = t
            .join()
            .map_err(|_| "client thread panicked".to_string())??;
        all.add(&h).map_err(e("histogram"))?;
    }
    Ok(all)
}

pub(crate) fn progress(label: &str, done: u64, total: u64) {
    if total >= 10 && done.is_multiple_of((total / 10).max(1)) {
        eprint!("\r  {label}: {}%   ", done * 100 / total);
    }
}

/// Times `load` and samples the server and this process around it: the outcome of `ops`
/// operations.
fn measure(p: &Params, ops: u64, load: impl FnOnce() -> R<Histogram<u64>>) -> R<Outcome> {
    let before = sample_both(p.pid);
    let start = Instant::now();
    let h = load()?;
    let secs = start.elapsed().as_secs_f64();
    let after = sample_both(p.pid);
    Ok(Outcome {
        rate: ops as f64 / secs,
        ..Outcome::costs(p.pid, &before, &after, ops)
    }
    .with_latency(&h))
}

/// Foreground round trips: clients keep `inflight` SUBMIT_JOBs outstanding; workers echo.
pub fn foreground(p: &Params) -> R<Outcome> {
    let per = p.jobs / p.clients as u64;
    let jobs = per * p.clients as u64;
    let (addr, inflight, size) = (p.addr.clone(), p.inflight, p.payload);
    if p.driver == Driver::Loop {
        let conns = (p.clients, p.workers, inflight);
        return measure(p, jobs, || {
            crate::evloop::foreground(&addr, conns, size, per)
        });
    }
    // The workers connect before the clock starts, and are stopped after it ends.
    let tally = Arc::new(Tally::default());
    let pool = Pool::start(&p.addr, p.workers, tally.clone()).map_err(e("workers"))?;
    let outcome = measure(p, jobs, || {
        run_clients(p.clients, move |i| fg_client(&addr, i, per, inflight, size))
    });
    pool.stop();
    let outcome = outcome?;
    check_tally(&tally)?;
    Ok(outcome)
}

fn fg_client(addr: &str, id: usize, jobs: u64, inflight: usize, size: usize) -> R<Histogram<u64>> {
    let mut conn = Conn::connect(addr).map_err(e("connect"))?;
    let mut h = new_histogram();
    let mut pending: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut running: HashMap<Vec<u8>, (u64, Instant)> = HashMap::new();
    let (mut sent, mut done) = (0u64, 0u64);
    let base = (id as u64) << 40;
    while done < jobs {
        while sent < jobs && pending.len() + running.len() < inflight {
            conn.send(SUBMIT_JOB, &[FUNCTION, b"", &payload(base + sent, size)])
                .map_err(e("send"))?;
            pending.push_back((base + sent, Instant::now()));
            sent += 1;
        }
        conn.flush().map_err(e("flush"))?;
        let pkt = conn.recv().map_err(e("client recv"))?;
        match pkt.kind {
            JOB_CREATED => {
                let job = pending.pop_front().ok_or("JOB_CREATED nobody asked for")?;
                if running.insert(pkt.body, job).is_some() {
                    return Err("duplicate job handle".into());
                }
            }
            WORK_COMPLETE => {
                let parts = pkt.split(1);
                let (seq, t0) = running
                    .remove(parts[0])
                    .ok_or("WORK_COMPLETE for an unknown handle")?;
                if parts.len() != 2
                    || payload_seq(parts[1]) != Some(seq)
                    || parts[1].len() != size.max(8)
                {
                    return Err(format!("job {seq}: result is not the payload echoed"));
                }
                record(&mut h, t0.elapsed());
                done += 1;
                if id == 0 {
                    progress("foreground", done, jobs);
                }
            }
            other => return Err(format!("client got unexpected packet type {other}")),
        }
    }
    Ok(h)
}

fn check_tally(t: &Tally) -> R<()> {
    match t.error.lock().unwrap().clone() {
        Some(msg) => Err(msg),
        None => Ok(()),
    }
}

/// Background submits with `inflight` outstanding per client; returns the acknowledgement
/// latencies. Every handle must be new. Jobs are numbered from `first` (uniques and payload
/// sequence numbers), so that a later call adds new jobs instead of coalescing into old ones.
fn submit_background(p: &Params, jobs: u64, first: u64) -> R<Histogram<u64>> {
    let per = jobs / p.clients as u64;
    let (addr, inflight, size) = (p.addr.clone(), p.inflight, p.payload);
    run_clients(p.clients, move |i| {
        let mut conn = Conn::connect(&addr).map_err(e("connect"))?;
        let mut h = new_histogram();
        let mut pending = VecDeque::new();
        let mut handles = HashSet::new();
        let mut sent = 0u64;
        let base = first + i as u64 * per;
        while (handles.len() as u64) < per {
            while sent < per && pending.len() < inflight {
                let unique = format!("b{}", base + sent);
                conn.send(
                    SUBMIT_JOB_BG,
                    &[FUNCTION, unique.as_bytes(), &payload(base + sent, size)],
                )
                .map_err(e("send"))?;
                pending.push_back(Instant::now());
                sent += 1;
            }
            conn.flush().map_err(e("flush"))?;
            let pkt = conn.expect(JOB_CREATED).map_err(e("submit"))?;
            record(
                &mut h,
                pending.pop_front().ok_or("unasked JOB_CREATED")?.elapsed(),
            );
            if !handles.insert(pkt.body) {
                return Err("duplicate job handle".into());
            }
            if i == 0 {
                progress("submit", handles.len() as u64, per);
            }
        }
        Ok(h)
    })
}

/// Background submit of `jobs`, then a drain by `workers`; rate = submits/s, rate2 = drained/s.
pub fn background(p: &Params) -> R<Outcome> {
    let jobs = p.jobs / p.clients as u64 * p.clients as u64;
    let before = sample_both(p.pid);
    let start = Instant::now();
    let h = submit_background(p, jobs, 0)?;
    let submit_secs = start.elapsed().as_secs_f64();
    let tally = Arc::new(Tally::with_jobs(jobs as usize));
    let start = Instant::now();
    let pool = Pool::start(&p.addr, p.workers, tally.clone()).map_err(e("workers"))?;
    let drained = wait_for(&tally.done, jobs, Duration::from_secs(600));
    let drain_secs = start.elapsed().as_secs_f64();
    let after = sample_both(p.pid);
    pool.stop();
    check_tally(&tally)?;
    if !drained {
        return Err(format!(
            "only {} of {jobs} jobs ran",
            tally.done.load(Ordering::Relaxed)
        ));
    }
    Ok(Outcome {
        rate: jobs as f64 / submit_secs,
        rate2: Some(jobs as f64 / drain_secs),
        ..Outcome::costs(p.pid, &before, &after, jobs)
    }
    .with_latency(&h))
}

fn wait_for(counter: &AtomicU64, target: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while counter.load(Ordering::Relaxed) < target {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// Submits into a queue that grows to `jobs` with no worker; rate = overall submits/s, rate2 =
/// submits/s over the last tenth (to show any slow-down with depth); bytes per queued job.
pub fn deep(p: &Params) -> R<Outcome> {
    let before = sample_both(p.pid);
    let tenth = p.jobs / 10;
    let start = Instant::now();
    submit_background(p, p.jobs - tenth, 0)?;
    let mid = Instant::now();
    let h = submit_background(
        &Params {
            jobs: tenth,
            ..p.clone()
        },
        tenth,
        p.jobs - tenth,
    )?;
    let end = Instant::now();
    let after = sample_both(p.pid);
    Ok(Outcome {
        rate: p.jobs as f64 / (end - start).as_secs_f64(),
        rate2: Some(tenth as f64 / (end - mid).as_secs_f64()),
        bytes_per_item: grown_per(p.pid, &before, &after, p.jobs),
        ..Outcome::costs(p.pid, &before, &after, p.jobs)
    }
    .with_latency(&h))
}

/// ECHO_REQ round trips with `inflight` outstanding per client.
pub fn echo(p: &Params) -> R<Outcome> {
    let per = p.jobs / p.clients as u64;
    let (addr, inflight, size) = (p.addr.clone(), p.inflight, p.payload);
    measure(p, per * p.clients as u64, || match p.driver {
        Driver::Loop => crate::evloop::echo(&addr, p.clients, inflight, size, per),
        Driver::Threads => echo_threads(p.clients, addr, inflight, size, per),
    })
}

/// Echo with a thread per connection.
fn echo_threads(
    clients: usize,
    addr: String,
    inflight: usize,
    size: usize,
    per: u64,
) -> R<Histogram<u64>> {
    run_clients(clients, move |i| {
        let mut conn = Conn::connect(&addr).map_err(e("connect"))?;
        let mut h = new_histogram();
        let mut pending = VecDeque::new();
        let (mut sent, mut done) = (0u64, 0u64);
        while done < per {
            while sent < per && pending.len() < inflight {
                conn.send(ECHO_REQ, &[&payload(sent, size)])
                    .map_err(e("send"))?;
                pending.push_back((sent, Instant::now()));
                sent += 1;
            }
            conn.flush().map_err(e("flush"))?;
            let pkt = conn.expect(ECHO_RES).map_err(e("echo"))?;
            let (seq, t0) = pending.pop_front().ok_or("unasked ECHO_RES")?;
            if payload_seq(&pkt.body) != Some(seq) {
                return Err("echo reply does not match the request".into());
            }
            record(&mut h, t0.elapsed());
            done += 1;
            if i == 0 {
                progress("echo", done, per);
            }
        }
        Ok(h)
    })
}

/// Opens `connections` connections (each proven live by an echo) and keeps them idle; rate =
/// connections opened per second, bytes per connection from the server's RSS growth.
pub fn idle(p: &Params) -> R<Outcome> {
    let before = sample_both(p.pid);
    let start = Instant::now();
    let mut conns = Vec::with_capacity(p.connections);
    for i in 0..p.connections {
        let mut c = Conn::connect(&p.addr).map_err(e("connect"))?;
        c.send(ECHO_REQ, &[b"idle"]).map_err(e("send"))?;
        c.flush().map_err(e("flush"))?;
        conns.push(c);
        progress("idle", i as u64 + 1, p.connections as u64);
    }
    for c in &mut conns {
        c.expect(ECHO_RES).map_err(e("echo"))?;
    }
    let secs = start.elapsed().as_secs_f64();
    let after = sample_both(p.pid);
    Ok(Outcome {
        rate: p.connections as f64 / secs,
        bytes_per_item: grown_per(p.pid, &before, &after, p.connections as u64),
        ..Outcome::costs(p.pid, &before, &after, p.connections as u64)
    })
}
